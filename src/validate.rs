//! The validation rules shared by every constructor: one place for "finite and ≥ 0", "a positive
//! count", "a buffer of the right length". `F(x)` is round-to-nearest from `f64` to `f32`.
//!
//! The `f64` predicates run on integers ([`crate::softf64`]): a Cortex-M4F has no `f64` FPU.

use crate::double;
use crate::error::{Buffer, Error, Param};
use crate::softf64;

/// `x` must be finite and at least 0 (−0 counts as 0).
pub(crate) fn non_negative(x: f64, p: Param) -> Result<f64, Error> {
    if !softf64::is_finite(x) {
        Err(Error::NotFinite(p))
    } else if softf64::is_negative(x) {
        Err(Error::Negative(p))
    } else {
        Ok(x)
    }
}

/// `x` must be finite and greater than 0.
pub(crate) fn positive(x: f64, p: Param) -> Result<f64, Error> {
    if !softf64::is_finite(x) {
        Err(Error::NotFinite(p))
    } else if !softf64::is_positive(x) {
        Err(Error::NotPositive(p))
    } else {
        Ok(x)
    }
}

/// `F(x)`, rejected when the rounding overflows to infinity.
pub(crate) fn round_f32(x: f64, p: Param) -> Result<f32, Error> {
    let r = double::to_f32(x);
    if r.to_bits() & 0x7fff_ffff < 0x7f80_0000 {
        Ok(r)
    } else {
        Err(Error::NotFinite(p))
    }
}

/// `F(x)` of a finite `x ≥ 0`.
pub(crate) fn non_negative_f32(x: f64, p: Param) -> Result<f32, Error> {
    round_f32(non_negative(x, p)?, p)
}

/// `F(x)` of a finite `x > 0`.
pub(crate) fn positive_f32(x: f64, p: Param) -> Result<f32, Error> {
    round_f32(positive(x, p)?, p)
}

/// `F(x)` of an `x` strictly between 0 and 1 whose `F(x)` is too (Adam's betas: an `F(β)` of 1
/// would make the bias correction divide by zero).
pub(crate) fn open_unit_f32(x: f64, p: Param) -> Result<f32, Error> {
    let r = double::to_f32(x);
    if softf64::is_positive(x) && r < 1.0 {
        Ok(r)
    } else {
        Err(Error::OutOfRange(p))
    }
}

/// An `f32` learning rate must be finite and at least 0 (`docs/DESIGN.md`, divergence 4).
pub(crate) fn learning_rate(lr: f32) -> Result<f32, Error> {
    // on the bits: two integer compares, where a Cortex-M4F spends a dozen instructions on the
    // float tests (this runs at every step)
    let bits = lr.to_bits();
    if bits & 0x7fff_ffff >= 0x7f80_0000 {
        Err(Error::NotFinite(Param::LearningRate))
    } else if bits > 0x8000_0000 {
        Err(Error::Negative(Param::LearningRate))
    } else {
        Ok(lr)
    }
}

/// A step count that must be positive (MindSpore's `check_positive_int`).
pub(crate) fn count(n: u32, p: Param) -> Result<u32, Error> {
    if n == 0 {
        Err(Error::NotPositive(p))
    } else {
        Ok(n)
    }
}

/// A buffer must have exactly the length `expected`.
pub(crate) fn length(buffer: Buffer, expected: usize, actual: usize) -> Result<(), Error> {
    if expected == actual {
        Ok(())
    } else {
        Err(Error::LengthMismatch {
            buffer,
            expected,
            actual,
        })
    }
}
