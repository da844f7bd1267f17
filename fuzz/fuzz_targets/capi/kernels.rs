//! The kernels on raw pointers: `gradstep_kernel_momentum`, `gradstep_kernel_sgd`,
//! `gradstep_kernel_adam` and `gradstep_kernel_adamw`, against the reference.

use super::*;

/// `gradstep_kernel_momentum` or `gradstep_kernel_sgd`, against the reference.
pub(crate) fn kernel_call(r: &mut Reader, ctx: &mut Ctx, momentum_kernel: bool) -> Outcome {
    let w = &ctx.w;
    let (lp, lg, ls, len) = three(r, None, Scope::Buf, ctx.live, 1);
    let rows = match r.u8() % 4 {
        0 | 1 => 0,
        2 => 1 + r.u8() as usize % 8,
        _ => r.u64() as usize,
    };
    let (lr, momentum, damp, nest, first, wd, scale, backend) = (
        r.f32_param(),
        r.f64_param(),
        r.f64_param(),
        flag(r),
        flag(r),
        r.f64_param(),
        r.f64_param(),
        backend_id(r),
    );
    let uses = [
        use_of(w, lp, len, 4, 4, true),
        use_of(w, lg, len, 4, 4, false),
        use_of(w, ls, len, 4, 4, true),
    ];
    let valid = all_ok(&uses);
    let inputs = valid.then(|| {
        (
            w.f32s(lp.off(), len),
            w.f32s(lg.off(), len),
            w.f32s(ls.off(), len),
        )
    });
    let (pp, gp, sp) = (w.ptr::<f32>(lp), w.ptr::<f32>(lg), w.ptr::<f32>(ls));
    // SAFETY: NULL, or pointers into the world with room for `len` values.
    let s = unsafe {
        if momentum_kernel {
            gradstep_kernel_momentum(
                pp, gp, sp, len, rows, lr, momentum, nest, wd, scale, backend,
            )
        } else {
            gradstep_kernel_sgd(
                pp, gp, sp, len, rows, lr, momentum, damp, nest, first, wd, scale, backend,
            )
        }
    };
    let mut out = Outcome::new(s);
    out.must_fail = !valid;
    out.written = vec![
        (lp.off(), len.saturating_mul(4)),
        (ls.off(), len.saturating_mul(4)),
    ];
    let Some((mut wv, g, mut m)) = inputs else {
        return out;
    };
    // the same call through the Rust API, in the C API's order of checks
    let c = NonZeroUsize::new(rows);
    let rust = (|| {
        let b = backend_of(backend).ok_or(Status::InvalidArgument)?;
        let prep = GradPrep::new(wd, scale)?;
        if momentum_kernel {
            let step = MomentumStep::new(lr, momentum, nest != 0, prep)?;
            reference::momentum(&mut wv, &g, &mut m, c, &step)?;
        } else {
            let step = SgdStep::new(lr, momentum, damp, nest != 0, prep)?.first_step(first != 0);
            reference::sgd(&mut wv, &g, &mut m, c, &step)?;
        }
        b.check()?;
        Ok::<(), Status>(())
    })();
    if s == Status::Ok && rust.is_ok() {
        assert_same("kernel params", &w.f32s(lp.off(), len), &wv);
        assert_same("kernel state", &w.f32s(ls.off(), len), &m);
    }
    out.expected = Some(rust.err().unwrap_or(Status::Ok));
    out
}

/// The step an Adam or AdamWeightDecay kernel call makes of its arguments.
enum AdamCall {
    Adam(AdamStep),
    AdamW(AdamWStep),
}

/// `gradstep_kernel_adam` or (`adamw`) `gradstep_kernel_adamw`, against the reference. The
/// settings struct: written into the scratch area (any fields: bad betas, `eps`, flags, `K`), or
/// the bytes init's settings left (of whichever rule), or bytes in the call buffers (which the
/// call may write: it reads the settings first), or NULL, or misaligned.
pub(crate) fn adam_kernel_call(r: &mut Reader, ctx: &mut Ctx, adamw: bool) -> Outcome {
    let fields = adam_fields(r);
    let (loss_scale, nesterov, check_finite, field_backend) =
        (r.f64_param(), flag(r), flag(r), backend_id(r));
    let set = match r.u8() % 8 {
        0 => Loc::Null,
        1 => Loc::at(SCRATCH + 4, WORLD),
        2 => Loc::at(SETTINGS, WORLD),
        3 => Loc::at(8 * (r.u16() as usize % (BUF_END / 8 - 8)), WORLD),
        _ => Loc::at(SCRATCH, WORLD),
    };
    if matches!(set, Loc::At { off, .. } if off >= SCRATCH) {
        let p = ctx.w.at::<u8>(set.off());
        // SAFETY: the scratch area, with room for the struct.
        unsafe {
            write_adam_settings(
                p,
                adamw,
                &fields,
                loss_scale,
                nesterov,
                check_finite,
                field_backend,
            )
        };
    }
    ctx.mark();
    // the settings as the call reads them: NULL, misaligned, or these bytes
    let settings: Result<CAdamSettings, Status> = match set {
        Loc::Null => Err(Status::NullPointer),
        Loc::At { off, .. } if off % 8 != 0 => Err(Status::Misaligned),
        Loc::At { off, .. } if adamw => {
            let s: CAdamWSettings = ctx.w.read(off);
            let mut a = gradstep_adam_settings_default();
            (a.beta1, a.beta2, a.eps) = (s.beta1, s.beta2, s.eps);
            Ok(a)
        }
        Loc::At { off, .. } => Ok(ctx.w.read(off)),
    };
    let nb = match settings {
        Ok(s) if !adamw && s.amsgrad != 0 => 3,
        _ => 2,
    };
    let w = &ctx.w;
    let (lp, lg, ls, len) = three(r, None, Scope::Buf, ctx.live, nb);
    let rows = match r.u8() % 4 {
        0 | 1 => 0,
        2 => 1 + r.u8() as usize % 8,
        _ => r.u64() as usize,
    };
    let (lr, wd, backend) = (r.f32_param(), r.f64_param(), backend_id(r));
    let b1 = settings.map_or(0.9, |s| s.beta1 as f32);
    let b2 = settings.map_or(0.999, |s| s.beta2 as f32);
    let (p1, p2) = (r.power(b1), r.power(b2));
    let state_len = len.saturating_mul(nb);
    let uses = [
        use_of(w, lp, len, 4, 4, true),
        use_of(w, lg, len, 4, 4, false),
        use_of(w, ls, state_len, 4, 4, true),
    ];
    let valid = all_ok(&uses);
    let inputs = valid.then(|| {
        (
            w.f32s(lp.off(), len),
            w.f32s(lg.off(), len),
            w.f32s(ls.off(), state_len),
        )
    });
    let (pp, gp, sp) = (w.ptr::<f32>(lp), w.ptr::<f32>(lg), w.ptr::<f32>(ls));
    let setp = w.ptr::<u8>(set);
    // SAFETY: NULL, or pointers into the world with room for `len` values (the state for
    // `nb · len`) and for the settings.
    let s = unsafe {
        if adamw {
            let setp = setp as *const CAdamWSettings;
            gradstep_kernel_adamw(pp, gp, sp, len, rows, lr, wd, setp, backend)
        } else {
            let setp = setp as *const CAdamSettings;
            gradstep_kernel_adam(pp, gp, sp, len, rows, lr, wd, p1, p2, setp, backend)
        }
    };
    if trace() {
        eprintln!(
            "  settings {settings:?}, len {len} ({nb} state buffers), rows {rows}, lr {lr:e}, wd {wd:e}, powers {p1:e} {p2:e}, backend {backend}"
        );
    }
    let mut out = Outcome::new(s);
    out.written = vec![
        (lp.off(), len.saturating_mul(4)),
        (ls.off(), state_len.saturating_mul(4)),
    ];
    // the step, in the C API's order of checks: the settings pointer, the backend id, the
    // constants; then the buffers
    let step = (|| {
        let st = settings?;
        let b = backend_of(backend).ok_or(Status::InvalidArgument)?;
        let betas = |s: &CAdamSettings| Betas::new(s.beta1, s.beta2, s.eps);
        if adamw {
            let step = AdamWStep::new(lr, betas(&st)?, wd)?;
            return Ok((b, AdamCall::AdamW(step)));
        }
        let prep = GradPrep::new(wd, st.loss_scale)?;
        let betas = betas(&st)?;
        let threads = NonZeroU32::new(st.threads).ok_or(Error::NotPositive(Param::Threads))?;
        let step = AdamStep::new(lr, betas, st.nesterov != 0, st.amsgrad != 0, prep)?
            .with_powers(p1, p2)?
            .with_threads(threads);
        Ok::<_, Status>((b, AdamCall::Adam(step)))
    })();
    let (b, step) = match step {
        Ok(x) => x,
        Err(e) => {
            out.expected = Some(e);
            return out;
        }
    };
    let Some((mut wv, g, mut st)) = inputs else {
        out.must_fail = true;
        return out;
    };
    let c = NonZeroUsize::new(rows);
    let (m, rest) = st.split_at_mut(len);
    let (v, vh) = rest.split_at_mut(len);
    let rust = match step {
        AdamCall::Adam(x) => reference::adam(&mut wv, &g, m, v, vh, c, &x),
        AdamCall::AdamW(x) => reference::adamw(&mut wv, &g, m, v, c, &x),
    }
    .and_then(|()| b.check().map(|_| ()));
    if s == Status::Ok && rust.is_ok() {
        assert_same("kernel params", &w.f32s(lp.off(), len), &wv);
        assert_same("kernel state", &w.f32s(ls.off(), state_len), &st);
    }
    out.expected = Some(status_of(rust));
    out
}
