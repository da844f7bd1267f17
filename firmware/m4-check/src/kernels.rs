//! The kernels against the scalar reference on both backends: every length up to three vectors of
//! the widest backend plus every tail, each buffer at its own offset, every mix of ordinary and
//! special values, centralized or not, every gradient preparation, Momentum, Nesterov and each
//! SGD configuration on a first and a later step.

use core::num::NonZeroUsize;

use cortex_m_semihosting::hprintln;
use gradstep::hyper::{GradPrep, MomentumStep, SgdStep};
use gradstep::kernel::{self, Backend};
use gradstep::{Error, reference};

use crate::{BACKENDS, Tally, first_difference};

/// xorshift32 (Marsaglia): deterministic, no dependencies.
pub(crate) struct Rng(pub(crate) u32);

impl Rng {
    pub(crate) fn next(&mut self) -> u32 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        self.0 = x;
        x
    }

    pub(crate) fn below(&mut self, n: u32) -> u32 {
        self.next() % n
    }

    pub(crate) fn pick<T: Copy>(&mut self, from: &[T]) -> T {
        from[self.below(from.len() as u32) as usize]
    }

    /// An ordinary value in about ±4, with a random exponent spread.
    fn ordinary(&mut self) -> f32 {
        let mantissa = (self.next() >> 9) as f32 / (1u32 << 23) as f32; // [0, 1)
        let scale = self.pick(&[1.0f32, 0.5, 0.125, 2.0, 4.0, 1e-3]);
        let v = (mantissa * 2.0 - 1.0) * scale;
        if v == 0.0 { 0.25 } else { v }
    }
}

/// ±0, subnormals, ±inf, NaN (quiet, negative, and with a payload), large magnitudes.
pub(crate) const SPECIALS: [u32; 18] = [
    0x0000_0000, // +0
    0x8000_0000, // -0
    0x0000_0001, // f32::from_bits(1), the smallest subnormal
    0x8000_0001,
    0x0001_16c2, // 1e-40, a subnormal
    0x8001_16c2, // -1e-40
    0x007f_ffff, // the largest subnormal
    0x0080_0000, // f32::MIN_POSITIVE
    0x7f80_0000, // +inf
    0xff80_0000, // -inf
    0x7fc0_0000, // NaN
    0xffc0_0000, // -NaN
    0x7f80_0001, // a signalling NaN
    0x7f7f_ffff, // f32::MAX
    0xff7f_ffff, // -f32::MAX
    0x7149_f2ca, // 1e30
    0xf149_f2ca, // -1e30
    0x5f00_0000, // 2^63
];

/// How a buffer's values are drawn.
#[derive(Clone, Copy)]
pub(crate) enum Mix {
    /// Ordinary values only.
    Ordinary,
    /// One value in four special.
    Special,
    /// Half the values ±0, the rest ordinary or special (rows whose mean is ±0).
    ZeroHeavy,
    /// Arbitrary bit patterns.
    Bits,
}

pub(crate) const MIXES: [Mix; 4] = [Mix::Ordinary, Mix::Special, Mix::ZeroHeavy, Mix::Bits];

pub(crate) fn value(rng: &mut Rng, mix: Mix) -> f32 {
    let special = |rng: &mut Rng| f32::from_bits(rng.pick(&SPECIALS));
    match mix {
        Mix::Ordinary => rng.ordinary(),
        Mix::Special if rng.below(4) == 0 => special(rng),
        Mix::Special => rng.ordinary(),
        Mix::ZeroHeavy => match rng.below(4) {
            0 => 0.0,
            1 => -0.0,
            2 => special(rng),
            _ => rng.ordinary(),
        },
        Mix::Bits => f32::from_bits(rng.next()),
    }
}

/// The longest tensor: three vectors of the widest path (16 lanes) plus every tail.
pub const MAX_LEN: usize = 55;
/// Room for a misaligned start (up to 15 floats: a 64-byte vector).
pub(crate) const ROOM: usize = MAX_LEN + 16;

/// (weight decay, loss scale) for `GradPrep::new`: none, decay only, unscaling only, both.
pub(crate) const PREPS: [(f64, f64); 4] = [(0.0, 1.0), (1e-4, 1.0), (0.0, 128.0), (0.01, 3.0)];

/// (momentum, dampening, nesterov) of the SGD configurations.
const SGD_RULES: [(f64, f64, bool); 4] = [
    (0.0, 0.0, false),
    (0.9, 0.0, false),
    (0.9, 0.2, false),
    (0.9, 0.0, true),
];

pub(crate) const LRS: [f32; 6] = [0.0, 1e-3, 0.05, 0.1, 2.5, 1e-30];
const MOMENTA: [f64; 4] = [0.0, 0.9, 0.99, 1.5];

/// One kernel case's inputs: params, grads and state, each at its own offset in its buffer.
struct Inputs {
    w: [f32; ROOM],
    g: [f32; ROOM],
    m: [f32; ROOM],
    offsets: [usize; 3],
    len: usize,
    centralize: Option<NonZeroUsize>,
}

impl Inputs {
    fn draw(rng: &mut Rng, len: usize, mix: Mix) -> Self {
        let mut x = Inputs {
            w: [0.0; ROOM],
            g: [0.0; ROOM],
            m: [0.0; ROOM],
            offsets: [0; 3],
            len,
            centralize: None,
        };
        for o in &mut x.offsets {
            *o = rng.below(16) as usize;
        }
        for buf in [&mut x.w, &mut x.g, &mut x.m] {
            for v in buf.iter_mut() {
                *v = value(rng, mix);
            }
        }
        // centralized in 1, 2, 3, 4 or `len` rows where that divides the length, or not at all
        let rows = rng.pick(&[0usize, 0, 1, 2, 3, 4, len.max(1)]);
        if rows > 0 && len.is_multiple_of(rows) {
            x.centralize = NonZeroUsize::new(rows);
        }
        x
    }

    /// Runs `f` on (params, grads, state) slices of copies of the inputs; returns the copies.
    fn run(
        &self,
        f: impl FnOnce(&mut [f32], &[f32], &mut [f32], Option<NonZeroUsize>) -> Result<(), Error>,
    ) -> (Result<(), Error>, [f32; ROOM], [f32; ROOM]) {
        let (mut w, mut m) = (self.w, self.m);
        let [ow, og, om] = self.offsets;
        let n = self.len;
        let r = f(
            &mut w[ow..ow + n],
            &self.g[og..og + n],
            &mut m[om..om + n],
            self.centralize,
        );
        (r, w, m)
    }
}

/// What a kernel case was, for a failure message.
struct Label {
    kernel: &'static str,
    path: Backend,
    len: usize,
    rule: usize,
    prep: usize,
    variant: bool,
    centralize: Option<NonZeroUsize>,
    /// Where params, grads and state start in their buffers.
    offsets: [usize; 3],
}

fn compare(
    label: &Label,
    want: &(Result<(), Error>, [f32; ROOM], [f32; ROOM]),
    got: &(Result<(), Error>, [f32; ROOM], [f32; ROOM]),
    tally: &mut Tally,
) {
    // the whole buffers: nothing outside the slices may change either
    let [ow, _, om] = label.offsets;
    let diff = match (want.0, got.0) {
        (Ok(()), Ok(())) => first_difference(&want.1, &got.1)
            .map(|i| ("params", i as isize - ow as isize, want.1[i], got.1[i]))
            .or_else(|| {
                first_difference(&want.2, &got.2)
                    .map(|i| ("state", i as isize - om as isize, want.2[i], got.2[i]))
            }),
        (Err(a), Err(b)) if a == b => None,
        (a, b) => {
            if tally.record(false) {
                hprintln!(
                    "  {} {} len {}: reference {:?}, kernel {:?}",
                    label.kernel,
                    label.path.name(),
                    label.len,
                    a,
                    b
                );
            }
            return;
        }
    };
    if tally.record(diff.is_none()) {
        let (what, i, w, g) = diff.unwrap();
        hprintln!(
            "  {} {} len {} rule {} prep {} {} rows {:?}: {}[{}] reference {:#010x}, kernel {:#010x}",
            label.kernel,
            label.path.name(),
            label.len,
            label.rule,
            label.prep,
            if label.variant {
                "nesterov/first"
            } else {
                "plain"
            },
            label.centralize,
            what,
            i,
            w.to_bits(),
            g.to_bits()
        );
    }
}

/// Runs every kernel case; counts the calls per path and the centralized ones.
pub fn kernels(tally: &mut Tally, per_path: &mut [u32; 2], centralized: &mut u32) {
    let mut rng = Rng(0x9e37_79b9);
    for len in 0..=MAX_LEN {
        for mix in MIXES {
            let x = Inputs::draw(&mut rng, len, mix);
            let calls_before = per_path[0] + per_path[1];
            for (p, &(wd, scale)) in PREPS.iter().enumerate() {
                let prep = GradPrep::new(wd, scale).unwrap();
                // momentum, plain and Nesterov
                for nesterov in [false, true] {
                    let lr = rng.pick(&LRS);
                    let mu = rng.pick(&MOMENTA);
                    let step = MomentumStep::new(lr, mu, nesterov, prep).unwrap();
                    let want = x.run(|w, g, m, c| reference::momentum(w, g, m, c, &step));
                    for (k, path) in BACKENDS.into_iter().enumerate() {
                        let got = x.run(|w, g, m, c| kernel::momentum_on(path, w, g, m, c, &step));
                        let label = Label {
                            kernel: "momentum",
                            path,
                            len,
                            rule: 0,
                            prep: p,
                            variant: nesterov,
                            centralize: x.centralize,
                            offsets: x.offsets,
                        };
                        compare(&label, &want, &got, tally);
                        per_path[k] += 1;
                    }
                }
                // SGD, each rule on a later step and on the first step
                for (r, &(mu, damp, nesterov)) in SGD_RULES.iter().enumerate() {
                    for first in [false, true] {
                        let lr = rng.pick(&LRS);
                        let step = SgdStep::new(lr, mu, damp, nesterov, prep)
                            .unwrap()
                            .first_step(first);
                        let want = x.run(|w, g, a, c| reference::sgd(w, g, a, c, &step));
                        for (k, path) in BACKENDS.into_iter().enumerate() {
                            let got = x.run(|w, g, a, c| kernel::sgd_on(path, w, g, a, c, &step));
                            let label = Label {
                                kernel: "sgd",
                                path,
                                len,
                                rule: r,
                                prep: p,
                                variant: first,
                                centralize: x.centralize,
                                offsets: x.offsets,
                            };
                            compare(&label, &want, &got, tally);
                            per_path[k] += 1;
                        }
                    }
                }
            }
            if x.centralize.is_some() && x.len > 0 {
                *centralized += per_path[0] + per_path[1] - calls_before;
            }
        }
    }
}
