//! The optimizers from C: one generic init, one constructor per rule, and the calls on an
//! initialized `gradstep_optimizer`.
//!
//! The optimizer struct is opaque storage the caller keeps (no allocation): gradstep writes its
//! rule, settings, lengths and step counter there as plain words with a checksum, and reads them
//! back, checked, at every call. The layout and the groups stay in the caller's arrays, which the
//! caller may change between calls: every call re-reads and re-checks what it uses of them before
//! it writes anything.

use core::ffi::c_void;
use core::ops::Range;

use super::groups::CGroup;
use super::kernels::{backend_id, backend_of};
use super::ptr::{Regions, check, put, slice, slice_mut};
use super::status::{Status, status};
use crate::error::Error;
use crate::kernel::Backend;
use crate::layout::{self, Tensor};
use crate::optim::{
    Core, MomentumRule, MomentumSettings, Part, RULE_WORDS, RuleImpl, SgdRule, SgdSettings,
    StepToken,
};
use crate::state::checksum;

/// An optimizer, initialized by `gradstep_momentum_init` or `gradstep_sgd_init`: opaque plain
/// data the caller keeps (on the stack, in a static) and never writes; it may be copied. The
/// tensor and group arrays it was given must outlive it.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct COptimizer {
    /// gradstep's: the tensor and group arrays.
    pub _pointers: [*const c_void; 2],
    /// gradstep's: the rule, the settings, the lengths, the step counter and a checksum.
    pub _private: [u32; 24],
}

/// The settings of a Momentum optimizer (`gradstep_momentum_settings_default` fills them).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct CMomentumSettings {
    /// The momentum coefficient: finite, ≥ 0.
    pub momentum: f64,
    /// The loss scale the gradients arrive multiplied by: finite, > 0.
    pub loss_scale: f64,
    /// Nesterov: 0 or 1.
    pub nesterov: u32,
    /// Reject a step with a NaN or infinite gradient before writing: 0 or 1.
    pub check_finite: u32,
    /// A `GRADSTEP_BACKEND_*`.
    pub backend: u32,
}

/// The settings of an SGD optimizer (`gradstep_sgd_settings_default` fills them).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct CSgdSettings {
    /// The momentum coefficient: finite, ≥ 0.
    pub momentum: f64,
    /// The dampening: finite, ≥ 0.
    pub dampening: f64,
    /// The loss scale: finite, > 0.
    pub loss_scale: f64,
    /// Nesterov (needs momentum > 0 and dampening 0): 0 or 1.
    pub nesterov: u32,
    /// As in the Momentum settings.
    pub check_finite: u32,
    /// A `GRADSTEP_BACKEND_*`.
    pub backend: u32,
}

/// `momentum`, no Nesterov, loss scale 1, no gradient check, the widest backend.
#[unsafe(no_mangle)]
pub extern "C" fn gradstep_momentum_settings_default(momentum: f64) -> CMomentumSettings {
    CMomentumSettings {
        momentum,
        loss_scale: 1.0,
        nesterov: 0,
        check_finite: 0,
        backend: super::kernels::GRADSTEP_BACKEND_AUTO,
    }
}

/// MindSpore's defaults: no momentum, no dampening, no Nesterov, loss scale 1.
#[unsafe(no_mangle)]
pub extern "C" fn gradstep_sgd_settings_default() -> CSgdSettings {
    CSgdSettings {
        momentum: 0.0,
        dampening: 0.0,
        loss_scale: 1.0,
        nesterov: 0,
        check_finite: 0,
        backend: super::kernels::GRADSTEP_BACKEND_AUTO,
    }
}

// ----- the optimizer's words ---------------------------------------------------------------

const MAGIC: u32 = 0x6772_6164; // "grad"
const MOMENTUM: u32 = MomentumRule::KIND as u32;
const SGD: u32 = SgdRule::KIND as u32;

// word indices in `_private`
const W_MAGIC: usize = 0;
const W_KIND: usize = 1;
const W_FLAGS: usize = 2;
const W_BACKEND: usize = 3;
const W_STEP: usize = 4;
const W_PLANNED: usize = 5;
const W_TENSORS: usize = 6;
const W_GROUPS: usize = 8;
const W_LEN: usize = 10;
const W_RULE: usize = 12;
const W_SUM: usize = W_RULE + RULE_WORDS;

/// What the optimizer struct holds, decoded and checked.
#[derive(Clone, Copy)]
struct Data {
    tensors: *const Tensor,
    groups: *mut CGroup,
    n_tensors: usize,
    n_groups: usize,
    len: usize,
    kind: u32,
    check_finite: bool,
    backend: Backend,
    step: u32,
    planned: Option<u32>,
    rule: [u32; RULE_WORDS],
}

fn words(w: &[u32], at: usize) -> Result<usize, Status> {
    let x = w[at] as u64 | (w[at + 1] as u64) << 32;
    usize::try_from(x).map_err(|_| Status::InvalidArgument)
}

fn set_words(w: &mut [u32], at: usize, x: usize) {
    let x = x as u64;
    (w[at], w[at + 1]) = (x as u32, (x >> 32) as u32);
}

/// The checksum of the struct: its words before the sum, and the pointers' addresses.
fn sum(o: &COptimizer) -> u32 {
    let mut bytes = [0u8; 4 * W_SUM + 16];
    for (chunk, w) in bytes.chunks_exact_mut(4).zip(&o._private[..W_SUM]) {
        chunk.copy_from_slice(&w.to_le_bytes());
    }
    for (i, p) in o._pointers.iter().enumerate() {
        let at = 4 * W_SUM + 8 * i;
        bytes[at..at + 8].copy_from_slice(&(p.addr() as u64).to_le_bytes());
    }
    checksum(&bytes)
}

impl Data {
    /// The data of an optimizer gradstep initialized and nobody changed since.
    fn read(o: &COptimizer) -> Result<Data, Status> {
        let w = &o._private;
        if w[W_MAGIC] != MAGIC {
            return Err(Status::Uninitialized);
        }
        if w[W_SUM] != sum(o) || w[W_FLAGS] > 1 {
            return Err(Status::InvalidArgument);
        }
        let mut rule = [0; RULE_WORDS];
        rule.copy_from_slice(&w[W_RULE..W_SUM]);
        Ok(Data {
            tensors: o._pointers[0] as *const Tensor,
            groups: o._pointers[1] as *mut CGroup,
            n_tensors: words(w, W_TENSORS)?,
            n_groups: words(w, W_GROUPS)?,
            len: words(w, W_LEN)?,
            kind: w[W_KIND],
            check_finite: w[W_FLAGS] == 1,
            backend: backend_of(w[W_BACKEND])?,
            step: w[W_STEP],
            planned: w[W_PLANNED].checked_sub(1),
            rule,
        })
    }

    /// The struct of this data, with its checksum.
    fn to_struct(self) -> COptimizer {
        let mut o = COptimizer {
            _pointers: [self.tensors as *const c_void, self.groups as *const c_void],
            _private: [0; 24],
        };
        let w = &mut o._private;
        w[W_MAGIC] = MAGIC;
        w[W_KIND] = self.kind;
        w[W_FLAGS] = self.check_finite as u32;
        w[W_BACKEND] = backend_id(self.backend);
        w[W_STEP] = self.step;
        w[W_PLANNED] = self.planned.map_or(0, |k| k + 1);
        set_words(w, W_TENSORS, self.n_tensors);
        set_words(w, W_GROUPS, self.n_groups);
        set_words(w, W_LEN, self.len);
        w[W_RULE..W_SUM].copy_from_slice(&self.rule);
        o._private[W_SUM] = sum(&o);
        o
    }

    /// The core, rebuilt from the plain data: a rule gradstep wrote, a backend that runs here.
    fn core<'a, R: RuleImpl>(&self, tensors: &'a [Tensor]) -> Result<Core<'a, R>, Status> {
        Ok(Core {
            tensors,
            len: self.len,
            rule: R::decode(&self.rule).ok_or(Status::InvalidArgument)?,
            check_finite: self.check_finite,
            backend: self.backend.check()?,
            step: self.step,
            planned: self.planned,
        })
    }

    /// Keeps what a call may have changed in the core.
    fn store<R: RuleImpl>(&mut self, core: &Core<'_, R>) {
        self.step = core.step;
        self.planned = core.planned;
        self.rule = core.rule.encode();
    }

    /// The number of state buffers of the optimizer's rule.
    fn buffers(&self) -> Result<usize, Status> {
        match self.kind {
            MOMENTUM => Ok(self.core::<MomentumRule>(&[])?.rule.buffers()),
            SGD => Ok(self.core::<SgdRule>(&[])?.rule.buffers()),
            _ => Err(Status::Uninitialized),
        }
    }
}

/// Runs `$body` with `$c` bound to the optimizer's core, whichever its rule, and keeps what it
/// changed: one arm per rule.
macro_rules! with_core {
    ($data:expr, $tensors:expr, |$c:ident| $body:expr) => {
        match $data.kind {
            MOMENTUM => {
                #[allow(unused_mut)]
                let mut $c = $data.core::<MomentumRule>($tensors)?;
                let out = $body;
                $data.store(&$c);
                out
            }
            SGD => {
                #[allow(unused_mut)]
                let mut $c = $data.core::<SgdRule>($tensors)?;
                let out = $body;
                $data.store(&$c);
                out
            }
            _ => return Err(Status::Uninitialized),
        }
    };
}

/// The optimizer's data, read from `opt`.
///
/// # Safety
/// `opt` must be valid for reading one optimizer.
unsafe fn read(opt: *const COptimizer) -> Result<Data, Status> {
    // SAFETY: the caller's contract; the struct is plain data (any bits are a value).
    Data::read(unsafe { &slice(opt, 1)?[0] })
}

/// The caller's arrays of an optimizer: its tensors and its groups, after `regions` (which must
/// hold them, as [`base`] makes them) was checked, and every group's fields, table and schedule
/// checked again (against the regions the call writes, too).
///
/// # Safety
/// The arrays must be valid (the contract of the init that stored them) and not referred to
/// elsewhere during the call.
unsafe fn arrays<'a, const N: usize>(
    data: &Data,
    regions: &Regions<N>,
) -> Result<(&'a [Tensor], &'a mut [CGroup]), Status> {
    regions.check()?;
    // SAFETY: the caller's contract; `regions` checked that nothing the call writes overlaps them
    // (a `gradstep_tensor` is valid for every bit pattern).
    let (tensors, groups) = unsafe {
        (
            slice(data.tensors, data.n_tensors)?,
            slice_mut(data.groups, data.n_groups)?,
        )
    };
    for g in groups.iter() {
        g.check_overlap(regions)?;
        g.check_source()?;
    }
    Ok((tensors, groups))
}

/// The regions of an optimizer call that uses [`arrays`]: the optimizer (written or not), the
/// tensors (read) and the groups (which [`arrays`] lends mutably).
fn base<const N: usize>(opt: *const COptimizer, data: &Data, write_opt: bool) -> Regions<N> {
    Regions::new()
        .add(opt, 1, write_opt)
        .add(data.tensors, data.n_tensors, false)
        .add(data.groups, data.n_groups, true)
}

// ----- init ----------------------------------------------------------------------------------

/// The shared work of every init: checks everything, then writes `*opt` and the groups' private
/// words; on error neither changes.
///
/// # Safety
/// `opt` must be valid for writing one optimizer, `tensors` for `n_tensors` reads, `groups` for
/// `n_groups` reads and writes, and `settings` for one read of `S`.
unsafe fn init<R: RuleImpl, S>(
    opt: *mut COptimizer,
    tensors: *const Tensor,
    n_tensors: usize,
    groups: *mut CGroup,
    n_groups: usize,
    settings: *const S,
    rule: impl FnOnce(&S) -> Result<(R, bool, u32), Error>,
) -> Result<(), Status> {
    Regions::<4>::new()
        .add(opt, 1, true)
        .add(tensors, n_tensors, false)
        .add(groups, n_groups, true)
        .add(settings, 1, false)
        .check()?;
    check(opt, 1)?;
    // SAFETY: the caller's contract for the settings; they overlap nothing written (checked).
    let (rule, check_finite, backend) = rule(unsafe { &slice(settings, 1)?[0] })?;
    let backend = backend_of(backend)?;
    // SAFETY: the caller's contract for the arrays, which overlap nothing written (checked).
    let (layout, gs) = unsafe { (slice(tensors, n_tensors)?, slice_mut(groups, n_groups)?) };
    let written = Regions::<2>::new()
        .add(opt, 1, true)
        .add(groups, n_groups, true);
    // Nothing is written unless all is valid: the groups are checked on copies, then the core
    // (which writes the groups' preparations only once all its checks pass), then the checked
    // learning rates are stored (which cannot fail any more).
    for g in gs.iter() {
        g.check_overlap(&written)?;
        let mut copy = *g;
        copy.init()?;
    }
    let core = Core::new(layout, gs, rule, check_finite, backend)?;
    for g in gs.iter_mut() {
        g.init()?;
    }
    let data = Data {
        tensors,
        groups,
        n_tensors,
        n_groups,
        len: core.len,
        kind: R::KIND as u32,
        check_finite,
        backend: core.backend,
        step: 0,
        planned: None,
        rule: core.rule.encode(),
    };
    // SAFETY: non-null and aligned (checked), valid for one write (the caller's contract); a
    // write, not a reference, as the caller's struct may be uninitialized.
    unsafe { opt.write(data.to_struct()) };
    Ok(())
}

/// Initializes `*opt` as MindSpore's `nn.Momentum` over `n_tensors` tensors (back to back in the
/// buffers, in this order) in `n_groups` groups. Checks everything; on error `*opt` and the
/// groups are unchanged.
///
/// # Safety
/// `opt` must be valid for writing one `gradstep_optimizer`; `tensors` for reading `n_tensors`
/// tensors and `groups` for reading and writing `n_groups` groups (NULL only for 0), both for as
/// long as the optimizer is used; `settings` for reading one settings struct; the tables and
/// schedules the groups name as long as the optimizer is used.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gradstep_momentum_init(
    opt: *mut COptimizer,
    tensors: *const Tensor,
    n_tensors: usize,
    groups: *mut CGroup,
    n_groups: usize,
    settings: *const CMomentumSettings,
) -> Status {
    // SAFETY: the caller's contract, passed on.
    status(|| unsafe {
        init(opt, tensors, n_tensors, groups, n_groups, settings, |s| {
            let rust = MomentumSettings::new(s.momentum)
                .with_nesterov(s.nesterov != 0)
                .with_loss_scale(s.loss_scale);
            Ok((MomentumRule::new(&rust)?, s.check_finite != 0, s.backend))
        })
    })
}

/// Initializes `*opt` as MindSpore's `nn.SGD`, like `gradstep_momentum_init`.
///
/// # Safety
/// As `gradstep_momentum_init`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gradstep_sgd_init(
    opt: *mut COptimizer,
    tensors: *const Tensor,
    n_tensors: usize,
    groups: *mut CGroup,
    n_groups: usize,
    settings: *const CSgdSettings,
) -> Status {
    // SAFETY: the caller's contract, passed on.
    status(|| unsafe {
        init(opt, tensors, n_tensors, groups, n_groups, settings, |s| {
            let rust = SgdSettings::default()
                .with_momentum(s.momentum)
                .with_dampening(s.dampening)
                .with_nesterov(s.nesterov != 0)
                .with_loss_scale(s.loss_scale);
            Ok((SgdRule::new(&rust)?, s.check_finite != 0, s.backend))
        })
    })
}

// ----- steps ---------------------------------------------------------------------------------

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

/// Updates tensors `[first, end)` of the planned step. `params`, `grads` (`len` floats) and
/// `state` (`state_len` floats) are the whole buffers, as for `gradstep_optimizer_step`; only the
/// elements of those tensors are touched. Shards of one step may run concurrently on disjoint
/// tensor ranges: this call only reads the optimizer and its groups.
///
/// # Safety
/// `opt` must be an optimizer initialized by gradstep, valid for reading, whose arrays are alive;
/// the buffers as in `gradstep_optimizer_step`, except that other threads may use the elements of
/// other tensors at the same time.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gradstep_optimizer_step_shard(
    opt: *const COptimizer,
    token: u32,
    first: usize,
    end: usize,
    params: *mut f32,
    grads: *const f32,
    len: usize,
    state: *mut f32,
    state_len: usize,
) -> Status {
    status(|| {
        // SAFETY: as in `gradstep_optimizer_step`; the slices made cover only this shard's
        // elements, which no other shard of the step touches (the caller's contract).
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
            check(params, len)?;
            check(grads, len)?;
            check(state, state_len)?;
            let Range { start, end: stop } = layout::elements(tensors, first..end)?;
            let n = stop - start;
            let mut part = Part {
                tensors: first..end,
                params: slice_mut(params.add(start), n)?,
                grads: slice(grads.add(start), n)?,
                state: Default::default(),
            };
            for (b, slot) in part.state.iter_mut().enumerate().take(buffers) {
                *slot = slice_mut(state.add(b * data.len + start), n)?;
            }
            let token = StepToken { step: token };
            Ok(with_core!(data, tensors, |c| c.apply(groups, &token, part))?)
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
