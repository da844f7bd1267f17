//! The calls on an initialized optimizer: steps (whole, or in shards over the whole buffers),
//! reading and setting, saved state. Each re-checks the caller's memory it uses (the optimizer's
//! words, the layout, the groups) and refuses overlapping memory before it writes anything.

use core::num::NonZeroUsize;

use super::groups::CGroup;
use super::optimizer::{COptimizer, Data, arrays, base, read, with_core};
use super::ptr::{Regions, check, check_buffer, put, slice, slice_mut};
use super::status::{Status, status};
use crate::error::Error;
use crate::layout;
use crate::optim::{Part, StepToken};

/// One step over the whole layout: `params` and `grads` hold `len` floats (all the tensors),
/// `state` holds `state_len` floats (`gradstep_optimizer_state_len`). On error nothing changes,
/// the step counter included.
///
/// # Safety
/// `opt` must be an optimizer initialized by gradstep, valid for reading and writing, whose arrays
/// are alive; `params` and `state` valid for `len` and `state_len` reads and writes, `grads` for
/// `len` reads (NULL only for 0); no other thread may use any of them during the call.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gradstep_optimizer_step(
    opt: *mut COptimizer,
    params: *mut f32,
    grads: *const f32,
    len: usize,
    state: *mut f32,
    state_len: usize,
) -> Status {
    status(|| {
        // SAFETY: the caller's contract for every pointer; the regions they point to are checked
        // for overlap before any reference to them is made.
        unsafe {
            let mut data = read(opt)?;
            let regions = base::<6>(opt, &data, true)
                .add(params, len, true)
                .add(grads, len, false)
                .add(state, state_len, true);
            let (tensors, groups) = arrays(&data, &regions)?;
            let (w, g, s) = (
                slice_mut(params, len)?,
                slice(grads, len)?,
                slice_mut(state, state_len)?,
            );
            with_core!(data, tensors, |c| c.step(groups, w, g, s))?;
            opt.write(data.to_struct());
            Ok(())
        }
    })
}

/// Plans a step taken in shards: computes every group's learning rate and writes the step's
/// token into `*token`.
///
/// # Safety
/// As `gradstep_optimizer_step` for `opt`; `token` valid for writing one `uint32_t`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gradstep_optimizer_begin_step(
    opt: *mut COptimizer,
    token: *mut u32,
) -> Status {
    status(|| {
        // SAFETY: as in `gradstep_optimizer_step`.
        unsafe {
            let mut data = read(opt)?;
            let regions = base::<4>(opt, &data, true).add(token, 1, true);
            let (tensors, groups) = arrays(&data, &regions)?;
            // a bad `token` fails the call before the step is planned
            check(token, 1)?;
            let planned = with_core!(data, tensors, |c| c.begin(groups))?;
            opt.write(data.to_struct());
            put(token, planned.step())
        }
    })
}

/// Updates elements `[start, end)` of the planned step: a shard of `gradstep_optimizer_plan`, or
/// any range cut where `gradstep_optimizer_plan` may cut (anywhere but inside a row of a
/// centralized tensor; else `GRADSTEP_STATUS_ELEMENT_RANGE`). `params`, `grads` (`len` floats) and
/// `state` (`state_len` floats) are the whole buffers, as for `gradstep_optimizer_step`; only
/// those elements are touched. Shards of one step may run concurrently on disjoint ranges: this
/// call only reads the optimizer and its groups.
///
/// # Safety
/// `opt` must be an optimizer initialized by gradstep, valid for reading, whose arrays are alive;
/// the buffers as in `gradstep_optimizer_step`, except that other threads may use the elements
/// outside `[start, end)` at the same time.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gradstep_optimizer_step_shard(
    opt: *const COptimizer,
    token: u32,
    start: usize,
    end: usize,
    params: *mut f32,
    grads: *const f32,
    len: usize,
    state: *mut f32,
    state_len: usize,
) -> Status {
    status(|| {
        // SAFETY: as in `gradstep_optimizer_step`; the slices made cover only this shard's
        // elements (inside the buffers: checked first), which no other shard of the step touches
        // (the caller's contract).
        unsafe {
            let mut data = read(opt)?;
            Regions::<6>::new()
                .add(opt, 1, false)
                .add(data.tensors, data.n_tensors, false)
                .add(data.groups, data.n_groups, false)
                .add(params, len, true)
                .add(grads, len, false)
                .add(state, state_len, true)
                .check()?;
            let tensors = slice(data.tensors, data.n_tensors)?;
            let groups = slice(data.groups as *const CGroup, data.n_groups)?;
            let buffers = data.buffers()?;
            if layout::total(tensors, groups.len())? != data.len {
                return Err(Status::LayoutChanged);
            }
            if len != data.len || state_len != data.len * buffers {
                return Err(Status::LengthMismatch);
            }
            check_buffer(params, len)?;
            check_buffer(grads, len)?;
            check_buffer(state, state_len)?;
            if start > end || end > len {
                return Err(Error::ElementRange { start, end }.into());
            }
            let n = end - start;
            let mut part = Part::empty(start);
            part.elements = start..end;
            part.params = slice_mut(params.add(start), n)?;
            part.grads = slice(grads.add(start), n)?;
            for (b, slot) in part.state.iter_mut().enumerate().take(buffers) {
                *slot = slice_mut(state.add(b * data.len + start), n)?;
            }
            let token = StepToken { step: token };
            Ok(with_core!(data, tensors, |c| c.apply(groups, &token, part))?)
        }
    })
}

/// Shard `index` of a plan of `shards` shards of the layout, as the element range
/// `[*start, *end)`: the shards cover the layout back to back, each moving about the same number of
/// bytes in a step, cut where the update allows (some may be empty). Give each to
/// `gradstep_optimizer_step_shard`, on as many threads as there are shards.
///
/// # Safety
/// As `gradstep_optimizer_step` for `opt`; `start` and `end` valid for writing one `size_t` each.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gradstep_optimizer_plan(
    opt: *const COptimizer,
    shards: usize,
    index: usize,
    start: *mut usize,
    end: *mut usize,
) -> Status {
    status(|| {
        // SAFETY: as in `gradstep_optimizer_step`.
        unsafe {
            let mut data = read(opt)?;
            let regions = base::<5>(opt, &data, false)
                .add(start, 1, true)
                .add(end, 1, true);
            let (tensors, groups) = arrays(&data, &regions)?;
            // both results checked first, so that a bad `end` does not leave `*start` written
            check(start, 1)?;
            check(end, 1)?;
            if layout::total(tensors, groups.len())? != data.len {
                return Err(Status::LayoutChanged);
            }
            let shards = NonZeroUsize::new(shards).ok_or(Status::InvalidArgument)?;
            if index >= shards.get() {
                return Err(Status::InvalidArgument);
            }
            let r = with_core!(data, tensors, |c| c.plan(groups, shards).shard(index));
            put(start, r.start)?;
            put(end, r.end)
        }
    })
}

/// Completes the planned step once every tensor has been updated exactly once.
///
/// # Safety
/// As `gradstep_optimizer_step` for `opt`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gradstep_optimizer_end_step(opt: *mut COptimizer, token: u32) -> Status {
    status(|| {
        // SAFETY: the caller's contract for the optimizer.
        unsafe {
            let mut data = read(opt)?;
            with_core!(data, &[], |c| c.end(StepToken { step: token }))?;
            opt.write(data.to_struct());
            Ok(())
        }
    })
}

// ----- reading and setting -------------------------------------------------------------------

/// One number of the optimizer into `*out`.
///
/// # Safety
/// `opt` valid for reading one optimizer, `out` for writing one `T`.
unsafe fn answer<T>(
    opt: *const COptimizer,
    out: *mut T,
    f: impl FnOnce(&Data) -> Result<T, Status>,
) -> Status {
    status(|| {
        // SAFETY: the caller's contract for both pointers, which do not overlap (checked).
        unsafe {
            Regions::<2>::new()
                .add(opt, 1, false)
                .add(out, 1, true)
                .check()?;
            let data = read(opt)?;
            put(out, f(&data)?)
        }
    })
}

/// The global step (steps taken, and the index of the next step's learning rate) into `*out`.
///
/// # Safety
/// `opt` valid for reading one optimizer, `out` for writing one `uint32_t`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gradstep_optimizer_global_step(
    opt: *const COptimizer,
    out: *mut u32,
) -> Status {
    // SAFETY: the caller's contract, passed on.
    unsafe { answer(opt, out, |d| Ok(d.step)) }
}

/// The length the params and grads buffers must have (and each state buffer), into `*out`.
///
/// # Safety
/// `opt` valid for reading one optimizer, `out` for writing one `size_t`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gradstep_optimizer_len(opt: *const COptimizer, out: *mut usize) -> Status {
    // SAFETY: the caller's contract, passed on.
    unsafe { answer(opt, out, |d| Ok(d.len)) }
}

/// The length the state buffer must have (the rule's state buffers, one after the other), into
/// `*out`.
///
/// # Safety
/// `opt` valid for reading one optimizer, `out` for writing one `size_t`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gradstep_optimizer_state_len(
    opt: *const COptimizer,
    out: *mut usize,
) -> Status {
    // SAFETY: the caller's contract, passed on.
    unsafe { answer(opt, out, |d| Ok(d.len * d.buffers()?)) }
}

/// The number of bytes `gradstep_optimizer_save` writes, into `*out`.
///
/// # Safety
/// `opt` valid for reading one optimizer, `out` for writing one `size_t`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gradstep_optimizer_saved_len(
    opt: *const COptimizer,
    out: *mut usize,
) -> Status {
    // SAFETY: the caller's contract, passed on.
    unsafe {
        answer(opt, out, |d| {
            Ok(crate::state::saved_len(d.n_groups, d.len * d.buffers()?))
        })
    }
}

/// The learning rate group `group` will use at the next step, into `*out`.
///
/// # Safety
/// As `gradstep_optimizer_step` for `opt`; `out` valid for writing one float.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gradstep_optimizer_lr(
    opt: *const COptimizer,
    group: usize,
    out: *mut f32,
) -> Status {
    status(|| {
        // SAFETY: as in `gradstep_optimizer_step`.
        unsafe {
            let mut data = read(opt)?;
            let regions = base::<4>(opt, &data, false).add(out, 1, true);
            let (tensors, groups) = arrays(&data, &regions)?;
            let lr = with_core!(data, tensors, |c| c.lr(groups, group))?;
            put(out, lr)
        }
    })
}

/// Sets group `group`'s static learning rate to `F(lr)` (finite, ≥ 0), used from the next step on.
///
/// # Safety
/// As `gradstep_optimizer_step` for `opt`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gradstep_optimizer_set_lr(
    opt: *const COptimizer,
    group: usize,
    lr: f64,
) -> Status {
    status(|| {
        // SAFETY: as in `gradstep_optimizer_step`.
        unsafe {
            let mut data = read(opt)?;
            let regions = base::<3>(opt, &data, false);
            let (tensors, groups) = arrays(&data, &regions)?;
            Ok(with_core!(data, tensors, |c| c.set_lr(groups, group, lr))?)
        }
    })
}

/// The offset and length, in the flat buffers, of tensors `[first, end)`.
///
/// # Safety
/// As `gradstep_optimizer_step` for `opt`; `offset` and `len` valid for writing one `size_t` each.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gradstep_optimizer_elements(
    opt: *const COptimizer,
    first: usize,
    end: usize,
    offset: *mut usize,
    len: *mut usize,
) -> Status {
    status(|| {
        // SAFETY: as in `gradstep_optimizer_step`.
        unsafe {
            let data = read(opt)?;
            let regions = base::<5>(opt, &data, false)
                .add(offset, 1, true)
                .add(len, 1, true);
            let (tensors, groups) = arrays(&data, &regions)?;
            // both results checked first, so that a bad `len` does not leave `*offset` written
            check(offset, 1)?;
            check(len, 1)?;
            if layout::total(tensors, groups.len())? != data.len {
                return Err(Status::LayoutChanged);
            }
            let r = layout::elements(tensors, first..end)?;
            put(offset, r.start)?;
            put(len, r.len())
        }
    })
}

// ----- saved state ---------------------------------------------------------------------------

/// Writes the step counter, the rule's scalars, the static learning rates and `state`
/// (`state_len` floats) into `out` (`out_len` bytes, at least `gradstep_optimizer_saved_len`);
/// the bytes written into `*written`.
///
/// # Safety
/// As `gradstep_optimizer_step` for `opt`; `state` valid for `state_len` reads, `out` for
/// `out_len` writes, `written` for writing one `size_t`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gradstep_optimizer_save(
    opt: *const COptimizer,
    state: *const f32,
    state_len: usize,
    out: *mut u8,
    out_len: usize,
    written: *mut usize,
) -> Status {
    status(|| {
        // SAFETY: as in `gradstep_optimizer_step`.
        unsafe {
            let mut data = read(opt)?;
            let regions = base::<6>(opt, &data, false)
                .add(state, state_len, false)
                .add(out, out_len, true)
                .add(written, 1, true);
            let (tensors, groups) = arrays(&data, &regions)?;
            // a bad `written` fails the call before `out` is written
            check(written, 1)?;
            let (s, bytes) = (slice(state, state_len)?, slice_mut(out, out_len)?);
            let n = with_core!(data, tensors, |c| c.save(groups, s, bytes))?;
            put(written, n)
        }
    })
}

/// Restores what `gradstep_optimizer_save` wrote (`len` bytes) into the optimizer and `state`
/// (`state_len` floats); on error nothing changes.
///
/// # Safety
/// As `gradstep_optimizer_step` for `opt`; `bytes` valid for `len` reads, `state` for `state_len`
/// writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gradstep_optimizer_restore(
    opt: *mut COptimizer,
    bytes: *const u8,
    len: usize,
    state: *mut f32,
    state_len: usize,
) -> Status {
    status(|| {
        // SAFETY: as in `gradstep_optimizer_step`.
        unsafe {
            let mut data = read(opt)?;
            let regions = base::<5>(opt, &data, true)
                .add(bytes, len, false)
                .add(state, state_len, true);
            let (tensors, groups) = arrays(&data, &regions)?;
            let (b, s) = (slice(bytes, len)?, slice_mut(state, state_len)?);
            with_core!(data, tensors, |c| c.restore(groups, b, s))?;
            opt.write(data.to_struct());
            Ok(())
        }
    })
}
