//! The Adam, AMSGrad and AdamWeightDecay kernels, written once over [`Fused`] lanes: gradient
//! preparation and update in one pass over a tensor, op for op as in
//! [`crate::reference`] (`reference/adam.rs`), every fused multiply-add rounded once by
//! [`crate::fma`].
//!
//! Adam's elements take the vector formula or the scalar one as MindSpore's work split decides
//! ([`crate::reference::in_body`]): a tensor is walked in segments of one formula, the body
//! segments on lanes (their unaligned ends on one lane, with the same formula), the tail ones
//! element by element in `f64`. Rows of a centralized tensor cut the segments further.

use super::Within;
use super::fused::{Prep, PrepLanes, Variant, aligned_head, prepare, row_mean};
use super::lanes::Lanes;
use crate::double::D;
use crate::fma::Fused;
use crate::hyper::{AdamStep, AdamWStep};
use crate::reference::{Rows, chunk_len};

/// The constants of one Adam or AMSGrad call, rounded as the reference rounds them.
pub(crate) struct AdamConsts {
    prep: Prep,
    c1: f32,
    c2: f32,
    beta1: f32,
    eps: f32,
    lr_t: f32,
    /// The length of MindSpore's chunks for this tensor.
    chunk: usize,
    /// Where the elements updated lie in the tensor.
    within: Within,
}

impl AdamConsts {
    pub fn of(step: &AdamStep, within: Within) -> AdamConsts {
        let b = step.betas();
        AdamConsts {
            prep: Prep::of(step.prep()),
            c1: b.c1(),
            c2: b.c2(),
            beta1: b.beta1(),
            eps: b.eps(),
            lr_t: step.lr_t(),
            chunk: chunk_len(within.tensor_len, step.threads()),
            within,
        }
    }
}

/// [`AdamConsts`] and a row mean, splatted to lanes.
struct Splat<L> {
    prep: PrepLanes<L>,
    c1: L,
    c2: L,
    beta1: L,
    eps: L,
    lr_t: L,
}

impl<L> Splat<L> {
    #[inline(always)]
    fn new<const N: usize>(c: &AdamConsts, mean: f32) -> Self
    where
        L: Lanes<N>,
    {
        Splat {
            prep: PrepLanes::new(&c.prep, mean),
            c1: L::splat(c.c1),
            c2: L::splat(c.c2),
            beta1: L::splat(c.beta1),
            eps: L::splat(c.eps),
            lr_t: L::splat(c.lr_t),
        }
    }
}

/// Adam's moments: `m ← fma(g ⊖ m, c1, m)`, `v ← fma(fma(g, g, −v), c2, v)`.
#[inline(always)]
fn moments<L: Fused<N>, const N: usize>(c1: L, c2: L, g: L, m: L, v: L) -> (L, L) {
    let m = L::fused(g.sub(m), c1, m);
    let v = L::fused(L::fused(g, g, v.neg()), c2, v);
    (m, v)
}

/// [`crate::reference::adam_update`]'s body formula on lanes, with gradient preparation.
#[inline(always)]
fn body<L: Fused<N>, const N: usize, V: Variant>(
    v: V,
    k: &Splat<L>,
    w: L,
    g: L,
    m: L,
    vv: L,
) -> (L, L, L) {
    let g = prepare(v, &k.prep, w, g);
    let (m, vv) = moments(k.c1, k.c2, g, m, vv);
    let num = if v.nesterov() {
        L::fused(g, k.c1, k.beta1.mul(m)).mul(k.lr_t)
    } else {
        k.lr_t.mul(m)
    };
    (w.sub(num.div(vv.sqrt().add(k.eps))), m, vv)
}

/// [`crate::reference::adam_update`]'s tail formula, one element: `w` in `f64`.
#[inline(always)]
fn tail<V: Variant>(v: V, k: &Splat<f32>, w: f32, g: f32, m: f32, vv: f32) -> (f32, f32, f32) {
    let g = prepare(v, &k.prep, w, g);
    let (m, vv) = moments(k.c1, k.c2, g, m, vv);
    let num = if v.nesterov() {
        f32::fused(m, k.beta1, k.c1 * g) * k.lr_t
    } else {
        k.lr_t * m
    };
    let w = (D::of(w) - D::of(num) / (D::sqrt_of(vv) + D::of(k.eps))).to_f32();
    (w, m, vv)
}

/// The body formula over a run of elements: aligned vectors of `N`, the ends on one lane.
#[inline(always)]
fn body_run<L: Fused<N>, const N: usize, V: Variant>(
    v: V,
    one: &Splat<f32>,
    k: &Splat<L>,
    w: &mut [f32],
    g: &[f32],
    m: &mut [f32],
    vv: &mut [f32],
) {
    let head = if N == 1 { 0 } else { aligned_head::<N>(w) };
    let vectors = (w.len() - head) / N * N;
    let ends = (0..head).chain(head + vectors..w.len());
    for i in ends {
        (w[i], m[i], vv[i]) = body::<f32, 1, V>(v, one, w[i], g[i], m[i], vv[i]);
    }
    let span = head..head + vectors;
    let (wc, _) = w[span.clone()].as_chunks_mut::<N>();
    let (gc, _) = g[span.clone()].as_chunks::<N>();
    let (mc, _) = m[span.clone()].as_chunks_mut::<N>();
    let (vc, _) = vv[span].as_chunks_mut::<N>();
    for (((w, g), m), vv) in wc.iter_mut().zip(gc).zip(mc.iter_mut()).zip(vc.iter_mut()) {
        let (wn, mn, vn) = body(v, k, L::load(w), L::load(g), L::load(m), L::load(vv));
        wn.store(w);
        mn.store(m);
        vn.store(vv);
    }
}

/// One Adam step (plain or Nesterov) over one validated, non-empty tensor.
#[inline(always)]
pub(crate) fn adam<L: Fused<N>, const N: usize, const K: usize, V: Variant>(
    v: V,
    c: &AdamConsts,
    rows: Rows,
    w: &mut [f32],
    g: &[f32],
    m: &mut [f32],
    vv: &mut [f32],
) {
    let (n, chunk) = (w.len(), c.chunk);
    // indices in the tensor are `origin +` indices in the slice
    let (origin, tensor_len) = (c.within.offset, c.within.tensor_len);
    for row in (0..n).step_by(rows.len).map(|s| s..s + rows.len) {
        let mean = if v.center() {
            row_mean::<L, N, K, V>(v, &c.prep, &w[row.clone()], &g[row.clone()])
        } else {
            0.0
        };
        let (one, k) = (Splat::<f32>::new(c, mean), Splat::<L>::new(c, mean));
        let mut i = row.start;
        while i < row.end {
            // the segment of one formula that `i` is in: MindSpore's chunk, its body or its tail
            let at = origin + i;
            let start = at / chunk * chunk;
            let end = (start + chunk).min(tensor_len);
            let body_end = start + (end - start) / 8 * 8;
            if at < body_end {
                let j = (body_end - origin).min(row.end);
                body_run::<L, N, V>(
                    v,
                    &one,
                    &k,
                    &mut w[i..j],
                    &g[i..j],
                    &mut m[i..j],
                    &mut vv[i..j],
                );
                i = j;
            } else {
                let j = (end - origin).min(row.end);
                for e in i..j {
                    (w[e], m[e], vv[e]) = tail(v, &one, w[e], g[e], m[e], vv[e]);
                }
                i = j;
            }
        }
    }
}

/// [`crate::reference::amsgrad_update`] on lanes, with gradient preparation: no fused operation.
#[inline(always)]
fn amsgrad_lanes<L: Lanes<N>, const N: usize, V: Variant>(
    v: V,
    k: &Splat<L>,
    [w, g, m, vv, vh]: [L; 5],
) -> [L; 4] {
    let g = prepare(v, &k.prep, w, g);
    let m = m.add(g.sub(m).mul(k.c1));
    let vv = vv.add(g.mul(g).sub(vv).mul(k.c2));
    let vh = vh.max_of(vv);
    let w = w.sub(k.lr_t.mul(m).div(vh.sqrt().add(k.eps)));
    [w, m, vv, vh]
}

/// One AMSGrad step over one validated, non-empty tensor (no work split: every element alike).
#[inline(always)]
pub(crate) fn amsgrad<L: Lanes<N>, const N: usize, const K: usize, V: Variant>(
    v: V,
    c: &AdamConsts,
    rows: Rows,
    (w, g): (&mut [f32], &[f32]),
    [m, vv, vh]: [&mut [f32]; 3],
) {
    let n = w.len();
    for row in (0..n).step_by(rows.len).map(|s| s..s + rows.len) {
        let (w, g) = (&mut w[row.clone()], &g[row.clone()]);
        let (m, vv, vh) = (&mut m[row.clone()], &mut vv[row.clone()], &mut vh[row]);
        let mean = if v.center() {
            row_mean::<L, N, K, V>(v, &c.prep, w, g)
        } else {
            0.0
        };
        let (one, k) = (Splat::<f32>::new(c, mean), Splat::<L>::new(c, mean));
        let head = if N == 1 { 0 } else { aligned_head::<N>(w) };
        let vectors = (w.len() - head) / N * N;
        for i in (0..head).chain(head + vectors..w.len()) {
            [w[i], m[i], vv[i], vh[i]] = amsgrad_lanes(v, &one, [w[i], g[i], m[i], vv[i], vh[i]]);
        }
        let span = head..head + vectors;
        let (wc, _) = w[span.clone()].as_chunks_mut::<N>();
        let (gc, _) = g[span.clone()].as_chunks::<N>();
        let (mc, _) = m[span.clone()].as_chunks_mut::<N>();
        let (vc, _) = vv[span.clone()].as_chunks_mut::<N>();
        let (hc, _) = vh[span].as_chunks_mut::<N>();
        let all = wc
            .iter_mut()
            .zip(gc)
            .zip(mc.iter_mut())
            .zip(vc.iter_mut())
            .zip(hc.iter_mut());
        for ((((w, g), m), vv), vh) in all {
            let lanes = [L::load(w), L::load(g), L::load(m), L::load(vv), L::load(vh)];
            let [wn, mn, vn, hn] = amsgrad_lanes(v, &k, lanes);
            wn.store(w);
            mn.store(m);
            vn.store(vv);
            hn.store(vh);
        }
    }
}

/// The constants of one AdamWeightDecay call.
pub(crate) struct AdamWConsts {
    c1: f32,
    c2: f32,
    eps: f32,
    lr: f32,
    decay: f32,
}

impl AdamWConsts {
    pub fn of(step: &AdamWStep) -> AdamWConsts {
        let b = step.betas();
        AdamWConsts {
            c1: b.c1(),
            c2: b.c2(),
            eps: b.eps(),
            lr: step.lr(),
            decay: step.decay(),
        }
    }
}

/// [`crate::reference::adamw_update`] on lanes, the gradient centralized first where asked.
#[inline(always)]
fn adamw_lanes<L: Fused<N>, const N: usize, V: Variant>(
    v: V,
    c: &AdamWConsts,
    [c1, c2, mean]: [L; 3],
    [w, g, m, vv]: [L; 4],
) -> [L; 3] {
    let g = if v.center() { g.sub(mean) } else { g };
    let (m, vv) = moments(c1, c2, g, m, vv);
    [L::adamw_params(w, m, vv, c.decay, c.eps, c.lr), m, vv]
}

/// One AdamWeightDecay step over one validated, non-empty tensor (no work split: every element
/// takes the scalar formula, vectorized).
#[inline(always)]
pub(crate) fn adamw<L: Fused<N>, const N: usize, const K: usize, V: Variant>(
    v: V,
    c: &AdamWConsts,
    rows: Rows,
    w: &mut [f32],
    g: &[f32],
    m: &mut [f32],
    vv: &mut [f32],
) {
    let n = w.len();
    for row in (0..n).step_by(rows.len).map(|s| s..s + rows.len) {
        let (w, g) = (&mut w[row.clone()], &g[row.clone()]);
        let (m, vv) = (&mut m[row.clone()], &mut vv[row]);
        let mean = if v.center() {
            row_mean::<L, N, K, V>(v, &Prep::NONE, w, g)
        } else {
            0.0
        };
        let one = [c.c1, c.c2, mean];
        let k = one.map(L::splat);
        let head = if N == 1 { 0 } else { aligned_head::<N>(w) };
        let vectors = (w.len() - head) / N * N;
        for i in (0..head).chain(head + vectors..w.len()) {
            [w[i], m[i], vv[i]] = adamw_lanes(v, c, one, [w[i], g[i], m[i], vv[i]]);
        }
        let span = head..head + vectors;
        let (wc, _) = w[span.clone()].as_chunks_mut::<N>();
        let (gc, _) = g[span.clone()].as_chunks::<N>();
        let (mc, _) = m[span.clone()].as_chunks_mut::<N>();
        let (vc, _) = vv[span].as_chunks_mut::<N>();
        for (((w, g), m), vv) in wc.iter_mut().zip(gc).zip(mc.iter_mut()).zip(vc.iter_mut()) {
            let lanes = [L::load(w), L::load(g), L::load(m), L::load(vv)];
            let [wn, mn, vn] = adamw_lanes(v, c, k, lanes);
            wn.store(w);
            mn.store(m);
            vn.store(vv);
        }
    }
}
