//! MindSpore's six `LearningRateSchedule` classes, in its exact float32 op order
//! (`docs/SEMANTICS.md` §4).
//!
//! Each is validated at construction in MindSpore's order. At step `k`, `s = f32(k)` (MindSpore
//! casts the int32 step to float32); `F(x)` rounds a parameter to `f32`; every `⊕ ⊖ ⊗ ⊘` is one
//! `f32` operation; `powf` is [`crate::math::powf`] (glibc's bits) and `sin` is `F(sin(f64(x)))`.
//!
//! | class | `lr(k)` |
//! |---|---|
//! | [`ExponentialDecayLr`] | `p = s ⊘ F(ds)` (floored with stairs); `F(lr) ⊗ powf(F(rate), p)` |
//! | [`NaturalExpDecayLr`] | `p = s` (stairs: `floor(s ⊘ F(ds)) ⊗ F(ds)`); `F(lr) ⊗ powf(F(e), F(−rate) ⊗ p)` |
//! | [`InverseDecayLr`] | `p = s ⊘ F(ds)` (floored with stairs); `F(lr) ⊗ (1 ⊘ (1 ⊕ (F(rate) ⊗ p)))` |
//! | [`CosineDecayLr`] | `p = f32(min(k, ds))`; `F(min) ⊕ (F(½(max − min)) ⊗ (1 ⊕ sin(F(π) ⊗ ((p ⊘ F(ds)) ⊕ ½))))` |
//! | [`PolynomialDecayLr`] | `q = min(s, F(ds))`, `T = F(ds)` (update: `q = s`, `T = F(ds) ⊗ max(ceil(s ⊘ F(ds)), 1)`); `(F(lr − end) ⊗ powf(1 ⊖ (q ⊘ T), F(power))) ⊕ F(end)` |
//! | [`WarmupLr`] | `F(lr) ⊗ (f32(min(k, W)) ⊘ F(W))` |
//!
//! One divergence: where `1 ⊖ (q ⊘ T)` of [`PolynomialDecayLr`] falls below 0 — only possible
//! above 2^24 steps, where `f32(k)` and `q ⊘ T` round — MindSpore would take `powf` of a negative
//! number (NaN); gradstep uses 0, the value at the end of the decay.

use super::source::LrSchedule;
use crate::error::{Error, Param};
use crate::math::powf;
use crate::validate::{count, non_negative, non_negative_f32, positive, positive_f32, round_f32};

/// `F(min) ⊕ (delta ⊗ (1 ⊕ sin(F(π) ⊗ ((p ⊘ ds) ⊕ ½))))`: MindSpore's cosine decay, computed
/// with a shifted sine (`sin(π(p/ds + ½))`, not `cos(πp/ds)`; SEMANTICS G8).
pub(crate) fn cosine(min: f32, delta: f32, p: f32, ds: f32) -> f32 {
    let x = core::f32::consts::PI * (p / ds + 0.5);
    min + delta * (1.0 + libm::sin(x as f64) as f32)
}

/// `delta = F(0.5 · (max − min))` after the checks of `CosineDecayLR`: `min_lr` finite and ≥ 0,
/// `max_lr` finite and > 0, then `count`, then `min_lr < max_lr`.
pub(crate) fn cosine_bounds(
    min_lr: f64,
    max_lr: f64,
    counts: impl FnOnce() -> Result<(), Error>,
) -> Result<(f32, f32), Error> {
    let min = non_negative(min_lr, Param::MinLr)?;
    let max = positive(max_lr, Param::MaxLr)?;
    counts()?;
    if min >= max {
        return Err(Error::MinLrNotBelowMaxLr);
    }
    let delta = round_f32(0.5 * (max - min), Param::MaxLr)?;
    Ok((round_f32(min, Param::MinLr)?, delta))
}

/// `ExponentialDecayLR(learning_rate, decay_rate, decay_steps, is_stair=False)`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ExponentialDecayLr {
    pub(crate) lr: f32,
    pub(crate) rate: f32,
    pub(crate) decay_steps: f32,
    pub(crate) stair: bool,
}

impl ExponentialDecayLr {
    /// `decay_steps` > 0, then `learning_rate` and `decay_rate` finite and > 0.
    pub fn new(
        learning_rate: f64,
        decay_rate: f64,
        decay_steps: u32,
        is_stair: bool,
    ) -> Result<Self, Error> {
        let decay_steps = count(decay_steps, Param::DecaySteps)? as f32;
        Ok(ExponentialDecayLr {
            lr: positive_f32(learning_rate, Param::LearningRate)?,
            rate: positive_f32(decay_rate, Param::DecayRate)?,
            decay_steps,
            stair: is_stair,
        })
    }
}

impl LrSchedule for ExponentialDecayLr {
    fn lr(&self, step: u32) -> f32 {
        let p = step as f32 / self.decay_steps;
        let p = if self.stair { libm::floorf(p) } else { p };
        self.lr * powf(self.rate, p)
    }
}

/// `NaturalExpDecayLR(learning_rate, decay_rate, decay_steps, is_stair=False)`; without stairs
/// `decay_steps` is unused (MindSpore's code, contrary to its docstring; SEMANTICS G5).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct NaturalExpDecayLr {
    pub(crate) lr: f32,
    pub(crate) neg_rate: f32,
    pub(crate) decay_steps: f32,
    pub(crate) stair: bool,
}

impl NaturalExpDecayLr {
    /// Validated as [`ExponentialDecayLr::new`].
    pub fn new(
        learning_rate: f64,
        decay_rate: f64,
        decay_steps: u32,
        is_stair: bool,
    ) -> Result<Self, Error> {
        let decay_steps = count(decay_steps, Param::DecaySteps)? as f32;
        let lr = positive_f32(learning_rate, Param::LearningRate)?;
        let rate = positive(decay_rate, Param::DecayRate)?;
        Ok(NaturalExpDecayLr {
            lr,
            neg_rate: round_f32(-rate, Param::DecayRate)?,
            decay_steps,
            stair: is_stair,
        })
    }
}

impl LrSchedule for NaturalExpDecayLr {
    fn lr(&self, step: u32) -> f32 {
        let s = step as f32;
        let p = if self.stair {
            libm::floorf(s / self.decay_steps) * self.decay_steps
        } else {
            s
        };
        self.lr * powf(core::f32::consts::E, self.neg_rate * p)
    }
}

/// `InverseDecayLR(learning_rate, decay_rate, decay_steps, is_stair=False)`, with MindSpore's
/// reciprocal-multiply for `number ÷ tensor` (SEMANTICS G9).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct InverseDecayLr {
    pub(crate) lr: f32,
    pub(crate) rate: f32,
    pub(crate) decay_steps: f32,
    pub(crate) stair: bool,
}

impl InverseDecayLr {
    /// Validated as [`ExponentialDecayLr::new`].
    pub fn new(
        learning_rate: f64,
        decay_rate: f64,
        decay_steps: u32,
        is_stair: bool,
    ) -> Result<Self, Error> {
        let decay_steps = count(decay_steps, Param::DecaySteps)? as f32;
        Ok(InverseDecayLr {
            lr: positive_f32(learning_rate, Param::LearningRate)?,
            rate: positive_f32(decay_rate, Param::DecayRate)?,
            decay_steps,
            stair: is_stair,
        })
    }
}

impl LrSchedule for InverseDecayLr {
    fn lr(&self, step: u32) -> f32 {
        let p = step as f32 / self.decay_steps;
        let p = if self.stair { libm::floorf(p) } else { p };
        self.lr * (1.0 / (1.0 + self.rate * p))
    }
}

/// `CosineDecayLR(min_lr, max_lr, decay_steps)`: from `max_lr` at step 0 to `min_lr` at
/// `decay_steps`, then `min_lr`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CosineDecayLr {
    pub(crate) min: f32,
    pub(crate) delta: f32,
    pub(crate) decay_steps: u32,
}

impl CosineDecayLr {
    /// `min_lr` finite and ≥ 0, `max_lr` finite and > 0, `decay_steps` > 0, `min_lr < max_lr`.
    pub fn new(min_lr: f64, max_lr: f64, decay_steps: u32) -> Result<Self, Error> {
        let (min, delta) = cosine_bounds(min_lr, max_lr, || {
            count(decay_steps, Param::DecaySteps).map(|_| ())
        })?;
        Ok(CosineDecayLr {
            min,
            delta,
            decay_steps,
        })
    }
}

impl LrSchedule for CosineDecayLr {
    fn lr(&self, step: u32) -> f32 {
        let p = step.min(self.decay_steps) as f32;
        cosine(self.min, self.delta, p, self.decay_steps as f32)
    }
}

/// `PolynomialDecayLR(learning_rate, end_learning_rate, decay_steps, power,
/// update_decay_steps=False)`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PolynomialDecayLr {
    pub(crate) diff: f32,
    pub(crate) end: f32,
    pub(crate) decay_steps: f32,
    pub(crate) power: f32,
    pub(crate) update: bool,
}

impl PolynomialDecayLr {
    /// `learning_rate` finite and > 0, `end_learning_rate` finite and ≥ 0 (it may exceed the
    /// learning rate), `decay_steps` > 0, `power` finite and > 0.
    pub fn new(
        learning_rate: f64,
        end_learning_rate: f64,
        decay_steps: u32,
        power: f64,
        update_decay_steps: bool,
    ) -> Result<Self, Error> {
        let lr = positive(learning_rate, Param::LearningRate)?;
        let end = non_negative(end_learning_rate, Param::EndLearningRate)?;
        let decay_steps = count(decay_steps, Param::DecaySteps)? as f32;
        let power = positive_f32(power, Param::Power)?;
        Ok(PolynomialDecayLr {
            diff: round_f32(lr - end, Param::LearningRate)?,
            end: non_negative_f32(end, Param::EndLearningRate)?,
            decay_steps,
            power,
            update: update_decay_steps,
        })
    }
}

impl LrSchedule for PolynomialDecayLr {
    fn lr(&self, step: u32) -> f32 {
        let s = step as f32;
        let ds = self.decay_steps;
        let (q, t) = if self.update {
            (s, ds * libm::ceilf(s / ds).max(1.0))
        } else {
            (s.min(ds), ds)
        };
        let base = 1.0 - q / t;
        let base = if base < 0.0 { 0.0 } else { base };
        self.diff * powf(base, self.power) + self.end
    }
}

/// MindSpore's `WarmUpLR(learning_rate, warmup_steps)`: 0 at step 0, rising linearly to
/// `learning_rate` at `warmup_steps`, then constant.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct WarmupLr {
    pub(crate) lr: f32,
    pub(crate) warmup_steps: u32,
}

impl WarmupLr {
    /// `learning_rate` finite and ≥ 0 (0 is allowed), `warmup_steps` > 0.
    pub fn new(learning_rate: f64, warmup_steps: u32) -> Result<Self, Error> {
        let lr = non_negative_f32(learning_rate, Param::LearningRate)?;
        let warmup_steps = count(warmup_steps, Param::WarmupSteps)?;
        Ok(WarmupLr { lr, warmup_steps })
    }

    /// `F(lr) ⊗ (f32(min(k, W)) ⊘ F(W))` for an `f32` learning rate (shared with
    /// [`crate::lr::WarmupThen`]).
    pub(crate) fn ramp(lr: f32, step: u32, warmup_steps: u32) -> f32 {
        lr * (step.min(warmup_steps) as f32 / warmup_steps as f32)
    }
}

impl LrSchedule for WarmupLr {
    fn lr(&self, step: u32) -> f32 {
        WarmupLr::ramp(self.lr, step, self.warmup_steps)
    }
}
