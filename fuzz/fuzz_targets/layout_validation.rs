//! Layouts, groups and optimizers built from arbitrary bytes: construction succeeds or returns an
//! error, never panics; a built optimizer's calls either complete or change nothing.
//!
//! Input: up to 5 groups (static, table or schedule learning rates — a schedule may return
//! anything, NaN and negative values included —, weight decays, centralization), up to 8 tensors
//! (lengths, rows — 0 is none —, group indices, sometimes inconsistent or enormous), settings, the
//! constructor (`Momentum::new` / `Sgd::new` / `Adam::new` / `AdamWeightDecay::new` over an array
//! `[Group; N]` or over a `&mut [Group]`; Adam's and AdamWeightDecay's own settings — betas,
//! `eps`, Nesterov, AMSGrad, `K`, valid or not — follow their constructor byte), the buffers'
//! values (params, every state buffer: 1, 2 or 3, grads; a buffer of more than 256 values repeats
//! a pattern, `Reader::long_values`), then a sequence of operations.
//!
//! Two optimizers are built from the same input: `a` takes whole steps, `b` the same steps in
//! `Part`s (`begin_step`; `part` over the whole buffers, cut by `split` at random elements — a
//! valid cut taken, one inside a centralized row or outside the piece refused with `ElementRange`,
//! as the harness's `common::is_cut` says —, maybe each piece cut into the shards of a plan by
//! `shards`, the parts updated by `step_part` in a random order; `end_step`). After every operation
//! both hold the same bits, the same step counter, the same rule (Adam's beta powers) and the same
//! saved state. A whole step also equals the scalar reference (`gradstep::reference`) applied
//! tensor by tensor with each group's `lr(k)`, weight decay and centralization, and the rule's
//! constants: Adam's betas, flags and `K` with the beta powers the step uses (`rule().powers()`
//! before it, each multiplied by `F(β)`), AdamWeightDecay's decoupled `F(wd)`.
//!
//! Properties: a constructor accepts exactly the layouts whose tensors name existing groups, whose
//! rows divide their lengths and whose every group has a tensor, and refuses the settings its
//! rule's constructor refuses, with that error; a failed call leaves the buffers,
//! `global_step()`, the rule and every group's `lr()` as they were; `save` then `restore` brings
//! back the saved step counter, rule (its saved scalars: SGD's first-step flag, Adam's beta
//! powers), learning rates and state; `restore` of damaged or arbitrary bytes never
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

use common::{Reader, assert_bits, assert_same, check_plan, is_cut, trace};
use gradstep::hyper::{AdamStep, AdamWStep, Betas, GradPrep, MomentumStep, SgdStep};
use gradstep::lr::schedule::{CosineDecayLr, ExponentialDecayLr, PolynomialDecayLr, WarmupLr};
use gradstep::lr::{LrSchedule, Schedule};
use gradstep::optim::{AdamRule, AdamWRule, MomentumRule, SgdRule};
use gradstep::{
    Adam, AdamSettings, AdamWSettings, AdamWeightDecay, Backend, Error, Group, Lr, Momentum,
    MomentumSettings, Optimizer, Part, PastEnd, Rule, SavedStateProblem, Sgd, SgdSettings,
    StepToken, Table, Tensor, reference,
};
use libfuzzer_sys::fuzz_target;

use drive::*;
use parts::*;

/// The largest layout whose buffers are allocated.
const MAX_LEN: usize = 4096;

/// The bytes of the saved-state header (format version 2, `src/state.rs`).
const HEADER: usize = 32;

/// The settings of each constructor, from the same input bytes where they share a field (backend,
/// loss scale, gradient check; Nesterov and momentum between Momentum and SGD; the betas and
/// `eps` between Adam and AdamWeightDecay).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Settings {
    pub(crate) ms: MomentumSettings,
    pub(crate) ss: SgdSettings,
    pub(crate) adam: AdamSettings,
    pub(crate) adamw: AdamWSettings,
}

/// Adam's and AdamWeightDecay's settings: mostly valid betas and `eps`, a quarter of the time any
/// (`Reader::beta`, `Reader::eps`); Nesterov, AMSGrad or (rarely) both; `K`.
fn adam_settings(r: &mut Reader, s: &mut Settings) {
    let pick = r.u8();
    let (beta1, beta2, eps) = if pick % 4 == 0 {
        (r.beta(), r.beta(), r.eps())
    } else {
        let b = r.u8() as usize;
        (
            [0.9, 0.5, 0.8, 0.1][b & 3],
            [0.999, 0.75, 0.9999, 0.5][b >> 2 & 3],
            [1e-8, 1e-6, 1e-3, 0.1][b >> 4 & 3],
        )
    };
    // 0–2 plain, 3–4 Nesterov, 5–6 AMSGrad, 7 both (refused)
    let flags = r.u8() % 8;
    let (nesterov, amsgrad) = (matches!(flags, 3 | 4 | 7), flags >= 5);
    let threads = r.threads();
    let (loss_scale, check_finite, backend) = (s.ms.loss_scale, s.ms.check_finite, s.ms.backend);
    s.adam = AdamSettings::new()
        .with_betas(beta1, beta2)
        .with_eps(eps)
        .with_nesterov(nesterov)
        .with_amsgrad(amsgrad)
        .with_threads(threads)
        .with_loss_scale(loss_scale)
        .with_check_finite(check_finite)
        .with_backend(backend);
    s.adamw = AdamWSettings::new()
        .with_betas(beta1, beta2)
        .with_eps(eps)
        .with_check_finite(check_finite)
        .with_backend(backend);
    let a = &s.adam;
    assert_eq!(
        (
            [a.beta1, a.beta2, a.eps, a.loss_scale].map(f64::to_bits),
            (a.nesterov, a.amsgrad, a.threads, a.check_finite, a.backend)
        ),
        (
            [beta1, beta2, eps, loss_scale].map(f64::to_bits),
            (nesterov, amsgrad, threads, check_finite, backend)
        ),
        "Adam's settings builders"
    );
    let w = &s.adamw;
    assert_eq!(
        (
            [w.beta1, w.beta2, w.eps].map(f64::to_bits),
            (w.check_finite, w.backend)
        ),
        (
            [beta1, beta2, eps].map(f64::to_bits),
            (check_finite, backend)
        ),
        "AdamWeightDecay's settings builders"
    );
}

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

/// The constructor of `kind` (mod 8: 0 Momentum, 1 SGD, 4 Adam, 5 AdamWeightDecay over an array
/// of `N` groups; 2, 3, 6, 7 the same over a slice): it refuses what its rule refuses, with the
/// rule's error, and accepts exactly the valid layouts; then the twins.
fn build<const N: usize>(
    r: &mut Reader,
    tensors: &[Tensor],
    groups: &[Group<'_>],
    kind: u8,
    settings: &Settings,
) {
    let valid = layout_valid(tensors, groups.len());
    let check = |got: &Result<(), Error>, rule: Result<(), Error>| {
        if trace() {
            eprintln!("constructor {kind}: {got:?} (layout valid: {valid:?}, rule {rule:?})");
        }
        if let Err(e) = rule {
            assert_eq!(
                *got,
                Err(e),
                "a constructor refused its settings differently"
            );
            return;
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
    // `$new` over the groups as an array or a slice, `$rule` its rule's constructor
    macro_rules! twins {
        ($new:path, $s:expr, $rule:expr) => {{
            let rule = $rule.map(|_| ());
            if kind % 4 < 2 {
                let arr: [Group<'_>; N] = groups.try_into().expect("N groups");
                let got = $new(tensors, arr, $s).map(|_| ());
                check(&got, rule);
                let (Ok(mut a), Ok(mut b)) = ($new(tensors, arr, $s), $new(tensors, arr, $s))
                else {
                    return;
                };
                drive(r, settings, &mut a, &mut b);
            } else {
                let mut ga = groups.to_vec();
                let mut gb = groups.to_vec();
                let before = format!("{ga:?}");
                match $new(tensors, &mut ga[..], $s) {
                    Ok(mut a) => {
                        check(&Ok(()), rule);
                        let mut b = $new(tensors, &mut gb[..], $s).expect("twin");
                        drive(r, settings, &mut a, &mut b);
                    }
                    Err(e) => {
                        check(&Err(e), rule);
                        assert_eq!(
                            format!("{ga:?}"),
                            before,
                            "a failed constructor changed the groups"
                        )
                    }
                }
            }
        }};
    }
    match kind % 8 {
        0 | 2 => twins!(Momentum::new, settings.ms, MomentumRule::new(&settings.ms)),
        1 | 3 => twins!(Sgd::new, settings.ss, SgdRule::new(&settings.ss)),
        4 | 6 => twins!(Adam::new, settings.adam, AdamRule::new(&settings.adam)),
        _ => twins!(
            AdamWeightDecay::new,
            settings.adamw,
            AdamWRule::new(&settings.adamw)
        ),
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
    let mut settings = Settings {
        ms,
        ss,
        adam: AdamSettings::new(),
        adamw: AdamWSettings::new(),
    };
    let kind = r.u8() % 8;
    if kind >= 4 {
        adam_settings(&mut r, &mut settings);
    }
    if trace() {
        eprintln!("tensors: {tensors:?}; {settings:?}");
    }
    match groups.len() {
        0 => build::<0>(&mut r, &tensors, &groups, kind, &settings),
        1 => build::<1>(&mut r, &tensors, &groups, kind, &settings),
        2 => build::<2>(&mut r, &tensors, &groups, kind, &settings),
        3 => build::<3>(&mut r, &tensors, &groups, kind, &settings),
        4 => build::<4>(&mut r, &tensors, &groups, kind, &settings),
        _ => build::<5>(&mut r, &tensors, &groups, kind, &settings),
    }
});
