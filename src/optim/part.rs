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

/// The buffers of a range of elements of the layout: their parameters, gradients and state,
/// borrowed from the caller's buffers. Made by [`Optimizer::part`](crate::Optimizer::part), cut
/// in two by [`Optimizer::split`](crate::Optimizer::split) (anywhere but inside a row of a
/// centralized tensor) or into a plan's shards by [`Optimizer::shards`](crate::Optimizer::shards),
/// updated by [`Optimizer::step_part`](crate::Optimizer::step_part). Disjoint parts may be
/// updated at the same time on different threads.
#[derive(Debug)]
pub struct Part<'b> {
    /// The part's elements in the flat buffers.
    pub(crate) elements: Range<usize>,
    pub(crate) params: &'b mut [f32],
    pub(crate) grads: &'b [f32],
    /// The rule's state buffers over these tensors; unused ones are empty.
    pub(crate) state: [&'b mut [f32]; MAX_STATE_BUFFERS],
}

impl<'b> Part<'b> {
    /// The part of no element at `at`.
    pub(crate) fn empty(at: usize) -> Part<'b> {
        Part {
            elements: at..at,
            params: &mut [],
            grads: &[],
            state: Default::default(),
        }
    }

    /// The part cut before element `at` (of the flat buffers, within the part).
    pub(crate) fn cut(self, at: usize) -> (Part<'b>, Part<'b>) {
        let Range { start, end } = self.elements;
        let mid = at.clamp(start, end) - start;
        let (pa, pb) = self.params.split_at_mut(mid);
        let (ga, gb) = self.grads.split_at(mid);
        let mut sa: [&'b mut [f32]; MAX_STATE_BUFFERS] = Default::default();
        let mut sb: [&'b mut [f32]; MAX_STATE_BUFFERS] = Default::default();
        for ((buf, a), b) in self.state.into_iter().zip(&mut sa).zip(&mut sb) {
            if !buf.is_empty() {
                (*a, *b) = buf.split_at_mut(mid);
            }
        }
        let first = Part {
            elements: start..start + mid,
            params: pa,
            grads: ga,
            state: sa,
        };
        let second = Part {
            elements: start + mid..end,
            params: pb,
            grads: gb,
            state: sb,
        };
        (first, second)
    }

    /// The elements this part holds, as indices of the flat buffers.
    pub fn elements(&self) -> Range<usize> {
        self.elements.clone()
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
