//! Exact fused multiply-add in software, for targets and backends without the instruction.
//!
//! `f32`: the product of two `f32` is exact in `f64` (48 significant bits, and no `f32` product
//! over- or underflows `f64`); the sum with `c` is rounded once in `f64`, and rounded again to
//! `f32`. Two roundings are wrong only when the first one lands on a tie of the second; rounding
//! the `f64` sum *to odd* instead (its error is exact by TwoSum: when it is not zero and the last
//! bit is even, step one unit toward the exact value) makes the second rounding the correct one
//! (Boldo & Melquiond, "Emulation of FMA and correctly rounded sums: proved algorithms using
//! rounding to odd", IEEE TC 2008: 53 ≥ 24 + 2 bits; a subnormal `f32` result has fewer bits still).
//! Every step is a lane operation, so the same holds for vectors of `f64`.
//!
//! `f64`: there is no wider type. The product of the significands is exact in 128 bits
//! (`crate::softf64`'s 32-bit multiplies), and the sum with `c` is `softf64::arith::sum`, rounded
//! once; IEEE 754's special cases first. Integer arithmetic only: on a Cortex-M4F, whose FPU has
//! no `f64`, this is all of AdamWeightDecay's double-precision multiply-add.

use crate::softf64::arith::{TOP, Wide, sum};
use crate::softf64::{mul_wide, unpack};

/// `a·b + c` rounded once to `f32`, from `f64` arithmetic alone.
#[inline]
pub fn fused_f32(a: f32, b: f32, c: f32) -> f32 {
    let p = a as f64 * b as f64; // exact
    let c = c as f64;
    let s = p + c;
    // TwoSum: the exact error of `s`, when `s` is finite
    let bb = s - p;
    let e = (p - (s - bb)) + (c - bb);
    let bits = s.to_bits();
    let odd = if e != 0.0 && bits & 1 == 0 && s.is_finite() {
        // one unit toward the exact value: away from zero when the error has the sign of `s`
        if (e > 0.0) == (s > 0.0) {
            bits + 1
        } else {
            bits - 1
        }
    } else {
        bits
    };
    f64::from_bits(odd) as f32
}

/// `a·b + c` rounded once to `f64`.
pub fn fused_f64(a: f64, b: f64, c: f64) -> f64 {
    const SIGN: u64 = 1 << 63;
    const INF: u64 = 0x7ff0_0000_0000_0000;
    let (ab, bb, cb) = (a.to_bits(), b.to_bits(), c.to_bits());
    let (am, bm, cm) = (ab & !SIGN, bb & !SIGN, cb & !SIGN);
    let product_sign = (ab ^ bb) & SIGN;
    if am > INF || bm > INF || cm > INF {
        return f64::NAN;
    }
    if am == INF || bm == INF {
        // ∞·0, or ∞ against an ∞ of the other sign, is NaN; else the product's ∞
        let invalid = am == 0 || bm == 0 || (cm == INF && cb & SIGN != product_sign);
        return if invalid {
            f64::NAN
        } else {
            f64::from_bits(product_sign | INF)
        };
    }
    if cm == INF {
        return c;
    }
    if am == 0 || bm == 0 {
        // a zero product: c, or a zero that is −0 only when both zeros are
        return if cm == 0 {
            f64::from_bits(product_sign & cb)
        } else {
            c
        };
    }
    let (sa, ea) = unpack(am);
    let (sb, eb) = unpack(bm);
    let (hi, lo) = mul_wide(sa, sb); // in [2^126, 2^128), 22 zero bits at the bottom
    let p = (hi as u128) << 64 | lo as u128;
    let shift = 127 - p.leading_zeros() - TOP; // to put the top bit at TOP
    let product = Wide {
        negative: product_sign != 0,
        sig: p >> shift,
        exp: ea + eb + shift as i32,
    };
    if cm == 0 {
        return product.round();
    }
    sum(product, Wide::of(cb))
}
