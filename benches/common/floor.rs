//! The bandwidth floor of Momentum's streams (read params, grads and state; write params and
//! state), one add per written stream, on the same instruction set as the kernel's selected path.
//! Shared by `benches/kernels.rs` and `benches/parallel.rs`.

use gradstep::kernel::Backend;

/// One add per written stream. The first elements run alone until `w` sits on a cache line, as
/// gradstep's head does, so that the floor is not slowed by line-straddling vector accesses.
fn floor_body(w: &mut [f32], g: &[f32], s: &mut [f32]) {
    let head = (w.as_ptr().align_offset(64)).min(w.len());
    let (wh, wb) = w.split_at_mut(head);
    let (gh, gb) = g.split_at(head);
    let (sh, sb) = s.split_at_mut(head);
    for ((w, &g), s) in wh.iter_mut().zip(gh).zip(sh.iter_mut()) {
        *w += g;
        *s += g;
    }
    for ((w, &g), s) in wb.iter_mut().zip(gb).zip(sb.iter_mut()) {
        *w += g;
        *s += g;
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn floor_avx2(w: &mut [f32], g: &[f32], s: &mut [f32]) {
    floor_body(w, g, s)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
fn floor_avx512(w: &mut [f32], g: &[f32], s: &mut [f32]) {
    floor_body(w, g, s)
}

pub fn floor(w: &mut [f32], g: &[f32], s: &mut [f32]) {
    match Backend::selected() {
        // SAFETY: the selected path is available, so the CPU has the feature.
        #[cfg(target_arch = "x86_64")]
        Backend::Avx512 => unsafe { floor_avx512(w, g, s) },
        // SAFETY: as above.
        #[cfg(target_arch = "x86_64")]
        Backend::Avx2 => unsafe { floor_avx2(w, g, s) },
        _ => floor_body(w, g, s),
    }
}
