//! Every kernel path reachable here returns the reference's bits: all lengths up to 3×16+7 (every
//! tail of every width), misaligned slices, random hyper-parameters, special values.

mod common;

use common::first_difference;
use gradstep::hyper::{GradPrep, MomentumStep, SgdStep};
use gradstep::kernel::{self, Path};
use gradstep::{Error, reference};
use proptest::prelude::*;

/// The widest path has 16 lanes; lengths up to 3 × 16 + 7 cover every tail.
const MAX_LEN: usize = 3 * 16 + 7;

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: if cfg!(miri) { 8 } else { 2000 },
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

fn paths() -> Vec<Path> {
    Path::ALL.into_iter().filter(|p| p.is_available()).collect()
}

/// Ordinary values most of the time, the special ones often, and arbitrary bit patterns.
fn value() -> impl Strategy<Value = f32> {
    let special = prop::sample::select(vec![
        0.0,
        -0.0,
        1.0,
        -1.0,
        f32::MIN_POSITIVE,
        -f32::MIN_POSITIVE,
        1e-40,
        -1e-40,
        f32::from_bits(1),
        -f32::from_bits(1),
        f32::INFINITY,
        f32::NEG_INFINITY,
        f32::NAN,
        f32::MAX,
        -f32::MAX,
        3e38,
        -3e38,
        1e20,
    ]);
    prop_oneof![
        6 => -4.0f32..4.0,
        2 => special,
        1 => any::<u32>().prop_map(f32::from_bits),
    ]
}

/// Learning rates: ordinary, zero, tiny (subnormal) and large.
fn learning_rate() -> impl Strategy<Value = f32> {
    prop_oneof![
        4 => 0.0f32..1.0,
        1 => prop::sample::select(vec![0.0, 1e-40, 1e-8, 10.0, 1e30]),
    ]
}

fn grad_prep() -> impl Strategy<Value = GradPrep> {
    let wd = prop_oneof![Just(0.0), 0.0f64..0.1, Just(1e-4), Just(3.0)];
    let scale = prop_oneof![
        Just(1.0),
        prop::sample::select(vec![128.0, 0.5, 3.0, 1024.0, 65536.0]),
        1e-3f64..1e4,
    ];
    (wd, scale).prop_map(|(wd, scale)| GradPrep::new(wd, scale).expect("valid prep"))
}

/// A tensor's buffers, each at its own offset inside a larger vector so that the three are
/// misaligned against each other and against vector alignment.
#[derive(Clone, Debug)]
struct Tensor {
    w: Vec<f32>,
    g: Vec<f32>,
    s: Vec<f32>,
    offsets: [usize; 3],
    len: usize,
    centralize: Option<usize>,
}

impl Tensor {
    fn parts(&mut self) -> (&mut [f32], &[f32], &mut [f32]) {
        let [a, b, c] = self.offsets;
        let n = self.len;
        (
            &mut self.w[a..a + n],
            &self.g[b..b + n],
            &mut self.s[c..c + n],
        )
    }
}

/// Mostly signed zeros and tiny values: rows whose sums hinge on the sign of zero.
fn zero_heavy() -> impl Strategy<Value = f32> {
    prop_oneof![
        4 => prop::sample::select(vec![0.0f32, -0.0]),
        1 => prop::sample::select(vec![f32::from_bits(1), -f32::from_bits(1), 1e-40]),
    ]
}

fn tensor() -> impl Strategy<Value = Tensor> {
    let shape = prop_oneof![
        (0..=MAX_LEN).prop_map(|n| (n, None)),
        (1usize..=4, 0..=MAX_LEN).prop_map(|(rows, cols)| (rows * cols, Some(rows))),
    ];
    // one tensor in five is zero-heavy
    (shape, [0usize..16, 0usize..16, 0usize..16], 0..5).prop_flat_map(
        |((len, centralize), offsets, kind)| {
            let values = if kind == 0 {
                zero_heavy().boxed()
            } else {
                value().boxed()
            };
            let buf = |off: usize| prop::collection::vec(values.clone(), len + off);
            (buf(offsets[0]), buf(offsets[1]), buf(offsets[2])).prop_map(move |(w, g, s)| Tensor {
                w,
                g,
                s,
                offsets,
                len,
                centralize,
            })
        },
    )
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
    fn momentum_every_path_matches_reference(t in tensor(), step in momentum_step()) {
        let mut expected = t.clone();
        let (w, g, s) = expected.parts();
        reference::momentum(w, g, s, t.centralize, &step).unwrap();
        for path in paths() {
            let mut actual = t.clone();
            let (w, g, s) = actual.parts();
            kernel::momentum_on(path, w, g, s, t.centralize, &step).unwrap();
            let (ew, _, es) = expected.parts();
            let (aw, _, as_) = actual.parts();
            prop_assert_eq!(first_difference(aw, ew), None, "params on {:?}", path);
            prop_assert_eq!(first_difference(as_, es), None, "state on {:?}", path);
        }
    }

    #[test]
    fn sgd_every_path_matches_reference(t in tensor(), step in sgd_step()) {
        let mut expected = t.clone();
        let (w, g, s) = expected.parts();
        reference::sgd(w, g, s, t.centralize, &step).unwrap();
        for path in paths() {
            let mut actual = t.clone();
            let (w, g, s) = actual.parts();
            kernel::sgd_on(path, w, g, s, t.centralize, &step).unwrap();
            let (ew, _, es) = expected.parts();
            let (aw, _, as_) = actual.parts();
            prop_assert_eq!(first_difference(aw, ew), None, "params on {:?}", path);
            prop_assert_eq!(first_difference(as_, es), None, "state on {:?}", path);
        }
    }

    /// The selected path, through the entry point users call, is one of them.
    #[test]
    fn default_entry_points_match_reference(t in tensor(), m in momentum_step(), s in sgd_step()) {
        for sgd in [false, true] {
            let (mut expected, mut actual) = (t.clone(), t.clone());
            let ((ew, eg, es), (aw, ag, as_)) = (expected.parts(), actual.parts());
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

    /// Bad lengths and row counts are errors on every path, and nothing is written.
    #[test]
    fn rejected_calls_change_nothing(t in tensor(), step in momentum_step(), cut in 1usize..3, rows in 0usize..7) {
        prop_assume!(t.len > 0);
        for path in Path::ALL {
            let mut a = t.clone();
            let before = a.clone();
            let [o0, o1, o2] = a.offsets;
            let n = a.len;
            // grads one short, state one short, or a row count that does not divide
            let result = match cut {
                1 => kernel::momentum_on(path, &mut a.w[o0..o0 + n], &a.g[o1..o1 + n - 1], &mut a.s[o2..o2 + n], None, &step),
                2 => kernel::momentum_on(path, &mut a.w[o0..o0 + n], &a.g[o1..o1 + n], &mut a.s[o2..o2 + n - 1], None, &step),
                _ => unreachable!(),
            };
            let is_length_error = matches!(result, Err(Error::LengthMismatch { .. }));
            prop_assert!(is_length_error, "{:?}", result);
            if rows == 0 || n % rows != 0 {
                let (w, g, s) = a.parts();
                let r = kernel::momentum_on(path, w, g, s, Some(rows), &step);
                prop_assert_eq!(r, Err(Error::BadRows { len: n, rows }));
            }
            prop_assert_eq!(first_difference(&a.w, &before.w), None);
            prop_assert_eq!(first_difference(&a.s, &before.s), None);
        }
    }
}

#[test]
fn selected_path_is_available_and_reported() {
    let selected = Path::selected();
    assert!(selected.is_available());
    let available: Vec<_> = paths()
        .iter()
        .map(|p| format!("{} ({})", p.name(), p.instruction_set()))
        .collect();
    println!(
        "selected: {}; available: {}",
        selected.name(),
        available.join(", ")
    );
    // The scalar fallback and wide's path exist on every target.
    assert!(Path::Scalar.is_available() && Path::Wide.is_available());
    // CI's cross runs really test the vector backends: NEON under qemu-aarch64, simd128 in node.
    if cfg!(target_arch = "aarch64") {
        assert_eq!(Path::Wide.instruction_set(), "neon");
    }
    if cfg!(target_arch = "wasm32") {
        assert_eq!(
            Path::Wide.instruction_set(),
            "simd128",
            "built without +simd128"
        );
    }
}

#[test]
fn unavailable_paths_are_an_error() {
    let step = MomentumStep::new(0.1, 0.9, false, GradPrep::NONE).unwrap();
    for path in Path::ALL.into_iter().filter(|p| !p.is_available()) {
        let (mut w, g, mut m) = ([1.0f32; 4], [1.0f32; 4], [0.0f32; 4]);
        assert_eq!(
            kernel::momentum_on(path, &mut w, &g, &mut m, None, &step),
            Err(Error::PathUnavailable)
        );
        assert_eq!(w, [1.0; 4]);
    }
}
