//! Every kernel backend reachable here returns the reference's bits: all lengths up to 3×16+7
//! (every tail of every width), misaligned slices, random hyper-parameters, special values.
//!
//! `GRADSTEP_EXPECT_UNAVAILABLE=avx2,avx512` (CI runs this file under `qemu-x86_64 -cpu
//! Westmere`, a CPU without them, and `-cpu Haswell,-fma`, one with AVX2 but no FMA3, with
//! `GRADSTEP_EXPECT_AVX2_WITHOUT_FMA=1`) makes the tests assert that those backends are unavailable
//! and refused, and that the selected one is `wide`'s SSE2.

mod common;

use std::num::NonZeroUsize;

use common::first_difference;
use common::strategy::{self, backends, config, grad_prep, learning_rate, short_shape, tensor_of};
use gradstep::hyper::{GradPrep, MomentumStep, SgdStep};
use gradstep::kernel::{self, Backend};
use gradstep::{Error, reference};
use proptest::prelude::*;

type Tensor = strategy::Tensor<1>;

fn tensor() -> impl Strategy<Value = Tensor> {
    tensor_of(short_shape())
}

fn momentum_step() -> impl Strategy<Value = MomentumStep> {
    let mu = prop_oneof![Just(0.0), Just(0.9), 0.0f64..1.5];
    (learning_rate(), mu, any::<bool>(), grad_prep()).prop_map(|(lr, mu, nesterov, prep)| {
        MomentumStep::new(lr, mu, nesterov, prep).expect("valid step")
    })
}

fn sgd_step() -> impl Strategy<Value = SgdStep> {
    let mu = prop_oneof![Just(0.0), Just(0.9), 0.0f64..1.5];
    let damp = prop_oneof![Just(0.0), Just(0.2), 0.0f64..1.0];
    (
        learning_rate(),
        mu,
        damp,
        any::<bool>(),
        any::<bool>(),
        grad_prep(),
    )
        .prop_map(|(lr, mu, damp, nesterov, first, prep)| {
            // MindSpore's rule: Nesterov needs momentum > 0 and no dampening.
            let nesterov = nesterov && mu > 0.0;
            let damp = if nesterov { 0.0 } else { damp };
            SgdStep::new(lr, mu, damp, nesterov, prep)
                .expect("valid step")
                .first_step(first)
        })
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn momentum_every_backend_matches_reference(t in tensor(), step in momentum_step()) {
        let mut expected = t.clone();
        let (w, g, [s]) = expected.parts();
        reference::momentum(w, g, s, t.centralize, &step).unwrap();
        for backend in backends() {
            let mut actual = t.clone();
            let (w, g, [s]) = actual.parts();
            kernel::momentum_on(backend, w, g, s, t.centralize, &step).unwrap();
            let (ew, _, [es]) = expected.parts();
            let (aw, _, [as_]) = actual.parts();
            prop_assert_eq!(first_difference(aw, ew), None, "params on {:?}", backend);
            prop_assert_eq!(first_difference(as_, es), None, "state on {:?}", backend);
        }
    }

    #[test]
    fn sgd_every_backend_matches_reference(t in tensor(), step in sgd_step()) {
        let mut expected = t.clone();
        let (w, g, [s]) = expected.parts();
        reference::sgd(w, g, s, t.centralize, &step).unwrap();
        for backend in backends() {
            let mut actual = t.clone();
            let (w, g, [s]) = actual.parts();
            kernel::sgd_on(backend, w, g, s, t.centralize, &step).unwrap();
            let (ew, _, [es]) = expected.parts();
            let (aw, _, [as_]) = actual.parts();
            prop_assert_eq!(first_difference(aw, ew), None, "params on {:?}", backend);
            prop_assert_eq!(first_difference(as_, es), None, "state on {:?}", backend);
        }
    }

    /// The selected backend, through the entry point users call, is one of them.
    #[test]
    fn default_entry_points_match_reference(t in tensor(), m in momentum_step(), s in sgd_step()) {
        for sgd in [false, true] {
            let (mut expected, mut actual) = (t.clone(), t.clone());
            let ((ew, eg, [es]), (aw, ag, [as_])) = (expected.parts(), actual.parts());
            if sgd {
                reference::sgd(ew, eg, es, t.centralize, &s).unwrap();
                kernel::sgd(aw, ag, as_, t.centralize, &s).unwrap();
            } else {
                reference::momentum(ew, eg, es, t.centralize, &m).unwrap();
                kernel::momentum(aw, ag, as_, t.centralize, &m).unwrap();
            }
            prop_assert_eq!(first_difference(aw, ew), None);
            prop_assert_eq!(first_difference(as_, es), None);
        }
    }

    /// Bad lengths and row counts are errors on every backend, and nothing is written.
    #[test]
    fn rejected_calls_change_nothing(t in tensor(), step in momentum_step(), cut in 1usize..3, rows in 1usize..7) {
        prop_assume!(t.len > 0);
        for backend in Backend::ALL {
            let mut a = t.clone();
            let before = a.clone();
            let ([o0, o1], [o2], n) = (a.offsets, a.state_offsets, a.len);
            // grads one short, state one short, or a row count that does not divide
            let result = match cut {
                1 => kernel::momentum_on(backend, &mut a.w[o0..o0 + n], &a.g[o1..o1 + n - 1], &mut a.s[0][o2..o2 + n], None, &step),
                2 => kernel::momentum_on(backend, &mut a.w[o0..o0 + n], &a.g[o1..o1 + n], &mut a.s[0][o2..o2 + n - 1], None, &step),
                _ => unreachable!(),
            };
            let is_length_error = matches!(result, Err(Error::LengthMismatch { .. }));
            prop_assert!(is_length_error, "{:?}", result);
            if n % rows != 0 {
                let (w, g, [s]) = a.parts();
                let r = kernel::momentum_on(backend, w, g, s, NonZeroUsize::new(rows), &step);
                prop_assert_eq!(r, Err(Error::BadRows { len: n, rows }));
            }
            prop_assert_eq!(first_difference(&a.w, &before.w), None);
            prop_assert_eq!(first_difference(&a.s[0], &before.s[0]), None);
        }
    }
}

/// The backends `GRADSTEP_EXPECT_UNAVAILABLE` names (comma-separated), which must be unavailable
/// on this CPU.
fn expected_unavailable() -> Vec<Backend> {
    let names = std::env::var("GRADSTEP_EXPECT_UNAVAILABLE").unwrap_or_default();
    names
        .split(',')
        .filter(|n| !n.is_empty())
        .map(|n| {
            *Backend::ALL
                .iter()
                .find(|b| b.name() == n)
                .unwrap_or_else(|| panic!("GRADSTEP_EXPECT_UNAVAILABLE: unknown backend {n}"))
        })
        .collect()
}

#[test]
fn selected_backend_is_available_and_reported() {
    let selected = Backend::selected();
    assert!(selected.is_available());
    let available: Vec<_> = backends()
        .iter()
        .map(|p| format!("{} ({})", p.name(), p.instruction_set()))
        .collect();
    println!(
        "selected: {}; available: {}",
        selected.name(),
        available.join(", ")
    );
    // The scalar fallback and wide's backend exist on every target.
    assert!(Backend::Scalar.is_available() && Backend::Wide.is_available());
    // CI's cross runs really test the vector backends: NEON under qemu-aarch64, simd128 in node,
    // SSE2 alone under qemu-x86_64 with an old CPU.
    if cfg!(target_arch = "aarch64") {
        assert_eq!(Backend::Wide.instruction_set(), "neon");
    }
    if cfg!(target_arch = "wasm32") {
        assert_eq!(
            Backend::Wide.instruction_set(),
            "simd128",
            "built without +simd128"
        );
    }
    let unavailable = expected_unavailable();
    for b in &unavailable {
        assert!(!b.is_available(), "{b:?} is available here");
    }
    if unavailable.contains(&Backend::Avx2) {
        assert_eq!(selected, Backend::Wide);
    }
    // CI's run under `qemu-x86_64 -cpu Haswell,-fma`: the CPU has AVX2 and no FMA3, so the AVX2
    // backend is refused for want of FMA3 alone
    #[cfg(target_arch = "x86_64")]
    if std::env::var_os("GRADSTEP_EXPECT_AVX2_WITHOUT_FMA").is_some() {
        assert!(std::is_x86_feature_detected!("avx2") && !std::is_x86_feature_detected!("fma"));
        assert!(!Backend::Avx2.is_available());
    }
}

/// Unavailable backends are refused, with nothing written, and the tested set is the expected
/// one (on a CPU that has every backend, `GRADSTEP_EXPECT_UNAVAILABLE` is empty and so is this
/// set; CI also runs this test on one that lacks some).
#[test]
fn unavailable_backends_are_an_error() {
    let step = MomentumStep::new(0.1, 0.9, false, GradPrep::NONE).unwrap();
    let mut refused = vec![];
    for backend in Backend::ALL {
        let (mut w, g, mut m) = ([1.0f32; 4], [1.0f32; 4], [0.0f32; 4]);
        let r = kernel::momentum_on(backend, &mut w, &g, &mut m, None, &step);
        if backend.is_available() {
            assert_eq!(r, Ok(()));
            assert_ne!(w, [1.0; 4]);
        } else {
            assert_eq!(r, Err(Error::BackendUnavailable));
            assert_eq!(backend.check(), Err(Error::BackendUnavailable));
            assert_eq!((w, m), ([1.0; 4], [0.0; 4]));
            refused.push(backend);
        }
    }
    let mut expected = expected_unavailable();
    if !cfg!(target_arch = "x86_64") {
        expected.extend([Backend::Avx2, Backend::Avx512]);
    }
    for b in &expected {
        assert!(refused.contains(b), "{b:?} was not refused");
    }
    println!("refused: {refused:?}");
}
