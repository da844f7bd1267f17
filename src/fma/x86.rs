//! The fused operations of the x86_64 lane types (`crate::kernel::x86`): `vfmadd` on eight
//! (AVX2 + FMA3) or sixteen (AVX-512F) `f32` lanes, and AdamWeightDecay's `f64` update on four or
//! eight `f64` lanes at a time.
//!
//! Safety: `Avx2` values exist only inside the functions of `crate::kernel::x86` compiled with AVX2
//! and FMA3, entered after asking the CPU for both. `Avx512` values exist only inside functions
//! compiled with AVX-512F, which includes the fused multiply-add.

use core::arch::x86_64::{
    __m256, __m256d, __m512, __m512d, _mm256_add_pd, _mm256_castpd_ps, _mm256_castps_pd,
    _mm256_castps256_ps128, _mm256_cvtpd_ps, _mm256_cvtps_pd, _mm256_div_pd, _mm256_extractf128_ps,
    _mm256_fmadd_pd, _mm256_fmadd_ps, _mm256_mul_ps, _mm256_set_m128, _mm256_set1_pd,
    _mm256_set1_ps, _mm256_sqrt_pd, _mm256_xor_pd, _mm512_add_pd, _mm512_castpd_ps,
    _mm512_castpd_si512, _mm512_castps_pd, _mm512_castps256_ps512, _mm512_castps512_ps256,
    _mm512_castsi512_pd, _mm512_cvtpd_ps, _mm512_cvtps_pd, _mm512_div_pd, _mm512_extractf64x4_pd,
    _mm512_fmadd_pd, _mm512_fmadd_ps, _mm512_insertf64x4, _mm512_mul_ps, _mm512_set1_epi64,
    _mm512_set1_pd, _mm512_set1_ps, _mm512_sqrt_pd, _mm512_xor_si512,
};

use super::Fused;
use crate::kernel::x86::{Avx2, Avx512};

/// AdamWeightDecay's update on four `f64` lanes: `fma_d(−u, lr, w)` with
/// `u = m ÷ (sqrt(v) + eps) + wd`, each operand the exact widening of an `f32`.
///
/// # Safety
/// The CPU must have AVX and FMA.
#[inline(always)]
unsafe fn adamw_pd256(
    w: __m256d,
    m: __m256d,
    v: __m256d,
    wd: __m256d,
    eps: f32,
    lr: f32,
) -> __m256d {
    // SAFETY: the caller's CPU has AVX and FMA
    unsafe {
        let den = _mm256_add_pd(_mm256_sqrt_pd(v), _mm256_set1_pd(eps as f64));
        let u = _mm256_add_pd(_mm256_div_pd(m, den), wd);
        // `−u` by its sign bit, as the scalar `-u` (`0 − u` would give +0 for u = +0)
        let neg_u = _mm256_xor_pd(u, _mm256_set1_pd(-0.0));
        _mm256_fmadd_pd(neg_u, _mm256_set1_pd(lr as f64), w)
    }
}

impl Fused<8> for Avx2 {
    #[inline(always)]
    fn fused(a: Self, b: Self, c: Self) -> Self {
        // SAFETY: see the module's safety note: the caller is compiled with AVX2 and FMA
        Avx2(unsafe { _mm256_fmadd_ps(a.0, b.0, c.0) })
    }

    #[inline(always)]
    fn adamw_params(w: Self, m: Self, v: Self, decay: f32, eps: f32, lr: f32) -> Self {
        // SAFETY: as above
        unsafe {
            let wd = _mm256_mul_ps(w.0, _mm256_set1_ps(decay));
            let lo = |x: __m256| _mm256_cvtps_pd(_mm256_castps256_ps128(x));
            let hi = |x: __m256| _mm256_cvtps_pd(_mm256_extractf128_ps::<1>(x));
            let r_lo = adamw_pd256(lo(w.0), lo(m.0), lo(v.0), lo(wd), eps, lr);
            let r_hi = adamw_pd256(hi(w.0), hi(m.0), hi(v.0), hi(wd), eps, lr);
            Avx2(_mm256_set_m128(
                _mm256_cvtpd_ps(r_hi),
                _mm256_cvtpd_ps(r_lo),
            ))
        }
    }
}

/// [`adamw_pd256`] on eight `f64` lanes.
///
/// # Safety
/// The CPU must have AVX-512F.
#[inline(always)]
unsafe fn adamw_pd512(
    w: __m512d,
    m: __m512d,
    v: __m512d,
    wd: __m512d,
    eps: f32,
    lr: f32,
) -> __m512d {
    // SAFETY: the caller's CPU has AVX-512F
    unsafe {
        let den = _mm512_add_pd(_mm512_sqrt_pd(v), _mm512_set1_pd(eps as f64));
        let u = _mm512_add_pd(_mm512_div_pd(m, den), wd);
        // `−u` by its sign bit, on the integers (`_mm512_xor_pd` needs AVX-512DQ)
        let sign = _mm512_set1_epi64(i64::MIN);
        let neg_u = _mm512_castsi512_pd(_mm512_xor_si512(_mm512_castpd_si512(u), sign));
        _mm512_fmadd_pd(neg_u, _mm512_set1_pd(lr as f64), w)
    }
}

impl Fused<16> for Avx512 {
    #[inline(always)]
    fn fused(a: Self, b: Self, c: Self) -> Self {
        // SAFETY: see the module's safety note: the caller is compiled with AVX-512F
        Avx512(unsafe { _mm512_fmadd_ps(a.0, b.0, c.0) })
    }

    #[inline(always)]
    fn adamw_params(w: Self, m: Self, v: Self, decay: f32, eps: f32, lr: f32) -> Self {
        // SAFETY: as above; only AVX-512F operations (the halves moved as `f64` quads)
        unsafe {
            let wd = _mm512_mul_ps(w.0, _mm512_set1_ps(decay));
            let lo = |x: __m512| _mm512_cvtps_pd(_mm512_castps512_ps256(x));
            let hi = |x: __m512| {
                _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd::<1>(
                    _mm512_castps_pd(x),
                )))
            };
            let r_lo = _mm512_cvtpd_ps(adamw_pd512(lo(w.0), lo(m.0), lo(v.0), lo(wd), eps, lr));
            let r_hi = _mm512_cvtpd_ps(adamw_pd512(hi(w.0), hi(m.0), hi(v.0), hi(wd), eps, lr));
            let joined = _mm512_insertf64x4::<1>(
                _mm512_castps_pd(_mm512_castps256_ps512(r_lo)),
                _mm256_castps_pd(r_hi),
            );
            Avx512(_mm512_castpd_ps(joined))
        }
    }
}
