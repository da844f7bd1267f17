//! A learning-rate table indexed by the step, as MindSpore's list learning rates are.

use crate::error::Error;
use crate::validate;

/// What a [`Table`] lookup past its end gives.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum PastEnd {
    /// The lookup fails with [`Error::PastTableEnd`], and the optimizer's step changes nothing
    /// (MindSpore CPU raises `RuntimeError` from `Gather` and also changes nothing).
    #[default]
    Reject,
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
            validate::learning_rate(v)?;
        }
        Ok(Table { values, past_end })
    }

    /// A table over values validated earlier (the C API's, whose memory the caller owns: a value
    /// changed since is still caught by [`crate::Lr::at`]).
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
            (None, PastEnd::Reject) => Err(Error::PastTableEnd {
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
