//! MindSpore calls: `Name(positional..., name=value...)` from a record (`func`/`class`, `args`,
//! `kwargs`) or from a constructor string such as `"PolynomialDecayLR(0.1, 0.01, 4, 2.0,
//! update_decay_steps=True)"`, and their binding to MindSpore's signatures with MindSpore's strict
//! types (an int is not a float, a bool is not an int), as Python binds arguments.

use serde_json::{Map, Value};

/// A call: a function or class name and its arguments, unbound.
#[derive(Clone, Debug, PartialEq)]
pub struct Call {
    pub name: String,
    pub args: Vec<Value>,
    pub kwargs: Map<String, Value>,
}

/// The type a parameter must have, as MindSpore's validators check it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Float,
    Int,
    Bool,
    IntList,
    FloatList,
}

/// A parameter of a signature: its name, its type, and whether it defaults to `False` (the
/// flags; every other parameter of these signatures is required).
type ParamSpec = (&'static str, Kind);

use Kind::*;

const DECAY_TABLE: &[ParamSpec] = &[
    ("learning_rate", Float),
    ("decay_rate", Float),
    ("total_step", Int),
    ("step_per_epoch", Int),
    ("decay_epoch", Int),
    ("is_stair", Bool),
];
const DECAY_SCHEDULE: &[ParamSpec] = &[
    ("learning_rate", Float),
    ("decay_rate", Float),
    ("decay_steps", Int),
    ("is_stair", Bool),
];

/// MindSpore's `dynamic_lr` functions and `LearningRateSchedule` classes, as this crate binds
/// them (flags default to `False`).
pub const SIGNATURES: &[(&str, &[ParamSpec])] = &[
    (
        "piecewise_constant_lr",
        &[("milestone", IntList), ("learning_rates", FloatList)],
    ),
    ("exponential_decay_lr", DECAY_TABLE),
    ("natural_exp_decay_lr", DECAY_TABLE),
    ("inverse_decay_lr", DECAY_TABLE),
    (
        "cosine_decay_lr",
        &[
            ("min_lr", Float),
            ("max_lr", Float),
            ("total_step", Int),
            ("step_per_epoch", Int),
            ("decay_epoch", Int),
        ],
    ),
    (
        "polynomial_decay_lr",
        &[
            ("learning_rate", Float),
            ("end_learning_rate", Float),
            ("total_step", Int),
            ("step_per_epoch", Int),
            ("decay_epoch", Int),
            ("power", Float),
            ("update_decay_epoch", Bool),
        ],
    ),
    (
        "warmup_lr",
        &[
            ("learning_rate", Float),
            ("total_step", Int),
            ("step_per_epoch", Int),
            ("warmup_epoch", Int),
        ],
    ),
    ("ExponentialDecayLR", DECAY_SCHEDULE),
    ("NaturalExpDecayLR", DECAY_SCHEDULE),
    ("InverseDecayLR", DECAY_SCHEDULE),
    (
        "CosineDecayLR",
        &[("min_lr", Float), ("max_lr", Float), ("decay_steps", Int)],
    ),
    (
        "PolynomialDecayLR",
        &[
            ("learning_rate", Float),
            ("end_learning_rate", Float),
            ("decay_steps", Int),
            ("power", Float),
            ("update_decay_steps", Bool),
        ],
    ),
    (
        "WarmUpLR",
        &[("learning_rate", Float), ("warmup_steps", Int)],
    ),
];

/// Why a call could not be bound.
#[derive(Clone, Debug, PartialEq)]
pub enum BindError {
    /// An argument of a type MindSpore's validators reject (so MindSpore raised `TypeError`).
    Type(String),
    /// A name this crate does not know.
    Unknown(String),
    /// Arguments Python itself would not bind (too many, unknown, twice, missing).
    Arguments(String),
}

impl std::fmt::Display for BindError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BindError::Type(s) => write!(f, "type error: {s}"),
            BindError::Unknown(s) => write!(f, "unknown function {s}"),
            BindError::Arguments(s) => f.write_str(s),
        }
    }
}

/// One bound argument, in signature order.
#[derive(Clone, Debug, PartialEq)]
pub enum Arg {
    Float(f64),
    Int(i64),
    Bool(bool),
    IntList(Vec<i64>),
    FloatList(Vec<f64>),
}

/// A call bound to its signature: every parameter, in order.
#[derive(Clone, Debug, PartialEq)]
pub struct Bound {
    pub name: String,
    pub args: Vec<(&'static str, Arg)>,
}

impl Call {
    /// The call a record describes: its name under `name_key` (`"func"`, `"class"`), `args` and
    /// `kwargs`.
    pub fn of_record(case: &Value, name_key: &str) -> Option<Call> {
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

    /// Parses a constructor string: positional arguments, then `name=value`; values are Python
    /// numbers (ints, or floats parsed exactly), `True`/`False`, or lists of them. An `nn.`
    /// prefix is dropped.
    pub fn parse(s: &str) -> Result<Call, String> {
        let s = s.trim();
        let (name, rest) = s.split_once('(').ok_or("no '('")?;
        let inner = rest.strip_suffix(')').ok_or("no ')'")?;
        let name = name.trim();
        let mut call = Call {
            name: name.strip_prefix("nn.").unwrap_or(name).into(),
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

    /// `name(1, 0.5, flag=true)`, for messages.
    pub fn describe(&self) -> String {
        let mut parts: Vec<String> = self.args.iter().map(Value::to_string).collect();
        parts.extend(self.kwargs.iter().map(|(k, v)| format!("{k}={v}")));
        format!("{}({})", self.name, parts.join(", "))
    }

    /// Binds the arguments to the signature of [`Call::name`] in [`SIGNATURES`], as Python does:
    /// positional, then keyword; flags default to `False`.
    pub fn bind(&self) -> Result<Bound, BindError> {
        let params = SIGNATURES
            .iter()
            .find(|(n, _)| *n == self.name)
            .ok_or_else(|| BindError::Unknown(self.name.clone()))?
            .1;
        if self.args.len() > params.len() {
            return Err(BindError::Arguments(format!(
                "{} positional arguments for {} parameters",
                self.args.len(),
                params.len()
            )));
        }
        let mut bound: Map<String, Value> = Map::new();
        for ((name, _), v) in params.iter().zip(&self.args) {
            bound.insert((*name).into(), v.clone());
        }
        for (k, v) in &self.kwargs {
            if !params.iter().any(|(n, _)| n == k) {
                return Err(BindError::Arguments(format!("unknown argument {k}")));
            }
            if bound.insert(k.clone(), v.clone()).is_some() {
                return Err(BindError::Arguments(format!("argument {k} given twice")));
            }
        }
        let mut args = vec![];
        for &(name, kind) in params {
            let arg = match (bound.get(name), kind) {
                (Some(v), _) => arg_of(name, kind, v)?,
                (None, Bool) => Arg::Bool(false),
                (None, _) => {
                    return Err(BindError::Arguments(format!("missing argument {name}")));
                }
            };
            args.push((name, arg));
        }
        Ok(Bound {
            name: self.name.clone(),
            args,
        })
    }
}

/// A value of the kind a parameter must have, or MindSpore's `TypeError`.
fn arg_of(name: &str, kind: Kind, v: &Value) -> Result<Arg, BindError> {
    let int = |x: &Value| x.as_i64().filter(|_| x.is_i64() || x.is_u64());
    let arg = match kind {
        Float if v.is_f64() => v.as_f64().map(Arg::Float),
        Int => int(v).map(Arg::Int),
        Bool => v.as_bool().map(Arg::Bool),
        IntList => v
            .as_array()
            .and_then(|a| a.iter().map(int).collect::<Option<Vec<_>>>())
            .map(Arg::IntList),
        FloatList => v
            .as_array()
            .filter(|a| a.iter().all(Value::is_f64))
            .and_then(|a| a.iter().map(Value::as_f64).collect::<Option<Vec<_>>>())
            .map(Arg::FloatList),
        Float => None,
    };
    arg.ok_or_else(|| BindError::Type(format!("{name} = {v}")))
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

/// A Python literal: `True`, `False`, a list, a float (parsed exactly, as Python does) or an int.
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

impl Bound {
    fn get(&self, name: &str) -> Option<&Arg> {
        self.args.iter().find(|(n, _)| *n == name).map(|(_, a)| a)
    }

    /// A float parameter.
    pub fn float(&self, name: &str) -> f64 {
        match self.get(name) {
            Some(Arg::Float(x)) => *x,
            _ => f64::NAN,
        }
    }

    /// A flag.
    pub fn flag(&self, name: &str) -> bool {
        matches!(self.get(name), Some(Arg::Bool(true)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn constructor_strings() {
        let c =
            Call::parse("PolynomialDecayLR(0.1, 0.01, 4, 2.0, update_decay_steps=True)").unwrap();
        assert_eq!(c.name, "PolynomialDecayLR");
        assert_eq!(c.args, vec![json!(0.1), json!(0.01), json!(4), json!(2.0)]);
        assert_eq!(c.kwargs["update_decay_steps"], json!(true));
        // floats are parsed exactly (the nearest double, as Python does)
        let c = Call::parse("nn.WarmUpLR(0.30000000000000004, 3)").unwrap();
        assert_eq!(c.name, "WarmUpLR");
        assert_eq!(
            c.args[0].as_f64().unwrap().to_bits(),
            0.30000000000000004f64.to_bits()
        );
        assert!(Call::parse("WarmUpLR(lr=0.1, 3)").is_err());
        assert!(Call::parse("WarmUpLR 0.1").is_err());
    }

    #[test]
    fn binding_is_pythons_with_mindsporess_types() {
        let c = Call::parse("CosineDecayLR(0.01, max_lr=0.1, decay_steps=4)").unwrap();
        let b = c.bind().unwrap();
        assert_eq!(b.args[2], ("decay_steps", Arg::Int(4)));
        assert_eq!(b.float("max_lr"), 0.1);
        // an int where a float is wanted, a bool where an int is
        let e = Call::parse("CosineDecayLR(1, 0.1, 4)").unwrap().bind();
        assert!(matches!(e, Err(BindError::Type(_))), "{e:?}");
        let e = Call::parse("WarmUpLR(0.1, True)").unwrap().bind();
        assert!(matches!(e, Err(BindError::Type(_))), "{e:?}");
        // defaults, and what Python refuses
        let b = Call::parse("ExponentialDecayLR(0.1, 0.9, 4)")
            .unwrap()
            .bind()
            .unwrap();
        assert!(!b.flag("is_stair"));
        for bad in [
            "WarmUpLR(0.1)",
            "WarmUpLR(0.1, 3, 4)",
            "WarmUpLR(0.1, 3, warmup_steps=3)",
            "WarmUpLR(0.1, 3, foo=1)",
        ] {
            let e = Call::parse(bad).unwrap().bind();
            assert!(matches!(e, Err(BindError::Arguments(_))), "{bad}: {e:?}");
        }
        let e = Call::parse("OneCycleLR(0.1)").unwrap().bind();
        assert_eq!(e, Err(BindError::Unknown("OneCycleLR".into())));
    }
}
