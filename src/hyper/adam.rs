//! The constants of one Adam or AdamWeightDecay kernel call (`docs/SEMANTICS-ADAM.md` §1–§5),
//! validated once and rounded where MindSpore rounds them: `F(β1)`, `F(β2)`, `F(eps)`, and
//! `c1 = 1 ⊖ F(β1)`, `c2 = 1 ⊖ F(β2)` in `f32`.

use core::num::NonZeroU32;

use super::GradPrep;
use crate::error::{Error, Param};
use crate::validate::{learning_rate, non_negative_f32, open_unit_f32, positive_f32};

/// `F(β1)`, `F(β2)`, `F(eps)` and the `c1`, `c2` MindSpore derives from them, shared by Adam and
/// AdamWeightDecay.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Betas {
    beta1: f32,
    beta2: f32,
    eps: f32,
}

impl Betas {
    /// `beta1` and `beta2` strictly between 0 and 1 (and `F(β) < 1`), `eps` finite and > 0 with
    /// `F(eps) > 0`. MindSpore accepts a NaN beta and an `eps` that rounds to 0; gradstep does
    /// not (DESIGN divergence 4).
    pub fn new(beta1: f64, beta2: f64, eps: f64) -> Result<Self, Error> {
        let beta1 = open_unit_f32(beta1, Param::Beta1)?;
        let beta2 = open_unit_f32(beta2, Param::Beta2)?;
        let eps = positive_f32(eps, Param::Eps)?;
        if eps == 0.0 {
            return Err(Error::NotPositive(Param::Eps));
        }
        Ok(Betas { beta1, beta2, eps })
    }

    /// The values of [`Betas::new`] from their `f32`s (the C API keeps them so), or `None` for
    /// values it never gives: betas in `[+0, 1)`, `eps` finite and > 0.
    #[cfg(feature = "capi")]
    pub(crate) fn from_rounded(beta1: f32, beta2: f32, eps: f32) -> Option<Self> {
        let beta = |b: f32| b.to_bits() < 1.0f32.to_bits();
        let eps_ok = eps.to_bits() > 0 && eps.to_bits() < f32::INFINITY.to_bits();
        (beta(beta1) && beta(beta2) && eps_ok).then_some(Betas { beta1, beta2, eps })
    }

    /// `F(β1)`.
    pub fn beta1(&self) -> f32 {
        self.beta1
    }

    /// `F(β2)`.
    pub fn beta2(&self) -> f32 {
        self.beta2
    }

    /// `F(eps)`.
    pub fn eps(&self) -> f32 {
        self.eps
    }

    /// `c1 = 1 ⊖ F(β1)`.
    pub fn c1(&self) -> f32 {
        1.0 - self.beta1
    }

    /// `c2 = 1 ⊖ F(β2)`.
    pub fn c2(&self) -> f32 {
        1.0 - self.beta2
    }
}

/// The constants of one `nn.Adam` update: plain, Nesterov or AMSGrad.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AdamStep {
    lr: f32,
    betas: Betas,
    beta1_power: f32,
    beta2_power: f32,
    nesterov: bool,
    amsgrad: bool,
    threads: NonZeroU32,
    prep: GradPrep,
}

impl AdamStep {
    /// The first step's constants: `lr` (finite, ≥ 0) is the group's learning rate, from which the
    /// kernel forms `lr_t`; the beta powers are `F(β1)` and `F(β2)` (MindSpore multiplies them in
    /// before the kernel runs); MindSpore's work split for one kernel thread. AMSGrad takes no
    /// Nesterov.
    pub fn new(
        lr: f32,
        betas: Betas,
        nesterov: bool,
        amsgrad: bool,
        prep: GradPrep,
    ) -> Result<Self, Error> {
        if nesterov && amsgrad {
            return Err(Error::AmsgradWithNesterov);
        }
        Ok(AdamStep {
            lr: learning_rate(lr)?,
            betas,
            beta1_power: betas.beta1,
            beta2_power: betas.beta2,
            nesterov,
            amsgrad,
            threads: NonZeroU32::MIN,
            prep,
        })
    }

    /// These constants at a later step: the beta powers this step uses (`F(β)^(k+1)`, each in
    /// `[0, 1)`), as the optimizer keeps them.
    pub fn with_powers(self, beta1_power: f32, beta2_power: f32) -> Result<Self, Error> {
        let in_range = |p: f32, param| {
            if (0.0..1.0).contains(&p) {
                Ok(p)
            } else {
                Err(Error::OutOfRange(param))
            }
        };
        Ok(AdamStep {
            beta1_power: in_range(beta1_power, Param::Beta1Power)?,
            beta2_power: in_range(beta2_power, Param::Beta2Power)?,
            ..self
        })
    }

    /// These constants with MindSpore's work split for `threads` kernel threads (its `K`): which
    /// elements take the vector formula and which the scalar one (§3).
    pub fn with_threads(self, threads: NonZeroU32) -> Self {
        AdamStep { threads, ..self }
    }

    /// These constants with the learning rate and gradient preparation of one tensor's step (see
    /// [`super::MomentumStep::with`]); the powers were checked when the optimizer formed them.
    pub(crate) fn with(self, lr: f32, prep: GradPrep, powers: [f32; 2]) -> Self {
        let [beta1_power, beta2_power] = powers;
        AdamStep {
            lr,
            prep,
            beta1_power,
            beta2_power,
            ..self
        }
    }

    /// The constants the C API keeps (`F(β)`, `F(eps)`, the flags and `K`).
    #[cfg(feature = "capi")]
    pub(crate) fn from_rounded(
        betas: Betas,
        nesterov: bool,
        amsgrad: bool,
        threads: NonZeroU32,
    ) -> Self {
        AdamStep {
            lr: 0.0,
            betas,
            beta1_power: betas.beta1,
            beta2_power: betas.beta2,
            nesterov,
            amsgrad,
            threads,
            prep: GradPrep::NONE,
        }
    }

    /// The learning rate.
    pub fn lr(&self) -> f32 {
        self.lr
    }

    /// `lr_t = (lr ⊗ sqrtf(1 ⊖ β2^(k+1))) ⊘ (1 ⊖ β1^(k+1))`, in `f32` as MindSpore forms it.
    pub fn lr_t(&self) -> f32 {
        (self.lr * crate::sqrt::sqrt_f32(1.0 - self.beta2_power)) / (1.0 - self.beta1_power)
    }

    /// The betas and `eps`.
    pub fn betas(&self) -> &Betas {
        &self.betas
    }

    /// The beta powers this step uses.
    pub fn powers(&self) -> [f32; 2] {
        [self.beta1_power, self.beta2_power]
    }

    /// Whether the Nesterov form is used.
    pub fn nesterov(&self) -> bool {
        self.nesterov
    }

    /// Whether AMSGrad is used.
    pub fn amsgrad(&self) -> bool {
        self.amsgrad
    }

    /// MindSpore's kernel threads `K`.
    pub fn threads(&self) -> NonZeroU32 {
        self.threads
    }

    /// The gradient preparation (coupled weight decay, unscaling).
    pub fn prep(&self) -> &GradPrep {
        &self.prep
    }
}

/// The constants of one `nn.AdamWeightDecay` update: no bias correction, the weight decay
/// decoupled (`F(wd)`, multiplied in inside the update), no loss scale.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AdamWStep {
    lr: f32,
    betas: Betas,
    decay: f32,
}

impl AdamWStep {
    /// `lr` finite and ≥ 0; `weight_decay` finite and ≥ 0, used as `F(wd)` (with 0, −0 included,
    /// MindSpore passes +0 and still multiplies, and so does gradstep).
    pub fn new(lr: f32, betas: Betas, weight_decay: f64) -> Result<Self, Error> {
        // the learning rate's error first, as every step's constructor reports it
        let lr = learning_rate(lr)?;
        let decay = non_negative_f32(weight_decay, Param::WeightDecay)?;
        Ok(AdamWStep {
            lr,
            betas,
            decay: if decay == 0.0 { 0.0 } else { decay },
        })
    }

    /// These constants with the learning rate and decay of one tensor's step.
    pub(crate) fn with(self, lr: f32, decay: f32) -> Self {
        AdamWStep { lr, decay, ..self }
    }

    /// The learning rate.
    pub fn lr(&self) -> f32 {
        self.lr
    }

    /// The betas and `eps`.
    pub fn betas(&self) -> &Betas {
        &self.betas
    }

    /// `F(wd)`, or 0.
    pub fn decay(&self) -> f32 {
        self.decay
    }
}
