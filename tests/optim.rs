//! The optimizers over parameter groups: layout and group validation, all-or-nothing steps,
//! learning-rate access, save and restore, and sharded steps — each against the whole step,
//! bit for bit.

mod common;

use common::first_difference;
use gradstep::group::{Group, GroupTable, Tensor};
use gradstep::kernel::Path;
use gradstep::lr::schedule::CosineDecayLr;
use gradstep::lr::{Lr, PastEnd, Table};
use gradstep::optim::{Momentum, MomentumSettings, MomentumSlice, Sgd, SgdSettings};
use gradstep::{Buffer, Error, Param, SavedStateProblem};
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

fn values(seed: u32, n: usize, scale: f32) -> Vec<f32> {
    let mut x = seed.wrapping_mul(2_654_435_761).max(1);
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            ((x >> 8) as f32 / (1 << 24) as f32 - 0.5) * scale
        })
        .collect()
}

fn grads(step: u32) -> Vec<f32> {
    values(step + 100, LEN, 2.0)
}

fn groups<'a>(table: &'a [f32], schedule: &'a CosineDecayLr) -> GroupTable<'a, 3> {
    GroupTable::new([
        Group::new(
            Lr::Table(Table::new(table, PastEnd::HoldLast).unwrap()),
            1e-4,
            true,
        )
        .unwrap(),
        Group::new(Lr::fixed(0.05).unwrap(), 0.0, false).unwrap(),
        Group::new(Lr::Schedule(schedule), 1e-5, false).unwrap(),
    ])
    .unwrap()
}

fn settings() -> MomentumSettings {
    let mut s = MomentumSettings::new(0.9);
    s.nesterov = true;
    s.loss_scale = 128.0;
    s
}

#[test]
fn layout_violations_are_each_their_own_error() {
    let one =
        || GroupTable::new([Group::new(Lr::fixed(0.1).unwrap(), 0.0, false).unwrap()]).unwrap();
    let two = || {
        GroupTable::new([
            Group::new(Lr::fixed(0.1).unwrap(), 0.0, false).unwrap(),
            Group::new(Lr::fixed(0.1).unwrap(), 0.0, false).unwrap(),
        ])
        .unwrap()
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
                rows: 2,
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
    // settings
    let mut bad = s;
    bad.momentum = f64::NAN;
    assert_eq!(
        Momentum::new(&[Tensor::vector(1, 0)], one(), bad).unwrap_err(),
        Error::NotFinite(Param::Momentum)
    );
    bad = s;
    bad.loss_scale = 0.0;
    assert_eq!(
        Momentum::new(&[Tensor::vector(1, 0)], one(), bad).unwrap_err(),
        Error::NotPositive(Param::LossScale)
    );
    let sgd = SgdSettings {
        momentum: 0.0,
        nesterov: true,
        ..SgdSettings::default()
    };
    assert_eq!(
        Sgd::new(&[Tensor::vector(1, 0)], one(), sgd).unwrap_err(),
        Error::NesterovNeedsMomentum
    );
    // groups
    assert_eq!(
        Group::new(Lr::fixed(0.1).unwrap(), -1.0, false).unwrap_err(),
        Error::Negative(Param::WeightDecay)
    );
    assert_eq!(
        Group::new(Lr::Static(-0.1), 0.0, false).unwrap_err(),
        Error::Negative(Param::LearningRate)
    );
    let (a, b) = ([0.1f32; 5], [0.1f32; 6]);
    let tables = GroupTable::new([
        Group::new(Lr::table(&a).unwrap(), 0.0, false).unwrap(),
        Group::new(Lr::table(&b).unwrap(), 0.0, false).unwrap(),
    ]);
    assert_eq!(tables.unwrap_err(), Error::TableLengthsDiffer { group: 1 });
    // a table that holds its last value may have any length
    let held = Table::new(&b, PastEnd::HoldLast).unwrap();
    assert!(
        GroupTable::new([
            Group::new(Lr::table(&a).unwrap(), 0.0, false).unwrap(),
            Group::new(Lr::Table(held), 0.0, false).unwrap(),
        ])
        .is_ok()
    );
}

#[test]
fn a_failed_step_changes_nothing() {
    let table = [0.1f32, 0.08, 0.06];
    let schedule = CosineDecayLr::new(0.001, 0.01, 10).unwrap();
    let g = GroupTable::new([
        Group::new(Lr::table(&table).unwrap(), 1e-4, true).unwrap(),
        Group::new(Lr::fixed(0.05).unwrap(), 0.0, false).unwrap(),
        Group::new(Lr::Schedule(&schedule), 1e-5, false).unwrap(),
    ])
    .unwrap();
    let mut s = settings();
    s.check_finite = true;
    let mut opt = Momentum::new(&TENSORS, g, s).unwrap();
    let (mut w, mut m) = (values(1, LEN, 1.0), vec![0.0; LEN]);
    for k in 0..3 {
        opt.step(&mut w, &grads(k), &mut m).unwrap();
    }
    let (w0, m0) = (w.clone(), m.clone());
    let unchanged = |w: &[f32], m: &[f32], opt: &Momentum<3>| {
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
    let mut s = settings();
    s.check_finite = true;
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
    planned
        .step_shard(&token, 0..5, &mut w, &grads(0), &mut m)
        .unwrap();
    planned.end_step(token).unwrap();
    twin.step_shard(&token2, 0..5, &mut w2, &grads(0), &mut m2)
        .unwrap();
    twin.end_step(token2).unwrap();
    assert_eq!(first_difference(&w, &w2), None);
    assert_eq!(first_difference(&m, &m2), None);
    assert_eq!(planned.global_step(), 1);
}

#[test]
fn checks_before_writing() {
    let schedule = CosineDecayLr::new(0.001, 0.01, 10).unwrap();
    let table = [0.1f32; 8];
    let mut s = settings();
    s.check_finite = true;
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
    let g2 = GroupTable::new([
        Group::new(
            Lr::Table(Table::new(&table2, PastEnd::HoldLast).unwrap()),
            1e-4,
            true,
        )
        .unwrap(),
        Group::new(Lr::fixed(0.025).unwrap(), 0.0, false).unwrap(),
        Group::new(Lr::Schedule(&schedule), 1e-5, false).unwrap(),
    ])
    .unwrap();
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
        let s = SgdSettings {
            momentum: 0.9,
            dampening: 0.1,
            ..SgdSettings::default()
        };
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
    use SavedStateProblem::*;
    let cases: Vec<(Vec<u8>, Error)> = vec![
        (bad(&|b| b[0] = b'X'), Error::SavedState(NotASavedState)),
        (bytes[..10].to_vec(), Error::SavedState(NotASavedState)),
        (bad(&|b| b[4] = 9), Error::SavedState(Version)),
        (bad(&|b| b[6] = 2), Error::SavedState(Optimizer)),
        (bad(&|b| b[12] = 4), Error::SavedState(Groups)),
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
    let other = GroupTable::new([
        Group::new(
            Lr::Table(Table::new(&table, PastEnd::HoldLast).unwrap()),
            1e-4,
            true,
        )
        .unwrap(),
        Group::new(Lr::Schedule(&schedule), 0.0, false).unwrap(),
        Group::new(Lr::Schedule(&schedule), 1e-5, false).unwrap(),
    ])
    .unwrap();
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
    opt.step_shard(&token, 0..5, &mut w, &grads(0), &mut m)
        .unwrap();
    opt.end_step(token).unwrap();
    // the same token again
    assert_eq!(opt.end_step(token), Err(Error::StaleStep));
    assert_eq!(
        opt.step_shard(&token, 0..5, &mut w, &grads(0), &mut m),
        Err(Error::StaleStep)
    );
    let t = opt.begin_step().unwrap();
    assert_eq!(
        opt.step_shard(&t, 3..6, &mut w, &grads(0), &mut m),
        Err(Error::TensorRange { start: 3, end: 6 })
    );
    assert_eq!(opt.elements(1..3), Ok(24..32));
    opt.end_step(t).unwrap();
    assert_eq!(opt.global_step(), 2);
}

#[test]
fn slice_groups_give_the_bits_of_a_table() {
    let table = [0.1f32; 4];
    let schedule = CosineDecayLr::new(0.001, 0.01, 5).unwrap();
    let mut by_table = Momentum::new(&TENSORS, groups(&table, &schedule), settings()).unwrap();
    let mut storage = *groups(&table, &schedule).groups();
    let mut by_slice = MomentumSlice::with_groups(&TENSORS, &mut storage, settings()).unwrap();
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

    /// Any split of the tensors into shards, taken in any order, gives the whole step's bits —
    /// on every kernel path, for Momentum and SGD.
    #[test]
    fn sharded_steps_equal_whole_steps(cuts in prop::collection::btree_set(1usize..5, 0..4), reverse in any::<bool>(), sgd in any::<bool>(), steps in 1u32..4) {
        let table = [0.1f32, 0.09, 0.08, 0.07];
        let schedule = CosineDecayLr::new(0.001, 0.01, 5).unwrap();
        let mut bounds: Vec<usize> = vec![0];
        bounds.extend(cuts.iter().copied());
        bounds.push(TENSORS.len());
        let mut shards: Vec<(usize, usize)> = bounds.windows(2).map(|b| (b[0], b[1])).collect();
        if reverse {
            shards.reverse();
        }
        for path in Path::ALL.into_iter().filter(|p| p.is_available()) {
            let (mut w, mut s) = (values(11, LEN, 1.0), vec![0.0; LEN]);
            let (mut w2, mut s2) = (w.clone(), s.clone());
            if sgd {
                let set = SgdSettings { momentum: 0.9, dampening: 0.1, path, ..SgdSettings::default() };
                let mut whole = Sgd::new(&TENSORS, groups(&table, &schedule), set).unwrap();
                let mut sharded = Sgd::new(&TENSORS, groups(&table, &schedule), set).unwrap();
                for k in 0..steps {
                    let g = grads(k);
                    whole.step(&mut w, &g, &mut s).unwrap();
                    let token = sharded.begin_step().unwrap();
                    for &(a, b) in &shards {
                        let r = sharded.elements(a..b).unwrap();
                        sharded.step_shard(&token, a..b, &mut w2[r.clone()], &g[r.clone()], &mut s2[r]).unwrap();
                    }
                    sharded.end_step(token).unwrap();
                }
            } else {
                let mut set = settings();
                set.path = path;
                let mut whole = Momentum::new(&TENSORS, groups(&table, &schedule), set).unwrap();
                let mut sharded = Momentum::new(&TENSORS, groups(&table, &schedule), set).unwrap();
                for k in 0..steps {
                    let g = grads(k);
                    whole.step(&mut w, &g, &mut s).unwrap();
                    let token = sharded.begin_step().unwrap();
                    for &(a, b) in &shards {
                        let r = sharded.elements(a..b).unwrap();
                        sharded.step_shard(&token, a..b, &mut w2[r.clone()], &g[r.clone()], &mut s2[r]).unwrap();
                    }
                    sharded.end_step(token).unwrap();
                }
            }
            prop_assert_eq!(first_difference(&w2, &w), None, "{:?} {:?}", path, shards);
            prop_assert_eq!(first_difference(&s2, &s), None);
        }
    }
}

/// Shards really can run on threads at once: the plan is shared, the buffers are disjoint.
#[test]
#[cfg_attr(target_os = "wasi", ignore = "wasm32-wasip1 has no threads")]
fn shards_on_threads() {
    let table = [0.1f32; 4];
    let schedule = CosineDecayLr::new(0.001, 0.01, 5).unwrap();
    let mut whole = Momentum::new(&TENSORS, groups(&table, &schedule), settings()).unwrap();
    let mut sharded = Momentum::new(&TENSORS, groups(&table, &schedule), settings()).unwrap();
    let (mut w, mut m) = (values(13, LEN, 1.0), vec![0.0; LEN]);
    let (mut w2, mut m2) = (w.clone(), m.clone());
    let g = grads(0);
    whole.step(&mut w, &g, &mut m).unwrap();
    let token = sharded.begin_step().unwrap();
    let split = sharded.elements(0..2).unwrap().end;
    let (wa, wb) = w2.split_at_mut(split);
    let (ma, mb) = m2.split_at_mut(split);
    let (ga, gb) = g.split_at(split);
    let opt = &sharded;
    std::thread::scope(|s| {
        s.spawn(|| opt.step_shard(&token, 0..2, wa, ga, ma).unwrap());
        s.spawn(|| opt.step_shard(&token, 2..5, wb, gb, mb).unwrap());
    });
    sharded.end_step(token).unwrap();
    assert_eq!(first_difference(&w2, &w), None);
    assert_eq!(first_difference(&m2, &m), None);
}
