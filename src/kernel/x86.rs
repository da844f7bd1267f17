//! The x86_64 backends chosen at run time: AVX2 (8 lanes) and AVX-512 (16 lanes).
//!
//! `wide` picks its backend when it is compiled, so a default build of it only knows SSE2
//! (wide#146). These two lane types wrap `core::arch` directly and are used only inside the
//! `#[target_feature]` functions of this module. Those are called only from the safe entry points
//! below, each of which asks the CPU first (a cached answer) and returns `false`, having done
//! nothing, when it lacks the feature: the safety argument lives in this file alone.

#![allow(unsafe_code)]

use core::arch::x86_64::{
    __m256, __m512, _mm256_add_ps, _mm256_loadu_ps, _mm256_mul_ps, _mm256_set1_ps,
    _mm256_storeu_ps, _mm256_sub_ps, _mm512_add_ps, _mm512_loadu_ps, _mm512_mul_ps, _mm512_set1_ps,
    _mm512_storeu_ps, _mm512_sub_ps,
};

use super::fused::{self, Consts, Dynamic, specialize};
use super::lanes::Lanes;
use crate::reference::Rows;

/// Eight lanes in one AVX register. Private: only the `avx2` functions below construct it.
#[derive(Clone, Copy)]
struct Avx2(__m256);

// SAFETY (every `unsafe` block in this impl): the intrinsics need AVX2. `Avx2` is private to this
// module and is only used inside functions compiled with `#[target_feature(enable = "avx2")]`,
// which are only called once the CPU is known to have AVX2; the pointers come from `&[f32; 8]`
// arrays, valid for 8 unaligned reads or writes.
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
}

/// Sixteen lanes in one AVX-512 register. Private: only the `avx512` functions below use it.
#[derive(Clone, Copy)]
struct Avx512(__m512);

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
}

/// Whether the CPU running this has AVX2 (known at compile time, or detected with `std`).
#[inline]
pub(crate) fn has_avx2() -> bool {
    #[cfg(feature = "std")]
    {
        std::is_x86_feature_detected!("avx2")
    }
    #[cfg(not(feature = "std"))]
    {
        cfg!(target_feature = "avx2")
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
    ($name:ident, $body:ident, $has:ident, $feature:literal) => {
        #[doc = concat!("The kernel on ", $feature, "; `false` (nothing done) without it.")]
        pub(crate) fn $name(
            d: Dynamic,
            c: &Consts,
            rows: Rows,
            w: &mut [f32],
            g: &[f32],
            s: &mut [f32],
        ) -> bool {
            if !$has() {
                return false;
            }
            // SAFETY: the CPU has the feature `$body` is compiled for (asked just above).
            unsafe { $body(d, c, rows, w, g, s) };
            true
        }
    };
}

entry!(momentum_avx2, momentum_avx2_body, has_avx2, "AVX2");
entry!(sgd_avx2, sgd_avx2_body, has_avx2, "AVX2");
entry!(
    momentum_avx512,
    momentum_avx512_body,
    has_avx512,
    "AVX-512F"
);
entry!(sgd_avx512, sgd_avx512_body, has_avx512, "AVX-512F");

#[target_feature(enable = "avx2")]
/// Runs only where the CPU has AVX2: called from its `entry!` wrapper alone.
fn momentum_avx2_body(d: Dynamic, c: &Consts, rows: Rows, w: &mut [f32], g: &[f32], m: &mut [f32]) {
    specialize!(d, |v| fused::momentum::<Avx2, 8, 2, _>(v, c, rows, w, g, m))
}

#[target_feature(enable = "avx2")]
/// Runs only where the CPU has AVX2: called from its `entry!` wrapper alone.
fn sgd_avx2_body(d: Dynamic, c: &Consts, rows: Rows, w: &mut [f32], g: &[f32], a: &mut [f32]) {
    specialize!(d, |v| fused::sgd::<Avx2, 8, 2, _>(v, c, rows, w, g, a))
}

#[target_feature(enable = "avx512f")]
/// Runs only where the CPU has AVX-512F: called from its `entry!` wrapper alone.
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
/// Runs only where the CPU has AVX-512F: called from its `entry!` wrapper alone.
fn sgd_avx512_body(d: Dynamic, c: &Consts, rows: Rows, w: &mut [f32], g: &[f32], a: &mut [f32]) {
    specialize!(d, |v| fused::sgd::<Avx512, 16, 1, _>(v, c, rows, w, g, a))
}
