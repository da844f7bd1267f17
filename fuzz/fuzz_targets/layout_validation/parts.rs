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

/// Whether a step of `o` may be cut before element `at`: `common::is_cut` over its layout and its
/// groups' centralization (the harness's reading, not the library's).
pub(crate) fn cut_ok<'a, R: Rule, G>(o: &Optimizer<'a, R, G>, at: usize) -> bool
where
    G: AsRef<[Group<'a>]> + AsMut<[Group<'a>]>,
{
    let groups = o.groups();
    is_cut(o.tensors(), |g| groups[g].centralize(), at)
}

/// An element of the flat buffers to cut a part of elements `el` before: anywhere in it (its
/// ends included), a tensor's start, a row boundary or a point inside a row of a centralized
/// tensor (one in the part if there is one), or a point outside the part.
pub(crate) fn cut_point<'a, R: Rule, G>(
    r: &mut Reader,
    o: &Optimizer<'a, R, G>,
    el: &Range<usize>,
) -> usize
where
    G: AsRef<[Group<'a>]> + AsMut<[Group<'a>]>,
{
    let anywhere = |r: &mut Reader| el.start + r.u16() as usize % (el.len() + 1);
    match r.u8() % 8 {
        0..=2 => anywhere(r),
        3 => {
            // the start of a tensor (the last: the end of the layout)
            let i = r.u8() as usize % (o.tensors().len() + 1);
            o.tensors()[..i].iter().map(|t| t.len).sum()
        }
        k @ (4 | 5) => {
            // (start, len, row length) of the centralized tensors of more than one row element
            let groups = o.groups();
            let mut at = 0;
            let mut rowed = Vec::new();
            for t in o.tensors() {
                if let Some(rows) = t.rows.filter(|_| groups[t.group].centralize())
                    && t.len / rows.get() > 1
                {
                    rowed.push((at, t.len, t.len / rows.get()));
                }
                at += t.len;
            }
            let inside: Vec<_> = rowed
                .iter()
                .copied()
                .filter(|&(s, l, _)| s < el.end && el.start < s + l)
                .collect();
            let pick = if inside.is_empty() { &rowed } else { &inside };
            if pick.is_empty() {
                return anywhere(r);
            }
            let (s, l, row) = pick[r.u8() as usize % pick.len()];
            let at = s + row * (r.u8() as usize % (l / row));
            match k {
                4 => at,
                _ => at + 1 + r.u8() as usize % (row - 1),
            }
        }
        6 => match r.u8() % 4 {
            0 => el.start.wrapping_sub(1 + r.u8() as usize % 3),
            1 => el.end + 1 + r.u8() as usize % 3,
            2 => usize::MAX,
            _ => o.len() + 1,
        },
        _ => {
            if r.bool() {
                el.start
            } else {
                el.end
            }
        }
    }
}

/// A number of shards: mostly 1 to 8, sometimes up to 300.
pub(crate) fn shard_count(r: &mut Reader) -> NonZeroUsize {
    let n = match r.u8() % 8 {
        0 => 1 + r.u16() as usize % 300,
        k => k as usize + r.u8() as usize % 2,
    };
    NonZeroUsize::new(n).expect("at least one shard")
}

/// `o.plan(shards)`, checked: `shards` ranges back to back over the layout, every boundary a cut.
pub(crate) fn plan_of<'a, R: Rule, G>(
    o: &Optimizer<'a, R, G>,
    shards: NonZeroUsize,
) -> Vec<Range<usize>>
where
    G: AsRef<[Group<'a>]> + AsMut<[Group<'a>]>,
{
    let it = o.plan(shards);
    assert_eq!(it.len(), shards.get(), "the plan's ExactSizeIterator::len");
    let plan: Vec<Range<usize>> = it.collect();
    check_plan("plan", &plan, shards.get(), o.len(), |at| cut_ok(o, at));
    plan
}

/// Cuts `whole` (the whole layout) into pieces: up to 7 cuts at random elements
/// (`Optimizer::split`; a valid cut must be taken, an invalid one — outside the piece, inside a
/// centralized row — refused with `ElementRange`, tried on the same piece over scratch buffers
/// since a failed split drops its part), then maybe each piece cut into the shards of a plan
/// (`Optimizer::shards`: each shard's share of the piece); the pieces in a random order.
pub(crate) fn cut<'a, 'b, R: Rule, G>(
    r: &mut Reader,
    o: &Optimizer<'a, R, G>,
    whole: Part<'b>,
) -> Vec<Part<'b>>
where
    G: AsRef<[Group<'a>]> + AsMut<[Group<'a>]>,
{
    let n = o.len();
    assert_eq!(whole.elements(), 0..n, "the whole part's elements");
    let how = r.u8();
    let mut parts = vec![whole];
    let (mut sp, sg, mut ss) = (
        vec![0.0f32; n],
        vec![0.0f32; n],
        vec![0.0f32; o.state_len()],
    );
    for _ in 0..how % 8 {
        let i = r.u8() as usize % parts.len();
        let el = parts[i].elements();
        let at = cut_point(r, o, &el);
        let valid = el.start <= at && at <= el.end && cut_ok(o, at);
        if trace() {
            eprintln!(
                "  cut {el:?} at {at}: {}",
                if valid { "valid" } else { "invalid" }
            );
        }
        if valid {
            let p = parts.swap_remove(i);
            let (x, y) = o
                .split(p, at)
                .unwrap_or_else(|e| panic!("a valid cut of {el:?} at {at} refused: {e:?}"));
            assert_eq!(x.elements(), el.start..at, "the first piece's elements");
            assert_eq!(y.elements(), at..el.end, "the second piece's elements");
            assert_eq!((x.len(), y.len()), (at - el.start, el.end - at));
            parts.extend([x, y]);
        } else {
            // the same piece over the scratch buffers, cut from the whole at its ends (cuts)
            let scratch = o
                .part(0..o.tensors().len(), &mut sp, &sg, &mut ss)
                .expect("the whole scratch buffers");
            let (_, rest) = o
                .split(scratch, el.start)
                .expect("a piece's start is a cut");
            let (piece, _) = o.split(rest, el.end).expect("a piece's end is a cut");
            assert_eq!(piece.elements(), el);
            let got = o.split(piece, at).map(|_| ());
            assert_eq!(
                got,
                Err(Error::ElementRange {
                    start: at,
                    end: el.end
                }),
                "an invalid cut of {el:?} at {at}"
            );
        }
    }
    if how & 0x08 != 0 {
        let shards = shard_count(r);
        let plan = plan_of(o, shards);
        if trace() {
            eprintln!("  {shards} shards: {plan:?}");
        }
        let mut out = Vec::new();
        for p in parts {
            let el = p.elements();
            let it = o.shards(p, shards);
            assert_eq!(it.len(), shards.get(), "shards' ExactSizeIterator::len");
            let qs: Vec<Part<'b>> = it.collect();
            assert_eq!(qs.len(), shards.get(), "the shards of {el:?}");
            for (q, s) in qs.iter().zip(&plan) {
                let share = s.start.clamp(el.start, el.end)..s.end.clamp(el.start, el.end);
                assert_eq!(q.elements(), share, "the share of {s:?} in the part {el:?}");
                assert_eq!(q.len(), share.len());
            }
            out.extend(qs);
        }
        parts = out;
    }
    // the pieces cover the layout once
    let mut ranges: Vec<Range<usize>> = parts.iter().map(Part::elements).collect();
    ranges.sort_by_key(|e| (e.start, e.end));
    let mut at = 0;
    for e in &ranges {
        assert_eq!(e.start, at, "the pieces {ranges:?} do not tile the layout");
        at = e.end;
    }
    assert_eq!(at, n, "the pieces {ranges:?} do not tile the layout");
    // a random order: as cut, reversed, rotated, or shuffled
    match r.u8() % 4 {
        0 => {}
        1 => parts.reverse(),
        2 => {
            let k = r.u8() as usize % parts.len();
            parts.rotate_left(k);
        }
        _ => {
            for i in (1..parts.len()).rev() {
                parts.swap(i, r.u16() as usize % (i + 1));
            }
        }
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
/// not), maybe cut before element `split_at` (of the flat buffers: a valid cut is taken, an
/// invalid one refused with `ElementRange`; the second piece updated first), updated with
/// `token`: the result of each call made. A call that fails writes nothing: the part's buffers (copies, put
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
        let part = match o.part(tensors.clone(), &mut ps, &grads[span.clone()], &mut ss) {
            Ok(p) => p,
            Err(e) => {
                results.push(Err(e));
                break 'calls;
            }
        };
        results.push(Ok(()));
        let el = part.elements();
        assert_eq!(
            Ok(el.clone()),
            o.elements(tensors),
            "a part's elements are its tensors'"
        );
        let pieces = match split_at {
            None => vec![(0..part.len(), part)],
            Some(at) => {
                let valid = el.start <= at && at <= el.end && cut_ok(o, at);
                match o.split(part, at) {
                    Ok((x, y)) => {
                        assert!(valid, "a cut of {el:?} at {at} was taken");
                        assert_eq!((x.elements(), y.elements()), (el.start..at, at..el.end));
                        results.push(Ok(()));
                        let xl = x.len();
                        vec![(xl..xl + y.len(), y), (0..xl, x)]
                    }
                    Err(e) => {
                        assert!(!valid, "a valid cut of {el:?} at {at} refused: {e:?}");
                        assert_eq!(
                            e,
                            Error::ElementRange {
                                start: at,
                                end: el.end
                            },
                            "an invalid cut of {el:?} at {at}"
                        );
                        results.push(Err(e));
                        break 'calls;
                    }
                }
            }
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
