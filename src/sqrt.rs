//! Correctly rounded square roots, the same bits on every target, each in an exact way the target
//! has: the instruction on wasm32 (simd128's) and on the Cortex-M4F (`VSQRT.F32`), which `libm`
//! does not use, `libm`'s software otherwise (its `arch` feature would take x86_64's and aarch64's
//! instructions by inline assembly, which Miri cannot run; the vector kernels use the instructions
//! through their lanes, so only scalar paths and tails come here). Adam's scalar formulas take the
//! `f64` root of an `f32`; on a target without an `f64` FPU that root comes from integer
//! arithmetic here, far smaller than a general software `f64` square root and exact by
//! construction (`tests/sqrt.rs` checks it against `libm` on every exponent).

/// `sqrtf(x)`, correctly rounded.
#[inline]
pub fn sqrt_f32(x: f32) -> f32 {
    #[cfg(all(target_arch = "arm", target_os = "none", target_abi = "eabihf"))]
    {
        vsqrt_f32(x)
    }
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    {
        use core::arch::wasm32::{f32x4_extract_lane, f32x4_splat, f32x4_sqrt};
        f32x4_extract_lane::<0>(f32x4_sqrt(f32x4_splat(x)))
    }
    #[cfg(not(any(
        all(target_arch = "arm", target_os = "none", target_abi = "eabihf"),
        all(target_arch = "wasm32", target_feature = "simd128")
    )))]
    {
        libm::sqrtf(x)
    }
}

/// The Cortex-M4F's `VSQRT.F32`, through core registers as `crate::fma`'s `VFMA.F32`.
#[cfg(all(target_arch = "arm", target_os = "none", target_abi = "eabihf"))]
#[inline]
#[allow(unsafe_code)]
fn vsqrt_f32(x: f32) -> f32 {
    let r: u32;
    // SAFETY: VSQRT.F32 on the scratch FPU register s15, declared clobbered; no memory access,
    // no stack, no flags.
    unsafe {
        core::arch::asm!(
            "vmov s15, {x}",
            "vsqrt.f32 s15, s15",
            "vmov {r}, s15",
            x = in(reg) x.to_bits(),
            r = out(reg) r,
            out("s15") _,
            options(pure, nomem, nostack, preserves_flags),
        );
    }
    f32::from_bits(r)
}

/// `sqrt_d(D(x))`: the `f64` square root of an `f32`, correctly rounded.
#[inline]
pub fn sqrt_f64_of_f32(x: f32) -> f64 {
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    {
        use core::arch::wasm32::{f64x2_extract_lane, f64x2_splat, f64x2_sqrt};
        f64x2_extract_lane::<0>(f64x2_sqrt(f64x2_splat(x as f64)))
    }
    #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
    if crate::softf64::SOFT_F64 {
        sqrt_f64_of_f32_integer(x)
    } else {
        libm::sqrt(x as f64)
    }
}

/// [`sqrt_f64_of_f32`] from integer arithmetic: `x = m·2^e` with `e` even and `m` of at most 26
/// bits, the integer root of `m·2^86` (55 or 56 bits) and whether it is exact, rounded to 53 bits
/// to nearest (the dropped bits against half an ulp, an inexact root as a sticky bit; ties to
/// even). Never inlined: one copy, called only by the scalar formulas.
#[inline(never)]
pub fn sqrt_f64_of_f32_integer(x: f32) -> f64 {
    let bits = x.to_bits();
    if x.is_nan() || (bits >> 31 == 1 && x != 0.0) {
        return f64::NAN;
    }
    if x == 0.0 || x.is_infinite() {
        return x as f64; // ±0, +inf
    }
    // x = m·2^e, m < 2^24 (subnormals: the exponent of the smallest normal, no hidden bit)
    let (mut m, mut e) = match (bits >> 23) & 0xff {
        0 => (bits & 0x7f_ffff, -149i32),
        biased => ((bits & 0x7f_ffff) | 0x80_0000, biased as i32 - 150),
    };
    if e & 1 != 0 {
        m <<= 1;
        e -= 1;
    }
    // m to 24 or 25 bits by an even shift (subnormals have fewer), keeping e even
    let lead = (m.leading_zeros() as i32 - 7) & !1;
    let (m, e) = (m << lead, e - lead);
    const K: u32 = 43;
    let (root, exact) = root_of_shifted(m, K);
    // root < 2^56; keep 53 bits
    let width = 64 - root.leading_zeros();
    let shift = width - 53;
    let mut mant = root >> shift;
    let dropped = root & ((1 << shift) - 1);
    let half = 1 << (shift - 1);
    if dropped > half || (dropped == half && (!exact || mant & 1 == 1)) {
        mant += 1;
    }
    let mut exp = e / 2 - K as i32 + shift as i32;
    if mant >> 53 != 0 {
        mant >>= 1;
        exp += 1;
    }
    // mant·2^exp, mant in [2^52, 2^53): always a normal f64
    f64::from_bits((((exp + 52 + 1023) as u64) << 52) | (mant & ((1u64 << 52) - 1)))
}

/// `⌊√(m·4^k)⌋` for `m < 2^26`, and whether it is exact: digit by digit, two bits of the radicand
/// (`m`'s thirteen pairs, then `k` pairs of zeros) per bit of the root. The remainder stays below
/// twice the root, so everything fits 64 bits (a 32-bit core adds and shifts word pairs only).
fn root_of_shifted(m: u32, k: u32) -> (u64, bool) {
    let (mut root, mut rem) = (0u64, 0u64);
    for i in (0..13 + k).rev() {
        let pair = if i >= k { (m >> (2 * (i - k))) & 3 } else { 0 };
        rem = (rem << 2) | pair as u64;
        let trial = (root << 2) | 1;
        if rem >= trial {
            rem -= trial;
            root = (root << 1) | 1;
        } else {
            root <<= 1;
        }
    }
    (root, rem == 0)
}
