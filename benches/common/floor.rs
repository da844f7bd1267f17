//! The bandwidth floor of Momentum's streams (read params, grads and state; write params and
//! state), one add per written stream, on the same instruction set as the kernel's selected path;
//! and the same floor with `M` unfused multiplies per element beside the adds, which shows whether
//! the FP multiply pipes, not the memory, set the limit (`benches/kernels.rs`, `l1_limit`).
//! Shared by `benches/kernels.rs` and `benches/parallel.rs`.

use gradstep::kernel::Backend;

/// `x·c·c′… + g` with `muls` multiplies (by 0.5 and 1.999, alternately: the adds keep the values
/// away from zero and infinity).
#[inline(always)]
fn scaled(x: f32, g: f32, muls: usize) -> f32 {
    let mut x = x;
    for i in 0..muls {
        x *= if i % 2 == 0 { 0.5 } else { 1.999 };
    }
    x + g
}

/// One add per written stream, after `M` multiplies per element (`M / 2` on each stream). The first
/// elements run alone until `w` sits on a cache line, as gradstep's head does, so that the floor is
/// not slowed by line-straddling vector accesses.
#[inline(always)]
fn floor_body<const M: usize>(w: &mut [f32], g: &[f32], s: &mut [f32]) {
    let head = (w.as_ptr().align_offset(64)).min(w.len());
    let (wh, wb) = w.split_at_mut(head);
    let (gh, gb) = g.split_at(head);
    let (sh, sb) = s.split_at_mut(head);
    for ((w, &g), s) in wh.iter_mut().zip(gh).zip(sh.iter_mut()) {
        *w = scaled(*w, g, M / 2);
        *s = scaled(*s, g, M - M / 2);
    }
    for ((w, &g), s) in wb.iter_mut().zip(gb).zip(sb.iter_mut()) {
        *w = scaled(*w, g, M / 2);
        *s = scaled(*s, g, M - M / 2);
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn floor_avx2<const M: usize>(w: &mut [f32], g: &[f32], s: &mut [f32]) {
    floor_body::<M>(w, g, s)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
fn floor_avx512<const M: usize>(w: &mut [f32], g: &[f32], s: &mut [f32]) {
    floor_body::<M>(w, g, s)
}

/// The floor with `M` multiplies per element, on the selected path's instruction set.
pub fn floor_with<const M: usize>(w: &mut [f32], g: &[f32], s: &mut [f32]) {
    match Backend::selected() {
        // SAFETY: the selected path is available, so the CPU has the feature.
        #[cfg(target_arch = "x86_64")]
        Backend::Avx512 => unsafe { floor_avx512::<M>(w, g, s) },
        // SAFETY: as above.
        #[cfg(target_arch = "x86_64")]
        Backend::Avx2 => unsafe { floor_avx2::<M>(w, g, s) },
        _ => floor_body::<M>(w, g, s),
    }
}

/// The bandwidth floor: no multiply.
pub fn floor(w: &mut [f32], g: &[f32], s: &mut [f32]) {
    floor_with::<0>(w, g, s)
}
