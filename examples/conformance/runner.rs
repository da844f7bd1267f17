//! The conformance runner's logic: runs every case of a golden file (the format written by
//! `tests/golden/ms_golden.py`) through gradstep and compares the bits.
//!
//! It knows MindSpore's function and class signatures, not the cases: any file in the format
//! works — sections may be missing, a schedule's `steps` may be any list, arguments may be
//! positional or named. A case it cannot run is counted as skipped, with the reason.

use gradstep::Error;
use gradstep::lr::LrSchedule;
use gradstep::lr::dynamic::{self, DynamicLr};
use gradstep::lr::schedule::{
    CosineDecayLr, ExponentialDecayLr, InverseDecayLr, NaturalExpDecayLr, PolynomialDecayLr,
    Schedule, WarmUpLr,
};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::fmt;

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
pub enum Outcome {
    Pass,
    Fail(String),
    Skip(String),
}

/// Runs every section of `golden` that the runner knows; sections that are absent are not
/// reported.
pub fn run(golden: &Value) -> Vec<Section> {
    let mut out = Vec::new();
    if let Some(cases) = golden.get("dynamic_lr").and_then(Value::as_array) {
        out.push(dynamic_lr_section(cases));
    }
    if let Some(cases) = golden.get("schedules").and_then(Value::as_array) {
        out.push(schedules_section(cases));
    }
    out
}

// ----- reading the encoding -----------------------------------------------------------------

fn hex_bits(v: &Value) -> Option<u64> {
    u64::from_str_radix(v.as_str()?.trim_start_matches("0x"), 16).ok()
}

/// An encoded f32 `{"hex": "0x..."}`.
pub fn f32_of(v: &Value) -> Option<f32> {
    Some(f32::from_bits(hex_bits(&v["hex"])? as u32))
}

/// A Python double `{"f64_hex": float.hex(), ...}`: C99 hex-float syntax.
pub fn f64_of_hex(s: &str) -> Option<f64> {
    let (neg, s) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    let v = match s {
        "inf" => f64::INFINITY,
        "nan" => f64::NAN,
        _ => {
            let s = s.strip_prefix("0x")?;
            let (mantissa, exp) = s.split_once('p')?;
            let exp: i32 = exp.parse().ok()?;
            let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
            let mut m = u64::from_str_radix(int, 16).ok()? as f64;
            let mut scale = 1.0 / 16.0;
            for c in frac.chars() {
                m += c.to_digit(16)? as f64 * scale;
                scale /= 16.0;
            }
            m * 2f64.powi(exp)
        }
    };
    Some(if neg { -v } else { v })
}

/// The distance in units in the last place between two finite doubles of the same sign.
fn ulps(a: f64, b: f64) -> u64 {
    (a.to_bits() as i64 - b.to_bits() as i64).unsigned_abs()
}

// ----- binding Python-style calls -----------------------------------------------------------

/// The type a parameter must have, as MindSpore checks it.
#[derive(Clone, Copy)]
enum Kind {
    Float,
    Int,
    Bool,
    IntList,
    FloatList,
}

/// A parameter: name, type, and default (for keyword parameters).
type ParamSpec = (&'static str, Kind, Option<Value>);

/// The arguments of a call, bound to a signature.
pub struct Args(Map<String, Value>);

impl Args {
    /// Binds positional `args` then keyword `kwargs` to `params`, as Python does; a wrong type
    /// is an error, as in MindSpore's validators (an int is not a float; a bool is not an int).
    fn bind(
        params: &[ParamSpec],
        args: &[Value],
        kwargs: &Map<String, Value>,
    ) -> Result<Args, String> {
        if args.len() > params.len() {
            return Err(format!(
                "{} positional arguments for {} parameters",
                args.len(),
                params.len()
            ));
        }
        let mut bound = Map::new();
        for ((name, _, _), v) in params.iter().zip(args) {
            bound.insert((*name).into(), v.clone());
        }
        for (k, v) in kwargs {
            if !params.iter().any(|(n, _, _)| n == k) {
                return Err(format!("unknown argument {k}"));
            }
            if bound.insert(k.clone(), v.clone()).is_some() {
                return Err(format!("argument {k} given twice"));
            }
        }
        for (name, kind, default) in params {
            match (bound.get(*name), default) {
                (Some(v), _) => check_kind(name, *kind, v)?,
                (None, Some(d)) => {
                    bound.insert((*name).into(), d.clone());
                }
                (None, None) => return Err(format!("missing argument {name}")),
            }
        }
        Ok(Args(bound))
    }

    fn float(&self, name: &str) -> f64 {
        self.0[name].as_f64().unwrap_or(f64::NAN)
    }

    /// A count as gradstep takes it (`u32`); a negative count becomes 0, which gradstep rejects
    /// as MindSpore rejects any count ≤ 0.
    fn count(&self, name: &str) -> Result<u32, String> {
        let v = &self.0[name];
        if v.as_i64().is_some_and(|i| i <= 0) {
            return Ok(0);
        }
        v.as_u64()
            .and_then(|n| u32::try_from(n).ok())
            .ok_or_else(|| format!("{name} = {v} does not fit a u32 step count"))
    }

    fn flag(&self, name: &str) -> bool {
        self.0[name].as_bool().unwrap_or(false)
    }

    fn floats(&self, name: &str) -> Vec<f64> {
        self.0[name]
            .as_array()
            .map_or(vec![], |a| a.iter().filter_map(Value::as_f64).collect())
    }

    fn counts(&self, name: &str) -> Result<Vec<u32>, String> {
        let list = self.0[name].as_array().cloned().unwrap_or_default();
        list.iter()
            .map(|v| match v.as_i64() {
                Some(i) if i <= 0 => Ok(0),
                _ => v
                    .as_u64()
                    .and_then(|n| u32::try_from(n).ok())
                    .ok_or(format!("{v} is not a u32")),
            })
            .collect()
    }
}

fn check_kind(name: &str, kind: Kind, v: &Value) -> Result<(), String> {
    let ok = match kind {
        Kind::Float => v.is_f64(),
        Kind::Int => v.is_i64() || v.is_u64(),
        Kind::Bool => v.is_boolean(),
        Kind::IntList => v
            .as_array()
            .is_some_and(|a| a.iter().all(|x| x.is_i64() || x.is_u64())),
        Kind::FloatList => v.as_array().is_some_and(|a| a.iter().all(Value::is_f64)),
    };
    if ok {
        Ok(())
    } else {
        Err(format!("type error: {name} = {v}"))
    }
}

/// A call: `Name(positional..., name=value...)`, from a golden-file record.
pub struct Call {
    pub name: String,
    pub args: Vec<Value>,
    pub kwargs: Map<String, Value>,
}

// ----- dynamic_lr ---------------------------------------------------------------------------

fn float(name: &'static str) -> ParamSpec {
    (name, Kind::Float, None)
}
fn int(name: &'static str) -> ParamSpec {
    (name, Kind::Int, None)
}
fn flag(name: &'static str) -> ParamSpec {
    (name, Kind::Bool, Some(Value::Bool(false)))
}

/// Binds a `dynamic_lr` call, builds gradstep's table from it, and hands it to `then`; the
/// error is the reason the runner could not call gradstep at all.
fn with_dynamic_lr<R>(
    call: &Call,
    then: impl FnOnce(Result<&dyn DynamicLr, Error>) -> R,
) -> Result<R, String> {
    let decay = [
        float("learning_rate"),
        float("decay_rate"),
        int("total_step"),
        int("step_per_epoch"),
        int("decay_epoch"),
        flag("is_stair"),
    ];
    let b = |params: &[ParamSpec]| Args::bind(params, &call.args, &call.kwargs);
    fn give<T: DynamicLr, R>(
        r: Result<T, Error>,
        then: impl FnOnce(Result<&dyn DynamicLr, Error>) -> R,
    ) -> R {
        match &r {
            Ok(t) => then(Ok(t)),
            Err(e) => then(Err(*e)),
        }
    }
    Ok(match call.name.as_str() {
        "piecewise_constant_lr" => {
            let a = b(&[
                ("milestone", Kind::IntList, None),
                ("learning_rates", Kind::FloatList, None),
            ])?;
            let (milestones, lrs) = (a.counts("milestone")?, a.floats("learning_rates"));
            give(dynamic::PiecewiseConstant::new(&milestones, &lrs), then)
        }
        "exponential_decay_lr" => {
            let a = b(&decay)?;
            give(
                dynamic::ExponentialDecay::new(
                    a.float("learning_rate"),
                    a.float("decay_rate"),
                    a.count("total_step")?,
                    a.count("step_per_epoch")?,
                    a.count("decay_epoch")?,
                    a.flag("is_stair"),
                ),
                then,
            )
        }
        "natural_exp_decay_lr" => {
            let a = b(&decay)?;
            give(
                dynamic::NaturalExpDecay::new(
                    a.float("learning_rate"),
                    a.float("decay_rate"),
                    a.count("total_step")?,
                    a.count("step_per_epoch")?,
                    a.count("decay_epoch")?,
                    a.flag("is_stair"),
                ),
                then,
            )
        }
        "inverse_decay_lr" => {
            let a = b(&decay)?;
            give(
                dynamic::InverseDecay::new(
                    a.float("learning_rate"),
                    a.float("decay_rate"),
                    a.count("total_step")?,
                    a.count("step_per_epoch")?,
                    a.count("decay_epoch")?,
                    a.flag("is_stair"),
                ),
                then,
            )
        }
        "cosine_decay_lr" => {
            let a = b(&[
                float("min_lr"),
                float("max_lr"),
                int("total_step"),
                int("step_per_epoch"),
                int("decay_epoch"),
            ])?;
            give(
                dynamic::CosineDecay::new(
                    a.float("min_lr"),
                    a.float("max_lr"),
                    a.count("total_step")?,
                    a.count("step_per_epoch")?,
                    a.count("decay_epoch")?,
                ),
                then,
            )
        }
        "polynomial_decay_lr" => {
            let a = b(&[
                float("learning_rate"),
                float("end_learning_rate"),
                int("total_step"),
                int("step_per_epoch"),
                int("decay_epoch"),
                float("power"),
                flag("update_decay_epoch"),
            ])?;
            give(
                dynamic::PolynomialDecay::new(
                    a.float("learning_rate"),
                    a.float("end_learning_rate"),
                    a.count("total_step")?,
                    a.count("step_per_epoch")?,
                    a.count("decay_epoch")?,
                    a.float("power"),
                    a.flag("update_decay_epoch"),
                ),
                then,
            )
        }
        "warmup_lr" => {
            let a = b(&[
                float("learning_rate"),
                int("total_step"),
                int("step_per_epoch"),
                int("warmup_epoch"),
            ])?;
            give(
                dynamic::Warmup::new(
                    a.float("learning_rate"),
                    a.count("total_step")?,
                    a.count("step_per_epoch")?,
                    a.count("warmup_epoch")?,
                ),
                then,
            )
        }
        other => return Err(format!("unknown function {other}")),
    })
}

fn call_of(case: &Value, name_key: &str) -> Option<Call> {
    Some(Call {
        name: case.get(name_key)?.as_str()?.into(),
        args: case
            .get("args")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default(),
        kwargs: case
            .get("kwargs")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default(),
    })
}

fn describe(call: &Call) -> String {
    let mut parts: Vec<String> = call.args.iter().map(Value::to_string).collect();
    parts.extend(call.kwargs.iter().map(|(k, v)| format!("{k}={v}")));
    format!("{}({})", call.name, parts.join(", "))
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

fn dynamic_lr_section(cases: &[Value]) -> Section {
    let mut s = Section::new("dynamic_lr");
    let mut tally = F64Tally::default();
    for (i, case) in cases.iter().enumerate() {
        let Some(call) = call_of(case, "func") else {
            s.record(&format!("case {i}"), Outcome::Skip("no 'func'".into()));
            continue;
        };
        let name = describe(&call);
        let expected = case.get("values").and_then(Value::as_array);
        let outcome = match with_dynamic_lr(&call, |table| judge_table(table, case, &mut tally)) {
            Ok(outcome) => outcome,
            // MindSpore's validators check the same types, so a type error must be its exception.
            Err(why) if why.starts_with("type error") && expected.is_none() => Outcome::Pass,
            Err(why) if why.starts_with("type error") => {
                Outcome::Fail(format!("MindSpore accepted what the runner rejects: {why}"))
            }
            Err(why) => Outcome::Skip(why),
        };
        s.record(&name, outcome);
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

/// Compares one table with MindSpore's list (or its exception), counting the `f64` differences.
fn judge_table(
    table: Result<&dyn DynamicLr, Error>,
    case: &Value,
    tally: &mut F64Tally,
) -> Outcome {
    let expected = case.get("values").and_then(Value::as_array);
    let table = match (table, expected) {
        (Err(_), None) => return Outcome::Pass,
        (Ok(_), None) => {
            let raised = case
                .get("exception")
                .and_then(Value::as_str)
                .unwrap_or("an exception");
            return Outcome::Fail(format!("MindSpore raised {raised}, gradstep accepted"));
        }
        (Err(e), Some(_)) => return rejected(e),
        (Ok(table), Some(_)) => table,
    };
    let values = expected.map_or(&[][..], |v| v.as_slice());
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
    for (j, (v, &o)) in values.iter().zip(&ours).enumerate() {
        if f32_of(&v["f32"]).map(f32::to_bits) != Some(o.to_bits()) {
            failure.get_or_insert(format!(
                "entry {j}: gradstep {:#010x} ({o:e}), MindSpore {}",
                o.to_bits(),
                v["f32"]["hex"]
            ));
        }
        if let Some(want) = v["f64_hex"].as_str().and_then(f64_of_hex) {
            let got = table.value(j);
            tally.entries += 1;
            if got.to_bits() != want.to_bits() {
                tally.differ += 1;
                tally.max_ulps = tally.max_ulps.max(ulps(got, want));
            }
        }
    }
    failure.map_or(Outcome::Pass, Outcome::Fail)
}

/// gradstep rejected a case MindSpore accepted: a skip when that is a documented divergence.
fn rejected(e: Error) -> Outcome {
    match divergence(&e) {
        Some(why) => Outcome::Skip(why.into()),
        None => Outcome::Fail(format!("gradstep rejected it: {e}")),
    }
}

// ----- schedules ----------------------------------------------------------------------------

/// A schedule class with its arguments bound and validated by gradstep.
pub fn schedule(call: &Call) -> Result<Result<Schedule, Error>, String> {
    let b = |params: &[ParamSpec]| Args::bind(params, &call.args, &call.kwargs);
    let decay = [
        float("learning_rate"),
        float("decay_rate"),
        int("decay_steps"),
        flag("is_stair"),
    ];
    Ok(match call.name.as_str() {
        "ExponentialDecayLR" => {
            let a = b(&decay)?;
            ExponentialDecayLr::new(
                a.float("learning_rate"),
                a.float("decay_rate"),
                a.count("decay_steps")?,
                a.flag("is_stair"),
            )
            .map(Schedule::ExponentialDecay)
        }
        "NaturalExpDecayLR" => {
            let a = b(&decay)?;
            NaturalExpDecayLr::new(
                a.float("learning_rate"),
                a.float("decay_rate"),
                a.count("decay_steps")?,
                a.flag("is_stair"),
            )
            .map(Schedule::NaturalExpDecay)
        }
        "InverseDecayLR" => {
            let a = b(&decay)?;
            InverseDecayLr::new(
                a.float("learning_rate"),
                a.float("decay_rate"),
                a.count("decay_steps")?,
                a.flag("is_stair"),
            )
            .map(Schedule::InverseDecay)
        }
        "CosineDecayLR" => {
            let a = b(&[float("min_lr"), float("max_lr"), int("decay_steps")])?;
            CosineDecayLr::new(
                a.float("min_lr"),
                a.float("max_lr"),
                a.count("decay_steps")?,
            )
            .map(Schedule::CosineDecay)
        }
        "PolynomialDecayLR" => {
            let a = b(&[
                float("learning_rate"),
                float("end_learning_rate"),
                int("decay_steps"),
                float("power"),
                flag("update_decay_steps"),
            ])?;
            PolynomialDecayLr::new(
                a.float("learning_rate"),
                a.float("end_learning_rate"),
                a.count("decay_steps")?,
                a.float("power"),
                a.flag("update_decay_steps"),
            )
            .map(Schedule::PolynomialDecay)
        }
        "WarmUpLR" => {
            let a = b(&[float("learning_rate"), int("warmup_steps")])?;
            WarmUpLr::new(a.float("learning_rate"), a.count("warmup_steps")?).map(Schedule::WarmUp)
        }
        other => return Err(format!("unknown schedule class {other}")),
    })
}

fn schedules_section(cases: &[Value]) -> Section {
    let mut s = Section::new("schedules");
    for (i, case) in cases.iter().enumerate() {
        let Some(call) = call_of(case, "class") else {
            s.record(&format!("case {i}"), Outcome::Skip("no 'class'".into()));
            continue;
        };
        let name = describe(&call);
        let outcome = match schedule(&call) {
            Err(why) if why.starts_with("type error") && case.get("exception").is_some() => {
                Outcome::Pass
            }
            Err(why) => Outcome::Skip(why),
            Ok(Err(_)) if case.get("exception").is_some() => Outcome::Pass,
            Ok(Err(e)) => Outcome::Fail(format!("gradstep rejected it: {e}")),
            Ok(Ok(_)) if case.get("exception").is_some() => {
                Outcome::Fail("MindSpore raised, gradstep accepted".into())
            }
            Ok(Ok(sched)) => compare_schedule(&sched, case),
        };
        s.record(&name, outcome);
    }
    s
}

/// Compares a schedule with the recorded direct calls and with the lr the optimizer used. The
/// optimizer probe turns −0 into +0 (see ms_golden.py), so there ±0 are equal.
fn compare_schedule(sched: &Schedule, case: &Value) -> Outcome {
    let Some(steps) = case.get("steps").and_then(Value::as_array) else {
        return Outcome::Skip("no 'steps'".into());
    };
    let mut compared = 0;
    for key in ["values_direct_call", "lr_used_by_momentum_at_step_k"] {
        let Some(values) = case.get(key).and_then(Value::as_array) else {
            continue;
        };
        if values.len() != steps.len() {
            return Outcome::Skip(format!("{key} and steps differ in length"));
        }
        for (step, v) in steps.iter().zip(values) {
            let Some(k) = step.as_u64().and_then(|k| u32::try_from(k).ok()) else {
                return Outcome::Skip(format!("step {step} is not a u32"));
            };
            let (ours, want) = (sched.lr(k), f32_of(v));
            let same = want.is_some_and(|w| {
                w.to_bits() == ours.to_bits()
                    || (key.starts_with("lr_used") && w == 0.0 && ours == 0.0)
            });
            if !same {
                return Outcome::Fail(format!(
                    "{key} at step {k}: gradstep {:#010x} ({ours:e}), MindSpore {}",
                    ours.to_bits(),
                    v["hex"]
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
