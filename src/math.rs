//! Single-precision `pow` with the bits of glibc's `powf`, on every target.
//!
//! MindSpore's CPU `Pow` kernel calls glibc's `powf`, so the schedules that use it
//! (`ExponentialDecayLR`, `NaturalExpDecayLR`, `PolynomialDecayLR`) are only bit-exact with that
//! function's results. `libm::powf` (an older algorithm) differs from it by one ulp on about 9.5% of
//! schedule-like inputs. This is the algorithm glibc (since 2.28) and musl use, written by Szabolcs
//! Nagy for Arm's optimized-routines: `log2(x)` from a 16-entry table and a degree-5 polynomial,
//! `2^(y·log2 x)` from a 32-entry table and a degree-3 polynomial, all in `f64`, with the special
//! cases of C99 Annex F. Every `f64` operation is a plain one, never fused: the same bits on every
//! target, and the bits of glibc's generic build (glibc's FMA build fuses nine multiply-adds and
//! differs on about 1.5 in 10⁸ inputs by one ulp).
//!
//! The tables and polynomial coefficients are the published ones (Copyright (c) 2017-2018, Arm
//! Limited, MIT license); `tests/powf_glibc.rs` checks the whole function against the host's
//! glibc on ten million inputs.

/// `log2` table: 16 subintervals of `[OFF, 2·OFF]`, each with `1/c` and `log2(c)` for a `c` near
/// its centre, chosen so that `z/c − 1` is exact.
const LOG2_TABLE: [(f64, f64); 16] = [
    (
        f64::from_bits(0x3ff661ec79f8f3be),
        f64::from_bits(0xbfdefec65b963019),
    ),
    (
        f64::from_bits(0x3ff571ed4aaf883d),
        f64::from_bits(0xbfdb0b6832d4fca4),
    ),
    (
        f64::from_bits(0x3ff49539f0f010b0),
        f64::from_bits(0xbfd7418b0a1fb77b),
    ),
    (
        f64::from_bits(0x3ff3c995b0b80385),
        f64::from_bits(0xbfd39de91a6dcf7b),
    ),
    (
        f64::from_bits(0x3ff30d190c8864a5),
        f64::from_bits(0xbfd01d9bf3f2b631),
    ),
    (
        f64::from_bits(0x3ff25e227b0b8ea0),
        f64::from_bits(0xbfc97c1d1b3b7af0),
    ),
    (
        f64::from_bits(0x3ff1bb4a4a1a343f),
        f64::from_bits(0xbfc2f9e393af3c9f),
    ),
    (
        f64::from_bits(0x3ff12358f08ae5ba),
        f64::from_bits(0xbfb960cbbf788d5c),
    ),
    (
        f64::from_bits(0x3ff0953f419900a7),
        f64::from_bits(0xbfaa6f9db6475fce),
    ),
    (1.0, 0.0),
    (
        f64::from_bits(0x3fee608cfd9a47ac),
        f64::from_bits(0x3fb338ca9f24f53d),
    ),
    (
        f64::from_bits(0x3feca4b31f026aa0),
        f64::from_bits(0x3fc476a9543891ba),
    ),
    (
        f64::from_bits(0x3feb2036576afce6),
        f64::from_bits(0x3fce840b4ac4e4d2),
    ),
    (
        f64::from_bits(0x3fe9c2d163a1aa2d),
        f64::from_bits(0x3fd40645f0c6651c),
    ),
    (
        f64::from_bits(0x3fe886e6037841ed),
        f64::from_bits(0x3fd88e9c2c1b9ff8),
    ),
    (
        f64::from_bits(0x3fe767dcf5534862),
        f64::from_bits(0x3fdce0a44eb17bcc),
    ),
];

/// `log2(1 + r) ≈ A0·r⁵ + A1·r⁴ + A2·r³ + A3·r² + A4·r`.
const LOG2_POLY: [f64; 5] = [
    f64::from_bits(0x3fd27616c9496e0b),
    f64::from_bits(0xbfd71969a075c67a),
    f64::from_bits(0x3fdec70a6ca7badd),
    f64::from_bits(0xbfe7154748bef6c8),
    f64::from_bits(0x3ff71547652ab82b),
];

/// `exp2` table: the bits of `2^(i/32)` minus `i << 47`, so that adding `k << 47` gives
/// `2^(k/32)` for any integer `k`.
const EXP2_TABLE: [u64; 32] = [
    0x3ff0000000000000,
    0x3fefd9b0d3158574,
    0x3fefb5586cf9890f,
    0x3fef9301d0125b51,
    0x3fef72b83c7d517b,
    0x3fef54873168b9aa,
    0x3fef387a6e756238,
    0x3fef1e9df51fdee1,
    0x3fef06fe0a31b715,
    0x3feef1a7373aa9cb,
    0x3feedea64c123422,
    0x3feece086061892d,
    0x3feebfdad5362a27,
    0x3feeb42b569d4f82,
    0x3feeab07dd485429,
    0x3feea47eb03a5585,
    0x3feea09e667f3bcd,
    0x3fee9f75e8ec5f74,
    0x3feea11473eb0187,
    0x3feea589994cce13,
    0x3feeace5422aa0db,
    0x3feeb737b0cdc5e5,
    0x3feec49182a3f090,
    0x3feed503b23e255d,
    0x3feee89f995ad3ad,
    0x3feeff76f2fb5e47,
    0x3fef199bdd85529c,
    0x3fef3720dcef9069,
    0x3fef5818dcfba487,
    0x3fef7c97337b9b5f,
    0x3fefa4afa2a490da,
    0x3fefd0765b6e4540,
];

/// `2^r ≈ C0·r³ + C1·r² + C2·r + 1` for `|r| ≤ 1/64`.
const EXP2_POLY: [f64; 3] = [
    f64::from_bits(0x3fac6af84b912394),
    f64::from_bits(0x3fcebfce50fac4f3),
    f64::from_bits(0x3fe62e42ff0c52d6),
];

/// The bits of `0x1.66p-1`: the lower end of the range `[OFF, 2·OFF]` that `log2` reduces to.
const OFF: u32 = 0x3f33_0000;
/// Added to `y·log2 x` to round it to a multiple of 1/32: `0x1.8p52 / 32`.
const SHIFT: f64 = f64::from_bits(0x42e8_0000_0000_0000);
/// Added to the exponent bits of the result to make it negative (an odd power of a negative x).
const SIGN_BIAS: u64 = 1 << (5 + 11);

/// `log2` of the bits of a positive normal `f32`, or of a subnormal one normalized so that its
/// biased exponent is negative.
fn log2(ix: u32) -> f64 {
    let tmp = ix.wrapping_sub(OFF);
    let i = ((tmp >> 19) % 16) as usize;
    let top = tmp & 0xff80_0000;
    let iz = ix.wrapping_sub(top);
    let k = (top as i32 >> 23) as f64;
    let (invc, logc) = LOG2_TABLE[i];
    let z = f32::from_bits(iz) as f64;

    // log2(x) = log1p(z/c − 1)/ln 2 + log2(c) + k
    let r = z * invc - 1.0;
    let y0 = logc + k;
    let a = &LOG2_POLY;
    let r2 = r * r;
    let y = a[0] * r + a[1];
    let p = a[2] * r + a[3];
    let r4 = r2 * r2;
    let q = a[4] * r + y0;
    let q = p * r2 + q;
    y * r4 + q
}

/// `2^xd` rounded to `f32`, for `xd` in `[−150, 128)`; `sign_bias` makes the result negative.
fn exp2(xd: f64, sign_bias: u64) -> f32 {
    // xd = k/32 + r with |r| ≤ 1/64
    let kd = xd + SHIFT;
    let ki = kd.to_bits();
    let kd = kd - SHIFT;
    let r = xd - kd;

    // 2^xd = 2^(k/32) · 2^r
    let t = EXP2_TABLE[(ki % 32) as usize].wrapping_add(ki.wrapping_add(sign_bias) << 47);
    let s = f64::from_bits(t);
    let c = &EXP2_POLY;
    let z = c[0] * r + c[1];
    let r2 = r * r;
    let y = c[2] * r + 1.0;
    let y = z * r2 + y;
    (y * s) as f32
}

/// Whether the bits of a non-zero finite `y` are an integer: `Odd`, `Even` or not at all.
#[derive(PartialEq)]
enum Integer {
    No,
    Odd,
    Even,
}

fn integer(iy: u32) -> Integer {
    let e = (iy >> 23 & 0xff) as i32;
    if e < 0x7f {
        return Integer::No;
    }
    if e > 0x7f + 23 {
        return Integer::Even;
    }
    let unit = 1u32 << (0x7f + 23 - e);
    if iy & (unit - 1) != 0 {
        Integer::No
    } else if iy & unit != 0 {
        Integer::Odd
    } else {
        Integer::Even
    }
}

/// Zero, infinity or NaN, from the bits.
fn zero_inf_nan(ix: u32) -> bool {
    (ix << 1).wrapping_sub(1) >= (0x7f80_0000 << 1) - 1
}

fn signaling(x: f32) -> bool {
    let ix = x.to_bits();
    (ix & 0x7fc0_0000) == 0x7f80_0000 && (ix & 0x003f_ffff) != 0
}

/// `x` to the power `y`, with the bits of glibc's (unfused) `powf`.
pub fn powf(x: f32, y: f32) -> f32 {
    let mut sign_bias = 0;
    let mut ix = x.to_bits();
    let iy = y.to_bits();
    if ix.wrapping_sub(0x0080_0000) >= 0x7f80_0000 - 0x0080_0000 || zero_inf_nan(iy) {
        // x is below 2^-126, infinite or NaN, or y is zero, infinite or NaN.
        if zero_inf_nan(iy) {
            // `<< 1` drops the sign bit
            if iy << 1 == 0 {
                return if signaling(x) { x + y } else { 1.0 };
            }
            if ix == 0x3f80_0000 {
                return if signaling(y) { x + y } else { 1.0 };
            }
            if ix << 1 > 0x7f80_0000 << 1 || iy << 1 > 0x7f80_0000 << 1 {
                return x + y;
            }
            if ix << 1 == 0x3f80_0000 << 1 {
                return 1.0;
            }
            // |x| < 1 with y = +inf, or |x| > 1 with y = −inf
            if (ix << 1 < 0x3f80_0000 << 1) == (iy & 0x8000_0000 == 0) {
                return 0.0;
            }
            return y * y;
        }
        if zero_inf_nan(ix) {
            let mut x2 = x * x;
            if ix & 0x8000_0000 != 0 && integer(iy) == Integer::Odd {
                x2 = -x2;
            }
            return if iy & 0x8000_0000 != 0 { 1.0 / x2 } else { x2 };
        }
        // x and y are non-zero and finite.
        if ix & 0x8000_0000 != 0 {
            match integer(iy) {
                Integer::No => return invalid(x),
                Integer::Odd => sign_bias = SIGN_BIAS,
                Integer::Even => {}
            }
            ix &= 0x7fff_ffff;
        }
        if ix < 0x0080_0000 {
            // Normalize a subnormal x so that its exponent becomes negative.
            ix = (x * f32::from_bits(0x4b00_0000)).to_bits(); // x · 2^23
            ix &= 0x7fff_ffff;
            ix = ix.wrapping_sub(23 << 23);
        }
    }
    let ylogx = y as f64 * log2(ix);
    if (ylogx.to_bits() >> 47 & 0xffff) >= 126.0f64.to_bits() >> 47 {
        // |y · log2 x| ≥ 126
        if ylogx > f64::from_bits(0x405f_ffff_ffd1_d571) {
            return overflow(sign_bias);
        }
        if ylogx <= -150.0 {
            return underflow(sign_bias);
        }
    }
    exp2(ylogx, sign_bias)
}

/// NaN as glibc computes it for a negative base and a non-integer exponent: `(x − x)/(x − x)`,
/// which gives the hardware's default NaN (and raises the invalid flag).
#[allow(clippy::eq_op)]
fn invalid(x: f32) -> f32 {
    (x - x) / (x - x)
}

/// ±∞ as glibc computes it: ±2^97 · 2^97, which also raises the overflow flag.
fn overflow(sign_bias: u64) -> f32 {
    let big = f32::from_bits(0x7000_0000);
    if sign_bias != 0 {
        -big * big
    } else {
        big * big
    }
}

/// ±0 as glibc computes it: ±2^−95 · 2^−95, which also raises the underflow flag.
fn underflow(sign_bias: u64) -> f32 {
    let tiny = f32::from_bits(0x1000_0000);
    if sign_bias != 0 {
        -tiny * tiny
    } else {
        tiny * tiny
    }
}
