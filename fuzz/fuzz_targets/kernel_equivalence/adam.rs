//! Adam (plain, Nesterov), AMSGrad and AdamWeightDecay: every available backend
//! (`kernel::adam_on`, `kernel::adamw_on`) and the selected one against `reference::adam` /
//! `reference::adamw`.
//!
//! Input (after the kernel byte): `lr`, `β1`, `β2`, `eps` (`Betas::new`), Adam's flags
//! (Nesterov, AMSGrad), `K` and the beta powers (`AdamStep::with_powers`), weight decay and loss
//! scale (`GradPrep::new`; AdamWeightDecay: its decoupled weight decay), a shape — up to 255
//! values, rows × cols, 1000 to 1100 values (MindSpore's work split cuts them at `K` ≥ 2), or up
//! to 4200 (three and four chunks) —, sometimes a buffer of the wrong length (or a `v̂` without
//! AMSGrad), each buffer's offset in its allocation, then params, grads, `m`, `v`, `v̂`. A
//! buffer of more than 256 values repeats a pattern of up to 61 values read from the input.
//!
//! Also: the constructors accept exactly their documented ranges (the betas strictly inside
//! `(0, 1)` with `F(β) < 1`, `eps` finite and > 0 with `F(eps)` finite and > 0, the powers in
//! `[0, 1)`, no AMSGrad with Nesterov) and keep `F(·)` of their values; `lr_t` is the FPU's
//! `f32` formula; `reference::chunk_len` is MindSpore's chunk length; the reference does not
//! depend on `K` where MindSpore's split does not (AMSGrad, and tensors of at most 1000 values).

use std::num::{NonZeroU32, NonZeroUsize};

use super::checked_prep;
use crate::common::{Reader, assert_bits, assert_same, at_offset, trace};
use gradstep::hyper::{AdamStep, AdamWStep, Betas, GradPrep};
use gradstep::kernel;
use gradstep::reference;
use gradstep::{Backend, Error, Param};

/// `Betas::new` against its contract, computed on the FPU: each `β > 0` with `F(β) < 1` (so no
/// NaN), then `eps` finite and > 0 with `F(eps)` finite and > 0.
fn betas(b1: f64, b2: f64, eps: f64) -> Option<Betas> {
    let got = Betas::new(b1, b2, eps);
    let beta_ok = |b: f64| b > 0.0 && (b as f32) < 1.0;
    let want = if !beta_ok(b1) {
        Err(Error::OutOfRange(Param::Beta1))
    } else if !beta_ok(b2) {
        Err(Error::OutOfRange(Param::Beta2))
    } else if !eps.is_finite() {
        Err(Error::NotFinite(Param::Eps))
    } else if !(eps > 0.0) {
        Err(Error::NotPositive(Param::Eps))
    } else if (eps as f32).is_infinite() {
        Err(Error::NotFinite(Param::Eps))
    } else if eps as f32 == 0.0 {
        Err(Error::NotPositive(Param::Eps))
    } else {
        Ok(())
    };
    assert_eq!(got.map(|_| ()), want, "Betas::new({b1:e}, {b2:e}, {eps:e})");
    let b = got.ok()?;
    let bits = |x: f32| x.to_bits();
    assert_eq!(bits(b.beta1()), bits(b1 as f32), "F(β1)");
    assert_eq!(bits(b.beta2()), bits(b2 as f32), "F(β2)");
    assert_eq!(bits(b.eps()), bits(eps as f32), "F(eps)");
    assert_eq!(bits(b.c1()), bits(1.0 - b1 as f32), "c1");
    assert_eq!(bits(b.c2()), bits(1.0 - b2 as f32), "c2");
    Some(b)
}

/// The learning rate's rule: finite and ≥ 0 (−0 included).
fn lr_error(lr: f32) -> Option<Error> {
    if !lr.is_finite() {
        Some(Error::NotFinite(Param::LearningRate))
    } else if lr < 0.0 {
        Some(Error::Negative(Param::LearningRate))
    } else {
        None
    }
}

/// `AdamStep::new`, `with_powers` and `with_threads` against their contracts.
fn adam_step(
    r: &mut Reader,
    lr: f32,
    betas: Betas,
    prep: GradPrep,
    threads: NonZeroU32,
) -> Option<AdamStep> {
    let flags = r.u8();
    let (nesterov, amsgrad) = (flags & 1 != 0, flags & 2 != 0);
    let got = AdamStep::new(lr, betas, nesterov, amsgrad, prep);
    let want = if nesterov && amsgrad {
        Some(Error::AmsgradWithNesterov)
    } else {
        lr_error(lr)
    };
    assert_eq!(
        got.err(),
        want,
        "AdamStep::new({lr:e}, nesterov {nesterov}, amsgrad {amsgrad})"
    );
    let step = got.ok()?;
    // the first step's constants
    assert_eq!(step.lr().to_bits(), lr.to_bits());
    assert_eq!(
        step.powers().map(f32::to_bits),
        [betas.beta1(), betas.beta2()].map(f32::to_bits),
        "the first step's powers are F(β)"
    );
    assert_eq!((step.nesterov(), step.amsgrad()), (nesterov, amsgrad));
    assert_eq!(step.threads().get(), 1, "K = 1 by default");
    assert_eq!(step.betas(), &betas);
    assert_eq!(step.prep(), &prep);
    let (p1, p2) = (r.power(betas.beta1()), r.power(betas.beta2()));
    let power_ok = |p: f32| p >= 0.0 && p < 1.0;
    let got = step.with_powers(p1, p2);
    let want = if !power_ok(p1) {
        Some(Error::OutOfRange(Param::Beta1Power))
    } else if !power_ok(p2) {
        Some(Error::OutOfRange(Param::Beta2Power))
    } else {
        None
    };
    assert_eq!(got.err(), want, "with_powers({p1:e}, {p2:e})");
    let step = got.ok()?.with_threads(threads);
    assert_eq!(step.powers().map(f32::to_bits), [p1, p2].map(f32::to_bits));
    assert_eq!(step.threads(), threads);
    // lr_t = (lr ⊗ sqrtf(1 ⊖ b2p)) ⊘ (1 ⊖ b1p), on the FPU
    let lr_t = (lr * (1.0 - p2).sqrt()) / (1.0 - p1);
    assert_eq!(step.lr_t().to_bits(), lr_t.to_bits(), "lr_t");
    Some(step)
}

/// `AdamWStep::new` against its contract: the learning rate's rule, then the weight decay finite
/// and ≥ 0 with `F(wd)` finite, kept as `F(wd)` (−0 as +0).
fn adamw_step(lr: f32, betas: Betas, wd: f64) -> Option<AdamWStep> {
    let got = AdamWStep::new(lr, betas, wd);
    let want = lr_error(lr).or(if !wd.is_finite() {
        Some(Error::NotFinite(Param::WeightDecay))
    } else if wd < 0.0 {
        Some(Error::Negative(Param::WeightDecay))
    } else if (wd as f32).is_infinite() {
        Some(Error::NotFinite(Param::WeightDecay))
    } else {
        None
    });
    assert_eq!(got.err(), want, "AdamWStep::new({lr:e}, wd {wd:e})");
    let step = got.ok()?;
    assert_eq!(step.lr().to_bits(), lr.to_bits());
    // −0 is taken as +0: MindSpore passes +0 and still multiplies
    let f_wd = if wd == 0.0 { 0.0f32 } else { wd as f32 };
    assert_eq!(step.decay().to_bits(), f_wd.to_bits(), "F(wd)");
    assert_eq!(step.betas(), &betas);
    // the optimizer's preparation of the same decay: F(wd) when wd > 0, else none
    let decoupled = GradPrep::decoupled(wd).expect("a decay AdamWStep takes");
    let want = (wd > 0.0).then_some((wd as f32).to_bits());
    assert_eq!(decoupled.decay().map(f32::to_bits), want, "decoupled F(wd)");
    assert_eq!(decoupled.unscale(), None);
    Some(step)
}

#[derive(Clone, Copy, Debug)]
enum Step {
    Adam(AdamStep),
    AdamW(AdamWStep),
}

/// Which implementation a call runs.
#[derive(Clone, Copy)]
enum Which {
    Reference,
    On(Backend),
    Selected,
}

impl Step {
    /// One call over `w`, `g` and the state `[m, v, v̂]` (AdamWeightDecay has no `v̂`).
    fn run(
        &self,
        which: Which,
        w: &mut [f32],
        g: &[f32],
        [m, v, vh]: [&mut [f32]; 3],
        c: Option<NonZeroUsize>,
    ) -> Result<(), Error> {
        match (self, which) {
            (Step::Adam(s), Which::Reference) => reference::adam(w, g, m, v, vh, c, s),
            (Step::Adam(s), Which::On(b)) => kernel::adam_on(b, w, g, m, v, vh, c, s),
            (Step::Adam(s), Which::Selected) => kernel::adam(w, g, m, v, vh, c, s),
            (Step::AdamW(s), Which::Reference) => reference::adamw(w, g, m, v, c, s),
            (Step::AdamW(s), Which::On(b)) => kernel::adamw_on(b, w, g, m, v, c, s),
            (Step::AdamW(s), Which::Selected) => kernel::adamw(w, g, m, v, c, s),
        }
    }
}

const NAMES: [&str; 5] = ["params", "grads", "m", "v", "v̂"];

/// One Adam or AdamWeightDecay input (`adamw`: the latter).
pub(crate) fn check(r: &mut Reader, adamw: bool) {
    let lr = r.f32_param();
    let (b1, b2, eps) = (r.beta(), r.beta(), r.eps());
    let Some(betas) = betas(b1, b2, eps) else {
        return;
    };
    let step = if adamw {
        let wd = r.f64_param();
        match adamw_step(lr, betas, wd) {
            Some(s) => Step::AdamW(s),
            None => return,
        }
    } else {
        let (wd, scale) = (r.f64_param(), r.f64_param());
        let Some(prep) = checked_prep(wd, scale) else {
            return;
        };
        let threads = NonZeroU32::new(r.threads()).unwrap_or(NonZeroU32::MIN);
        match adam_step(r, lr, betas, prep, threads) {
            Some(s) => Step::Adam(s),
            None => return,
        }
    };
    let amsgrad = matches!(step, Step::Adam(s) if s.amsgrad());

    // the shape
    let some_rows =
        |r: &mut Reader| NonZeroUsize::new([0, 0, 1, 2, 3, 4, 5, 8][r.u8() as usize % 8]);
    let (len, centralize) = match r.u8() % 8 {
        0..=2 => (r.u8() as usize, None),
        3 => {
            let (rows, cols) = (1 + r.u8() as usize % 8, r.u8() as usize % 40);
            (rows * cols, NonZeroUsize::new(rows))
        }
        4 => {
            let len = r.u8() as usize;
            (len, NonZeroUsize::new(r.u8() as usize % 12))
        }
        5 | 6 => (1000 + r.u8() as usize % 101, some_rows(r)),
        _ => (r.u16() as usize % 4201, some_rows(r)),
    };
    // params, grads, m, v, v̂ (empty without AMSGrad); now and then one of the wrong length
    let mut lens = [len, len, len, len, if amsgrad { len } else { 0 }];
    match r.u8() {
        250 => lens[1] += 1,
        251 => lens[1] = len.saturating_sub(1),
        252 => lens[2] += 1,
        253 => lens[3] = len.saturating_sub(1),
        254 if !adamw => lens[4] = if amsgrad { len.saturating_sub(1) } else { 1 },
        _ => {}
    }
    let offsets = r.u32();
    let offs: [usize; 5] = std::array::from_fn(|i| (offsets >> (4 * i) & 15) as usize);
    let raw = r.bool();
    let bufs: Vec<Vec<f32>> = lens.iter().map(|&n| r.long_values(n, raw)).collect();

    let mut want = bufs.clone();
    let want_result = {
        let [w, g, m, v, vh] = &mut want[..] else {
            unreachable!()
        };
        step.run(Which::Reference, w, g, [m, v, vh], centralize)
    };
    if trace() {
        eprintln!(
            "{step:?}; lens {lens:?}, rows {centralize:?}, offsets {offs:?}, raw {raw}: {want_result:?}"
        );
    }
    if want_result.is_err() {
        for (i, (a, b)) in want.iter().zip(&bufs).enumerate() {
            assert_bits(&format!("reference {} after error", NAMES[i]), a, b);
        }
    }
    // MindSpore's work split (SEMANTICS-ADAM §3): T = ⌈n / 1000⌉ chunks when n < 1000·K, else K;
    // chunks of ⌈n / T⌉
    if let Step::Adam(s) = step
        && len > 0
    {
        let k = s.threads().get() as usize;
        let chunks = if len < 1000 * k {
            len.div_ceil(1000)
        } else {
            k
        };
        assert_eq!(
            reference::chunk_len(len, s.threads()),
            len.div_ceil(chunks),
            "the chunks of {len} values with K = {k}"
        );
    }
    // MindSpore's split matters only for Adam without AMSGrad over more than 1000 values
    if let Step::Adam(s) = step
        && want_result.is_ok()
        && (s.amsgrad() || len <= 1000)
        && s.threads().get() != 1
    {
        let one = Step::Adam(s.with_threads(NonZeroU32::MIN));
        let mut again = bufs.clone();
        let [w, g, m, v, vh] = &mut again[..] else {
            unreachable!()
        };
        one.run(Which::Reference, w, g, [m, v, vh], centralize)
            .expect("the same call with K = 1");
        for (i, (a, b)) in again.iter().zip(&want).enumerate() {
            assert_bits(&format!("reference {} with K = 1", NAMES[i]), a, b);
        }
    }

    let run = |name: &str, which: Which, expected: Result<(), Error>| {
        let mut got: Vec<Vec<f32>> = bufs
            .iter()
            .zip(offs)
            .map(|(b, o)| at_offset(b, o))
            .collect();
        let result = {
            let [w, g, m, v, vh] = &mut got[..] else {
                unreachable!()
            };
            let (w1, g1) = (&mut w[offs[0]..], &g[offs[1]..]);
            let state = [&mut m[offs[2]..], &mut v[offs[3]..], &mut vh[offs[4]..]];
            step.run(which, w1, g1, state, centralize)
        };
        assert_eq!(
            result, expected,
            "{name}: result (lens {lens:?}, rows {centralize:?})"
        );
        for (i, (b, o)) in got.iter().zip(offs).enumerate() {
            if i == 1 {
                continue;
            }
            if expected.is_ok() {
                assert_same(&format!("{name} {}", NAMES[i]), &b[o..], &want[i]);
            } else {
                assert_bits(
                    &format!("{name} {} after error", NAMES[i]),
                    &b[o..],
                    &bufs[i],
                );
            }
            // the offsets in front of the buffers are never written
            assert!(
                b[..o].iter().all(|&x| x.to_bits() == 0),
                "{name}: wrote before {}",
                NAMES[i]
            );
        }
    };

    for backend in Backend::ALL {
        if backend.is_available() {
            run(backend.name(), Which::On(backend), want_result);
        } else {
            // a bad call is reported as such before the backend is considered
            let expected = want_result.and(Err(Error::BackendUnavailable));
            run(backend.name(), Which::On(backend), expected);
        }
    }
    run("selected", Which::Selected, want_result);
}
