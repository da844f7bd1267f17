//! MindSpore's `nn.SGD` (`docs/SEMANTICS.md` §2.3): [`SgdSettings`], the rule [`SgdRule`] and the
//! optimizer [`Sgd`].

use super::optimizer::Optimizer;
use super::rule::{Rule, Streams, sealed::RuleImpl};
use crate::error::Error;
use crate::group::Group;
use crate::hyper::{GradPrep, SgdStep};
use crate::kernel::{self, Backend};
use crate::layout::Tensor;
use crate::reference::Rows;
use crate::softf64;

/// The settings of an [`Sgd`] optimizer; the default is MindSpore's: no momentum, no dampening,
/// no Nesterov, loss scale 1. `SgdSettings::default().with_momentum(0.9)`.
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub struct SgdSettings {
    /// The momentum coefficient: finite, ≥ 0.
    pub momentum: f64,
    /// The dampening: finite, ≥ 0.
    pub dampening: f64,
    /// The Nesterov form: needs `momentum > 0` and `dampening == 0`.
    pub nesterov: bool,
    /// The loss scale the gradients arrive multiplied by: finite, > 0.
    pub loss_scale: f64,
    /// As [`crate::MomentumSettings::check_finite`].
    pub check_finite: bool,
    /// The kernel backend (default: the widest this machine has).
    pub backend: Backend,
}

impl Default for SgdSettings {
    fn default() -> Self {
        SgdSettings {
            momentum: 0.0,
            dampening: 0.0,
            nesterov: false,
            loss_scale: 1.0,
            check_finite: false,
            backend: Backend::selected(),
        }
    }
}

impl SgdSettings {
    /// With the momentum coefficient.
    pub fn with_momentum(self, momentum: f64) -> Self {
        SgdSettings { momentum, ..self }
    }

    /// With the dampening.
    pub fn with_dampening(self, dampening: f64) -> Self {
        SgdSettings { dampening, ..self }
    }

    /// With or without the Nesterov form.
    pub fn with_nesterov(self, nesterov: bool) -> Self {
        SgdSettings { nesterov, ..self }
    }

    /// With the loss scale the gradients arrive multiplied by.
    pub fn with_loss_scale(self, loss_scale: f64) -> Self {
        SgdSettings { loss_scale, ..self }
    }

    /// With or without the check that every gradient is finite.
    pub fn with_check_finite(self, check_finite: bool) -> Self {
        SgdSettings {
            check_finite,
            ..self
        }
    }

    /// On the given kernel backend.
    pub fn with_backend(self, backend: Backend) -> Self {
        SgdSettings { backend, ..self }
    }
}

/// `nn.SGD`'s update, with its first-step rule, coupled weight decay and loss-scale unscaling.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SgdRule {
    step: SgdStep,
    /// Whether a step has completed (MindSpore's `stat` buffer, which is uniform: a flag).
    started: bool,
    /// The loss scale `L`, as two words ([`softf64::to_words`]).
    loss_scale: [u32; 2],
}

impl SgdRule {
    /// The rule of `settings`: `F(momentum)`, `F(dampening)`, MindSpore's Nesterov condition,
    /// and a loss scale whose `F(1/L)` is finite.
    pub fn new(settings: &SgdSettings) -> Result<Self, Error> {
        GradPrep::new(0.0, settings.loss_scale)?;
        let step = SgdStep::new(
            0.0,
            settings.momentum,
            settings.dampening,
            settings.nesterov,
            GradPrep::NONE,
        )?;
        Ok(SgdRule {
            step,
            started: false,
            loss_scale: softf64::to_words(settings.loss_scale),
        })
    }

    /// `F(momentum)`.
    pub fn momentum(&self) -> f32 {
        self.step.momentum()
    }

    /// `F(dampening)`.
    pub fn dampening(&self) -> f32 {
        self.step.dampening()
    }

    /// Whether the Nesterov form is used.
    pub fn nesterov(&self) -> bool {
        self.step.nesterov()
    }

    /// Whether a step has completed (the next one is not the first).
    pub fn started(&self) -> bool {
        self.started
    }
}

impl RuleImpl for SgdRule {
    const KIND: u8 = 2;

    fn buffers(&self) -> usize {
        1
    }

    fn prep(&self, weight_decay: f64) -> Result<GradPrep, Error> {
        GradPrep::new(weight_decay, softf64::from_words(self.loss_scale))
    }

    fn scalars(&self) -> [u32; 2] {
        [self.started as u32, 0]
    }

    fn with_scalars(self, scalars: [u32; 2]) -> Option<Self> {
        match scalars {
            [started @ (0 | 1), 0] => Some(SgdRule {
                started: started == 1,
                ..self
            }),
            _ => None,
        }
    }

    fn end_step(&mut self) {
        self.started = true;
    }

    // inlined into the step: the rule's constant settings then prune the kernel variants it
    // never runs (a Cortex-M4F build carries only those)
    #[inline(always)]
    fn update(&self, backend: Backend, lr: f32, prep: GradPrep, rows: Rows, s: Streams<'_>) {
        let [accum, ..] = s.state;
        let step = self.step.with(lr, prep).first_step(!self.started);
        kernel::run_sgd(backend, rows, s.params, s.grads, accum, &step);
    }

    #[cfg(feature = "capi")]
    fn encode(&self) -> [u32; super::rule::RULE_WORDS] {
        let [a, b] = self.loss_scale;
        let (mu, damp) = (self.step.momentum(), self.step.dampening());
        let flags = self.step.nesterov() as u32 | (self.started as u32) << 1;
        [mu.to_bits(), damp.to_bits(), flags, a, b, 0, 0, 0, 0, 0]
    }

    #[cfg(feature = "capi")]
    fn decode(w: &[u32; super::rule::RULE_WORDS]) -> Option<Self> {
        let [mu, damp, flags @ 0..=3, a, b, 0, 0, 0, 0, 0] = *w else {
            return None;
        };
        let (mu, damp) = (f32::from_bits(mu), f32::from_bits(damp));
        Some(SgdRule {
            step: SgdStep::from_rounded(mu, damp, flags & 1 != 0),
            started: flags & 2 != 0,
            loss_scale: [a, b],
        })
    }
}

impl Rule for SgdRule {}

/// MindSpore's `nn.SGD` over parameter groups held in `G` (`[Group; N]` or `&mut [Group]`).
/// Its state buffer holds `accum`; MindSpore's `stat` buffer is a flag (see
/// [`SgdStep::first_step`]).
pub type Sgd<'a, G> = Optimizer<'a, SgdRule, G>;

impl<'a, G: AsRef<[Group<'a>]> + AsMut<[Group<'a>]>> Sgd<'a, G> {
    /// An SGD optimizer over `tensors` (back to back in the buffers, in this order) in `groups`
    /// (an array, or a `&mut` slice).
    pub fn new(tensors: &'a [Tensor], groups: G, settings: SgdSettings) -> Result<Self, Error> {
        let rule = SgdRule::new(&settings)?;
        Optimizer::build(
            tensors,
            groups,
            rule,
            settings.check_finite,
            settings.backend,
        )
    }
}
