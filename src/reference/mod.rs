//! The scalar reference: the executable form of the spec.
//!
//! One optimizer update per element, in MindSpore's exact op order (`docs/SEMANTICS.md` §1.4–1.6, §2.1–2.3),
//! every operation a single IEEE-754 binary32 `+ − × ÷`, never a fused multiply-add. Every kernel
//! path in [`crate::kernel`] returns the same bits as this module, for every length and every
//! value (for NaN, the same NaN-ness).
//!
//! Notation in the docs: `⊕ ⊖ ⊗ ⊘` are single `f32` operations, `F(x)` rounds an `f64` to `f32`.
//!
//! Gradient preparation per element, in this order:
//! 1. coupled weight decay `g ← (w ⊗ F(wd·L)) ⊕ g`, when weight decay is on;
//! 2. gradient centralization `g ← g ⊖ mean`, where `mean` is the mean of the decayed gradients of
//!    the element's row (see [`row_sum`] for the one summation order);
//! 3. loss-scale unscaling `g ← g ⊗ F(1/L)`, when the loss scale is not 1.

use core::num::NonZeroUsize;

mod adam;

pub(crate) use adam::check_adam;
pub use adam::{adam, adam_update, adamw, adamw_update, amsgrad_update, chunk_len, in_body};

use crate::error::{Buffer, Error};
use crate::hyper::{GradPrep, MomentumStep, SgdStep};

/// The number of partial sums in [`row_sum`].
pub const ROW_SUM_LANES: usize = 16;

/// Coupled weight decay (§1.4): `(w ⊗ F(wd·L)) ⊕ g`, or `g` when weight decay is off.
pub fn decay(w: f32, g: f32, prep: &GradPrep) -> f32 {
    match prep.decay() {
        Some(c) => w * c + g,
        None => g,
    }
}

/// Loss-scale unscaling (§1.6): `g ⊗ F(1/L)`, or `g` when the loss scale is 1.
pub fn unscale(g: f32, prep: &GradPrep) -> f32 {
    match prep.unscale() {
        Some(r) => g * r,
        None => g,
    }
}

/// The sum of `values` in the crate's one summation order.
///
/// Value `i` is added to partial sum `i mod 16`, in index order; each partial sum starts at `−0.0`,
/// which `⊕` leaves every value unchanged by. The 16 partial sums are then combined by
/// [`combine_partial_sums`]. The order is chosen so that 1, 4, 8 or 16 lanes all follow it
/// without reordering.
pub fn row_sum(values: impl IntoIterator<Item = f32>) -> f32 {
    let mut partial = [-0.0f32; ROW_SUM_LANES];
    for (i, x) in values.into_iter().enumerate() {
        partial[i % ROW_SUM_LANES] += x;
    }
    combine_partial_sums(partial)
}

/// Combines 16 partial sums pairwise, halving: `p[j] ← p[j] ⊕ p[j + 8]` for `j < 8`, then
/// `p[j] ⊕ p[j + 4]` for `j < 4`, then `p[j] ⊕ p[j + 2]`, then `p[0] ⊕ p[1]`.
pub fn combine_partial_sums(mut partial: [f32; ROW_SUM_LANES]) -> f32 {
    let mut width = ROW_SUM_LANES;
    while width > 1 {
        width /= 2;
        for j in 0..width {
            partial[j] += partial[j + width];
        }
    }
    partial[0]
}

/// The mean of one row of decayed gradients: [`row_sum`] of `decay(w, g)` over the row, `⊘` the
/// row length as `f32`. An empty row has mean 0.
pub fn row_mean(params_row: &[f32], grads_row: &[f32], prep: &GradPrep) -> f32 {
    if params_row.is_empty() {
        return 0.0;
    }
    let sum = row_sum(
        params_row
            .iter()
            .zip(grads_row)
            .map(|(&w, &g)| decay(w, g, prep)),
    );
    sum / params_row.len() as f32
}

/// The prepared gradient of one element: decay, then `⊖ mean` when the tensor is centralized
/// (`mean` is its row's [`row_mean`]), then unscale.
pub fn prepare(w: f32, g: f32, mean: Option<f32>, prep: &GradPrep) -> f32 {
    let g = decay(w, g, prep);
    let g = match mean {
        Some(mean) => g - mean,
        None => g,
    };
    unscale(g, prep)
}

/// One momentum update of one element with its prepared gradient `g`; returns `(w, m)`.
///
/// `ApplyMomentum` (§2.1): `m ← (m ⊗ μ) ⊕ g`, then `w ← w ⊖ (m ⊗ lr)`.
/// Nesterov (`docs/DESIGN.md`, divergence 1): the same `m`, then `w ← w ⊖ ((g ⊗ lr) ⊕ ((m ⊗ μ) ⊗ lr))`.
pub fn momentum_update(w: f32, m: f32, g: f32, step: &MomentumStep) -> (f32, f32) {
    let (lr, mu) = (step.lr(), step.momentum());
    let m = m * mu + g;
    let w = if step.nesterov() {
        w - (g * lr + m * mu * lr)
    } else {
        w - m * lr
    };
    (w, m)
}

/// One `nn.SGD` update of one element with its prepared gradient `g`; returns `(w, acc)`.
///
/// With `μ > 0` (§2.3): on the first step `acc ← g`, afterwards
/// `acc ← (acc ⊗ μ) ⊕ ((1 ⊖ F(dampening)) ⊗ g)`; the direction is `u = g ⊕ (acc ⊗ μ)` with
/// Nesterov, else `u = acc`. With `μ = 0`: `u = g` and `acc` is left as it is.
/// Then `w ← w ⊖ (lr ⊗ u)`.
pub fn sgd_update(w: f32, acc: f32, g: f32, step: &SgdStep) -> (f32, f32) {
    let (lr, mu) = (step.lr(), step.momentum());
    if mu > 0.0 {
        let acc = if step.is_first() {
            g
        } else {
            acc * mu + (1.0 - step.dampening()) * g
        };
        let u = if step.nesterov() { g + acc * mu } else { acc };
        (w - lr * u, acc)
    } else {
        (w - lr * g, acc)
    }
}

/// One tensor's rows: the row length (≥ 1) and whether the rows are centralized.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Rows {
    pub len: usize,
    pub centered: bool,
}

/// Validates one tensor's buffers (each state buffer as long as the parameters); `None` means
/// there is nothing to update (an empty tensor).
pub(crate) fn check_tensor(
    params: usize,
    grads: usize,
    states: &[usize],
    centralize: Option<NonZeroUsize>,
) -> Result<Option<Rows>, Error> {
    if grads != params {
        return Err(Error::LengthMismatch {
            buffer: Buffer::Grads,
            expected: params,
            actual: grads,
        });
    }
    if let Some(&state) = states.iter().find(|&&s| s != params) {
        return Err(Error::LengthMismatch {
            buffer: Buffer::State,
            expected: params,
            actual: state,
        });
    }
    let rows = match centralize {
        None => Rows {
            len: params,
            centered: false,
        },
        Some(rows) if params.is_multiple_of(rows.get()) => Rows {
            len: params / rows.get(),
            centered: true,
        },
        Some(rows) => {
            return Err(Error::BadRows {
                len: params,
                rows: rows.get(),
            });
        }
    };
    Ok((params > 0).then_some(rows))
}

/// One momentum step over one tensor, in place.
///
/// `centralize` is `None`, or the tensor's leading dimension (its row count, which must divide the
/// length) to subtract each row's mean from its gradients. On error nothing is written.
pub fn momentum(
    params: &mut [f32],
    grads: &[f32],
    state: &mut [f32],
    centralize: Option<NonZeroUsize>,
    step: &MomentumStep,
) -> Result<(), Error> {
    let Some(rows) = check_tensor(params.len(), grads.len(), &[state.len()], centralize)? else {
        return Ok(());
    };
    let prep = step.prep();
    for ((w_row, g_row), m_row) in params
        .chunks_mut(rows.len)
        .zip(grads.chunks(rows.len))
        .zip(state.chunks_mut(rows.len))
    {
        let mean = rows.centered.then(|| row_mean(w_row, g_row, prep));
        for ((w, &g), m) in w_row.iter_mut().zip(g_row).zip(m_row) {
            let g = prepare(*w, g, mean, prep);
            (*w, *m) = momentum_update(*w, *m, g, step);
        }
    }
    Ok(())
}

/// One `nn.SGD` step over one tensor, in place; `state` is the momentum buffer `accum`.
/// `centralize` as in [`momentum`]. On error nothing is written.
pub fn sgd(
    params: &mut [f32],
    grads: &[f32],
    state: &mut [f32],
    centralize: Option<NonZeroUsize>,
    step: &SgdStep,
) -> Result<(), Error> {
    let Some(rows) = check_tensor(params.len(), grads.len(), &[state.len()], centralize)? else {
        return Ok(());
    };
    let prep = step.prep();
    for ((w_row, g_row), a_row) in params
        .chunks_mut(rows.len)
        .zip(grads.chunks(rows.len))
        .zip(state.chunks_mut(rows.len))
    {
        let mean = rows.centered.then(|| row_mean(w_row, g_row, prep));
        for ((w, &g), a) in w_row.iter_mut().zip(g_row).zip(a_row) {
            let g = prepare(*w, g, mean, prep);
            (*w, *a) = sgd_update(*w, *a, g, step);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn row_sum_follows_the_documented_order() {
        // 2^24 then sixteen 1.0s: a sequential sum loses every 1.0 (2^24 + 1 rounds to 2^24).
        // Here value 16 joins partial 0 (lost to rounding), partials 1..15 hold 1.0 each, and the
        // tree adds 2^24 + (1+1) + (2+2) + (4+4) + (8+8) - 2 ... by hand:
        // level 8: [2^24, 2, 2, 2, 2, 2, 2, 2]; level 4: [2^24+2, 4, 4, 4];
        // level 2: [2^24+6, 8]; level 1: 2^24+14.
        let mut values = [1.0f32; 17];
        values[0] = 16_777_216.0;
        assert_eq!(row_sum(values), 16_777_230.0);
        let sequential: f32 = values.iter().sum();
        assert_eq!(sequential, 16_777_216.0);
    }

    #[test]
    fn row_sum_keeps_the_sign_of_zero() {
        assert_eq!(row_sum([-0.0f32; 5]).to_bits(), (-0.0f32).to_bits());
        assert_eq!(row_sum([-0.0f32, 0.0]).to_bits(), 0.0f32.to_bits());
        assert_eq!(row_sum([]).to_bits(), (-0.0f32).to_bits());
    }

    #[test]
    fn combine_is_pairwise_halving() {
        let mut p = [0.0f32; ROW_SUM_LANES];
        // Only lanes 0 and 8 meet at the first level: 1 + 2^-24 is lost if 1 meets it alone.
        p[0] = 1.0;
        p[8] = f32::EPSILON / 2.0;
        p[4] = f32::EPSILON / 2.0;
        // level 8: p0 = 1 + eps/2 = 1 (tie to even), p4 = eps/2; level 4: 1 + eps/2 = 1.
        assert_eq!(combine_partial_sums(p), 1.0);
        p[12] = f32::EPSILON / 2.0;
        // p4 + p12 = eps at level 8; level 4: 1 + eps = next float after 1.
        assert_eq!(combine_partial_sums(p), 1.0 + f32::EPSILON);
    }

    #[test]
    fn a_row_of_negative_zeros_centralizes_to_positive_zero() {
        let prep = GradPrep::NONE;
        let (w, g) = ([1.0f32; 3], [-0.0f32; 3]);
        let mean = row_mean(&w, &g, &prep);
        assert_eq!(mean.to_bits(), (-0.0f32).to_bits());
        // -0 ⊖ -0 = +0
        assert_eq!(
            prepare(1.0, -0.0, Some(mean), &prep).to_bits(),
            0.0f32.to_bits()
        );
    }

    #[test]
    fn decay_and_unscale_follow_mindspore_order() {
        let prep = GradPrep::new(0.01, 3.0).unwrap();
        let (w, g) = (1.055_098_5_f32, -9.797_239_f32);
        let expected = ((w * (0.01f64 * 3.0) as f32) + g) * (1.0f64 / 3.0) as f32;
        assert_eq!(prepare(w, g, None, &prep).to_bits(), expected.to_bits());
        // not the same as decaying and unscaling separately (SEMANTICS §1.6)
        let separate = w * 0.01f32 + g * (1.0f64 / 3.0) as f32;
        assert_ne!(expected.to_bits(), separate.to_bits());
    }

    #[test]
    fn skipped_decay_keeps_a_negative_zero_gradient() {
        // (w ⊗ 0) ⊕ −0 would be +0: "off" must mean "not applied", not "applied with 0".
        assert_eq!(
            decay(2.0, -0.0, &GradPrep::NONE).to_bits(),
            (-0.0f32).to_bits()
        );
    }

    #[test]
    fn sgd_without_momentum_leaves_the_buffer() {
        let step = SgdStep::new(0.5, 0.0, 0.3, false, GradPrep::NONE).unwrap();
        assert_eq!(sgd_update(1.0, 7.0, 1.0, &step), (0.5, 7.0));
        let first = step.first_step(true);
        assert_eq!(sgd_update(1.0, 7.0, 1.0, &first), (0.5, 7.0));
    }

    #[test]
    fn sgd_first_step_takes_the_gradient_undamped() {
        let step = SgdStep::new(0.5, 0.9, 0.3, false, GradPrep::NONE).unwrap();
        assert_eq!(
            sgd_update(1.0, 7.0, 2.0, &step.first_step(true)),
            (0.0, 2.0)
        );
        let acc = 7.0f32 * 0.9f64 as f32 + (1.0 - 0.3f64 as f32) * 2.0;
        assert_eq!(sgd_update(1.0, 7.0, 2.0, &step), (1.0 - 0.5 * acc, acc));
    }

    #[test]
    fn bad_tensors_are_rejected_before_any_write() {
        let step = MomentumStep::new(0.1, 0.9, false, GradPrep::NONE).unwrap();
        let (mut w, mut m) = ([1.0f32; 6], [0.0f32; 6]);
        let g = [1.0f32; 6];
        let r = momentum(&mut w, &g[..5], &mut m, None, &step);
        assert_eq!(
            r,
            Err(Error::LengthMismatch {
                buffer: Buffer::Grads,
                expected: 6,
                actual: 5
            })
        );
        let r = momentum(&mut w, &g, &mut m[..4], None, &step);
        assert_eq!(
            r,
            Err(Error::LengthMismatch {
                buffer: Buffer::State,
                expected: 6,
                actual: 4
            })
        );
        assert_eq!(
            momentum(&mut w, &g, &mut m, NonZeroUsize::new(4), &step),
            Err(Error::BadRows { len: 6, rows: 4 })
        );
        assert_eq!((w, m), ([1.0; 6], [0.0; 6]));
        // empty tensors are fine, with or without rows
        assert_eq!(
            momentum(&mut [], &[], &mut [], NonZeroUsize::new(3), &step),
            Ok(())
        );
    }
}
