//! Adam, AMSGrad and AdamWeightDecay, element by element in MindSpore's CPU arithmetic
//! (`docs/SEMANTICS-ADAM.md` §2–§5): `fma` is one rounding ([`crate::fma`]), `D(x)` the exact
//! widening to `f64`, `+d −d ÷d sqrt_d` are `f64` operations, everything else one `f32` operation.
//!
//! With `c1 = 1 ⊖ F(β1)`, `c2 = 1 ⊖ F(β2)` and the step's `lr_t`:
//!
//! | | |
//! |---|---|
//! | Adam, every element | `m ← fma(g ⊖ m, c1, m)`; `v ← fma(fma(g, g, −v), c2, v)` |
//! | Nesterov, body | `num = fma(g, c1, F(β1) ⊗ m) ⊗ lr_t` (plain: `lr_t ⊗ m`) |
//! | Nesterov, tail | `num = fma(m, F(β1), c1 ⊗ g) ⊗ lr_t` |
//! | body | `w ← w ⊖ (num ⊘ (sqrtf(v) ⊕ F(eps)))` |
//! | tail | `w ← F(D(w) −d D(num) ÷d (sqrt_d(D(v)) +d D(F(eps))))` |
//! | AMSGrad | `m ← m ⊕ ((g ⊖ m) ⊗ c1)`; `v ← v ⊕ (((g ⊗ g) ⊖ v) ⊗ c2)`; `v̂ ← max(v̂, v)`; `w ← w ⊖ ((lr_t ⊗ m) ⊘ (sqrtf(v̂) ⊕ F(eps)))` |
//! | AdamWeightDecay | Adam's `m`, `v`; `u = D(m) ÷d (sqrt_d(D(v)) +d D(F(eps))) +d D(w ⊗ decay)`; `w ← F(fma_d(−u, D(lr), D(w)))` |
//!
//! Which elements are body and which tail is MindSpore's work split over its `K` kernel threads
//! ([`chunk_len`], [`in_body`]); AMSGrad and AdamWeightDecay do not depend on it.

use core::num::{NonZeroU32, NonZeroUsize};

use super::{check_tensor, prepare, row_mean};
use crate::double::D;
use crate::error::{Buffer, Error};
use crate::fma::{adamw_params, fused_f32};
use crate::hyper::{AdamStep, AdamWStep, GradPrep};
use crate::sqrt::sqrt_f32;

/// The length of the chunks MindSpore's `AdamFp32` launch cuts a tensor of `n` elements into with
/// `K` threads (§3): `T = ⌈n / 1000⌉` chunks when `n < 1000·K`, else `K`; each `⌈n / T⌉` long,
/// the last one shorter. (`n` > 0.)
pub fn chunk_len(n: usize, threads: NonZeroU32) -> usize {
    // in u64: 1000·K does not overflow it, whatever the width of usize
    let (n64, k) = (n as u64, threads.get() as u64);
    let chunks = if n64 < k * 1000 {
        n64.div_ceil(1000)
    } else {
        k
    };
    // chunks ≤ n when n > 0: the quotient fits a usize
    n64.div_ceil(chunks.max(1)) as usize
}

/// Whether element `i` of a tensor of `n` elements cut in chunks of `chunk` takes the vector
/// (body) formula: the first `8·⌊len/8⌋` elements of its chunk do, the rest (the tail) do not.
pub fn in_body(i: usize, n: usize, chunk: usize) -> bool {
    let start = i / chunk * chunk;
    let len = chunk.min(n - start);
    i < start + len / 8 * 8
}

/// One Adam update (plain or Nesterov) of one element with its prepared gradient `g`, by the body
/// or the tail formula; returns `(w, m, v)`.
pub fn adam_update(w: f32, m: f32, v: f32, g: f32, step: &AdamStep, body: bool) -> (f32, f32, f32) {
    let b = step.betas();
    let (c1, c2, lr_t) = (b.c1(), b.c2(), step.lr_t());
    let m = fused_f32(g - m, c1, m);
    let v = fused_f32(fused_f32(g, g, -v), c2, v);
    let num = match (step.nesterov(), body) {
        (false, _) => lr_t * m,
        (true, true) => fused_f32(g, c1, b.beta1() * m) * lr_t,
        (true, false) => fused_f32(m, b.beta1(), c1 * g) * lr_t,
    };
    let w = if body {
        w - num / (sqrt_f32(v) + b.eps())
    } else {
        (D::of(w) - D::of(num) / (D::sqrt_of(v) + D::of(b.eps()))).to_f32()
    };
    (w, m, v)
}

/// One AMSGrad update of one element: plain `f32`, no fused operation; returns `(w, m, v, v̂)`.
/// `max` is C++'s `std::max(v̂, v)`: `v` where `v̂ < v`, else `v̂`.
pub fn amsgrad_update(w: f32, m: f32, v: f32, vhat: f32, g: f32, step: &AdamStep) -> [f32; 4] {
    let b = step.betas();
    let m = m + (g - m) * b.c1();
    let v = v + ((g * g) - v) * b.c2();
    let vhat = if vhat < v { v } else { vhat };
    let w = w - (step.lr_t() * m) / (sqrt_f32(vhat) + b.eps());
    [w, m, v, vhat]
}

/// One AdamWeightDecay update of one element with its (centralized or plain) gradient `g`;
/// returns `(w, m, v)`.
pub fn adamw_update(w: f32, m: f32, v: f32, g: f32, step: &AdamWStep) -> (f32, f32, f32) {
    let b = step.betas();
    let m = fused_f32(g - m, b.c1(), m);
    let v = fused_f32(fused_f32(g, g, -v), b.c2(), v);
    // u = D(m) ÷d (sqrt_d(D(v)) +d D(eps)) +d D(w ⊗ decay); w ← F(fma_d(−u, D(lr), D(w)))
    let w = adamw_params(w, m, v, step.decay(), b.eps(), step.lr());
    (w, m, v)
}

/// Validates one Adam call's buffers (`vhat` as long as the parameters with AMSGrad, empty
/// without); `None` means there is nothing to update.
pub(crate) fn check_adam(
    lens: [usize; 5],
    centralize: Option<NonZeroUsize>,
    amsgrad: bool,
) -> Result<Option<super::Rows>, Error> {
    let [n, grads, m, v, vhat] = lens;
    let states: &[usize] = if amsgrad { &[m, v, vhat] } else { &[m, v] };
    let rows = check_tensor(n, grads, states, centralize)?;
    if !amsgrad && vhat != 0 {
        return Err(Error::LengthMismatch {
            buffer: Buffer::State,
            expected: 0,
            actual: vhat,
        });
    }
    Ok(rows)
}

/// One `nn.Adam` step over one tensor, in place: `m` and `v` are its moments, `vhat` AMSGrad's
/// `v̂` (as long as the parameters with AMSGrad, empty without). `centralize` as in
/// [`super::momentum`]. On error nothing is written.
pub fn adam(
    params: &mut [f32],
    grads: &[f32],
    m: &mut [f32],
    v: &mut [f32],
    vhat: &mut [f32],
    centralize: Option<NonZeroUsize>,
    step: &AdamStep,
) -> Result<(), Error> {
    let n = params.len();
    let lens = [n, grads.len(), m.len(), v.len(), vhat.len()];
    let Some(rows) = check_adam(lens, centralize, step.amsgrad())? else {
        return Ok(());
    };
    let prep = step.prep();
    let chunk = chunk_len(n, step.threads());
    for start in (0..n).step_by(rows.len) {
        let end = start + rows.len;
        let mean = rows
            .centered
            .then(|| row_mean(&params[start..end], &grads[start..end], prep));
        for i in start..end {
            let g = prepare(params[i], grads[i], mean, prep);
            if step.amsgrad() {
                [params[i], m[i], v[i], vhat[i]] =
                    amsgrad_update(params[i], m[i], v[i], vhat[i], g, step);
            } else {
                (params[i], m[i], v[i]) =
                    adam_update(params[i], m[i], v[i], g, step, in_body(i, n, chunk));
            }
        }
    }
    Ok(())
}

/// One `nn.AdamWeightDecay` step over one tensor, in place; `centralize` subtracts each row's
/// mean gradient first (MindSpore ignores the group's switch: DESIGN divergence 8). On error
/// nothing is written.
pub fn adamw(
    params: &mut [f32],
    grads: &[f32],
    m: &mut [f32],
    v: &mut [f32],
    centralize: Option<NonZeroUsize>,
    step: &AdamWStep,
) -> Result<(), Error> {
    let n = params.len();
    let Some(rows) = check_tensor(n, grads.len(), &[m.len(), v.len()], centralize)? else {
        return Ok(());
    };
    let prep = GradPrep::NONE;
    for start in (0..n).step_by(rows.len) {
        let end = start + rows.len;
        let mean = rows
            .centered
            .then(|| row_mean(&params[start..end], &grads[start..end], &prep));
        for i in start..end {
            let g = prepare(params[i], grads[i], mean, &prep);
            (params[i], m[i], v[i]) = adamw_update(params[i], m[i], v[i], g, step);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mindspores_work_split() {
        let k = |k: u32| NonZeroU32::new(k).unwrap();
        // n ≤ 1000: one chunk, whatever K
        assert_eq!(chunk_len(1000, k(2)), 1000);
        assert_eq!(chunk_len(7, k(4)), 7);
        // n = 1003: K = 1 one chunk, K = 2 chunks of 502 and 501 (§3's example)
        assert_eq!(chunk_len(1003, k(1)), 1003);
        assert_eq!(chunk_len(1003, k(2)), 502);
        let tail = |chunk| (0..1003).filter(move |&i| !in_body(i, 1003, chunk));
        assert!(tail(502).eq((496..502).chain(998..1003)));
        assert!(tail(1003).eq(1000..1003));
        // K = 4, n = 2500: three chunks of 834 (the last 832), from MindSpore's source
        assert_eq!(chunk_len(2500, k(4)), 834);
        // n ≥ 1000·K: K chunks
        assert_eq!(chunk_len(9999, k(2)), 5000);
        // no overflow at the extremes of either width: the formula in u128
        for (n, threads) in [
            (usize::MAX / 2, u32::MAX),
            (usize::MAX, 7),
            (usize::MAX, u32::MAX),
        ] {
            let (n128, k128) = (n as u128, threads as u128);
            let chunks = if n128 < 1000 * k128 {
                n128.div_ceil(1000)
            } else {
                k128
            };
            assert_eq!(
                chunk_len(n, k(threads)) as u128,
                n128.div_ceil(chunks),
                "{n} {threads}"
            );
        }
    }
}
