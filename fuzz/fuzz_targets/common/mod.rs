//! What every target shares: a reader that turns the fuzzer's bytes into values (zeros once the
//! bytes run out, so every input is a valid one), and bit comparisons.
#![allow(dead_code)]

/// Reads values from the fuzzer's bytes, front to back; past the end every read gives 0.
pub struct Reader<'a> {
    data: &'a [u8],
}

/// `f32` values worth hitting often: signed zeros, ones, the smallest normal and subnormal, the
/// largest finite, the infinities, NaN.
pub const SPECIAL_F32: [f32; 16] = [
    0.0,
    -0.0,
    1.0,
    -1.0,
    f32::MIN_POSITIVE,
    1.0e-45,
    -1.0e-45,
    f32::MAX,
    f32::MIN,
    f32::INFINITY,
    f32::NEG_INFINITY,
    f32::NAN,
    0.5,
    3.0,
    1.0e-7,
    16_777_216.0,
];

impl<'a> Reader<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        Reader { data }
    }

    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    pub fn rest(&self) -> &'a [u8] {
        self.data
    }

    /// Up to `n` bytes (fewer at the end of the input).
    pub fn bytes(&mut self, n: usize) -> &'a [u8] {
        let n = n.min(self.data.len());
        let (head, tail) = self.data.split_at(n);
        self.data = tail;
        head
    }

    fn array<const N: usize>(&mut self) -> [u8; N] {
        let mut out = [0u8; N];
        let b = self.bytes(N);
        out[..b.len()].copy_from_slice(b);
        out
    }

    pub fn u8(&mut self) -> u8 {
        self.array::<1>()[0]
    }

    pub fn bool(&mut self) -> bool {
        self.u8() & 1 != 0
    }

    pub fn u16(&mut self) -> u16 {
        u16::from_le_bytes(self.array())
    }

    pub fn u32(&mut self) -> u32 {
        u32::from_le_bytes(self.array())
    }

    pub fn u64(&mut self) -> u64 {
        u64::from_le_bytes(self.array())
    }

    /// A step count: often 0 or small, sometimes any `u32`.
    pub fn count(&mut self) -> u32 {
        match self.u8() % 8 {
            0 => 0,
            1..=4 => self.u8() as u32,
            5 | 6 => self.u16() as u32,
            _ => self.u32(),
        }
    }

    /// A step: anywhere in the `u32` range, with the edges (around 0, 2^24, 2^31, `u32::MAX`)
    /// often.
    pub fn step(&mut self) -> u32 {
        match self.u8() % 8 {
            0 => self.u8() as u32,
            1 => self.u16() as u32,
            2 => (1u32 << 24)
                .wrapping_add(self.u8() as u32)
                .wrapping_sub(128),
            3 => (1u32 << 31)
                .wrapping_add(self.u8() as u32)
                .wrapping_sub(128),
            4 => u32::MAX - self.u8() as u32,
            _ => self.u32(),
        }
    }

    /// A hyper-parameter as `f64`: often a typical value, sometimes negative, NaN, infinite, tiny,
    /// huge (overflowing `f32`) or any bits.
    pub fn f64_param(&mut self) -> f64 {
        match self.u8() % 16 {
            0 => 0.0,
            1 => 1.0,
            2 => 0.9,
            3 => 0.5,
            4 => 1.0e-4,
            5 => 128.0,
            6 => 0.1,
            7 => -(self.u8() as f64) / 16.0,
            8 => [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, -0.0][self.u8() as usize % 4],
            9 => [
                1.0e39,
                3.5e38,
                1.0e-300,
                f64::MAX,
                f64::MIN_POSITIVE,
                1.0e-46,
                2.0,
                1.0e30,
            ][self.u8() as usize % 8],
            10 => f64::from_bits(self.u64()),
            11 => f32::from_bits(self.u32()) as f64,
            _ => self.u16() as f64 / 1024.0,
        }
    }

    /// An Adam `β` as `f64`: often a typical value (0.9, 0.999) or any value in `[0, 1)`, values
    /// just below 1 (whose `F(β)` rounds to 1 for the closest), sometimes any hyper-parameter
    /// (0, 1, NaN, negative, huge, any bits).
    pub fn beta(&mut self) -> f64 {
        match self.u8() % 8 {
            0 => 0.9,
            1 => 0.999,
            2 => self.u16() as f64 / 65536.0,
            3 => self.u32() as f64 / 4_294_967_296.0,
            // 1 − k·2^-30: F(β) = 1 for k ≤ 32
            4 => 1.0 - self.u8() as f64 / 1_073_741_824.0,
            _ => self.f64_param(),
        }
    }

    /// Adam's `eps` as `f64`: often a typical value, values at the edges of `F` (subnormal, rounding
    /// to 0, to the largest finite `f32` or past it), sometimes any hyper-parameter or `f32`.
    pub fn eps(&mut self) -> f64 {
        match self.u8() % 8 {
            0 => 1e-8,
            1 => 1e-6,
            2 => [
                1e-45,
                1e-46,
                7.1e-46,
                7e-46,
                f32::MIN_POSITIVE as f64,
                3.4028235e38,
                3.5e38,
                1e-300,
            ][self.u8() as usize % 8],
            3 => f32::from_bits(self.u32()) as f64,
            _ => self.f64_param(),
        }
    }

    /// A beta power for a step: mostly one an optimizer forms (`F(β)` of the first step, or
    /// `F(β)` multiplied in again up to 255 or 65535 times: down to subnormals and 0), sometimes
    /// values near 1, specials or any bits (outside `[0, 1)`: refused).
    pub fn power(&mut self, beta: f32) -> f32 {
        match self.u8() % 8 {
            0 | 1 => beta,
            2 | 3 => {
                let k = if self.bool() {
                    self.u16()
                } else {
                    self.u8() as u16
                };
                (0..k).fold(beta, |p, _| p * beta)
            }
            4 => SPECIAL_F32[self.u8() as usize % 16],
            5 => f32::from_bits(self.u32()),
            6 => f32::from_bits(1.0f32.to_bits() - self.u8() as u32),
            _ => self.u16() as f32 / 65536.0,
        }
    }

    /// MindSpore's kernel threads `K`: mostly 1 to 4, sometimes 0 or any `u32`.
    pub fn threads(&mut self) -> u32 {
        match self.u8() % 16 {
            0 => 0,
            1 => self.u32(),
            k => 1 + k as u32 % 4,
        }
    }

    /// A learning rate as `f32` (the kernels take `lr(k)` already rounded).
    pub fn f32_param(&mut self) -> f32 {
        match self.u8() % 8 {
            0 => 0.1,
            1 => 0.0,
            2 => SPECIAL_F32[self.u8() as usize % 16],
            3 => f32::from_bits(self.u32()),
            _ => self.u16() as f32 / 4096.0,
        }
    }

    /// One tensor value. `raw`: the next four bytes as `f32` bits (every bit pattern: NaNs,
    /// subnormals, infinities); otherwise mostly moderate values, with specials and raw bits.
    pub fn value(&mut self, raw: bool) -> f32 {
        let r = self.u32();
        if raw {
            return f32::from_bits(r);
        }
        match r & 3 {
            0 | 1 => (r as i32 >> 2) as f32 * (1.0 / 1_048_576.0),
            2 => f32::from_bits(r),
            _ => SPECIAL_F32[(r >> 2) as usize % 16],
        }
    }

    /// `n` tensor values.
    pub fn values(&mut self, n: usize, raw: bool) -> Vec<f32> {
        (0..n).map(|_| self.value(raw)).collect()
    }

    /// `n` tensor values: read one by one up to 256, past that a pattern of 1 to 61 values (a
    /// count byte, then the values) repeated, so that a short input fills a long tensor.
    pub fn long_values(&mut self, n: usize, raw: bool) -> Vec<f32> {
        if n <= 256 {
            return self.values(n, raw);
        }
        let p = 1 + self.u8() as usize % 61;
        let pattern = self.values(p, raw);
        (0..n).map(|i| pattern[i % p]).collect()
    }
}

/// Whether to print what an input does (environment variable `GRADSTEP_FUZZ_TRACE`), to read
/// a crash or check a seed.
pub fn trace() -> bool {
    static ON: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *ON.get_or_init(|| std::env::var_os("GRADSTEP_FUZZ_TRACE").is_some())
}

/// Bits equal, or both NaN.
pub fn same(a: f32, b: f32) -> bool {
    a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan())
}

/// Element by element: bits equal, or both NaN; panics at the first difference, with its index.
#[track_caller]
pub fn assert_same(what: &str, got: &[f32], want: &[f32]) {
    assert_eq!(got.len(), want.len(), "{what}: lengths differ");
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        assert!(
            same(g, w),
            "{what}[{i}]: got {g:e} ({:#010x}), want {w:e} ({:#010x})",
            g.to_bits(),
            w.to_bits()
        );
    }
}

/// Exactly the same bits (for buffers a failed call must leave alone: NaN payloads too).
#[track_caller]
pub fn assert_bits(what: &str, got: &[f32], want: &[f32]) {
    assert_eq!(got.len(), want.len(), "{what}: lengths differ");
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        assert!(
            g.to_bits() == w.to_bits(),
            "{what}[{i}] changed: {:#010x} -> {:#010x}",
            w.to_bits(),
            g.to_bits()
        );
    }
}

/// A slice of `len` values starting `offset` values into `v` (so that the kernels see every
/// alignment of their buffers).
pub fn at_offset(v: &[f32], offset: usize) -> Vec<f32> {
    let mut out = vec![0.0f32; offset + v.len()];
    out[offset..].copy_from_slice(v);
    out
}

/// Whether a step over `tensors` may be cut before element `at` of the flat buffers, by the
/// harness's own reading of the rule: anywhere but strictly inside a row of a centralized tensor
/// (one with rows whose group, by `centralized`, centralizes; a row is `len / rows` elements);
/// `at` = the total length is the end, a cut; past it is none. For a layout whose rows divide
/// the lengths.
pub fn is_cut(
    tensors: &[gradstep::Tensor],
    centralized: impl Fn(usize) -> bool,
    at: usize,
) -> bool {
    let mut start = 0usize;
    for t in tensors {
        let end = start.saturating_add(t.len);
        if at < end {
            return match t.rows {
                Some(rows) if centralized(t.group) => (at - start) % (t.len / rows.get()) == 0,
                _ => true,
            };
        }
        start = end;
    }
    at == start
}

/// The element ranges of a plan (`shards` of them, in order) are ranges of a layout of `len`
/// elements back to back from 0 to `len`, each cut where `cut` allows (`what` names the plan).
#[track_caller]
pub fn check_plan(
    what: &str,
    plan: &[std::ops::Range<usize>],
    shards: usize,
    len: usize,
    cut: impl Fn(usize) -> bool,
) {
    assert_eq!(plan.len(), shards, "{what}: the number of shards");
    let mut at = 0;
    for (i, r) in plan.iter().enumerate() {
        assert_eq!(
            r.start, at,
            "{what}: shard {i} of {plan:?} does not start where the last ended"
        );
        assert!(r.start <= r.end, "{what}: shard {i} is reversed: {r:?}");
        assert!(
            cut(r.end),
            "{what}: shard {i} ({r:?}) ends inside a centralized row"
        );
        at = r.end;
    }
    assert_eq!(at, len, "{what}: the plan does not end at the layout's end");
}
