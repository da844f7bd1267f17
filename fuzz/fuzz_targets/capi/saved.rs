//! The calls on an optimizer's saved state: save and restore.

use super::*;

/// `gradstep_optimizer_save`: the state and the output bytes in the call buffers.
pub(crate) fn save_call(r: &mut Reader, ctx: &mut Ctx, sel: OptSel) -> Outcome {
    let live = ctx.live;
    let (state_len0, saved_len) = ctx
        .st
        .as_ref()
        .map_or((0, 64), |s| (s.state_len, s.saved_len));
    let (lsd, lout, state_len, out_len) = if r.u8() % 4 != 0 {
        let state_len = state_len0.min(900);
        let base = 4 * (r.u8() as usize % 8);
        let out_off = (base + 4 * state_len + r.u8() as usize % 8).min(BUF_END - 1);
        let out_len = saved_len
            .saturating_add(r.u8() as usize % 3)
            .saturating_sub((r.u8() == 255) as usize)
            .min((BUF_END - 16).saturating_sub(out_off));
        (
            Loc::at(base, LIMIT),
            Loc::at(out_off, LIMIT),
            state_len,
            out_len,
        )
    } else {
        let (a, b) = (
            loc(r, 4, 4, Scope::Opt, live),
            loc(r, 1, 1, Scope::Opt, live),
        );
        (a, b, length(r, &[a], 4), length(r, &[b], 1))
    };
    let lw = match r.u8() % 8 {
        0 => Loc::Null,
        1 => Loc::at(BUF_END - 16 + 1, LIMIT),
        2 => loc(r, 8, 8, Scope::Opt, live),
        _ => Loc::at(BUF_END - 16, LIMIT),
    };
    let w = &ctx.w;
    let state_copy = w.f32s(lsd.off(), state_len);
    // SAFETY: NULL or pointers into the world with room for the lengths given.
    let s = unsafe {
        gradstep_optimizer_save(
            ctx.opt_ptr(sel),
            w.ptr(lsd),
            state_len,
            w.ptr(lout),
            out_len,
            w.ptr(lw),
        )
    };
    let mut out = Outcome::new(s);
    out.written = vec![(lw.off(), 8), (lout.off(), out_len)];
    if let Some(e) = ctx.bad_opt(sel) {
        out.expected = Some(e);
        return out;
    }
    let mut uses = ctx.base(false, true);
    uses.extend([
        use_of(w, lsd, state_len, 4, 4, false),
        use_of(w, lout, out_len, 1, 1, true),
        use_of(w, lw, 1, 8, 8, true),
    ]);
    if !(all_ok(&uses) && ctx.sources_ok(&uses)) {
        out.must_fail = true;
        return out;
    }
    let st = ctx.st.as_ref().unwrap();
    let mut saved = None;
    let m = with_model(w, st, Over::Init, None, false, |o, _| {
        let mut bytes = vec![0u8; out_len];
        let got = on!(&*o, |x| x.save(&state_copy, &mut bytes));
        (got, bytes)
    });
    match m {
        Model::Done((got, bytes), approx) => {
            out.expected = Some(st_ref(&got));
            out.approx = approx;
            if let (Status::Ok, Ok(n)) = (s, got) {
                assert_eq!(w.read::<usize>(lw.off()), n, "save: bytes written");
                assert_eq!(
                    w.bytes(lout.off(), n),
                    bytes[..n],
                    "save: the C and Rust bytes differ"
                );
                // only the bytes of the saved state are written
                out.written = vec![(lw.off(), 8), (lout.off(), n)];
                saved = Some(bytes[..n].to_vec());
            }
        }
        Model::BadSources => out.must_fail = true,
        _ => {}
    }
    if let Some(b) = saved {
        ctx.saved = b;
    }
    out
}

/// `gradstep_optimizer_restore`: the last saved bytes (maybe damaged), or whatever is in the
/// buffers.
pub(crate) fn restore_call(r: &mut Reader, ctx: &mut Ctx, sel: OptSel) -> Outcome {
    let live = ctx.live;
    let lb = loc(r, 1, 1, Scope::Opt, live);
    let mut blen = length(r, &[lb], 1);
    if let (Loc::At { off: o, .. }, false, true) = (lb, ctx.saved.is_empty(), r.u8() % 4 != 0) {
        let n = ctx.saved.len().min(BUF_END.saturating_sub(o));
        let mut b = ctx.saved[..n].to_vec();
        if r.u8() % 4 == 0 && n > 0 {
            let i = r.u16() as usize % n;
            b[i] ^= r.u8().max(1);
        }
        ctx.w.put_bytes(o, &b);
        blen = n;
    }
    let opt_state_len = ctx.st.as_ref().map_or(0, |s| s.state_len);
    let (lsd, state_len) = if r.u8() % 2 == 0 {
        // just after the bytes, or at the start
        let o = match lb {
            Loc::At { off: b, .. }
                if (b + blen).div_ceil(4) * 4 + 4 * opt_state_len.min(BUF_END) <= BUF_END =>
            {
                (b + blen).div_ceil(4) * 4
            }
            _ => 0,
        };
        (Loc::at(o, LIMIT), opt_state_len.min((BUF_END - o) / 4))
    } else {
        let a = loc(r, 4, 4, Scope::Opt, live);
        (a, length(r, &[a], 4))
    };
    ctx.mark();
    let w = &ctx.w;
    let copies = (
        w.bytes(lb.off(), blen.min(WORLD - lb.off())),
        w.f32s(lsd.off(), state_len),
    );
    // SAFETY: NULL or pointers into the world with room for the lengths given.
    let s = unsafe {
        gradstep_optimizer_restore(ctx.opt_ptr(sel), w.ptr(lb), blen, w.ptr(lsd), state_len)
    };
    let mut out = Outcome::new(s);
    out.written = vec![(lsd.off(), state_len.saturating_mul(4)), (live, OPT_SIZE)];
    out.writes_groups = true;
    if let Some(e) = ctx.bad_opt(sel) {
        out.expected = Some(e);
        return out;
    }
    let mut uses = ctx.base(true, true);
    uses.extend([
        use_of(w, lb, blen, 1, 1, false),
        use_of(w, lsd, state_len, 4, 4, true),
    ]);
    if !(all_ok(&uses) && ctx.sources_ok(&uses)) {
        out.must_fail = true;
        return out;
    }
    let st = ctx.st.as_mut().unwrap();
    let (b, mut sc) = copies;
    let m = with_model(w, st, Over::Init, None, false, |o, _| {
        let got = on!(&mut *o, |x| x.restore(&b, &mut sc));
        (status_of(got), got.is_ok().then(|| extract(o, st, true)))
    });
    match m {
        Model::Done((e, next), approx) => {
            out.expected = Some(e);
            out.approx = approx;
            if let (Status::Ok, Some(next)) = (s, next) {
                assert_bits("restored state", &w.f32s(lsd.off(), state_len), &sc);
                st.apply(next);
                st.planned = None;
            }
        }
        Model::BadSources => out.must_fail = true,
        Model::Unknown if s == Status::Ok => st.known = false,
        _ => {}
    }
    out
}
