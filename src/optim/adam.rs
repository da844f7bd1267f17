//! MindSpore's `nn.Adam` and `nn.AdamWeightDecay` (`docs/SEMANTICS-ADAM.md`): their settings,
//! the rules [`AdamRule`] and [`AdamWRule`], and the optimizers [`Adam`] and [`AdamWeightDecay`].
//!
//! State buffers, one after the other in the state slice, each as long as the parameters: Adam
//! keeps `m` and `v` (and `v̂` with AMSGrad), AdamWeightDecay `m` and `v`. Adam's beta powers are
//! scalars the optimizer keeps (and saves).

use core::num::NonZeroU32;

use super::optimizer::Optimizer;
use super::rule::{Rule, Streams, sealed::RuleImpl};
use crate::error::{Error, Param};
use crate::group::Group;
use crate::hyper::{AdamStep, AdamWStep, Betas, GradPrep};
use crate::kernel::{self, Backend};
use crate::layout::Tensor;
use crate::reference::Rows;
use crate::softf64;

/// The settings of an [`Adam`] optimizer, MindSpore's defaults from [`AdamSettings::new`]:
/// `AdamSettings::new().with_amsgrad(true)`.
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub struct AdamSettings {
    /// `β1`, strictly between 0 and 1 (default 0.9).
    pub beta1: f64,
    /// `β2`, strictly between 0 and 1 (default 0.999).
    pub beta2: f64,
    /// `eps`, finite and > 0 (default 1e-8).
    pub eps: f64,
    /// The Nesterov form (`use_nesterov`).
    pub nesterov: bool,
    /// AMSGrad (`use_amsgrad`): a third state buffer, `v̂`. Not with Nesterov (MindSpore ignores
    /// Nesterov then; gradstep refuses the pair, DESIGN divergence 7).
    pub amsgrad: bool,
    /// The loss scale the gradients arrive multiplied by: finite, > 0.
    pub loss_scale: f64,
    /// MindSpore's kernel threads `K` (default 1), which decide which elements of a tensor of
    /// more than 1000 take the vector formula and which the scalar one. To match a MindSpore
    /// installation, use its `K`: `min(threads_num, hardware threads)`, where `threads_num` is
    /// what `mindspore.device_context.cpu.op_tuning.threads_num` was set to (default 30).
    pub threads: u32,
    /// Reject a step whose gradients hold a NaN or an infinity, before anything is written.
    pub check_finite: bool,
    /// The kernel backend (default: the widest this machine has).
    pub backend: Backend,
}

impl Default for AdamSettings {
    fn default() -> Self {
        AdamSettings::new()
    }
}

impl AdamSettings {
    /// MindSpore's defaults: `β1` 0.9, `β2` 0.999, `eps` 1e-8, no Nesterov, no AMSGrad, loss
    /// scale 1, `K` = 1; no gradient check, the selected backend.
    pub fn new() -> Self {
        AdamSettings {
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            nesterov: false,
            amsgrad: false,
            loss_scale: 1.0,
            threads: 1,
            check_finite: false,
            backend: Backend::selected(),
        }
    }

    /// With `β1` and `β2`.
    pub fn with_betas(self, beta1: f64, beta2: f64) -> Self {
        AdamSettings {
            beta1,
            beta2,
            ..self
        }
    }

    /// With `eps`.
    pub fn with_eps(self, eps: f64) -> Self {
        AdamSettings { eps, ..self }
    }

    /// With or without the Nesterov form.
    pub fn with_nesterov(self, nesterov: bool) -> Self {
        AdamSettings { nesterov, ..self }
    }

    /// With or without AMSGrad.
    pub fn with_amsgrad(self, amsgrad: bool) -> Self {
        AdamSettings { amsgrad, ..self }
    }

    /// With the loss scale the gradients arrive multiplied by.
    pub fn with_loss_scale(self, loss_scale: f64) -> Self {
        AdamSettings { loss_scale, ..self }
    }

    /// With MindSpore's kernel threads `K` (see [`AdamSettings::threads`]).
    pub fn with_threads(self, threads: u32) -> Self {
        AdamSettings { threads, ..self }
    }

    /// With or without the check that every gradient is finite.
    pub fn with_check_finite(self, check_finite: bool) -> Self {
        AdamSettings {
            check_finite,
            ..self
        }
    }

    /// On the given kernel backend.
    pub fn with_backend(self, backend: Backend) -> Self {
        AdamSettings { backend, ..self }
    }
}

/// The beta powers before the first step: MindSpore's `beta1_power` and `beta2_power` start at 1.
const POWERS_BEFORE_FIRST_STEP: [f32; 2] = [1.0, 1.0];

/// `nn.Adam`'s update (plain, Nesterov or AMSGrad) with coupled weight decay, loss-scale
/// unscaling and the beta powers it keeps.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AdamRule {
    /// The betas, `eps`, the flags and `K` (its learning rate and preparation are set per tensor).
    step: AdamStep,
    /// `beta1_power`, `beta2_power` after the last completed step.
    powers: [f32; 2],
    /// The loss scale `L`, as two words ([`softf64::to_words`]).
    loss_scale: [u32; 2],
}

impl AdamRule {
    /// The rule of `settings`, validated as MindSpore validates them (and AMSGrad with Nesterov
    /// refused).
    pub fn new(settings: &AdamSettings) -> Result<Self, Error> {
        GradPrep::new(0.0, settings.loss_scale)?;
        let betas = Betas::new(settings.beta1, settings.beta2, settings.eps)?;
        let threads =
            NonZeroU32::new(settings.threads).ok_or(Error::NotPositive(Param::Threads))?;
        let step = AdamStep::new(
            0.0,
            betas,
            settings.nesterov,
            settings.amsgrad,
            GradPrep::NONE,
        )?
        .with_threads(threads);
        Ok(AdamRule {
            step,
            powers: POWERS_BEFORE_FIRST_STEP,
            loss_scale: softf64::to_words(settings.loss_scale),
        })
    }

    /// `F(β1)`, `F(β2)`, `F(eps)`.
    pub fn betas(&self) -> &Betas {
        self.step.betas()
    }

    /// Whether the Nesterov form is used.
    pub fn nesterov(&self) -> bool {
        self.step.nesterov()
    }

    /// Whether AMSGrad is used.
    pub fn amsgrad(&self) -> bool {
        self.step.amsgrad()
    }

    /// MindSpore's kernel threads `K`.
    pub fn threads(&self) -> NonZeroU32 {
        self.step.threads()
    }

    /// `beta1_power` and `beta2_power` after the last completed step: `F(β)^k` by repeated `f32`
    /// multiplication, 1 before the first.
    pub fn powers(&self) -> [f32; 2] {
        self.powers
    }

    /// The powers the next step uses, as MindSpore forms them before its kernel: each
    /// `power ⊗ F(β)`.
    fn next_powers(&self) -> [f32; 2] {
        let b = self.step.betas();
        [self.powers[0] * b.beta1(), self.powers[1] * b.beta2()]
    }
}

/// Whether `p` is a beta power the optimizer can hold: in `[0, 1]`, sign bit clear.
fn is_power(p: f32) -> bool {
    p.to_bits() <= 1.0f32.to_bits()
}

impl RuleImpl for AdamRule {
    const KIND: u8 = 3;

    fn buffers(&self) -> usize {
        if self.step.amsgrad() { 3 } else { 2 }
    }

    fn prep(&self, weight_decay: f64) -> Result<GradPrep, Error> {
        GradPrep::new(weight_decay, softf64::from_words(self.loss_scale))
    }

    fn scalars(&self) -> [u32; 2] {
        self.powers.map(f32::to_bits)
    }

    fn with_scalars(self, scalars: [u32; 2]) -> Option<Self> {
        let powers = scalars.map(f32::from_bits);
        powers
            .iter()
            .all(|&p| is_power(p))
            .then_some(AdamRule { powers, ..self })
    }

    fn end_step(&mut self) {
        self.powers = self.next_powers();
    }

    // inlined into the step: the rule's constant settings then prune the kernel variants it
    // never runs (a Cortex-M4F build carries only those)
    #[inline(always)]
    fn update(&self, backend: Backend, lr: f32, prep: GradPrep, rows: Rows, s: Streams<'_>) {
        let step = self.step.with(lr, prep, self.next_powers());
        let within = kernel::Within {
            offset: s.offset,
            tensor_len: s.tensor_len,
        };
        kernel::run_adam(backend, rows, s.params, s.grads, s.state, &step, within);
    }

    #[cfg(feature = "capi")]
    fn encode(&self) -> [u32; super::rule::RULE_WORDS] {
        let b = self.step.betas();
        let [a, c] = self.loss_scale;
        let [p1, p2] = self.scalars();
        let flags = self.step.nesterov() as u32 | (self.step.amsgrad() as u32) << 1;
        let threads = self.step.threads().get();
        let [b1, b2, eps] = [b.beta1(), b.beta2(), b.eps()].map(f32::to_bits);
        [b1, b2, eps, flags, threads, a, c, p1, p2, 0]
    }

    #[cfg(feature = "capi")]
    fn decode(w: &[u32; super::rule::RULE_WORDS]) -> Option<Self> {
        let [b1, b2, eps, flags @ 0..=2, threads, a, c, p1, p2, 0] = *w else {
            return None;
        };
        let betas =
            Betas::from_rounded(f32::from_bits(b1), f32::from_bits(b2), f32::from_bits(eps))?;
        let threads = NonZeroU32::new(threads)?;
        let step = AdamStep::from_rounded(betas, flags & 1 != 0, flags & 2 != 0, threads);
        let rule = AdamRule {
            step,
            powers: POWERS_BEFORE_FIRST_STEP,
            loss_scale: [a, c],
        };
        rule.with_scalars([p1, p2])
    }
}

impl Rule for AdamRule {}

/// MindSpore's `nn.Adam` over parameter groups held in `G` (`[Group; N]` or `&mut [Group]`).
/// Its state holds `m`, `v` and, with AMSGrad, `v̂`: `state_len()` is two (three) times the
/// parameters'.
pub type Adam<'a, G> = Optimizer<'a, AdamRule, G>;

impl<'a, G: AsRef<[Group<'a>]> + AsMut<[Group<'a>]>> Adam<'a, G> {
    /// An Adam optimizer over `tensors` (back to back in the buffers, in this order) in `groups`
    /// (an array, or a `&mut` slice).
    pub fn new(tensors: &'a [Tensor], groups: G, settings: AdamSettings) -> Result<Self, Error> {
        let rule = AdamRule::new(&settings)?;
        Optimizer::build(
            tensors,
            groups,
            rule,
            settings.check_finite,
            settings.backend,
        )
    }
}

/// The settings of an [`AdamWeightDecay`] optimizer, MindSpore's defaults from
/// [`AdamWSettings::new`]. It has no loss scale and no flags (MindSpore takes none).
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub struct AdamWSettings {
    /// `β1`, strictly between 0 and 1 (default 0.9).
    pub beta1: f64,
    /// `β2`, strictly between 0 and 1 (default 0.999).
    pub beta2: f64,
    /// `eps`, finite and > 0 (default 1e-6).
    pub eps: f64,
    /// Reject a step whose gradients hold a NaN or an infinity, before anything is written.
    pub check_finite: bool,
    /// The kernel backend (default: the widest this machine has).
    pub backend: Backend,
}

impl Default for AdamWSettings {
    fn default() -> Self {
        AdamWSettings::new()
    }
}

impl AdamWSettings {
    /// MindSpore's defaults: `β1` 0.9, `β2` 0.999, `eps` 1e-6; no gradient check, the selected
    /// backend.
    pub fn new() -> Self {
        AdamWSettings {
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-6,
            check_finite: false,
            backend: Backend::selected(),
        }
    }

    /// With `β1` and `β2`.
    pub fn with_betas(self, beta1: f64, beta2: f64) -> Self {
        AdamWSettings {
            beta1,
            beta2,
            ..self
        }
    }

    /// With `eps`.
    pub fn with_eps(self, eps: f64) -> Self {
        AdamWSettings { eps, ..self }
    }

    /// With or without the check that every gradient is finite.
    pub fn with_check_finite(self, check_finite: bool) -> Self {
        AdamWSettings {
            check_finite,
            ..self
        }
    }

    /// On the given kernel backend.
    pub fn with_backend(self, backend: Backend) -> Self {
        AdamWSettings { backend, ..self }
    }
}

/// `nn.AdamWeightDecay`'s update: no bias correction, a group's weight decay decoupled (`F(wd)`,
/// multiplied by the learning rate inside the update), no loss scale.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AdamWRule {
    /// The betas and `eps` (the learning rate and decay are set per tensor).
    step: AdamWStep,
}

impl AdamWRule {
    /// The rule of `settings`, validated as MindSpore validates them.
    pub fn new(settings: &AdamWSettings) -> Result<Self, Error> {
        let betas = Betas::new(settings.beta1, settings.beta2, settings.eps)?;
        Ok(AdamWRule {
            step: AdamWStep::new(0.0, betas, 0.0)?,
        })
    }

    /// `F(β1)`, `F(β2)`, `F(eps)`.
    pub fn betas(&self) -> &Betas {
        self.step.betas()
    }
}

impl RuleImpl for AdamWRule {
    const KIND: u8 = 4;

    fn buffers(&self) -> usize {
        2
    }

    fn prep(&self, weight_decay: f64) -> Result<GradPrep, Error> {
        GradPrep::decoupled(weight_decay)
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
        // the decoupled decay goes to the update, not to the gradient
        let step = self.step.with(lr, prep.decay().unwrap_or(0.0));
        let [m, v, _] = s.state;
        kernel::run_adamw(backend, rows, s.params, s.grads, [m, v], &step);
    }

    #[cfg(feature = "capi")]
    fn encode(&self) -> [u32; super::rule::RULE_WORDS] {
        let b = self.step.betas();
        let [b1, b2, eps] = [b.beta1(), b.beta2(), b.eps()].map(f32::to_bits);
        [b1, b2, eps, 0, 0, 0, 0, 0, 0, 0]
    }

    #[cfg(feature = "capi")]
    fn decode(w: &[u32; super::rule::RULE_WORDS]) -> Option<Self> {
        let [b1, b2, eps, 0, 0, 0, 0, 0, 0, 0] = *w else {
            return None;
        };
        let betas =
            Betas::from_rounded(f32::from_bits(b1), f32::from_bits(b2), f32::from_bits(eps))?;
        Some(AdamWRule {
            step: AdamWStep::new(0.0, betas, 0.0).ok()?,
        })
    }
}

impl Rule for AdamWRule {}

/// MindSpore's `nn.AdamWeightDecay` over parameter groups held in `G` (`[Group; N]` or
/// `&mut [Group]`). Its state holds `m` and `v`: `state_len()` is twice the parameters'.
pub type AdamWeightDecay<'a, G> = Optimizer<'a, AdamWRule, G>;

impl<'a, G: AsRef<[Group<'a>]> + AsMut<[Group<'a>]>> AdamWeightDecay<'a, G> {
    /// An AdamWeightDecay optimizer over `tensors` (back to back in the buffers, in this order)
    /// in `groups` (an array, or a `&mut` slice).
    pub fn new(tensors: &'a [Tensor], groups: G, settings: AdamWSettings) -> Result<Self, Error> {
        let rule = AdamWRule::new(&settings)?;
        Optimizer::build(
            tensors,
            groups,
            rule,
            settings.check_finite,
            settings.backend,
        )
    }
}
