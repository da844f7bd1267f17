//! Proptest strategies shared by the kernel tests: values with every special case, learning
//! rates, gradient preparations, and tensors whose buffers are misaligned against each other.

use std::num::NonZeroUsize;

use gradstep::Backend;
use gradstep::hyper::GradPrep;
use proptest::prelude::*;

/// The widest backend has 16 lanes; lengths up to 3 × 16 + 7 cover every tail.
pub const MAX_LEN: usize = 3 * 16 + 7;

/// 2000 cases (8 under Miri).
pub fn config() -> ProptestConfig {
    cases(2000)
}

/// `n` cases (8 under Miri), no persistence file.
pub fn cases(n: u32) -> ProptestConfig {
    ProptestConfig {
        cases: if cfg!(miri) { 8 } else { n },
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// The backends that can run here.
pub fn backends() -> Vec<Backend> {
    Backend::ALL
        .into_iter()
        .filter(|p| p.is_available())
        .collect()
}

/// Ordinary values most of the time, the special ones often, and arbitrary bit patterns.
pub fn value() -> impl Strategy<Value = f32> {
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

/// Mostly signed zeros and tiny values: rows whose sums hinge on the sign of zero.
pub fn zero_heavy() -> impl Strategy<Value = f32> {
    prop_oneof![
        4 => prop::sample::select(vec![0.0f32, -0.0]),
        1 => prop::sample::select(vec![f32::from_bits(1), -f32::from_bits(1), 1e-40]),
    ]
}

/// Learning rates: ordinary, zero, tiny (subnormal) and large.
pub fn learning_rate() -> impl Strategy<Value = f32> {
    prop_oneof![
        4 => 0.0f32..1.0,
        1 => prop::sample::select(vec![0.0, 1e-40, 1e-8, 10.0, 1e30]),
    ]
}

/// Coupled weight decay and loss scale, each often off.
pub fn grad_prep() -> impl Strategy<Value = GradPrep> {
    let wd = prop_oneof![Just(0.0), 0.0f64..0.1, Just(1e-4), Just(3.0)];
    let scale = prop_oneof![
        Just(1.0),
        prop::sample::select(vec![128.0, 0.5, 3.0, 1024.0, 65536.0]),
        1e-3f64..1e4,
    ];
    (wd, scale).prop_map(|(wd, scale)| GradPrep::new(wd, scale).expect("valid prep"))
}

/// A tensor's parameters, gradients and `S` state buffers, each at its own offset inside a
/// larger vector so that they are misaligned against each other and against vector alignment.
#[derive(Clone, Debug)]
pub struct Tensor<const S: usize> {
    pub w: Vec<f32>,
    pub g: Vec<f32>,
    pub s: [Vec<f32>; S],
    pub offsets: [usize; 2],
    pub state_offsets: [usize; S],
    pub len: usize,
    pub centralize: Option<NonZeroUsize>,
}

impl<const S: usize> Tensor<S> {
    /// The parameters, the gradients and the state buffers, each `len` long.
    pub fn parts(&mut self) -> (&mut [f32], &[f32], [&mut [f32]; S]) {
        let ([a, b], n) = (self.offsets, self.len);
        let offsets = self.state_offsets;
        let mut states = self.s.iter_mut().zip(offsets);
        let states = std::array::from_fn(|_| {
            let (s, o) = states.next().unwrap();
            &mut s[o..o + n]
        });
        (&mut self.w[a..a + n], &self.g[b..b + n], states)
    }
}

/// Tensors of `shape`'s `(len, rows)`, one in five zero-heavy, with `S` state buffers.
pub fn tensor_of<const S: usize>(
    shape: impl Strategy<Value = (usize, Option<NonZeroUsize>)>,
) -> impl Strategy<Value = Tensor<S>> {
    (
        shape,
        [0usize..16, 0usize..16],
        [(); S].map(|_| 0usize..16),
        0..5,
    )
        .prop_flat_map(|((len, centralize), offsets, state_offsets, kind)| {
            let values = if kind == 0 {
                zero_heavy().boxed()
            } else {
                value().boxed()
            };
            let buf = |off: usize| prop::collection::vec(values.clone(), len + off);
            let states = state_offsets.map(buf);
            (buf(offsets[0]), buf(offsets[1]), states).prop_map(move |(w, g, s)| Tensor {
                w,
                g,
                s,
                offsets,
                state_offsets,
                len,
                centralize,
            })
        })
}

/// Lengths up to [`MAX_LEN`], or a few rows of up to `MAX_LEN` columns to centralize.
pub fn short_shape() -> impl Strategy<Value = (usize, Option<NonZeroUsize>)> {
    prop_oneof![
        (0..=MAX_LEN).prop_map(|n| (n, None)),
        (1usize..=4, 0..=MAX_LEN).prop_map(|(rows, cols)| (rows * cols, NonZeroUsize::new(rows))),
    ]
}
