//! The fused kernels on raw pointers.

use core::num::NonZeroUsize;

use super::backends::backend_of;
use super::ptr::{Regions, slice, slice_mut};
use super::settings::{CAdamSettings, CAdamWSettings};
use super::status::{Status, status};
use crate::hyper::{AdamStep, AdamWStep, Betas, GradPrep, MomentumStep, SgdStep};
use crate::kernel;

/// Params, grads and state of one tensor.
type Buffers<'a> = (&'a mut [f32], &'a [f32], &'a mut [f32]);

/// The three buffers of one kernel call, checked for NULL, alignment and overlap: `len` params
/// and grads, `buffers · len` state values.
///
/// # Safety
/// `params` and `grads` must be valid for `len` values, `state` for `buffers · len`, none referred
/// to elsewhere during the call.
unsafe fn buffers<'a>(
    params: *mut f32,
    grads: *const f32,
    state: *mut f32,
    len: usize,
    buffers: usize,
) -> Result<Buffers<'a>, Status> {
    let state_len = len.checked_mul(buffers).ok_or(Status::LengthMismatch)?;
    Regions::<3>::new()
        .add(params, len, true)
        .add(grads, len, false)
        .add(state, state_len, true)
        .check()?;
    // SAFETY: the caller's contract; the regions are disjoint (checked), so the `&mut` do not alias.
    unsafe {
        Ok((
            slice_mut(params, len)?,
            slice(grads, len)?,
            slice_mut(state, state_len)?,
        ))
    }
}

/// One momentum step over one tensor of `len` values (the fused kernel): weight decay
/// `weight_decay` (coupled, `F(wd·L)`), centralization over `rows` rows (0: none), unscaling by
/// `loss_scale`, then `m ← m·μ + g; w ← w − m·lr` (Nesterov: `w ← w − (g·lr + m·μ·lr)`).
///
/// # Safety
/// `params`, `grads` and `state` must each be valid for `len` floats (NULL only when `len` is 0),
/// and no other thread may use them during the call.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gradstep_kernel_momentum(
    params: *mut f32,
    grads: *const f32,
    state: *mut f32,
    len: usize,
    rows: usize,
    lr: f32,
    momentum: f64,
    nesterov: u32,
    weight_decay: f64,
    loss_scale: f64,
    backend: u32,
) -> Status {
    status(|| {
        let backend = backend_of(backend)?;
        let prep = GradPrep::new(weight_decay, loss_scale)?;
        let step = MomentumStep::new(lr, momentum, nesterov != 0, prep)?;
        // SAFETY: the caller's contract for the three buffers.
        let (w, g, m) = unsafe { buffers(params, grads, state, len, 1)? };
        let rows = NonZeroUsize::new(rows);
        Ok(kernel::momentum_on(backend, w, g, m, rows, &step)?)
    })
}

/// One `nn.SGD` step over one tensor of `len` values; `first_step` marks the optimizer's first
/// step (the momentum buffer then takes the gradient undamped).
///
/// # Safety
/// As `gradstep_kernel_momentum`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gradstep_kernel_sgd(
    params: *mut f32,
    grads: *const f32,
    state: *mut f32,
    len: usize,
    rows: usize,
    lr: f32,
    momentum: f64,
    dampening: f64,
    nesterov: u32,
    first_step: u32,
    weight_decay: f64,
    loss_scale: f64,
    backend: u32,
) -> Status {
    status(|| {
        let backend = backend_of(backend)?;
        let prep = GradPrep::new(weight_decay, loss_scale)?;
        let step =
            SgdStep::new(lr, momentum, dampening, nesterov != 0, prep)?.first_step(first_step != 0);
        // SAFETY: the caller's contract for the three buffers.
        let (w, g, a) = unsafe { buffers(params, grads, state, len, 1)? };
        let rows = NonZeroUsize::new(rows);
        Ok(kernel::sgd_on(backend, w, g, a, rows, &step)?)
    })
}

/// One `nn.Adam` step over one tensor of `len` values, with the settings' betas, `eps`, flags,
/// loss scale and `K` (not its backend: `backend` is used), the group's `lr` and `weight_decay`
/// (coupled), and the beta powers this step uses (`β^(k+1)`, each in `[0, 1)`). `state` holds
/// `m`, `v` and, with AMSGrad, `v̂`, each `len` values, one after the other.
///
/// # Safety
/// `params` and `grads` must each be valid for `len` floats, `state` for 2·`len` (3·`len` with
/// AMSGrad; NULL only when that is 0), `settings` for reading one settings struct; no other
/// thread may use them during the call.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gradstep_kernel_adam(
    params: *mut f32,
    grads: *const f32,
    state: *mut f32,
    len: usize,
    rows: usize,
    lr: f32,
    weight_decay: f64,
    beta1_power: f32,
    beta2_power: f32,
    settings: *const CAdamSettings,
    backend: u32,
) -> Status {
    status(|| {
        // SAFETY: the caller's contract for the settings (plain data, read once).
        let s = unsafe { slice(settings, 1)?[0] };
        let backend = backend_of(backend)?;
        let prep = GradPrep::new(weight_decay, s.loss_scale)?;
        let betas = Betas::new(s.beta1, s.beta2, s.eps)?;
        let threads = core::num::NonZeroU32::new(s.threads)
            .ok_or(crate::Error::NotPositive(crate::Param::Threads))?;
        let step = AdamStep::new(lr, betas, s.nesterov != 0, s.amsgrad != 0, prep)?
            .with_powers(beta1_power, beta2_power)?
            .with_threads(threads);
        let n_buffers = if step.amsgrad() { 3 } else { 2 };
        // SAFETY: the caller's contract for the three buffers.
        let (w, g, st) = unsafe { buffers(params, grads, state, len, n_buffers)? };
        let (m, rest) = st.split_at_mut(len);
        let (v, vhat) = rest.split_at_mut(len);
        let rows = NonZeroUsize::new(rows);
        Ok(kernel::adam_on(backend, w, g, m, v, vhat, rows, &step)?)
    })
}

/// One `nn.AdamWeightDecay` step over one tensor of `len` values, with the settings' betas and
/// `eps` (not its backend: `backend` is used), the group's `lr` and `weight_decay` (decoupled).
/// `state` holds `m`, then `v`, each `len` values; `rows` centralizes the gradient first (0:
/// none).
///
/// # Safety
/// As `gradstep_kernel_adam`, with 2·`len` state values.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gradstep_kernel_adamw(
    params: *mut f32,
    grads: *const f32,
    state: *mut f32,
    len: usize,
    rows: usize,
    lr: f32,
    weight_decay: f64,
    settings: *const CAdamWSettings,
    backend: u32,
) -> Status {
    status(|| {
        // SAFETY: the caller's contract for the settings (plain data, read once).
        let s = unsafe { slice(settings, 1)?[0] };
        let backend = backend_of(backend)?;
        let betas = Betas::new(s.beta1, s.beta2, s.eps)?;
        let step = AdamWStep::new(lr, betas, weight_decay)?;
        // SAFETY: the caller's contract for the three buffers.
        let (w, g, st) = unsafe { buffers(params, grads, state, len, 2)? };
        let (m, v) = st.split_at_mut(len);
        let rows = NonZeroUsize::new(rows);
        Ok(kernel::adamw_on(backend, w, g, m, v, rows, &step)?)
    })
}
