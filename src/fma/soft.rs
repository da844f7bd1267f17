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
//! `f64`: there is no wider type; `libm::fma` (musl's, exact) is the reference and the fallback.

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
#[inline]
pub fn fused_f64(a: f64, b: f64, c: f64) -> f64 {
    libm::fma(a, b, c)
}
