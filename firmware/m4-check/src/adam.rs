//! Adam on the Cortex-M4F: its fused multiply-add (`VFMA.F32`) against gradstep's exact software
//! one, and the Adam, AMSGrad and AdamWeightDecay kernels against the scalar reference on both
//! backends — every length up to 55, each buffer at its own offset, every mix of values, every
//! gradient preparation, `K` = 1 and 2.

use core::num::{NonZeroU32, NonZeroUsize};

use cortex_m_semihosting::hprintln;
use gradstep::fma::{self, soft};
use gradstep::hyper::{AdamStep, AdamWStep, Betas, GradPrep};
use gradstep::kernel;
use gradstep::sqrt;
use gradstep::{Error, reference};

use crate::kernels::{LRS, MAX_LEN, MIXES, Mix, PREPS, ROOM, Rng, SPECIALS, value};
use crate::{BACKENDS, Tally, first_difference, same};

/// `VFMA.F32` (through `fma::fused_f32`) against the software emulation: every triple of special
/// values, then `n` random triples of ordinary values and of arbitrary bits.
pub fn fused(tally: &mut Tally, n: u32) {
    let mut check = |a: f32, b: f32, c: f32| {
        let (hw, sw) = (fma::fused_f32(a, b, c), soft::fused_f32(a, b, c));
        if tally.record(same(hw, sw)) {
            hprintln!(
                "  fma({:#010x}, {:#010x}, {:#010x}): VFMA {:#010x}, software {:#010x}",
                a.to_bits(),
                b.to_bits(),
                c.to_bits(),
                hw.to_bits(),
                sw.to_bits()
            );
        }
    };
    for a in SPECIALS {
        for b in SPECIALS {
            for c in SPECIALS {
                check(f32::from_bits(a), f32::from_bits(b), f32::from_bits(c));
            }
        }
    }
    let mut rng = Rng(0x2545_f491);
    for i in 0..n {
        let mix = if i % 2 == 0 { Mix::Ordinary } else { Mix::Bits };
        let (a, b, c) = (
            value(&mut rng, mix),
            value(&mut rng, mix),
            value(&mut rng, mix),
        );
        check(a, b, c);
    }
}

/// The square roots (`VSQRT.F32`, and the integer `f64` root the M4F uses, having no `f64` FPU)
/// and the integer `f64` fused multiply-add against `libm` on this target: every special `f32`
/// and `n` random ones, and as many random `f64` triples built from them.
pub fn double(tally: &mut Tally, n: u32) {
    let mut rng = Rng(0x9e37_79b9);
    let mut f32s = SPECIALS.into_iter().map(f32::from_bits);
    for i in 0..SPECIALS.len() as u32 + n {
        let x = f32s
            .next()
            .unwrap_or_else(|| value(&mut rng, if i % 2 == 0 { Mix::Ordinary } else { Mix::Bits }));
        let (got, want) = (sqrt::sqrt_f64_of_f32_integer(x), libm::sqrt(x as f64));
        if tally.record(got.to_bits() == want.to_bits() || (got.is_nan() && want.is_nan())) {
            hprintln!(
                "  sqrt({:#010x}): {:#018x}, libm {:#018x}",
                x.to_bits(),
                got.to_bits(),
                want.to_bits()
            );
        }
        let (got, want) = (sqrt::sqrt_f32(x), libm::sqrtf(x));
        if tally.record(got.to_bits() == want.to_bits() || (got.is_nan() && want.is_nan())) {
            hprintln!(
                "  VSQRT({:#010x}): {:#010x}, libm {:#010x}",
                x.to_bits(),
                got.to_bits(),
                want.to_bits()
            );
        }
        let wide = |rng: &mut Rng| f64::from_bits((rng.next() as u64) << 32 | rng.next() as u64);
        let (a, b, c) = (wide(&mut rng), x as f64, wide(&mut rng));
        let (got, want) = (soft::fused_f64(a, b, c), libm::fma(a, b, c));
        if tally.record(got.to_bits() == want.to_bits() || (got.is_nan() && want.is_nan())) {
            hprintln!(
                "  fma_d: {:#018x}, libm {:#018x}",
                got.to_bits(),
                want.to_bits()
            );
        }
    }
}

/// Params, grads, and the state buffers `m`, `v`, `v̂`, each at its own offset.
struct Inputs {
    bufs: [[f32; ROOM]; 5],
    offsets: [usize; 5],
    len: usize,
    centralize: Option<NonZeroUsize>,
}

type Outcome = (Result<(), Error>, [[f32; ROOM]; 5]);

impl Inputs {
    fn draw(rng: &mut Rng, len: usize, mix: Mix) -> Self {
        let mut x = Inputs {
            bufs: [[0.0; ROOM]; 5],
            offsets: [0; 5],
            len,
            centralize: None,
        };
        for (i, (buf, o)) in x.bufs.iter_mut().zip(&mut x.offsets).enumerate() {
            *o = rng.below(16) as usize;
            for v in buf.iter_mut() {
                *v = value(rng, mix);
                // second moments are mostly squares: non-negative unless the mix is raw bits
                if i >= 3 && !matches!(mix, Mix::Bits) {
                    *v = v.abs();
                }
            }
        }
        let rows = rng.pick(&[0usize, 0, 1, 2, 3, len.max(1)]);
        if rows > 0 && len.is_multiple_of(rows) {
            x.centralize = NonZeroUsize::new(rows);
        }
        x
    }

    /// Runs `f` on slices of copies of the buffers (`v̂` empty unless `vhat`).
    fn run(
        &self,
        vhat: bool,
        f: impl FnOnce([&mut [f32]; 4], &[f32], Option<NonZeroUsize>) -> Result<(), Error>,
    ) -> Outcome {
        let mut b = self.bufs;
        let n = self.len;
        let o = self.offsets;
        let [w, g, m, v, h] = &mut b;
        let h = if vhat {
            &mut h[o[4]..o[4] + n]
        } else {
            &mut h[..0]
        };
        let r = f(
            [
                &mut w[o[0]..o[0] + n],
                &mut m[o[2]..o[2] + n],
                &mut v[o[3]..o[3] + n],
                h,
            ],
            &g[o[1]..o[1] + n],
            self.centralize,
        );
        (r, b)
    }
}

fn compare(what: &str, len: usize, want: &Outcome, got: &Outcome, tally: &mut Tally) {
    let diff = match (want.0, got.0) {
        (Ok(()), Ok(())) => {
            (0..5).find_map(|i| first_difference(&want.1[i], &got.1[i]).map(|j| (i, j)))
        }
        (Err(a), Err(b)) if a == b => None,
        _ => Some((5, 0)),
    };
    if tally.record(diff.is_none()) {
        let (buf, i) = diff.unwrap();
        hprintln!(
            "  {} len {}: buffer {} element {} differs from the reference",
            what,
            len,
            buf,
            i
        );
    }
}

/// Runs every Adam kernel case; returns the number of kernel calls.
pub fn kernels(tally: &mut Tally) -> u32 {
    let mut rng = Rng(0x1234_5678);
    let mut calls = 0;
    let betas = [
        Betas::new(0.9, 0.999, 1e-8).unwrap(),
        Betas::new(0.5, 0.6, 1e-3).unwrap(),
    ];
    for len in 0..=MAX_LEN {
        for mix in MIXES {
            let x = Inputs::draw(&mut rng, len, mix);
            for &(wd, scale) in &PREPS {
                let prep = GradPrep::new(wd, scale).unwrap();
                let b = rng.pick(&betas);
                let lr = rng.pick(&LRS);
                let k = NonZeroU32::new(1 + rng.below(2)).unwrap();
                for (nesterov, amsgrad) in [(false, false), (true, false), (false, true)] {
                    let step = AdamStep::new(lr, b, nesterov, amsgrad, prep)
                        .unwrap()
                        .with_powers(0.5, 0.25)
                        .unwrap()
                        .with_threads(k);
                    let want = x.run(amsgrad, |[w, m, v, h], g, c| {
                        reference::adam(w, g, m, v, h, c, &step)
                    });
                    for backend in BACKENDS {
                        let got = x.run(amsgrad, |[w, m, v, h], g, c| {
                            kernel::adam_on(backend, w, g, m, v, h, c, &step)
                        });
                        compare("adam", len, &want, &got, tally);
                        calls += 1;
                    }
                }
                let step = AdamWStep::new(lr, b, wd * 10.0).unwrap();
                let want = x.run(false, |[w, m, v, _], g, c| {
                    reference::adamw(w, g, m, v, c, &step)
                });
                for backend in BACKENDS {
                    let got = x.run(false, |[w, m, v, _], g, c| {
                        kernel::adamw_on(backend, w, g, m, v, c, &step)
                    });
                    compare("adamw", len, &want, &got, tally);
                    calls += 1;
                }
            }
        }
    }
    calls
}
