//! The C entry points (`gradstep::ffi`) with arbitrary arguments — lengths, flags, kinds,
//! backends, structs, and pointers: NULL with a zero or non-zero length, misaligned, overlapping
//! one another or the optimizer struct, the tensor and group arrays, a table, a schedule —, each
//! call compared with the Rust API.
//!
//! All the memory the C API sees lives in one allocation, the world (`World`): call buffers,
//! learning-rate tables, schedules, the tensor array, the group array, the optimizer struct (in
//! one of two slots), the settings. Lengths never exceed the memory behind a pointer.
//!
//! Input: first a setup (tables and schedules, a layout, groups made by `gradstep_group_*` or by
//! hand, settings — valid or not: Adam's betas 0, 1 or NaN, `eps` ≤ 0, `K` = 0, AMSGrad with
//! Nesterov —, `gradstep_momentum_init`, `gradstep_sgd_init`, `gradstep_adam_init` or
//! `gradstep_adamw_init` with an optimizer pointer that is good, NULL, misaligned, or over the
//! tensors, the groups or the settings), then a sequence of operations: the kernels (Adam's and
//! AdamWeightDecay's with a settings struct in the world: written there, init's, in the call
//! buffers, NULL or misaligned), the table fillers, the schedules, every optimizer call (step,
//! begin / shard / end — a shard an element range: of a plan, of tensors, any, from inside a
//! row —, lr, set_lr, the lengths, elements, plan, save, restore), values written into the
//! buffers, edits of the caller's memory between calls (a tensor's `len`, `rows` or `group`; a
//! group's `lr_kind`, `table`, `table_len`, `schedule`, `hold_last`, `centralize`, `lr`,
//! `weight_decay`; a table value), a damaged optimizer struct, and the optimizer moved (copied) to
//! another address.
//!
//! The Rust side (`Model`): the Rust optimizer the C one must behave as, rebuilt for each call
//! from the caller's memory as it is then (the layout, each group's learning-rate source and
//! centralization), the weight decays and settings given at init, and the state the previous
//! calls left (step counter, the rule's scalars — SGD's first-step flag, Adam's beta powers —,
//! static learning rates, the planned step), which it restores from saved bytes. A table whose values the Rust `Table` refuses, or tables of
//! different lengths, are read through a schedule instead; a group left without tensors by an
//! edit gets an empty tensor at the end of the layout.
//!
//! Properties: no panic, no crash (AddressSanitizer); a call given pointers that are NULL with a
//! length, misaligned, or overlapping where it writes, fails; a call with good pointers returns
//! the Rust API's status, and on success writes the Rust API's bits (the reference for the
//! kernels, `lr::dynamic` for the tables, `Lr::at` for the schedules, the model for the
//! optimizer; NaN by NaN-ness where a kernel computes it: a NaN's payload may depend on the
//! buffers' alignment); a call that fails changes no byte of the world outside the group array, and no
//! group field (the groups' `planned` word excepted); a call that succeeds writes nothing but
//! its outputs (and the optimizer struct, for the calls that update it); no call ever writes a
//! group's caller fields.
#![no_main]

mod common;

use std::alloc::{Layout, alloc_zeroed, dealloc};
use std::mem::size_of;
use std::num::{NonZeroU32, NonZeroUsize};
use std::ops::Range;
use std::ptr::{addr_of_mut, null, null_mut};

use common::{Reader, assert_bits, assert_same, is_cut, trace};
use gradstep::ffi::*;
use gradstep::hyper::{AdamStep, AdamWStep, Betas, GradPrep, MomentumStep, SgdStep};
use gradstep::lr::dynamic;
use gradstep::lr::schedule::{
    CosineDecayLr, ExponentialDecayLr, InverseDecayLr, NaturalExpDecayLr, PolynomialDecayLr,
    WarmupLr,
};
use gradstep::lr::{CosineWarmRestarts, LrSchedule, Schedule, Sequence};
use gradstep::optim::{AdamRule, AdamWRule, MomentumRule, SgdRule};
use gradstep::{
    Adam, AdamSettings, AdamWSettings, AdamWeightDecay, Backend, Error, Group, Lr, Momentum,
    MomentumSettings, Param, PastEnd, Sgd, SgdSettings, StepToken, Table, Tensor, reference,
};
use libfuzzer_sys::fuzz_target;

/// Runs `$e` with `$x` bound to the model's optimizer, whichever its rule.
macro_rules! on {
    ($o:expr, |$x:ident| $e:expr) => {
        match $o {
            Opt::M($x) => $e,
            Opt::S($x) => $e,
            Opt::A($x) => $e,
            Opt::W($x) => $e,
        }
    };
}

#[path = "capi/calls.rs"]
mod calls;
#[path = "capi/kernels.rs"]
mod kernels;
#[path = "capi/model.rs"]
mod model;
#[path = "capi/optimizer.rs"]
mod optimizer;
#[path = "capi/saved.rs"]
mod saved;
#[path = "capi/setup.rs"]
mod setup;
#[path = "capi/world.rs"]
mod world;

use calls::*;
use kernels::*;
use model::*;
use optimizer::*;
use saved::*;
use setup::*;
use world::*;

// ----- the calls --------------------------------------------------------------------------------

fuzz_target!(|data: &[u8]| {
    assert_eq!(size_of::<Tensor>(), TENSOR_SIZE);
    assert_eq!(size_of::<CGroup>(), GROUP_SIZE);
    assert_eq!(size_of::<COptimizer>(), OPT_SIZE);
    assert_eq!(size_of::<CSchedule>(), SCHED_SIZE);
    let mut r = Reader::new(data);
    let mut ctx = setup(&mut r);

    // up to 24 calls, and as many edits between them as fit in 64 operations
    let mut calls = 0;
    for _ in 0..64 {
        if r.is_empty() || calls == 24 {
            break;
        }
        let op = r.u8();
        let kind = (op & 0x7f) % 23;
        let (n_t, n_g) = ctx
            .st
            .as_ref()
            .map_or((MAX_TENSORS, MAX_GROUPS), |s| (s.n_tensors, s.n_groups));
        let before = ctx.w.snapshot();
        let before_groups = groups_of(&ctx.w);
        if trace() {
            eprintln!(
                "op {kind}{}",
                if op & 0x80 != 0 { " (opt chosen)" } else { "" }
            );
        }
        let out = match kind {
            0 | 1 => kernel_call(&mut r, &mut ctx, kind == 0),
            2 | 3 => table_call(&mut r, &mut ctx),
            4 => schedule_ctor(&mut r, &mut ctx),
            5 => schedule_lr_call(&mut r, &mut ctx),
            6 => sequence_call(&mut r, &mut ctx),
            7..=14 => {
                let sel = opt_sel(&mut r, op);
                match kind {
                    7 | 8 => step_call(&mut r, &mut ctx, sel, false),
                    9 => begin_call(&mut r, &mut ctx, sel),
                    10 => step_call(&mut r, &mut ctx, sel, true),
                    11 => end_call(&mut r, &mut ctx, sel),
                    12 => query_call(&mut r, &mut ctx, sel),
                    13 => save_call(&mut r, &mut ctx, sel),
                    _ => restore_call(&mut r, &mut ctx, sel),
                }
            }
            15 => messages(&mut r),
            16 => {
                fill(&mut r, &mut ctx);
                continue;
            }
            17 => {
                edit_tensor(&mut r, &mut ctx, n_t, n_g);
                continue;
            }
            18 => {
                edit_group(&mut r, &mut ctx, n_g);
                continue;
            }
            19 => {
                let (i, v) = (r.u8() as usize % N_TABLE, r.f32_param());
                ctx.w.write(TABLES + 4 * i, v);
                continue;
            }
            20 => {
                opt_op(&mut r, &mut ctx);
                continue;
            }
            _ => adam_kernel_call(&mut r, &mut ctx, kind == 22),
        };
        calls += 1;
        let (before, before_groups) = ctx.marked.take().unwrap_or((before, before_groups));
        check(&ctx, kind, &out, &before, &before_groups);
        // an output the caller put over a group's private words (where gradstep keeps its
        // learning rates and preparation): the model cannot follow
        if let Some(st) = ctx.st.as_mut()
            && out.status == Status::Ok
        {
            let private = |i: usize| {
                let at = GROUPS + GROUP_SIZE * i + GROUP_SIZE - 20;
                (at, at + 20)
            };
            if out.written.iter().any(|&(o, n)| {
                (0..st.n_groups).any(|i| overlaps((o, o.saturating_add(n)), private(i)))
            }) {
                st.known = false;
            }
        }
        // the step counter: the C one is the model's
        if let Some(st) = ctx.st.as_ref().filter(|s| s.known) {
            let mut k = 0u32;
            // SAFETY: the initialized optimizer and an out-parameter on the stack.
            let s = unsafe { gradstep_optimizer_global_step(ctx.w.at(ctx.live), &mut k) };
            assert_eq!(s, Status::Ok, "global_step of the optimizer");
            assert_eq!(k, st.step, "the step counters differ");
        }
    }
});

/// What every call must do: the Rust API's status; fail with bad pointers; change nothing when it
/// fails; write only its outputs when it succeeds; never write a group's caller fields (unless
/// the caller put an output over them).
fn check(ctx: &Ctx, kind: u8, out: &Outcome, before: &[u8], before_groups: &[(Public, [u32; 5])]) {
    let s = out.status;
    if trace() {
        let approx = if out.approx {
            " (tables as schedules)"
        } else {
            ""
        };
        let must = if out.must_fail { ", must fail" } else { "" };
        eprintln!(
            "op {kind}: {s:?}, Rust API: {:?}{approx}{must}",
            out.expected
        );
    }
    if let Some(e) = out.expected {
        assert!(
            same_status(s, e, out.approx),
            "op {kind}: the C API says {s:?}, the Rust API {e:?}"
        );
    }
    if out.must_fail {
        assert_ne!(
            s,
            Status::Ok,
            "op {kind}: a call with bad pointers succeeded"
        );
    }
    let now = ctx.w.snapshot();
    let groups_now = groups_of(&ctx.w);
    // the bytes a call that succeeded may have written: its outputs
    let output = |i: usize| {
        s == Status::Ok
            && out
                .written
                .iter()
                .any(|&(o, n)| (o..o.saturating_add(n)).contains(&i))
    };
    for (i, (g, h)) in groups_now.iter().zip(before_groups).enumerate() {
        let at = GROUPS + GROUP_SIZE * i;
        if (at..at + GROUP_SIZE).any(output) {
            // an output the caller put over a group (of a call that does not use the groups)
            continue;
        }
        assert_eq!(
            g.0, h.0,
            "op {kind} ({s:?}) wrote group {i}'s caller fields"
        );
        if s != Status::Ok || !out.writes_groups {
            let (mut x, mut y) = (g.1, h.1);
            if s != Status::Ok {
                // the planned learning rate is scratch a failed call may leave changed
                x[PLANNED_WORD] = 0;
                y[PLANNED_WORD] = 0;
            }
            assert_eq!(x, y, "op {kind} ({s:?}) changed group {i}'s words");
        }
    }
    let groups = GROUPS..GROUPS + GROUP_SIZE * MAX_GROUPS;
    // chunk by chunk (a byte loop is slow under the fuzzer's comparison tracing)
    for (c, (xs, ys)) in now.chunks(64).zip(before.chunks(64)).enumerate() {
        if xs == ys {
            continue;
        }
        for (j, (x, y)) in xs.iter().zip(ys).enumerate() {
            let i = 64 * c + j;
            assert!(
                x == y || groups.contains(&i) || output(i),
                "op {kind}: a call that {} ({s:?}) wrote byte {i} ({y:#04x} -> {x:#04x}), \
                 outside its outputs {:?}",
                if s == Status::Ok {
                    "succeeded"
                } else {
                    "failed"
                },
                out.written
            );
        }
    }
}
