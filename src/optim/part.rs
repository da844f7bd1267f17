//! A step in pieces: the [`StepToken`] of a planned step and the [`Part`]s of the buffers that
//! shards update, possibly on several threads at once.

use core::ops::Range;

use super::rule::MAX_STATE_BUFFERS;

/// Proof that [`Optimizer::begin_step`](crate::Optimizer::begin_step) planned step `k`; given
/// back to [`Optimizer::step_part`](crate::Optimizer::step_part) and
/// [`Optimizer::end_step`](crate::Optimizer::end_step).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[must_use = "a begun step must be ended"]
pub struct StepToken {
    pub(crate) step: u32,
}

impl StepToken {
    /// The global step being taken.
    pub fn step(&self) -> u32 {
        self.step
    }
}

/// The buffers of a range of tensors: their parameters, gradients and state, borrowed from the
/// caller's buffers. Made by [`Optimizer::part`](crate::Optimizer::part), cut in two by
/// [`Optimizer::split`](crate::Optimizer::split), updated by
/// [`Optimizer::step_part`](crate::Optimizer::step_part). Disjoint parts may be updated at the
/// same time on different threads.
#[derive(Debug)]
pub struct Part<'b> {
    pub(crate) tensors: Range<usize>,
    pub(crate) params: &'b mut [f32],
    pub(crate) grads: &'b [f32],
    /// The rule's state buffers over these tensors; unused ones are empty.
    pub(crate) state: [&'b mut [f32]; MAX_STATE_BUFFERS],
}

impl Part<'_> {
    /// The tensors this part holds.
    pub fn tensors(&self) -> Range<usize> {
        self.tensors.clone()
    }

    /// The number of elements.
    pub fn len(&self) -> usize {
        self.params.len()
    }

    /// Whether the part holds no element.
    pub fn is_empty(&self) -> bool {
        self.params.is_empty()
    }
}
