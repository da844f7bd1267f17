//! The x86_64 backends chosen at run time: AVX2 (8 lanes) and AVX-512 (16 lanes).
//!
//! `wide` picks its backend when it is compiled, so a default build of it only knows SSE2
//! (wide#146). These two lane types wrap `core::arch` directly and are used only inside the
//! `#[target_feature]` functions of this module. Those are called only from the safe entry points
//! below, each of which asks the CPU first (a cached answer) and returns `false`, having done
//! nothing, when it lacks the feature: the safety argument lives in this file alone.

#![allow(unsafe_code)]

use core::arch::x86_64::{
    __m256, __m512, _CMP_LT_OQ, _mm256_add_ps, _mm256_blendv_ps, _mm256_cmp_ps, _mm256_div_ps,
    _mm256_loadu_ps, _mm256_mul_ps, _mm256_set1_ps, _mm256_sqrt_ps, _mm256_storeu_ps,
    _mm256_sub_ps, _mm256_xor_ps, _mm512_add_ps, _mm512_castps_si512, _mm512_castsi512_ps,
    _mm512_cmp_ps_mask, _mm512_div_ps, _mm512_loadu_ps, _mm512_mask_blend_ps, _mm512_mul_ps,
    _mm512_set1_epi32, _mm512_set1_ps, _mm512_sqrt_ps, _mm512_storeu_ps, _mm512_sub_ps,
    _mm512_xor_si512,
};

use super::adam::{self, AdamConsts, AdamWConsts};
use super::fused::{self, Consts, Dynamic, specialize, specialize_plain};
use super::lanes::Lanes;
use crate::reference::Rows;

/// Eight lanes in one AVX register. Only the bodies below construct it, each compiled with AVX2
/// and FMA3 (its fused multiply-add is in `crate::fma::x86`).
#[derive(Clone, Copy)]
pub(crate) struct Avx2(pub(crate) __m256);

// SAFETY (every `unsafe` block in this impl): the intrinsics need AVX2. `Avx2` is only used inside
// functions compiled with `#[target_feature(enable = "avx2,fma")]`, which are only called once the
// CPU is known to have AVX2 and FMA3; the pointers come from `&[f32; 8]` arrays, valid for 8
// unaligned reads or writes.
impl Lanes<8> for Avx2 {
    #[inline(always)]
    fn splat(x: f32) -> Self {
        Avx2(unsafe { _mm256_set1_ps(x) })
    }
    #[inline(always)]
    fn load(a: &[f32; 8]) -> Self {
        Avx2(unsafe { _mm256_loadu_ps(a.as_ptr()) })
    }
    #[inline(always)]
    fn store(self, a: &mut [f32; 8]) {
        unsafe { _mm256_storeu_ps(a.as_mut_ptr(), self.0) }
    }
    #[inline(always)]
    fn add(self, b: Self) -> Self {
        Avx2(unsafe { _mm256_add_ps(self.0, b.0) })
    }
    #[inline(always)]
    fn sub(self, b: Self) -> Self {
        Avx2(unsafe { _mm256_sub_ps(self.0, b.0) })
    }
    #[inline(always)]
    fn mul(self, b: Self) -> Self {
        Avx2(unsafe { _mm256_mul_ps(self.0, b.0) })
    }
    #[inline(always)]
    fn div(self, b: Self) -> Self {
        Avx2(unsafe { _mm256_div_ps(self.0, b.0) })
    }
    #[inline(always)]
    fn sqrt(self) -> Self {
        Avx2(unsafe { _mm256_sqrt_ps(self.0) })
    }
    #[inline(always)]
    fn neg(self) -> Self {
        Avx2(unsafe { _mm256_xor_ps(self.0, _mm256_set1_ps(-0.0)) })
    }
    #[inline(always)]
    fn max_of(self, b: Self) -> Self {
        // `b` where `self < b` (ordered, quiet), else `self`
        Avx2(unsafe { _mm256_blendv_ps(self.0, b.0, _mm256_cmp_ps::<_CMP_LT_OQ>(self.0, b.0)) })
    }
}

/// Sixteen lanes in one AVX-512 register. Only the `avx512` functions below use it (AVX-512F
/// includes FMA).
#[derive(Clone, Copy)]
pub(crate) struct Avx512(pub(crate) __m512);

// SAFETY (every `unsafe` block in this impl): as for `Avx2`, with AVX-512F and `&[f32; 16]`.
impl Lanes<16> for Avx512 {
    #[inline(always)]
    fn splat(x: f32) -> Self {
        Avx512(unsafe { _mm512_set1_ps(x) })
    }
    #[inline(always)]
    fn load(a: &[f32; 16]) -> Self {
        Avx512(unsafe { _mm512_loadu_ps(a.as_ptr()) })
    }
    #[inline(always)]
    fn store(self, a: &mut [f32; 16]) {
        unsafe { _mm512_storeu_ps(a.as_mut_ptr(), self.0) }
    }
    #[inline(always)]
    fn add(self, b: Self) -> Self {
        Avx512(unsafe { _mm512_add_ps(self.0, b.0) })
    }
    #[inline(always)]
    fn sub(self, b: Self) -> Self {
        Avx512(unsafe { _mm512_sub_ps(self.0, b.0) })
    }
    #[inline(always)]
    fn mul(self, b: Self) -> Self {
        Avx512(unsafe { _mm512_mul_ps(self.0, b.0) })
    }
    #[inline(always)]
    fn div(self, b: Self) -> Self {
        Avx512(unsafe { _mm512_div_ps(self.0, b.0) })
    }
    #[inline(always)]
    fn sqrt(self) -> Self {
        Avx512(unsafe { _mm512_sqrt_ps(self.0) })
    }
    #[inline(always)]
    fn neg(self) -> Self {
        // on the integers: `_mm512_xor_ps` needs AVX-512DQ
        Avx512(unsafe {
            let sign = _mm512_set1_epi32(i32::MIN);
            _mm512_castsi512_ps(_mm512_xor_si512(_mm512_castps_si512(self.0), sign))
        })
    }
    #[inline(always)]
    fn max_of(self, b: Self) -> Self {
        // `b` where `self < b` (ordered, quiet), else `self`
        Avx512(unsafe {
            _mm512_mask_blend_ps(_mm512_cmp_ps_mask::<_CMP_LT_OQ>(self.0, b.0), self.0, b.0)
        })
    }
}

/// Whether the CPU running this has AVX2 and FMA3 (known at compile time, or detected with `std`).
#[inline]
pub(crate) fn has_avx2() -> bool {
    #[cfg(feature = "std")]
    {
        std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma")
    }
    #[cfg(not(feature = "std"))]
    {
        cfg!(all(target_feature = "avx2", target_feature = "fma"))
    }
}

/// Whether the CPU running this has AVX-512F (known at compile time, or detected with `std`).
#[inline]
pub(crate) fn has_avx512() -> bool {
    #[cfg(feature = "std")]
    {
        std::is_x86_feature_detected!("avx512f")
    }
    #[cfg(not(feature = "std"))]
    {
        cfg!(target_feature = "avx512f")
    }
}

/// Defines a safe entry point `$name` that runs the `#[target_feature]` function `$body` when
/// `$has()` says the CPU can, and returns whether it did.
macro_rules! entry {
    ($name:ident, $body:ident, $has:ident, $feature:literal, ($($arg:ident: $ty:ty),*)) => {
        #[doc = concat!("The kernel on ", $feature, "; `false` (nothing done) without it.")]
        #[allow(clippy::too_many_arguments)]
        pub(crate) fn $name($($arg: $ty),*) -> bool {
            if !$has() {
                return false;
            }
            // SAFETY: the CPU has the features `$body` is compiled for (asked just above).
            unsafe { $body($($arg),*) };
            true
        }
    };
}

type Wg<'a> = (&'a mut [f32], &'a [f32]);
type Ms<'a> = [&'a mut [f32]; 3];

entry!(momentum_avx2, momentum_avx2_body, has_avx2, "AVX2",
    (d: Dynamic, c: &Consts, rows: Rows, w: &mut [f32], g: &[f32], m: &mut [f32]));
entry!(sgd_avx2, sgd_avx2_body, has_avx2, "AVX2",
    (d: Dynamic, c: &Consts, rows: Rows, w: &mut [f32], g: &[f32], a: &mut [f32]));
entry!(momentum_avx512, momentum_avx512_body, has_avx512, "AVX-512F",
    (d: Dynamic, c: &Consts, rows: Rows, w: &mut [f32], g: &[f32], m: &mut [f32]));
entry!(sgd_avx512, sgd_avx512_body, has_avx512, "AVX-512F",
    (d: Dynamic, c: &Consts, rows: Rows, w: &mut [f32], g: &[f32], a: &mut [f32]));
entry!(adam_avx2, adam_avx2_body, has_avx2, "AVX2",
    (d: Dynamic, c: &AdamConsts, rows: Rows, w: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32]));
entry!(adam_avx512, adam_avx512_body, has_avx512, "AVX-512F",
    (d: Dynamic, c: &AdamConsts, rows: Rows, w: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32]));
entry!(amsgrad_avx2, amsgrad_avx2_body, has_avx2, "AVX2",
    (d: Dynamic, c: &AdamConsts, rows: Rows, wg: Wg, s: Ms));
entry!(amsgrad_avx512, amsgrad_avx512_body, has_avx512, "AVX-512F",
    (d: Dynamic, c: &AdamConsts, rows: Rows, wg: Wg, s: Ms));
entry!(adamw_avx2, adamw_avx2_body, has_avx2, "AVX2",
    (d: Dynamic, c: &AdamWConsts, rows: Rows, w: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32]));
entry!(adamw_avx512, adamw_avx512_body, has_avx512, "AVX-512F",
    (d: Dynamic, c: &AdamWConsts, rows: Rows, w: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32]));

// The bodies: each runs only where the CPU has its features, called from its `entry!` wrapper
// alone. The AVX2 ones also enable FMA, which `Backend::Avx2` requires.

#[target_feature(enable = "avx2,fma")]
fn momentum_avx2_body(d: Dynamic, c: &Consts, rows: Rows, w: &mut [f32], g: &[f32], m: &mut [f32]) {
    specialize!(d, |v| fused::momentum::<Avx2, 8, 2, _>(v, c, rows, w, g, m))
}

#[target_feature(enable = "avx2,fma")]
fn sgd_avx2_body(d: Dynamic, c: &Consts, rows: Rows, w: &mut [f32], g: &[f32], a: &mut [f32]) {
    specialize!(d, |v| fused::sgd::<Avx2, 8, 2, _>(v, c, rows, w, g, a))
}

#[target_feature(enable = "avx2,fma")]
fn adam_avx2_body(
    d: Dynamic,
    c: &AdamConsts,
    rows: Rows,
    w: &mut [f32],
    g: &[f32],
    m: &mut [f32],
    v: &mut [f32],
) {
    specialize_plain!(d, |x| adam::adam::<Avx2, 8, 2, _>(x, c, rows, w, g, m, v))
}

#[target_feature(enable = "avx2,fma")]
fn amsgrad_avx2_body(d: Dynamic, c: &AdamConsts, rows: Rows, wg: Wg, s: Ms) {
    specialize_plain!(d, |x| adam::amsgrad::<Avx2, 8, 2, _>(x, c, rows, wg, s))
}

#[target_feature(enable = "avx2,fma")]
fn adamw_avx2_body(
    d: Dynamic,
    c: &AdamWConsts,
    rows: Rows,
    w: &mut [f32],
    g: &[f32],
    m: &mut [f32],
    v: &mut [f32],
) {
    specialize_plain!(d, |x| adam::adamw::<Avx2, 8, 2, _>(x, c, rows, w, g, m, v))
}

#[target_feature(enable = "avx512f")]
fn momentum_avx512_body(
    d: Dynamic,
    c: &Consts,
    rows: Rows,
    w: &mut [f32],
    g: &[f32],
    m: &mut [f32],
) {
    specialize!(d, |v| fused::momentum::<Avx512, 16, 1, _>(
        v, c, rows, w, g, m
    ))
}

#[target_feature(enable = "avx512f")]
fn sgd_avx512_body(d: Dynamic, c: &Consts, rows: Rows, w: &mut [f32], g: &[f32], a: &mut [f32]) {
    specialize!(d, |v| fused::sgd::<Avx512, 16, 1, _>(v, c, rows, w, g, a))
}

#[target_feature(enable = "avx512f")]
fn adam_avx512_body(
    d: Dynamic,
    c: &AdamConsts,
    rows: Rows,
    w: &mut [f32],
    g: &[f32],
    m: &mut [f32],
    v: &mut [f32],
) {
    specialize_plain!(d, |x| adam::adam::<Avx512, 16, 1, _>(
        x, c, rows, w, g, m, v
    ))
}

#[target_feature(enable = "avx512f")]
fn amsgrad_avx512_body(d: Dynamic, c: &AdamConsts, rows: Rows, wg: Wg, s: Ms) {
    specialize_plain!(d, |x| adam::amsgrad::<Avx512, 16, 1, _>(x, c, rows, wg, s))
}

#[target_feature(enable = "avx512f")]
fn adamw_avx512_body(
    d: Dynamic,
    c: &AdamWConsts,
    rows: Rows,
    w: &mut [f32],
    g: &[f32],
    m: &mut [f32],
    v: &mut [f32],
) {
    specialize_plain!(d, |x| adam::adamw::<Avx512, 16, 1, _>(
        x, c, rows, w, g, m, v
    ))
}
