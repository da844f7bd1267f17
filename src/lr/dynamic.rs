//! MindSpore's `dynamic_lr` functions, filling a caller-provided `f32` table.
//!
//! Each function takes MindSpore's parameters, validates them in MindSpore's order (the first
//! failing check decides the error), computes every entry in `f64` with `libm` in the order of
//! MindSpore's Python expression, and rounds each entry once into the table, as an optimizer does
//! when it receives the list. A table must be exactly `total_step` long
//! ([`piecewise_constant_len`] gives the length of a piecewise table). Nothing is written unless
//! every entry is valid.
//!
//! With `e(i) = floor(i / step_per_epoch)` the epoch of step `i`:
//!
//! | function | entry `i` |
//! |---|---|
//! | [`exponential_decay_lr`] | `lr · rate^(e/D)`; stair: `lr · rate^floor(e/D)` |
//! | [`natural_exp_decay_lr`] | `lr · e^(−rate·e)`; stair: `lr · e^(−rate·floor(e/D)·D)` (`D` unused otherwise, as in MindSpore) |
//! | [`inverse_decay_lr`] | `lr / (1 + rate·e/D)`; stair: `lr / (1 + rate·floor(e/D))` |
//! | [`cosine_decay_lr`] | `min + ½(max − min)·(1 + cos(π·min(e, D)/D))` |
//! | [`polynomial_decay_lr`] | `(lr − end)·(1 − min(e, D)/D)^power + end`; update: `D·max(ceil(e/D), 1)` replaces `D` and `e` is not clamped |
//! | [`warmup_lr`] | `lr · min(e, W) / W` |
//!
//! Divergences from MindSpore (DESIGN divergence 4): a negative learning rate in
//! `piecewise_constant_lr` is rejected, and so is any entry that is not finite once rounded to
//! `f32` (for example a growing `exponential_decay_lr` that overflows).

use crate::error::{Buffer, Error, Param};
use crate::validate::{self, non_negative, positive};

/// One of MindSpore's `dynamic_lr` functions with its parameters validated.
pub trait DynamicLr {
    /// The table's length: MindSpore's `total_step` (a piecewise table's last milestone).
    fn total_step(&self) -> usize;

    /// Entry `i` as MindSpore computes it, in `f64` (before the optimizer rounds it).
    fn value(&self, i: usize) -> f64;

    /// Rounds every entry once into `out`, which must be [`DynamicLr::total_step`] long. Every
    /// entry must round to a finite `f32` ≥ 0; otherwise nothing is written.
    fn fill(&self, out: &mut [f32]) -> Result<(), Error> {
        if out.len() != self.total_step() {
            return Err(Error::LengthMismatch {
                buffer: Buffer::Table,
                expected: self.total_step(),
                actual: out.len(),
            });
        }
        for i in 0..out.len() {
            validate::learning_rate(self.value(i) as f32)?;
        }
        for (i, o) in out.iter_mut().enumerate() {
            *o = self.value(i) as f32;
        }
        Ok(())
    }
}

/// A count that must be positive (MindSpore's `check_positive_int`), as the `f64` Python uses.
fn count(n: u32, p: Param) -> Result<f64, Error> {
    Ok(validate::count(n, p)? as f64)
}

/// The epoch of step `i`: `floor(i / step_per_epoch)`, computed as Python does.
fn epoch(i: usize, step_per_epoch: f64) -> f64 {
    libm::floor(i as f64 / step_per_epoch)
}

/// The shape shared by the decay functions: `total_step`, `step_per_epoch`, `decay_epoch`.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Steps {
    total: u32,
    per_epoch: f64,
    decay: f64,
}

impl Steps {
    fn new(total_step: u32, step_per_epoch: u32, decay_epoch: u32) -> Result<Self, Error> {
        count(total_step, Param::TotalStep)?;
        Ok(Steps {
            total: total_step,
            per_epoch: count(step_per_epoch, Param::StepPerEpoch)?,
            decay: count(decay_epoch, Param::DecayEpoch)?,
        })
    }
}

/// MindSpore's `_check_inputs` of the exponential, natural-exponential and inverse decays.
fn decay_inputs(
    learning_rate: f64,
    decay_rate: f64,
    total_step: u32,
    step_per_epoch: u32,
    decay_epoch: u32,
) -> Result<(f64, f64, Steps), Error> {
    let steps = Steps::new(total_step, step_per_epoch, decay_epoch)?;
    let lr = positive(learning_rate, Param::LearningRate)?;
    let rate = positive(decay_rate, Param::DecayRate)?;
    Ok((lr, rate, steps))
}

/// `piecewise_constant_lr(milestone, learning_rates)`: `learning_rates[t]` for the steps in
/// `[milestone[t−1], milestone[t])`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PiecewiseConstantTable<'a> {
    milestones: &'a [u32],
    learning_rates: &'a [f64],
}

impl<'a> PiecewiseConstantTable<'a> {
    /// Milestones positive and non-decreasing (equal ones add no entries), one learning rate
    /// (finite, ≥ 0) per milestone.
    pub fn new(milestones: &'a [u32], learning_rates: &'a [f64]) -> Result<Self, Error> {
        if milestones.len() != learning_rates.len() {
            return Err(Error::LengthMismatch {
                buffer: Buffer::LearningRates,
                expected: milestones.len(),
                actual: learning_rates.len(),
            });
        }
        let mut last = 0;
        for (i, (&m, &lr)) in milestones.iter().zip(learning_rates).enumerate() {
            count(m, Param::Milestone)?;
            validate::non_negative_f32(lr, Param::LearningRate)?;
            if m < last {
                return Err(Error::MilestoneDecreasing { index: i });
            }
            last = m;
        }
        Ok(PiecewiseConstantTable {
            milestones,
            learning_rates,
        })
    }
}

impl DynamicLr for PiecewiseConstantTable<'_> {
    fn total_step(&self) -> usize {
        self.milestones.last().map_or(0, |&m| m as usize)
    }

    fn value(&self, i: usize) -> f64 {
        let t = self.milestones.partition_point(|&m| m as usize <= i);
        self.learning_rates.get(t).copied().unwrap_or(f64::NAN)
    }
}

/// `exponential_decay_lr(learning_rate, decay_rate, total_step, step_per_epoch, decay_epoch,
/// is_stair)`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ExponentialDecayTable {
    lr: f64,
    rate: f64,
    steps: Steps,
    stair: bool,
}

impl ExponentialDecayTable {
    /// Counts positive; `learning_rate` and `decay_rate` finite and > 0 (a rate above 1 grows).
    pub fn new(
        learning_rate: f64,
        decay_rate: f64,
        total_step: u32,
        step_per_epoch: u32,
        decay_epoch: u32,
        is_stair: bool,
    ) -> Result<Self, Error> {
        let (lr, rate, steps) = decay_inputs(
            learning_rate,
            decay_rate,
            total_step,
            step_per_epoch,
            decay_epoch,
        )?;
        Ok(ExponentialDecayTable {
            lr,
            rate,
            steps,
            stair: is_stair,
        })
    }
}

impl DynamicLr for ExponentialDecayTable {
    fn total_step(&self) -> usize {
        self.steps.total as usize
    }

    fn value(&self, i: usize) -> f64 {
        let p = epoch(i, self.steps.per_epoch) / self.steps.decay;
        let p = if self.stair { libm::floor(p) } else { p };
        self.lr * libm::pow(self.rate, p)
    }
}

/// `natural_exp_decay_lr(learning_rate, decay_rate, total_step, step_per_epoch, decay_epoch,
/// is_stair)`. Without stairs `decay_epoch` is unused (MindSpore's code; SEMANTICS G5).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct NaturalExpDecayTable {
    lr: f64,
    rate: f64,
    steps: Steps,
    stair: bool,
}

impl NaturalExpDecayTable {
    /// Validated as [`ExponentialDecayTable::new`].
    pub fn new(
        learning_rate: f64,
        decay_rate: f64,
        total_step: u32,
        step_per_epoch: u32,
        decay_epoch: u32,
        is_stair: bool,
    ) -> Result<Self, Error> {
        let (lr, rate, steps) = decay_inputs(
            learning_rate,
            decay_rate,
            total_step,
            step_per_epoch,
            decay_epoch,
        )?;
        Ok(NaturalExpDecayTable {
            lr,
            rate,
            steps,
            stair: is_stair,
        })
    }
}

impl DynamicLr for NaturalExpDecayTable {
    fn total_step(&self) -> usize {
        self.steps.total as usize
    }

    fn value(&self, i: usize) -> f64 {
        let e = epoch(i, self.steps.per_epoch);
        let t = if self.stair {
            libm::floor(e / self.steps.decay) * self.steps.decay
        } else {
            e
        };
        self.lr * libm::pow(core::f64::consts::E, -self.rate * t)
    }
}

/// `inverse_decay_lr(learning_rate, decay_rate, total_step, step_per_epoch, decay_epoch,
/// is_stair)`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct InverseDecayTable {
    lr: f64,
    rate: f64,
    steps: Steps,
    stair: bool,
}

impl InverseDecayTable {
    /// Validated as [`ExponentialDecayTable::new`].
    pub fn new(
        learning_rate: f64,
        decay_rate: f64,
        total_step: u32,
        step_per_epoch: u32,
        decay_epoch: u32,
        is_stair: bool,
    ) -> Result<Self, Error> {
        let (lr, rate, steps) = decay_inputs(
            learning_rate,
            decay_rate,
            total_step,
            step_per_epoch,
            decay_epoch,
        )?;
        Ok(InverseDecayTable {
            lr,
            rate,
            steps,
            stair: is_stair,
        })
    }
}

impl DynamicLr for InverseDecayTable {
    fn total_step(&self) -> usize {
        self.steps.total as usize
    }

    fn value(&self, i: usize) -> f64 {
        let e = epoch(i, self.steps.per_epoch);
        if self.stair {
            self.lr / (1.0 + self.rate * libm::floor(e / self.steps.decay))
        } else {
            self.lr / (1.0 + self.rate * e / self.steps.decay)
        }
    }
}

/// `cosine_decay_lr(min_lr, max_lr, total_step, step_per_epoch, decay_epoch)`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CosineDecayTable {
    min: f64,
    delta: f64,
    steps: Steps,
}

impl CosineDecayTable {
    /// `min_lr` finite and ≥ 0, `max_lr` finite and > 0, counts positive, then
    /// `min_lr < max_lr`.
    pub fn new(
        min_lr: f64,
        max_lr: f64,
        total_step: u32,
        step_per_epoch: u32,
        decay_epoch: u32,
    ) -> Result<Self, Error> {
        let min = non_negative(min_lr, Param::MinLr)?;
        let max = positive(max_lr, Param::MaxLr)?;
        let steps = Steps::new(total_step, step_per_epoch, decay_epoch)?;
        if min >= max {
            return Err(Error::MinLrNotBelowMaxLr);
        }
        Ok(CosineDecayTable {
            min,
            delta: 0.5 * (max - min),
            steps,
        })
    }
}

impl DynamicLr for CosineDecayTable {
    fn total_step(&self) -> usize {
        self.steps.total as usize
    }

    fn value(&self, i: usize) -> f64 {
        let t = epoch(i, self.steps.per_epoch).min(self.steps.decay);
        let angle = core::f64::consts::PI * t / self.steps.decay;
        self.min + self.delta * (1.0 + libm::cos(angle))
    }
}

/// `polynomial_decay_lr(learning_rate, end_learning_rate, total_step, step_per_epoch,
/// decay_epoch, power, update_decay_epoch)`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PolynomialDecayTable {
    delta: f64,
    end: f64,
    power: f64,
    steps: Steps,
    update: bool,
}

impl PolynomialDecayTable {
    /// `learning_rate` finite and > 0, `end_learning_rate` finite and ≥ 0 (it may exceed the
    /// learning rate), `power` finite and > 0, counts positive.
    pub fn new(
        learning_rate: f64,
        end_learning_rate: f64,
        total_step: u32,
        step_per_epoch: u32,
        decay_epoch: u32,
        power: f64,
        update_decay_epoch: bool,
    ) -> Result<Self, Error> {
        let lr = positive(learning_rate, Param::LearningRate)?;
        let end = non_negative(end_learning_rate, Param::EndLearningRate)?;
        let power = positive(power, Param::Power)?;
        let steps = Steps::new(total_step, step_per_epoch, decay_epoch)?;
        Ok(PolynomialDecayTable {
            delta: lr - end,
            end,
            power,
            steps,
            update: update_decay_epoch,
        })
    }
}

impl DynamicLr for PolynomialDecayTable {
    fn total_step(&self) -> usize {
        self.steps.total as usize
    }

    fn value(&self, i: usize) -> f64 {
        let e = epoch(i, self.steps.per_epoch);
        let d = self.steps.decay;
        let (t, period) = if self.update {
            (e, d * libm::ceil(e / d).max(1.0))
        } else {
            (e.min(d), d)
        };
        self.delta * libm::pow(1.0 - t / period, self.power) + self.end
    }
}

/// `warmup_lr(learning_rate, total_step, step_per_epoch, warmup_epoch)`: 0 at the first
/// `step_per_epoch` steps, then rising to `learning_rate` over `warmup_epoch` epochs.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct WarmupTable {
    lr: f64,
    total: u32,
    per_epoch: f64,
    warmup: f64,
}

impl WarmupTable {
    /// `learning_rate` finite and ≥ 0 (0 is allowed), counts positive.
    pub fn new(
        learning_rate: f64,
        total_step: u32,
        step_per_epoch: u32,
        warmup_epoch: u32,
    ) -> Result<Self, Error> {
        let lr = non_negative(learning_rate, Param::LearningRate)?;
        let warmup = count(warmup_epoch, Param::WarmupEpoch)?;
        count(total_step, Param::TotalStep)?;
        Ok(WarmupTable {
            lr,
            total: total_step,
            per_epoch: count(step_per_epoch, Param::StepPerEpoch)?,
            warmup,
        })
    }
}

impl DynamicLr for WarmupTable {
    fn total_step(&self) -> usize {
        self.total as usize
    }

    fn value(&self, i: usize) -> f64 {
        let t = epoch(i, self.per_epoch).min(self.warmup);
        self.lr * t / self.warmup
    }
}

/// The length of `piecewise_constant_lr`'s table: the last milestone (validates like
/// [`piecewise_constant_lr`]).
pub fn piecewise_constant_len(milestones: &[u32], learning_rates: &[f64]) -> Result<usize, Error> {
    Ok(PiecewiseConstantTable::new(milestones, learning_rates)?.total_step())
}

/// MindSpore's `piecewise_constant_lr`, into `out` ([`piecewise_constant_len`] long).
pub fn piecewise_constant_lr(
    milestones: &[u32],
    learning_rates: &[f64],
    out: &mut [f32],
) -> Result<(), Error> {
    PiecewiseConstantTable::new(milestones, learning_rates)?.fill(out)
}

/// MindSpore's `exponential_decay_lr`, into `out` (`total_step` long).
pub fn exponential_decay_lr(
    learning_rate: f64,
    decay_rate: f64,
    total_step: u32,
    step_per_epoch: u32,
    decay_epoch: u32,
    is_stair: bool,
    out: &mut [f32],
) -> Result<(), Error> {
    ExponentialDecayTable::new(
        learning_rate,
        decay_rate,
        total_step,
        step_per_epoch,
        decay_epoch,
        is_stair,
    )?
    .fill(out)
}

/// MindSpore's `natural_exp_decay_lr`, into `out` (`total_step` long).
pub fn natural_exp_decay_lr(
    learning_rate: f64,
    decay_rate: f64,
    total_step: u32,
    step_per_epoch: u32,
    decay_epoch: u32,
    is_stair: bool,
    out: &mut [f32],
) -> Result<(), Error> {
    NaturalExpDecayTable::new(
        learning_rate,
        decay_rate,
        total_step,
        step_per_epoch,
        decay_epoch,
        is_stair,
    )?
    .fill(out)
}

/// MindSpore's `inverse_decay_lr`, into `out` (`total_step` long).
pub fn inverse_decay_lr(
    learning_rate: f64,
    decay_rate: f64,
    total_step: u32,
    step_per_epoch: u32,
    decay_epoch: u32,
    is_stair: bool,
    out: &mut [f32],
) -> Result<(), Error> {
    InverseDecayTable::new(
        learning_rate,
        decay_rate,
        total_step,
        step_per_epoch,
        decay_epoch,
        is_stair,
    )?
    .fill(out)
}

/// MindSpore's `cosine_decay_lr`, into `out` (`total_step` long).
pub fn cosine_decay_lr(
    min_lr: f64,
    max_lr: f64,
    total_step: u32,
    step_per_epoch: u32,
    decay_epoch: u32,
    out: &mut [f32],
) -> Result<(), Error> {
    CosineDecayTable::new(min_lr, max_lr, total_step, step_per_epoch, decay_epoch)?.fill(out)
}

/// MindSpore's `polynomial_decay_lr`, into `out` (`total_step` long).
#[allow(clippy::too_many_arguments)]
pub fn polynomial_decay_lr(
    learning_rate: f64,
    end_learning_rate: f64,
    total_step: u32,
    step_per_epoch: u32,
    decay_epoch: u32,
    power: f64,
    update_decay_epoch: bool,
    out: &mut [f32],
) -> Result<(), Error> {
    PolynomialDecayTable::new(
        learning_rate,
        end_learning_rate,
        total_step,
        step_per_epoch,
        decay_epoch,
        power,
        update_decay_epoch,
    )?
    .fill(out)
}

/// MindSpore's `warmup_lr`, into `out` (`total_step` long).
pub fn warmup_lr(
    learning_rate: f64,
    total_step: u32,
    step_per_epoch: u32,
    warmup_epoch: u32,
    out: &mut [f32],
) -> Result<(), Error> {
    WarmupTable::new(learning_rate, total_step, step_per_epoch, warmup_epoch)?.fill(out)
}
