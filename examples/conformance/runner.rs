//! The conformance runner's checks: every case of a golden file through gradstep, compared bit for
//! bit. Reading the file is the `golden` crate's, mapping MindSpore's calls to gradstep is
//! `construct`'s; this module runs the cases and reports, section by section.
//!
//! A case it cannot run is counted as skipped, with the reason, never as passed.
//!
//! One file over 600 lines: `tests/conformance.rs` includes it with `#[path]`, and one section per
//! part of the golden format keeps each check beside its reporting.

use std::collections::BTreeMap;
use std::fmt;
use std::num::NonZeroUsize;

use crate::construct::{self, Arg};
use crate::emulate::emulate;
use golden::{
    BindError, Bound, Call, DynamicLrCase, Golden, Labeled, LrSpec, ScheduleCase, Trajectory,
};
use gradstep::hyper::{GradPrep, MomentumStep};
use gradstep::lr::dynamic::DynamicLr;
use gradstep::lr::{LrSchedule, Schedule};
use gradstep::{
    Adam, AdamRule, AdamSettings, AdamWSettings, AdamWeightDecay, Error, Group, Lr, Momentum,
    MomentumSettings, Optimizer, PastEnd, Rule, Sgd, SgdSettings, Table, Tensor, kernel,
};

/// The outcome of one section of the golden file.
#[derive(Debug, Default)]
pub struct Section {
    pub name: String,
    pub passed: usize,
    pub failed: usize,
    pub skipped: usize,
    /// The first failure, with the bits.
    pub first_failure: Option<String>,
    /// Why cases were skipped, with counts.
    pub skip_reasons: BTreeMap<String, usize>,
    /// Further figures worth printing (e.g. the `f64` comparison of tables).
    pub notes: Vec<String>,
}

impl Section {
    fn new(name: &str) -> Self {
        Section {
            name: name.into(),
            ..Section::default()
        }
    }

    fn record(&mut self, case: &str, outcome: Outcome) {
        match outcome {
            Outcome::Pass => self.passed += 1,
            Outcome::Fail(why) => {
                self.failed += 1;
                self.first_failure
                    .get_or_insert_with(|| format!("{case}: {why}"));
            }
            Outcome::Skip(why) => {
                self.skipped += 1;
                *self.skip_reasons.entry(why).or_default() += 1;
            }
        }
    }
}

impl fmt::Display for Section {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {} passed, {} failed, {} skipped",
            self.name, self.passed, self.failed, self.skipped
        )?;
        if let Some(first) = &self.first_failure {
            write!(f, "\n  first failure: {first}")?;
        }
        for (why, n) in &self.skip_reasons {
            write!(f, "\n  skipped ({n}): {why}")?;
        }
        for note in &self.notes {
            write!(f, "\n  {note}")?;
        }
        Ok(())
    }
}

/// What happened to one case.
#[derive(Debug, PartialEq)]
pub enum Outcome {
    Pass,
    Fail(String),
    Skip(String),
}

/// Runs every section of `golden` that the runner knows; sections that are absent are not
/// reported.
pub fn run(golden: &Golden) -> Vec<Section> {
    let mut out = Vec::new();
    if let Some(cases) = golden.dynamic_lr() {
        out.push(dynamic_lr_section(&cases));
    }
    if let Some(cases) = golden.schedules() {
        out.push(schedules_section(&cases));
    }
    if let Some(case) = golden.primitive() {
        out.push(primitive_section(case));
    }
    for (key, _) in golden::TRAJECTORY_SECTIONS {
        if let Some(cases) = golden.trajectories(key) {
            out.push(trajectory_section(key, &cases));
        }
    }
    out
}

// ----- bound calls as gradstep's arguments ----------------------------------------------------

/// A bound argument with its lists owned, for [`construct::Arg`] to borrow.
enum Owned {
    Float(f64),
    Count(u32),
    Flag(bool),
    Counts(Vec<u32>),
    Floats(Vec<f64>),
}

/// A count as gradstep takes it (`u32`); one ≤ 0 becomes 0, which gradstep rejects as MindSpore
/// rejects any count ≤ 0.
fn count(n: i64) -> Result<u32, String> {
    if n <= 0 {
        return Ok(0);
    }
    u32::try_from(n).map_err(|_| format!("{n} does not fit a u32 step count"))
}

fn owned(bound: &Bound) -> Result<Vec<Owned>, String> {
    bound
        .args
        .iter()
        .map(|(_, a)| {
            Ok(match a {
                golden::Arg::Float(x) => Owned::Float(*x),
                golden::Arg::Int(n) => Owned::Count(count(*n)?),
                golden::Arg::Bool(b) => Owned::Flag(*b),
                golden::Arg::IntList(v) => {
                    Owned::Counts(v.iter().map(|n| count(*n)).collect::<Result<_, _>>()?)
                }
                golden::Arg::FloatList(v) => Owned::Floats(v.clone()),
            })
        })
        .collect()
}

fn borrowed(owned: &[Owned]) -> Vec<Arg<'_>> {
    owned
        .iter()
        .map(|o| match o {
            Owned::Float(x) => Arg::Float(*x),
            Owned::Count(n) => Arg::Count(*n),
            Owned::Flag(b) => Arg::Flag(*b),
            Owned::Counts(v) => Arg::Counts(v),
            Owned::Floats(v) => Arg::Floats(v),
        })
        .collect()
}

/// A schedule from a call: `Err` when the runner cannot make it, `Ok(Err)` when gradstep rejects
/// it.
pub fn schedule(call: &Call) -> Result<Result<Schedule, Error>, BindError> {
    let bound = call.bind()?;
    let o = owned(&bound).map_err(BindError::Arguments)?;
    construct::schedule(&bound.name, &borrowed(&o)).ok_or(BindError::Unknown(bound.name))
}

/// Whether gradstep rejects on purpose what MindSpore accepts (DESIGN divergence 4).
fn divergence(e: &Error) -> Option<&'static str> {
    match e {
        Error::Negative(gradstep::Param::LearningRate) => {
            Some("divergence: gradstep rejects a negative learning rate (DESIGN divergence 4)")
        }
        Error::NotFinite(gradstep::Param::LearningRate) => {
            Some("divergence: gradstep rejects a non-finite learning rate (DESIGN divergence 4)")
        }
        _ => None,
    }
}

/// gradstep rejected a case MindSpore accepted: a skip when that is a documented divergence.
fn rejected(e: Error) -> Outcome {
    match divergence(&e) {
        Some(why) => Outcome::Skip(why.into()),
        None => Outcome::Fail(format!("gradstep rejected it: {e}")),
    }
}

/// A bind error as an outcome: MindSpore's validators check the same types, so a type error must
/// have been MindSpore's exception too.
fn unbound(e: BindError, raised: bool) -> Outcome {
    match e {
        BindError::Type(_) if raised => Outcome::Pass,
        BindError::Type(why) => {
            Outcome::Fail(format!("MindSpore accepted what the runner rejects: {why}"))
        }
        e => Outcome::Skip(e.to_string()),
    }
}

// ----- dynamic_lr ---------------------------------------------------------------------------

fn dynamic_lr_section(cases: &[Labeled<DynamicLrCase>]) -> Section {
    let mut s = Section::new("dynamic_lr");
    let mut tally = F64Tally::default();
    for c in cases {
        let outcome = match &c.case {
            Err(why) => Outcome::Skip(why.clone()),
            Ok(case) => match case.call.bind() {
                Err(e) => unbound(e, case.values.is_none()),
                Ok(bound) => match owned(&bound) {
                    Err(why) => Outcome::Skip(why),
                    Ok(o) => construct::table(&bound.name, &borrowed(&o), |t| {
                        judge_table(t, case, &mut tally)
                    })
                    .unwrap_or_else(|| Outcome::Skip(format!("unknown function {}", bound.name))),
                },
            },
        };
        s.record(&c.label, outcome);
    }
    s.notes.push(format!(
        "f64 (before rounding to f32): {} of {} entries differ from MindSpore's doubles \
         (libm against glibc), by at most {} ulp",
        tally.differ, tally.entries, tally.max_ulps
    ));
    s
}

/// Running totals of the `f64` comparison of tables.
#[derive(Default)]
struct F64Tally {
    entries: usize,
    differ: usize,
    max_ulps: u64,
}

/// The distance in units in the last place between two finite doubles of the same sign.
fn ulps(a: f64, b: f64) -> u64 {
    (a.to_bits() as i64 - b.to_bits() as i64).unsigned_abs()
}

/// Compares one table with MindSpore's list (or its exception), counting the `f64` differences.
fn judge_table(
    table: Result<&dyn DynamicLr, Error>,
    case: &DynamicLrCase,
    tally: &mut F64Tally,
) -> Outcome {
    let (table, values) = match (table, &case.values) {
        (Err(_), None) => return Outcome::Pass,
        (Ok(_), None) => {
            let raised = case.exception.as_deref().unwrap_or("an exception");
            return Outcome::Fail(format!("MindSpore raised {raised}, gradstep accepted"));
        }
        (Err(e), Some(_)) => return rejected(e),
        (Ok(table), Some(values)) => (table, values),
    };
    let mut ours = vec![0.0f32; table.total_step()];
    if let Err(e) = table.fill(&mut ours) {
        return rejected(e);
    }
    if ours.len() != values.len() {
        return Outcome::Fail(format!(
            "length {} against MindSpore's {}",
            ours.len(),
            values.len()
        ));
    }
    let mut failure = None;
    for (j, (&(want64, want), &o)) in values.iter().zip(&ours).enumerate() {
        if want.to_bits() != o.to_bits() {
            failure.get_or_insert(format!(
                "entry {j}: gradstep {:#010x} ({o:e}), MindSpore {:#010x}",
                o.to_bits(),
                want.to_bits()
            ));
        }
        if let Some(want64) = want64 {
            let got = table.value(j);
            tally.entries += 1;
            if got.to_bits() != want64.to_bits() {
                tally.differ += 1;
                tally.max_ulps = tally.max_ulps.max(ulps(got, want64));
            }
        }
    }
    failure.map_or(Outcome::Pass, Outcome::Fail)
}

// ----- schedules ----------------------------------------------------------------------------

fn schedules_section(cases: &[Labeled<ScheduleCase>]) -> Section {
    let mut s = Section::new("schedules");
    for c in cases {
        let outcome = match &c.case {
            Err(why) => Outcome::Skip(why.clone()),
            Ok(case) => {
                let raised = case.exception.is_some();
                match schedule(&case.call) {
                    Err(e) => unbound(e, raised),
                    Ok(Err(_)) if raised => Outcome::Pass,
                    Ok(Err(e)) => Outcome::Fail(format!("gradstep rejected it: {e}")),
                    Ok(Ok(_)) if raised => {
                        Outcome::Fail("MindSpore raised, gradstep accepted".into())
                    }
                    Ok(Ok(sched)) => compare_schedule(&sched, case),
                }
            }
        };
        s.record(&c.label, outcome);
    }
    s
}

/// Compares a schedule with the recorded direct calls and with the lr the optimizer used. The
/// optimizer probe turns −0 into +0 (see ms_golden.py), so there ±0 are equal.
fn compare_schedule(sched: &Schedule, case: &ScheduleCase) -> Outcome {
    let mut compared = 0;
    for (key, values) in [
        ("values_direct_call", &case.direct),
        ("lr_used_by_momentum_at_step_k", &case.used_by_momentum),
    ] {
        for (&k, &want) in case.steps.iter().zip(values.iter().flatten()) {
            let ours = sched.lr(k);
            let zero_probe = key.starts_with("lr_used") && want == 0.0 && ours == 0.0;
            if want.to_bits() != ours.to_bits() && !zero_probe {
                return Outcome::Fail(format!(
                    "{key} at step {k}: gradstep {:#010x} ({ours:e}), MindSpore {:#010x}",
                    ours.to_bits(),
                    want.to_bits()
                ));
            }
            compared += 1;
        }
    }
    if compared == 0 {
        Outcome::Skip("no recorded values".into())
    } else {
        Outcome::Pass
    }
}

// ----- apply_momentum_primitive -------------------------------------------------------------

/// The first element where `ours` and the expected `want` differ in their bits.
fn difference(what: &str, ours: &[f32], want: &[f32]) -> Option<String> {
    if ours.len() != want.len() {
        return Some(format!(
            "{what}: {} elements against {}",
            ours.len(),
            want.len()
        ));
    }
    ours.iter()
        .zip(want)
        .enumerate()
        .find(|(_, (a, b))| a.to_bits() != b.to_bits())
        .map(|(i, (a, b))| {
            format!(
                "{what}[{i}]: gradstep {:#010x} ({a:e}), expected {:#010x} ({b:e})",
                a.to_bits(),
                b.to_bits()
            )
        })
}

fn primitive_section(case: Result<golden::Primitive, String>) -> Section {
    let mut s = Section::new("apply_momentum_primitive");
    let p = match case {
        Ok(p) => p,
        Err(why) => {
            s.record("inputs", Outcome::Skip(why));
            return s;
        }
    };
    let run = |nesterov: bool, want_w: &[f32], want_m: &[f32]| -> Outcome {
        let step =
            match MomentumStep::new(p.learning_rate, p.momentum as f64, nesterov, GradPrep::NONE) {
                Ok(step) => step,
                Err(e) => return Outcome::Fail(format!("gradstep rejected the inputs: {e}")),
            };
        let (mut w, mut m) = (p.variable.clone(), p.accumulation.clone());
        if let Err(e) = kernel::momentum(&mut w, &p.gradient, &mut m, None, &step) {
            return Outcome::Fail(format!("gradstep rejected the inputs: {e}"));
        }
        match difference("variable", &w, want_w).or_else(|| difference("accumulation", &m, want_m))
        {
            Some(d) => Outcome::Fail(d),
            None => Outcome::Pass,
        }
    };
    for (nesterov, w, m) in &p.runs {
        // MindSpore's CPU kernel ignores use_nesterov: it always ran plain momentum.
        s.record(
            &format!("ApplyMomentum(use_nesterov={nesterov}) on CPU"),
            run(false, w, m),
        );
    }
    if let Some((w, m)) = &p.documented_nesterov {
        s.record("Nesterov", run(true, w, m));
        s.notes.push(
            "Nesterov computed from the DESIGN formula (divergence 1), against the file's numpy \
             emulation of it; MindSpore's CPU kernel ignores use_nesterov"
                .into(),
        );
    }
    s
}

// ----- optimizer trajectories -----------------------------------------------------------------

/// The optimizer after one step: params and every state buffer (each per parameter, in creation
/// order), the scalars it keeps (Adam's beta powers) and the global step.
#[derive(Clone, Debug, PartialEq)]
pub struct After {
    pub params: Vec<Vec<f32>>,
    pub state: Vec<Vec<Vec<f32>>>,
    pub scalars: Vec<f32>,
    pub global_step: u32,
}

/// A trajectory as run: the optimizer after each step.
pub type Run = Vec<After>;

/// The learning rate of a spec at step `k`, as the DESIGN formulas take it.
pub fn lr_at(spec: &LrSpec, k: usize) -> Result<f32, String> {
    Ok(match spec {
        LrSpec::Static(x) => *x as f32,
        LrSpec::List(v) => *v.get(k).ok_or("past the table")? as f32,
        LrSpec::Schedule(call) => schedule(call)
            .map_err(|e| e.to_string())?
            .map_err(|e| e.to_string())?
            .lr(k as u32),
    })
}

/// A trajectory's Adam settings (`K` included).
fn adam_settings(h: &golden::Hyper) -> AdamSettings {
    AdamSettings::new()
        .with_betas(h.beta1, h.beta2)
        .with_eps(h.eps)
        .with_nesterov(h.nesterov)
        .with_amsgrad(h.amsgrad)
        .with_loss_scale(h.loss_scale)
        .with_threads(h.threads)
}

/// Runs a trajectory through gradstep's optimizer, with the trajectory's settings.
pub fn run_trajectory(t: &Trajectory) -> Result<Run, String> {
    let (specs, distinct) = t.layout();
    let tensors: Vec<Tensor> = specs
        .iter()
        .map(|s| Tensor {
            len: s.len,
            rows: NonZeroUsize::new(s.rows),
            group: s.group,
        })
        .collect();
    let tables: Vec<Vec<f32>> = distinct
        .iter()
        .map(|g| match &g.lr {
            LrSpec::List(v) => v.iter().map(|x| *x as f32).collect(),
            _ => vec![],
        })
        .collect();
    let schedules: Vec<Option<Schedule>> = distinct
        .iter()
        .map(|g| match &g.lr {
            LrSpec::Schedule(call) => match schedule(call) {
                Ok(Ok(s)) => Ok(Some(s)),
                Ok(Err(e)) => Err(format!("{}: {e}", call.describe())),
                Err(e) => Err(e.to_string()),
            },
            _ => Ok(None),
        })
        .collect::<Result<_, _>>()?;
    let mut groups: Vec<Group> = distinct
        .iter()
        .enumerate()
        .map(|(j, g)| {
            let lr = match (&g.lr, &schedules[j]) {
                (LrSpec::Static(x), _) => Lr::new_static(*x)?,
                (LrSpec::List(_), _) => Lr::Table(Table::new(&tables[j], PastEnd::Reject)?),
                (LrSpec::Schedule(_), s) => Lr::Schedule(s.as_ref().ok_or(Error::EmptyTable)?),
            };
            Group::new(lr, g.weight_decay, g.centralize)
        })
        .collect::<Result<_, Error>>()
        .map_err(|e| format!("gradstep rejected the groups: {e}"))?;
    let fail = |e: Error| format!("gradstep: {e}");
    let h = &t.hyper;
    let groups = &mut groups[..];
    match t.optimizer {
        golden::Optimizer::Momentum => {
            let settings = MomentumSettings::new(h.momentum)
                .with_nesterov(h.nesterov)
                .with_loss_scale(h.loss_scale);
            let opt = Momentum::new(&tensors, groups, settings).map_err(fail)?;
            replay(t, opt, |_| vec![])
        }
        golden::Optimizer::Sgd => {
            let settings = SgdSettings::default()
                .with_momentum(h.momentum)
                .with_dampening(h.dampening)
                .with_nesterov(h.nesterov)
                .with_loss_scale(h.loss_scale);
            let opt = Sgd::new(&tensors, groups, settings).map_err(fail)?;
            replay(t, opt, |_| vec![])
        }
        golden::Optimizer::Adam => {
            let opt = Adam::new(&tensors, groups, adam_settings(h)).map_err(fail)?;
            replay(t, opt, |r| r.powers().to_vec())
        }
        golden::Optimizer::AdamWeightDecay => {
            let settings = AdamWSettings::new()
                .with_betas(h.beta1, h.beta2)
                .with_eps(h.eps);
            let opt = AdamWeightDecay::new(&tensors, groups, settings).map_err(fail)?;
            replay(t, opt, |_| vec![])
        }
    }
}

/// Feeds the recorded gradients to `opt`, step by step; `scalars` reads what the rule keeps.
fn replay<'a, R: Rule>(
    t: &Trajectory,
    mut opt: Optimizer<'a, R, &mut [Group<'a>]>,
    scalars: impl Fn(&R) -> Vec<f32>,
) -> Result<Run, String> {
    let mut params = t.initial();
    let mut state = vec![0.0f32; opt.state_len()];
    let mut run = vec![];
    for st in &t.steps {
        opt.step(&mut params, &t.flat(&st.grads), &mut state)
            .map_err(|e| format!("gradstep: {e}"))?;
        run.push(After {
            params: t.unflat(&params),
            state: state
                .chunks(params.len().max(1))
                .map(|b| t.unflat(b))
                .collect(),
            scalars: scalars(opt.rule()),
            global_step: opt.global_step(),
        });
    }
    Ok(run)
}

/// Expected values after one step: params, state buffers (when recorded), scalars (empty when
/// not recorded), global step (when recorded).
struct Expected {
    params: Vec<Vec<f32>>,
    state: Option<Vec<Vec<Vec<f32>>>>,
    scalars: Vec<f32>,
    global_step: Option<u32>,
}

impl From<After> for Expected {
    fn from(a: After) -> Expected {
        Expected {
            params: a.params,
            state: Some(a.state),
            scalars: a.scalars,
            global_step: Some(a.global_step),
        }
    }
}

/// Compares a run with expected values: MindSpore's record, or the emulation.
fn compare_run(ours: &Run, expected: &[Expected]) -> Option<String> {
    for (k, (ours, want)) in ours.iter().zip(expected).enumerate() {
        for (i, (p, w)) in ours.params.iter().zip(&want.params).enumerate() {
            if let Some(d) = difference(&format!("step {k}, params[{i}]"), p, w) {
                return Some(d);
            }
        }
        for (b, (s, w)) in ours
            .state
            .iter()
            .zip(want.state.iter().flatten())
            .enumerate()
        {
            for (i, (s, w)) in s.iter().zip(w).enumerate() {
                if let Some(d) = difference(&format!("step {k}, state {b}[{i}]"), s, w) {
                    return Some(d);
                }
            }
        }
        let scalars = difference(&format!("step {k}, scalars"), &ours.scalars, &want.scalars);
        if let Some(d) = scalars.filter(|_| !want.scalars.is_empty()) {
            return Some(d);
        }
        if want.global_step.is_some_and(|w| w != ours.global_step) {
            return Some(format!(
                "step {k}: global_step {}, MindSpore {:?}",
                ours.global_step, want.global_step
            ));
        }
    }
    (ours.len() != expected.len())
        .then(|| format!("{} steps against {}", ours.len(), expected.len()))
}

/// gradstep's semantics where it differs from MindSpore on purpose, and how they were checked:
/// AMSGrad with Nesterov is refused (DESIGN divergence 7); otherwise the run is compared with the
/// DESIGN formulas.
fn own_semantics(t: &Trajectory) -> (Outcome, &'static str) {
    let h = &t.hyper;
    if t.optimizer == golden::Optimizer::Adam && h.amsgrad && h.nesterov {
        let outcome = match AdamRule::new(&adam_settings(h)) {
            Err(Error::AmsgradWithNesterov) => Outcome::Pass,
            other => Outcome::Fail(format!("AMSGrad with Nesterov gave {other:?}")),
        };
        return (
            outcome,
            "gradstep refuses the settings with Error::AmsgradWithNesterov",
        );
    }
    let checked =
        "with gradstep's semantics compared with values computed from the DESIGN formulas";
    let outcome = match (run_trajectory(t), emulate(t)) {
        (Ok(run), Ok(expected)) => {
            let expected: Vec<Expected> = expected.into_iter().map(Expected::from).collect();
            match compare_run(&run, &expected) {
                Some(d) => Outcome::Fail(format!("against the DESIGN formulas: {d}")),
                None => Outcome::Pass,
            }
        }
        (Err(e), _) | (_, Err(e)) => Outcome::Fail(e),
    };
    (outcome, checked)
}

fn trajectory_section(name: &str, cases: &[Labeled<Trajectory>]) -> Section {
    let mut s = Section::new(name);
    for c in cases {
        let t = match &c.case {
            Ok(t) => t,
            Err(why) => {
                s.record(&c.label, Outcome::Skip(why.clone()));
                continue;
            }
        };
        // (a) as MindSpore ran it, against its record
        let (ran, quirks) = t.as_mindspore_ran();
        if ran.groups.iter().any(|g| g.centralize) {
            s.record(
                &c.label,
                Outcome::Skip("gradient centralization: MindSpore's CPU does not run it".into()),
            );
            continue;
        }
        let recorded: Vec<Expected> = t
            .steps
            .iter()
            .map(|st| Expected {
                params: st.params.clone(),
                state: st.state.clone(),
                scalars: st.scalars.clone(),
                global_step: st.global_step,
            })
            .collect();
        let outcome = match run_trajectory(&ran) {
            Err(why) => Outcome::Fail(why),
            Ok(run) => match compare_run(&run, &recorded) {
                Some(d) => Outcome::Fail(format!("against MindSpore: {d}")),
                None => Outcome::Pass,
            },
        };
        if quirks.is_empty() || outcome != Outcome::Pass {
            s.record(&c.label, outcome);
            continue;
        }
        // (b) gradstep's documented semantics
        let (outcome, checked) = own_semantics(t);
        s.notes.push(format!(
            "{}: bit-exact with MindSpore's record when run as MindSpore ran it ({}); {checked}",
            c.label,
            quirks.join("; ")
        ));
        s.record(&c.label, outcome);
    }
    s
}
