//! The parallel step (feature `parallel`): a plan's shards on rayon's threads.
//!
//! rayon is the pool the Rust ecosystem shares: a program's own parallel code and gradstep's step
//! run on the same threads instead of two pools fighting for the cores; its `join` splits work
//! without allocating, and `ThreadPool::install` gives the caller the choice of pool and thread
//! count. A caller with another pool (or its own threads) takes the same shards with
//! [`Optimizer::shards`] and [`Optimizer::step_part`].

use core::num::NonZeroUsize;
use core::ops::Range;

use super::core::Core;
use super::optimizer::Optimizer;
use super::part::Part;
use super::plan::Plan;
use super::rule::Rule;
use crate::error::Error;
use crate::group::{Group, GroupLike};

/// The fewest elements worth a shard of their own when the step is called on a thread of the pool
/// (a training loop inside `pool.install`): below this, handing a shard to another thread costs
/// more than it saves. Measured with `benches/parallel.rs` (2 cores): two shards of 32 Ki elements
/// ran 1.47–1.72× the serial step; two of 16 Ki between 0.60× and 1.17× over runs, so not less.
pub const MIN_SHARD_ELEMENTS: usize = 32 << 10;

/// The same from a thread outside the pool: a sharded step first crosses to the pool's threads
/// (rayon's injection queue and a wake-up, some microseconds), so shards must be larger to pay for
/// it. Measured the same way, from outside on the global pool: two shards of 32 Ki elements ran
/// 0.62× the serial step, two of 64 Ki 0.85×, two of 128 Ki 1.24×.
pub const MIN_SHARD_ELEMENTS_FROM_OUTSIDE: usize = 128 << 10;

/// The number of shards for `len` elements on `threads` threads: one per thread, and none of
/// fewer than `min` elements (a small step is one shard, on the calling thread).
fn shard_count(len: usize, threads: usize, min: usize) -> NonZeroUsize {
    NonZeroUsize::new(threads.min(len / min)).unwrap_or(NonZeroUsize::MIN)
}

impl<'a, R: Rule + Sync, G: AsRef<[Group<'a>]> + AsMut<[Group<'a>]>> Optimizer<'a, R, G> {
    /// One step over the whole layout, as [`Optimizer::step`] and bit-identical to it, with the
    /// shards of a plan ([`Optimizer::plan`]) updated on the threads of the current rayon pool:
    /// the global one, or the caller's (`pool.install(|| opt.step_parallel(…))`), one shard per
    /// thread. A step of fewer than 2 × [`MIN_SHARD_ELEMENTS`] elements (called on a thread of
    /// the pool; 2 × [`MIN_SHARD_ELEMENTS_FROM_OUTSIDE`] from another thread) runs on the calling
    /// thread. On error nothing changes. Allocates nothing (called on a thread of the pool; from
    /// outside, rayon's injection queue allocates a block now and then).
    pub fn step_parallel(
        &mut self,
        params: &mut [f32],
        grads: &[f32],
        state: &mut [f32],
    ) -> Result<(), Error> {
        let min = match rayon::current_thread_index() {
            Some(_) => MIN_SHARD_ELEMENTS,
            None => MIN_SHARD_ELEMENTS_FROM_OUTSIDE,
        };
        let shards = shard_count(self.core.len, rayon::current_num_threads(), min);
        let groups = self.groups.as_mut();
        if shards.get() == 1 {
            return self.core.step(groups, params, grads, state);
        }
        self.core.reread(groups.len())?;
        // the whole layout: its ends are cuts
        let whole = self.core.over(0..self.core.len, params, grads, state)?;
        let plan = self.core.plan(groups, shards);
        if self.core.check_finite {
            check_grads(&self.core, &plan, whole.grads, 0..shards.get())?;
        }
        let token = self.core.begin(groups)?;
        let (core, groups) = (&self.core, &*groups);
        update(
            core,
            groups,
            &core.plan(groups, shards),
            whole,
            0..shards.get(),
        );
        self.core.end(token)
    }
}

/// Updates shards `shards` of `plan`, which `part` holds: halves on two threads, recursively.
fn update<R: Rule + Sync, G: GroupLike + Sync>(
    core: &Core<'_, R>,
    groups: &[G],
    plan: &Plan<'_, G>,
    part: Part<'_>,
    shards: Range<usize>,
) {
    if shards.len() <= 1 {
        return core.update(groups, part);
    }
    let mid = shards.start + shards.len() / 2;
    let (a, b) = part.cut(plan.boundary(mid));
    rayon::join(
        || update(core, groups, plan, a, shards.start..mid),
        || update(core, groups, plan, b, mid..shards.end),
    );
}

/// [`Core::check_grads`] over shards `shards` of `plan` (`grads` from the first one's start), on
/// two threads recursively: the first non-finite gradient's index, as a serial check finds it.
fn check_grads<R: Rule + Sync, G: GroupLike + Sync>(
    core: &Core<'_, R>,
    plan: &Plan<'_, G>,
    grads: &[f32],
    shards: Range<usize>,
) -> Result<(), Error> {
    let offset = plan.boundary(shards.start);
    if shards.len() <= 1 {
        return core.check_grads(grads).map_err(|e| match e {
            Error::NonFiniteGradient { index } => Error::NonFiniteGradient {
                index: offset + index,
            },
            e => e,
        });
    }
    let mid = shards.start + shards.len() / 2;
    let (a, b) = grads.split_at(plan.boundary(mid) - offset);
    let (first, second) = rayon::join(
        || check_grads(core, plan, a, shards.start..mid),
        || check_grads(core, plan, b, mid..shards.end),
    );
    first.and(second)
}
