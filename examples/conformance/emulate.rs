//! The DESIGN formulas, written out independently of gradstep's kernels, for the cases where
//! gradstep deliberately differs from MindSpore (a static group lr used exactly, Nesterov,
//! AdamWeightDecay's centralization): the runner checks gradstep's semantics against these.
//!
//! Fused multiply-adds here are the standard library's `mul_add` (not gradstep's `fma` module),
//! the square roots and divisions plain Rust: a second, independent reading of
//! `docs/SEMANTICS.md` and `docs/SEMANTICS-ADAM.md`.

use golden::{Optimizer, Trajectory};

use crate::runner::{After, Run, lr_at};

/// The whole trajectory under the DESIGN formulas of its optimizer.
pub fn emulate(t: &Trajectory) -> Result<Run, String> {
    match t.optimizer {
        Optimizer::Momentum | Optimizer::Sgd => momentum_or_sgd(t),
        Optimizer::Adam | Optimizer::AdamWeightDecay => adam(t),
    }
}

/// Per parameter (creation order): its initial values, and zeroed state buffers.
fn start(t: &Trajectory, buffers: usize) -> (Vec<Vec<f32>>, Vec<Vec<Vec<f32>>>) {
    let w: Vec<Vec<f32>> = t.params.iter().map(|p| p.initial.clone()).collect();
    let zeros = w.iter().map(|p| vec![0.0; p.len()]).collect::<Vec<_>>();
    (w, vec![zeros; buffers])
}

/// The gradient after coupled weight decay `F(wd·L)` and unscaling by `F(1/L)`.
fn coupled(w: f32, grad: f32, wd: f64, scale: f64) -> f32 {
    let grad = if wd * scale > 0.0 {
        w * (wd * scale) as f32 + grad
    } else {
        grad
    };
    if scale != 1.0 {
        grad * (1.0 / scale) as f32
    } else {
        grad
    }
}

/// MindSpore's momentum step (SEMANTICS §2.2) and SGD step (§2.3).
fn momentum_or_sgd(t: &Trajectory) -> Result<Run, String> {
    let h = &t.hyper;
    let mu = h.momentum as f32;
    let keep = 1.0 - h.dampening as f32;
    let (mut w, mut s) = start(t, 1);
    let mut run = vec![];
    for (k, st) in t.steps.iter().enumerate() {
        for (j, g) in t.groups.iter().enumerate() {
            if g.centralize {
                return Err("centralization is not emulated for Momentum and SGD".into());
            }
            let lr = lr_at(&g.lr, k)?;
            for ((w, m), &grad) in w[j].iter_mut().zip(s[0][j].iter_mut()).zip(&st.grads[j]) {
                let grad = coupled(*w, grad, g.weight_decay, h.loss_scale);
                match t.optimizer {
                    Optimizer::Momentum => {
                        *m = *m * mu + grad;
                        *w = if h.nesterov {
                            *w - (grad * lr + *m * mu * lr)
                        } else {
                            *w - *m * lr
                        };
                    }
                    _ if mu > 0.0 => {
                        *m = if k == 0 { grad } else { *m * mu + keep * grad };
                        let u = if h.nesterov { grad + *m * mu } else { *m };
                        *w -= lr * u;
                    }
                    _ => *w -= lr * grad,
                }
            }
        }
        run.push(After {
            params: w.clone(),
            state: s.clone(),
            scalars: vec![],
            global_step: k as u32 + 1,
        });
    }
    Ok(run)
}

/// Whether element `i` of a tensor of `n` takes Adam's vector formula under `K` threads
/// (SEMANTICS-ADAM §3): the first `8·⌊len/8⌋` of each of MindSpore's chunks.
fn in_body(i: usize, n: usize, threads: u32) -> bool {
    let k = threads as usize;
    let chunks = if n < 1000 * k { n.div_ceil(1000) } else { k };
    let size = n.div_ceil(chunks);
    let start = i / size * size;
    let len = size.min(n - start);
    i < start + len / 8 * 8
}

/// The mean of a row of gradients, in the reduction order gradstep defines (its reference).
fn row_mean(w: &[f32], g: &[f32]) -> f32 {
    gradstep::reference::row_mean(w, g, &gradstep::hyper::GradPrep::NONE)
}

/// `nn.Adam` (SEMANTICS-ADAM §1–§4) and `nn.AdamWeightDecay` (§5).
fn adam(t: &Trajectory) -> Result<Run, String> {
    let h = &t.hyper;
    let is_adamw = t.optimizer == Optimizer::AdamWeightDecay;
    let (b1, b2, eps) = (h.beta1 as f32, h.beta2 as f32, h.eps as f32);
    let (c1, c2) = (1.0 - b1, 1.0 - b2);
    let amsgrad = h.amsgrad && !is_adamw;
    if amsgrad && h.nesterov {
        return Err("AMSGrad with Nesterov has no DESIGN formula (divergence 7)".into());
    }
    let (mut w, mut s) = start(t, if amsgrad { 3 } else { 2 });
    let (mut b1p, mut b2p) = (1.0f32, 1.0f32);
    let mut run = vec![];
    for (k, st) in t.steps.iter().enumerate() {
        (b1p, b2p) = (b1p * b1, b2p * b2);
        for (j, g) in t.groups.iter().enumerate() {
            let lr = lr_at(&g.lr, k)?;
            let lr_t = (lr * (1.0 - b2p).sqrt()) / (1.0 - b1p);
            let n = w[j].len();
            // gradstep centralizes the rows (first dimension) of tensors of rank ≥ 2
            let rows = match t.params[j].shape.as_slice() {
                [rows, rest @ ..] if g.centralize && !rest.is_empty() => Some(*rows),
                _ => None,
            };
            if rows.is_some() && !is_adamw {
                return Err("centralization is not emulated for Adam".into());
            }
            let mut grads: Vec<f32> = st.grads[j].clone();
            if !is_adamw {
                for (x, &wi) in grads.iter_mut().zip(&w[j]) {
                    *x = coupled(wi, *x, g.weight_decay, h.loss_scale);
                }
            }
            if let Some(rows) = rows {
                let len = n / rows;
                for r in 0..rows {
                    let span = r * len..(r + 1) * len;
                    let mean = row_mean(&w[j][span.clone()], &grads[span.clone()]);
                    grads[span].iter_mut().for_each(|x| *x -= mean);
                }
            }
            let decay = g.weight_decay as f32;
            for (i, &g) in grads.iter().enumerate() {
                let (wi, m, v) = (w[j][i], s[0][j][i], s[1][j][i]);
                if amsgrad {
                    let m = m + (g - m) * c1;
                    let v = v + (g * g - v) * c2;
                    let vh = if s[2][j][i] < v { v } else { s[2][j][i] };
                    w[j][i] = wi - (lr_t * m) / (vh.sqrt() + eps);
                    (s[0][j][i], s[1][j][i], s[2][j][i]) = (m, v, vh);
                    continue;
                }
                let m = (g - m).mul_add(c1, m);
                let v = g.mul_add(g, -v).mul_add(c2, v);
                w[j][i] = if is_adamw {
                    let u = m as f64 / ((v as f64).sqrt() + eps as f64) + (wi * decay) as f64;
                    (-u).mul_add(lr as f64, wi as f64) as f32
                } else if in_body(i, n, h.threads) {
                    let num = if h.nesterov {
                        g.mul_add(c1, b1 * m) * lr_t
                    } else {
                        lr_t * m
                    };
                    wi - num / (v.sqrt() + eps)
                } else {
                    let num = if h.nesterov {
                        m.mul_add(b1, c1 * g) * lr_t
                    } else {
                        lr_t * m
                    };
                    (wi as f64 - num as f64 / ((v as f64).sqrt() + eps as f64)) as f32
                };
                (s[0][j][i], s[1][j][i]) = (m, v);
            }
        }
        run.push(After {
            params: w.clone(),
            state: s.clone(),
            scalars: if is_adamw { vec![] } else { vec![b1p, b2p] },
            global_step: k as u32 + 1,
        });
    }
    Ok(run)
}
