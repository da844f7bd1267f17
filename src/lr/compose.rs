//! The schedules users ask for most beyond MindSpore's, without allocation: warm-up followed by
//! any decay, a sequence of schedules switching at given steps (PyTorch `SequentialLR`, optax
//! `join_schedules`), and cosine decay with warm restarts (SGDR).
//!
//! Step semantics, all 0-based: a boundary step belongs to the schedule that starts there, and a
//! schedule that starts at step `b` sees step `b` as its own step 0.

use super::schedule::{WarmupLr, cosine, cosine_bounds};
use super::source::LrSchedule;
use crate::error::{Buffer, Error, Param};
use crate::validate::count;

/// A linear warm-up over the first `warmup_steps` steps to the decay's initial value, then the
/// decay, started afresh.
///
/// Steps `0 ≤ k < W` give `WarmUpLR(peak, W)` at `k`, that is `peak ⊗ (f32(k) ⊘ F(W))` with
/// `peak = then.lr(0)` (0 at step 0); steps `k ≥ W` give `then.lr(k − W)`, so step `W` belongs
/// to the decay and has the value `peak`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct WarmupThen<S> {
    warmup_steps: u32,
    then: S,
}

impl<S: LrSchedule> WarmupThen<S> {
    /// `warmup_steps` > 0.
    pub fn new(warmup_steps: u32, then: S) -> Result<Self, Error> {
        let warmup_steps = count(warmup_steps, Param::WarmupSteps)?;
        Ok(WarmupThen { warmup_steps, then })
    }
}

impl<S: LrSchedule> LrSchedule for WarmupThen<S> {
    fn lr(&self, step: u32) -> f32 {
        if step < self.warmup_steps {
            WarmupLr::ramp(self.then.lr(0), step, self.warmup_steps)
        } else {
            self.then.lr(step - self.warmup_steps)
        }
    }
}

/// Schedules one after another: `schedules[0]` until `boundaries[0]`, then `schedules[1]`
/// restarted at its step 0, and so on.
///
/// Step `k` with `boundaries[i−1] ≤ k < boundaries[i]` gives `schedules[i].lr(k −
/// boundaries[i−1])` (with `boundaries[−1] = 0`); a boundary step belongs to the later schedule.
/// Boundaries are positive and strictly increasing, one fewer than the schedules — so every
/// schedule is used (PyTorch's `SequentialLR` with a milestone at 0 skipped its first scheduler,
/// pytorch#185872).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Sequence<'a, S> {
    schedules: &'a [S],
    boundaries: &'a [u32],
}

impl<'a, S: LrSchedule> Sequence<'a, S> {
    /// At least one schedule, `schedules.len() − 1` boundaries, positive and strictly increasing.
    pub fn new(schedules: &'a [S], boundaries: &'a [u32]) -> Result<Self, Error> {
        if schedules.is_empty() {
            return Err(Error::EmptyTable);
        }
        if boundaries.len() + 1 != schedules.len() {
            return Err(Error::LengthMismatch {
                buffer: Buffer::Boundaries,
                expected: schedules.len() - 1,
                actual: boundaries.len(),
            });
        }
        let mut last = 0;
        for (i, &b) in boundaries.iter().enumerate() {
            if b <= last {
                return Err(Error::BoundariesNotIncreasing { index: i });
            }
            last = b;
        }
        Ok(Sequence {
            schedules,
            boundaries,
        })
    }
}

impl<S: LrSchedule> LrSchedule for Sequence<'_, S> {
    fn lr(&self, step: u32) -> f32 {
        let i = self.boundaries.partition_point(|&b| b <= step);
        let start = i
            .checked_sub(1)
            .and_then(|j| self.boundaries.get(j))
            .map_or(0, |&b| b);
        self.schedules
            .get(i)
            .map_or(f32::NAN, |s| s.lr(step - start))
    }
}

/// Cosine decay with warm restarts (SGDR, Loshchilov & Hutter 2017): periods of `first_period`,
/// `first_period · period_mult`, `first_period · period_mult²`, … steps; within a period of `T`
/// steps, step `t` (from 0) gives MindSpore's `CosineDecayLR(min_lr, max_lr, T)` at `t`, in its
/// exact float32 op order. The first step of every period is a restart at `max_lr`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CosineWarmRestarts {
    pub(crate) min: f32,
    pub(crate) delta: f32,
    pub(crate) first_period: u32,
    pub(crate) period_mult: u32,
}

impl CosineWarmRestarts {
    /// `min_lr` finite and ≥ 0, `max_lr` finite and > 0, `first_period` and `period_mult` > 0,
    /// `min_lr < max_lr`.
    pub fn new(
        min_lr: f64,
        max_lr: f64,
        first_period: u32,
        period_mult: u32,
    ) -> Result<Self, Error> {
        let (min, delta) = cosine_bounds(min_lr, max_lr, || {
            count(first_period, Param::Period)?;
            count(period_mult, Param::PeriodMult).map(|_| ())
        })?;
        Ok(CosineWarmRestarts {
            min,
            delta,
            first_period,
            period_mult,
        })
    }

    /// The period containing `step`: (its first step, its length).
    fn period(&self, step: u32) -> (u64, u64) {
        let (k, mut start, mut len) = (step as u64, 0u64, self.first_period as u64);
        if self.period_mult == 1 {
            return (k / len * len, len);
        }
        // At most 32 rounds: each period is at least twice the one before, and k < 2^32.
        while k >= start + len {
            start += len;
            len = len.saturating_mul(self.period_mult as u64);
        }
        (start, len)
    }
}

impl LrSchedule for CosineWarmRestarts {
    fn lr(&self, step: u32) -> f32 {
        let (start, len) = self.period(step);
        cosine(
            self.min,
            self.delta,
            (step as u64 - start) as f32,
            len as f32,
        )
    }
}
