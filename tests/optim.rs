//! The optimizers over parameter groups: layout and group validation, all-or-nothing steps,
//! learning-rate access, save and restore, and steps in parts — each against the whole step,
//! bit for bit.
//!
//! One file over 600 lines: these tests share one model and its fixtures (`TENSORS`, `groups`,
//! `grads`), and splitting them would copy those.

mod common;

use std::num::NonZeroUsize;

use common::first_difference;
use common::parts::{parts, step_in_parts, values};
use gradstep::lr::schedule::CosineDecayLr;
use gradstep::{
    Backend, Buffer, Error, Group, Lr, Momentum, MomentumSettings, Param, PastEnd,
    SavedStateProblem, Sgd, SgdSettings, Table, Tensor,
};
use proptest::prelude::*;

/// A small model: a 4×6 weight (centralized group 0), a bias and a norm scale (group 1), a 3×4
/// classifier weight and its bias (group 2).
const TENSORS: [Tensor; 5] = [
    Tensor::matrix(4, 6, 0),
    Tensor::vector(4, 1),
    Tensor::vector(4, 1),
    Tensor::matrix(3, 4, 2),
    Tensor::vector(3, 2),
];
const LEN: usize = 24 + 4 + 4 + 12 + 3;

fn grads(step: u32) -> Vec<f32> {
    values(step + 100, LEN, 2.0)
}

fn groups<'a>(table: &'a [f32], schedule: &'a CosineDecayLr) -> [Group<'a>; 3] {
    [
        Group::new(
            Lr::Table(Table::new(table, PastEnd::HoldLast).unwrap()),
            1e-4,
            true,
        )
        .unwrap(),
        Group::new(Lr::new_static(0.05).unwrap(), 0.0, false).unwrap(),
        Group::new(Lr::Schedule(schedule), 1e-5, false).unwrap(),
    ]
}

fn settings() -> MomentumSettings {
    MomentumSettings::new(0.9)
        .with_nesterov(true)
        .with_loss_scale(128.0)
}

#[test]
fn layout_violations_are_each_their_own_error() {
    let one = || [Group::new(Lr::new_static(0.1).unwrap(), 0.0, false).unwrap()];
    let two = || {
        [
            Group::new(Lr::new_static(0.1).unwrap(), 0.0, false).unwrap(),
            Group::new(Lr::new_static(0.1).unwrap(), 0.0, false).unwrap(),
        ]
    };
    let s = MomentumSettings::new(0.9);
    let err = |tensors: &[Tensor]| Momentum::new(tensors, two(), s).unwrap_err();
    assert_eq!(
        err(&[Tensor::vector(3, 0), Tensor::vector(3, 2)]),
        Error::GroupOutOfRange {
            tensor: 1,
            group: 2
        }
    );
    assert_eq!(err(&[Tensor::vector(3, 0)]), Error::EmptyGroup { group: 1 });
    assert_eq!(err(&[]), Error::EmptyGroup { group: 0 });
    assert_eq!(
        err(&[
            Tensor {
                len: 7,
                rows: NonZeroUsize::new(2),
                group: 0
            },
            Tensor::vector(1, 1)
        ]),
        Error::TensorRows { tensor: 0 }
    );
    assert_eq!(
        err(&[Tensor::vector(usize::MAX, 0), Tensor::vector(1, 1)]),
        Error::LayoutTooLarge
    );
    // a layout too large for memory, even where its lengths add up in a usize
    assert_eq!(
        err(&[Tensor::vector(usize::MAX / 8, 0), Tensor::vector(1, 1)]),
        Error::LayoutTooLarge
    );
    // settings
    assert_eq!(
        Momentum::new(
            &[Tensor::vector(1, 0)],
            one(),
            MomentumSettings::new(f64::NAN)
        )
        .unwrap_err(),
        Error::NotFinite(Param::Momentum)
    );
    assert_eq!(
        Momentum::new(&[Tensor::vector(1, 0)], one(), s.with_loss_scale(0.0)).unwrap_err(),
        Error::NotPositive(Param::LossScale)
    );
    let sgd = SgdSettings::default().with_nesterov(true);
    assert_eq!(
        Sgd::new(&[Tensor::vector(1, 0)], one(), sgd).unwrap_err(),
        Error::NesterovNeedsMomentum
    );
    // groups
    assert_eq!(
        Group::new(Lr::new_static(0.1).unwrap(), -1.0, false).unwrap_err(),
        Error::Negative(Param::WeightDecay)
    );
    assert_eq!(
        Group::new(Lr::Static(-0.1), 0.0, false).unwrap_err(),
        Error::Negative(Param::LearningRate)
    );
    let (a, b) = ([0.1f32; 5], [0.1f32; 6]);
    let pair = [Tensor::vector(1, 0), Tensor::vector(1, 1)];
    let tables = [
        Group::new(Lr::table(&a).unwrap(), 0.0, false).unwrap(),
        Group::new(Lr::table(&b).unwrap(), 0.0, false).unwrap(),
    ];
    assert_eq!(
        Momentum::new(&pair, tables, s).unwrap_err(),
        Error::TableLengthsDiffer { group: 1 }
    );
    // a table that holds its last value may have any length
    let held = Table::new(&b, PastEnd::HoldLast).unwrap();
    let tables = [
        Group::new(Lr::table(&a).unwrap(), 0.0, false).unwrap(),
        Group::new(Lr::Table(held), 0.0, false).unwrap(),
    ];
    assert!(Momentum::new(&pair, tables, s).is_ok());
}

#[test]
fn a_failed_step_changes_nothing() {
    let table = [0.1f32, 0.08, 0.06];
    let schedule = CosineDecayLr::new(0.001, 0.01, 10).unwrap();
    let g = [
        Group::new(Lr::table(&table).unwrap(), 1e-4, true).unwrap(),
        Group::new(Lr::new_static(0.05).unwrap(), 0.0, false).unwrap(),
        Group::new(Lr::Schedule(&schedule), 1e-5, false).unwrap(),
    ];
    let mut opt = Momentum::new(&TENSORS, g, settings().with_check_finite(true)).unwrap();
    let (mut w, mut m) = (values(1, LEN, 1.0), vec![0.0; LEN]);
    for k in 0..3 {
        opt.step(&mut w, &grads(k), &mut m).unwrap();
    }
    let (w0, m0) = (w.clone(), m.clone());
    let unchanged = |w: &[f32], m: &[f32], opt: &Momentum<[Group; 3]>| {
        assert_eq!(first_difference(w, &w0), None);
        assert_eq!(first_difference(m, &m0), None);
        assert_eq!(opt.global_step(), 3);
    };
    // past the end of group 0's table: an error, and nothing moves
    assert_eq!(
        opt.step(&mut w, &grads(3), &mut m),
        Err(Error::PastTableEnd { step: 3, len: 3 })
    );
    unchanged(&w, &m, &opt);
    assert_eq!(opt.lr(0), Err(Error::PastTableEnd { step: 3, len: 3 }));
    // wrong buffers and no learning rate: the buffers are checked first
    assert_eq!(
        opt.step(&mut w[..LEN - 1], &grads(3), &mut m),
        Err(Error::LengthMismatch {
            buffer: Buffer::Params,
            expected: LEN,
            actual: LEN - 1
        })
    );
    assert!(opt.begin_step().is_err());
    unchanged(&w, &m, &opt);
}

/// A failed whole step leaves a step planned by `begin_step` as it was: its token still works,
/// with the learning rates it planned (not those set since).
#[test]
fn a_failed_step_keeps_the_planned_step() {
    let table = [0.1f32; 4];
    let schedule = CosineDecayLr::new(0.001, 0.01, 5).unwrap();
    let s = settings().with_check_finite(true);
    let mut planned = Momentum::new(&TENSORS, groups(&table, &schedule), s).unwrap();
    let mut twin = Momentum::new(&TENSORS, groups(&table, &schedule), s).unwrap();
    let (mut w, mut m) = (values(4, LEN, 1.0), vec![0.0; LEN]);
    let (mut w2, mut m2) = (w.clone(), m.clone());
    let mut bad = grads(0);
    bad[7] = f32::NAN;
    let token = planned.begin_step().unwrap();
    let token2 = twin.begin_step().unwrap();
    planned.set_lr(1, 0.5).unwrap();
    twin.set_lr(1, 0.5).unwrap();
    // fails on the gradients, after the learning rates were checked
    assert_eq!(
        planned.step(&mut w, &bad, &mut m),
        Err(Error::NonFiniteGradient { index: 7 })
    );
    let g = grads(0);
    let part = planned.part(0..5, &mut w, &g, &mut m).unwrap();
    planned.step_part(&token, part).unwrap();
    planned.end_step(token).unwrap();
    let part = twin.part(0..5, &mut w2, &g, &mut m2).unwrap();
    twin.step_part(&token2, part).unwrap();
    twin.end_step(token2).unwrap();
    assert_eq!(first_difference(&w, &w2), None);
    assert_eq!(first_difference(&m, &m2), None);
    assert_eq!(planned.global_step(), 1);
}

#[test]
fn checks_before_writing() {
    let schedule = CosineDecayLr::new(0.001, 0.01, 10).unwrap();
    let table = [0.1f32; 8];
    let s = settings().with_check_finite(true);
    let mut opt = Momentum::new(&TENSORS, groups(&table, &schedule), s).unwrap();
    let (mut w, mut m) = (values(1, LEN, 1.0), vec![0.0; LEN]);
    let (w0, m0) = (w.clone(), m.clone());
    let mut g = grads(0);
    g[LEN - 1] = f32::INFINITY;
    assert_eq!(
        opt.step(&mut w, &g, &mut m),
        Err(Error::NonFiniteGradient { index: LEN - 1 })
    );
    assert_eq!(
        opt.step(&mut w[..LEN - 1], &grads(0), &mut m),
        Err(Error::LengthMismatch {
            buffer: Buffer::Params,
            expected: LEN,
            actual: LEN - 1
        })
    );
    assert_eq!(
        opt.step(&mut w, &grads(0)[1..], &mut m),
        Err(Error::LengthMismatch {
            buffer: Buffer::Grads,
            expected: LEN,
            actual: LEN - 1
        })
    );
    assert_eq!(
        opt.step(&mut w, &grads(0), &mut m[..2]),
        Err(Error::LengthMismatch {
            buffer: Buffer::State,
            expected: LEN,
            actual: 2
        })
    );
    assert_eq!((w, m, opt.global_step()), (w0, m0, 0));
}

#[test]
fn learning_rates_can_be_read_and_static_ones_set() {
    let table = [0.1f32, 0.2, 0.3];
    let schedule = CosineDecayLr::new(0.001, 0.01, 10).unwrap();
    let mut opt = Momentum::new(&TENSORS, groups(&table, &schedule), settings()).unwrap();
    let (mut w, mut m) = (values(1, LEN, 1.0), vec![0.0; LEN]);
    assert_eq!(opt.global_step(), 0);
    assert_eq!(opt.lr(0), Ok(0.1));
    assert_eq!(opt.lr(1), Ok(0.05f64 as f32));
    opt.step(&mut w, &grads(0), &mut m).unwrap();
    assert_eq!(opt.global_step(), 1);
    assert_eq!(opt.lr(0), Ok(0.2));
    assert_eq!(
        opt.lr(2).unwrap().to_bits(),
        gradstep::lr::LrSchedule::lr(&schedule, 1).to_bits()
    );
    // a static lr set between steps is used by the next step
    opt.set_lr(1, 0.025).unwrap();
    assert_eq!(opt.lr(1), Ok(0.025f64 as f32));
    assert_eq!(opt.set_lr(0, 0.1), Err(Error::NotStatic { group: 0 }));
    assert_eq!(opt.set_lr(3, 0.1), Err(Error::NoSuchGroup { group: 3 }));
    assert_eq!(
        opt.set_lr(1, -1.0),
        Err(Error::Negative(Param::LearningRate))
    );
    assert_eq!(opt.lr(3), Err(Error::NoSuchGroup { group: 3 }));

    // the new value is what the next step uses: compare with an optimizer built with it
    let table2 = [0.2f32, 0.3, 0.4];
    let g2 = [
        Group::new(
            Lr::Table(Table::new(&table2, PastEnd::HoldLast).unwrap()),
            1e-4,
            true,
        )
        .unwrap(),
        Group::new(Lr::new_static(0.025).unwrap(), 0.0, false).unwrap(),
        Group::new(Lr::Schedule(&schedule), 1e-5, false).unwrap(),
    ];
    let mut fresh = Momentum::new(&TENSORS, g2, settings()).unwrap();
    let (mut w2, mut m2) = (w.clone(), m.clone());
    opt.step(&mut w, &grads(1), &mut m).unwrap();
    // `fresh` starts at step 0, so its schedule group would differ: compare groups 0 and 1 only
    fresh.step(&mut w2, &grads(1), &mut m2).unwrap();
    let end = 24 + 8;
    assert_eq!(first_difference(&w[..end], &w2[..end]), None);
}

/// N steps equal k steps, save, restore into a fresh optimizer, N − k steps — bit for bit, for
/// Momentum (with a static lr changed mid-way) and SGD (whose first-step flag is saved).
#[test]
fn save_and_restore_resume_bit_for_bit() {
    let table = [0.1f32, 0.09, 0.08, 0.07, 0.06, 0.05, 0.04, 0.03];
    let schedule = CosineDecayLr::new(0.001, 0.01, 5).unwrap();
    let (n, k) = (8, 3);

    let mut whole = Momentum::new(&TENSORS, groups(&table, &schedule), settings()).unwrap();
    let (mut w, mut m) = (values(7, LEN, 1.0), vec![0.0; LEN]);
    for step in 0..n {
        if step == 2 {
            whole.set_lr(1, 0.01).unwrap();
        }
        whole.step(&mut w, &grads(step), &mut m).unwrap();
    }

    let mut first = Momentum::new(&TENSORS, groups(&table, &schedule), settings()).unwrap();
    let (mut w2, mut m2) = (values(7, LEN, 1.0), vec![0.0; LEN]);
    for step in 0..k {
        if step == 2 {
            first.set_lr(1, 0.01).unwrap();
        }
        first.step(&mut w2, &grads(step), &mut m2).unwrap();
    }
    let mut bytes = vec![0u8; first.saved_len()];
    assert_eq!(first.save(&m2, &mut bytes), Ok(bytes.len()));

    let mut second = Momentum::new(&TENSORS, groups(&table, &schedule), settings()).unwrap();
    let mut m3 = vec![f32::NAN; LEN];
    second.restore(&bytes, &mut m3).unwrap();
    assert_eq!(second.global_step(), k);
    assert_eq!(second.lr(1), Ok(0.01f64 as f32));
    for step in k..n {
        second.step(&mut w2, &grads(step), &mut m3).unwrap();
    }
    assert_eq!(first_difference(&w2, &w), None);
    assert_eq!(first_difference(&m3, &m), None);

    // SGD: the restored optimizer must not take its first-step path again
    let sgd = || {
        let s = SgdSettings::default()
            .with_momentum(0.9)
            .with_dampening(0.1);
        Sgd::new(&TENSORS, groups(&table, &schedule), s).unwrap()
    };
    let mut whole = sgd();
    let (mut w, mut a) = (values(9, LEN, 1.0), vec![0.0; LEN]);
    for step in 0..n {
        whole.step(&mut w, &grads(step), &mut a).unwrap();
    }
    let mut first = sgd();
    let (mut w2, mut a2) = (values(9, LEN, 1.0), vec![0.0; LEN]);
    for step in 0..k {
        first.step(&mut w2, &grads(step), &mut a2).unwrap();
    }
    let mut bytes = vec![0u8; first.saved_len()];
    first.save(&a2, &mut bytes).unwrap();
    let mut second = sgd();
    second.restore(&bytes, &mut a2).unwrap();
    for step in k..n {
        second.step(&mut w2, &grads(step), &mut a2).unwrap();
    }
    assert_eq!(first_difference(&w2, &w), None);
    assert_eq!(first_difference(&a2, &a), None);
}

#[test]
fn restore_rejects_what_it_cannot_use_and_changes_nothing() {
    let table = [0.1f32; 4];
    let schedule = CosineDecayLr::new(0.001, 0.01, 5).unwrap();
    let mut opt = Momentum::new(&TENSORS, groups(&table, &schedule), settings()).unwrap();
    let (mut w, mut m) = (values(3, LEN, 1.0), vec![0.0; LEN]);
    opt.step(&mut w, &grads(0), &mut m).unwrap();
    let mut bytes = vec![0u8; opt.saved_len()];
    assert_eq!(
        opt.save(&m, &mut bytes[..10]),
        Err(Error::LengthMismatch {
            buffer: Buffer::SavedState,
            expected: bytes.len(),
            actual: 10
        })
    );
    opt.save(&m, &mut bytes).unwrap();

    let mut target = Momentum::new(&TENSORS, groups(&table, &schedule), settings()).unwrap();
    let mut state = vec![7.0f32; LEN];
    let bad = |f: &dyn Fn(&mut Vec<u8>)| {
        let mut b = bytes.clone();
        f(&mut b);
        b
    };
    // a field changed with a checksum made to fit (the format's FNV-1a, src/state.rs), so that
    // the check of that field is what rejects it
    let resummed = |f: &dyn Fn(&mut Vec<u8>)| {
        let mut b = bad(f);
        let n = b.len() - 4;
        let sum = b[..n].iter().fold(0x811c_9dc5u32, |h, &x| {
            (h ^ x as u32).wrapping_mul(0x0100_0193)
        });
        b[n..].copy_from_slice(&sum.to_le_bytes());
        b
    };
    assert_eq!(
        resummed(&|_| {}),
        bytes,
        "the test's checksum is the format's"
    );
    use SavedStateProblem::*;
    let cases: Vec<(Vec<u8>, Error)> = vec![
        (bad(&|b| b[0] = b'X'), Error::SavedState(NotASavedState)),
        (bytes[..10].to_vec(), Error::SavedState(NotASavedState)),
        (bad(&|b| b[4] = 9), Error::SavedState(Version)),
        (bad(&|b| b[6] = 2), Error::SavedState(Checksum)),
        (resummed(&|b| b[6] = 2), Error::SavedState(Optimizer)),
        (resummed(&|b| b[24] = 1), Error::SavedState(Scalars)),
        (bad(&|b| b[7] = 2), Error::SavedState(Length)),
        (bad(&|b| b[12] = 4), Error::SavedState(Length)),
        (bad(&|b| b[16] += 1), Error::SavedState(Length)),
        (bad(&|b| b.push(0)), Error::SavedState(Length)),
        (bad(&|b| b[40] ^= 1), Error::SavedState(Checksum)),
        (
            bad(&|b| *b.last_mut().unwrap() ^= 0x80),
            Error::SavedState(Checksum),
        ),
    ];
    for (b, e) in cases {
        assert_eq!(target.restore(&b, &mut state), Err(e));
        assert!(state.iter().all(|&v| v == 7.0));
        assert_eq!(target.global_step(), 0);
    }
    assert_eq!(
        target.restore(&bytes, &mut state[..3]),
        Err(Error::LengthMismatch {
            buffer: Buffer::State,
            expected: LEN,
            actual: 3
        })
    );
    // a group static in the saved state but not here (other layout of sources)
    let other = [
        Group::new(
            Lr::Table(Table::new(&table, PastEnd::HoldLast).unwrap()),
            1e-4,
            true,
        )
        .unwrap(),
        Group::new(Lr::Schedule(&schedule), 0.0, false).unwrap(),
        Group::new(Lr::Schedule(&schedule), 1e-5, false).unwrap(),
    ];
    let mut target2 = Momentum::new(&TENSORS, other, settings()).unwrap();
    assert_eq!(
        target2.restore(&bytes, &mut state),
        Err(Error::SavedState(Groups))
    );
    // an SGD optimizer does not take a Momentum state
    let mut sgd = Sgd::new(&TENSORS, groups(&table, &schedule), SgdSettings::default()).unwrap();
    assert_eq!(
        sgd.restore(&bytes, &mut state),
        Err(Error::SavedState(Optimizer))
    );
    assert!(state.iter().all(|&v| v == 7.0));
}

#[test]
fn tokens_belong_to_their_step() {
    let table = [0.1f32; 4];
    let schedule = CosineDecayLr::new(0.001, 0.01, 5).unwrap();
    let mut opt = Momentum::new(&TENSORS, groups(&table, &schedule), settings()).unwrap();
    let (mut w, mut m) = (values(3, LEN, 1.0), vec![0.0; LEN]);
    let token = opt.begin_step().unwrap();
    assert_eq!(token.step(), 0);
    let g = grads(0);
    let part = opt.part(0..5, &mut w, &g, &mut m).unwrap();
    opt.step_part(&token, part).unwrap();
    opt.end_step(token).unwrap();
    // the same token again
    assert_eq!(opt.end_step(token), Err(Error::StaleStep));
    let part = opt.part(0..5, &mut w, &g, &mut m).unwrap();
    assert_eq!(opt.step_part(&token, part), Err(Error::StaleStep));
    let t = opt.begin_step().unwrap();
    assert_eq!(
        opt.part(3..6, &mut w, &g, &mut m).unwrap_err(),
        Error::TensorRange { start: 3, end: 6 }
    );
    // a part holds exactly its tensors' elements
    assert_eq!(
        opt.part(1..3, &mut w[..9], &g[..8], &mut m[..8])
            .unwrap_err(),
        Error::LengthMismatch {
            buffer: Buffer::Params,
            expected: 8,
            actual: 9
        }
    );
    let part = opt.part(0..5, &mut w, &g, &mut m).unwrap();
    assert_eq!(
        opt.split(part, LEN + 1).unwrap_err(),
        Error::ElementRange {
            start: LEN + 1,
            end: LEN
        }
    );
    assert_eq!(opt.elements(1..3), Ok(24..32));
    opt.end_step(t).unwrap();
    assert_eq!(opt.global_step(), 2);
}

#[test]
fn slice_groups_give_the_bits_of_an_array() {
    let table = [0.1f32; 4];
    let schedule = CosineDecayLr::new(0.001, 0.01, 5).unwrap();
    let mut by_table = Momentum::new(&TENSORS, groups(&table, &schedule), settings()).unwrap();
    let mut storage = groups(&table, &schedule);
    let mut by_slice = Momentum::new(&TENSORS, &mut storage[..], settings()).unwrap();
    let (mut w, mut m) = (values(5, LEN, 1.0), vec![0.0; LEN]);
    let (mut w2, mut m2) = (w.clone(), m.clone());
    for k in 0..4 {
        by_table.step(&mut w, &grads(k), &mut m).unwrap();
        by_slice.step(&mut w2, &grads(k), &mut m2).unwrap();
    }
    assert_eq!(first_difference(&w, &w2), None);
    assert_eq!(first_difference(&m, &m2), None);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: if cfg!(miri) { 4 } else { 200 }, failure_persistence: None, ..ProptestConfig::default() })]

    /// Any split of the tensors into parts, taken in any order, gives the whole step's bits —
    /// on every kernel backend, for Momentum and SGD.
    #[test]
    fn steps_in_parts_equal_whole_steps(cuts in prop::collection::btree_set(0usize..=5, 0..5), reverse in any::<bool>(), sgd in any::<bool>(), steps in 1u32..4) {
        let table = [0.1f32, 0.09, 0.08, 0.07];
        let schedule = CosineDecayLr::new(0.001, 0.01, 5).unwrap();
        let cuts: Vec<usize> = cuts.into_iter().collect();
        for backend in Backend::ALL.into_iter().filter(|p| p.is_available()) {
            let (mut w, mut s) = (values(11, LEN, 1.0), vec![0.0; LEN]);
            let (mut w2, mut s2) = (w.clone(), s.clone());
            if sgd {
                let set = SgdSettings::default().with_momentum(0.9).with_dampening(0.1).with_backend(backend);
                let mut whole = Sgd::new(&TENSORS, groups(&table, &schedule), set).unwrap();
                let mut sharded = Sgd::new(&TENSORS, groups(&table, &schedule), set).unwrap();
                for k in 0..steps {
                    whole.step(&mut w, &grads(k), &mut s).unwrap();
                }
                step_in_parts(&mut sharded, &cuts, reverse, steps, grads, &mut w2, &mut s2);
            } else {
                let set = settings().with_backend(backend);
                let mut whole = Momentum::new(&TENSORS, groups(&table, &schedule), set).unwrap();
                let mut sharded = Momentum::new(&TENSORS, groups(&table, &schedule), set).unwrap();
                for k in 0..steps {
                    whole.step(&mut w, &grads(k), &mut s).unwrap();
                }
                step_in_parts(&mut sharded, &cuts, reverse, steps, grads, &mut w2, &mut s2);
            }
            prop_assert_eq!(first_difference(&w2, &w), None, "{:?} {:?}", backend, cuts);
            prop_assert_eq!(first_difference(&s2, &s), None);
        }
    }
}

/// Parts really can run on threads at once: the plan is shared, the buffers are disjoint.
#[test]
#[cfg_attr(target_os = "wasi", ignore = "wasm32-wasip1 has no threads")]
fn parts_on_threads() {
    let table = [0.1f32; 4];
    let schedule = CosineDecayLr::new(0.001, 0.01, 5).unwrap();
    let mut whole = Momentum::new(&TENSORS, groups(&table, &schedule), settings()).unwrap();
    let mut sharded = Momentum::new(&TENSORS, groups(&table, &schedule), settings()).unwrap();
    let (mut w, mut m) = (values(13, LEN, 1.0), vec![0.0; LEN]);
    let (mut w2, mut m2) = (w.clone(), m.clone());
    let g = grads(0);
    whole.step(&mut w, &g, &mut m).unwrap();
    let token = sharded.begin_step().unwrap();
    let opt = &sharded;
    let [a, b] = <[_; 2]>::try_from(parts(opt, &[2], &mut w2, &g, &mut m2)).unwrap();
    std::thread::scope(|s| {
        s.spawn(|| opt.step_part(&token, a).unwrap());
        s.spawn(|| opt.step_part(&token, b).unwrap());
    });
    sharded.end_step(token).unwrap();
    assert_eq!(first_difference(&w2, &w), None);
    assert_eq!(first_difference(&m2, &m), None);
}
