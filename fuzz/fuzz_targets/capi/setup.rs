//! Edits of the caller's memory between calls, and the setup: tables, schedules, layout,
//! groups, settings and init.

use super::*;

// ----- edits of the caller's memory -------------------------------------------------------------

/// Values into the call buffers.
pub(crate) fn fill(r: &mut Reader, ctx: &mut Ctx) {
    let at = r.u16() as usize % (BUF_END / 4);
    let raw = r.bool();
    let n = (r.u8() as usize).min(BUF_END / 4 - at);
    let v = r.values(n, raw);
    ctx.w.put_f32s(4 * at, &v);
}

/// A table pointer (and length) for a group: a table, misaligned, NULL, the call buffers, the
/// group array, the optimizer, the tensor array.
pub(crate) fn table_ptr(r: &mut Reader, ctx: &Ctx) -> (*const f32, usize) {
    let off = r.u8() as usize % N_TABLE;
    let p: *const f32 = match r.u8() % 8 {
        0 => null(),
        1 => ctx.w.at(TABLES + 4 * off + 1),
        2 => ctx.w.at(4 * (r.u16() as usize % (BUF_END / 4))),
        3 => ctx.w.at(GROUPS),
        4 => ctx.w.at(ctx.live),
        5 => ctx.w.at(TENSORS),
        _ => ctx.w.at(TABLES + 4 * off),
    };
    let room = ctx
        .w
        .offset_of(p.addr())
        .map_or(usize::MAX, |o| (WORLD - o) / 4);
    (p, (r.u8() as usize % 70).min(room))
}

/// A schedule pointer for a group: a slot, damaged (aligned or not), NULL, the call buffers, the
/// group array, the optimizer.
pub(crate) fn schedule_ptr(r: &mut Reader, ctx: &Ctx) -> *const CSchedule {
    match r.u8() % 8 {
        0 => null(),
        1 => ctx.w.at(GARBAGE),
        2 => ctx.w.at(GARBAGE_MISALIGNED),
        3 => ctx
            .w
            .at(4 * (r.u16() as usize % ((BUF_END - SCHED_SIZE) / 4))),
        4 => ctx.w.at(GROUPS),
        5 => ctx.w.at(ctx.live),
        k => ctx.w.at(SCHEDS + SCHED_SIZE * (k as usize % N_SCHEDS)),
    }
}

/// A field of a tensor the optimizer was given.
pub(crate) fn edit_tensor(r: &mut Reader, ctx: &mut Ctx, n_tensors: usize, n_groups: usize) {
    let (i, field) = (r.u8() as usize, r.u8() % 4);
    if n_tensors == 0 {
        return;
    }
    let i = i % n_tensors;
    let mut t = ctx.w.tensor(i);
    match field {
        0 => {
            t.len = match r.u8() % 4 {
                0 => t.len.wrapping_add(1),
                1 => t.len.saturating_sub(1),
                2 => r.u8() as usize % 40,
                _ => r.u64() as usize,
            }
        }
        1 => t.rows = NonZeroUsize::new(r.u8() as usize % 5),
        2 => {
            t.group = match r.u8() {
                255 => usize::MAX,
                b => b as usize % (n_groups + 2),
            }
        }
        _ => {
            // swap lengths with another tensor: the same total, another layout
            let j = r.u8() as usize % n_tensors;
            let mut u = ctx.w.tensor(j);
            std::mem::swap(&mut t.len, &mut u.len);
            ctx.w.write(TENSORS + TENSOR_SIZE * j, u);
            if i == j {
                return;
            }
        }
    }
    if trace() {
        eprintln!("  tensor {i} is now {t:?}");
    }
    ctx.w.write(TENSORS + TENSOR_SIZE * i, t);
}

/// A caller field of a group the optimizer was given.
pub(crate) fn edit_group(r: &mut Reader, ctx: &mut Ctx, n_groups: usize) {
    let (i, field) = (r.u8() as usize, r.u8() % 8);
    if n_groups == 0 {
        return;
    }
    let g = ctx.w.group_ptr(i % n_groups);
    // SAFETY: a group in the world; field writes through the world's pointer, no call runs.
    unsafe {
        match field {
            0 => {
                let k = match r.u8() % 5 {
                    4 => r.u32(),
                    k => k as u32,
                };
                addr_of_mut!((*g).lr_kind).write(k)
            }
            1 => {
                let (p, len) = table_ptr(r, ctx);
                addr_of_mut!((*g).table).write(p);
                addr_of_mut!((*g).table_len).write(len);
            }
            2 => {
                let p = (*g).table;
                let room = ctx
                    .w
                    .offset_of(p.addr())
                    .map_or(usize::MAX, |o| (WORLD - o) / 4);
                addr_of_mut!((*g).table_len).write((r.u8() as usize % 70).min(room))
            }
            3 => addr_of_mut!((*g).schedule).write(schedule_ptr(r, ctx)),
            4 => addr_of_mut!((*g).hold_last).write(flag(r)),
            5 => addr_of_mut!((*g).centralize).write(flag(r)),
            6 => addr_of_mut!((*g).lr).write(r.f64_param()),
            _ => addr_of_mut!((*g).weight_decay).write(r.f64_param()),
        }
    }
    if trace() {
        eprintln!(
            "  group {} is now {:?}",
            i % n_groups,
            ctx.w.group(i % n_groups)
        );
    }
}

/// The optimizer struct: one bit of it flipped for one call (which must fail: the checksum
/// covers the pointers and words 0..=20, `src/ffi/optimizer.rs`), or the struct moved to the other
/// slot (a copy is an optimizer: "it may be copied").
pub(crate) fn opt_op(r: &mut Reader, ctx: &mut Ctx) {
    let (sub, word, bit, call) = (r.u8() % 2, r.u8() % 25, r.u8() % 32, r.u8() % 3);
    if ctx.st.is_none() {
        return;
    }
    if sub == 1 {
        let other = if ctx.live == OPT_A { OPT_B } else { OPT_A };
        let bytes = ctx.w.bytes(ctx.live, OPT_SIZE);
        ctx.w.put_bytes(other, &bytes);
        ctx.w.put_bytes(ctx.live, &[0; OPT_SIZE]);
        ctx.live = other;
        if trace() {
            eprintln!("  the optimizer moved to {other}");
        }
        return;
    }
    // the pointers are 4 words from byte 0, the words from byte 16
    let at = if word < 21 {
        ctx.live + 16 + 4 * word as usize
    } else {
        ctx.live + 4 * (word as usize - 21)
    };
    let was: u32 = ctx.w.read(at);
    ctx.w.write(at, was ^ (1 << bit));
    let before = ctx.w.snapshot();
    let before_groups = groups_of(&ctx.w);
    let opt = ctx.w.at::<COptimizer>(ctx.live);
    let mut k = 0u32;
    let (mut wv, g, mut sv) = ([0.5f32; 4], [0.25f32; 4], [0.0f32; 4]);
    // SAFETY: a damaged optimizer struct (refused before anything it holds is used), buffers on
    // the stack.
    let s = unsafe {
        match call {
            0 => gradstep_optimizer_step(opt, wv.as_mut_ptr(), g.as_ptr(), 4, sv.as_mut_ptr(), 4),
            1 => gradstep_optimizer_global_step(opt, &mut k),
            _ => gradstep_optimizer_set_lr(opt, 0, 0.5),
        }
    };
    let want = if word == 0 {
        Status::Uninitialized
    } else {
        Status::InvalidArgument
    };
    assert_eq!(
        s, want,
        "a call on an optimizer damaged at word {word}, bit {bit}"
    );
    assert!(
        before == ctx.w.snapshot(),
        "a call on a damaged optimizer wrote"
    );
    assert!(
        before_groups == groups_of(&ctx.w),
        "a call on a damaged optimizer wrote a group"
    );
    ctx.w.write(at, was);
}

// ----- setup and init ---------------------------------------------------------------------------

/// The layout, the groups, the settings and init; the context for the calls.
pub(crate) fn setup(r: &mut Reader) -> Ctx {
    let mut ctx = Ctx {
        w: World::new(),
        slots: Slots([None, None, None, None]),
        st: None,
        live: OPT_A,
        saved: Vec::new(),
        marked: None,
    };
    let n_table = r.u8() as usize % N_TABLE;
    let table_values: Vec<f32> = (0..n_table).map(|_| r.f32_param()).collect();
    ctx.w.put_f32s(TABLES, &table_values);
    for i in 0..N_SCHEDS {
        let at = SCHEDS + SCHED_SIZE * i;
        let (s, rust) = make_schedule(r, ctx.w.at(at));
        assert_eq!(
            s,
            status_of(rust),
            "a schedule constructor and its Rust twin disagree"
        );
        if let Ok(rust) = rust {
            ctx.slots.0[i] = Some((rust, ctx.w.bytes(at, SCHED_SIZE)));
        }
    }
    let garbage = r.bytes(32).to_vec();
    ctx.w.put_bytes(GARBAGE, &garbage);
    ctx.w.put_bytes(GARBAGE_MISALIGNED, &garbage);

    let n_tensors = r.u8() as usize % MAX_TENSORS;
    for i in 0..n_tensors {
        let group = r.u8() as usize % 5;
        let rows = |x: usize| NonZeroUsize::new(x);
        let t = match r.u8() % 16 {
            0 => Tensor {
                len: usize::MAX,
                rows: None,
                group,
            },
            1 => Tensor {
                len: r.u64() as usize,
                rows: rows(r.u8() as usize),
                group,
            },
            2 => Tensor {
                len: r.u8() as usize % 40,
                rows: rows(r.u8() as usize % 7),
                group,
            },
            3..=7 => Tensor::matrix(1 + r.u8() as usize % 4, r.u8() as usize % 9, group),
            _ => Tensor::vector(r.u8() as usize % 33, group),
        };
        ctx.w.write(TENSORS + TENSOR_SIZE * i, t);
    }
    let n_groups = r.u8() as usize % MAX_GROUPS;
    for i in 0..n_groups {
        let (wd, c) = (r.f64_param(), flag(r));
        let g = match r.u8() % 8 {
            0..=2 => gradstep_group_static(r.f64_param(), wd, c),
            3 | 4 => {
                let (off, len) = (r.u8() as usize % N_TABLE, r.u8() as usize % 8);
                let len = len.min(N_TABLE - off);
                let (p, len): (*const f32, usize) = match r.u8() % 16 {
                    0 => (null(), len),
                    1 => (ctx.w.at(TABLES + 4 * off + 1), len.min(N_TABLE - 1 - off)),
                    _ => (ctx.w.at(TABLES + 4 * off), len),
                };
                gradstep_group_table(p, len, flag(r), wd, c)
            }
            5 | 6 => {
                let p: *const CSchedule = match r.u8() % 8 {
                    0 => null(),
                    1 => ctx.w.at(GARBAGE),
                    2 => ctx.w.at(GARBAGE_MISALIGNED),
                    k => ctx.w.at(SCHEDS + SCHED_SIZE * (k as usize % N_SCHEDS)),
                };
                gradstep_group_schedule(p, wd, c)
            }
            _ => {
                let mut g = gradstep_group_static(r.f64_param(), wd, c);
                g.lr_kind = r.u32();
                g
            }
        };
        ctx.w.write(GROUPS + GROUP_SIZE * i, g);
    }

    // 0 Momentum, 1 SGD, 2 Adam, 3 AdamWeightDecay
    let rule = r.u8() % 4;
    let sgd = rule == 1;
    let momentum = r.f64_param();
    let nesterov = flag(r);
    let loss_scale = r.f64_param();
    let check_finite = flag(r);
    let backend = backend_id(r);
    let dampening = r.f64_param();
    let adam = (rule >= 2).then(|| adam_fields(r));
    // the settings, written field by field (their padding stays zero)
    let sp = ctx.w.at::<u8>(SETTINGS);
    // SAFETY: the settings area, with room for any of the structs; no call runs.
    unsafe {
        if let Some(a) = adam {
            write_adam_settings(
                sp,
                rule == 3,
                &a,
                loss_scale,
                nesterov,
                check_finite,
                backend,
            );
        } else if sgd {
            let p = sp as *mut CSgdSettings;
            addr_of_mut!((*p).momentum).write(momentum);
            addr_of_mut!((*p).dampening).write(dampening);
            addr_of_mut!((*p).loss_scale).write(loss_scale);
            addr_of_mut!((*p).nesterov).write(nesterov);
            addr_of_mut!((*p).check_finite).write(check_finite);
            addr_of_mut!((*p).backend).write(backend);
        } else {
            let p = sp as *mut CMomentumSettings;
            addr_of_mut!((*p).momentum).write(momentum);
            addr_of_mut!((*p).loss_scale).write(loss_scale);
            addr_of_mut!((*p).nesterov).write(nesterov);
            addr_of_mut!((*p).check_finite).write(check_finite);
            addr_of_mut!((*p).backend).write(backend);
        }
    }
    let settings_size = match rule {
        0 => size_of::<CMomentumSettings>(),
        1 => size_of::<CSgdSettings>(),
        2 => size_of::<CAdamSettings>(),
        _ => size_of::<CAdamWSettings>(),
    };

    // the optimizer: in its slot, NULL, misaligned, or over the groups, the tensors or the settings
    let opt_at: Option<usize> = match r.u8() % 16 {
        0 => None,
        1 => Some(OPT_A + 4),
        2 => Some(GROUPS),
        3 => Some(TENSORS),
        4 => Some(SETTINGS),
        _ => Some(OPT_A),
    };
    let n_t = match r.u8() % 8 {
        0 => n_tensors.saturating_sub(1),
        _ => n_tensors,
    };
    let tensors_at = (r.u8() % 16 != 0).then_some(TENSORS);
    let n_g = match r.u8() % 8 {
        0 => n_groups.saturating_sub(1),
        _ => n_groups,
    };
    let groups_at = (r.u8() % 16 != 0).then_some(GROUPS);
    let settings_at = match r.u8() % 32 {
        0 => None,
        1 => Some(SETTINGS + 4),
        _ => Some(SETTINGS),
    };
    let ptr = |at: Option<usize>| at.map_or(null_mut(), |o| ctx.w.at::<u8>(o));
    let (op, tp, gp, setp) = (
        ptr(opt_at) as *mut COptimizer,
        ptr(tensors_at) as *const Tensor,
        ptr(groups_at) as *mut CGroup,
        ptr(settings_at),
    );
    let before = ctx.w.snapshot();
    let before_groups = groups_of(&ctx.w);
    // SAFETY: every pointer is NULL or points into the world with room for what it is given.
    let init = unsafe {
        match rule {
            0 => gradstep_momentum_init(op, tp, n_t, gp, n_g, setp as *const CMomentumSettings),
            1 => gradstep_sgd_init(op, tp, n_t, gp, n_g, setp as *const CSgdSettings),
            2 => gradstep_adam_init(op, tp, n_t, gp, n_g, setp as *const CAdamSettings),
            _ => gradstep_adamw_init(op, tp, n_t, gp, n_g, setp as *const CAdamWSettings),
        }
    };

    // what init must do: the pointers, then the Rust API on the same layout, groups and settings
    let loc_of = |at: Option<usize>| at.map_or(Loc::Null, |o| Loc::at(o, WORLD));
    let uses = [
        use_of(&ctx.w, loc_of(opt_at), 1, OPT_SIZE, 8, true),
        use_of(&ctx.w, loc_of(tensors_at), n_t, TENSOR_SIZE, 8, false),
        use_of(&ctx.w, loc_of(groups_at), n_g, GROUP_SIZE, 8, true),
        use_of(&ctx.w, loc_of(settings_at), 1, settings_size, 8, false),
    ];
    let written = [uses[0], uses[2]];
    let ptrs_ok = all_ok(&uses)
        && sources_of(&ctx.w, n_g, &[0.0; MAX_GROUPS]).is_some_and(|s| {
            s.iter().all(|(_, span)| {
                span.is_none_or(|x| {
                    !written
                        .iter()
                        .any(|u| u.span.is_some_and(|y| overlaps(x, y)))
                })
            })
        })
        && backend_of(backend).is_some();
    let bk = backend_of(backend).unwrap_or(Backend::Scalar);
    let rules = if let Some(a) = adam {
        adam_rules(rule == 3, &a, loss_scale, nesterov, check_finite, bk)
    } else if sgd {
        Rules::Sgd(
            SgdSettings::default()
                .with_momentum(momentum)
                .with_dampening(dampening)
                .with_nesterov(nesterov != 0)
                .with_loss_scale(loss_scale)
                .with_check_finite(check_finite != 0)
                .with_backend(backend_of(backend).unwrap_or(Backend::Scalar)),
        )
    } else {
        Rules::Momentum(
            MomentumSettings::new(momentum)
                .with_nesterov(nesterov != 0)
                .with_loss_scale(loss_scale)
                .with_check_finite(check_finite != 0)
                .with_backend(backend_of(backend).unwrap_or(Backend::Scalar)),
        )
    };
    let layout: Vec<Tensor> = (0..n_t).map(|i| ctx.w.tensor(i)).collect();
    // the settings are checked right after the pointers, before the groups and the layout
    if all_ok(&uses)
        && let Err(e) = rules.check()
    {
        assert_eq!(
            init,
            Status::from(e),
            "init refused the settings {rules:?} differently"
        );
    }
    let rust = ptrs_ok.then(|| rust_init(&ctx.w, &layout, n_g, rules));
    if trace() {
        eprintln!(
            "init: {init:?} (Rust API: {:?}); opt at {opt_at:?}; tensors {layout:?}; groups {:#?}; {rules:?}",
            rust.as_ref().map(|r| r.as_ref().map(|s| s.len)),
            (0..n_g).map(|i| ctx.w.group(i)).collect::<Vec<_>>()
        );
    }
    if init != Status::Ok {
        assert!(
            before == ctx.w.snapshot(),
            "a failed init ({init:?}) changed the world: {}",
            first_difference(&ctx.w.snapshot(), &before)
        );
        assert!(
            before_groups == groups_of(&ctx.w),
            "a failed init ({init:?}) changed a group"
        );
        if let Some(Ok(_)) = rust {
            panic!("init refused ({init:?}) what the Rust API accepts");
        }
        return ctx;
    }
    assert!(ptrs_ok, "init accepted bad pointers or groups");
    assert_eq!(opt_at, Some(OPT_A), "init succeeded on an overlap");
    let after = groups_of(&ctx.w);
    for (i, (a, b)) in after.iter().zip(&before_groups).enumerate() {
        assert_eq!(a.0, b.0, "init wrote group {i}'s caller fields");
        if i >= n_g {
            assert_eq!(a.1, b.1, "init wrote a group it was not given");
        }
    }
    match rust {
        Some(Ok(st)) => ctx.st = Some(st),
        Some(Err(e)) => panic!("init accepted what the Rust API refuses: {e:?}"),
        None => unreachable!(),
    }
    ctx
}

/// The Rust optimizer init must build: its state.
pub(crate) fn rust_init(
    w: &World,
    layout: &[Tensor],
    n_g: usize,
    rules: Rules,
) -> Result<State, Error> {
    let cgroups: Vec<CGroup> = (0..n_g).map(|i| w.group(i)).collect();
    let srcs = sources_of(w, n_g, &[0.0; MAX_GROUPS]).expect("checked");
    // NaN: no static learning rate (a group that was not static at init cannot become static)
    let mut static_lr = vec![f32::NAN; n_g];
    let mut groups = Vec::new();
    for (i, (g, (src, _))) in cgroups.iter().zip(&srcs).enumerate() {
        let lr = match *src {
            Src::Static(_) => {
                let lr = Lr::new_static(g.lr)?;
                if let Lr::Static(v) = lr {
                    static_lr[i] = v;
                }
                lr
            }
            Src::Table(values, hold) => Lr::Table(Table::new(
                values,
                if hold {
                    PastEnd::HoldLast
                } else {
                    PastEnd::Reject
                },
            )?),
            Src::Schedule(s) => Lr::Schedule(s),
        };
        groups.push(Group::new(lr, g.weight_decay, g.centralize != 0)?);
    }
    let o = build_opt(rules, layout, groups)?;
    let (len, state_len, saved_len) = on!(&o, |x| (x.len(), x.state_len(), x.saved_len()));
    assert_eq!(
        state_len,
        len * rules.buffers(),
        "state_len of {rules:?}: its buffers × len"
    );
    let fresh = scalars_of(&o);
    Ok(State {
        rules,
        n_tensors: layout.len(),
        n_groups: n_g,
        init_layout: layout.to_vec(),
        init_wd: cgroups.iter().map(|g| g.weight_decay).collect(),
        len,
        state_len,
        saved_len,
        step: 0,
        scalars: fresh,
        fresh,
        static_lr,
        planned: None,
        known: true,
    })
}
