//! MindSpore's `nn.Momentum` (`docs/SEMANTICS.md` §2.1–2.2): [`MomentumSettings`], the rule
//! [`MomentumRule`] and the optimizer [`Momentum`].

use super::optimizer::Optimizer;
use super::rule::{Rule, Streams, sealed::RuleImpl};
use crate::error::Error;
use crate::group::Group;
use crate::hyper::{GradPrep, MomentumStep};
use crate::kernel::{self, Backend};
use crate::layout::Tensor;
use crate::reference::Rows;
use crate::softf64;

/// The settings of a [`Momentum`] optimizer: `MomentumSettings::new(0.9).with_nesterov(true)`.
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
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
    /// The kernel backend (default: the widest this machine has).
    pub backend: Backend,
}

impl MomentumSettings {
    /// `momentum`, no Nesterov, loss scale 1, no gradient check, the selected backend.
    pub fn new(momentum: f64) -> Self {
        MomentumSettings {
            momentum,
            nesterov: false,
            loss_scale: 1.0,
            check_finite: false,
            backend: Backend::selected(),
        }
    }

    /// With or without the Nesterov form.
    pub fn with_nesterov(self, nesterov: bool) -> Self {
        MomentumSettings { nesterov, ..self }
    }

    /// With the loss scale the gradients arrive multiplied by.
    pub fn with_loss_scale(self, loss_scale: f64) -> Self {
        MomentumSettings { loss_scale, ..self }
    }

    /// With or without the check that every gradient is finite.
    pub fn with_check_finite(self, check_finite: bool) -> Self {
        MomentumSettings {
            check_finite,
            ..self
        }
    }

    /// On the given kernel backend.
    pub fn with_backend(self, backend: Backend) -> Self {
        MomentumSettings { backend, ..self }
    }
}

/// `ApplyMomentum`, or its Nesterov form, with coupled weight decay and loss-scale unscaling.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MomentumRule {
    step: MomentumStep,
    /// The loss scale `L`, as two words ([`softf64::to_words`]).
    loss_scale: [u32; 2],
}

impl MomentumRule {
    /// The rule of `settings`: `F(momentum)`, and a loss scale whose `F(1/L)` is finite.
    pub fn new(settings: &MomentumSettings) -> Result<Self, Error> {
        GradPrep::new(0.0, settings.loss_scale)?;
        Ok(MomentumRule {
            step: MomentumStep::new(0.0, settings.momentum, settings.nesterov, GradPrep::NONE)?,
            loss_scale: softf64::to_words(settings.loss_scale),
        })
    }

    /// `F(momentum)`.
    pub fn momentum(&self) -> f32 {
        self.step.momentum()
    }

    /// Whether the Nesterov form is used.
    pub fn nesterov(&self) -> bool {
        self.step.nesterov()
    }
}

impl RuleImpl for MomentumRule {
    const KIND: u8 = 1;

    fn buffers(&self) -> usize {
        1
    }

    fn prep(&self, weight_decay: f64) -> Result<GradPrep, Error> {
        GradPrep::new(weight_decay, softf64::from_words(self.loss_scale))
    }

    fn scalars(&self) -> [u32; 2] {
        [0, 0]
    }

    fn with_scalars(self, scalars: [u32; 2]) -> Option<Self> {
        (scalars == [0, 0]).then_some(self)
    }

    fn end_step(&mut self) {}

    // inlined into the step: the rule's constant settings then prune the kernel variants it
    // never runs (a Cortex-M4F build carries only those)
    #[inline(always)]
    fn update(&self, backend: Backend, lr: f32, prep: GradPrep, rows: Rows, s: Streams<'_>) {
        let [m, ..] = s.state;
        kernel::run_momentum(
            backend,
            rows,
            s.params,
            s.grads,
            m,
            &self.step.with(lr, prep),
        );
    }

    #[cfg(feature = "capi")]
    fn encode(&self) -> [u32; super::rule::RULE_WORDS] {
        let [a, b] = self.loss_scale;
        let nesterov = self.step.nesterov() as u32;
        [
            self.step.momentum().to_bits(),
            nesterov,
            a,
            b,
            0,
            0,
            0,
            0,
            0,
            0,
        ]
    }

    #[cfg(feature = "capi")]
    fn decode(w: &[u32; super::rule::RULE_WORDS]) -> Option<Self> {
        let [momentum, nesterov, a, b, 0, 0, 0, 0, 0, 0] = *w else {
            return None;
        };
        (nesterov <= 1).then(|| MomentumRule {
            step: MomentumStep::from_rounded(f32::from_bits(momentum), nesterov == 1),
            loss_scale: [a, b],
        })
    }
}

impl Rule for MomentumRule {}

/// MindSpore's `nn.Momentum` over parameter groups held in `G` (`[Group; N]` or
/// `&mut [Group]`). Its state buffer holds the moments.
pub type Momentum<'a, G> = Optimizer<'a, MomentumRule, G>;

impl<'a, G: AsRef<[Group<'a>]> + AsMut<[Group<'a>]>> Momentum<'a, G> {
    /// A Momentum optimizer over `tensors` (back to back in the buffers, in this order) in
    /// `groups` (an array, or a `&mut` slice).
    pub fn new(
        tensors: &'a [Tensor],
        groups: G,
        settings: MomentumSettings,
    ) -> Result<Self, Error> {
        let rule = MomentumRule::new(&settings)?;
        Optimizer::build(
            tensors,
            groups,
            rule,
            settings.check_finite,
            settings.backend,
        )
    }
}
