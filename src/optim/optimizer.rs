//! [`Optimizer`]: a layout of tensors in parameter groups, stepped by a [`Rule`].

use core::num::NonZeroUsize;
use core::ops::Range;

use super::core::Core;
use super::part::{Part, StepToken};
use super::rule::Rule;
use crate::error::Error;
use crate::group::Group;
use crate::layout::{self, Tensor};

/// An optimizer over a layout of tensors in parameter groups, with the update `R` and the groups
/// held in `G`: an array `[Group; N]` (no allocation, sized at compile time), or the caller's
/// `&mut [Group]` when the number of groups is only known at run time.
///
/// Built by [`Momentum::new`](crate::Momentum) or [`Sgd::new`](crate::Sgd). A step at global
/// step `k` uses each group's `lr(k)` and then increments `k`; it either completes or changes
/// nothing.
#[derive(Clone, Debug)]
pub struct Optimizer<'a, R, G> {
    pub(crate) core: Core<'a, R>,
    pub(crate) groups: G,
}

impl<'a, R: Rule, G: AsRef<[Group<'a>]> + AsMut<[Group<'a>]>> Optimizer<'a, R, G> {
    /// Validates and builds (each optimizer's `new` calls this with its rule).
    pub(crate) fn build(
        tensors: &'a [Tensor],
        mut groups: G,
        rule: R,
        check_finite: bool,
        backend: crate::Backend,
    ) -> Result<Self, Error> {
        let core = Core::new(tensors, groups.as_mut(), rule, check_finite, backend)?;
        Ok(Optimizer { core, groups })
    }

    /// One step over the whole layout: `params` and `grads` hold every tensor back to back, and
    /// `state` the rule's state buffers ([`Optimizer::state_len`] values). On error nothing
    /// changes (buffers and step counter).
    pub fn step(
        &mut self,
        params: &mut [f32],
        grads: &[f32],
        state: &mut [f32],
    ) -> Result<(), Error> {
        self.core.step(self.groups.as_mut(), params, grads, state)
    }

    /// Plans step `k` (computes every group's learning rate) for a step taken in parts.
    pub fn begin_step(&mut self) -> Result<StepToken, Error> {
        self.core.begin(self.groups.as_mut())
    }

    /// The part of tensors `tensors` over buffers that hold exactly their elements: `params` and
    /// `grads` hold the tensors' elements ([`Optimizer::elements`]), `state` the same elements of
    /// each state buffer, one buffer after the other. `0..n` over the whole buffers is the whole
    /// model.
    pub fn part<'b>(
        &self,
        tensors: Range<usize>,
        params: &'b mut [f32],
        grads: &'b [f32],
        state: &'b mut [f32],
    ) -> Result<Part<'b>, Error> {
        let elements = self.elements(tensors)?;
        self.core
            .part(self.groups.as_ref(), elements, params, grads, state)
    }

    /// Cuts `part` before element `at` of the flat buffers (in [`Part::elements`], its ends
    /// included). A cut may fall anywhere but inside a row of a centralized tensor
    /// ([`Error::ElementRange`]).
    pub fn split<'b>(&self, part: Part<'b>, at: usize) -> Result<(Part<'b>, Part<'b>), Error> {
        self.core.split(self.groups.as_ref(), part, at)
    }

    /// A plan of `shards` element ranges that cover the layout back to back, each moving about
    /// the same number of bytes in a step, cut where the update allows (64-byte boundaries where
    /// the tensor allows, whole rows of a centralized tensor); some may be empty.
    pub fn plan(&self, shards: NonZeroUsize) -> impl ExactSizeIterator<Item = Range<usize>> + '_ {
        self.core.plan(self.groups.as_ref(), shards).shards()
    }

    /// `part` cut into the shards of [`Optimizer::plan`] (each shard's share of the part), in
    /// order: the pieces of work for `shards` threads.
    pub fn shards<'o, 'b>(
        &'o self,
        part: Part<'b>,
        shards: NonZeroUsize,
    ) -> impl ExactSizeIterator<Item = Part<'b>> + 'o
    where
        'b: 'o,
    {
        let plan = self.core.plan(self.groups.as_ref(), shards);
        let mut rest = part;
        (1..shards.get() + 1).map(move |i| {
            let end = rest.elements.end;
            let part = core::mem::replace(&mut rest, Part::empty(end));
            // a boundary is a cut, and so are the part's ends it is clamped to
            let at = plan.boundary(i).clamp(part.elements.start, end);
            let (head, tail) = part.cut(at);
            rest = tail;
            head
        })
    }

    /// Updates the elements of `part` for the planned step. Parts may be updated in any order,
    /// and concurrently. With `check_finite`, a part checks its own gradients before writing:
    /// check them all first for an all-or-nothing step.
    pub fn step_part(&self, token: &StepToken, part: Part<'_>) -> Result<(), Error> {
        self.core.apply(self.groups.as_ref(), token, part)
    }

    /// Completes the planned step once every tensor has been updated exactly once: the global
    /// step becomes `k + 1`.
    pub fn end_step(&mut self, token: StepToken) -> Result<(), Error> {
        self.core.end(token)
    }

    /// The element range of tensors `tensors` in the flat buffers.
    pub fn elements(&self, tensors: Range<usize>) -> Result<Range<usize>, Error> {
        layout::elements(self.core.tensors, tensors)
    }

    /// The global step: the number of steps taken, and the index of the next step's learning
    /// rate (MindSpore's `global_step`).
    pub fn global_step(&self) -> u32 {
        self.core.step
    }

    /// The learning rate group `group` will use at the next step.
    pub fn lr(&self, group: usize) -> Result<f32, Error> {
        self.core.lr(self.groups.as_ref(), group)
    }

    /// Sets group `group`'s static learning rate to `F(lr)` (finite, ≥ 0). The next step uses it
    /// — what MindSpore's `LearningRateScheduler` callback does after a step.
    pub fn set_lr(&mut self, group: usize, lr: f64) -> Result<(), Error> {
        self.core.set_lr(self.groups.as_mut(), group, lr)
    }

    /// The groups.
    pub fn groups(&self) -> &[Group<'a>] {
        self.groups.as_ref()
    }

    /// The layout.
    pub fn tensors(&self) -> &'a [Tensor] {
        self.core.tensors
    }

    /// The rule and its settings.
    pub fn rule(&self) -> &R {
        &self.core.rule
    }

    /// The length of the params and grads buffers (and of each state buffer).
    pub fn len(&self) -> usize {
        self.core.len
    }

    /// Whether the layout holds no element.
    pub fn is_empty(&self) -> bool {
        self.core.len == 0
    }

    /// The length of the state buffer: the rule's [`Rule::state_buffers`] buffers of
    /// [`Optimizer::len`] values, one after the other (Momentum: the moments; SGD: `accum`).
    /// They start at zero, as MindSpore initialises them.
    pub fn state_len(&self) -> usize {
        self.core.state_len()
    }

    /// The number of bytes [`Optimizer::save`] writes.
    pub fn saved_len(&self) -> usize {
        self.core.saved_len(self.groups.as_ref().len())
    }

    /// Writes the step counter, the rule's scalars, the groups' static learning rates and
    /// `state` into `out` (at least [`Optimizer::saved_len`] bytes); returns the number of bytes
    /// written (the format: `src/state.rs`).
    pub fn save(&self, state: &[f32], out: &mut [u8]) -> Result<usize, Error> {
        self.core.save(self.groups.as_ref(), state, out)
    }

    /// Restores what [`Optimizer::save`] wrote, into this optimizer and `state`; on error
    /// nothing changes.
    pub fn restore(&mut self, bytes: &[u8], state: &mut [f32]) -> Result<(), Error> {
        self.core.restore(self.groups.as_mut(), bytes, state)
    }
}
