//! Every available kernel backend gives the bits of the scalar reference (NaN by NaN-ness), or
//! the same error with the buffers untouched; an unavailable backend is rejected without writing.
//!
//! Input: the kernel (first byte mod 4: Momentum, SGD, Adam — plain, Nesterov or AMSGrad —,
//! AdamWeightDecay), its hyper-parameters (through the public constructors), a shape (length,
//! optional row count for centralization — 0 is none —, sometimes inconsistent buffer lengths),
//! each buffer's offset in its allocation, then the values of params, grads and state. Adam's
//! part is `kernel_equivalence/adam.rs` (lengths past 1000 and `K` kernel threads there).
//!
//! Also: the constants `F(wd·L)` and `F(1/L)` of `GradPrep::new` (computed on integers in
//! gradstep, for FPU-less targets) equal the FPU's `f64` formulas, and the constructors accept
//! exactly what their documented rules accept.
#![no_main]

#[path = "kernel_equivalence/adam.rs"]
mod adam;
mod common;

use std::num::NonZeroUsize;

use common::{Reader, assert_bits, assert_same, at_offset, trace};
use gradstep::hyper::{GradPrep, MomentumStep, SgdStep};
use gradstep::kernel;
use gradstep::reference;
use gradstep::{Backend, Error};
use libfuzzer_sys::fuzz_target;

/// `GradPrep::new`'s contract with the FPU's `f64` arithmetic: `wd` finite and ≥ 0, `L` finite and
/// > 0; decay `F(wd·L)` when `wd·L > 0`, unscaling `F(1/L)` when `L ≠ 1`, each finite.
fn hardware_prep(wd: f64, scale: f64) -> Option<(Option<f32>, Option<f32>)> {
    if !(wd.is_finite() && wd >= 0.0 && scale.is_finite() && scale > 0.0) {
        return None;
    }
    let scaled = wd * scale;
    let decay = if scaled > 0.0 {
        Some(scaled as f32)
    } else {
        None
    };
    let unscale = if scale != 1.0 {
        Some((1.0 / scale) as f32)
    } else {
        None
    };
    if decay.is_some_and(|d| !d.is_finite()) || unscale.is_some_and(|u| !u.is_finite()) {
        return None;
    }
    Some((decay, unscale))
}

#[derive(Clone, Copy)]
enum Step {
    Momentum(MomentumStep),
    Sgd(SgdStep),
}

impl Step {
    fn reference(
        &self,
        w: &mut [f32],
        g: &[f32],
        s: &mut [f32],
        c: Option<NonZeroUsize>,
    ) -> Result<(), Error> {
        match self {
            Step::Momentum(st) => reference::momentum(w, g, s, c, st),
            Step::Sgd(st) => reference::sgd(w, g, s, c, st),
        }
    }

    fn on(
        &self,
        backend: Backend,
        w: &mut [f32],
        g: &[f32],
        s: &mut [f32],
        c: Option<NonZeroUsize>,
    ) -> Result<(), Error> {
        match self {
            Step::Momentum(st) => kernel::momentum_on(backend, w, g, s, c, st),
            Step::Sgd(st) => kernel::sgd_on(backend, w, g, s, c, st),
        }
    }

    fn selected(
        &self,
        w: &mut [f32],
        g: &[f32],
        s: &mut [f32],
        c: Option<NonZeroUsize>,
    ) -> Result<(), Error> {
        match self {
            Step::Momentum(st) => kernel::momentum(w, g, s, c, st),
            Step::Sgd(st) => kernel::sgd(w, g, s, c, st),
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let mut r = Reader::new(data);
    match r.u8() % 4 {
        k @ (0 | 1) => momentum_sgd(&mut r, k == 1),
        k => adam::check(&mut r, k == 3),
    }
});

/// `GradPrep::new(weight_decay, loss_scale)`, checked against the FPU's formulas; `None` when it
/// (rightly) refuses them.
fn checked_prep(weight_decay: f64, loss_scale: f64) -> Option<GradPrep> {
    let prep = GradPrep::new(weight_decay, loss_scale);
    // the constants are MindSpore's: F(wd·L) and F(1/L) of the f64 products (on the FPU here)
    let want_prep = hardware_prep(weight_decay, loss_scale);
    match (prep, want_prep) {
        (Ok(p), Some((decay, unscale))) => {
            assert_eq!(
                p.decay().map(f32::to_bits),
                decay.map(f32::to_bits),
                "F(wd·L) of {weight_decay:e}·{loss_scale:e}"
            );
            assert_eq!(
                p.unscale().map(f32::to_bits),
                unscale.map(f32::to_bits),
                "F(1/L) of {loss_scale:e}"
            );
        }
        (Err(_), None) => {}
        (p, w) => panic!(
            "GradPrep::new({weight_decay:e}, {loss_scale:e}) = {p:?}, the f64 formulas give {w:?}"
        ),
    }
    prep.ok()
}

/// Momentum or SGD (the first byte's low bit).
fn momentum_sgd(r: &mut Reader, is_sgd: bool) {
    let lr = r.f32_param();
    let momentum = r.f64_param();
    let nesterov = r.bool();
    let dampening = r.f64_param();
    let first = r.bool();
    let weight_decay = r.f64_param();
    let loss_scale = r.f64_param();
    let Some(prep) = checked_prep(weight_decay, loss_scale) else {
        return;
    };
    let good = |x: f64| x.is_finite() && x >= 0.0 && (x as f32).is_finite();
    let lr_ok = lr.is_finite() && lr >= 0.0;
    let step = if is_sgd {
        let nesterov_ok = !nesterov || (momentum > 0.0 && dampening == 0.0);
        match SgdStep::new(lr, momentum, dampening, nesterov, prep) {
            Ok(s) => {
                assert!(
                    lr_ok && good(momentum) && good(dampening) && nesterov_ok,
                    "SgdStep accepted {lr:e} {momentum:e} {dampening:e} {nesterov}"
                );
                assert_eq!(
                    s.momentum().to_bits(),
                    (momentum as f32).to_bits(),
                    "F(momentum)"
                );
                assert_eq!(
                    s.dampening().to_bits(),
                    (dampening as f32).to_bits(),
                    "F(dampening)"
                );
                assert_eq!(s.lr().to_bits(), lr.to_bits());
                Step::Sgd(s.first_step(first))
            }
            Err(_) => {
                assert!(
                    !(lr_ok && good(momentum) && good(dampening) && nesterov_ok),
                    "SgdStep refused {lr:e} {momentum:e} {dampening:e} {nesterov}"
                );
                return;
            }
        }
    } else {
        match MomentumStep::new(lr, momentum, nesterov, prep) {
            Ok(s) => {
                assert!(
                    lr_ok && good(momentum),
                    "MomentumStep accepted {lr:e} {momentum:e}"
                );
                assert_eq!(
                    s.momentum().to_bits(),
                    (momentum as f32).to_bits(),
                    "F(momentum)"
                );
                assert_eq!(s.lr().to_bits(), lr.to_bits());
                Step::Momentum(s)
            }
            Err(_) => {
                assert!(
                    !(lr_ok && good(momentum)),
                    "MomentumStep refused {lr:e} {momentum:e}"
                );
                return;
            }
        }
    };

    // The shape: a plain tensor of 0..=255 values, or rows × cols with centralization, sometimes
    // with a row count of 0 (no centralization) or one that does not divide the length.
    let shape = r.u8();
    let (len, centralize) = match shape % 4 {
        0 | 1 => (r.u8() as usize, None),
        2 => {
            let (rows, cols) = (1 + r.u8() as usize % 8, r.u8() as usize % 40);
            (rows * cols, NonZeroUsize::new(rows))
        }
        _ => {
            let len = r.u8() as usize;
            (len, NonZeroUsize::new(r.u8() as usize % 12))
        }
    };
    // Inconsistent lengths now and then: grads or state one longer or shorter.
    let (mut g_len, mut s_len) = (len, len);
    match r.u8() {
        250 => g_len += 1,
        251 => g_len = len.saturating_sub(1),
        252 => s_len += 1,
        253 => s_len = len.saturating_sub(1),
        _ => {}
    }
    let offsets = r.u16();
    let (ow, og, os) = (
        (offsets & 15) as usize,
        (offsets >> 4 & 15) as usize,
        (offsets >> 8 & 15) as usize,
    );
    let raw = r.bool();
    let params = r.values(len, raw);
    let grads = r.values(g_len, raw);
    let state = r.values(s_len, raw);

    let (mut want_w, mut want_s) = (params.clone(), state.clone());
    let want = step.reference(&mut want_w, &grads, &mut want_s, centralize);
    if trace() {
        let name = match step {
            Step::Momentum(s) => format!("{s:?}"),
            Step::Sgd(s) => format!("{s:?}"),
        };
        eprintln!(
            "{name}; len {len} (grads {g_len}, state {s_len}), rows {centralize:?}, offsets {ow} {og} {os}, raw {raw}: {want:?}"
        );
    }
    if want.is_err() {
        assert_bits("reference params after error", &want_w, &params);
        assert_bits("reference state after error", &want_s, &state);
    }

    let run = |name: &str, backend: Option<Backend>, expected: Result<(), Error>| {
        let (mut w, g, mut s) = (
            at_offset(&params, ow),
            at_offset(&grads, og),
            at_offset(&state, os),
        );
        let (w1, g1, s1) = (&mut w[ow..], &g[og..], &mut s[os..]);
        let got = match backend {
            Some(b) => step.on(b, w1, g1, s1, centralize),
            None => step.selected(w1, g1, s1, centralize),
        };
        assert_eq!(
            got, expected,
            "{name}: result (len {len}, rows {centralize:?})"
        );
        if expected.is_ok() {
            assert_same(&format!("{name} params"), w1, &want_w);
            assert_same(&format!("{name} state"), s1, &want_s);
        } else {
            assert_bits(&format!("{name} params after error"), w1, &params);
            assert_bits(&format!("{name} state after error"), s1, &state);
        }
        // the offsets in front of the buffers are never written
        assert!(
            w[..ow].iter().chain(&s[..os]).all(|&x| x.to_bits() == 0),
            "{name}: wrote before the buffer"
        );
    };

    for backend in Backend::ALL {
        assert_eq!(
            backend.check(),
            if backend.is_available() {
                Ok(backend)
            } else {
                Err(Error::BackendUnavailable)
            }
        );
        if backend.is_available() {
            run(backend.name(), Some(backend), want);
        } else {
            // a bad call is reported as such before the backend is considered
            let expected = want.and(Err(Error::BackendUnavailable));
            run(backend.name(), Some(backend), expected);
        }
    }
    assert!(Backend::selected().is_available());
    run("selected", None, want);
}
