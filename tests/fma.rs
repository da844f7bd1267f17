//! The software fused multiply-add against the hardware's (`f32::mul_add`, `f64::mul_add`: the
//! FMA instruction, or the C library's exact `fma`; on x86_64 with FMA3 also the `vfmadd`
//! instruction itself): every bit, on random inputs and on the hard cases. Also
//! `gradstep::fma::fused_f32` / `fused_f64`, which use the instruction where the build has it.
//! `GRADSTEP_FMA_SAMPLES` sets the number of random inputs of each test (CI runs 10^8 in
//! release).

use gradstep::fma::{self, soft};

fn samples() -> u64 {
    std::env::var("GRADSTEP_FMA_SAMPLES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(if cfg!(miri) { 100 } else { 200_000 })
}

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

fn same32(a: f32, b: f32) -> bool {
    a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan())
}

fn same64(a: f64, b: f64) -> bool {
    a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan())
}

/// The hardware's single-precision FMA, by the instruction where this CPU has it.
fn hardware_f32(a: f32, b: f32, c: f32) -> f32 {
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("fma") {
        #[target_feature(enable = "fma")]
        fn vfmadd(a: f32, b: f32, c: f32) -> f32 {
            use std::arch::x86_64::{_mm_cvtss_f32, _mm_fmadd_ss, _mm_set_ss};
            _mm_cvtss_f32(_mm_fmadd_ss(_mm_set_ss(a), _mm_set_ss(b), _mm_set_ss(c)))
        }
        // SAFETY: the CPU has FMA (asked just above)
        let r = unsafe { vfmadd(a, b, c) };
        assert!(same32(r, a.mul_add(b, c)), "vfmadd and mul_add differ");
        return r;
    }
    a.mul_add(b, c)
}

/// The hardware's double-precision FMA, by the instruction where this CPU has it; where the
/// target has none (wasm32), `libm`'s exact software one. (Not `f64::mul_add` there: it calls the C
/// library's `fma`, and wasi-libc's returns +0 where a product that underflows meets a zero `c`,
/// `5e-324 · −5e-324 + 0`, whose exact sum is negative and rounds to −0 under IEEE 754.)
fn hardware_f64(a: f64, b: f64, c: f64) -> f64 {
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("fma") {
        #[target_feature(enable = "fma")]
        fn vfmadd(a: f64, b: f64, c: f64) -> f64 {
            use std::arch::x86_64::{_mm_cvtsd_f64, _mm_fmadd_sd, _mm_set_sd};
            _mm_cvtsd_f64(_mm_fmadd_sd(_mm_set_sd(a), _mm_set_sd(b), _mm_set_sd(c)))
        }
        // SAFETY: the CPU has FMA (asked just above)
        return unsafe { vfmadd(a, b, c) };
    }
    if cfg!(target_arch = "wasm32") {
        libm::fma(a, b, c)
    } else {
        a.mul_add(b, c)
    }
}

/// The special values of each format: signed zeros, smallest and largest subnormals and
/// normals, ones, the largest finite, infinities, NaN.
fn specials32() -> Vec<f32> {
    let pos = [
        0.0,
        f32::from_bits(1),
        f32::from_bits(0x007f_ffff),
        f32::MIN_POSITIVE,
        0.5,
        1.0,
        1.0 + f32::EPSILON,
        2.0 - f32::EPSILON,
        3.0,
        f32::MAX,
        f32::INFINITY,
        f32::NAN,
        1.0e-20,
        1.8446744e19, // 2^64: products overflow
    ];
    pos.iter().flat_map(|&x| [x, -x]).collect()
}

fn specials64() -> Vec<f64> {
    let pos = [
        0.0,
        f64::from_bits(1),
        f64::from_bits(0x000f_ffff_ffff_ffff),
        f64::MIN_POSITIVE,
        0.5,
        1.0,
        1.0 + f64::EPSILON,
        2.0 - f64::EPSILON,
        3.0,
        f64::MAX,
        f64::INFINITY,
        f64::NAN,
        1.0e-160,
        1.0e160,
    ];
    pos.iter().flat_map(|&x| [x, -x]).collect()
}

#[test]
fn software_fmaf_is_the_hardwares() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let (n, mut bad) = (samples(), 0u64);
    for i in 0..n {
        let r = rng.next();
        let s = rng.next();
        let (a, b, c) = match i % 4 {
            // any bits
            0 => (
                f32::from_bits(r as u32),
                f32::from_bits((r >> 32) as u32),
                f32::from_bits(s as u32),
            ),
            // a product half an ulp of c away from a tie after the first rounding
            1 => {
                let c = f32::from_bits(0x3f80_0000 | (s as u32 & 0x7f_ffff));
                let a = f32::from_bits(0x3f80_0000 | (r as u32 & 0x7f_ffff));
                let b = f32::from_bits(
                    ((r >> 32) as u32 & 0x8000_0000) | 0x3380_0000 | ((r >> 40) as u32 & 0x7f),
                );
                (a, b, c)
            }
            // cancellation: c ≈ −a·b
            2 => {
                let a = f32::from_bits((r as u32 & 0x3fff_ffff) | 0x2000_0000);
                let b = f32::from_bits(((r >> 32) as u32 & 0x3fff_ffff) | 0x2000_0000);
                let c = -(a * b);
                (a, b, f32::from_bits(c.to_bits() ^ (s as u32 & 3)))
            }
            // subnormal results
            _ => {
                let a = f32::from_bits((r as u32 & 0x807f_ffff) | 0x1000_0000);
                let b = f32::from_bits(((r >> 32) as u32 & 0x807f_ffff) | 0x0e00_0000);
                (a, b, f32::from_bits(s as u32 & 0x807f_ffff))
            }
        };
        let want = hardware_f32(a, b, c);
        if !same32(soft::fused_f32(a, b, c), want) || !same32(fma::fused_f32(a, b, c), want) {
            bad += 1;
            assert!(bad < 5, "{a:e}·{b:e} + {c:e}");
        }
    }
    assert_eq!(bad, 0);
    println!("fmaf: {n} inputs, 0 mismatches");
}

/// Every triple of special values.
#[test]
fn special_values_f32_and_f64() {
    let s32 = specials32();
    for &a in &s32 {
        for &b in &s32 {
            for &c in &s32 {
                let want = hardware_f32(a, b, c);
                assert!(
                    same32(soft::fused_f32(a, b, c), want),
                    "{a:e}·{b:e} + {c:e}"
                );
                assert!(same32(fma::fused_f32(a, b, c), want), "{a:e}·{b:e} + {c:e}");
            }
        }
    }
    let s64 = specials64();
    for &a in &s64 {
        for &b in &s64 {
            for &c in &s64 {
                let want = hardware_f64(a, b, c);
                assert!(
                    same64(soft::fused_f64(a, b, c), want),
                    "{a:e}·{b:e} + {c:e}"
                );
                assert!(same64(fma::fused_f64(a, b, c), want), "{a:e}·{b:e} + {c:e}");
            }
        }
    }
}

/// Exact sums that the first rounding (to `f64`) puts on an `f32` tie: `c = 1 + j·2^−23` and
/// `a·b = 2^−24·(1 + i·2^−23)(1 − i·2^−23)`, whose `2^−70` term `f64` cannot hold. Rounding
/// twice gets these wrong (checked: it does, so the family has teeth); the emulation does not.
#[test]
fn ties_after_the_first_rounding() {
    let (mut cases, mut twice_wrong) = (0, 0);
    for i in 1..=200u32 {
        for j in 0..64u32 {
            for sign in [1.0f32, -1.0] {
                let a = 1.0 + i as f32 * f32::EPSILON;
                let b = 2f32.powi(-24) * (1.0 - i as f32 * f32::EPSILON);
                let c = sign * (1.0 + j as f32 * f32::EPSILON);
                let (a, b) = (sign * a, b);
                let want = hardware_f32(a, b, c);
                assert!(
                    same32(soft::fused_f32(a, b, c), want),
                    "{a:e}·{b:e} + {c:e}"
                );
                assert!(same32(fma::fused_f32(a, b, c), want), "{a:e}·{b:e} + {c:e}");
                let twice = (a as f64 * b as f64 + c as f64) as f32;
                twice_wrong += (twice != want) as u32;
                cases += 1;
            }
        }
    }
    assert!(
        twice_wrong > 1000,
        "only {twice_wrong} of {cases} would fail double rounding"
    );
    println!("ties: {cases} cases, {twice_wrong} that rounding twice gets wrong, 0 mismatches");
}

#[test]
fn software_fma_f64_is_the_hardwares() {
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let (n, mut bad) = (samples(), 0u64);
    for i in 0..n {
        let (r, s, t) = (rng.next(), rng.next(), rng.next());
        // a value with a random significand and sign and the biased exponent `field`
        let with_field =
            |x: u64, field: u64| f64::from_bits((x & 0x800f_ffff_ffff_ffff) | field << 52);
        let (a, b, c) = match i % 7 {
            // an exact tie (a product of 54 bits, odd) and a c far below it that decides it: a
            // software fma that drops c's bits rounds these to even, wrongly
            6 => {
                let a = ((r & ((1 << 27) - 1)) | 1 << 27 | 1) as f64; // odd, 28 bits
                let b = ((s & ((1 << 26) - 1)) | 1 << 26 | 1) as f64; // odd, 27 bits
                let p = a * b; // rounded when it has 55 bits: then not a tie, still a case
                let scale = 2f64.powi((t >> 56) as i32 - 128);
                let c = with_field(t, 1023 - 60 - (t >> 48 & 127)) * scale;
                (a * scale, b, c * if p > 0.0 { 1.0 } else { -1.0 })
            }
            // any bits
            0 => (f64::from_bits(r), f64::from_bits(s), f64::from_bits(t)),
            // ordinary magnitudes, all exponents near 0: rounding decided far down
            1 => (
                with_field(r, 1023),
                with_field(s, 1023),
                with_field(t, 1023),
            ),
            // cancellation: c ≈ −a·b, a few ulps off
            2 => {
                let a = with_field(r, 1023 + (t >> 60));
                let b = with_field(s, 1023 - (t >> 56 & 15));
                (a, b, f64::from_bits((-(a * b)).to_bits() ^ (t & 7)))
            }
            // every alignment of c against the product: c = ±a·b·2^k, k in −127..=127
            3 => {
                let (a, b) = (with_field(r, 1023), with_field(s, 1023 + 20));
                let k = (t >> 40 & 255) as i32 - 127;
                let c = a * b * 2f64.powi(k);
                (
                    a,
                    b,
                    f64::from_bits(c.to_bits() ^ (t & 0x8000_0000_0000_00ff)),
                )
            }
            // products and results among the subnormals
            4 => (
                with_field(r, 1023 - 500),
                with_field(s, 1023 - 530 - (t >> 58)),
                with_field(t, t >> 61),
            ),
            // products near the overflow
            _ => (
                with_field(r, 1023 + 600),
                with_field(s, 1023 + 420 + (t >> 58)),
                with_field(t, 2046 - (t >> 61)),
            ),
        };
        let want = hardware_f64(a, b, c);
        if !same64(soft::fused_f64(a, b, c), want) || !same64(fma::fused_f64(a, b, c), want) {
            bad += 1;
            assert!(bad < 5, "{a:e}·{b:e} + {c:e}");
        }
    }
    assert_eq!(bad, 0);
    println!("fma (f64): {n} inputs, 0 mismatches");
}
