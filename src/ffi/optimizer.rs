//! The optimizer as C keeps it: opaque storage the caller owns (no allocation), where gradstep
//! writes its rule, settings, lengths and step counter as plain words with a checksum, and reads
//! them back, checked, at every call ([`Data`]). The layout and the groups stay in the caller's
//! arrays, which the caller may change between calls: [`arrays`] re-reads and re-checks what a call
//! uses of them before it writes anything.

use core::ffi::c_void;

use super::backends::{backend_id, backend_of};
use super::groups::CGroup;
use super::ptr::{Regions, slice, slice_mut};
use super::status::Status;
use crate::kernel::Backend;
use crate::layout::Tensor;
use crate::optim::{AdamRule, AdamWRule, Core, MomentumRule, RULE_WORDS, RuleImpl, SgdRule};
use crate::state::checksum;

/// An optimizer, initialized by `gradstep_momentum_init`, `gradstep_sgd_init`,
/// `gradstep_adam_init` or `gradstep_adamw_init`: opaque plain
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

const MAGIC: u32 = 0x6772_6164; // "grad"
pub(crate) const MOMENTUM: u32 = MomentumRule::KIND as u32;
pub(crate) const SGD: u32 = SgdRule::KIND as u32;
pub(crate) const ADAM: u32 = AdamRule::KIND as u32;
pub(crate) const ADAMW: u32 = AdamWRule::KIND as u32;

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
pub(crate) struct Data {
    pub tensors: *const Tensor,
    pub groups: *mut CGroup,
    pub n_tensors: usize,
    pub n_groups: usize,
    pub len: usize,
    pub kind: u32,
    pub check_finite: bool,
    pub backend: Backend,
    pub step: u32,
    pub planned: Option<u32>,
    pub rule: [u32; RULE_WORDS],
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
    pub fn read(o: &COptimizer) -> Result<Data, Status> {
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
    pub fn to_struct(self) -> COptimizer {
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
    pub fn core<'a, R: RuleImpl>(&self, tensors: &'a [Tensor]) -> Result<Core<'a, R>, Status> {
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
    pub fn store<R: RuleImpl>(&mut self, core: &Core<'_, R>) {
        self.step = core.step;
        self.planned = core.planned;
        self.rule = core.rule.encode();
    }

    /// The number of state buffers of the optimizer's rule.
    pub fn buffers(&self) -> Result<usize, Status> {
        let mut data = *self;
        with_core!(data, &[], |c| Ok(c.rule.buffers()))
    }
}

/// Runs `$body` with `$c` bound to the optimizer's core, whichever its rule, and keeps what it
/// changed: one arm per rule.
macro_rules! with_core {
    ($data:expr, $tensors:expr, |$c:ident| $body:expr) => {
        $crate::ffi::optimizer::with_core!(@rules $data, $tensors, $c, $body,
            MOMENTUM => MomentumRule,
            SGD => SgdRule,
            ADAM => AdamRule,
            ADAMW => AdamWRule)
    };
    (@rules $data:expr, $tensors:expr, $c:ident, $body:expr, $($kind:ident => $rule:ident),*) => {
        match $data.kind {
            $($crate::ffi::optimizer::$kind => {
                #[allow(unused_mut)]
                let mut $c = $data.core::<$crate::optim::$rule>($tensors)?;
                let out = $body;
                $data.store(&$c);
                out
            })*
            _ => return Err($crate::ffi::status::Status::Uninitialized),
        }
    };
}
pub(crate) use with_core;

/// The optimizer's data, read from `opt`.
///
/// # Safety
/// `opt` must be valid for reading one optimizer.
pub(crate) unsafe fn read(opt: *const COptimizer) -> Result<Data, Status> {
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
pub(crate) unsafe fn arrays<'a, const N: usize>(
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
pub(crate) fn base<const N: usize>(
    opt: *const COptimizer,
    data: &Data,
    write_opt: bool,
) -> Regions<N> {
    Regions::new()
        .add(opt, 1, write_opt)
        .add(data.tensors, data.n_tensors, false)
        .add(data.groups, data.n_groups, true)
}
