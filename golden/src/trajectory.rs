//! Optimizer trajectories: what was constructed (parameters, groups, hyper-parameters, as
//! MindSpore resolves them) and what each step fed in and left behind.

use serde_json::Value;

use crate::call::Call;
use crate::encoding::{arrays_of, f32_of, f32s_of, shape_of};

/// The optimizer a trajectory section records.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Optimizer {
    /// `nn.Momentum`.
    Momentum,
    /// `nn.SGD`.
    Sgd,
    /// `nn.Adam` (with `use_nesterov`, `use_amsgrad`).
    Adam,
    /// `nn.AdamWeightDecay`.
    AdamWeightDecay,
}

impl Optimizer {
    /// The record keys of the state buffers, in the rule's order.
    fn state_keys(self, amsgrad: bool) -> &'static [&'static str] {
        match self {
            Optimizer::Momentum => &["moments_after"],
            Optimizer::Sgd => &["accum_after"],
            Optimizer::Adam if amsgrad => &["moment1_after", "moment2_after", "vhat_after"],
            Optimizer::Adam | Optimizer::AdamWeightDecay => &["moment1_after", "moment2_after"],
        }
    }

    /// The record keys of the scalars the optimizer keeps (Adam's beta powers).
    fn scalar_keys(self) -> &'static [&'static str] {
        match self {
            Optimizer::Adam => &["beta1_power_after", "beta2_power_after"],
            _ => &[],
        }
    }
}

/// Where a parameter's learning rate comes from, as the config gives it.
#[derive(Clone, Debug, PartialEq)]
pub enum LrSpec {
    /// A Python float.
    Static(f64),
    /// A list indexed by the global step (MindSpore rounds each entry to `f32`).
    List(Vec<f64>),
    /// A `LearningRateSchedule` constructor.
    Schedule(Call),
}

impl LrSpec {
    fn of(v: &Value) -> Result<LrSpec, String> {
        match v {
            Value::Number(n) => n.as_f64().map(LrSpec::Static).ok_or("bad number".into()),
            Value::Array(a) => a
                .iter()
                .map(|x| x.as_f64().ok_or(format!("learning-rate list holds {x}")))
                .collect::<Result<_, _>>()
                .map(LrSpec::List),
            Value::String(s) => Call::parse(s).map(LrSpec::Schedule),
            other => Err(format!(
                "learning rate {other} is neither a number, a list nor a constructor"
            )),
        }
    }

    /// Whether the learning rate is static.
    pub fn is_static(&self) -> bool {
        matches!(self, LrSpec::Static(_))
    }
}

/// A parameter's group settings, resolved from the config: its learning rate (a group's, or the
/// top level's), its weight decay (0 where MindSpore does not decay the parameter), and its
/// gradient-centralization key.
#[derive(Clone, Debug, PartialEq)]
pub struct GroupSpec {
    pub lr: LrSpec,
    pub weight_decay: f64,
    pub centralize: bool,
}

/// The hyper-parameters of the construction, with MindSpore's defaults where the config has no
/// key.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Hyper {
    pub momentum: f64,
    pub dampening: f64,
    pub nesterov: bool,
    pub loss_scale: f64,
    pub beta1: f64,
    pub beta2: f64,
    pub eps: f64,
    pub amsgrad: bool,
    pub use_locking: bool,
    /// MindSpore's kernel threads `K` when the trajectory was recorded (Adam's work split).
    pub threads: u32,
}

/// A parameter as created: name, shape and initial values.
#[derive(Clone, Debug, PartialEq)]
pub struct Param {
    pub name: String,
    pub shape: Vec<usize>,
    pub initial: Vec<f32>,
}

/// One recorded step; every per-parameter list in creation order.
#[derive(Clone, Debug, PartialEq)]
pub struct Step {
    /// The gradients passed in (already multiplied by the loss scale).
    pub grads: Vec<Vec<f32>>,
    pub params: Vec<Vec<f32>>,
    /// The state buffers after the step, in the rule's order; `None` when not recorded.
    pub state: Option<Vec<Vec<Vec<f32>>>>,
    /// The scalars the optimizer keeps, after the step (Adam: `beta1_power`, `beta2_power`).
    pub scalars: Vec<f32>,
    pub global_step: Option<u32>,
}

/// One trajectory record.
#[derive(Clone, Debug, PartialEq)]
pub struct Trajectory {
    pub name: String,
    pub optimizer: Optimizer,
    pub params: Vec<Param>,
    /// The optimizer's parameter order (MindSpore's `order_params`), as creation indices.
    pub order: Vec<usize>,
    /// Per parameter, in creation order.
    pub groups: Vec<GroupSpec>,
    pub hyper: Hyper,
    /// Whether any group set its own `lr` and any learning rate is dynamic: MindSpore then
    /// stores every static learning rate as `(F(lr) ⊕ 1) ⊖ 1` (`_ConvertToCell`).
    pub convert_to_cell: bool,
    pub steps: Vec<Step>,
}

/// One tensor of a trajectory's flat layout: its length, its leading dimension (0: rank < 2)
/// and its group.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TensorSpec {
    pub len: usize,
    pub rows: usize,
    pub group: usize,
}

impl Trajectory {
    /// Parses a record of a section of `optimizer`.
    pub fn parse(case: &Value, optimizer: Optimizer) -> Result<Trajectory, String> {
        let cfg = &case["config"];
        let records = case["initial_params"]
            .as_array()
            .ok_or("no initial_params")?;
        let n = records.len();
        let names: Vec<String> = match case.get("param_names").and_then(Value::as_array) {
            Some(a) => a
                .iter()
                .map(|v| v.as_str().map(str::to_string).ok_or("bad param_names"))
                .collect::<Result<_, _>>()?,
            None => (0..n).map(|i| format!("p{i}")).collect(),
        };
        if names.len() != n {
            return Err("param_names and initial_params differ in length".into());
        }
        let params = records
            .iter()
            .zip(&names)
            .map(|(p, name)| {
                Ok(Param {
                    name: name.clone(),
                    shape: shape_of(p)?,
                    initial: f32s_of(p)?,
                })
            })
            .collect::<Result<Vec<_>, String>>()?;
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

        let float =
            |key: &str, default: f64| cfg.get(key).and_then(Value::as_f64).unwrap_or(default);
        let flag = |key: &str| cfg.get(key).and_then(Value::as_bool).unwrap_or(false);
        let adam = matches!(optimizer, Optimizer::Adam | Optimizer::AdamWeightDecay);
        let hyper = Hyper {
            momentum: float("momentum", 0.0),
            dampening: float("dampening", 0.0),
            nesterov: flag("use_nesterov") || flag("nesterov"),
            loss_scale: float("loss_scale", 1.0),
            beta1: float("beta1", 0.9),
            beta2: float("beta2", 0.999),
            eps: float(
                "eps",
                if optimizer == Optimizer::Adam {
                    1e-8
                } else {
                    1e-6
                },
            ),
            amsgrad: flag("use_amsgrad"),
            use_locking: flag("use_locking"),
            threads: cfg
                .get("mindspore_cpu_threads")
                .and_then(Value::as_u64)
                .map_or(1, |k| k as u32),
        };

        let top_lr = match cfg.get("learning_rate") {
            Some(v) => LrSpec::of(v)?,
            None if optimizer == Optimizer::Sgd => LrSpec::Static(0.1), // nn.SGD's default
            None if adam => LrSpec::Static(1e-3), // nn.Adam's, AdamWeightDecay's
            None => return Err("no learning_rate".into()),
        };
        let top_wd = float("weight_decay", 0.0);
        let mut dynamic = !top_lr.is_static();
        let mut group_lr = false;
        let mut groups: Vec<Option<GroupSpec>> = vec![None; n];
        match cfg.get("groups").and_then(Value::as_array) {
            Some(list) => {
                for g in list.iter().filter(|g| g.get("order_params").is_none()) {
                    let lr = match g.get("lr") {
                        Some(v) => {
                            group_lr = true;
                            LrSpec::of(v)?
                        }
                        None => top_lr.clone(),
                    };
                    dynamic |= !lr.is_static();
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
        // Which parameters MindSpore decays: as recorded, else its rules (groups: wd > 0;
        // otherwise a case-sensitive name filter on "beta" and "gamma").
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

        let state_keys = optimizer.state_keys(hyper.amsgrad);
        let steps = case["steps"]
            .as_array()
            .ok_or("no steps")?
            .iter()
            .map(|st| {
                let state = state_keys
                    .iter()
                    .map(|k| st.get(*k).map(arrays_of).transpose())
                    .collect::<Result<Option<Vec<_>>, _>>()?;
                Ok(Step {
                    grads: arrays_of(&st["grads_in"])?,
                    params: arrays_of(&st["params_after"])?,
                    state,
                    scalars: optimizer
                        .scalar_keys()
                        .iter()
                        .map(|k| f32_of(&st[*k]))
                        .collect::<Result<_, _>>()?,
                    global_step: st
                        .get("global_step_after")
                        .and_then(Value::as_u64)
                        .map(|k| k as u32),
                })
            })
            .collect::<Result<Vec<_>, String>>()?;
        Ok(Trajectory {
            name: case
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string(),
            optimizer,
            params,
            order,
            groups,
            hyper,
            convert_to_cell: group_lr && dynamic,
            steps,
        })
    }

    /// The flat layout in the optimizer's order, and one group per distinct setting (in order of
    /// first appearance among the parameters as created).
    pub fn layout(&self) -> (Vec<TensorSpec>, Vec<GroupSpec>) {
        let mut distinct: Vec<GroupSpec> = vec![];
        let group_of: Vec<usize> = self
            .groups
            .iter()
            .map(|g| match distinct.iter().position(|d| d == g) {
                Some(i) => i,
                None => {
                    distinct.push(g.clone());
                    distinct.len() - 1
                }
            })
            .collect();
        let tensors = self
            .order
            .iter()
            .map(|&i| {
                let p = &self.params[i];
                let rows = match p.shape.as_slice() {
                    [rows, rest @ ..] if !rest.is_empty() => *rows,
                    _ => 0,
                };
                TensorSpec {
                    len: p.initial.len(),
                    rows,
                    group: group_of[i],
                }
            })
            .collect();
        (tensors, distinct)
    }

    /// The number of values of all parameters.
    pub fn len(&self) -> usize {
        self.params.iter().map(|p| p.initial.len()).sum()
    }

    /// Whether there is no value.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Per-parameter values (creation order) back to back in the optimizer's order.
    pub fn flat(&self, per_param: &[Vec<f32>]) -> Vec<f32> {
        self.order
            .iter()
            .flat_map(|&i| per_param[i].iter().copied())
            .collect()
    }

    /// The inverse of [`Trajectory::flat`].
    pub fn unflat(&self, flat: &[f32]) -> Vec<Vec<f32>> {
        let mut out = vec![vec![]; self.params.len()];
        let mut offset = 0;
        for &i in &self.order {
            let n = self.params[i].initial.len();
            out[i] = flat[offset..offset + n].to_vec();
            offset += n;
        }
        out
    }

    /// The initial parameters, flat.
    pub fn initial(&self) -> Vec<f32> {
        let per_param: Vec<Vec<f32>> = self.params.iter().map(|p| p.initial.clone()).collect();
        self.flat(&per_param)
    }
}

impl Trajectory {
    /// The trajectory as MindSpore's CPU ran it, in gradstep's terms, and a note per quirk that
    /// this reproduces (none: the trajectory is unchanged):
    /// * `nn.Momentum`'s `use_nesterov` is ignored by the CPU `ApplyMomentum` (DESIGN divergence 1);
    /// * with a dynamic learning rate in a grouped optimizer, every static learning rate is stored
    ///   as `(F(lr) ⊕ 1) ⊖ 1` (DESIGN divergence 2): here replaced by that value, which is exact
    ///   in `f32`;
    /// * `nn.Adam` ignores `use_nesterov` with `use_amsgrad` (DESIGN divergence 7);
    /// * `nn.AdamWeightDecay` ignores `grad_centralization` (DESIGN divergence 8).
    pub fn as_mindspore_ran(&self) -> (Trajectory, Vec<&'static str>) {
        let mut t = self.clone();
        let mut notes = vec![];
        if t.optimizer == Optimizer::Momentum && t.hyper.nesterov {
            t.hyper.nesterov = false;
            notes.push("Nesterov off: MindSpore's CPU ApplyMomentum ignores use_nesterov");
        }
        if t.optimizer == Optimizer::Adam && t.hyper.nesterov && t.hyper.amsgrad {
            t.hyper.nesterov = false;
            notes.push("Nesterov off: MindSpore's AMSGrad ignores use_nesterov");
        }
        if t.optimizer == Optimizer::AdamWeightDecay && t.groups.iter().any(|g| g.centralize) {
            for g in &mut t.groups {
                g.centralize = false;
            }
            notes.push(
                "centralization off: MindSpore's AdamWeightDecay ignores grad_centralization",
            );
        }
        if t.convert_to_cell && t.groups.iter().any(|g| g.lr.is_static()) {
            for g in &mut t.groups {
                if let LrSpec::Static(x) = g.lr {
                    g.lr = LrSpec::Static(((x as f32 + 1.0) - 1.0) as f64);
                }
            }
            notes.push(
                "static group lr as (lr + 1) - 1, as MindSpore's grouped dynamic lr stores it",
            );
        }
        (t, notes)
    }
}
