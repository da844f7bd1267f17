//! Test data and steps in parts, shared by the optimizer tests.

use gradstep::{Group, Optimizer, Part, Rule};

/// `n` pseudo-random values in `[−scale/2, scale/2)`, the same for the same seed.
pub fn values(seed: u32, n: usize, scale: f32) -> Vec<f32> {
    let mut x = seed.wrapping_mul(2_654_435_761).max(1);
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            ((x >> 8) as f32 / (1 << 24) as f32 - 0.5) * scale
        })
        .collect()
}

/// Cuts the whole buffers into parts before the tensors `cuts` (ascending indices), with
/// [`Optimizer::split`].
pub fn parts<'a, 'b, R: Rule, G: AsRef<[Group<'a>]> + AsMut<[Group<'a>]>>(
    opt: &Optimizer<'a, R, G>,
    cuts: &[usize],
    params: &'b mut [f32],
    grads: &'b [f32],
    state: &'b mut [f32],
) -> Vec<Part<'b>> {
    let n = opt.tensors().len();
    let mut rest = opt.part(0..n, params, grads, state).unwrap();
    let mut out = vec![];
    for &t in cuts {
        let at = opt.elements(0..t).unwrap().end;
        let (a, b) = opt.split(rest, at).unwrap();
        out.push(a);
        rest = b;
    }
    out.push(rest);
    out
}

/// Steps `opt` over `steps` steps with the gradients `grads(k)`, in parts cut at `cuts`, taken
/// in reverse order if asked.
pub fn step_in_parts<'a, R: Rule, G: AsRef<[Group<'a>]> + AsMut<[Group<'a>]>>(
    opt: &mut Optimizer<'a, R, G>,
    cuts: &[usize],
    reverse: bool,
    steps: u32,
    grads: impl Fn(u32) -> Vec<f32>,
    w: &mut [f32],
    s: &mut [f32],
) {
    for k in 0..steps {
        let g = grads(k);
        let token = opt.begin_step().unwrap();
        let mut ps = parts(opt, cuts, w, &g, s);
        if reverse {
            ps.reverse();
        }
        for p in ps {
            opt.step_part(&token, p).unwrap();
        }
        opt.end_step(token).unwrap();
    }
}
