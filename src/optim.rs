//! The Momentum and SGD optimizers over parameter groups (`docs/SEMANTICS.md` §1.8, §2).
//!
//! One step at global step `k`, for every tensor, in MindSpore's order: its group's weight decay,
//! gradient centralization (tensors with rows, in groups that enable it), loss-scale unscaling,
//! the group's learning rate `lr(k)`, then the update — all fused into one pass per tensor by
//! [`crate::kernel`]; `k` becomes `k + 1` once every tensor is updated.
//!
//! A step either completes or changes nothing: every learning rate is computed, and every length
//! and (if asked) every gradient checked, before the first write; the step counter moves only
//! when the step completes.
//!
//! A step can also be split into shards — one worker's tensors, one thread's share — with
//! [`Optimizer::begin_step`], [`Optimizer::step_shard`] (which takes `&self`, so shards may run
//! concurrently on disjoint buffers) and [`Optimizer::end_step`]; the result is bit-identical to
//! the whole step.

use core::ops::Range;

use crate::error::{Buffer, Error, Param};
use crate::group::{self, Group, GroupLike, GroupTable, Tensor};
use crate::hyper::{self, GradPrep, MomentumStep, SgdStep};
use crate::kernel::{self, Path};
use crate::state;

/// The settings of a [`Momentum`] optimizer (MindSpore's `nn.Momentum`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MomentumSettings {
    /// The momentum coefficient: finite, ≥ 0 (MindSpore has no upper bound).
    pub momentum: f64,
    /// The Nesterov form (which MindSpore's CPU kernel ignores; gradstep implements it).
    pub nesterov: bool,
    /// The loss scale the gradients arrive multiplied by: finite, > 0.
    pub loss_scale: f64,
    /// Reject a step whose gradients hold a NaN or an infinity, before anything is written (costs
    /// one extra read of the gradients).
    pub check_finite: bool,
    /// The kernel path (default: the widest this machine has).
    pub path: Path,
}

impl MomentumSettings {
    /// `momentum`, no Nesterov, loss scale 1, no gradient check, the selected path.
    pub fn new(momentum: f64) -> Self {
        MomentumSettings {
            momentum,
            nesterov: false,
            loss_scale: 1.0,
            check_finite: false,
            path: Path::selected(),
        }
    }
}

/// The settings of an [`Sgd`] optimizer (MindSpore's `nn.SGD`); the default is MindSpore's:
/// no momentum, no dampening, no Nesterov, loss scale 1.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SgdSettings {
    /// The momentum coefficient: finite, ≥ 0.
    pub momentum: f64,
    /// The dampening: finite, ≥ 0.
    pub dampening: f64,
    /// The Nesterov form: needs `momentum > 0` and `dampening == 0`.
    pub nesterov: bool,
    /// The loss scale the gradients arrive multiplied by: finite, > 0.
    pub loss_scale: f64,
    /// As [`MomentumSettings::check_finite`].
    pub check_finite: bool,
    /// The kernel path (default: the widest this machine has).
    pub path: Path,
}

impl Default for SgdSettings {
    fn default() -> Self {
        SgdSettings {
            momentum: 0.0,
            dampening: 0.0,
            nesterov: false,
            loss_scale: 1.0,
            check_finite: false,
            path: Path::selected(),
        }
    }
}

mod sealed {
    pub trait Sealed {}
}

/// The update an [`Optimizer`] applies: [`MomentumRule`] or [`SgdRule`].
pub trait Update: sealed::Sealed + Copy {
    /// Identifies the rule in saved state.
    #[doc(hidden)]
    const KIND: u8;
    /// Runs the update of one tensor.
    #[doc(hidden)]
    fn run(
        &self,
        path: Path,
        lr: f32,
        prep: GradPrep,
        centralize: Option<usize>,
        buffers: (&mut [f32], &[f32], &mut [f32]),
    ) -> Result<(), Error>;
    /// Whether a step has completed (SGD's first-step rule).
    #[doc(hidden)]
    fn started(&self) -> bool;
    #[doc(hidden)]
    fn set_started(&mut self, started: bool);
}

/// `ApplyMomentum`, or its Nesterov form.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MomentumRule {
    /// The validated constants; each step sets its learning rate and preparation.
    pub(crate) step: MomentumStep,
}

impl sealed::Sealed for MomentumRule {}

impl Update for MomentumRule {
    const KIND: u8 = 1;
    fn run(
        &self,
        path: Path,
        lr: f32,
        prep: GradPrep,
        centralize: Option<usize>,
        (w, g, m): (&mut [f32], &[f32], &mut [f32]),
    ) -> Result<(), Error> {
        kernel::momentum_on(path, w, g, m, centralize, &self.step.with(lr, prep))
    }
    fn started(&self) -> bool {
        true
    }
    fn set_started(&mut self, _: bool) {}
}

/// `nn.SGD`'s update, with its first-step rule.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SgdRule {
    /// The validated constants; each step sets its learning rate and preparation.
    pub(crate) step: SgdStep,
    pub(crate) started: bool,
}

impl sealed::Sealed for SgdRule {}

impl Update for SgdRule {
    const KIND: u8 = 2;
    fn run(
        &self,
        path: Path,
        lr: f32,
        prep: GradPrep,
        centralize: Option<usize>,
        (w, g, a): (&mut [f32], &[f32], &mut [f32]),
    ) -> Result<(), Error> {
        let step = self.step.with(lr, prep).first_step(!self.started);
        kernel::sgd_on(path, w, g, a, centralize, &step)
    }
    fn started(&self) -> bool {
        self.started
    }
    fn set_started(&mut self, started: bool) {
        self.started = started;
    }
}

/// Proof that [`Optimizer::begin_step`] planned step `k`; given back to
/// [`Optimizer::step_shard`] and [`Optimizer::end_step`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[must_use = "a begun step must be ended"]
pub struct StepToken {
    step: u32,
}

impl StepToken {
    /// The token of step `step` (the C API keeps tokens as integers; a wrong one is caught as
    /// [`Error::StaleStep`]).
    #[cfg(feature = "capi")]
    pub(crate) fn for_step(step: u32) -> Self {
        StepToken { step }
    }

    /// The global step being taken.
    pub fn step(&self) -> u32 {
        self.step
    }
}

/// Everything of an optimizer but its groups: the layout, the rule, the settings and the step
/// counter. The groups live beside it (in [`Optimizer`], or in the C caller's array).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Core<'a, U> {
    pub tensors: &'a [Tensor],
    pub total: usize,
    pub rule: U,
    pub check_finite: bool,
    pub path: Path,
    pub step: u32,
    pub planned: Option<u32>,
}

impl<'a, U: Update> Core<'a, U> {
    /// Validates the layout, the groups and the settings, and gives each group its `F(wd·L)` and
    /// `F(1/L)`.
    pub fn new<G: GroupLike>(
        tensors: &'a [Tensor],
        groups: &mut [G],
        rule: U,
        loss_scale: f64,
        check_finite: bool,
        path: Path,
    ) -> Result<Self, Error> {
        group::check_groups(groups)?;
        let total = group::check_layout(tensors, groups.len())?;
        hyper::positive(loss_scale, Param::LossScale)?;
        if !path.is_available() {
            return Err(Error::PathUnavailable);
        }
        // all validated before any group is changed
        for g in groups.iter() {
            GradPrep::new(g.weight_decay(), loss_scale)?;
        }
        for g in groups.iter_mut() {
            g.set_prep(GradPrep::new(g.weight_decay(), loss_scale)?);
        }
        Ok(Core {
            tensors,
            total,
            rule,
            check_finite,
            path,
            step: 0,
            planned: None,
        })
    }

    /// Computes every group's `lr(k)` for `k` = the global step; nothing else changes.
    pub fn begin<G: GroupLike>(&mut self, groups: &mut [G]) -> Result<StepToken, Error> {
        if self.step == u32::MAX {
            return Err(Error::StepOverflow);
        }
        // A failure here drops no plan: a step planned before is this same step `k` (only
        // `end` and `restore` change `k`, and both drop the plan), whose learning rates were
        // found then and still are (a static one may change, but stays valid).
        self.planned = None;
        for g in groups.iter_mut() {
            let lr = g.lr_source().at(self.step)?;
            g.set_planned(lr);
        }
        self.planned = Some(self.step);
        Ok(StepToken { step: self.step })
    }

    /// Updates tensors `range` (their elements are the whole of the given buffers).
    pub fn apply<G: GroupLike>(
        &self,
        groups: &[G],
        token: &StepToken,
        range: Range<usize>,
        params: &mut [f32],
        grads: &[f32],
        state: &mut [f32],
    ) -> Result<(), Error> {
        if self.planned != Some(token.step) {
            return Err(Error::StaleStep);
        }
        self.check_buffers(range.clone(), params, grads, state)?;
        self.update(groups, range, params, grads, state)
    }

    /// Checks the buffers of tensors `range`: their lengths and, if asked, that the gradients
    /// are finite.
    fn check_buffers(
        &self,
        range: Range<usize>,
        params: &[f32],
        grads: &[f32],
        state: &[f32],
    ) -> Result<(), Error> {
        let elements = group::element_range(self.tensors, range.start, range.end)?;
        check_len(Buffer::Params, elements.len(), params.len())?;
        check_len(Buffer::Grads, elements.len(), grads.len())?;
        check_len(Buffer::State, elements.len(), state.len())?;
        if self.check_finite
            && let Some(index) = grads.iter().position(|g| !g.is_finite())
        {
            return Err(Error::NonFiniteGradient { index });
        }
        Ok(())
    }

    /// Updates tensors `range` with the groups' planned learning rates, on buffers that
    /// [`Core::check_buffers`] accepted (the errors left are those the layout's validation
    /// rules out).
    fn update<G: GroupLike>(
        &self,
        groups: &[G],
        range: Range<usize>,
        params: &mut [f32],
        grads: &[f32],
        state: &mut [f32],
    ) -> Result<(), Error> {
        let mut offset = 0;
        for (i, t) in self.tensors[range.clone()].iter().enumerate() {
            let g = groups.get(t.group).ok_or(Error::GroupOutOfRange {
                tensor: range.start + i,
                group: t.group,
            })?;
            let centralize = (g.centralize() && t.rows > 0).then_some(t.rows);
            let span = offset..offset + t.len;
            self.rule.run(
                self.path,
                g.planned(),
                g.prep(),
                centralize,
                (
                    &mut params[span.clone()],
                    &grads[span.clone()],
                    &mut state[span],
                ),
            )?;
            offset += t.len;
        }
        Ok(())
    }

    /// Completes the planned step: `k ← k + 1`.
    pub fn end(&mut self, token: StepToken) -> Result<(), Error> {
        if self.planned != Some(token.step) || token.step != self.step {
            return Err(Error::StaleStep);
        }
        self.step += 1;
        self.planned = None;
        self.rule.set_started(true);
        Ok(())
    }

    /// One whole step.
    pub fn step<G: GroupLike>(
        &mut self,
        groups: &mut [G],
        params: &mut [f32],
        grads: &[f32],
        state: &mut [f32],
    ) -> Result<(), Error> {
        // the buffers first: past them, only `begin` can fail, and then nothing has changed
        // (a step planned by `begin_step` included)
        let all = 0..self.tensors.len();
        self.check_buffers(all.clone(), params, grads, state)?;
        let token = self.begin(groups)?;
        self.update(groups, all, params, grads, state)?;
        self.end(token)
    }

    /// The learning rate group `g` will use at the next step.
    pub fn lr<G: GroupLike>(&self, groups: &[G], g: usize) -> Result<f32, Error> {
        let group = groups.get(g).ok_or(Error::NoSuchGroup { group: g })?;
        group.lr_source().at(self.step)
    }

    /// Sets group `g`'s static learning rate to `F(lr)`, used from the next step on.
    pub fn set_lr<G: GroupLike>(&self, groups: &mut [G], g: usize, lr: f64) -> Result<(), Error> {
        let group = groups.get_mut(g).ok_or(Error::NoSuchGroup { group: g })?;
        let lr = hyper::round_f32(
            hyper::non_negative(lr, Param::LearningRate)?,
            Param::LearningRate,
        )?;
        if group.set_static(lr) {
            Ok(())
        } else {
            Err(Error::NotStatic { group: g })
        }
    }
}

fn check_len(buffer: Buffer, expected: usize, actual: usize) -> Result<(), Error> {
    if expected == actual {
        Ok(())
    } else {
        Err(Error::LengthMismatch {
            buffer,
            expected,
            actual,
        })
    }
}

/// An optimizer over a layout of tensors in parameter groups, with the update `U` ([`Momentum`]
/// or [`Sgd`]) and the groups held in `S`: an array `[Group; N]` from a [`GroupTable`], or the
/// caller's `&mut [Group]` when the number of groups is only known at run time.
#[derive(Clone, Debug)]
pub struct Optimizer<'a, U, S> {
    core: Core<'a, U>,
    groups: S,
}

/// MindSpore's `nn.Momentum` over `N` parameter groups. The state buffer holds the moments
/// (zeros at the start, as MindSpore initialises them).
pub type Momentum<'a, const N: usize> = Optimizer<'a, MomentumRule, [Group<'a>; N]>;

/// MindSpore's `nn.SGD` over `N` parameter groups. The state buffer holds `accum` (zeros at
/// the start); MindSpore's `stat` buffer is a flag (see [`SgdStep::first_step`]).
pub type Sgd<'a, const N: usize> = Optimizer<'a, SgdRule, [Group<'a>; N]>;

/// [`Momentum`] over the caller's `&mut [Group]`, for a number of groups known at run time.
pub type MomentumSlice<'a, 'g> = Optimizer<'a, MomentumRule, &'g mut [Group<'a>]>;

/// [`Sgd`] over the caller's `&mut [Group]`, for a number of groups known at run time.
pub type SgdSlice<'a, 'g> = Optimizer<'a, SgdRule, &'g mut [Group<'a>]>;

impl MomentumRule {
    pub(crate) fn new(settings: &MomentumSettings) -> Result<Self, Error> {
        // validated and rounded now, so that a step only fails on its inputs
        Ok(MomentumRule {
            step: MomentumStep::new(0.0, settings.momentum, settings.nesterov, GradPrep::NONE)?,
        })
    }
}

impl SgdRule {
    pub(crate) fn new(settings: &SgdSettings) -> Result<Self, Error> {
        Ok(SgdRule {
            step: SgdStep::new(
                0.0,
                settings.momentum,
                settings.dampening,
                settings.nesterov,
                GradPrep::NONE,
            )?,
            started: false,
        })
    }
}

impl<'a, const N: usize> Momentum<'a, N> {
    /// A Momentum optimizer over `tensors` (back to back in the buffers, in this order) in the
    /// groups of `table`.
    pub fn new(
        tensors: &'a [Tensor],
        table: GroupTable<'a, N>,
        settings: MomentumSettings,
    ) -> Result<Self, Error> {
        let rule = MomentumRule::new(&settings)?;
        Optimizer::build(
            tensors,
            table.into_inner(),
            rule,
            settings.loss_scale,
            settings.check_finite,
            settings.path,
        )
    }
}

impl<'a, 'g> MomentumSlice<'a, 'g> {
    /// A Momentum optimizer over the caller's groups (validated like a [`GroupTable`]).
    pub fn with_groups(
        tensors: &'a [Tensor],
        groups: &'g mut [Group<'a>],
        settings: MomentumSettings,
    ) -> Result<Self, Error> {
        let rule = MomentumRule::new(&settings)?;
        Optimizer::build(
            tensors,
            groups,
            rule,
            settings.loss_scale,
            settings.check_finite,
            settings.path,
        )
    }
}

impl<'a, const N: usize> Sgd<'a, N> {
    /// An SGD optimizer over `tensors` (back to back in the buffers, in this order) in the groups
    /// of `table`.
    pub fn new(
        tensors: &'a [Tensor],
        table: GroupTable<'a, N>,
        settings: SgdSettings,
    ) -> Result<Self, Error> {
        let rule = SgdRule::new(&settings)?;
        Optimizer::build(
            tensors,
            table.into_inner(),
            rule,
            settings.loss_scale,
            settings.check_finite,
            settings.path,
        )
    }
}

impl<'a, 'g> SgdSlice<'a, 'g> {
    /// An SGD optimizer over the caller's groups (validated like a [`GroupTable`]).
    pub fn with_groups(
        tensors: &'a [Tensor],
        groups: &'g mut [Group<'a>],
        settings: SgdSettings,
    ) -> Result<Self, Error> {
        let rule = SgdRule::new(&settings)?;
        Optimizer::build(
            tensors,
            groups,
            rule,
            settings.loss_scale,
            settings.check_finite,
            settings.path,
        )
    }
}

impl<'a, U: Update, S: AsRef<[Group<'a>]> + AsMut<[Group<'a>]>> Optimizer<'a, U, S> {
    fn build(
        tensors: &'a [Tensor],
        mut groups: S,
        rule: U,
        loss_scale: f64,
        check_finite: bool,
        path: Path,
    ) -> Result<Self, Error> {
        let core = Core::new(
            tensors,
            groups.as_mut(),
            rule,
            loss_scale,
            check_finite,
            path,
        )?;
        Ok(Optimizer { core, groups })
    }

    /// One step over the whole layout: `params`, `grads` and `state` hold every tensor, back to
    /// back. On error nothing changes (buffers and step counter).
    pub fn step(
        &mut self,
        params: &mut [f32],
        grads: &[f32],
        state: &mut [f32],
    ) -> Result<(), Error> {
        self.core.step(self.groups.as_mut(), params, grads, state)
    }

    /// Plans step `k` (computes every group's learning rate) for a sharded step.
    pub fn begin_step(&mut self) -> Result<StepToken, Error> {
        self.core.begin(self.groups.as_mut())
    }

    /// Updates tensors `tensors` of the planned step; `params`, `grads` and `state` hold exactly
    /// those tensors' elements ([`Optimizer::elements`]). Shards may run in any order, and
    /// concurrently on disjoint buffers. With [`MomentumSettings::check_finite`], a shard checks
    /// its own gradients before writing; check every shard first for an all-or-nothing step.
    pub fn step_shard(
        &self,
        token: &StepToken,
        tensors: Range<usize>,
        params: &mut [f32],
        grads: &[f32],
        state: &mut [f32],
    ) -> Result<(), Error> {
        self.core
            .apply(self.groups.as_ref(), token, tensors, params, grads, state)
    }

    /// Completes the planned step once every tensor has been updated exactly once: the global
    /// step becomes `k + 1`.
    pub fn end_step(&mut self, token: StepToken) -> Result<(), Error> {
        self.core.end(token)
    }

    /// The element range of tensors `tensors` in the flat buffers.
    pub fn elements(&self, tensors: Range<usize>) -> Result<Range<usize>, Error> {
        group::element_range(self.core.tensors, tensors.start, tensors.end)
    }

    /// The global step: the number of steps taken, and the index of the next step's learning
    /// rate (MindSpore's `global_step`).
    pub fn global_step(&self) -> u32 {
        self.core.step
    }

    /// The learning rate group `group` will use at the next step.
    pub fn lr(&self, group: usize) -> Result<f32, Error> {
        self.core.lr(self.groups.as_ref(), group)
    }

    /// Sets group `group`'s static learning rate to `F(lr)` (finite, ≥ 0). The next step uses it
    /// — what MindSpore's `LearningRateScheduler` callback does after a step.
    pub fn set_lr(&mut self, group: usize, lr: f64) -> Result<(), Error> {
        self.core.set_lr(self.groups.as_mut(), group, lr)
    }

    /// The groups.
    pub fn groups(&self) -> &[Group<'a>] {
        self.groups.as_ref()
    }

    /// The layout.
    pub fn tensors(&self) -> &'a [Tensor] {
        self.core.tensors
    }

    /// The length of the params, grads and state buffers.
    pub fn len(&self) -> usize {
        self.core.total
    }

    /// Whether the layout holds no element.
    pub fn is_empty(&self) -> bool {
        self.core.total == 0
    }

    /// The number of bytes [`Optimizer::save`] writes (`usize::MAX` for a layout larger than
    /// memory, which no buffer can hold).
    pub fn saved_len(&self) -> usize {
        state::saved_len(self.groups.as_ref().len(), self.core.total)
    }

    /// Writes the step counter, the groups' static learning rates and `state` into `out` (at
    /// least [`Optimizer::saved_len`] bytes); returns the number of bytes written.
    pub fn save(&self, state: &[f32], out: &mut [u8]) -> Result<usize, Error> {
        state::save(&self.core, self.groups.as_ref(), state, out)
    }

    /// Restores what [`Optimizer::save`] wrote, into this optimizer and `state`; on error
    /// nothing changes.
    pub fn restore(&mut self, bytes: &[u8], state: &mut [f32]) -> Result<(), Error> {
        state::restore(&mut self.core, self.groups.as_mut(), bytes, state)
    }
}
