//! What every call reports, the harness's view of the optimizer, and the calls that do not
//! take an optimizer: kernels, table fillers, schedules, status messages.

use super::*;

// ----- the operations -------------------------------------------------------------------------

/// What one operation did, for the checks every call gets.
pub(crate) struct Outcome {
    /// The C status.
    pub(crate) status: Status,
    /// The Rust API's status, when it can be said.
    pub(crate) expected: Option<Status>,
    /// Up to a table read as a schedule (see `same_status`).
    pub(crate) approx: bool,
    /// A pointer was bad: the call must fail.
    pub(crate) must_fail: bool,
    /// World offsets the call may write when it succeeds.
    pub(crate) written: Vec<(usize, usize)>,
    /// Whether a successful call may write the groups' words (`_private`).
    pub(crate) writes_groups: bool,
}

impl Outcome {
    pub(crate) fn new(status: Status) -> Outcome {
        Outcome {
            status,
            expected: None,
            approx: false,
            must_fail: false,
            written: Vec::new(),
            writes_groups: false,
        }
    }
}

/// The harness's view of the C optimizer.
pub(crate) struct Ctx {
    pub(crate) w: World,
    pub(crate) slots: Slots,
    /// The state the model keeps, once init succeeded.
    pub(crate) st: Option<State>,
    /// Where the optimizer struct is (`OPT_A` or `OPT_B`).
    pub(crate) live: usize,
    /// The last bytes a save wrote.
    pub(crate) saved: Vec<u8>,
    /// The world as a call found it, when the harness wrote its inputs there during the
    /// operation (`mark`).
    pub(crate) marked: Option<(Vec<u8>, Vec<(Public, [u32; 5])>)>,
}

impl Ctx {
    /// The world as the call about to be made finds it (after the harness wrote its inputs).
    pub(crate) fn mark(&mut self) {
        self.marked = Some((self.w.snapshot(), groups_of(&self.w)));
    }

    /// The rule's state buffers (Momentum and SGD keep one).
    pub(crate) fn buffers(&self) -> usize {
        self.st
            .as_ref()
            .map_or(1, |s| s.state_len / s.len.max(1))
            .max(1)
    }
}

/// The optimizer pointer of a call: mostly the live one, sometimes NULL, misaligned, an all-zero
/// struct, or the slot the optimizer is not in.
#[derive(Clone, Copy, PartialEq, Debug)]
pub(crate) enum OptSel {
    Live,
    Null,
    Misaligned,
    Zero,
}

pub(crate) fn opt_sel(r: &mut Reader, op: u8) -> OptSel {
    if op & 0x80 == 0 {
        return OptSel::Live;
    }
    match r.u8() % 8 {
        0 => OptSel::Null,
        1 => OptSel::Misaligned,
        2 | 3 => OptSel::Zero,
        _ => OptSel::Live,
    }
}

impl Ctx {
    /// The optimizer pointer a call is given.
    pub(crate) fn opt_ptr(&self, s: OptSel) -> *mut COptimizer {
        match s {
            OptSel::Live => self.w.at(self.live),
            OptSel::Null => null_mut(),
            OptSel::Misaligned => self.w.at(self.live + 4),
            // the slot the optimizer is not in (zeroed when it moved; out of every buffer's
            // reach), or the zero area
            OptSel::Zero if self.live == OPT_A => self.w.at(OPT_B),
            OptSel::Zero => self.w.at(ZERO),
        }
    }

    /// The status of an optimizer call on a pointer that is not an initialized optimizer, when
    /// the call reads the optimizer before anything else.
    pub(crate) fn bad_opt(&self, s: OptSel) -> Option<Status> {
        match (s, &self.st) {
            (OptSel::Live, Some(_)) => None,
            (OptSel::Null, _) => Some(Status::NullPointer),
            (OptSel::Misaligned, _) => Some(Status::Misaligned),
            _ => Some(Status::Uninitialized),
        }
    }

    /// The uses every optimizer call that reads the arrays has: the optimizer, the tensors
    /// (read), the groups (written).
    pub(crate) fn base(&self, write_opt: bool, groups_written: bool) -> Vec<Use> {
        let st = self.st.as_ref().unwrap();
        vec![
            use_at(&self.w, self.live, OPT_SIZE, write_opt),
            use_at(&self.w, TENSORS, TENSOR_SIZE * st.n_tensors, false),
            use_at(&self.w, GROUPS, GROUP_SIZE * st.n_groups, groups_written),
        ]
    }

    /// Whether the groups' sources are ones the C API takes, and overlap nothing `uses` writes.
    pub(crate) fn sources_ok(&self, uses: &[Use]) -> bool {
        let st = self.st.as_ref().unwrap();
        match sources(&self.w, st) {
            None => false,
            Some(s) => s.iter().all(|(_, span)| {
                span.is_none_or(|x| {
                    !uses
                        .iter()
                        .any(|u| u.written && u.span.is_some_and(|y| overlaps(x, y)))
                })
            }),
        }
    }
}

/// Three float buffers and their length `len` (the third holds `nb · len` values): back to back
/// at a small offset (`want` values, or one more or less), or three arbitrary pointers.
pub(crate) fn three(
    r: &mut Reader,
    want: Option<usize>,
    scope: Scope,
    live: usize,
    nb: usize,
) -> (Loc, Loc, Loc, usize) {
    let limit = if scope == Scope::Opt { LIMIT } else { BUF_END };
    if r.u8() % 4 != 0 {
        let mut len = want.unwrap_or_else(|| r.u16() as usize % 300).min(300);
        match r.u8() {
            255 => len += 1,
            254 => len = len.saturating_sub(1),
            _ => {}
        }
        let base = 4 * (r.u8() as usize % 16);
        let len = len.min((BUF_END - base) / (4 * (2 + nb)));
        (
            Loc::at(base, limit),
            Loc::at(base + 4 * len, limit),
            Loc::at(base + 8 * len, limit),
            len,
        )
    } else {
        let (a, b, c) = (
            loc(r, 4, 4, scope, live),
            loc(r, 4, 4, scope, live),
            loc(r, 4, 4, scope, live),
        );
        (a, b, c, length(r, &[a, b], 4).min(c.room(4 * nb)))
    }
}

/// The seven table fillers and the piecewise length, against `lr::dynamic`; the output sometimes
/// over a group's table.
pub(crate) fn table_call(r: &mut Reader, ctx: &mut Ctx) -> Outcome {
    let lo = loc(r, 4, 4, Scope::Tables, ctx.live);
    let total = match r.u8() % 16 {
        0 => 0,
        1 => r.u32(),
        _ => r.u16() as u32 % 300,
    };
    let out_len = match r.u8() % 8 {
        0 => length(r, &[lo], 4),
        _ => (total as usize).min(lo.room(4)),
    };
    let out = ctx.w.ptr::<f32>(lo);
    let (per, decay) = (r.count(), r.count());
    let mut want = vec![0.0f32; out_len.min(WORLD)];
    let out_ok = lo.valid(out_len, 4);
    let mut o = Outcome::new(Status::Ok);
    o.written = vec![(lo.off(), out_len.saturating_mul(4))];
    // SAFETY (every call): `out` is NULL or has room for `out_len` values; the milestone and rate
    // arrays are in the world's scratch with room for what is given.
    let (s, rust): (Status, Option<Result<(), Error>>) = unsafe {
        match r.u8() % 8 {
            0 => {
                let (a, b, f) = (r.f64_param(), r.f64_param(), flag(r));
                (
                    gradstep_exponential_decay_lr(a, b, total, per, decay, f, out, out_len),
                    out_ok.then(|| {
                        dynamic::exponential_decay_lr(a, b, total, per, decay, f != 0, &mut want)
                    }),
                )
            }
            1 => {
                let (a, b, f) = (r.f64_param(), r.f64_param(), flag(r));
                (
                    gradstep_natural_exp_decay_lr(a, b, total, per, decay, f, out, out_len),
                    out_ok.then(|| {
                        dynamic::natural_exp_decay_lr(a, b, total, per, decay, f != 0, &mut want)
                    }),
                )
            }
            2 => {
                let (a, b, f) = (r.f64_param(), r.f64_param(), flag(r));
                (
                    gradstep_inverse_decay_lr(a, b, total, per, decay, f, out, out_len),
                    out_ok.then(|| {
                        dynamic::inverse_decay_lr(a, b, total, per, decay, f != 0, &mut want)
                    }),
                )
            }
            3 => {
                let (a, b) = (r.f64_param(), r.f64_param());
                (
                    gradstep_cosine_decay_lr(a, b, total, per, decay, out, out_len),
                    out_ok.then(|| dynamic::cosine_decay_lr(a, b, total, per, decay, &mut want)),
                )
            }
            4 => {
                let (a, b, p, u) = (r.f64_param(), r.f64_param(), r.f64_param(), flag(r));
                (
                    gradstep_polynomial_decay_lr(a, b, total, per, decay, p, u, out, out_len),
                    out_ok.then(|| {
                        dynamic::polynomial_decay_lr(a, b, total, per, decay, p, u != 0, &mut want)
                    }),
                )
            }
            5 => {
                let a = r.f64_param();
                (
                    gradstep_warmup_lr(a, total, per, decay, out, out_len),
                    out_ok.then(|| dynamic::warmup_lr(a, total, per, decay, &mut want)),
                )
            }
            k => {
                // piecewise: milestones and rates in the scratch area
                let n = r.u8() as usize % 6;
                let mut ms: Vec<u32> = (0..n)
                    .map(|_| r.u8() as u32 * 3 + (r.u8() % 4 == 0) as u32)
                    .collect();
                if r.u8() % 4 != 0 {
                    ms.sort_unstable();
                }
                let lrs: Vec<f64> = (0..n).map(|_| r.f64_param()).collect();
                for (i, m) in ms.iter().enumerate() {
                    ctx.w.write(SCRATCH + 4 * i, *m);
                }
                for (i, l) in lrs.iter().enumerate() {
                    ctx.w.write(SCRATCH + 256 + 8 * i, *l);
                }
                let n_l = if r.u8() % 8 == 0 {
                    n.saturating_sub(1)
                } else {
                    n
                };
                let at = |o: usize| ctx.w.at::<u8>(SCRATCH + o);
                let (mp, lp) = match r.u8() % 8 {
                    0 => (null(), at(256) as *const f64),
                    1 => (at(2) as *const u32, at(256) as *const f64),
                    2 => (at(0) as *const u32, at(260) as *const f64),
                    _ => (at(0) as *const u32, at(256) as *const f64),
                };
                let arrays_ok =
                    (n == 0 || (!mp.is_null() && mp.is_aligned())) && (n_l == 0 || lp.is_aligned());
                ctx.mark();
                if k == 6 {
                    // the length query, into an out-parameter in the call buffers
                    let lo2 = loc(r, 8, 8, Scope::Buf, ctx.live);
                    let s =
                        gradstep_piecewise_constant_len(mp, n, lp, n_l, ctx.w.ptr::<usize>(lo2));
                    let rust = dynamic::piecewise_constant_len(&ms, &lrs[..n_l]);
                    if s == Status::Ok {
                        assert!(
                            arrays_ok && lo2.valid(1, 8),
                            "piecewise_constant_len accepted a bad pointer"
                        );
                        let want = rust.expect("a length Rust refuses");
                        assert_eq!(ctx.w.read::<usize>(lo2.off()), want);
                    }
                    o.status = s;
                    o.written = vec![(lo2.off(), 8)];
                    o.must_fail = !(arrays_ok && lo2.valid(1, 8));
                    o.expected = match rust {
                        Err(e) if arrays_ok => Some(Status::from(e)),
                        Ok(_) if arrays_ok && lo2.valid(1, 8) => Some(Status::Ok),
                        _ => None,
                    };
                    return o;
                }
                let s = gradstep_piecewise_constant_lr(mp, n, lp, n_l, out, out_len);
                o.must_fail = !arrays_ok;
                (
                    s,
                    (out_ok && arrays_ok)
                        .then(|| dynamic::piecewise_constant_lr(&ms, &lrs[..n_l], &mut want)),
                )
            }
        }
    };
    if s == Status::Ok {
        assert!(out_ok, "a table filler accepted a bad pointer");
        let got = ctx.w.f32s(lo.off(), out_len);
        assert!(
            got.iter().all(|v| v.is_finite() && *v >= 0.0),
            "a filled table holds {got:?}"
        );
        if rust == Some(Ok(())) {
            assert_bits("table", &got, &want);
        }
    }
    o.status = s;
    o.must_fail |= !out_ok;
    o.expected = rust.map(status_of);
    o
}

/// A schedule constructor into the call buffers or into a schedule slot (which groups may read),
/// then its learning rate at a few steps.
pub(crate) fn schedule_ctor(r: &mut Reader, ctx: &mut Ctx) -> Outcome {
    let slot = r.u8();
    let lo = if slot % 4 == 0 {
        Loc::at(SCHEDS + SCHED_SIZE * (slot as usize / 4 % N_SCHEDS), WORLD)
    } else {
        loc(r, 4, SCHED_SIZE, Scope::Buf, ctx.live)
    };
    let (s, rust) = make_schedule(r, ctx.w.ptr::<CSchedule>(lo));
    let mut out = Outcome::new(s);
    out.written = vec![(lo.off(), SCHED_SIZE)];
    out.must_fail = !lo.valid(1, 4);
    if s == Status::Ok {
        assert!(
            lo.valid(1, 4),
            "a schedule constructor accepted a bad pointer"
        );
        let rust = rust.expect("a schedule the Rust API refuses");
        let c: CSchedule = ctx.w.read(lo.off());
        if let Some(i) = (lo.off().checked_sub(SCHEDS))
            .filter(|o| o % SCHED_SIZE == 0 && o / SCHED_SIZE < N_SCHEDS)
            .map(|o| o / SCHED_SIZE)
        {
            ctx.slots.0[i] = Some((rust, ctx.w.bytes(lo.off(), SCHED_SIZE)));
        }
        for _ in 0..3 {
            let k = r.step();
            let mut v = f32::NAN;
            // SAFETY: a schedule and an out-parameter on the stack.
            let s2 = unsafe { gradstep_schedule_lr(&c, k, &mut v) };
            let want = Lr::Schedule(&rust).at(k);
            assert_eq!(s2, status_of(want), "schedule_lr at {k}");
            if let Ok(w) = want {
                assert_eq!(v.to_bits(), w.to_bits(), "schedule_lr at {k}");
            }
        }
    }
    out.expected = match rust {
        Err(e) => Some(e.into()),
        Ok(_) => lo.valid(1, 4).then_some(Status::Ok),
    };
    out
}

/// `gradstep_schedule_lr` on a schedule gradstep made, a damaged one, or a bad pointer.
pub(crate) fn schedule_lr_call(r: &mut Reader, ctx: &mut Ctx) -> Outcome {
    let w = &ctx.w;
    let (sp, known): (*const CSchedule, Option<Option<Schedule>>) = match r.u8() % 8 {
        0 => (null(), None),
        1 => (w.at(GARBAGE), None),
        2 => (w.at(GARBAGE_MISALIGNED), None),
        k => {
            let i = k as usize % N_SCHEDS;
            let slot = w.at::<CSchedule>(SCHEDS + SCHED_SIZE * i);
            // a slot no constructor filled is all zeros: no schedule
            let empty = w.bytes(SCHEDS + SCHED_SIZE * i, SCHED_SIZE) == [0; SCHED_SIZE];
            let known = match ctx.slots.get(w, i) {
                Some(s) => Some(Some(s)),
                None if empty => Some(None),
                None => None,
            };
            (slot, known)
        }
    };
    let lo = loc(r, 4, 4, Scope::Buf, ctx.live);
    let k = r.step();
    // SAFETY: NULL or pointers into the world with room for one value.
    let s = unsafe { gradstep_schedule_lr(sp, k, w.ptr::<f32>(lo)) };
    let mut out = Outcome::new(s);
    out.written = vec![(lo.off(), 4)];
    out.must_fail = !lo.valid(1, 4) || sp.is_null() || !sp.is_aligned();
    if s == Status::Ok {
        let v: f32 = w.read(lo.off());
        assert!(v.is_finite() && v >= 0.0, "schedule_lr gave {v:e}");
        // SAFETY: checked: an aligned schedule in the world.
        let want = Lr::Schedule(unsafe { &*sp }).at(k).expect("Lr::at refuses");
        assert_eq!(v.to_bits(), want.to_bits());
    }
    out.expected = match known {
        Some(Some(rust)) if lo.valid(1, 4) => Some(status_of(Lr::Schedule(&rust).at(k))),
        Some(None) => Some(Status::InvalidArgument),
        _ => None,
    };
    out
}

/// `gradstep_sequence_lr` over schedules copied into the scratch area.
pub(crate) fn sequence_call(r: &mut Reader, ctx: &mut Ctx) -> Outcome {
    let n = r.u8() as usize % 5;
    let mut rust: Vec<Schedule> = Vec::new();
    let mut all_known = true;
    for i in 0..n {
        let j = r.u8() as usize;
        let c: CSchedule = if j % 8 == 7 {
            all_known = false;
            ctx.w.read(GARBAGE)
        } else {
            let j = j % N_SCHEDS;
            match ctx.slots.get(&ctx.w, j) {
                Some(s) => rust.push(s),
                None => all_known = false,
            }
            ctx.w.read(SCHEDS + SCHED_SIZE * j)
        };
        ctx.w.write(SCRATCH + SCHED_SIZE * i, c);
    }
    let nb = if r.u8() % 8 == 0 {
        n
    } else {
        n.saturating_sub(1)
    };
    let mut boundaries: Vec<u32> = (0..nb).map(|_| r.step()).collect();
    if r.u8() % 4 != 0 {
        boundaries.sort_unstable();
    }
    for (i, b) in boundaries.iter().enumerate() {
        ctx.w.write(SCRATCH + 512 + 4 * i, *b);
    }
    let sp: *const CSchedule = if r.u8() % 16 == 0 {
        null()
    } else {
        ctx.w.at(SCRATCH)
    };
    let bp: *const u32 = ctx.w.at(SCRATCH + 512);
    ctx.mark();
    let lo = loc(r, 4, 4, Scope::Buf, ctx.live);
    let k = r.step();
    // SAFETY: arrays in the scratch area with room for what is given; `out` NULL or with room
    // for one value.
    let s = unsafe { gradstep_sequence_lr(sp, n, bp, nb, k, ctx.w.ptr::<f32>(lo)) };
    let mut out = Outcome::new(s);
    out.written = vec![(lo.off(), 4)];
    out.must_fail = !lo.valid(1, 4) || (n > 0 && sp.is_null());
    if s == Status::Ok {
        let v: f32 = ctx.w.read(lo.off());
        assert!(v.is_finite() && v >= 0.0, "sequence_lr gave {v:e}");
    }
    let comparable = all_known && (n == 0 || !sp.is_null());
    let want = Sequence::new(&rust, &boundaries).and_then(|q| Lr::Schedule(&q).at(k));
    if s == Status::Ok && comparable {
        let w = want.expect("a learning rate the Rust sequence refuses");
        assert_eq!(
            ctx.w.read::<f32>(lo.off()).to_bits(),
            w.to_bits(),
            "sequence_lr at {k}"
        );
    }
    out.expected = match want {
        _ if !comparable => None,
        Err(e) => Some(e.into()),
        Ok(_) => lo.valid(1, 4).then_some(Status::Ok),
    };
    out
}

/// Status messages, backends and the version never fail.
pub(crate) fn messages(r: &mut Reader) -> Outcome {
    let code = r.u32() as i32;
    // SAFETY: a static NUL-terminated string.
    let msg = unsafe { std::ffi::CStr::from_ptr(gradstep_status_message(code)) };
    assert!(!msg.to_bytes().is_empty());
    let p = r.u32() % 8;
    // SAFETY: as above.
    let name = unsafe { std::ffi::CStr::from_ptr(gradstep_backend_name(p)) };
    assert!(!name.to_bytes().is_empty());
    assert_eq!(
        gradstep_backend_available(p) != 0,
        backend_of(p).is_some_and(Backend::is_available),
        "backend {p}"
    );
    let selected = gradstep_backend_selected();
    assert_eq!(backend_of(selected), Some(Backend::selected()));
    assert_ne!(selected, GRADSTEP_BACKEND_AUTO);
    // the settings' defaults are the Rust API's
    let (a, w) = (AdamSettings::new(), AdamWSettings::new());
    let d = gradstep_adam_settings_default();
    assert_eq!(
        (
            [d.beta1, d.beta2, d.eps, d.loss_scale].map(f64::to_bits),
            [d.nesterov, d.amsgrad, d.threads, d.check_finite, d.backend]
        ),
        (
            [a.beta1, a.beta2, a.eps, a.loss_scale].map(f64::to_bits),
            [0, 0, a.threads, 0, GRADSTEP_BACKEND_AUTO]
        ),
        "gradstep_adam_settings_default"
    );
    let d = gradstep_adamw_settings_default();
    assert_eq!(
        (
            [d.beta1, d.beta2, d.eps].map(f64::to_bits),
            [d.check_finite, d.backend]
        ),
        (
            [w.beta1, w.beta2, w.eps].map(f64::to_bits),
            [0, GRADSTEP_BACKEND_AUTO]
        ),
        "gradstep_adamw_settings_default"
    );
    // SAFETY: as above.
    let version = unsafe { std::ffi::CStr::from_ptr(gradstep_version()) };
    assert!(!version.to_bytes().is_empty());
    let mut out = Outcome::new(Status::Ok);
    out.expected = Some(Status::Ok);
    out
}

pub(crate) fn st_ref<T>(r: &Result<T, Error>) -> Status {
    match r {
        Ok(_) => Status::Ok,
        Err(e) => Status::from(*e),
    }
}

/// `gradstep_optimizer_global_step` with the signature of the other number queries (it writes
/// a `uint32_t` only).
pub(crate) unsafe extern "C" fn global_step_as_usize(
    opt: *const COptimizer,
    out: *mut usize,
) -> Status {
    // SAFETY: the caller's; `out` has room for a `size_t`, more than a `uint32_t`.
    unsafe { gradstep_optimizer_global_step(opt, out as *mut u32) }
}
