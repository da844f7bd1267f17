//! Every Adam, AMSGrad and AdamWeightDecay backend reachable here returns the reference's bits:
//! every tail and misalignment of every width, MindSpore's work split for `K` = 1 … 4 kernel
//! threads on tensors that cross its chunk boundaries, special values, rows to centralize.
//! The reference itself is checked against MindSpore in `conformance.rs`.

mod common;

use std::num::{NonZeroU32, NonZeroUsize};

use common::first_difference;
use common::strategy::{
    self, backends, cases, config, grad_prep, learning_rate, short_shape, tensor_of,
};
use gradstep::hyper::{AdamStep, AdamWStep, Betas, GradPrep};
use gradstep::kernel::{self, Backend};
use gradstep::{Error, reference};
use proptest::prelude::*;

/// Parameters, gradients, `m`, `v` and `v̂`.
type Tensor = strategy::Tensor<3>;

/// Second moments are squares: mostly non-negative (a negative one makes the update NaN, which
/// would hide every other difference), sometimes anything.
fn with_moments(mut t: Tensor, any_sign: bool) -> Tensor {
    if !any_sign {
        let [_, v, vh] = &mut t.s;
        for x in v.iter_mut().chain(vh.iter_mut()) {
            *x = x.abs();
        }
    }
    t
}

fn short_tensor() -> impl Strategy<Value = Tensor> {
    (tensor_of(short_shape()), prop::bool::weighted(0.2)).prop_map(|(t, a)| with_moments(t, a))
}

/// Tensors around MindSpore's chunks (§3 of `docs/SEMANTICS-ADAM.md`): 990 … 2200 elements, cut
/// in two or three chunks for `K` ≥ 2, sometimes in rows that end inside a chunk.
fn long_tensor() -> impl Strategy<Value = Tensor> {
    let shape = prop_oneof![
        (990usize..=2200).prop_map(|n| (n, None)),
        (1usize..=3, 330usize..=733)
            .prop_map(|(rows, cols)| (rows * cols, NonZeroUsize::new(rows))),
    ];
    tensor_of(shape).prop_map(|t| with_moments(t, false))
}

fn betas() -> impl Strategy<Value = Betas> {
    let beta1 = prop_oneof![Just(0.9), Just(0.5), Just(0.99), 1e-3f64..0.999];
    let beta2 = prop_oneof![Just(0.999), Just(0.6), Just(0.9999), 1e-3f64..0.99999];
    let eps = prop_oneof![Just(1e-8), Just(1e-6), Just(1e-3), 1e-12f64..1.0];
    (beta1, beta2, eps).prop_map(|(b1, b2, e)| Betas::new(b1, b2, e).expect("valid betas"))
}

/// The beta powers of step `k`, `F(β)^(k+1)` by repeated `f32` multiplication as the optimizer
/// keeps them; `k` up to 200, where some underflow.
fn powers_at(b: &Betas, k: u32) -> (f32, f32) {
    let (mut p1, mut p2) = (b.beta1(), b.beta2());
    for _ in 0..k {
        (p1, p2) = (p1 * b.beta1(), p2 * b.beta2());
    }
    (p1, p2)
}

fn adam_step() -> impl Strategy<Value = AdamStep> {
    let variant = prop_oneof![
        Just((false, false)),
        Just((true, false)),
        Just((false, true))
    ];
    (
        learning_rate(),
        betas(),
        variant,
        grad_prep(),
        0u32..200,
        1u32..=4,
    )
        .prop_map(|(lr, b, (nesterov, amsgrad), prep, k, threads)| {
            let (p1, p2) = powers_at(&b, k);
            AdamStep::new(lr, b, nesterov, amsgrad, prep)
                .and_then(|s| s.with_powers(p1, p2))
                .expect("valid step")
                .with_threads(NonZeroU32::new(threads).unwrap())
        })
}

fn adamw_step() -> impl Strategy<Value = AdamWStep> {
    let wd = prop_oneof![Just(0.0), Just(0.01), 0.0f64..0.5];
    (learning_rate(), betas(), wd)
        .prop_map(|(lr, b, wd)| AdamWStep::new(lr, b, wd).expect("valid step"))
}

/// The `v̂` slice a call takes: the buffer with AMSGrad, empty without.
fn vhat<'a>(vh: &'a mut [f32], step: &AdamStep) -> &'a mut [f32] {
    if step.amsgrad() { vh } else { &mut [] }
}

/// Runs Adam on every backend and compares all buffers with the reference's.
fn adam_matches(t: &Tensor, step: &AdamStep) -> Result<(), TestCaseError> {
    let mut expected = t.clone();
    let (w, g, [m, v, vh]) = expected.parts();
    reference::adam(w, g, m, v, vhat(vh, step), t.centralize, step).unwrap();
    for backend in backends() {
        let mut actual = t.clone();
        let (w, g, [m, v, vh]) = actual.parts();
        kernel::adam_on(backend, w, g, m, v, vhat(vh, step), t.centralize, step).unwrap();
        prop_assert_eq!(
            first_difference(&actual.w, &expected.w),
            None,
            "params on {:?}",
            backend
        );
        for i in 0..3 {
            prop_assert_eq!(
                first_difference(&actual.s[i], &expected.s[i]),
                None,
                "state {} on {:?}",
                i,
                backend
            );
        }
    }
    Ok(())
}

fn adamw_matches(t: &Tensor, step: &AdamWStep) -> Result<(), TestCaseError> {
    let mut expected = t.clone();
    let (w, g, [m, v, _]) = expected.parts();
    reference::adamw(w, g, m, v, t.centralize, step).unwrap();
    for backend in backends() {
        let mut actual = t.clone();
        let (w, g, [m, v, _]) = actual.parts();
        kernel::adamw_on(backend, w, g, m, v, t.centralize, step).unwrap();
        prop_assert_eq!(
            first_difference(&actual.w, &expected.w),
            None,
            "params on {:?}",
            backend
        );
        for i in 0..2 {
            prop_assert_eq!(
                first_difference(&actual.s[i], &expected.s[i]),
                None,
                "state {} on {:?}",
                i,
                backend
            );
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn adam_every_backend_matches_reference(t in short_tensor(), step in adam_step()) {
        adam_matches(&t, &step)?;
    }

    #[test]
    fn adamw_every_backend_matches_reference(t in short_tensor(), step in adamw_step()) {
        adamw_matches(&t, &step)?;
    }

    /// The selected backend, through the entry points users call, is one of them.
    #[test]
    fn default_entry_points_match_reference(t in short_tensor(), a in adam_step(), w in adamw_step()) {
        let (mut expected, mut actual) = (t.clone(), t.clone());
        let ((ew, eg, [em, ev, eh]), (aw, ag, [am, av, ah])) = (expected.parts(), actual.parts());
        reference::adam(ew, eg, em, ev, vhat(eh, &a), t.centralize, &a).unwrap();
        kernel::adam(aw, ag, am, av, vhat(ah, &a), t.centralize, &a).unwrap();
        reference::adamw(ew, eg, em, ev, t.centralize, &w).unwrap();
        kernel::adamw(aw, ag, am, av, t.centralize, &w).unwrap();
        prop_assert_eq!(first_difference(&actual.w, &expected.w), None);
        for i in 0..3 {
            prop_assert_eq!(first_difference(&actual.s[i], &expected.s[i]), None);
        }
    }
}

// Not under Miri: a long tensor runs the same unsafe loops as the short ones, only longer (50 min
// under Miri for 8 cases); what it adds is MindSpore's chunk arithmetic, safe code that the native
// runs check on every target.
proptest! {
    #![proptest_config(cases(150))]

    #[test]
    #[cfg_attr(miri, ignore)]
    fn adam_long_tensors_split_as_mindspore(t in long_tensor(), step in adam_step()) {
        adam_matches(&t, &step)?;
    }

    #[test]
    #[cfg_attr(miri, ignore)]
    fn adamw_long_tensors(t in long_tensor(), step in adamw_step()) {
        adamw_matches(&t, &step)?;
    }

    /// `K` matters only where MindSpore cuts a tensor in several chunks: above 1000 elements.
    /// (The reference alone, safe code: not under Miri.)
    #[test]
    #[cfg_attr(miri, ignore)]
    fn threads_matter_only_above_1000_elements(t in short_tensor(), step in adam_step()) {
        let one = step.with_threads(NonZeroU32::MIN);
        let (mut a, mut b) = (t.clone(), t.clone());
        let ((aw, ag, [am, av, ah]), (bw, bg, [bm, bv, bh])) = (a.parts(), b.parts());
        reference::adam(aw, ag, am, av, vhat(ah, &step), t.centralize, &step).unwrap();
        reference::adam(bw, bg, bm, bv, vhat(bh, &one), t.centralize, &one).unwrap();
        prop_assert_eq!(first_difference(&a.w, &b.w), None);
    }

    /// Bad lengths and row counts are errors on every backend (checked before the backend),
    /// and nothing is written.
    #[test]
    fn rejected_calls_change_nothing(t in short_tensor(), step in adam_step(), which in 0usize..5, rows in 2usize..7) {
        prop_assume!(t.len > 0);
        let n = t.len;
        // buffer `which` one short (`v̂`: one long without AMSGrad, one short with it)
        let len = |i: usize| n - usize::from(which == i);
        let vh_len = if step.amsgrad() { len(4) } else { usize::from(which == 4) };
        let adamw = AdamWStep::new(0.1, *step.betas(), 0.0).unwrap();
        for backend in Backend::ALL {
            let mut a = t.clone();
            let (w, g, [m, v, vh]) = a.parts();
            let r = kernel::adam_on(backend, &mut w[..len(0)], &g[..len(1)], &mut m[..len(2)], &mut v[..len(3)], &mut vh[..vh_len], None, &step);
            prop_assert!(matches!(r, Err(Error::LengthMismatch { .. })), "{:?}", r);
            if which < 4 {
                let r = kernel::adamw_on(backend, &mut w[..len(0)], &g[..len(1)], &mut m[..len(2)], &mut v[..len(3)], None, &adamw);
                prop_assert!(matches!(r, Err(Error::LengthMismatch { .. })), "{:?}", r);
            }
            if n % rows != 0 {
                let bad_rows = NonZeroUsize::new(rows);
                let r = kernel::adam_on(backend, w, g, m, v, vhat(vh, &step), bad_rows, &step);
                prop_assert_eq!(r, Err(Error::BadRows { len: n, rows }));
                let r = kernel::adamw_on(backend, w, g, m, v, bad_rows, &adamw);
                prop_assert_eq!(r, Err(Error::BadRows { len: n, rows }));
            }
            prop_assert_eq!(first_difference(&a.w, &t.w), None);
            for i in 0..3 {
                prop_assert_eq!(first_difference(&a.s[i], &t.s[i]), None);
            }
        }
    }
}

#[test]
fn amsgrad_with_nesterov_is_refused() {
    let b = Betas::new(0.9, 0.999, 1e-8).unwrap();
    assert_eq!(
        AdamStep::new(0.1, b, true, true, GradPrep::NONE),
        Err(Error::AmsgradWithNesterov)
    );
}

#[test]
fn out_of_range_hyperparameters_are_refused() {
    use gradstep::Param;
    for beta in [0.0, 1.0, -0.1, 1.5, f64::NAN, f64::INFINITY, 1.0 - 1e-12] {
        assert_eq!(
            Betas::new(beta, 0.999, 1e-8),
            Err(Error::OutOfRange(Param::Beta1)),
            "{beta}"
        );
        assert_eq!(
            Betas::new(0.9, beta, 1e-8),
            Err(Error::OutOfRange(Param::Beta2)),
            "{beta}"
        );
    }
    for eps in [0.0, -0.0, -1.0, 1e-50] {
        assert_eq!(
            Betas::new(0.9, 0.999, eps),
            Err(Error::NotPositive(Param::Eps)),
            "{eps}"
        );
    }
    let b = Betas::new(0.9, 0.999, 1e-8).unwrap();
    let step = AdamStep::new(0.1, b, false, false, GradPrep::NONE).unwrap();
    for p in [1.0, -0.1, f32::NAN, 2.0] {
        assert_eq!(
            step.with_powers(p, 0.5),
            Err(Error::OutOfRange(Param::Beta1Power))
        );
        assert_eq!(
            step.with_powers(0.5, p),
            Err(Error::OutOfRange(Param::Beta2Power))
        );
    }
    assert_eq!(
        AdamWStep::new(0.1, b, -0.1),
        Err(Error::Negative(Param::WeightDecay))
    );
}
