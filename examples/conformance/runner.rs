//! The conformance runner's logic: runs every case of a golden file (the format written by
//! `tests/golden/ms_golden.py`) through gradstep and compares the bits.
//!
//! It knows MindSpore's function and class signatures, not the cases: any file in the format
//! works — sections may be missing, a schedule's `steps` may be any list, arguments may be
//! positional or named. A case it cannot run is counted as skipped, with the reason.

use gradstep::Error;
use gradstep::group::{Group, Tensor};
use gradstep::hyper::{GradPrep, MomentumStep};
use gradstep::kernel;
use gradstep::lr::dynamic::{self, DynamicLr};
use gradstep::lr::schedule::{
    CosineDecayLr, ExponentialDecayLr, InverseDecayLr, NaturalExpDecayLr, PolynomialDecayLr,
    Schedule, WarmUpLr,
};
use gradstep::lr::{Lr, LrSchedule, PastEnd, Table};
use gradstep::optim::{MomentumSettings, MomentumSlice, SgdSettings, SgdSlice};
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
    if let Some(case) = golden
        .get("apply_momentum_primitive")
        .filter(|v| v.is_object())
    {
        out.push(primitive_section(case));
    }
    for (key, kind) in [
        ("momentum_trajectories", Kind2::Momentum),
        ("dense_network", Kind2::Momentum),
        ("sgd_trajectories", Kind2::Sgd),
    ] {
        let cases = match golden.get(key) {
            Some(Value::Array(a)) => a.clone(),
            Some(v @ Value::Object(_)) => vec![v.clone()],
            _ => continue,
        };
        out.push(trajectory_section(key, kind, &cases));
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

/// A call: `Name(positional..., name=value...)`, from a golden-file record or from a
/// constructor string such as `"PolynomialDecayLR(0.1, 0.01, 4, 2.0, update_decay_steps=True)"`.
pub struct Call {
    pub name: String,
    pub args: Vec<Value>,
    pub kwargs: Map<String, Value>,
}

impl Call {
    /// Parses a constructor string: positional arguments, then `name=value` flags; values are
    /// Python numbers (ints, or floats parsed exactly), `True`/`False`, or lists of them.
    pub fn parse(s: &str) -> Result<Call, String> {
        let s = s.trim();
        let (name, rest) = s.split_once('(').ok_or("no '('")?;
        let inner = rest.strip_suffix(')').ok_or("no ')'")?;
        let mut call = Call {
            name: name.trim().into(),
            args: vec![],
            kwargs: Map::new(),
        };
        for part in split_top_level(inner) {
            let part = part.trim();
            if part.is_empty() {
                continue;
            }
            match part.split_once('=') {
                Some((k, v)) => {
                    call.kwargs.insert(k.trim().into(), python_value(v.trim())?);
                }
                None if call.kwargs.is_empty() => call.args.push(python_value(part)?),
                None => return Err("positional argument after a keyword argument".into()),
            }
        }
        Ok(call)
    }
}

fn split_top_level(s: &str) -> Vec<&str> {
    let (mut parts, mut depth, mut start) = (vec![], 0, 0);
    for (i, c) in s.char_indices() {
        match c {
            '[' | '(' => depth += 1,
            ']' | ')' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&s[start..]);
    parts
}

fn python_value(s: &str) -> Result<Value, String> {
    match s {
        "True" => return Ok(Value::Bool(true)),
        "False" => return Ok(Value::Bool(false)),
        _ => {}
    }
    if let Some(inner) = s.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
        return split_top_level(inner)
            .into_iter()
            .filter(|p| !p.trim().is_empty())
            .map(|p| python_value(p.trim()))
            .collect::<Result<Vec<_>, _>>()
            .map(Value::Array);
    }
    let is_float = s.contains(['.', 'e', 'E']) || s.contains("inf") || s.contains("nan");
    if is_float {
        let f: f64 = s.parse().map_err(|_| format!("not a number: {s}"))?;
        serde_json::Number::from_f64(f)
            .map(Value::Number)
            .ok_or(format!("not a finite number: {s}"))
    } else {
        let i: i64 = s.parse().map_err(|_| format!("not a number: {s}"))?;
        Ok(Value::from(i))
    }
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

// ----- shared helpers for the optimizer sections ----------------------------------------------

/// An encoded f32 array `{"shape", "hex": [...]}`, flattened.
fn f32s_of(v: &Value) -> Option<Vec<f32>> {
    v.get("hex")?
        .as_array()?
        .iter()
        .map(|h| hex_bits(h).map(|b| f32::from_bits(b as u32)))
        .collect()
}

fn shape_of(v: &Value) -> Option<Vec<usize>> {
    v.get("shape")?
        .as_array()?
        .iter()
        .map(|d| d.as_u64().map(|d| d as usize))
        .collect()
}

/// The first element where `ours` and MindSpore's `want` differ in their bits.
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

// ----- apply_momentum_primitive -------------------------------------------------------------

fn primitive_section(case: &Value) -> Section {
    let mut s = Section::new("apply_momentum_primitive");
    let inputs = &case["inputs"];
    let parts = (
        f32s_of(&inputs["variable"]),
        f32s_of(&inputs["accumulation"]),
        f32s_of(&inputs["gradient"]),
        f32_of(&inputs["learning_rate"]),
        f32_of(&inputs["momentum"]),
    );
    let (Some(var), Some(acc), Some(grad), Some(lr), Some(mu)) = parts else {
        s.record("inputs", Outcome::Skip("inputs missing".into()));
        return s;
    };
    let run = |nesterov: bool, expected: &Value| -> Outcome {
        let (Some(want_w), Some(want_m)) = (
            f32s_of(&expected["variable_after"]),
            f32s_of(&expected["accumulation_after"]),
        ) else {
            return Outcome::Skip("expected values missing".into());
        };
        let step = match MomentumStep::new(lr, mu as f64, nesterov, GradPrep::NONE) {
            Ok(step) => step,
            Err(e) => return Outcome::Fail(format!("gradstep rejected the inputs: {e}")),
        };
        let (mut w, mut m) = (var.clone(), acc.clone());
        if let Err(e) = kernel::momentum(&mut w, &grad, &mut m, None, &step) {
            return Outcome::Fail(format!("gradstep rejected the inputs: {e}"));
        }
        match difference("variable", &w, &want_w)
            .or_else(|| difference("accumulation", &m, &want_m))
        {
            Some(d) => Outcome::Fail(d),
            None => Outcome::Pass,
        }
    };
    for r in case["runs"].as_array().into_iter().flatten() {
        let nesterov = r["use_nesterov"].as_bool().unwrap_or(false);
        // MindSpore's CPU kernel ignores use_nesterov: it always ran plain momentum.
        s.record(
            &format!("ApplyMomentum(use_nesterov={nesterov}) on CPU"),
            run(false, r),
        );
    }
    if let Some(documented) = case.get("reference_only_gpu_nesterov_formula_numpy") {
        s.record("Nesterov", run(true, documented));
        s.notes.push(
            "Nesterov computed from the DESIGN formula (divergence 1), against the file's numpy \
             emulation of it; MindSpore's CPU kernel ignores use_nesterov"
                .into(),
        );
    }
    s
}

// ----- optimizer trajectories -----------------------------------------------------------------

/// The optimizer a trajectory section records.
#[derive(Clone, Copy, PartialEq)]
pub enum Kind2 {
    Momentum,
    Sgd,
}

/// Where a parameter's learning rate comes from, as the config gives it.
#[derive(Clone, Debug, PartialEq)]
enum LrSpec {
    Static(f64),
    Table(Vec<f32>),
    Schedule(String),
}

fn lr_spec(v: &Value) -> Result<LrSpec, String> {
    match v {
        Value::Number(n) => n.as_f64().map(LrSpec::Static).ok_or("bad number".into()),
        Value::Array(a) => a
            .iter()
            .map(|x| {
                x.as_f64()
                    .map(|x| x as f32)
                    .ok_or(format!("learning-rate list holds {x}"))
            })
            .collect::<Result<_, _>>()
            .map(LrSpec::Table),
        Value::String(s) => Ok(LrSpec::Schedule(s.clone())),
        other => Err(format!(
            "learning rate {other} is neither a number, a list nor a constructor"
        )),
    }
}

/// A parameter's group settings, resolved from the config (weight decay already 0 where MindSpore
/// does not decay the parameter).
#[derive(Clone, Debug, PartialEq)]
struct GroupSpec {
    lr: LrSpec,
    weight_decay: f64,
    centralize: bool,
}

struct Recorded {
    grads: Vec<Vec<f32>>,
    params: Vec<Vec<f32>>,
    state: Option<Vec<Vec<f32>>>,
    global_step: Option<u64>,
}

/// One trajectory case, parsed: everything indexed by the original parameter order.
struct Trajectory {
    kind: Kind2,
    shapes: Vec<Vec<usize>>,
    initial: Vec<Vec<f32>>,
    /// The optimizer's parameter order (MindSpore's `order_params`), as original indices.
    order: Vec<usize>,
    groups: Vec<GroupSpec>,
    momentum: f64,
    dampening: f64,
    nesterov: bool,
    loss_scale: f64,
    /// MindSpore rounds static group lrs through `(lr ⊕ 1) ⊖ 1` (a grouped, dynamic lr).
    convert_to_cell: bool,
    steps: Vec<Recorded>,
}

fn parse_trajectory(case: &Value, kind: Kind2) -> Result<Trajectory, String> {
    let cfg = &case["config"];
    let initial: Vec<Vec<f32>> = case["initial_params"]
        .as_array()
        .ok_or("no initial_params")?
        .iter()
        .map(|p| f32s_of(p).ok_or("bad initial_params".to_string()))
        .collect::<Result<_, _>>()?;
    let shapes: Vec<Vec<usize>> = case["initial_params"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| shape_of(p).ok_or("bad shape".to_string()))
        .collect::<Result<_, _>>()?;
    let n = initial.len();
    let names: Vec<String> = match case.get("param_names").and_then(Value::as_array) {
        Some(a) => a
            .iter()
            .map(|v| v.as_str().unwrap_or("").to_string())
            .collect(),
        None => (0..n).map(|i| format!("p{i}")).collect(),
    };
    if names.len() != n {
        return Err("param_names and initial_params differ in length".into());
    }
    let index = |name: &str| {
        names
            .iter()
            .position(|x| x == name)
            .ok_or(format!("unknown parameter {name}"))
    };
    let order: Vec<usize> = match case.get("optimizer_param_order").and_then(Value::as_array) {
        Some(a) => a
            .iter()
            .map(|v| index(v.as_str().unwrap_or("")))
            .collect::<Result<_, _>>()?,
        None => (0..n).collect(),
    };

    let top_lr = match cfg.get("learning_rate") {
        Some(v) => lr_spec(v)?,
        None if kind == Kind2::Sgd => LrSpec::Static(0.1), // nn.SGD's default
        None => return Err("no learning_rate".into()),
    };
    let top_wd = cfg
        .get("weight_decay")
        .and_then(Value::as_f64)
        .unwrap_or(0.0);
    let loss_scale = cfg.get("loss_scale").and_then(Value::as_f64).unwrap_or(1.0);
    let mut dynamic = !matches!(top_lr, LrSpec::Static(_));
    let mut group_lr = false;
    let mut groups: Vec<Option<GroupSpec>> = vec![None; n];
    match cfg.get("groups").and_then(Value::as_array) {
        Some(list) => {
            for g in list.iter().filter(|g| g.get("order_params").is_none()) {
                let lr = match g.get("lr") {
                    Some(v) => {
                        group_lr = true;
                        lr_spec(v)?
                    }
                    None => top_lr.clone(),
                };
                dynamic |= !matches!(lr, LrSpec::Static(_));
                let spec = GroupSpec {
                    lr,
                    weight_decay: g
                        .get("weight_decay")
                        .and_then(Value::as_f64)
                        .unwrap_or(top_wd),
                    centralize: g
                        .get("grad_centralization")
                        .and_then(Value::as_bool)
                        .unwrap_or(false),
                };
                for p in g["params"].as_array().ok_or("a group without params")? {
                    groups[index(p.as_str().unwrap_or(""))?] = Some(spec.clone());
                }
            }
        }
        None => groups.fill(Some(GroupSpec {
            lr: top_lr.clone(),
            weight_decay: top_wd,
            centralize: false,
        })),
    }
    let mut groups: Vec<GroupSpec> = groups
        .into_iter()
        .collect::<Option<_>>()
        .ok_or("a parameter is in no group")?;
    // Which parameters MindSpore decays: as recorded, else its rules (groups: wd > 0; otherwise
    // a case-sensitive name filter on "beta" and "gamma").
    let flags: Vec<bool> = match case.get("decay_flags").and_then(Value::as_array) {
        Some(f) => {
            let mut by_name = vec![false; n];
            for (k, &i) in order.iter().enumerate() {
                by_name[i] = f.get(k).and_then(Value::as_bool).unwrap_or(false);
            }
            by_name
        }
        None if cfg.get("groups").is_some() => {
            groups.iter().map(|g| g.weight_decay > 0.0).collect()
        }
        None => names
            .iter()
            .map(|s| !s.contains("beta") && !s.contains("gamma"))
            .collect(),
    };
    for (g, decays) in groups.iter_mut().zip(flags) {
        if !decays {
            g.weight_decay = 0.0;
        }
    }

    let state_key = if kind == Kind2::Momentum {
        "moments_after"
    } else {
        "accum_after"
    };
    let arrays =
        |v: &Value| -> Option<Vec<Vec<f32>>> { v.as_array()?.iter().map(f32s_of).collect() };
    let steps = case["steps"]
        .as_array()
        .ok_or("no steps")?
        .iter()
        .map(|st| {
            Ok(Recorded {
                grads: arrays(&st["grads_in"]).ok_or("bad grads_in")?,
                params: arrays(&st["params_after"]).ok_or("bad params_after")?,
                state: arrays(&st[state_key]),
                global_step: st.get("global_step_after").and_then(Value::as_u64),
            })
        })
        .collect::<Result<Vec<_>, String>>()?;
    Ok(Trajectory {
        kind,
        shapes,
        initial,
        order,
        groups,
        momentum: cfg.get("momentum").and_then(Value::as_f64).unwrap_or(0.0),
        dampening: cfg.get("dampening").and_then(Value::as_f64).unwrap_or(0.0),
        nesterov: cfg
            .get("use_nesterov")
            .or(cfg.get("nesterov"))
            .and_then(Value::as_bool)
            .unwrap_or(false),
        loss_scale,
        convert_to_cell: group_lr && dynamic,
        steps,
    })
}

/// Builds a schedule from a constructor string.
fn schedule_of(text: &str) -> Result<Schedule, String> {
    let call = Call::parse(text)?;
    schedule(&call)?.map_err(|e| format!("{text}: {e}"))
}

/// The state after each step: (params, state, global step), each per original parameter.
type Run = Vec<(Vec<Vec<f32>>, Vec<Vec<f32>>, u32)>;

/// Runs the trajectory through gradstep's optimizer. `as_mindspore` reproduces MindSpore's CPU
/// quirks (Nesterov ignored by `ApplyMomentum`, static group lrs through `(lr ⊕ 1) ⊖ 1`);
/// otherwise gradstep's own semantics apply.
fn run_trajectory(t: &Trajectory, as_mindspore: bool) -> Result<Run, String> {
    // one gradstep group per distinct setting
    let mut distinct: Vec<&GroupSpec> = vec![];
    let group_of: Vec<usize> = t
        .groups
        .iter()
        .map(|g| match distinct.iter().position(|d| *d == g) {
            Some(i) => i,
            None => {
                distinct.push(g);
                distinct.len() - 1
            }
        })
        .collect();
    let tensors: Vec<Tensor> = t
        .order
        .iter()
        .map(|&i| match t.shapes[i].as_slice() {
            [rows, rest @ ..] if !rest.is_empty() => {
                Tensor::matrix(*rows, rest.iter().product(), group_of[i])
            }
            _ => Tensor::vector(t.initial[i].len(), group_of[i]),
        })
        .collect();
    let schedules: Vec<Option<Schedule>> = distinct
        .iter()
        .map(|g| match &g.lr {
            LrSpec::Schedule(text) => schedule_of(text).map(Some),
            _ => Ok(None),
        })
        .collect::<Result<_, _>>()?;
    let mut groups: Vec<Group> = distinct
        .iter()
        .zip(&schedules)
        .map(|(g, sched)| {
            let lr = match (&g.lr, sched) {
                (LrSpec::Static(x), _) if as_mindspore && t.convert_to_cell => {
                    Lr::Static((*x as f32 + 1.0) - 1.0)
                }
                (LrSpec::Static(x), _) => Lr::fixed(*x)?,
                (LrSpec::Table(v), _) => Lr::Table(Table::new(v, PastEnd::Error)?),
                // `schedules` holds a schedule for every LrSpec::Schedule
                (LrSpec::Schedule(_), s) => Lr::Schedule(s.as_ref().ok_or(Error::EmptyTable)?),
            };
            Group::new(lr, g.weight_decay, g.centralize)
        })
        .collect::<Result<_, Error>>()
        .map_err(|e| format!("gradstep rejected the groups: {e}"))?;

    let flat = |per_param: &[Vec<f32>]| -> Vec<f32> {
        t.order.iter().flat_map(|&i| per_param[i].clone()).collect()
    };
    let mut params = flat(&t.initial);
    let mut state = vec![0.0f32; params.len()];
    let unflatten = |buf: &[f32]| -> Vec<Vec<f32>> {
        let mut out = vec![vec![]; t.initial.len()];
        let mut offset = 0;
        for &i in &t.order {
            out[i] = buf[offset..offset + t.initial[i].len()].to_vec();
            offset += t.initial[i].len();
        }
        out
    };
    let mut run = vec![];
    let fail = |e: Error| format!("gradstep: {e}");
    match t.kind {
        Kind2::Momentum => {
            let mut settings = MomentumSettings::new(t.momentum);
            settings.nesterov = t.nesterov && !as_mindspore;
            settings.loss_scale = t.loss_scale;
            let mut opt =
                MomentumSlice::with_groups(&tensors, &mut groups, settings).map_err(fail)?;
            for st in &t.steps {
                opt.step(&mut params, &flat(&st.grads), &mut state)
                    .map_err(fail)?;
                run.push((unflatten(&params), unflatten(&state), opt.global_step()));
            }
        }
        Kind2::Sgd => {
            let settings = SgdSettings {
                momentum: t.momentum,
                dampening: t.dampening,
                nesterov: t.nesterov,
                loss_scale: t.loss_scale,
                ..SgdSettings::default()
            };
            let mut opt = SgdSlice::with_groups(&tensors, &mut groups, settings).map_err(fail)?;
            for st in &t.steps {
                opt.step(&mut params, &flat(&st.grads), &mut state)
                    .map_err(fail)?;
                run.push((unflatten(&params), unflatten(&state), opt.global_step()));
            }
        }
    }
    Ok(run)
}

/// The DESIGN formulas, written out independently of gradstep's kernels: MindSpore's momentum
/// step (§2.2) with a static lr used exactly and Nesterov as documented.
fn emulate_momentum(t: &Trajectory) -> Result<Run, String> {
    let mu = t.momentum as f32;
    let unscale = (1.0 / t.loss_scale) as f32;
    let mut w = t.initial.clone();
    let mut m: Vec<Vec<f32>> = w.iter().map(|p| vec![0.0; p.len()]).collect();
    let mut run = vec![];
    for (k, st) in t.steps.iter().enumerate() {
        for (j, g) in t.groups.iter().enumerate() {
            let lr = match &g.lr {
                LrSpec::Static(x) => *x as f32,
                LrSpec::Table(v) => *v.get(k).ok_or("past the table")?,
                LrSpec::Schedule(text) => schedule_of(text)?.lr(k as u32),
            };
            let decay = (g.weight_decay * t.loss_scale) as f32;
            let decays = g.weight_decay * t.loss_scale > 0.0;
            for ((w, m), &grad) in w[j].iter_mut().zip(m[j].iter_mut()).zip(&st.grads[j]) {
                let grad = if decays { *w * decay + grad } else { grad };
                let grad = if t.loss_scale != 1.0 {
                    grad * unscale
                } else {
                    grad
                };
                *m = *m * mu + grad;
                *w = if t.nesterov {
                    *w - (grad * lr + *m * mu * lr)
                } else {
                    *w - *m * lr
                };
            }
        }
        run.push((w.clone(), m.clone(), k as u32 + 1));
    }
    Ok(run)
}

/// Expected values after one step: params, state (when recorded), global step (when recorded).
type Expected = (Vec<Vec<f32>>, Option<Vec<Vec<f32>>>, Option<u64>);

/// Compares a run with expected values: MindSpore's record, or the emulation.
fn compare_run(ours: &Run, expected: &[Expected]) -> Option<String> {
    for (k, ((params, state, step), (want_p, want_s, want_step))) in
        ours.iter().zip(expected).enumerate()
    {
        for (i, (p, w)) in params.iter().zip(want_p).enumerate() {
            if let Some(d) = difference(&format!("step {k}, params[{i}]"), p, w) {
                return Some(d);
            }
        }
        for (i, (s, w)) in state.iter().zip(want_s.iter().flatten()).enumerate() {
            if let Some(d) = difference(&format!("step {k}, state[{i}]"), s, w) {
                return Some(d);
            }
        }
        if want_step.is_some_and(|w| w != *step as u64) {
            return Some(format!(
                "step {k}: global_step {step}, MindSpore {want_step:?}"
            ));
        }
    }
    (ours.len() != expected.len())
        .then(|| format!("{} steps against {}", ours.len(), expected.len()))
}

fn trajectory_section(name: &str, kind: Kind2, cases: &[Value]) -> Section {
    let mut s = Section::new(name);
    for (i, case) in cases.iter().enumerate() {
        let label = case
            .get("name")
            .and_then(Value::as_str)
            .map_or(format!("case {i}"), |n| format!("{n} ({i})"));
        let t = match parse_trajectory(case, kind) {
            Ok(t) => t,
            Err(why) => {
                s.record(&label, Outcome::Skip(why));
                continue;
            }
        };
        if t.groups.iter().any(|g| g.centralize) {
            s.record(
                &label,
                Outcome::Skip("gradient centralization: MindSpore's CPU does not run it".into()),
            );
            continue;
        }
        // (a) as MindSpore ran it, against its record
        let recorded: Vec<_> = t
            .steps
            .iter()
            .map(|st| (st.params.clone(), st.state.clone(), st.global_step))
            .collect();
        let outcome = match run_trajectory(&t, true) {
            Err(why) => Outcome::Fail(why),
            Ok(run) => match compare_run(&run, &recorded) {
                Some(d) => Outcome::Fail(format!("against MindSpore: {d}")),
                None => Outcome::Pass,
            },
        };
        let diverges = (kind == Kind2::Momentum && t.nesterov) || t.convert_to_cell;
        if !diverges || !matches!(outcome, Outcome::Pass) {
            s.record(&label, outcome);
            continue;
        }
        // (b) gradstep's documented semantics, against the DESIGN formulas
        let why = if t.nesterov {
            "Nesterov (DESIGN divergence 1)"
        } else {
            "a static group lr used exactly, not (lr ⊕ 1) ⊖ 1 (DESIGN divergence 2)"
        };
        let outcome = match (run_trajectory(&t, false), emulate_momentum(&t)) {
            (Ok(run), Ok(expected)) => {
                let expected: Vec<_> = expected
                    .into_iter()
                    .map(|(p, m, k)| (p, Some(m), Some(k as u64)))
                    .collect();
                match compare_run(&run, &expected) {
                    Some(d) => Outcome::Fail(format!("against the DESIGN formulas: {d}")),
                    None => Outcome::Pass,
                }
            }
            (Err(e), _) | (_, Err(e)) => Outcome::Fail(e),
        };
        s.notes.push(format!(
            "{label}: bit-exact with MindSpore's record when run with MindSpore's CPU quirks; \
             with gradstep's semantics — {why} — compared with values computed from the DESIGN formulas"
        ));
        s.record(&label, outcome);
    }
    s
}
