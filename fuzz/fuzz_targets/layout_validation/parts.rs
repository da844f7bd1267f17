//! What the twins are compared by: their buffers and observable state, the scalar reference
//! of a whole step, and steps in parts (cuts, copies of a part's state, the calls on a part).

use super::*;

/// The buffers of one optimizer.
#[derive(Clone)]
pub(crate) struct Bufs {
    pub(crate) p: Vec<f32>,
    pub(crate) s: Vec<f32>,
}

pub(crate) type Observed = (u32, Vec<Result<u32, Error>>);

/// Everything observable of an optimizer (besides its buffers): the step counter and each
/// group's next learning rate.
pub(crate) fn observe<'a, R: Rule, G>(o: &Optimizer<'a, R, G>) -> Observed
where
    G: AsRef<[Group<'a>]> + AsMut<[Group<'a>]>,
{
    let lrs = (0..=o.groups().len())
        .map(|g| o.lr(g).map(f32::to_bits))
        .collect();
    (o.global_step(), lrs)
}

#[track_caller]
pub(crate) fn assert_unchanged<'a, R: Rule, G>(
    what: &str,
    o: &Optimizer<'a, R, G>,
    before: &Observed,
    bufs: &Bufs,
    saved: &Bufs,
) where
    G: AsRef<[Group<'a>]> + AsMut<[Group<'a>]>,
{
    assert_eq!(
        &observe(o),
        before,
        "{what}: the optimizer changed on error"
    );
    assert_bits(&format!("{what}: params"), &bufs.p, &saved.p);
    assert_bits(&format!("{what}: state"), &bufs.s, &saved.s);
}

/// FNV-1a, 32 bits: the checksum of the saved-state format (`src/state.rs`).
pub(crate) fn fnv1a(bytes: &[u8]) -> u32 {
    bytes.iter().fold(0x811c_9dc5, |h, &b| {
        (h ^ b as u32).wrapping_mul(0x0100_0193)
    })
}

/// What a rule does to one tensor, through the public reference: the update this optimizer's
/// step must apply, with its group's learning rate `lr` and gradient preparation `prep`, built
/// from the settings the optimizer was built with.
pub(crate) trait Reference: Rule + PartialEq + Copy {
    #[allow(clippy::too_many_arguments)]
    fn reference(
        &self,
        settings: &(MomentumSettings, SgdSettings),
        lr: f32,
        prep: GradPrep,
        w: &mut [f32],
        g: &[f32],
        s: &mut [f32],
        rows: Option<NonZeroUsize>,
    );
    /// The loss scale the optimizer was built with.
    fn loss_scale(settings: &(MomentumSettings, SgdSettings)) -> f64;
}

impl Reference for MomentumRule {
    fn reference(
        &self,
        (ms, _): &(MomentumSettings, SgdSettings),
        lr: f32,
        prep: GradPrep,
        w: &mut [f32],
        g: &[f32],
        s: &mut [f32],
        rows: Option<NonZeroUsize>,
    ) {
        let step = MomentumStep::new(lr, ms.momentum, ms.nesterov, prep)
            .expect("the constants of a built optimizer");
        assert_eq!(step.momentum().to_bits(), self.momentum().to_bits());
        assert_eq!(step.nesterov(), self.nesterov());
        reference::momentum(w, g, s, rows, &step).expect("a tensor of a checked layout");
    }
    fn loss_scale(settings: &(MomentumSettings, SgdSettings)) -> f64 {
        settings.0.loss_scale
    }
}

impl Reference for SgdRule {
    fn reference(
        &self,
        (_, ss): &(MomentumSettings, SgdSettings),
        lr: f32,
        prep: GradPrep,
        w: &mut [f32],
        g: &[f32],
        s: &mut [f32],
        rows: Option<NonZeroUsize>,
    ) {
        let step = SgdStep::new(lr, ss.momentum, ss.dampening, ss.nesterov, prep)
            .expect("the constants of a built optimizer")
            .first_step(!self.started());
        assert_eq!(step.momentum().to_bits(), self.momentum().to_bits());
        assert_eq!(step.dampening().to_bits(), self.dampening().to_bits());
        assert_eq!(step.nesterov(), self.nesterov());
        reference::sgd(w, g, s, rows, &step).expect("a tensor of a checked layout");
    }
    fn loss_scale(settings: &(MomentumSettings, SgdSettings)) -> f64 {
        settings.1.loss_scale
    }
}

/// The whole step `o` is about to take, by the reference, tensor by tensor (one state buffer).
pub(crate) fn reference_step<'a, R: Reference, G>(
    o: &Optimizer<'a, R, G>,
    settings: &(MomentumSettings, SgdSettings),
    bufs: &mut Bufs,
    grads: &[f32],
) where
    G: AsRef<[Group<'a>]> + AsMut<[Group<'a>]>,
{
    let mut at = 0;
    for t in o.tensors() {
        let g = &o.groups()[t.group];
        let lr = o
            .lr(t.group)
            .expect("the learning rate of a step that succeeded");
        let prep = GradPrep::new(g.weight_decay(), R::loss_scale(settings))
            .expect("the preparation of a built optimizer");
        let rows = t.rows.filter(|_| g.centralize());
        let r = at..at + t.len;
        o.rule().reference(
            settings,
            lr,
            prep,
            &mut bufs.p[r.clone()],
            &grads[r.clone()],
            &mut bufs.s[r],
            rows,
        );
        at += t.len;
    }
}

/// Cuts `part` into pieces at `n` random tensors (`Optimizer::split`), the pieces in a random
/// order.
pub(crate) fn cut<'a, 'b, R: Rule, G>(
    r: &mut Reader,
    o: &Optimizer<'a, R, G>,
    whole: Part<'b>,
) -> Vec<Part<'b>>
where
    G: AsRef<[Group<'a>]> + AsMut<[Group<'a>]>,
{
    let mut parts = vec![whole];
    for _ in 0..r.u8() % 5 {
        let i = r.u8() as usize % parts.len();
        let p = parts.swap_remove(i);
        let Range { start, end } = p.tensors();
        let at = start + r.u8() as usize % (end - start + 1);
        let (x, y) = o.split(p, at).expect("a cut inside the part");
        assert_eq!(x.tensors(), start..at);
        assert_eq!(y.tensors(), at..end);
        for q in [&x, &y] {
            assert_eq!(
                q.len(),
                o.elements(q.tensors())
                    .expect("a range of the layout")
                    .len(),
                "a part holds its tensors' elements"
            );
        }
        parts.extend([x, y]);
    }
    // a random order: rotate, maybe reverse
    let k = r.u8() as usize % parts.len();
    parts.rotate_left(k);
    if r.bool() {
        parts.reverse();
    }
    parts
}

/// The part of tensors `range` of the whole buffers, with each state buffer's elements copied one
/// after the other (as `part` takes them); `None` when the range is not one of the layout.
pub(crate) fn part_state(state: &[f32], n: usize, buffers: usize, el: &Range<usize>) -> Vec<f32> {
    (0..buffers)
        .flat_map(|b| state[b * n + el.start..b * n + el.end].iter().copied())
        .collect()
}

/// Copies a part's state (as `part_state` made it) back into the whole state.
pub(crate) fn put_part_state(
    state: &mut [f32],
    n: usize,
    buffers: usize,
    el: &Range<usize>,
    s: &[f32],
) {
    for b in 0..buffers {
        state[b * n + el.start..b * n + el.end]
            .copy_from_slice(&s[b * el.len()..(b + 1) * el.len()]);
    }
}

/// A part of tensors `tensors` over the elements `span` of the whole buffers (the right ones or
/// not), maybe cut at `split_at` (the second piece updated first), updated with `token`: the
/// result of each call made. A call that fails writes nothing: the part's buffers (copies, put
/// back afterwards) are checked after each failure.
pub(crate) fn part_calls<'a, R: Rule, G>(
    o: &Optimizer<'a, R, G>,
    token: &StepToken,
    tensors: Range<usize>,
    span: &Range<usize>,
    split_at: Option<usize>,
    bufs: &mut Bufs,
    grads: &[f32],
) -> Vec<Result<(), Error>>
where
    G: AsRef<[Group<'a>]> + AsMut<[Group<'a>]>,
{
    let (n, buffers) = (o.len(), o.rule().state_buffers());
    let mut ps = bufs.p[span.clone()].to_vec();
    let mut ss = part_state(&bufs.s, n, buffers, span);
    let (p0, s0) = (ps.clone(), ss.clone());
    let mut results = Vec::new();
    // the elements the calls so far may have written: (params, per state buffer) ranges
    let mut written: Vec<Range<usize>> = Vec::new();
    'calls: {
        let part = match o.part(tensors, &mut ps, &grads[span.clone()], &mut ss) {
            Ok(p) => p,
            Err(e) => {
                results.push(Err(e));
                break 'calls;
            }
        };
        results.push(Ok(()));
        let pieces = match split_at {
            None => vec![(0..part.len(), part)],
            Some(at) => match o.split(part, at) {
                Ok((x, y)) => {
                    results.push(Ok(()));
                    let xl = x.len();
                    vec![(xl..xl + y.len(), y), (0..xl, x)]
                }
                Err(e) => {
                    results.push(Err(e));
                    break 'calls;
                }
            },
        };
        for (range, p) in pieces {
            let got = o.step_part(token, p);
            results.push(got);
            match got {
                Ok(()) => written.push(range),
                Err(_) => break 'calls,
            }
        }
    }
    // what no successful call wrote is as it was
    let len = span.len();
    for i in 0..len {
        if !written.iter().any(|w| w.contains(&i)) {
            assert_eq!(
                ps[i].to_bits(),
                p0[i].to_bits(),
                "a failed part call wrote params[{i}]"
            );
            for b in 0..buffers {
                let j = b * len + i;
                assert_eq!(
                    ss[j].to_bits(),
                    s0[j].to_bits(),
                    "a failed part call wrote state"
                );
            }
        }
    }
    bufs.p[span.clone()].copy_from_slice(&ps);
    put_part_state(&mut bufs.s, n, buffers, span, &ss);
    results
}
