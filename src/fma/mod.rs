//! Fused multiply-add: `a·b + c` rounded once. The one module where a multiply and an add fuse.
//!
//! MindSpore's CPU Adam and AdamWeightDecay kernels round once per fused multiply-add they perform
//! (`docs/SEMANTICS-ADAM.md`), and so does gradstep, exactly there and nowhere else: Momentum and
//! SGD never fuse. Every backend gives the same bits — the instruction where it has one (x86_64
//! FMA3, aarch64, the Cortex-M4F's `VFMA.F32`), an exact software emulation ([`soft`]) where it
//! has none (SSE2 alone, wasm32, other targets).
//!
//! `Fused` gives the kernels' lane types their fused operations: the `f32` fused multiply-add,
//! and AdamWeightDecay's parameter update, whose `f64` fused multiply-add and `f64` square root
//! and division vectorize where the backend has `f64` lanes.

pub mod soft;
#[cfg(target_arch = "x86_64")]
mod x86;

use crate::double::D;
use crate::kernel::lanes::Lanes;

/// `a·b + c` rounded once to `f32`: the instruction where this build has it, exact software
/// otherwise.
#[inline]
pub fn fused_f32(a: f32, b: f32, c: f32) -> f32 {
    #[cfg(all(target_arch = "x86_64", target_feature = "fma"))]
    {
        use core::arch::x86_64::{_mm_cvtss_f32, _mm_fmadd_ss, _mm_set_ss};
        // SAFETY: this build targets CPUs with FMA (`target_feature = "fma"`)
        unsafe { _mm_cvtss_f32(_mm_fmadd_ss(_mm_set_ss(a), _mm_set_ss(b), _mm_set_ss(c))) }
    }
    #[cfg(target_arch = "aarch64")]
    {
        use core::arch::aarch64::{vdup_n_f32, vfma_f32, vget_lane_f32};
        // SAFETY: NEON is part of every aarch64 target gradstep builds for
        unsafe { vget_lane_f32::<0>(vfma_f32(vdup_n_f32(c), vdup_n_f32(a), vdup_n_f32(b))) }
    }
    #[cfg(all(target_arch = "arm", target_os = "none", target_abi = "eabihf"))]
    {
        vfma_f32(a, b, c)
    }
    #[cfg(not(any(
        all(target_arch = "x86_64", target_feature = "fma"),
        target_arch = "aarch64",
        all(target_arch = "arm", target_os = "none", target_abi = "eabihf")
    )))]
    {
        soft::fused_f32(a, b, c)
    }
}

/// `a·b + c` rounded once to `f64`: the instruction where this build has it, exact software
/// otherwise (`libm::fma`).
#[inline]
pub fn fused_f64(a: f64, b: f64, c: f64) -> f64 {
    #[cfg(all(target_arch = "x86_64", target_feature = "fma"))]
    {
        use core::arch::x86_64::{_mm_cvtsd_f64, _mm_fmadd_sd, _mm_set_sd};
        // SAFETY: this build targets CPUs with FMA (`target_feature = "fma"`)
        unsafe { _mm_cvtsd_f64(_mm_fmadd_sd(_mm_set_sd(a), _mm_set_sd(b), _mm_set_sd(c))) }
    }
    #[cfg(target_arch = "aarch64")]
    {
        use core::arch::aarch64::{vdup_n_f64, vfma_f64, vget_lane_f64};
        // SAFETY: NEON is part of every aarch64 target gradstep builds for
        unsafe { vget_lane_f64::<0>(vfma_f64(vdup_n_f64(c), vdup_n_f64(a), vdup_n_f64(b))) }
    }
    #[cfg(not(any(
        all(target_arch = "x86_64", target_feature = "fma"),
        target_arch = "aarch64"
    )))]
    {
        soft::fused_f64(a, b, c)
    }
}

/// The Cortex-M4F's (FPv4-SP, and the M7's and M33's) `VFMA.F32`. `asm!` with `s` registers as
/// operands needs an unstable target feature, so the values pass through core registers and the
/// scratch registers `s13`–`s15` are named as clobbered.
#[cfg(all(target_arch = "arm", target_os = "none", target_abi = "eabihf"))]
#[inline]
fn vfma_f32(a: f32, b: f32, c: f32) -> f32 {
    let r: u32;
    // SAFETY: VFMA.F32 on the scratch FPU registers s13–s15, declared clobbered; no memory access,
    // no stack, no flags.
    unsafe {
        core::arch::asm!(
            "vmov s13, {c}",
            "vmov s14, {a}",
            "vmov s15, {b}",
            "vfma.f32 s13, s14, s15",
            "vmov {r}, s13",
            a = in(reg) a.to_bits(),
            b = in(reg) b.to_bits(),
            c = in(reg) c.to_bits(),
            r = out(reg) r,
            out("s13") _,
            out("s14") _,
            out("s15") _,
            options(pure, nomem, nostack, preserves_flags),
        );
    }
    f32::from_bits(r)
}

/// AdamWeightDecay's parameter update of one element, `F(fma_d(−u, D(lr), D(w)))` with
/// `u = D(m) ÷d (sqrt_d(D(v)) +d D(eps)) +d D(w ⊗ decay)` (`docs/SEMANTICS-ADAM.md` §5).
/// Never inlined: its `f64` work (and, without the instruction, the software `f64` fused
/// multiply-add) stays one copy, called per element where a backend has no `f64` lanes.
#[inline(never)]
pub(crate) fn adamw_params(w: f32, m: f32, v: f32, decay: f32, eps: f32, lr: f32) -> f32 {
    let u = D::of(m) / (D::sqrt_of(v) + D::of(eps)) + D::of(w * decay);
    D(fused_f64((-u).0, D::of(lr).0, D::of(w).0)).to_f32()
}

/// A lane type's fused operations, each rounded as MindSpore rounds it.
pub(crate) trait Fused<const N: usize>: Lanes<N> {
    /// `a·b + c` rounded once, lane by lane.
    fn fused(a: Self, b: Self, c: Self) -> Self;

    /// [`adamw_params`], lane by lane.
    #[inline(always)]
    fn adamw_params(w: Self, m: Self, v: Self, decay: f32, eps: f32, lr: f32) -> Self {
        let (mut wa, mut ma, mut va) = ([0.0; N], [0.0; N], [0.0; N]);
        w.store(&mut wa);
        m.store(&mut ma);
        v.store(&mut va);
        for ((w, m), v) in wa.iter_mut().zip(ma).zip(va) {
            *w = adamw_params(*w, m, v, decay, eps, lr);
        }
        Self::load(&wa)
    }
}

/// One lane: the scalar backend, and the heads and tails of every vector backend.
impl Fused<1> for f32 {
    #[inline(always)]
    fn fused(a: Self, b: Self, c: Self) -> Self {
        fused_f32(a, b, c)
    }
}

/// `wide`'s eight lanes: NEON's `vfmaq_f32` on aarch64, the software emulation elsewhere (SSE2,
/// simd128: `wide` has no fused multiply-add there that gives one rounding on every target).
impl Fused<8> for wide::f32x8 {
    #[inline(always)]
    fn fused(a: Self, b: Self, c: Self) -> Self {
        let (a, b, c) = (a.to_array(), b.to_array(), c.to_array());
        #[cfg(target_arch = "aarch64")]
        {
            use core::arch::aarch64::{vfmaq_f32, vld1q_f32, vst1q_f32};
            let mut r = [0.0f32; 8];
            for h in [0, 4] {
                // SAFETY: NEON is part of every aarch64 target gradstep builds for; the pointers
                // come from arrays of 8, each read or written 4 at offset 0 or 4
                unsafe {
                    let (a, b, c) = (
                        vld1q_f32(a[h..].as_ptr()),
                        vld1q_f32(b[h..].as_ptr()),
                        vld1q_f32(c[h..].as_ptr()),
                    );
                    vst1q_f32(r[h..].as_mut_ptr(), vfmaq_f32(c, a, b));
                }
            }
            wide::f32x8::new(r)
        }
        #[cfg(not(target_arch = "aarch64"))]
        {
            wide::f32x8::new(soft_lanes(a, b, c))
        }
    }
}

/// [`soft::fused_f32`] on eight lanes, as one function: called from every vector loop that fuses
/// without the instruction (SSE2, simd128), it keeps one copy of the emulation in the binary
/// rather than eight per loop.
#[cfg(not(target_arch = "aarch64"))]
#[inline(never)]
fn soft_lanes(a: [f32; 8], b: [f32; 8], c: [f32; 8]) -> [f32; 8] {
    core::array::from_fn(|i| soft::fused_f32(a[i], b[i], c[i]))
}
