//! Where a step can be cut, and plans of balanced shards.
//!
//! A shard is a range of elements of the flat buffers. Every rule updates element by element,
//! except that gradient centralization needs a whole row (its mean) and Adam's formula depends on
//! where an element lies in its tensor (which the kernel is told): so a step may be cut before any
//! element, except inside a row of a centralized tensor. A plan cuts a layout into `n` shards of
//! about the same number of bytes moved, each cut on a 64-byte boundary of the buffers where the
//! tensor allows (so that two threads do not write one cache line).

use core::num::NonZeroUsize;
use core::ops::Range;

use crate::group::GroupLike;
use crate::layout::Tensor;

/// The elements a cut snaps to outside centralized tensors: 64 bytes of `f32`.
const CUT_ALIGN: usize = 16;

/// The bytes a row mean reads per element beside the update (params and grads, once more).
const CENTRALIZE_BYTES: u64 = 8;

/// Whether tensor `t` is centralized: it has rows, and its group centralizes.
fn centered<G: GroupLike>(t: &Tensor, groups: &[G]) -> bool {
    t.rows.is_some() && groups.get(t.group).is_some_and(|g| g.centralize())
}

/// The length of the rows tensor `t` must be cut between (1: anywhere).
fn granule<G: GroupLike>(t: &Tensor, groups: &[G]) -> usize {
    match t.rows {
        Some(rows) if centered(t, groups) => t.len / rows.get(),
        _ => 1,
    }
}

/// Whether a step can be cut before element `at` (`at` = the length: after the last one).
pub(crate) fn is_cut<G: GroupLike>(tensors: &[Tensor], groups: &[G], at: usize) -> bool {
    let mut start = 0usize;
    for t in tensors {
        if at < start + t.len {
            return (at - start).is_multiple_of(granule(t, groups));
        }
        start += t.len;
    }
    at == start
}

/// A plan of `shards` shards of a layout: [`Plan::boundary`] `i` is where shard `i` starts.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Plan<'o, G> {
    tensors: &'o [Tensor],
    groups: &'o [G],
    /// The bytes an element moves: params read and written, grads read, each state buffer read
    /// and written.
    bytes: u64,
    /// The bytes the whole step moves.
    total: u128,
    shards: NonZeroUsize,
}

impl<'o, G: GroupLike> Plan<'o, G> {
    pub fn new(
        tensors: &'o [Tensor],
        groups: &'o [G],
        buffers: usize,
        shards: NonZeroUsize,
    ) -> Self {
        let mut plan = Plan {
            tensors,
            groups,
            bytes: 4 * (3 + 2 * buffers as u64),
            total: 0,
            shards,
        };
        plan.total = tensors
            .iter()
            .map(|t| t.len as u128 * plan.weight(t) as u128)
            .sum();
        plan
    }

    /// The bytes each element of `t` moves in a step.
    fn weight(&self, t: &Tensor) -> u64 {
        match centered(t, self.groups) {
            true => self.bytes + CENTRALIZE_BYTES,
            false => self.bytes,
        }
    }

    /// Where shard `i` starts (`i` = the number of shards: the end of the layout): the cut
    /// nearest to `i / shards` of the bytes the step moves.
    pub fn boundary(&self, i: usize) -> usize {
        // ⌊total · i / shards⌋ without overflow: the total's bytes reach 2^65, `i` 2^64
        let (i, n) = (i.min(self.shards.get()) as u128, self.shards.get() as u128);
        let target = self.total / n * i + self.total % n * i / n;
        let (mut bytes, mut start) = (0u128, 0usize);
        for t in self.tensors {
            let w = self.weight(t) as u128;
            let size = t.len as u128 * w;
            if bytes + size > target {
                // the element nearest to the target, then the nearest cut around it
                let at = start + ((target - bytes + w / 2) / w) as usize;
                let g = granule(t, self.groups);
                let snapped = if g > 1 {
                    start + (at - start + g / 2) / g * g
                } else {
                    (at + CUT_ALIGN / 2) / CUT_ALIGN * CUT_ALIGN
                };
                return snapped.clamp(start, start + t.len);
            }
            bytes += size;
            start += t.len;
        }
        start
    }

    /// The element range of shard `i`.
    pub fn shard(&self, i: usize) -> Range<usize> {
        self.boundary(i)..self.boundary(i + 1)
    }

    /// The shards in order: they cover the layout, back to back (some may be empty).
    pub fn shards(self) -> impl ExactSizeIterator<Item = Range<usize>> + 'o
    where
        G: 'o,
    {
        (0..self.shards.get()).map(move |i| self.shard(i))
    }
}
