//! Layouts, groups and optimizers built from arbitrary bytes: construction succeeds or returns an
//! error, never panics; a built optimizer's calls either complete or change nothing.
//!
//! Input: up to 5 groups (static, table or schedule learning rates — a schedule may return
//! anything, NaN and negative values included —, weight decays, centralization), up to 8 tensors
//! (lengths, rows — 0 is none —, group indices, sometimes inconsistent or enormous), settings, the
//! constructor (`Momentum::new` / `Sgd::new` over an array `[Group; N]` or over a `&mut [Group]`),
//! the buffers' values, then a sequence of operations.
//!
//! Two optimizers are built from the same input: `a` takes whole steps, `b` the same steps in
//! `Part`s (`begin_step`; `part` over the whole buffers, cut by `split` at random tensors, the
//! parts updated by `step_part` in a random order; `end_step`). After every operation both hold
//! the same bits, the same step counter and the same saved state. A whole step also equals the
//! scalar reference (`gradstep::reference`) applied tensor by tensor with each group's `lr(k)`,
//! weight decay and centralization.
//!
//! Properties: a constructor accepts exactly the layouts whose tensors name existing groups, whose
//! rows divide their lengths and whose every group has a tensor; a failed call leaves the buffers,
//! `global_step()` and every group's `lr()` as they were; `save` then `restore` brings back the
//! saved step counter, learning rates and state; `restore` of damaged or arbitrary bytes never
//! panics, changes nothing when it fails, and (the checksum being checked before the header's
//! fields) refuses damaged bytes as damaged.
#![no_main]

mod common;
#[path = "layout_validation/drive.rs"]
mod drive;
#[path = "layout_validation/parts.rs"]
mod parts;

use std::num::NonZeroUsize;
use std::ops::Range;

use common::{Reader, assert_bits, assert_same, trace};
use gradstep::hyper::{GradPrep, MomentumStep, SgdStep};
use gradstep::lr::schedule::{CosineDecayLr, ExponentialDecayLr, PolynomialDecayLr, WarmupLr};
use gradstep::lr::{LrSchedule, Schedule};
use gradstep::optim::{MomentumRule, SgdRule};
use gradstep::{
    Backend, Error, Group, Lr, Momentum, MomentumSettings, Optimizer, Part, PastEnd, Rule,
    SavedStateProblem, Sgd, SgdSettings, StepToken, Table, Tensor, reference,
};
use libfuzzer_sys::fuzz_target;

use drive::*;
use parts::*;

/// The largest layout whose buffers are allocated.
const MAX_LEN: usize = 4096;

/// The bytes of the saved-state header (format version 2, `src/state.rs`).
const HEADER: usize = 32;

/// A learning-rate schedule of the caller's: MindSpore's, or one that returns whatever the input
/// says (negative, NaN, infinite), which `Lr::at` must catch.
enum Source {
    Ms(Schedule),
    Raw([f32; 4]),
}

impl LrSchedule for Source {
    fn lr(&self, step: u32) -> f32 {
        match self {
            Source::Ms(s) => s.lr(step),
            Source::Raw(v) => v[step as usize % 4],
        }
    }
}

/// What a group is made of; the group itself borrows the table and the schedule.
struct Spec {
    kind: u8,
    lr64: f64,
    lr32: f32,
    table: Vec<f32>,
    hold_last: bool,
    source: Source,
    weight_decay: f64,
    centralize: bool,
}

fn spec(r: &mut Reader) -> Spec {
    let kind = r.u8() % 5;
    let lr64 = r.f64_param();
    let lr32 = r.f32_param();
    let n = r.u8() as usize % 7;
    let table = (0..n).map(|_| r.f32_param()).collect();
    let hold_last = r.bool();
    let source = match r.u8() % 5 {
        0 => CosineDecayLr::new(r.f64_param(), r.f64_param(), r.count())
            .map(Schedule::CosineDecay)
            .map_or(Source::Raw([0.1; 4]), Source::Ms),
        1 => WarmupLr::new(r.f64_param(), r.count())
            .map(Schedule::Warmup)
            .map_or(Source::Raw([0.1; 4]), Source::Ms),
        2 => ExponentialDecayLr::new(r.f64_param(), r.f64_param(), r.count(), r.bool())
            .map(Schedule::ExponentialDecay)
            .map_or(Source::Raw([0.1; 4]), Source::Ms),
        3 => PolynomialDecayLr::new(
            r.f64_param(),
            r.f64_param(),
            r.count(),
            r.f64_param(),
            r.bool(),
        )
        .map(Schedule::PolynomialDecay)
        .map_or(Source::Raw([0.1; 4]), Source::Ms),
        _ => Source::Raw([r.f32_param(), r.f32_param(), r.f32_param(), r.f32_param()]),
    };
    Spec {
        kind,
        lr64,
        lr32,
        table,
        hold_last,
        source,
        weight_decay: r.f64_param(),
        centralize: r.bool(),
    }
}

/// The group a spec describes, or the error of one of its constructors.
fn group(s: &Spec) -> Result<Group<'_>, Error> {
    let lr = match s.kind {
        0 => Lr::new_static(s.lr64)?,
        1 => Lr::Static(s.lr32), // unvalidated: Group::new must check it
        2 => Lr::table(&s.table)?,
        3 => {
            let past = if s.hold_last {
                PastEnd::HoldLast
            } else {
                PastEnd::Reject
            };
            Lr::Table(Table::new(&s.table, past)?)
        }
        _ => Lr::Schedule(&s.source),
    };
    Group::new(lr, s.weight_decay, s.centralize)
}

/// Tensor `i`: mostly in group `i mod n` (so that every group has a tensor), sometimes in
/// another group, one that does not exist, or `usize::MAX`.
fn tensor(r: &mut Reader, i: usize, n_groups: usize) -> Tensor {
    let group = match r.u8() {
        255 => usize::MAX,
        b @ 192.. => b as usize % (n_groups + 1),
        _ => i % n_groups.max(1),
    };
    let rows = |x: usize| NonZeroUsize::new(x);
    match r.u8() % 16 {
        0 => Tensor {
            len: usize::MAX,
            rows: rows(r.u8() as usize % 3),
            group,
        },
        1 => Tensor {
            len: usize::MAX / 2 + 1,
            rows: None,
            group,
        },
        2 => Tensor {
            len: r.u64() as usize,
            rows: rows(r.u64() as usize),
            group,
        },
        3 => Tensor {
            len: r.u8() as usize % 40,
            rows: rows(r.u8() as usize),
            group,
        },
        4..=8 => Tensor::matrix(r.u8() as usize % 6, r.u8() as usize % 9, group),
        _ => Tensor::vector(r.u8() as usize % 33, group),
    }
}

/// Whether a layout is one every constructor must refuse (or may accept): every tensor names a
/// group, its rows divide its length, every group has a tensor, and the lengths add up in a
/// `usize` to no more than an `f32` buffer can hold. `None` when the lengths are valid but too
/// large to say (between `isize::MAX / 64` and `isize::MAX / 4` elements).
fn layout_valid(tensors: &[Tensor], n_groups: usize) -> Option<bool> {
    let mut total = 0usize;
    for t in tensors {
        if t.group >= n_groups || t.rows.is_some_and(|r| t.len % r.get() != 0) {
            return Some(false);
        }
        match total.checked_add(t.len) {
            Some(s) => total = s,
            None => return Some(false),
        }
    }
    if (0..n_groups).any(|g| !tensors.iter().any(|t| t.group == g)) || n_groups == 0 {
        return Some(false);
    }
    if total > isize::MAX as usize / 4 {
        Some(false)
    } else if total > isize::MAX as usize / 64 {
        None
    } else {
        Some(true)
    }
}

/// `Momentum::new` and `Sgd::new` over `groups`, given as an array of `N` groups or as a slice.
fn build<const N: usize>(
    r: &mut Reader,
    tensors: &[Tensor],
    groups: &[Group<'_>],
    kind: u8,
    settings: &(MomentumSettings, SgdSettings),
) {
    let valid = layout_valid(tensors, groups.len());
    let (ms, ss) = *settings;
    let check = |got: &Result<(), Error>| {
        if trace() {
            eprintln!("constructor {kind}: {got:?} (layout valid: {valid:?})");
        }
        match (got, valid) {
            (Ok(()), Some(false)) => panic!("a constructor accepted an invalid layout"),
            (Err(e), Some(true)) => assert!(
                !matches!(
                    e,
                    Error::GroupOutOfRange { .. }
                        | Error::EmptyGroup { .. }
                        | Error::TensorRows { .. }
                        | Error::LayoutTooLarge
                ),
                "a constructor refused a valid layout: {e:?}"
            ),
            _ => {}
        }
    };
    match kind {
        0 | 1 => {
            let arr: [Group<'_>; N] = groups.try_into().expect("N groups");
            if kind == 1 {
                let got = Sgd::new(tensors, arr, ss).map(|_| ());
                check(&got);
                let (Ok(mut a), Ok(mut b)) =
                    (Sgd::new(tensors, arr, ss), Sgd::new(tensors, arr, ss))
                else {
                    return;
                };
                drive(r, settings, &mut a, &mut b);
            } else {
                let got = Momentum::new(tensors, arr, ms).map(|_| ());
                check(&got);
                let (Ok(mut a), Ok(mut b)) = (
                    Momentum::new(tensors, arr, ms),
                    Momentum::new(tensors, arr, ms),
                ) else {
                    return;
                };
                drive(r, settings, &mut a, &mut b);
            }
        }
        _ => {
            let mut ga = groups.to_vec();
            let mut gb = groups.to_vec();
            let before = format!("{ga:?}");
            if kind == 2 {
                match Momentum::new(tensors, &mut ga[..], ms) {
                    Ok(mut a) => {
                        check(&Ok(()));
                        let mut b = Momentum::new(tensors, &mut gb[..], ms).expect("twin");
                        drive(r, settings, &mut a, &mut b);
                    }
                    Err(e) => {
                        check(&Err(e));
                        assert_eq!(
                            format!("{ga:?}"),
                            before,
                            "a failed constructor changed the groups"
                        )
                    }
                }
            } else {
                match Sgd::new(tensors, &mut ga[..], ss) {
                    Ok(mut a) => {
                        check(&Ok(()));
                        let mut b = Sgd::new(tensors, &mut gb[..], ss).expect("twin");
                        drive(r, settings, &mut a, &mut b);
                    }
                    Err(e) => {
                        check(&Err(e));
                        assert_eq!(
                            format!("{ga:?}"),
                            before,
                            "a failed constructor changed the groups"
                        )
                    }
                }
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let mut r = Reader::new(data);
    let n_groups = r.u8() as usize % 6;
    let specs: Vec<Spec> = (0..n_groups).map(|_| spec(&mut r)).collect();
    let mut groups = Vec::new();
    for s in &specs {
        match group(s) {
            Ok(g) => groups.push(g),
            Err(e) => {
                if trace() {
                    eprintln!("group {}: {e:?}", groups.len());
                }
                return;
            }
        }
    }
    if trace() {
        eprintln!("groups: {groups:?}");
    }
    let n_tensors = r.u8() as usize % 9;
    let tensors: Vec<Tensor> = (0..n_tensors)
        .map(|i| tensor(&mut r, i, n_groups))
        .collect();

    let backend = Backend::ALL[r.u8() as usize % Backend::ALL.len()];
    let momentum = r.f64_param();
    let (nesterov, loss_scale, check_finite) = (r.bool(), r.f64_param(), r.bool());
    let ms = MomentumSettings::new(momentum)
        .with_nesterov(nesterov)
        .with_loss_scale(loss_scale)
        .with_check_finite(check_finite)
        .with_backend(backend);
    let ss = SgdSettings::default()
        .with_momentum(momentum)
        .with_dampening(r.f64_param())
        .with_nesterov(nesterov)
        .with_loss_scale(loss_scale)
        .with_check_finite(check_finite)
        .with_backend(backend);
    assert_eq!(
        (
            ms.momentum.to_bits(),
            ms.nesterov,
            ms.loss_scale.to_bits(),
            ms.check_finite,
            ms.backend
        ),
        (
            momentum.to_bits(),
            nesterov,
            loss_scale.to_bits(),
            check_finite,
            backend
        ),
        "the settings' builders"
    );
    let settings = (ms, ss);

    if trace() {
        eprintln!("tensors: {tensors:?}; {ms:?}; {ss:?}");
    }
    let kind = r.u8() % 4;
    match groups.len() {
        0 => build::<0>(&mut r, &tensors, &groups, kind, &settings),
        1 => build::<1>(&mut r, &tensors, &groups, kind, &settings),
        2 => build::<2>(&mut r, &tensors, &groups, kind, &settings),
        3 => build::<3>(&mut r, &tensors, &groups, kind, &settings),
        4 => build::<4>(&mut r, &tensors, &groups, kind, &settings),
        _ => build::<5>(&mut r, &tensors, &groups, kind, &settings),
    }
});
