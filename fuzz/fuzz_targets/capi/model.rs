//! The schedules the harness knows, and the Rust model of the C optimizer.

use super::*;

// ----- schedules -------------------------------------------------------------------------------

/// A Rust schedule and the C one made by the same parameters.
pub(crate) fn make_schedule(
    r: &mut Reader,
    out: *mut CSchedule,
) -> (Status, Result<Schedule, Error>) {
    // SAFETY (every call): `out` is NULL, or points into the world with room for a schedule.
    unsafe {
        match r.u8() % 7 {
            0 => {
                let (a, b, c, d) = (r.f64_param(), r.f64_param(), r.count(), flag(r));
                (
                    gradstep_schedule_exponential_decay(a, b, c, d, out),
                    ExponentialDecayLr::new(a, b, c, d != 0).map(Schedule::ExponentialDecay),
                )
            }
            1 => {
                let (a, b, c, d) = (r.f64_param(), r.f64_param(), r.count(), flag(r));
                (
                    gradstep_schedule_natural_exp_decay(a, b, c, d, out),
                    NaturalExpDecayLr::new(a, b, c, d != 0).map(Schedule::NaturalExpDecay),
                )
            }
            2 => {
                let (a, b, c, d) = (r.f64_param(), r.f64_param(), r.count(), flag(r));
                (
                    gradstep_schedule_inverse_decay(a, b, c, d, out),
                    InverseDecayLr::new(a, b, c, d != 0).map(Schedule::InverseDecay),
                )
            }
            3 => {
                let (a, b, c) = (r.f64_param(), r.f64_param(), r.count());
                (
                    gradstep_schedule_cosine_decay(a, b, c, out),
                    CosineDecayLr::new(a, b, c).map(Schedule::CosineDecay),
                )
            }
            4 => {
                let (a, b, c, d, e) = (
                    r.f64_param(),
                    r.f64_param(),
                    r.count(),
                    r.f64_param(),
                    flag(r),
                );
                (
                    gradstep_schedule_polynomial_decay(a, b, c, d, e, out),
                    PolynomialDecayLr::new(a, b, c, d, e != 0).map(Schedule::PolynomialDecay),
                )
            }
            5 => {
                let (a, b) = (r.f64_param(), r.count());
                (
                    gradstep_schedule_warmup(a, b, out),
                    WarmupLr::new(a, b).map(Schedule::Warmup),
                )
            }
            _ => {
                let (a, b, c, d) = (r.f64_param(), r.f64_param(), r.count(), r.count());
                (
                    gradstep_schedule_cosine_warm_restarts(a, b, c, d, out),
                    CosineWarmRestarts::new(a, b, c, d).map(Schedule::CosineWarmRestarts),
                )
            }
        }
    }
}

/// What the harness knows of the schedule slots: the Rust schedule a constructor made there, and
/// the bytes it wrote (a slot whose bytes changed since is unknown).
pub(crate) struct Slots(pub(crate) [Option<(Schedule, Vec<u8>)>; N_SCHEDS]);

impl Slots {
    pub(crate) fn get(&self, w: &World, i: usize) -> Option<Schedule> {
        self.0[i]
            .as_ref()
            .filter(|(_, b)| *b == w.bytes(SCHEDS + SCHED_SIZE * i, SCHED_SIZE))
            .map(|(s, _)| *s)
    }
}

/// Whether gradstep reads the schedule at `p` (non-null, aligned, in the world) as one it made:
/// its learning rate is a value or a learning-rate error, not `InvalidArgument`.
pub(crate) fn schedule_decodes(p: *const CSchedule) -> bool {
    let mut v = 0.0f32;
    // SAFETY: `p` points into the world with room for a schedule; `v` is on the stack.
    unsafe { gradstep_schedule_lr(p, 0, &mut v) != Status::InvalidArgument }
}

// ----- the Rust model of the optimizer ----------------------------------------------------------

#[derive(Clone, Copy, Debug)]
pub(crate) enum Rules {
    Momentum(MomentumSettings),
    Sgd(SgdSettings),
    Adam(AdamSettings),
    AdamW(AdamWSettings),
}

impl Rules {
    /// What the rule's constructor says of the settings (C init checks them before the groups
    /// and the layout).
    pub(crate) fn check(&self) -> Result<(), Error> {
        match self {
            Rules::Momentum(s) => MomentumRule::new(s).map(|_| ()),
            Rules::Sgd(s) => SgdRule::new(s).map(|_| ()),
            Rules::Adam(s) => AdamRule::new(s).map(|_| ()),
            Rules::AdamW(s) => AdamWRule::new(s).map(|_| ()),
        }
    }

    /// The state buffers of the rule: Momentum and SGD one, Adam two (three with AMSGrad),
    /// AdamWeightDecay two.
    pub(crate) fn buffers(&self) -> usize {
        match self {
            Rules::Momentum(_) | Rules::Sgd(_) => 1,
            Rules::Adam(s) => 2 + s.amsgrad as usize,
            Rules::AdamW(_) => 2,
        }
    }
}

/// The state of the C optimizer as the Rust API says it must be.
pub(crate) struct State {
    pub(crate) rules: Rules,
    /// The tensors and groups given to init.
    pub(crate) n_tensors: usize,
    pub(crate) n_groups: usize,
    pub(crate) init_layout: Vec<Tensor>,
    pub(crate) init_wd: Vec<f64>,
    pub(crate) len: usize,
    pub(crate) state_len: usize,
    pub(crate) saved_len: usize,
    pub(crate) step: u32,
    /// The rule's saved scalars (SGD's first-step flag, Adam's beta powers), and those of a
    /// fresh optimizer.
    pub(crate) scalars: [u32; 2],
    pub(crate) fresh: [u32; 2],
    /// Each group's current static learning rate (init's `F(lr)` for a static group; 0 for one
    /// that was not static at init: gradstep keeps it in a word init leaves at 0).
    pub(crate) static_lr: Vec<f32>,
    /// The planned step and each group's planned learning rate.
    pub(crate) planned: Option<(u32, Vec<f32>)>,
    /// Whether the model still knows the state (it cannot restore a state larger than
    /// `MAX_MODEL_STATE`).
    pub(crate) known: bool,
}

pub(crate) enum Opt<'m> {
    M(Momentum<'m, Vec<Group<'m>>>),
    S(Sgd<'m, Vec<Group<'m>>>),
    A(Adam<'m, Vec<Group<'m>>>),
    W(AdamWeightDecay<'m, Vec<Group<'m>>>),
}

/// A C table as a schedule: `values[k]`, past the end the last value or NaN (which `Lr::at`
/// refuses as `NotFinite`, where the C API's table says `PastTableEnd`).
pub(crate) struct TableLr<'m> {
    pub(crate) values: &'m [f32],
    pub(crate) hold_last: bool,
}

impl LrSchedule for TableLr<'_> {
    fn lr(&self, step: u32) -> f32 {
        match self.values.get(step as usize) {
            Some(&v) => v,
            None if self.hold_last => *self.values.last().unwrap_or(&f32::NAN),
            None => f32::NAN,
        }
    }
}

/// A group's learning-rate source as the C caller's memory holds it.
#[derive(Clone, Copy)]
pub(crate) enum Src<'m> {
    Static(f32),
    Table(&'m [f32], bool),
    Schedule(&'m CSchedule),
}

/// The sources of the groups, and the spans they are read from; `None` when a group's source is
/// one the C API refuses (an unknown kind, a static kind for a group that was not static at init,
/// an empty, NULL or misaligned table, a NULL, misaligned or damaged schedule).
pub(crate) fn sources<'m>(w: &World, st: &State) -> Option<Vec<(Src<'m>, Option<Span>)>> {
    sources_of(w, st.n_groups, &st.static_lr)
}

/// `sources` of the first `n` groups, a static group's learning rate being `static_lr`'s.
pub(crate) fn sources_of<'m>(
    w: &World,
    n: usize,
    static_lr: &[f32],
) -> Option<Vec<(Src<'m>, Option<Span>)>> {
    (0..n)
        .map(|i| {
            let g = w.group(i);
            match g.lr_kind {
                GRADSTEP_LR_STATIC if static_lr[i].is_nan() => None,
                GRADSTEP_LR_STATIC => Some((Src::Static(static_lr[i]), None)),
                GRADSTEP_LR_TABLE => {
                    if g.table_len == 0 || g.table.is_null() || !g.table.is_aligned() {
                        return None;
                    }
                    assert!(
                        w.offset_of(g.table.addr())
                            .is_some_and(|o| o + 4 * g.table_len <= WORLD),
                        "a table outside the world"
                    );
                    // SAFETY: in the world (checked), aligned; read while no call runs.
                    let values = unsafe { std::slice::from_raw_parts(g.table, g.table_len) };
                    let span = (g.table.addr(), g.table.addr() + 4 * g.table_len);
                    Some((Src::Table(values, g.hold_last != 0), Some(span)))
                }
                GRADSTEP_LR_SCHEDULE => {
                    if g.schedule.is_null() || !g.schedule.is_aligned() {
                        return None;
                    }
                    assert!(
                        w.offset_of(g.schedule.addr())
                            .is_some_and(|o| o + SCHED_SIZE <= WORLD),
                        "a schedule outside the world"
                    );
                    if !schedule_decodes(g.schedule) {
                        return None;
                    }
                    // SAFETY: as for the table.
                    let s = unsafe { &*g.schedule };
                    let span = (g.schedule.addr(), g.schedule.addr() + SCHED_SIZE);
                    Some((Src::Schedule(s), Some(span)))
                }
                _ => None,
            }
        })
        .collect()
}

/// Which layout the model is built over: init's (for the calls that do not read the layout
/// again) or the caller's memory as it is now.
#[derive(Clone, Copy, PartialEq)]
pub(crate) enum Over {
    Init,
    Now,
}

/// What the model says about a call.
pub(crate) enum Model<T> {
    /// A group's source is one the C API refuses: a call that reads the sources must fail.
    BadSources,
    /// The model cannot say.
    Unknown,
    /// The layout is refused, with this status.
    Refused(Status),
    /// The call on the model, and whether its tables are read as schedules (then its
    /// `NotFinite` past a table's end is the C API's `PastTableEnd`).
    Done(T, bool),
}

/// The same status, up to a table read as a schedule.
pub(crate) fn same_status(c: Status, model: Status, approx: bool) -> bool {
    c == model || approx && c == Status::PastTableEnd && model == Status::NotFinite
}

/// Builds the model over `over`, with the groups' sources (or, with `lrs`, every group static
/// with these learning rates), restores the state, plans the planned step if `plan`, and runs `f`.
pub(crate) fn with_model<T>(
    w: &World,
    st: &State,
    over: Over,
    lrs: Option<&[f32]>,
    plan: bool,
    f: impl for<'m> FnOnce(&mut Opt<'m>, Option<StepToken>) -> T,
) -> Model<T> {
    if !st.known {
        return Model::Unknown;
    }
    let srcs: Vec<Src<'_>> = match lrs {
        Some(v) => v.iter().map(|&x| Src::Static(x)).collect(),
        None => match sources(w, st) {
            Some(s) => s.into_iter().map(|(s, _)| s).collect(),
            None => return Model::BadSources,
        },
    };
    let mut tensors: Vec<Tensor> = match over {
        Over::Init => st.init_layout.clone(),
        Over::Now => (0..st.n_tensors).map(|i| w.tensor(i)).collect(),
    };
    let n_layout = tensors.len();
    for g in 0..st.n_groups {
        if !tensors[..n_layout].iter().any(|t| t.group == g) {
            tensors.push(Tensor::vector(0, g));
        }
    }
    let customs: Vec<Option<TableLr<'_>>> = srcs
        .iter()
        .map(|s| match *s {
            Src::Table(values, hold_last) => Some(TableLr { values, hold_last }),
            _ => None,
        })
        .collect();
    let centralize: Vec<bool> = (0..st.n_groups)
        .map(|i| w.group(i).centralize != 0)
        .collect();
    let (gs, mut approx) = model_groups(&srcs, &customs, &st.init_wd, &centralize, false);
    let built = match build_opt(st.rules, &tensors, gs) {
        Err(Error::TableLengthsDiffer { .. }) => {
            let (gs, _) = model_groups(&srcs, &customs, &st.init_wd, &centralize, true);
            approx = true;
            build_opt(st.rules, &tensors, gs)
        }
        b => b,
    };
    let mut opt = match built {
        Ok(o) => o,
        Err(e) => {
            assert!(over == Over::Now, "the model refuses init's layout: {e:?}");
            return Model::Refused(e.into());
        }
    };
    if on!(&opt, |o| o.len()) != st.len {
        return Model::Refused(Status::LayoutChanged);
    }
    if st.step != 0 || st.scalars != st.fresh {
        let n = on!(&opt, |o| o.state_len());
        if n > MAX_MODEL_STATE {
            return Model::Unknown;
        }
        let mut zeros = vec![0.0f32; n];
        let mut bytes = vec![0u8; on!(&opt, |o| o.saved_len())];
        on!(&opt, |o| o.save(&zeros, &mut bytes)).expect("the model saves");
        bytes[8..12].copy_from_slice(&st.step.to_le_bytes());
        bytes[24..28].copy_from_slice(&st.scalars[0].to_le_bytes());
        bytes[28..32].copy_from_slice(&st.scalars[1].to_le_bytes());
        let body = bytes.len() - 4;
        let sum = fnv1a(&bytes[..body]);
        bytes[body..].copy_from_slice(&sum.to_le_bytes());
        on!(&mut opt, |o| o.restore(&bytes, &mut zeros)).expect("the model restores its state");
    }
    let token = plan.then(|| on!(&mut opt, |o| o.begin_step()).expect("the model plans"));
    Model::Done(f(&mut opt, token), approx)
}

/// The state a model call leaves: its step counter, the rule's scalars (SGD's first-step flag,
/// Adam's beta powers), the static learning rates.
pub(crate) struct Scalars {
    pub(crate) step: u32,
    pub(crate) scalars: [u32; 2],
    pub(crate) static_lr: Vec<f32>,
}

impl State {
    pub(crate) fn scalars(&self) -> Scalars {
        Scalars {
            step: self.step,
            scalars: self.scalars,
            static_lr: self.static_lr.clone(),
        }
    }
    pub(crate) fn apply(&mut self, s: Scalars) {
        self.step = s.step;
        self.scalars = s.scalars;
        self.static_lr = s.static_lr;
    }
}

/// The model's groups: each source as the Rust API takes it, a table the Rust `Table` refuses
/// (or every table, with `all_custom`) as a `TableLr` schedule; whether any table is one.
pub(crate) fn model_groups<'m>(
    srcs: &[Src<'m>],
    customs: &'m [Option<TableLr<'m>>],
    wd: &[f64],
    centralize: &[bool],
    all_custom: bool,
) -> (Vec<Group<'m>>, bool) {
    let mut approx = false;
    let gs = srcs
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let lr = match *s {
                Src::Static(v) => Lr::Static(v),
                Src::Schedule(c) => Lr::Schedule(c),
                Src::Table(values, hold) => {
                    let past = if hold {
                        PastEnd::HoldLast
                    } else {
                        PastEnd::Reject
                    };
                    match Table::new(values, past) {
                        Ok(t) if !all_custom => Lr::Table(t),
                        _ => {
                            approx = true;
                            Lr::Schedule(customs[i].as_ref().unwrap())
                        }
                    }
                }
            };
            Group::new(lr, wd[i], centralize[i]).expect("a group init accepted")
        })
        .collect();
    (gs, approx)
}

pub(crate) fn build_opt<'m>(
    rules: Rules,
    tensors: &'m [Tensor],
    gs: Vec<Group<'m>>,
) -> Result<Opt<'m>, Error> {
    match rules {
        Rules::Momentum(s) => Momentum::new(tensors, gs, s).map(Opt::M),
        Rules::Sgd(s) => Sgd::new(tensors, gs, s).map(Opt::S),
        Rules::Adam(s) => Adam::new(tensors, gs, s).map(Opt::A),
        Rules::AdamW(s) => AdamWeightDecay::new(tensors, gs, s).map(Opt::W),
    }
}

/// The model's state after a call that succeeded (with `lrs_too`, its static learning rates too:
/// not when every group was made static for the call).
pub(crate) fn extract(o: &Opt<'_>, st: &State, lrs_too: bool) -> Scalars {
    let mut s = st.scalars();
    s.step = on!(o, |x| x.global_step());
    s.scalars = scalars_of(o);
    if lrs_too {
        for (i, g) in on!(o, |x| x.groups()).iter().enumerate() {
            if let Lr::Static(v) = g.lr() {
                s.static_lr[i] = *v;
            }
        }
    }
    s
}

/// The scalars the rule of `o` saves (`src/state.rs`): SGD `[started, 0]`, Adam its beta powers'
/// bits, the others `[0, 0]`.
pub(crate) fn scalars_of(o: &Opt<'_>) -> [u32; 2] {
    match o {
        Opt::S(x) => [x.rule().started() as u32, 0],
        Opt::A(x) => x.rule().powers().map(f32::to_bits),
        Opt::M(_) | Opt::W(_) => [0, 0],
    }
}

// ----- Adam's and AdamWeightDecay's settings -----------------------------------------------

/// Adam's and AdamWeightDecay's own settings fields.
#[derive(Clone, Copy, Debug)]
pub(crate) struct AdamFields {
    pub(crate) beta1: f64,
    pub(crate) beta2: f64,
    pub(crate) eps: f64,
    pub(crate) amsgrad: u32,
    /// Whether the settings' Nesterov field is 0 whatever the input said (so that AMSGrad is not
    /// mostly refused for it).
    pub(crate) no_nesterov: bool,
    pub(crate) threads: u32,
}

impl AdamFields {
    /// The Nesterov field the settings hold.
    pub(crate) fn nesterov(&self, nesterov: u32) -> u32 {
        if self.no_nesterov { 0 } else { nesterov }
    }
}

/// Adam's fields: mostly valid betas and `eps`, a quarter of the time any (0, 1, NaN, `F(β)` of 1,
/// `eps` ≤ 0 or rounding to 0, …); AMSGrad off, on (without Nesterov), or any flag (with
/// Nesterov: refused); `K` mostly 1 to 4, sometimes 0 or any.
pub(crate) fn adam_fields(r: &mut Reader) -> AdamFields {
    let (beta1, beta2, eps) = if r.u8() % 4 == 0 {
        (r.beta(), r.beta(), r.eps())
    } else {
        let b = r.u8() as usize;
        (
            [0.9, 0.5, 0.8, 0.1][b & 3],
            [0.999, 0.75, 0.9999, 0.5][b >> 2 & 3],
            [1e-8, 1e-6, 1e-3, 0.1][b >> 4 & 3],
        )
    };
    let (amsgrad, no_nesterov) = match r.u8() % 4 {
        0 => (0, false),
        1 => (1, true),
        2 => (flag(r), true),
        _ => (flag(r), false),
    };
    AdamFields {
        beta1,
        beta2,
        eps,
        amsgrad,
        no_nesterov,
        threads: r.threads(),
    }
}

/// Writes `gradstep_adam_settings` (or, with `adamw`, `gradstep_adamw_settings`) at `p` field by
/// field.
///
/// # Safety
/// `p` must be valid for writing the struct, aligned or not.
pub(crate) unsafe fn write_adam_settings(
    p: *mut u8,
    adamw: bool,
    a: &AdamFields,
    loss_scale: f64,
    nesterov: u32,
    check_finite: u32,
    backend: u32,
) {
    // SAFETY: the caller's; unaligned writes.
    unsafe {
        if adamw {
            let p = p as *mut CAdamWSettings;
            addr_of_mut!((*p).beta1).write_unaligned(a.beta1);
            addr_of_mut!((*p).beta2).write_unaligned(a.beta2);
            addr_of_mut!((*p).eps).write_unaligned(a.eps);
            addr_of_mut!((*p).check_finite).write_unaligned(check_finite);
            addr_of_mut!((*p).backend).write_unaligned(backend);
        } else {
            let p = p as *mut CAdamSettings;
            addr_of_mut!((*p).beta1).write_unaligned(a.beta1);
            addr_of_mut!((*p).beta2).write_unaligned(a.beta2);
            addr_of_mut!((*p).eps).write_unaligned(a.eps);
            addr_of_mut!((*p).loss_scale).write_unaligned(loss_scale);
            addr_of_mut!((*p).nesterov).write_unaligned(a.nesterov(nesterov));
            addr_of_mut!((*p).amsgrad).write_unaligned(a.amsgrad);
            addr_of_mut!((*p).threads).write_unaligned(a.threads);
            addr_of_mut!((*p).check_finite).write_unaligned(check_finite);
            addr_of_mut!((*p).backend).write_unaligned(backend);
        }
    }
}

/// The Rust settings C init makes of these fields (`src/ffi/init.rs`).
pub(crate) fn adam_rules(
    adamw: bool,
    a: &AdamFields,
    loss_scale: f64,
    nesterov: u32,
    check_finite: u32,
    backend: Backend,
) -> Rules {
    if adamw {
        Rules::AdamW(
            AdamWSettings::new()
                .with_betas(a.beta1, a.beta2)
                .with_eps(a.eps)
                .with_check_finite(check_finite != 0)
                .with_backend(backend),
        )
    } else {
        Rules::Adam(
            AdamSettings::new()
                .with_betas(a.beta1, a.beta2)
                .with_eps(a.eps)
                .with_loss_scale(loss_scale)
                .with_nesterov(a.nesterov(nesterov) != 0)
                .with_amsgrad(a.amsgrad != 0)
                .with_threads(a.threads)
                .with_check_finite(check_finite != 0)
                .with_backend(backend),
        )
    }
}
