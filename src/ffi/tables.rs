//! MindSpore's `dynamic_lr` functions, filling the caller's table.

use super::ptr::{Regions, put, slice, slice_mut};
use super::status::{Status, status};
use crate::error::Error;
use crate::lr::dynamic::{self, DynamicLr};

/// Fills `out` (`out_len` floats, which must be the table's length) from `table`.
///
/// # Safety
/// `out` must be valid for `out_len` writes.
unsafe fn fill(table: Result<impl DynamicLr, Error>, out: *mut f32, out_len: usize) -> Status {
    status(|| {
        let table = table?;
        // SAFETY: the caller's contract.
        let out = unsafe { slice_mut(out, out_len)? };
        Ok(table.fill(out)?)
    })
}

/// The length of `piecewise_constant_lr`'s table (its last milestone), into `*out_len`.
///
/// # Safety
/// `milestones` and `learning_rates` must be valid for `n_milestones` and `n_learning_rates`
/// reads (NULL only for 0), `out_len` for one write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gradstep_piecewise_constant_len(
    milestones: *const u32,
    n_milestones: usize,
    learning_rates: *const f64,
    n_learning_rates: usize,
    out_len: *mut usize,
) -> Status {
    status(|| {
        Regions::<3>::new()
            .add(milestones, n_milestones, false)
            .add(learning_rates, n_learning_rates, false)
            .add(out_len, 1, true)
            .check()?;
        // SAFETY: the caller's contract for both arrays and the out-parameter, which do not
        // overlap (checked).
        unsafe {
            let (m, l) = (
                slice(milestones, n_milestones)?,
                slice(learning_rates, n_learning_rates)?,
            );
            put(out_len, dynamic::piecewise_constant_len(m, l)?)
        }
    })
}

/// MindSpore's `piecewise_constant_lr` into `out`.
///
/// # Safety
/// The arrays as in `gradstep_piecewise_constant_len`; `out` valid for `out_len` writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gradstep_piecewise_constant_lr(
    milestones: *const u32,
    n_milestones: usize,
    learning_rates: *const f64,
    n_learning_rates: usize,
    out: *mut f32,
    out_len: usize,
) -> Status {
    status(|| {
        Regions::<3>::new()
            .add(milestones, n_milestones, false)
            .add(learning_rates, n_learning_rates, false)
            .add(out, out_len, true)
            .check()?;
        // SAFETY: the caller's contract for the arrays and `out`, which do not overlap (checked).
        unsafe {
            let (m, l) = (
                slice(milestones, n_milestones)?,
                slice(learning_rates, n_learning_rates)?,
            );
            fill(dynamic::PiecewiseConstantTable::new(m, l), out, out_len).into()
        }
    })
}

/// MindSpore's `exponential_decay_lr` into `out` (`total_step` floats).
///
/// # Safety
/// `out` must be valid for `out_len` writes (NULL only when `out_len` is 0).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gradstep_exponential_decay_lr(
    learning_rate: f64,
    decay_rate: f64,
    total_step: u32,
    step_per_epoch: u32,
    decay_epoch: u32,
    is_stair: u32,
    out: *mut f32,
    out_len: usize,
) -> Status {
    let t = dynamic::ExponentialDecayTable::new(
        learning_rate,
        decay_rate,
        total_step,
        step_per_epoch,
        decay_epoch,
        is_stair != 0,
    );
    // SAFETY: the caller's contract for `out`.
    unsafe { fill(t, out, out_len) }
}

/// MindSpore's `natural_exp_decay_lr` into `out` (`total_step` floats).
///
/// # Safety
/// `out` must be valid for `out_len` writes (NULL only when `out_len` is 0).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gradstep_natural_exp_decay_lr(
    learning_rate: f64,
    decay_rate: f64,
    total_step: u32,
    step_per_epoch: u32,
    decay_epoch: u32,
    is_stair: u32,
    out: *mut f32,
    out_len: usize,
) -> Status {
    let t = dynamic::NaturalExpDecayTable::new(
        learning_rate,
        decay_rate,
        total_step,
        step_per_epoch,
        decay_epoch,
        is_stair != 0,
    );
    // SAFETY: the caller's contract for `out`.
    unsafe { fill(t, out, out_len) }
}

/// MindSpore's `inverse_decay_lr` into `out` (`total_step` floats).
///
/// # Safety
/// `out` must be valid for `out_len` writes (NULL only when `out_len` is 0).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gradstep_inverse_decay_lr(
    learning_rate: f64,
    decay_rate: f64,
    total_step: u32,
    step_per_epoch: u32,
    decay_epoch: u32,
    is_stair: u32,
    out: *mut f32,
    out_len: usize,
) -> Status {
    let t = dynamic::InverseDecayTable::new(
        learning_rate,
        decay_rate,
        total_step,
        step_per_epoch,
        decay_epoch,
        is_stair != 0,
    );
    // SAFETY: the caller's contract for `out`.
    unsafe { fill(t, out, out_len) }
}

/// MindSpore's `cosine_decay_lr` into `out` (`total_step` floats).
///
/// # Safety
/// `out` must be valid for `out_len` writes (NULL only when `out_len` is 0).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gradstep_cosine_decay_lr(
    min_lr: f64,
    max_lr: f64,
    total_step: u32,
    step_per_epoch: u32,
    decay_epoch: u32,
    out: *mut f32,
    out_len: usize,
) -> Status {
    let t = dynamic::CosineDecayTable::new(min_lr, max_lr, total_step, step_per_epoch, decay_epoch);
    // SAFETY: the caller's contract for `out`.
    unsafe { fill(t, out, out_len) }
}

/// MindSpore's `polynomial_decay_lr` into `out` (`total_step` floats).
///
/// # Safety
/// `out` must be valid for `out_len` writes (NULL only when `out_len` is 0).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gradstep_polynomial_decay_lr(
    learning_rate: f64,
    end_learning_rate: f64,
    total_step: u32,
    step_per_epoch: u32,
    decay_epoch: u32,
    power: f64,
    update_decay_epoch: u32,
    out: *mut f32,
    out_len: usize,
) -> Status {
    let t = dynamic::PolynomialDecayTable::new(
        learning_rate,
        end_learning_rate,
        total_step,
        step_per_epoch,
        decay_epoch,
        power,
        update_decay_epoch != 0,
    );
    // SAFETY: the caller's contract for `out`.
    unsafe { fill(t, out, out_len) }
}

/// MindSpore's `warmup_lr` into `out` (`total_step` floats).
///
/// # Safety
/// `out` must be valid for `out_len` writes (NULL only when `out_len` is 0).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gradstep_warmup_lr(
    learning_rate: f64,
    total_step: u32,
    step_per_epoch: u32,
    warmup_epoch: u32,
    out: *mut f32,
    out_len: usize,
) -> Status {
    let t = dynamic::WarmupTable::new(learning_rate, total_step, step_per_epoch, warmup_epoch);
    // SAFETY: the caller's contract for `out`.
    unsafe { fill(t, out, out_len) }
}
