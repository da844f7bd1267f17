//! `D(x)` and the binary64 operations of Adam's scalar formulas (`docs/SEMANTICS-ADAM.md`: the
//! tail of a chunk, AdamWeightDecay's update), and those of the hyper-parameters (products,
//! reciprocals, roundings to `f32`): the FPU's where the target has `f64`, integer arithmetic
//! ([`crate::softf64`]) where it has not (the Cortex-M4F), the same bits either way.
//! On the M4F that is what keeps Adam within its flash budget: the soft-float library would add
//! about 2.3 KiB for `+`, `÷` and the conversions.

use core::ops::{Add, Div, Neg, Sub};

use crate::softf64::{self, SOFT_F64, arith};
use crate::sqrt::sqrt_f64_of_f32;

/// A binary64 value of the formulas; its operators round once, to nearest, ties to even.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct D(pub f64);

impl D {
    /// `D(x)`: the exact widening of an `f32`.
    #[inline]
    pub fn of(x: f32) -> D {
        D(if SOFT_F64 {
            arith::from_f32(x)
        } else {
            x as f64
        })
    }

    /// `sqrt_d(D(x))`, correctly rounded.
    #[inline]
    pub fn sqrt_of(x: f32) -> D {
        D(sqrt_f64_of_f32(x))
    }

    /// `F(self)`: rounded to `f32`.
    #[inline]
    pub fn to_f32(self) -> f32 {
        to_f32(self.0)
    }
}

/// `F(x)`: `x` rounded to `f32`.
#[inline]
pub(crate) fn to_f32(x: f64) -> f32 {
    if SOFT_F64 {
        softf64::to_f32(x)
    } else {
        x as f32
    }
}

/// `a·b` of finite `a, b ≥ 0` (a weight decay and a loss scale), rounded to `f64`.
#[inline]
pub(crate) fn product(a: f64, b: f64) -> f64 {
    if SOFT_F64 { softf64::mul(a, b) } else { a * b }
}

/// `1/x` of a finite `x > 0` (a loss scale), rounded to `f64`. The FPU's division takes a few
/// nanoseconds where the integer one takes about 60, and a kernel call over 4 Ki elements lasts
/// 150–270.
#[inline]
pub(crate) fn reciprocal(x: f64) -> f64 {
    if SOFT_F64 { softf64::recip(x) } else { 1.0 / x }
}

impl Add for D {
    type Output = D;
    #[inline]
    fn add(self, b: D) -> D {
        D(if SOFT_F64 {
            arith::add(self.0, b.0)
        } else {
            self.0 + b.0
        })
    }
}

impl Sub for D {
    type Output = D;
    #[inline]
    fn sub(self, b: D) -> D {
        self + -b
    }
}

impl Div for D {
    type Output = D;
    #[inline]
    fn div(self, b: D) -> D {
        D(if SOFT_F64 {
            arith::div(self.0, b.0)
        } else {
            self.0 / b.0
        })
    }
}

impl Neg for D {
    type Output = D;
    /// The sign flipped (exact, NaN included).
    #[inline]
    fn neg(self) -> D {
        D(f64::from_bits(self.0.to_bits() ^ (1 << 63)))
    }
}
