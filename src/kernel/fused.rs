//! The fused kernels, written once over [`Lanes`]: gradient preparation and update in one pass
//! (one read of params, grads and state; one write of params and state). They follow
//! [`crate::reference`] op for op; heads and tails run the same code on one lane.

use super::lanes::Lanes;
use crate::hyper::{AdamStep, GradPrep, MomentumStep, SgdStep};
use crate::reference::{self, ROW_SUM_LANES, Rows};

/// Which optional parts of the update run. [`Dynamic`] answers at run time (small code);
/// [`Fixed`] answers at compile time (one specialized loop per combination, for the SIMD paths).
pub(crate) trait Variant: Copy {
    fn decay(self) -> bool;
    fn unscale(self) -> bool;
    fn center(self) -> bool;
    fn nesterov(self) -> bool;
    /// SGD keeps a momentum buffer (`F(momentum) > 0`); always true for momentum.
    fn buffered(self) -> bool;
}

#[derive(Clone, Copy)]
pub(crate) struct Dynamic {
    pub decay: bool,
    pub unscale: bool,
    pub center: bool,
    pub nesterov: bool,
    pub buffered: bool,
}

impl Variant for Dynamic {
    #[inline(always)]
    fn decay(self) -> bool {
        self.decay
    }
    #[inline(always)]
    fn unscale(self) -> bool {
        self.unscale
    }
    #[inline(always)]
    fn center(self) -> bool {
        self.center
    }
    #[inline(always)]
    fn nesterov(self) -> bool {
        self.nesterov
    }
    #[inline(always)]
    fn buffered(self) -> bool {
        self.buffered
    }
}

#[derive(Clone, Copy)]
pub(crate) struct Fixed<const D: bool, const U: bool, const C: bool, const NV: bool, const B: bool>;

impl<const D: bool, const U: bool, const C: bool, const NV: bool, const B: bool> Variant
    for Fixed<D, U, C, NV, B>
{
    #[inline(always)]
    fn decay(self) -> bool {
        D
    }
    #[inline(always)]
    fn unscale(self) -> bool {
        U
    }
    #[inline(always)]
    fn center(self) -> bool {
        C
    }
    #[inline(always)]
    fn nesterov(self) -> bool {
        NV
    }
    #[inline(always)]
    fn buffered(self) -> bool {
        B
    }
}

/// Turns run-time flags into a [`Fixed`] variant: `fix!(v = [] [a, b] [true] => call(v))`
/// expands `call` once per combination of `a` and `b`, with `true` appended as the last flag.
macro_rules! fix {
    ($v:ident = [$($done:tt),*] [] [$($tail:tt),*] => $call:expr) => {{
        let $v = $crate::kernel::fused::Fixed::<$($done,)* $($tail),*>;
        $call
    }};
    ($v:ident = [$($done:tt),*] [$first:expr $(, $rest:expr)*] [$($tail:tt),*] => $call:expr) => {
        if $first {
            $crate::kernel::fused::fix!($v = [$($done,)* true] [$($rest),*] [$($tail),*] => $call)
        } else {
            $crate::kernel::fused::fix!($v = [$($done,)* false] [$($rest),*] [$($tail),*] => $call)
        }
    };
}

/// Calls `$call` with `$v` bound to the [`Fixed`] variant equal to the [`Dynamic`] `$d`.
macro_rules! specialize {
    ($d:expr, |$v:ident| $call:expr) => {{
        let d: $crate::kernel::fused::Dynamic = $d;
        if d.buffered {
            $crate::kernel::fused::fix!($v = [] [d.decay, d.unscale, d.center, d.nesterov] [true] => $call)
        } else {
            $crate::kernel::fused::fix!($v = [] [d.decay, d.unscale, d.center] [false, false] => $call)
        }
    }};
}
/// Calls `$call` with `$v` bound to a [`Fixed`] variant when `$d` has no gradient preparation
/// (no decay, no unscaling, no centralization; Nesterov or not), to the [`Dynamic`] `$d` itself
/// otherwise: three copies of a loop instead of sixteen, for kernels whose arithmetic outweighs a
/// branch on options that are most often off (Adam's).
macro_rules! specialize_plain {
    ($d:expr, |$v:ident| $call:expr) => {{
        let d: $crate::kernel::fused::Dynamic = $d;
        match (d.decay || d.unscale || d.center, d.nesterov) {
            (false, false) => {
                let $v = $crate::kernel::fused::Fixed::<false, false, false, false, true>;
                $call
            }
            (false, true) => {
                let $v = $crate::kernel::fused::Fixed::<false, false, false, true, true>;
                $call
            }
            (true, _) => {
                let $v = d;
                $call
            }
        }
    }};
}
pub(crate) use {fix, specialize, specialize_plain};

/// The gradient preparation of one call: `F(wd·L)` (unused when off) and `F(1/L)` (unused when
/// the loss scale is 1). Shared by every rule's kernel.
#[derive(Clone, Copy)]
pub(crate) struct Prep {
    decay: f32,
    unscale: f32,
}

impl Prep {
    /// No weight decay, no unscaling.
    pub const NONE: Prep = Prep {
        decay: 0.0,
        unscale: 1.0,
    };

    pub fn of(p: &GradPrep) -> Prep {
        Prep {
            decay: p.decay().unwrap_or(0.0),
            unscale: p.unscale().unwrap_or(1.0),
        }
    }
}

/// A [`Prep`] and a row mean, splatted to lanes.
pub(crate) struct PrepLanes<L> {
    decay: L,
    unscale: L,
    mean: L,
}

impl<L> PrepLanes<L> {
    #[inline(always)]
    pub fn new<const N: usize>(p: &Prep, mean: f32) -> Self
    where
        L: Lanes<N>,
    {
        PrepLanes {
            decay: L::splat(p.decay),
            unscale: L::splat(p.unscale),
            mean: L::splat(mean),
        }
    }
}

/// The constants of one call, rounded as the reference rounds them.
pub(crate) struct Consts {
    prep: Prep,
    lr: f32,
    mu: f32,
    /// `1 ⊖ F(dampening)`, SGD only.
    keep: f32,
    /// SGD's first step, see [`SgdStep::first_step`].
    first: bool,
}

impl Dynamic {
    pub fn momentum(step: &MomentumStep, rows: Rows) -> Dynamic {
        Dynamic {
            decay: step.prep().decay().is_some(),
            unscale: step.prep().unscale().is_some(),
            center: rows.centered,
            nesterov: step.nesterov(),
            buffered: true,
        }
    }

    pub fn adam(step: &AdamStep, rows: Rows) -> Dynamic {
        Dynamic {
            decay: step.prep().decay().is_some(),
            unscale: step.prep().unscale().is_some(),
            center: rows.centered,
            nesterov: step.nesterov(),
            buffered: true,
        }
    }

    /// Centralization alone (AdamWeightDecay's gradient preparation).
    pub fn centered(rows: Rows) -> Dynamic {
        Dynamic {
            decay: false,
            unscale: false,
            center: rows.centered,
            nesterov: false,
            buffered: true,
        }
    }

    pub fn sgd(step: &SgdStep, rows: Rows) -> Dynamic {
        let buffered = step.momentum() > 0.0;
        Dynamic {
            decay: step.prep().decay().is_some(),
            unscale: step.prep().unscale().is_some(),
            center: rows.centered,
            nesterov: buffered && step.nesterov(),
            buffered,
        }
    }
}

impl Consts {
    pub fn momentum(step: &MomentumStep) -> Consts {
        Consts {
            prep: Prep::of(step.prep()),
            lr: step.lr(),
            mu: step.momentum(),
            keep: 1.0,
            first: false,
        }
    }

    pub fn sgd(step: &SgdStep) -> Consts {
        Consts {
            prep: Prep::of(step.prep()),
            lr: step.lr(),
            mu: step.momentum(),
            keep: 1.0 - step.dampening(),
            first: step.is_first(),
        }
    }
}

/// [`Consts`] and a row mean, splatted to lanes.
struct Splat<L> {
    prep: PrepLanes<L>,
    lr: L,
    mu: L,
    keep: L,
}

impl<L> Splat<L> {
    #[inline(always)]
    fn new<const N: usize>(c: &Consts, mean: f32) -> Self
    where
        L: Lanes<N>,
    {
        Splat {
            prep: PrepLanes::new(&c.prep, mean),
            lr: L::splat(c.lr),
            mu: L::splat(c.mu),
            keep: L::splat(c.keep),
        }
    }
}

/// [`reference::decay`] on lanes.
#[inline(always)]
fn decay<L: Lanes<N>, const N: usize, V: Variant>(v: V, k: &PrepLanes<L>, w: L, g: L) -> L {
    if v.decay() { w.mul(k.decay).add(g) } else { g }
}

/// [`reference::prepare`] on lanes.
#[inline(always)]
pub(crate) fn prepare<L: Lanes<N>, const N: usize, V: Variant>(
    v: V,
    k: &PrepLanes<L>,
    w: L,
    g: L,
) -> L {
    let mut g = decay(v, k, w, g);
    if v.center() {
        g = g.sub(k.mean);
    }
    if v.unscale() {
        g = g.mul(k.unscale);
    }
    g
}

/// [`reference::momentum_update`] on lanes, with gradient preparation.
#[inline(always)]
fn momentum_lanes<L: Lanes<N>, const N: usize, V: Variant>(
    v: V,
    k: &Splat<L>,
    w: L,
    g: L,
    m: L,
) -> (L, L) {
    let g = prepare(v, &k.prep, w, g);
    let m = m.mul(k.mu).add(g);
    let w = if v.nesterov() {
        w.sub(g.mul(k.lr).add(m.mul(k.mu).mul(k.lr)))
    } else {
        w.sub(m.mul(k.lr))
    };
    (w, m)
}

/// [`reference::sgd_update`] on lanes, with gradient preparation, for a buffered variant.
#[inline(always)]
fn sgd_lanes<L: Lanes<N>, const N: usize, V: Variant>(
    v: V,
    k: &Splat<L>,
    first: bool,
    w: L,
    g: L,
    a: L,
) -> (L, L) {
    let g = prepare(v, &k.prep, w, g);
    let a = if first {
        g
    } else {
        a.mul(k.mu).add(k.keep.mul(g))
    };
    let u = if v.nesterov() { g.add(a.mul(k.mu)) } else { a };
    (w.sub(k.lr.mul(u)), a)
}

/// The momentum update over whole chunks of `N`; the caller runs the tail on one lane.
#[inline(always)]
fn momentum_chunks<L: Lanes<N>, const N: usize, V: Variant>(
    v: V,
    c: &Consts,
    mean: f32,
    w: &mut [f32],
    g: &[f32],
    m: &mut [f32],
) {
    let k = Splat::<L>::new(c, mean);
    let (w, _) = w.as_chunks_mut::<N>();
    let (g, _) = g.as_chunks::<N>();
    let (m, _) = m.as_chunks_mut::<N>();
    for ((w, g), m) in w.iter_mut().zip(g).zip(m.iter_mut()) {
        let (wn, mn) = momentum_lanes(v, &k, L::load(w), L::load(g), L::load(m));
        wn.store(w);
        mn.store(m);
    }
}

/// The SGD update over whole chunks of `N`.
#[inline(always)]
fn sgd_chunks<L: Lanes<N>, const N: usize, V: Variant>(
    v: V,
    c: &Consts,
    mean: f32,
    w: &mut [f32],
    g: &[f32],
    a: &mut [f32],
) {
    let k = Splat::<L>::new(c, mean);
    let (w, _) = w.as_chunks_mut::<N>();
    let (g, _) = g.as_chunks::<N>();
    if !v.buffered() {
        for (w, g) in w.iter_mut().zip(g) {
            let (wv, gv) = (L::load(w), L::load(g));
            let gv = prepare(v, &k.prep, wv, gv);
            wv.sub(k.lr.mul(gv)).store(w);
        }
        return;
    }
    let (a, _) = a.as_chunks_mut::<N>();
    for ((w, g), a) in w.iter_mut().zip(g).zip(a.iter_mut()) {
        let (wn, an) = sgd_lanes(v, &k, c.first, L::load(w), L::load(g), L::load(a));
        wn.store(w);
        an.store(a);
    }
}

/// Three equally long slices: params, grads, state.
type Triple<'a> = (&'a mut [f32], &'a [f32], &'a mut [f32]);

/// Splits three equally long slices at `mid` (at most their length).
#[inline(always)]
fn split_at<'a>(
    w: &'a mut [f32],
    g: &'a [f32],
    s: &'a mut [f32],
    mid: usize,
) -> (Triple<'a>, Triple<'a>) {
    let (wa, wb) = w.split_at_mut(mid);
    let (ga, gb) = g.split_at(mid);
    let (sa, sb) = s.split_at_mut(mid);
    ((wa, ga, sa), (wb, gb, sb))
}

/// Splits a run into a head, a body of whole `N`-lane chunks and a tail. The head reaches the
/// first address of `w` that is a multiple of the vector size, so that the body's loads and
/// stores do not straddle cache lines (large allocations start 16 bytes into a page; a
/// misaligned 32- or 64-byte access splits a line every other time or every time, which costs
/// 5–10% even at DRAM bandwidth). The update is elementwise, so where the run is cut does not
/// change a bit.
#[inline(always)]
fn split_aligned<'a, const N: usize>(
    w: &'a mut [f32],
    g: &'a [f32],
    s: &'a mut [f32],
) -> (Triple<'a>, Triple<'a>, Triple<'a>) {
    let head = aligned_head::<N>(w);
    let (head, rest) = split_at(w, g, s, head);
    let body = rest.0.len() - rest.0.len() % N;
    let (body, tail) = split_at(rest.0, rest.1, rest.2, body);
    (head, body, tail)
}

/// The number of elements before the first one of `w` whose address is a multiple of the vector
/// size (`N` lanes), at most `w.len()` (see [`split_aligned`]).
#[inline(always)]
pub(crate) fn aligned_head<const N: usize>(w: &[f32]) -> usize {
    let bytes = N * size_of::<f32>();
    let misalign = w.as_ptr() as usize % bytes;
    let head = if misalign == 0 {
        0
    } else {
        (bytes - misalign) / size_of::<f32>()
    };
    head.min(w.len())
}

/// The mean of one row of decayed gradients, in [`reference::row_sum`]'s order: the 16 partial
/// sums live in `K` accumulators of `N` lanes (`N·K = 16`), the tail is added lane by lane.
#[inline(always)]
pub(crate) fn row_mean<L: Lanes<N>, const N: usize, const K: usize, V: Variant>(
    v: V,
    p: &Prep,
    w: &[f32],
    g: &[f32],
) -> f32 {
    const { assert!(N * K == ROW_SUM_LANES) };
    if N == 1 {
        // one lane: the reference's loop, the smallest code (no unrolled accumulators)
        let k = PrepLanes::<f32>::new(p, 0.0);
        let mut partial = [-0.0f32; ROW_SUM_LANES];
        for (i, (&w, &g)) in w.iter().zip(g).enumerate() {
            partial[i % ROW_SUM_LANES] += decay(v, &k, w, g);
        }
        return reference::combine_partial_sums(partial) / w.len() as f32;
    }
    let k = PrepLanes::<L>::new(p, 0.0);
    let mut acc = [L::splat(-0.0); K];
    let (wb, wt) = w.as_chunks::<ROW_SUM_LANES>();
    let (gb, gt) = g.as_chunks::<ROW_SUM_LANES>();
    for (w, g) in wb.iter().zip(gb) {
        let (w, _) = w.as_chunks::<N>();
        let (g, _) = g.as_chunks::<N>();
        for ((a, w), g) in acc.iter_mut().zip(w).zip(g) {
            *a = a.add(decay(v, &k, L::load(w), L::load(g)));
        }
    }
    let mut partial = [0.0f32; ROW_SUM_LANES];
    for (a, p) in acc.iter().zip(partial.as_chunks_mut::<N>().0) {
        a.store(p);
    }
    let k1 = PrepLanes::<f32>::new(p, 0.0);
    for ((p, &w), &g) in partial.iter_mut().zip(wt).zip(gt) {
        *p += decay(v, &k1, w, g);
    }
    reference::combine_partial_sums(partial) / w.len() as f32
}

/// One momentum step over one validated, non-empty tensor.
#[inline(always)]
pub(crate) fn momentum<L: Lanes<N>, const N: usize, const K: usize, V: Variant>(
    v: V,
    c: &Consts,
    rows: Rows,
    w: &mut [f32],
    g: &[f32],
    m: &mut [f32],
) {
    let (mut w, mut g, mut m) = (w, g, m);
    while !w.is_empty() {
        let ((w_row, g_row, m_row), rest) = split_at(w, g, m, rows.len.min(w.len()));
        (w, g, m) = rest;
        let (w, g, m) = (w_row, g_row, m_row);
        let mean = if v.center() {
            row_mean::<L, N, K, V>(v, &c.prep, w, g)
        } else {
            0.0
        };
        if N == 1 {
            // one lane: no head or tail
            momentum_chunks::<L, N, V>(v, c, mean, w, g, m);
            continue;
        }
        let (head, body, tail) = split_aligned::<N>(w, g, m);
        for (w, g, m) in [head, tail] {
            momentum_chunks::<f32, 1, V>(v, c, mean, w, g, m);
        }
        momentum_chunks::<L, N, V>(v, c, mean, body.0, body.1, body.2);
    }
}

/// One SGD step over one validated, non-empty tensor.
#[inline(always)]
pub(crate) fn sgd<L: Lanes<N>, const N: usize, const K: usize, V: Variant>(
    v: V,
    c: &Consts,
    rows: Rows,
    w: &mut [f32],
    g: &[f32],
    a: &mut [f32],
) {
    let (mut w, mut g, mut a) = (w, g, a);
    while !w.is_empty() {
        let ((w_row, g_row, a_row), rest) = split_at(w, g, a, rows.len.min(w.len()));
        (w, g, a) = rest;
        let (w, g, a) = (w_row, g_row, a_row);
        let mean = if v.center() {
            row_mean::<L, N, K, V>(v, &c.prep, w, g)
        } else {
            0.0
        };
        if N == 1 {
            // one lane: no head or tail
            sgd_chunks::<L, N, V>(v, c, mean, w, g, a);
            continue;
        }
        let (head, body, tail) = split_aligned::<N>(w, g, a);
        for (w, g, a) in [head, tail] {
            sgd_chunks::<f32, 1, V>(v, c, mean, w, g, a);
        }
        sgd_chunks::<L, N, V>(v, c, mean, body.0, body.1, body.2);
    }
}
