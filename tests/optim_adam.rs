//! The Adam and AdamWeightDecay optimizers over parameter groups: state layout and size, steps in
//! parts bit-identical to whole steps (on every backend, `K` = 2 with a tensor MindSpore cuts in
//! two chunks), save and restore with the beta powers, and what restore refuses. Their bits
//! against MindSpore are `conformance.rs`'s.

mod common;

use common::first_difference;
use common::parts::{step_in_parts, values};
use gradstep::lr::schedule::CosineDecayLr;
use gradstep::{
    Adam, AdamSettings, AdamWSettings, AdamWeightDecay, Backend, Buffer, Error, Group, Lr, Param,
    PastEnd, SavedStateProblem, Table, Tensor,
};
use proptest::prelude::*;

/// A 4×6 weight (centralized group 0), a 1003-value embedding and a norm scale (group 1), a 3×4
/// classifier and its bias (group 2).
const TENSORS: [Tensor; 5] = [
    Tensor::matrix(4, 6, 0),
    Tensor::vector(1003, 1),
    Tensor::vector(4, 1),
    Tensor::matrix(3, 4, 2),
    Tensor::vector(3, 2),
];
const LEN: usize = 24 + 1003 + 4 + 12 + 3;

fn grads(step: u32) -> Vec<f32> {
    values(step + 100, LEN, 2.0)
}

fn groups<'a>(table: &'a [f32], schedule: &'a CosineDecayLr) -> [Group<'a>; 3] {
    [
        Group::new(
            Lr::Table(Table::new(table, PastEnd::HoldLast).unwrap()),
            1e-2,
            true,
        )
        .unwrap(),
        Group::new(Lr::new_static(0.05).unwrap(), 0.0, false).unwrap(),
        Group::new(Lr::Schedule(schedule), 1e-3, false).unwrap(),
    ]
}

const TABLE: [f32; 4] = [0.01, 0.009, 0.008, 0.007];

fn schedule() -> CosineDecayLr {
    CosineDecayLr::new(0.001, 0.01, 5).unwrap()
}

/// Adam (Nesterov, loss scale, `K` = 2), AMSGrad, or AdamWeightDecay.
#[derive(Clone, Copy, Debug)]
enum Variant {
    Nesterov,
    Amsgrad,
    AdamW,
}

fn adam_settings(amsgrad: bool) -> AdamSettings {
    AdamSettings::new()
        .with_nesterov(!amsgrad)
        .with_amsgrad(amsgrad)
        .with_loss_scale(128.0)
        .with_threads(2)
}

/// Runs `f` with a fresh optimizer of the variant on `backend` (`$opt` is bound to it).
macro_rules! with_optimizer {
    ($variant:expr, $backend:expr, $table:expr, $schedule:expr, |$opt:ident| $body:expr) => {
        match $variant {
            Variant::Nesterov | Variant::Amsgrad => {
                let s = adam_settings(matches!($variant, Variant::Amsgrad)).with_backend($backend);
                let mut $opt = Adam::new(&TENSORS, groups($table, $schedule), s).unwrap();
                $body
            }
            Variant::AdamW => {
                let s = AdamWSettings::new().with_backend($backend);
                let mut $opt =
                    AdamWeightDecay::new(&TENSORS, groups($table, $schedule), s).unwrap();
                $body
            }
        }
    };
}

#[test]
fn state_is_two_or_three_buffers_back_to_back() {
    let schedule = schedule();
    for (variant, buffers) in [
        (Variant::Nesterov, 2),
        (Variant::Amsgrad, 3),
        (Variant::AdamW, 2),
    ] {
        with_optimizer!(variant, Backend::selected(), &TABLE, &schedule, |opt| {
            assert_eq!(opt.state_len(), buffers * LEN, "{variant:?}");
            assert_eq!(opt.rule().state_buffers(), buffers);
            let (mut w, g) = (values(1, LEN, 1.0), grads(0));
            let mut short = vec![0.0; buffers * LEN - 1];
            assert_eq!(
                opt.step(&mut w, &g, &mut short),
                Err(Error::LengthMismatch {
                    buffer: Buffer::State,
                    expected: buffers * LEN,
                    actual: buffers * LEN - 1
                })
            );
            assert_eq!(opt.global_step(), 0);
        });
    }
    use gradstep::Rule;
}

#[test]
fn settings_are_validated() {
    let one = || [Group::new(Lr::new_static(0.1).unwrap(), 0.0, false).unwrap()];
    let t = [Tensor::vector(3, 0)];
    let adam = |s| Adam::new(&t, one(), s).map(|_| ()).unwrap_err();
    let s = AdamSettings::new();
    assert_eq!(adam(s.with_threads(0)), Error::NotPositive(Param::Threads));
    assert_eq!(
        adam(s.with_amsgrad(true).with_nesterov(true)),
        Error::AmsgradWithNesterov
    );
    assert_eq!(
        adam(s.with_betas(0.9, 1.0)),
        Error::OutOfRange(Param::Beta2)
    );
    assert_eq!(adam(s.with_eps(f64::NAN)), Error::NotFinite(Param::Eps));
    assert_eq!(
        adam(s.with_loss_scale(f64::INFINITY)),
        Error::NotFinite(Param::LossScale)
    );
    let adamw = |s| AdamWeightDecay::new(&t, one(), s).map(|_| ()).unwrap_err();
    assert_eq!(
        adamw(AdamWSettings::new().with_eps(-1.0)),
        Error::NotPositive(Param::Eps)
    );
}

/// The beta powers advance once per completed step, by `f32` multiplication, from 1.
#[test]
fn beta_powers_advance_per_step() {
    let schedule = schedule();
    let s = adam_settings(false);
    let mut opt = Adam::new(&TENSORS, groups(&TABLE, &schedule), s).unwrap();
    assert_eq!(opt.rule().powers(), [1.0, 1.0]);
    let (mut w, mut st) = (values(2, LEN, 1.0), vec![0.0; opt.state_len()]);
    let b = *opt.rule().betas();
    let (mut p1, mut p2) = (1.0f32, 1.0f32);
    for k in 0..5 {
        opt.step(&mut w, &grads(k), &mut st).unwrap();
        (p1, p2) = (p1 * b.beta1(), p2 * b.beta2());
        assert_eq!(
            opt.rule().powers().map(f32::to_bits),
            [p1.to_bits(), p2.to_bits()]
        );
    }
    // a failed step does not advance them
    assert!(opt.step(&mut w, &grads(0)[1..], &mut st).is_err());
    assert_eq!(opt.rule().powers(), [p1, p2]);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: if cfg!(miri) { 2 } else { 40 }, failure_persistence: None, ..ProptestConfig::default() })]

    /// Any split of the tensors into parts, taken in any order, gives the whole step's bits —
    /// on every kernel backend, for every variant.
    #[test]
    fn steps_in_parts_equal_whole_steps(cuts in prop::collection::btree_set(0usize..=5, 0..5), reverse in any::<bool>(), steps in 1u32..4) {
        let schedule = schedule();
        let cuts: Vec<usize> = cuts.into_iter().collect();
        for backend in Backend::ALL.into_iter().filter(|p| p.is_available()) {
            for variant in [Variant::Nesterov, Variant::Amsgrad, Variant::AdamW] {
                let (w, s) = with_optimizer!(variant, backend, &TABLE, &schedule, |whole| {
                    let (mut w, mut s) = (values(11, LEN, 1.0), vec![0.0; whole.state_len()]);
                    for k in 0..steps {
                        whole.step(&mut w, &grads(k), &mut s).unwrap();
                    }
                    (w, s)
                });
                let (w2, s2) = with_optimizer!(variant, backend, &TABLE, &schedule, |sharded| {
                    let (mut w, mut s) = (values(11, LEN, 1.0), vec![0.0; sharded.state_len()]);
                    step_in_parts(&mut sharded, &cuts, reverse, steps, grads, &mut w, &mut s);
                    (w, s)
                });
                prop_assert_eq!(first_difference(&w2, &w), None, "{:?} {:?} {:?}", variant, backend, cuts);
                prop_assert_eq!(first_difference(&s2, &s), None);
            }
        }
    }
}

/// Stopping after `k` steps, saving, restoring into a fresh optimizer and going on gives the
/// uninterrupted run's bits: parameters, every state buffer and the beta powers.
#[test]
fn save_and_restore_resume_bit_for_bit() {
    let schedule = schedule();
    let (n, k) = (8, 3);
    for variant in [Variant::Nesterov, Variant::Amsgrad, Variant::AdamW] {
        let backend = Backend::selected();
        let (w, s) = with_optimizer!(variant, backend, &TABLE, &schedule, |whole| {
            let (mut w, mut s) = (values(7, LEN, 1.0), vec![0.0; whole.state_len()]);
            for step in 0..n {
                whole.step(&mut w, &grads(step), &mut s).unwrap();
            }
            (w, s)
        });
        let (mut w2, s2, bytes) = with_optimizer!(variant, backend, &TABLE, &schedule, |first| {
            let (mut w, mut s) = (values(7, LEN, 1.0), vec![0.0; first.state_len()]);
            for step in 0..k {
                first.step(&mut w, &grads(step), &mut s).unwrap();
            }
            let mut bytes = vec![0u8; first.saved_len()];
            assert_eq!(first.save(&s, &mut bytes), Ok(bytes.len()));
            (w, s, bytes)
        });
        let s3 = with_optimizer!(variant, backend, &TABLE, &schedule, |second| {
            let mut s3 = vec![f32::NAN; second.state_len()];
            second.restore(&bytes, &mut s3).unwrap();
            assert_eq!(first_difference(&s3, &s2), None);
            assert_eq!(second.global_step(), k);
            for step in k..n {
                second.step(&mut w2, &grads(step), &mut s3).unwrap();
            }
            s3
        });
        assert_eq!(first_difference(&w2, &w), None, "{variant:?}");
        assert_eq!(first_difference(&s3, &s), None, "{variant:?}");
    }
}

/// Restore refuses the state of another rule, another buffer count, and beta powers no optimizer
/// can hold, and changes nothing.
#[test]
fn restore_refuses_what_it_cannot_use() {
    let schedule = schedule();
    let saved = |variant| {
        with_optimizer!(variant, Backend::Scalar, &TABLE, &schedule, |opt| {
            let (mut w, mut s) = (values(3, LEN, 1.0), vec![0.0; opt.state_len()]);
            opt.step(&mut w, &grads(0), &mut s).unwrap();
            let mut bytes = vec![0u8; opt.saved_len()];
            opt.save(&s, &mut bytes).unwrap();
            bytes
        })
    };
    let (plain, amsgrad, adamw) = (
        saved(Variant::Nesterov),
        saved(Variant::Amsgrad),
        saved(Variant::AdamW),
    );
    // the scalars (beta powers, bytes 24..32) changed to 1.5, with a checksum made to fit
    let mut damaged = plain.clone();
    damaged[24..28].copy_from_slice(&1.5f32.to_bits().to_le_bytes());
    let n = damaged.len() - 4;
    let sum = damaged[..n].iter().fold(0x811c_9dc5u32, |h, &x| {
        (h ^ x as u32).wrapping_mul(0x0100_0193)
    });
    damaged[n..].copy_from_slice(&sum.to_le_bytes());
    use SavedStateProblem::*;
    let cases = [
        (Variant::Nesterov, &adamw, Optimizer),
        (Variant::AdamW, &plain, Optimizer),
        (Variant::Nesterov, &amsgrad, Length),
        (Variant::Amsgrad, &plain, Length),
        (Variant::Nesterov, &damaged, Scalars),
    ];
    for (variant, bytes, problem) in cases {
        with_optimizer!(variant, Backend::Scalar, &TABLE, &schedule, |opt| {
            let mut s = vec![7.0f32; opt.state_len()];
            assert_eq!(
                opt.restore(bytes, &mut s),
                Err(Error::SavedState(problem)),
                "{variant:?}"
            );
            assert!(s.iter().all(|&v| v == 7.0));
            assert_eq!(opt.global_step(), 0);
        });
    }
}
