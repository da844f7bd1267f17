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
/// from the settings the optimizer was built with and the rule's scalars.
pub(crate) trait Reference: Rule + PartialEq + Copy {
    /// One tensor's update: `s` holds its part of each state buffer, one after the other.
    #[allow(clippy::too_many_arguments)]
    fn reference(
        &self,
        settings: &Settings,
        lr: f32,
        prep: GradPrep,
        w: &mut [f32],
        g: &[f32],
        s: &mut [f32],
        rows: Option<NonZeroUsize>,
    );
    /// A group's gradient preparation from its weight decay, as the rule forms it.
    fn grad_prep(settings: &Settings, weight_decay: f64) -> GradPrep;
    /// The state buffers the settings ask for.
    fn n_buffers(settings: &Settings) -> usize;
    /// The rule's saved scalars (the header's last 8 bytes).
    fn saved_scalars(&self) -> [u32; 2];
    /// Checks the rule after a completed step against the rule before it (`self`).
    fn check_advanced(&self, after: &Self);
}

impl Reference for MomentumRule {
    fn reference(
        &self,
        st: &Settings,
        lr: f32,
        prep: GradPrep,
        w: &mut [f32],
        g: &[f32],
        s: &mut [f32],
        rows: Option<NonZeroUsize>,
    ) {
        let step = MomentumStep::new(lr, st.ms.momentum, st.ms.nesterov, prep)
            .expect("the constants of a built optimizer");
        assert_eq!(step.momentum().to_bits(), self.momentum().to_bits());
        assert_eq!(step.nesterov(), self.nesterov());
        reference::momentum(w, g, s, rows, &step).expect("a tensor of a checked layout");
    }
    fn grad_prep(st: &Settings, weight_decay: f64) -> GradPrep {
        GradPrep::new(weight_decay, st.ms.loss_scale).expect("the preparation of a built optimizer")
    }
    fn n_buffers(_: &Settings) -> usize {
        1
    }
    fn saved_scalars(&self) -> [u32; 2] {
        [0, 0]
    }
    fn check_advanced(&self, after: &Self) {
        assert_eq!(after, self, "a step changed the rule");
    }
}

impl Reference for SgdRule {
    fn reference(
        &self,
        st: &Settings,
        lr: f32,
        prep: GradPrep,
        w: &mut [f32],
        g: &[f32],
        s: &mut [f32],
        rows: Option<NonZeroUsize>,
    ) {
        let ss = &st.ss;
        let step = SgdStep::new(lr, ss.momentum, ss.dampening, ss.nesterov, prep)
            .expect("the constants of a built optimizer")
            .first_step(!self.started());
        assert_eq!(step.momentum().to_bits(), self.momentum().to_bits());
        assert_eq!(step.dampening().to_bits(), self.dampening().to_bits());
        assert_eq!(step.nesterov(), self.nesterov());
        reference::sgd(w, g, s, rows, &step).expect("a tensor of a checked layout");
    }
    fn grad_prep(st: &Settings, weight_decay: f64) -> GradPrep {
        GradPrep::new(weight_decay, st.ss.loss_scale).expect("the preparation of a built optimizer")
    }
    fn n_buffers(_: &Settings) -> usize {
        1
    }
    fn saved_scalars(&self) -> [u32; 2] {
        [self.started() as u32, 0]
    }
    fn check_advanced(&self, after: &Self) {
        assert!(after.started(), "a step did not mark SGD's first step done");
        assert_eq!(
            (after.momentum(), after.dampening()),
            (self.momentum(), self.dampening())
        );
    }
}

impl Reference for AdamRule {
    fn reference(
        &self,
        st: &Settings,
        lr: f32,
        prep: GradPrep,
        w: &mut [f32],
        g: &[f32],
        s: &mut [f32],
        rows: Option<NonZeroUsize>,
    ) {
        let a = &st.adam;
        let betas = Betas::new(a.beta1, a.beta2, a.eps).expect("the betas of a built optimizer");
        assert_eq!(&betas, self.betas());
        // MindSpore multiplies the powers in before its kernel: the step uses `power ⊗ F(β)`
        let [p1, p2] = self.powers();
        let threads = std::num::NonZeroU32::new(a.threads).expect("K of a built optimizer");
        let step = AdamStep::new(lr, betas, a.nesterov, a.amsgrad, prep)
            .expect("the constants of a built optimizer")
            .with_powers(p1 * betas.beta1(), p2 * betas.beta2())
            .expect("the powers of a step")
            .with_threads(threads);
        assert_eq!(
            (step.nesterov(), step.amsgrad(), step.threads()),
            (self.nesterov(), self.amsgrad(), self.threads())
        );
        let n = w.len();
        let (m, rest) = s.split_at_mut(n);
        let (v, vhat) = rest.split_at_mut(n);
        reference::adam(w, g, m, v, vhat, rows, &step).expect("a tensor of a checked layout");
    }
    fn grad_prep(st: &Settings, weight_decay: f64) -> GradPrep {
        GradPrep::new(weight_decay, st.adam.loss_scale)
            .expect("the preparation of a built optimizer")
    }
    fn n_buffers(st: &Settings) -> usize {
        2 + st.adam.amsgrad as usize
    }
    fn saved_scalars(&self) -> [u32; 2] {
        self.powers().map(f32::to_bits)
    }
    fn check_advanced(&self, after: &Self) {
        // beta1_power ← beta1_power ⊗ F(β1), beta2_power ← beta2_power ⊗ F(β2)
        let [p1, p2] = self.powers();
        let b = self.betas();
        assert_eq!(
            after.powers().map(f32::to_bits),
            [p1 * b.beta1(), p2 * b.beta2()].map(f32::to_bits),
            "the beta powers after a step"
        );
        assert_eq!(
            (
                after.betas(),
                after.nesterov(),
                after.amsgrad(),
                after.threads()
            ),
            (
                self.betas(),
                self.nesterov(),
                self.amsgrad(),
                self.threads()
            )
        );
    }
}

impl Reference for AdamWRule {
    fn reference(
        &self,
        st: &Settings,
        lr: f32,
        prep: GradPrep,
        w: &mut [f32],
        g: &[f32],
        s: &mut [f32],
        rows: Option<NonZeroUsize>,
    ) {
        let aw = &st.adamw;
        let betas = Betas::new(aw.beta1, aw.beta2, aw.eps).expect("the betas of a built optimizer");
        assert_eq!(&betas, self.betas());
        // the decoupled decay: F(wd) when wd > 0, else +0 (a weight decay of −0 is no decay, as
        // MindSpore's flag `wd > 0` says)
        let decay = prep.decay().unwrap_or(0.0);
        assert_eq!(prep.unscale(), None, "AdamWeightDecay has no loss scale");
        let step = AdamWStep::new(lr, betas, decay as f64).expect("the constants of a step");
        let n = w.len();
        let (m, v) = s.split_at_mut(n);
        reference::adamw(w, g, m, v, rows, &step).expect("a tensor of a checked layout");
    }
    fn grad_prep(_: &Settings, weight_decay: f64) -> GradPrep {
        let prep = GradPrep::decoupled(weight_decay).expect("the preparation of a built optimizer");
        // F(wd) as AdamWStep::new forms it, but for −0
        if weight_decay.to_bits() != (-0.0f64).to_bits() {
            let step = AdamWStep::new(0.0, Betas::new(0.9, 0.999, 1e-6).unwrap(), weight_decay)
                .expect("a weight decay the group took");
            assert_eq!(
                prep.decay().unwrap_or(0.0).to_bits(),
                step.decay().to_bits(),
                "the decoupled decay of {weight_decay:e}"
            );
        }
        prep
    }
    fn n_buffers(_: &Settings) -> usize {
        2
    }
    fn saved_scalars(&self) -> [u32; 2] {
        [0, 0]
    }
    fn check_advanced(&self, after: &Self) {
        assert_eq!(after, self, "a step changed the rule");
    }
}

/// The whole step `o` is about to take, by the reference, tensor by tensor (each tensor's part of
/// every state buffer).
pub(crate) fn reference_step<'a, R: Reference, G>(
    o: &Optimizer<'a, R, G>,
    settings: &Settings,
    bufs: &mut Bufs,
    grads: &[f32],
) where
    G: AsRef<[Group<'a>]> + AsMut<[Group<'a>]>,
{
    let (n, buffers) = (o.len(), o.rule().state_buffers());
    let mut at = 0;
    for t in o.tensors() {
        let g = &o.groups()[t.group];
        let lr = o
            .lr(t.group)
            .expect("the learning rate of a step that succeeded");
        let prep = R::grad_prep(settings, g.weight_decay());
        let rows = t.rows.filter(|_| g.centralize());
        let r = at..at + t.len;
        let mut s = part_state(&bufs.s, n, buffers, &r);
        o.rule().reference(
            settings,
            lr,
            prep,
            &mut bufs.p[r.clone()],
            &grads[r.clone()],
            &mut s,
            rows,
        );
        put_part_state(&mut bufs.s, n, buffers, &r, &s);
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
