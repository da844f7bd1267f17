//! The learning rate as a function of the global step.
//!
//! An optimizer asks its [`Lr`] for `lr(k)` at step `k` (0-based: the first step is step 0, as
//! MindSpore's `global_step` is read before it is incremented). Three kinds of source:
//!
//! * [`Lr::Static`]: one value, used exactly (`F(lr)`), which the optimizer may change between
//!   steps — what MindSpore's `LearningRateScheduler` callback does: a value set after step `k − 1`
//!   has completed is first used by step `k`, the next call.
//! * [`Lr::Table`]: a borrowed `&[f32]` indexed by the step, as MindSpore's list learning rates
//!   are. [`dynamic`] fills such tables exactly as MindSpore's `dynamic_lr` functions do. Past its
//!   end the lookup is an error by default (MindSpore's CPU behaviour); [`PastEnd::HoldLast`]
//!   keeps the last value instead.
//! * [`Lr::Schedule`]: a value computed from the step by an [`LrSchedule`]: MindSpore's
//!   `LearningRateSchedule` classes in [`schedule`], their compositions ([`WarmupThen`],
//!   [`Sequence`], [`CosineWarmRestarts`]), or the caller's own.
//!
//! Whatever the source, [`Lr::at`] never returns a negative or non-finite learning rate: it
//! returns an error instead, and the optimizer's step then changes nothing.

mod compose;
pub mod dynamic;
pub mod schedule;

pub use compose::{CosineWarmRestarts, Sequence, WarmupThen};
pub use schedule::Schedule;

use crate::error::{Error, Param};
use crate::hyper;

/// A schedule: the learning rate as a function of the 0-based step.
///
/// [`Lr::at`] checks each value, so an implementation may return any `f32`; a negative or
/// non-finite one becomes an error at that step.
pub trait LrSchedule: Sync {
    /// The learning rate at `step`.
    fn lr(&self, step: u32) -> f32;
}

impl<T: LrSchedule + ?Sized> LrSchedule for &T {
    fn lr(&self, step: u32) -> f32 {
        (**self).lr(step)
    }
}

/// What a [`Table`] lookup past its end gives.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum PastEnd {
    /// [`Error::PastTableEnd`], and the optimizer's step changes nothing (MindSpore CPU raises
    /// `RuntimeError` from `Gather` and also changes nothing).
    #[default]
    Error,
    /// The table's last value, for every later step.
    HoldLast,
}

/// A learning-rate table indexed by the step; validated: not empty, every value finite and ≥ 0.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Table<'a> {
    values: &'a [f32],
    past_end: PastEnd,
}

impl<'a> Table<'a> {
    /// A table over `values` (one per step, from step 0).
    pub fn new(values: &'a [f32], past_end: PastEnd) -> Result<Self, Error> {
        if values.is_empty() {
            return Err(Error::EmptyTable);
        }
        for &v in values {
            hyper::learning_rate(v)?;
        }
        Ok(Table { values, past_end })
    }

    /// A table over values validated earlier (the C API's, whose memory the caller owns: a value
    /// changed since is still caught by [`Lr::at`]).
    #[cfg(feature = "capi")]
    pub(crate) fn unchecked(values: &'a [f32], past_end: PastEnd) -> Self {
        Table { values, past_end }
    }

    /// The value at `step`.
    pub fn at(&self, step: u32) -> Result<f32, Error> {
        let i = step as usize;
        match (self.values.get(i), self.past_end) {
            (Some(&v), _) => Ok(v),
            (None, PastEnd::HoldLast) => self.values.last().copied().ok_or(Error::EmptyTable),
            (None, PastEnd::Error) => Err(Error::PastTableEnd {
                step,
                len: self.values.len(),
            }),
        }
    }

    /// The values.
    pub fn values(&self) -> &'a [f32] {
        self.values
    }

    /// What a lookup past the end gives.
    pub fn past_end(&self) -> PastEnd {
        self.past_end
    }
}

/// Where a group's learning rate comes from.
#[derive(Clone, Copy)]
pub enum Lr<'a> {
    /// One value at every step (changeable between steps by the optimizer). Build it with
    /// [`Lr::fixed`] to round and validate a `f64`.
    Static(f32),
    /// A table indexed by the step.
    Table(Table<'a>),
    /// A value computed from the step.
    Schedule(&'a dyn LrSchedule),
}

impl<'a> Lr<'a> {
    /// A static learning rate `F(lr)`: `lr` finite and ≥ 0 (MindSpore accepts 0).
    pub fn fixed(lr: f64) -> Result<Self, Error> {
        let lr = hyper::round_f32(
            hyper::non_negative(lr, Param::LearningRate)?,
            Param::LearningRate,
        )?;
        Ok(Lr::Static(lr))
    }

    /// A table over `values`, an error past its end.
    pub fn table(values: &'a [f32]) -> Result<Self, Error> {
        Ok(Lr::Table(Table::new(values, PastEnd::Error)?))
    }

    /// The learning rate at `step`: finite and ≥ 0, or an error.
    pub fn at(&self, step: u32) -> Result<f32, Error> {
        let lr = match self {
            Lr::Static(lr) => *lr,
            Lr::Table(t) => t.at(step)?,
            Lr::Schedule(s) => s.lr(step),
        };
        hyper::learning_rate(lr)
    }

    /// Whether the source is static.
    pub fn is_static(&self) -> bool {
        matches!(self, Lr::Static(_))
    }
}

impl core::fmt::Debug for Lr<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Lr::Static(lr) => f.debug_tuple("Static").field(lr).finish(),
            Lr::Table(t) => f.debug_tuple("Table").field(t).finish(),
            Lr::Schedule(_) => f.write_str("Schedule(..)"),
        }
    }
}
