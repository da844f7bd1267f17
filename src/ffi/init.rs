//! Making an optimizer from C: one generic init that checks everything before it writes the
//! caller's optimizer and groups, and one C constructor per rule.

use super::backends::backend_of;
use super::groups::CGroup;
use super::optimizer::{COptimizer, Data};
use super::ptr::{Regions, check, slice, slice_mut};
use super::settings::{CAdamSettings, CAdamWSettings, CMomentumSettings, CSgdSettings};
use super::status::{Status, status};
use crate::error::Error;
use crate::layout::Tensor;
use crate::optim::{
    AdamRule, AdamSettings, AdamWRule, AdamWSettings, Core, MomentumRule, MomentumSettings,
    RuleImpl, SgdRule, SgdSettings,
};

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

/// Initializes `*opt` as MindSpore's `nn.Adam`, like `gradstep_momentum_init`. The state holds
/// `m`, `v` and, with AMSGrad, `v̂`, one after the other (`gradstep_optimizer_state_len`).
///
/// # Safety
/// As `gradstep_momentum_init`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gradstep_adam_init(
    opt: *mut COptimizer,
    tensors: *const Tensor,
    n_tensors: usize,
    groups: *mut CGroup,
    n_groups: usize,
    settings: *const CAdamSettings,
) -> Status {
    // SAFETY: the caller's contract, passed on.
    status(|| unsafe {
        init(opt, tensors, n_tensors, groups, n_groups, settings, |s| {
            let rust = AdamSettings::new()
                .with_betas(s.beta1, s.beta2)
                .with_eps(s.eps)
                .with_loss_scale(s.loss_scale)
                .with_nesterov(s.nesterov != 0)
                .with_amsgrad(s.amsgrad != 0)
                .with_threads(s.threads);
            Ok((AdamRule::new(&rust)?, s.check_finite != 0, s.backend))
        })
    })
}

/// Initializes `*opt` as MindSpore's `nn.AdamWeightDecay`, like `gradstep_momentum_init`: a
/// group's weight decay is decoupled. The state holds `m`, then `v`.
///
/// # Safety
/// As `gradstep_momentum_init`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gradstep_adamw_init(
    opt: *mut COptimizer,
    tensors: *const Tensor,
    n_tensors: usize,
    groups: *mut CGroup,
    n_groups: usize,
    settings: *const CAdamWSettings,
) -> Status {
    // SAFETY: the caller's contract, passed on.
    status(|| unsafe {
        init(opt, tensors, n_tensors, groups, n_groups, settings, |s| {
            let rust = AdamWSettings::new()
                .with_betas(s.beta1, s.beta2)
                .with_eps(s.eps);
            Ok((AdamWRule::new(&rust)?, s.check_finite != 0, s.backend))
        })
    })
}
