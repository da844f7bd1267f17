//! The calls on an optimizer: steps, begin / shard / end, the queries (save and restore: `saved.rs`).

use super::*;

/// A token: mostly the step in progress, sometimes a neighbour or anything.
pub(crate) fn token_value(r: &mut Reader, step: u32) -> u32 {
    match r.u8() % 8 {
        0 => r.u32(),
        1 => step.wrapping_add(1),
        2 => step.wrapping_sub(1),
        _ => step,
    }
}

/// The Rust API's shard `index` of a plan of `shards` over the layout as the caller's memory
/// holds it now (`None` where the model cannot say).
pub(crate) fn model_plan(ctx: &Ctx, shards: NonZeroUsize, index: usize) -> Option<Range<usize>> {
    let st = ctx.st.as_ref()?;
    let lrs = vec![0.0f32; st.n_groups];
    match with_model(&ctx.w, st, Over::Now, Some(&lrs), false, |o, _| {
        on!(&*o, |x| x.plan(shards).nth(index))
    }) {
        Model::Done(s, _) => s,
        _ => None,
    }
}

/// The layout as the caller's memory holds it now, and each group's centralization: what the
/// harness reads the cuts from (`common::is_cut`).
pub(crate) fn layout_now(w: &World, st: &State) -> (Vec<Tensor>, Vec<bool>) {
    (
        (0..st.n_tensors).map(|i| w.tensor(i)).collect(),
        (0..st.n_groups)
            .map(|i| w.group(i).centralize != 0)
            .collect(),
    )
}

/// The element range of a shard: a shard of a plan (the Rust API's, over the layout as it is
/// now), the elements of tensors `[first, end)` (an index past the last: past the end), any two
/// ends (maybe reversed, maybe past the buffers), or from a row boundary or a point inside a row
/// of a tensor to anywhere after it.
pub(crate) fn shard_range(r: &mut Reader, ctx: &Ctx) -> (usize, usize) {
    let (n_t, len) = ctx.st.as_ref().map_or((0, 0), |s| (s.n_tensors, s.len));
    let tensor_start =
        |i: usize| (0..i.min(n_t)).fold(0usize, |a, j| a.saturating_add(ctx.w.tensor(j).len));
    match r.u8() % 4 {
        0 => {
            let shards = NonZeroUsize::new(1 + r.u8() as usize % 8).expect("not 0");
            let index = r.u8() as usize % shards.get();
            model_plan(ctx, shards, index).map_or((0, len), |s| (s.start, s.end))
        }
        1 => {
            let at = |i: usize| match i > n_t {
                true => tensor_start(n_t).saturating_add(1),
                false => tensor_start(i),
            };
            (
                at(r.u8() as usize % (n_t + 2)),
                at(r.u8() as usize % (n_t + 2)),
            )
        }
        2 => (r.u16() as usize % (len + 3), r.u16() as usize % (len + 3)),
        _ => {
            let i = r.u8() as usize % n_t.max(1);
            let t = match n_t {
                0 => Tensor::vector(0, 0),
                _ => ctx.w.tensor(i),
            };
            let row = t.rows.map_or(t.len, |rows| t.len / rows.get()).max(1);
            let start = tensor_start(i)
                .saturating_add(row.saturating_mul(r.u8() as usize % (t.len / row).max(1)))
                .saturating_add(r.u8() as usize % row);
            (start, start.saturating_add(r.u16() as usize % (len + 1)))
        }
    }
}

/// A whole step, or a shard of elements `[start, end)` with a token, over whole buffers.
pub(crate) fn step_call(r: &mut Reader, ctx: &mut Ctx, sel: OptSel, shard: bool) -> Outcome {
    let step_now = ctx.st.as_ref().map_or(0, |s| s.step);
    let token = token_value(r, step_now);
    let (start, end) = match shard {
        true => shard_range(r, ctx),
        // the bytes a shard's range takes, read but unused
        false => (r.u8() as usize, r.u8() as usize),
    };
    if trace() && shard {
        eprintln!("  shard [{start}, {end}) with token {token}");
    }
    let want_len = ctx.st.as_ref().map_or(0, |s| s.len);
    let (lp, lg, ls, len) = three(r, Some(want_len), Scope::Opt, ctx.live, ctx.buffers());
    let state_len = match r.u8() {
        255 => len.saturating_add(1),
        254 => len.saturating_sub(1),
        _ => len.saturating_mul(ctx.buffers()),
    }
    .min(ls.room(4));
    let w = &ctx.w;
    let opt = ctx.opt_ptr(sel);
    let snapshot = (
        w.f32s(lp.off(), len),
        w.f32s(lg.off(), len),
        w.f32s(ls.off(), state_len),
    );
    // SAFETY: NULL or pointers into the world with room for the lengths given.
    let s = unsafe {
        if shard {
            gradstep_optimizer_step_shard(
                opt,
                token,
                start,
                end,
                w.ptr(lp),
                w.ptr(lg),
                len,
                w.ptr(ls),
                state_len,
            )
        } else {
            gradstep_optimizer_step(opt, w.ptr(lp), w.ptr(lg), len, w.ptr(ls), state_len)
        }
    };
    let mut out = Outcome::new(s);
    out.written = vec![
        (lp.off(), len.saturating_mul(4)),
        (ls.off(), state_len.saturating_mul(4)),
        (ctx.live, if shard { 0 } else { OPT_SIZE }),
    ];
    out.writes_groups = !shard;
    if let Some(e) = ctx.bad_opt(sel) {
        out.expected = Some(e);
        return out;
    }
    let buffers = [
        use_of(w, lp, len, 4, 4, true),
        use_of(w, lg, len, 4, 4, false),
        use_of(w, ls, state_len, 4, 4, true),
    ];
    let mut uses = ctx.base(!shard, !shard);
    uses.extend(buffers);
    let ptrs_ok = all_ok(&uses) && (shard || ctx.sources_ok(&uses));
    if !ptrs_ok {
        out.must_fail = true;
        return out;
    }
    let st = ctx.st.as_mut().unwrap();
    let (mut wv, gv, mut sv) = snapshot;
    if shard {
        // the layout, the whole buffers' lengths, the range, then the token
        let lrs: Vec<f32> = match &st.planned {
            Some((_, l)) => l.clone(),
            // no plan: the call fails on its token; any finite rate builds the model's groups
            None => st
                .static_lr
                .iter()
                .map(|l| if l.is_nan() { 0.0 } else { *l })
                .collect(),
        };
        let plan = st.planned.as_ref().is_some_and(|(k, _)| *k == token);
        let (len0, state_len0) = (st.len, st.state_len);
        let buffers = st.rules.buffers();
        let (layout, centralized) = layout_now(w, st);
        let m = with_model(w, st, Over::Now, Some(&lrs), plan, |o, t| {
            // the layout and the lengths, the range in the buffers, the token, the range's ends
            if len != len0 || state_len != state_len0 {
                return (Status::LengthMismatch, None);
            }
            if start > end || end > len {
                return (Status::ElementRange, None);
            }
            // where the harness says a step may be cut, and where the Rust API does: the part of
            // the range cut from the whole part (over copies of the whole buffers)
            let valid = [start, end]
                .iter()
                .all(|&at| is_cut(&layout, |g| centralized[g], at));
            let (mut pw, mut ps) = (wv.clone(), sv.clone());
            let got = on!(&*o, |x| {
                let whole = x
                    .part(0..x.tensors().len(), &mut pw, &gv, &mut ps)
                    .expect("the model's whole part");
                let piece = x
                    .split(whole, start)
                    .and_then(|(_, rest)| x.split(rest, end))
                    .map(|(p, _)| p);
                match (valid, piece) {
                    (true, Ok(p)) => {
                        assert_eq!(p.elements(), start..end, "the model's piece");
                        t.as_ref().map(|t| x.step_part(t, p))
                    }
                    (false, Err(Error::ElementRange { .. })) => None,
                    (v, p) => panic!(
                        "[{start}, {end}): the harness says the ends are cuts: {v}, the Rust API \
                         cuts {:?}",
                        p.map(|p| p.elements())
                    ),
                }
            });
            match (t.is_some(), valid, got) {
                (false, ..) => (Status::StaleStep, None),
                (true, false, _) => (Status::ElementRange, None),
                (true, true, Some(res)) => (status_of(res), Some((pw, ps))),
                (true, true, None) => unreachable!("a step of a planned step"),
            }
        });
        match m {
            Model::Done((e, bits), approx) => {
                out.expected = Some(e);
                out.approx = approx;
                if let (Status::Ok, Some((pw, ps))) = (s, bits) {
                    // only the shard's elements are written, of the params and of each buffer
                    let n = end - start;
                    out.written = vec![(lp.off() + 4 * start, 4 * n)];
                    for b in 0..buffers {
                        out.written.push((ls.off() + 4 * (b * len + start), 4 * n));
                    }
                    assert_same("shard params", &w.f32s(lp.off(), len), &pw);
                    assert_same("shard state", &w.f32s(ls.off(), state_len), &ps);
                }
            }
            Model::Refused(e) => out.expected = Some(e),
            Model::BadSources => unreachable!("planned learning rates are sources"),
            Model::Unknown => {}
        }
        return out;
    }
    let m = with_model(w, st, Over::Now, None, false, |o, _| {
        let got = on!(&mut *o, |x| x.step(&mut wv, &gv, &mut sv));
        (status_of(got), got.is_ok().then(|| extract(o, st, true)))
    });
    match m {
        Model::Done((e, next), approx) => {
            out.expected = Some(e);
            out.approx = approx;
            if s == Status::Ok && e == Status::Ok {
                assert_same("step params", &w.f32s(lp.off(), len), &wv);
                assert_same("step state", &w.f32s(ls.off(), state_len), &sv);
            }
            if s == Status::Ok
                && let Some(next) = next
            {
                st.apply(next);
                st.planned = None;
            }
        }
        Model::Refused(e) => out.expected = Some(e),
        Model::BadSources => out.must_fail = true,
        Model::Unknown => {
            if s == Status::Ok {
                st.known = false;
            }
        }
    }
    out
}

/// `gradstep_optimizer_begin_step`: the token into an out-parameter.
pub(crate) fn begin_call(r: &mut Reader, ctx: &mut Ctx, sel: OptSel) -> Outcome {
    let lo = loc(r, 4, 4, Scope::Opt, ctx.live);
    let opt = ctx.opt_ptr(sel);
    // SAFETY: NULL or pointers into the world with room for what they point to.
    let s = unsafe { gradstep_optimizer_begin_step(opt, ctx.w.ptr::<u32>(lo)) };
    let mut out = Outcome::new(s);
    out.written = vec![(lo.off(), 4), (ctx.live, OPT_SIZE)];
    out.writes_groups = true;
    if let Some(e) = ctx.bad_opt(sel) {
        out.expected = Some(e);
        return out;
    }
    let mut uses = ctx.base(true, true);
    uses.push(use_of(&ctx.w, lo, 1, 4, 4, true));
    if !(all_ok(&uses) && ctx.sources_ok(&uses)) {
        out.must_fail = true;
        return out;
    }
    let st = ctx.st.as_mut().unwrap();
    let m = with_model(&ctx.w, st, Over::Init, None, false, |o, _| {
        let n = on!(&*o, |x| x.groups().len());
        let lrs: Vec<Result<f32, Error>> = (0..n).map(|g| on!(&*o, |x| x.lr(g))).collect();
        match on!(&mut *o, |x| x.begin_step()) {
            Ok(t) => {
                let lrs = lrs.into_iter().map(|l| l.expect("a planned lr")).collect();
                (Status::Ok, Some((t.step(), lrs)))
            }
            Err(e) => (e.into(), None),
        }
    });
    match m {
        Model::Done((e, plan), approx) => {
            out.expected = Some(e);
            out.approx = approx;
            if let (Status::Ok, Some((k, lrs))) = (s, plan) {
                assert_eq!(ctx.w.read::<u32>(lo.off()), k, "begin_step's token");
                st.planned = Some((k, lrs));
            }
        }
        Model::BadSources => out.must_fail = true,
        Model::Refused(e) => out.expected = Some(e),
        Model::Unknown => {
            if s == Status::Ok {
                st.known = false;
            }
        }
    }
    out
}

/// `gradstep_optimizer_end_step` with a token.
pub(crate) fn end_call(r: &mut Reader, ctx: &mut Ctx, sel: OptSel) -> Outcome {
    let step_now = ctx.st.as_ref().map_or(0, |s| s.step);
    let token = token_value(r, step_now);
    // SAFETY: the optimizer or a bad pointer.
    let s = unsafe { gradstep_optimizer_end_step(ctx.opt_ptr(sel), token) };
    let mut out = Outcome::new(s);
    out.written = vec![(ctx.live, OPT_SIZE)];
    if let Some(e) = ctx.bad_opt(sel) {
        out.expected = Some(e);
        return out;
    }
    let st = ctx.st.as_mut().unwrap();
    match st.planned.clone() {
        Some((k, lrs)) if k == token => {
            let m = with_model(&ctx.w, st, Over::Init, Some(&lrs), true, |o, t| {
                let got = on!(&mut *o, |x| x.end_step(t.expect("planned")));
                (status_of(got), got.is_ok().then(|| extract(o, st, false)))
            });
            match m {
                Model::Done((e, next), _) => {
                    out.expected = Some(e);
                    if let (Status::Ok, Some(next)) = (s, next) {
                        st.apply(next);
                        st.planned = None;
                    }
                }
                Model::Unknown if s == Status::Ok => st.known = false,
                _ => {}
            }
        }
        _ if st.known => out.expected = Some(Status::StaleStep),
        _ => {}
    }
    out
}

/// The checks before a query's model: records what the query writes (`outs`: one value of the given
/// size at each location) and whether a bad optimizer pointer, bad out-pointers or bad sources
/// decide its outcome; `true` when the model must answer.
fn query_checks(ctx: &Ctx, sel: OptSel, outs: &[(Loc, usize)], out: &mut Outcome) -> bool {
    out.written.extend(outs.iter().map(|&(l, n)| (l.off(), n)));
    if let Some(e) = ctx.bad_opt(sel) {
        out.expected = Some(e);
        return false;
    }
    let mut uses = ctx.base(false, true);
    uses.extend(outs.iter().map(|&(l, n)| use_of(&ctx.w, l, 1, n, n, true)));
    if !(all_ok(&uses) && ctx.sources_ok(&uses)) {
        out.must_fail = true;
        return false;
    }
    true
}

/// The queries: lr, set_lr, global_step, len, elements, saved_len, state_len, plan.
pub(crate) fn query_call(r: &mut Reader, ctx: &mut Ctx, sel: OptSel) -> Outcome {
    let lo = loc(r, 8, 16, Scope::Opt, ctx.live);
    let g = r.u8() as usize % 6;
    let sub = r.u8() % 8;
    let opt = ctx.opt_ptr(sel);
    let w = &ctx.w;
    let mut out = Outcome::new(Status::Ok);
    match sub {
        0 => {
            // SAFETY: NULL or pointers into the world with room for one value.
            let s = unsafe { gradstep_optimizer_lr(opt, g, w.ptr(lo)) };
            out.status = s;
            if !query_checks(ctx, sel, &[(lo, 4)], &mut out) {
                return out;
            }
            let st = ctx.st.as_ref().unwrap();
            match with_model(w, st, Over::Init, None, false, |o, _| on!(&*o, |x| x.lr(g))) {
                Model::Done(v, approx) => {
                    out.expected = Some(st_ref(&v));
                    out.approx = approx;
                    if let (Status::Ok, Ok(v)) = (s, v) {
                        assert_eq!(w.read::<f32>(lo.off()).to_bits(), v.to_bits(), "lr({g})");
                    }
                }
                Model::BadSources => out.must_fail = true,
                _ => {}
            }
        }
        1 => {
            let lr = r.f64_param();
            // SAFETY: the optimizer or a bad pointer.
            let s = unsafe { gradstep_optimizer_set_lr(opt, g, lr) };
            out.status = s;
            out.writes_groups = true;
            if !query_checks(ctx, sel, &[], &mut out) {
                return out;
            }
            let st = ctx.st.as_mut().unwrap();
            let m = with_model(w, st, Over::Init, None, false, |o, _| {
                let got = on!(&mut *o, |x| x.set_lr(g, lr));
                (status_of(got), got.is_ok().then(|| extract(o, st, true)))
            });
            match m {
                Model::Done((e, next), approx) => {
                    out.expected = Some(e);
                    out.approx = approx;
                    if let (Status::Ok, Some(next)) = (s, next) {
                        st.apply(next);
                    }
                }
                Model::BadSources => out.must_fail = true,
                Model::Unknown if s == Status::Ok => st.known = false,
                _ => {}
            }
        }
        4 => {
            let lo2 = loc(r, 8, 8, Scope::Opt, ctx.live);
            let end = r.u8() as usize % 8;
            // SAFETY: NULL or pointers into the world with room for one value each.
            let s = unsafe { gradstep_optimizer_elements(opt, g, end, w.ptr(lo), w.ptr(lo2)) };
            out.status = s;
            if !query_checks(ctx, sel, &[(lo, 8), (lo2, 8)], &mut out) {
                return out;
            }
            let st = ctx.st.as_ref().unwrap();
            let n_c = st.n_tensors;
            let m = with_model(w, st, Over::Now, None, false, |o, _| {
                if g > end || end > n_c {
                    Err(Error::TensorRange { start: g, end })
                } else {
                    on!(&*o, |x| x.elements(g..end))
                }
            });
            match m {
                Model::Done(range, approx) => {
                    out.expected = Some(st_ref(&range));
                    out.approx = approx;
                    if let (Status::Ok, Ok(range)) = (s, range) {
                        assert_eq!(w.read::<usize>(lo.off()), range.start, "elements: offset");
                        assert_eq!(w.read::<usize>(lo2.off()), range.len(), "elements: length");
                    }
                }
                Model::Refused(e) => out.expected = Some(e),
                Model::BadSources => out.must_fail = true,
                Model::Unknown => {}
            }
        }
        7 => {
            let lo2 = loc(r, 8, 8, Scope::Opt, ctx.live);
            // mostly a few shards, sometimes none, the most or any number
            let shards = match r.u8() % 8 {
                0 => 0,
                1 => usize::MAX - r.u8() as usize,
                2 => r.u64() as usize,
                _ => 1 + r.u8() as usize % 16,
            };
            // mostly one of them, sometimes the first past them, the last ones, or any index
            let index = match r.u8() % 8 {
                0 => shards,
                1 => shards.wrapping_sub(1 + r.u8() as usize % 4),
                2 => r.u64() as usize,
                _ => r.u8() as usize % shards.max(1),
            };
            // SAFETY: NULL or pointers into the world with room for one value each.
            let s = unsafe { gradstep_optimizer_plan(opt, shards, index, w.ptr(lo), w.ptr(lo2)) };
            out.status = s;
            if !query_checks(ctx, sel, &[(lo, 8), (lo2, 8)], &mut out) {
                return out;
            }
            let st = ctx.st.as_ref().unwrap();
            let (layout, centralized) = layout_now(w, st);
            let m = with_model(w, st, Over::Now, None, false, |o, _| {
                let n = NonZeroUsize::new(shards)
                    .filter(|n| index < n.get())
                    .ok_or(Status::InvalidArgument)?;
                // the Rust API's shard where it can be reached (its plan is walked to it)
                let want = on!(&*o, |x| (index < 4096).then(|| x.plan(n).nth(index)));
                Ok((
                    want.map(|s| s.expect("a shard of the plan")),
                    on!(&*o, |x| x.len()),
                ))
            });
            match m {
                Model::Done(res, approx) => {
                    out.expected = Some(*res.as_ref().err().unwrap_or(&Status::Ok));
                    out.approx = approx;
                    if let (Status::Ok, Ok((want, len))) = (s, res) {
                        let got = w.read::<usize>(lo.off())..w.read::<usize>(lo2.off());
                        if let Some(want) = want {
                            assert_eq!(got, want, "plan({shards}): shard {index}");
                        }
                        // what holds of any shard: in the layout, its ends cuts, the first from
                        // its start, the last to its end
                        let cut = |at| is_cut(&layout, |g| centralized[g], at);
                        assert!(
                            got.start <= got.end
                                && got.end <= len
                                && cut(got.start)
                                && cut(got.end),
                            "plan({shards}): shard {index} is {got:?} of {len} elements"
                        );
                        if index == 0 {
                            assert_eq!(got.start, 0, "plan({shards}): the first shard");
                        }
                        if index == shards - 1 {
                            assert_eq!(got.end, len, "plan({shards}): the last shard");
                        }
                    }
                }
                Model::Refused(e) => out.expected = Some(e),
                Model::BadSources => out.must_fail = true,
                Model::Unknown => {}
            }
        }
        _ => {
            // the numbers kept in the struct: global_step, len, saved_len, state_len
            let (size, call): (
                usize,
                unsafe extern "C" fn(*const COptimizer, *mut usize) -> Status,
            ) = match sub {
                3 => (8, gradstep_optimizer_len),
                5 => (8, gradstep_optimizer_saved_len),
                6 => (8, gradstep_optimizer_state_len),
                _ => (4, global_step_as_usize),
            };
            // SAFETY: NULL or pointers into the world with room for one value.
            let s = unsafe { call(opt, w.ptr(lo)) };
            out.status = s;
            out.written = vec![(lo.off(), size)];
            // the call checks its two pointers for overlap before it reads the optimizer
            let opt_use = Use {
                span: Some((opt.addr(), opt.addr() + OPT_SIZE)),
                written: false,
                ok: true,
            };
            let out_use = use_of(w, lo, 1, size, size, true);
            if conflict(&[opt_use, out_use]) {
                out.expected = Some(Status::Overlap);
                return out;
            }
            if let Some(e) = ctx.bad_opt(sel) {
                out.expected = Some(e);
                return out;
            }
            if !out_use.ok {
                out.must_fail = true;
                return out;
            }
            let st = ctx.st.as_ref().unwrap();
            out.expected = Some(Status::Ok);
            if s == Status::Ok {
                let got = if size == 8 {
                    w.read::<usize>(lo.off())
                } else {
                    w.read::<u32>(lo.off()) as usize
                };
                let want = match sub {
                    3 => Some(st.len),
                    5 => Some(st.saved_len),
                    6 => Some(st.state_len),
                    _ => st.known.then_some(st.step as usize),
                };
                if let Some(want) = want {
                    assert_eq!(got, want, "query {sub}");
                }
            }
        }
    }
    out
}
