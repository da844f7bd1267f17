//! Where a group's learning rate comes from: [`Lr`], and the [`LrSchedule`] trait of computed ones.

use super::table::{PastEnd, Table};
use crate::error::{Error, Param};
use crate::validate;

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

/// Where a group's learning rate comes from.
#[derive(Clone, Copy)]
pub enum Lr<'a> {
    /// One value at every step, which the optimizer may change between steps
    /// ([`crate::Optimizer::set_lr`]). [`Lr::new_static`] rounds and validates an `f64`.
    Static(f32),
    /// A table indexed by the step.
    Table(Table<'a>),
    /// A value computed from the step.
    Schedule(&'a dyn LrSchedule),
}

impl<'a> Lr<'a> {
    /// A static learning rate `F(lr)`: `lr` finite and ≥ 0 (MindSpore accepts 0).
    pub fn new_static(lr: f64) -> Result<Self, Error> {
        Ok(Lr::Static(validate::non_negative_f32(
            lr,
            Param::LearningRate,
        )?))
    }

    /// A table over `values` that rejects a step past its end ([`PastEnd::Reject`]).
    pub fn table(values: &'a [f32]) -> Result<Self, Error> {
        Ok(Lr::Table(Table::new(values, PastEnd::Reject)?))
    }

    /// The learning rate at `step`: finite and ≥ 0, or an error.
    pub fn at(&self, step: u32) -> Result<f32, Error> {
        let lr = match self {
            Lr::Static(lr) => *lr,
            Lr::Table(t) => t.at(step)?,
            Lr::Schedule(s) => s.lr(step),
        };
        validate::learning_rate(lr)
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
