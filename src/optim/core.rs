//! The machinery of every optimizer, whatever its rule, and of the C API's: validation, the plan
//! of a step's learning rates, the loop over tensors, the step counter and saved state.
//!
//! A step at global step `k`: the layout and the buffers are checked (and, if asked, every
//! gradient), then every group's `lr(k)` is found — twice, so that a failure changes nothing —,
//! then every tensor is updated (which cannot fail), then `k ← k + 1`.

use core::num::NonZeroUsize;
use core::ops::Range;

use super::part::{Part, StepToken};
use super::plan::{self, Plan};
use super::rule::{MAX_STATE_BUFFERS, Streams, sealed::RuleImpl};
use crate::error::{Buffer, Error, Param, SavedStateProblem};
use crate::group::{self, GroupLike};
use crate::kernel::Backend;
use crate::layout::{self, Tensor};
use crate::reference::Rows;
use crate::state::{self, Header, NOT_STATIC};
use crate::validate;

/// Everything of an optimizer but its groups, which live beside it (in
/// [`crate::Optimizer`], or in the C caller's array).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Core<'a, R> {
    pub tensors: &'a [Tensor],
    /// The layout's total length: the length of the params and grads, and of each state buffer.
    pub len: usize,
    pub rule: R,
    pub check_finite: bool,
    pub backend: Backend,
    pub step: u32,
    /// The step planned by [`Core::begin`], until [`Core::end`].
    pub planned: Option<u32>,
}

impl<'a, R: RuleImpl> Core<'a, R> {
    /// Validates the groups, the layout and the backend, and gives each group its gradient
    /// preparation; on error the groups are unchanged.
    pub fn new<G: GroupLike>(
        tensors: &'a [Tensor],
        groups: &mut [G],
        rule: R,
        check_finite: bool,
        backend: Backend,
    ) -> Result<Self, Error> {
        group::check(groups)?;
        if u32::try_from(groups.len()).is_err() {
            return Err(Error::LayoutTooLarge);
        }
        let len = layout::check(tensors, groups.len())?;
        let backend = backend.check()?;
        for g in groups.iter() {
            rule.prep(g.weight_decay())?;
        }
        for g in groups.iter_mut() {
            g.set_prep(rule.prep(g.weight_decay())?);
        }
        Ok(Core {
            tensors,
            len,
            rule,
            check_finite,
            backend,
            step: 0,
            planned: None,
        })
    }

    /// The length of the state: the rule's buffers, one after the other.
    pub fn state_len(&self) -> usize {
        self.len * self.rule.buffers()
    }

    /// Checks again what a step relies on in the layout (the C API's is the caller's memory).
    pub(crate) fn reread(&self, groups: usize) -> Result<(), Error> {
        if layout::total(self.tensors, groups)? == self.len {
            Ok(())
        } else {
            Err(Error::LayoutChanged)
        }
    }

    /// Whether elements `range` are a range a step can be cut into ([`plan::is_cut`] at both
    /// ends); [`Error::ElementRange`] otherwise.
    fn check_range<G: GroupLike>(&self, groups: &[G], range: &Range<usize>) -> Result<(), Error> {
        let cut = |at| plan::is_cut(self.tensors, groups, at);
        match range.start <= range.end && cut(range.start) && cut(range.end) {
            true => Ok(()),
            false => Err(Error::ElementRange {
                start: range.start,
                end: range.end,
            }),
        }
    }

    /// The part of elements `elements` (a range [`Core::check_range`] accepts) over buffers that
    /// hold exactly them (`state`: each state buffer's elements, one buffer after the other).
    pub fn part<'b, G: GroupLike>(
        &self,
        groups: &[G],
        elements: Range<usize>,
        params: &'b mut [f32],
        grads: &'b [f32],
        state: &'b mut [f32],
    ) -> Result<Part<'b>, Error> {
        self.check_range(groups, &elements)?;
        self.over(elements, params, grads, state)
    }

    /// The part of elements `elements` (which [`Core::check_range`] accepts) over buffers that
    /// must hold exactly them.
    pub(crate) fn over<'b>(
        &self,
        elements: Range<usize>,
        params: &'b mut [f32],
        grads: &'b [f32],
        state: &'b mut [f32],
    ) -> Result<Part<'b>, Error> {
        let n = elements.len();
        validate::length(Buffer::Params, n, params.len())?;
        validate::length(Buffer::Grads, n, grads.len())?;
        validate::length(Buffer::State, n * self.rule.buffers(), state.len())?;
        let mut parts: [&'b mut [f32]; MAX_STATE_BUFFERS] = Default::default();
        let mut rest = state;
        for slot in parts.iter_mut().take(self.rule.buffers()) {
            let (head, tail) = rest.split_at_mut(n);
            (*slot, rest) = (head, tail);
        }
        Ok(Part {
            elements,
            params,
            grads,
            state: parts,
        })
    }

    /// Cuts `part` before element `at` (of the flat buffers; in the part, its ends included).
    pub fn split<'b, G: GroupLike>(
        &self,
        groups: &[G],
        part: Part<'b>,
        at: usize,
    ) -> Result<(Part<'b>, Part<'b>), Error> {
        let Range { start, end } = part.elements;
        if at < start || at > end || !plan::is_cut(self.tensors, groups, at) {
            return Err(Error::ElementRange { start: at, end });
        }
        Ok(part.cut(at))
    }

    /// A plan of `shards` shards of the layout, balanced by the bytes each moves.
    pub fn plan<'o, G: GroupLike>(&'o self, groups: &'o [G], shards: NonZeroUsize) -> Plan<'o, G> {
        Plan::new(self.tensors, groups, self.rule.buffers(), shards)
    }

    /// With `check_finite`, the index of the first gradient that is NaN or infinite.
    pub(crate) fn check_grads(&self, grads: &[f32]) -> Result<(), Error> {
        match self.check_finite {
            true => match grads.iter().position(|g| !g.is_finite()) {
                Some(index) => Err(Error::NonFiniteGradient { index }),
                None => Ok(()),
            },
            false => Ok(()),
        }
    }

    /// Plans step `k`: every group's `lr(k)`, found once to check them all and once to store
    /// them, so that nothing changes when one fails.
    pub fn begin<G: GroupLike>(&mut self, groups: &mut [G]) -> Result<StepToken, Error> {
        if self.step == u32::MAX {
            return Err(Error::StepOverflow);
        }
        for g in groups.iter() {
            g.lr_source().at(self.step)?;
        }
        for g in groups.iter_mut() {
            let lr = g.lr_source().at(self.step)?;
            g.set_planned(lr);
        }
        self.planned = Some(self.step);
        Ok(StepToken { step: self.step })
    }

    /// Updates `part` with the planned learning rates, after checking it against the layout (and
    /// its gradients, with `check_finite`).
    pub fn apply<G: GroupLike>(
        &self,
        groups: &[G],
        token: &StepToken,
        part: Part<'_>,
    ) -> Result<(), Error> {
        if self.planned != Some(token.step) {
            return Err(Error::StaleStep);
        }
        self.reread(groups.len())?;
        self.check_range(groups, &part.elements)?;
        if part.elements.end > self.len || part.elements.len() != part.params.len() {
            return Err(Error::LayoutChanged);
        }
        self.check_grads(part.grads)?;
        self.update(groups, part);
        Ok(())
    }

    /// Updates every element of a part that was checked against the layout (its ends are cuts);
    /// cannot fail. A tensor the part cuts is updated as the slice it holds, told where the slice
    /// lies in the tensor.
    pub(crate) fn update<G: GroupLike>(&self, groups: &[G], part: Part<'_>) {
        let Part {
            elements,
            mut params,
            mut grads,
            mut state,
        } = part;
        let buffers = self.rule.buffers();
        let mut tensor_start = 0usize;
        for t in self.tensors {
            let tensor = tensor_start..tensor_start + t.len;
            tensor_start = tensor.end;
            // the slice of this tensor in the part
            let (start, end) = (
                tensor.start.max(elements.start),
                tensor.end.min(elements.end),
            );
            if start >= end {
                if tensor.start >= elements.end {
                    break;
                }
                continue;
            }
            let n = end - start;
            let (w, rest) = core::mem::take(&mut params).split_at_mut(n);
            params = rest;
            let (g, rest) = grads.split_at(n);
            grads = rest;
            let mut s: [&mut [f32]; MAX_STATE_BUFFERS] = Default::default();
            for (slot, buf) in s.iter_mut().zip(&mut state).take(buffers) {
                let (head, tail) = core::mem::take(buf).split_at_mut(n);
                (*slot, *buf) = (head, tail);
            }
            let group = &groups[t.group];
            let rows = match t.rows {
                Some(rows) if group.centralize() => Rows {
                    len: t.len / rows.get(),
                    centered: true,
                },
                _ => Rows {
                    len: n,
                    centered: false,
                },
            };
            let streams = Streams {
                params: w,
                grads: g,
                state: s,
                offset: start - tensor.start,
                tensor_len: t.len,
            };
            let (lr, prep) = (group.planned(), group.prep());
            self.rule.update(self.backend, lr, prep, rows, streams);
        }
    }

    /// Completes the planned step: `k ← k + 1`, and the rule's scalars advance.
    pub fn end(&mut self, token: StepToken) -> Result<(), Error> {
        if self.planned != Some(token.step) || token.step != self.step {
            return Err(Error::StaleStep);
        }
        self.step += 1;
        self.planned = None;
        self.rule.end_step();
        Ok(())
    }

    /// One whole step over buffers that hold every tensor.
    pub fn step<G: GroupLike>(
        &mut self,
        groups: &mut [G],
        params: &mut [f32],
        grads: &[f32],
        state: &mut [f32],
    ) -> Result<(), Error> {
        self.reread(groups.len())?;
        // the whole layout: its ends are cuts
        let part = self.over(0..self.len, params, grads, state)?;
        self.check_grads(part.grads)?;
        let token = self.begin(groups)?;
        self.update(groups, part);
        self.end(token)
    }

    /// The learning rate group `g` will use at the next step.
    pub fn lr<G: GroupLike>(&self, groups: &[G], g: usize) -> Result<f32, Error> {
        let group = groups.get(g).ok_or(Error::NoSuchGroup { group: g })?;
        group.lr_source().at(self.step)
    }

    /// Sets group `g`'s static learning rate to `F(lr)`, used from the next step on.
    pub fn set_lr<G: GroupLike>(&self, groups: &mut [G], g: usize, lr: f64) -> Result<(), Error> {
        let group = groups.get_mut(g).ok_or(Error::NoSuchGroup { group: g })?;
        let lr = validate::non_negative_f32(lr, Param::LearningRate)?;
        if group.set_static(lr) {
            Ok(())
        } else {
            Err(Error::NotStatic { group: g })
        }
    }

    /// The number of bytes [`Core::save`] writes.
    pub fn saved_len(&self, groups: usize) -> usize {
        state::saved_len(groups, self.state_len())
    }

    /// Writes the step counter, the rule's scalars, the static learning rates and `state`.
    pub fn save<G: GroupLike>(
        &self,
        groups: &[G],
        state: &[f32],
        out: &mut [u8],
    ) -> Result<usize, Error> {
        validate::length(Buffer::State, self.state_len(), state.len())?;
        let header = Header {
            rule: R::KIND,
            buffers: self.rule.buffers() as u8,
            step: self.step,
            groups: groups.len() as u32,
            len: self.len as u64,
            scalars: self.rule.scalars(),
        };
        state::write(&header, groups.iter().map(static_lr), state, out)
    }

    /// Restores what [`Core::save`] wrote, after checking all of it against this optimizer.
    pub fn restore<G: GroupLike>(
        &mut self,
        groups: &mut [G],
        bytes: &[u8],
        state: &mut [f32],
    ) -> Result<(), Error> {
        use SavedStateProblem::*;
        validate::length(Buffer::State, self.state_len(), state.len())?;
        let saved = state::read(bytes)?;
        let h = saved.header;
        let problem = if h.rule != R::KIND {
            Some(Optimizer)
        } else if h.groups as usize != groups.len() {
            Some(Groups)
        } else if h.len != self.len as u64 || h.buffers as usize != self.rule.buffers() {
            Some(Length)
        } else if saved.lrs().zip(groups.iter()).any(|(lr, g)| {
            let static_here = g.lr_source().is_static();
            (lr != NOT_STATIC) != static_here
                || static_here && validate::learning_rate(f32::from_bits(lr)).is_err()
        }) {
            Some(Groups)
        } else {
            None
        };
        if let Some(p) = problem {
            return Err(Error::SavedState(p));
        }
        let rule = self
            .rule
            .with_scalars(h.scalars)
            .ok_or(Error::SavedState(Scalars))?;
        // everything checked: now write
        for (lr, g) in saved.lrs().zip(groups.iter_mut()) {
            if lr != NOT_STATIC {
                g.set_static(f32::from_bits(lr));
            }
        }
        saved.values_into(state);
        self.step = h.step;
        self.rule = rule;
        self.planned = None;
        Ok(())
    }
}

/// A group's static learning rate as saved: its bits, or [`NOT_STATIC`].
fn static_lr<G: GroupLike>(g: &G) -> u32 {
    match g.lr_source() {
        crate::lr::Lr::Static(v) => v.to_bits(),
        _ => NOT_STATIC,
    }
}
