//! The one reader of gradstep's golden files: values recorded from MindSpore 2.10.0 by
//! `tests/golden/ms_golden.py` (Momentum, SGD, learning rates) and `ms_golden_adam.py` (Adam,
//! AdamWeightDecay). Their format is documented in `docs/SEMANTICS.md` §8 and
//! `docs/SEMANTICS-ADAM.md` §9.
//!
//! It knows the file format and MindSpore's signatures, not gradstep: the conformance runner, the
//! integration tests, the Cortex-M4F firmware's code generation and the C test's header map what
//! it reads to gradstep's API. Adding a section or an optimizer to the format is done here.

pub mod c_header;
pub mod call;
pub mod encoding;
pub mod trajectory;

use std::path::{Path, PathBuf};

use serde_json::Value;

pub use call::{Arg, BindError, Bound, Call};
pub use encoding::{f32_of, f32s_of, f64_of_hex};
pub use trajectory::{GroupSpec, Hyper, LrSpec, Optimizer, Param, Step, TensorSpec, Trajectory};

/// The sections that record optimizer trajectories, and their optimizer. A section may hold one
/// record (`dense_network`) or a list.
pub const TRAJECTORY_SECTIONS: [(&str, Optimizer); 5] = [
    ("momentum_trajectories", Optimizer::Momentum),
    ("dense_network", Optimizer::Momentum),
    ("sgd_trajectories", Optimizer::Sgd),
    ("adam_trajectories", Optimizer::Adam),
    ("adamw_trajectories", Optimizer::AdamWeightDecay),
];

/// The visible golden files, in the repository's `tests/golden/`.
pub const VISIBLE: [&str; 2] = ["golden-2.10.0.json", "golden-adam-2.10.0.json"];

/// A case of a section, with the label it is reported under; `case` is the reason when the case
/// could not be read.
#[derive(Clone, Debug)]
pub struct Labeled<T> {
    pub label: String,
    pub case: Result<T, String>,
}

/// A golden file.
#[derive(Clone, Debug)]
pub struct Golden {
    pub value: Value,
}

/// A `dynamic_lr` case: a call and MindSpore's table, or the exception it raised.
#[derive(Clone, Debug, PartialEq)]
pub struct DynamicLrCase {
    pub call: Call,
    /// Per entry: MindSpore's `f64` (before rounding, when recorded) and the `f32` an optimizer
    /// stores. `None` when MindSpore raised.
    pub values: Option<Vec<(Option<f64>, f32)>>,
    pub exception: Option<String>,
}

/// A `LearningRateSchedule` case: its values at `steps`, called directly and as read inside a
/// Momentum step (where MindSpore's probe turns −0 into +0); or the exception it raised.
#[derive(Clone, Debug, PartialEq)]
pub struct ScheduleCase {
    pub call: Call,
    pub steps: Vec<u32>,
    pub direct: Option<Vec<f32>>,
    pub used_by_momentum: Option<Vec<f32>>,
    pub exception: Option<String>,
}

/// The `ApplyMomentum` primitive on one tensor.
#[derive(Clone, Debug, PartialEq)]
pub struct Primitive {
    pub variable: Vec<f32>,
    pub accumulation: Vec<f32>,
    pub gradient: Vec<f32>,
    pub learning_rate: f32,
    pub momentum: f32,
    /// MindSpore's runs: `use_nesterov`, the variable and accumulation after.
    pub runs: Vec<(bool, Vec<f32>, Vec<f32>)>,
    /// The file's numpy emulation of the documented Nesterov formula (DESIGN divergence 1).
    pub documented_nesterov: Option<(Vec<f32>, Vec<f32>)>,
}

/// A validation case: a Python call and whether MindSpore accepted it.
#[derive(Clone, Debug, PartialEq)]
pub struct ErrorCase {
    pub name: String,
    pub call: String,
    pub ok: bool,
    pub exception: Option<String>,
    pub message: Option<String>,
}

impl Golden {
    /// Reads and parses a golden file.
    pub fn load(path: impl AsRef<Path>) -> Result<Golden, String> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let value = serde_json::from_str(&text)
            .map_err(|e| format!("{} is not JSON: {e}", path.display()))?;
        Ok(Golden { value })
    }

    /// The path of a visible golden file (one of [`VISIBLE`]).
    pub fn visible_path(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../tests/golden")
            .join(name)
    }

    /// The visible golden file of Momentum, SGD and the learning rates.
    pub fn visible() -> Golden {
        Golden::load(Golden::visible_path(VISIBLE[0])).unwrap_or_else(|e| panic!("{e}"))
    }

    /// The visible golden file of Adam and AdamWeightDecay.
    pub fn visible_adam() -> Golden {
        Golden::load(Golden::visible_path(VISIBLE[1])).unwrap_or_else(|e| panic!("{e}"))
    }

    /// `meta.mindspore_version` and `meta.device`.
    pub fn origin(&self) -> (String, String) {
        let meta = &self.value["meta"];
        let s = |k: &str| meta[k].as_str().unwrap_or("?").to_string();
        (s("mindspore_version"), s("device"))
    }

    fn list(&self, key: &str) -> Option<Vec<Value>> {
        match self.value.get(key)? {
            Value::Array(a) => Some(a.clone()),
            v @ Value::Object(_) => Some(vec![v.clone()]),
            _ => None,
        }
    }

    /// The `dynamic_lr` section, if the file has one.
    pub fn dynamic_lr(&self) -> Option<Vec<Labeled<DynamicLrCase>>> {
        let cases = self.list("dynamic_lr")?;
        Some(
            cases
                .iter()
                .enumerate()
                .map(|(i, case)| {
                    let Some(call) = Call::of_record(case, "func") else {
                        return labeled(format!("case {i}"), Err("no 'func'".into()));
                    };
                    let values = case.get("values").and_then(Value::as_array).map(|v| {
                        v.iter()
                            .map(|e| {
                                let f64 = e["f64_hex"].as_str().and_then(f64_of_hex);
                                Ok((f64, f32_of(&e["f32"])?))
                            })
                            .collect::<Result<Vec<_>, String>>()
                    });
                    let case = values.transpose().map(|values| DynamicLrCase {
                        values,
                        exception: exception(case),
                        call: call.clone(),
                    });
                    labeled(call.describe(), case)
                })
                .collect(),
        )
    }

    /// The `schedules` section, if the file has one.
    pub fn schedules(&self) -> Option<Vec<Labeled<ScheduleCase>>> {
        let cases = self.list("schedules")?;
        Some(
            cases
                .iter()
                .enumerate()
                .map(|(i, case)| {
                    let Some(call) = Call::of_record(case, "class") else {
                        return labeled(format!("case {i}"), Err("no 'class'".into()));
                    };
                    let read = || -> Result<ScheduleCase, String> {
                        let steps = match case.get("steps").and_then(Value::as_array) {
                            Some(s) => s
                                .iter()
                                .map(|k| {
                                    k.as_u64()
                                        .and_then(|k| u32::try_from(k).ok())
                                        .ok_or(format!("step {k} is not a u32"))
                                })
                                .collect::<Result<_, _>>()?,
                            None => vec![],
                        };
                        let values = |key: &str| -> Result<Option<Vec<f32>>, String> {
                            let Some(v) = case.get(key).and_then(Value::as_array) else {
                                return Ok(None);
                            };
                            if v.len() != steps.len() {
                                return Err(format!("{key} and steps differ in length"));
                            }
                            v.iter().map(f32_of).collect::<Result<_, _>>().map(Some)
                        };
                        Ok(ScheduleCase {
                            direct: values("values_direct_call")?,
                            used_by_momentum: values("lr_used_by_momentum_at_step_k")?,
                            steps,
                            exception: exception(case),
                            call: call.clone(),
                        })
                    };
                    labeled(call.describe(), read())
                })
                .collect(),
        )
    }

    /// The `apply_momentum_primitive` record, if the file has one.
    pub fn primitive(&self) -> Option<Result<Primitive, String>> {
        let case = self.value.get("apply_momentum_primitive")?;
        let inputs = &case["inputs"];
        let arrays = |v: &Value| -> Result<(Vec<f32>, Vec<f32>), String> {
            Ok((
                f32s_of(&v["variable_after"])?,
                f32s_of(&v["accumulation_after"])?,
            ))
        };
        let read = || -> Result<Primitive, String> {
            Ok(Primitive {
                variable: f32s_of(&inputs["variable"])?,
                accumulation: f32s_of(&inputs["accumulation"])?,
                gradient: f32s_of(&inputs["gradient"])?,
                learning_rate: f32_of(&inputs["learning_rate"])?,
                momentum: f32_of(&inputs["momentum"])?,
                runs: case["runs"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|r| {
                        let (w, m) = arrays(r)?;
                        Ok((r["use_nesterov"].as_bool().unwrap_or(false), w, m))
                    })
                    .collect::<Result<_, String>>()?,
                documented_nesterov: case
                    .get("reference_only_gpu_nesterov_formula_numpy")
                    .map(arrays)
                    .transpose()?,
            })
        };
        Some(read())
    }

    /// The trajectories of section `key` (one of [`TRAJECTORY_SECTIONS`]), if the file has it.
    pub fn trajectories(&self, key: &str) -> Option<Vec<Labeled<Trajectory>>> {
        let optimizer = TRAJECTORY_SECTIONS
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, o)| *o)?;
        let cases = self.list(key)?;
        Some(
            cases
                .iter()
                .enumerate()
                .map(|(i, case)| {
                    let label = case
                        .get("name")
                        .and_then(Value::as_str)
                        .map_or(format!("case {i}"), |n| format!("{n} ({i})"));
                    labeled(label, Trajectory::parse(case, optimizer))
                })
                .collect(),
        )
    }

    /// The validation cases of section `key` (`errors`, `adam_errors`), in the file's order.
    pub fn errors(&self, key: &str) -> Option<Vec<ErrorCase>> {
        let cases = self.value.get(key)?.as_object()?;
        Some(
            cases
                .iter()
                .map(|(name, rec)| ErrorCase {
                    name: name.clone(),
                    call: rec["call"].as_str().unwrap_or("").to_string(),
                    ok: rec["ok"].as_bool().unwrap_or(false),
                    exception: exception(rec),
                    message: rec["message"].as_str().map(str::to_string),
                })
                .collect(),
        )
    }
}

fn labeled<T>(label: String, case: Result<T, String>) -> Labeled<T> {
    Labeled { label, case }
}

fn exception(case: &Value) -> Option<String> {
    case.get("exception")
        .and_then(Value::as_str)
        .map(str::to_string)
}
