//! The C API's optimizer driven from Rust (feature `capi`), so that its unsafe layer runs under
//! Miri: against the Rust optimizer, failed calls, the caller's memory changed between calls, and
//! overlapping memory. `tests/c/test_gradstep.c` drives it from C.
#![cfg(feature = "capi")]

use std::mem::MaybeUninit;
use std::ptr::{null, null_mut};

use gradstep::ffi::*;
use gradstep::lr::schedule::WarmupLr;
use gradstep::{Group, Lr, Momentum, MomentumSettings, PastEnd, Table, Tensor};

fn ok(s: Status) {
    assert_eq!(s, Status::Ok);
}

fn bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|x| x.to_bits()).collect()
}

/// An optimizer struct as a C caller declares it: uninitialized (zeros here).
fn blank() -> COptimizer {
    // SAFETY: plain data; all zeros is a value (an uninitialized optimizer).
    unsafe { MaybeUninit::<COptimizer>::zeroed().assume_init() }
}

const TENSORS: [Tensor; 2] = [Tensor::matrix(2, 3, 0), Tensor::vector(2, 1)];
const TABLE: [f32; 4] = [0.1, 0.09, 0.08, 0.07];

/// A C optimizer and a Rust optimizer over the same layout and groups give the same bits.
#[test]
fn optimizer_round_trip() {
    let mut sched = CSchedule::EMPTY;
    // SAFETY: as above; the groups and tensors outlive the optimizers.
    unsafe {
        ok(gradstep_schedule_warmup(0.05, 2, &mut sched));
        let mut groups = [
            gradstep_group_table(TABLE.as_ptr(), 4, 1, 1e-4, 1),
            gradstep_group_schedule(&sched, 0.0, 0),
        ];
        let mut settings = gradstep_momentum_settings_default(0.9);
        settings.check_finite = 1;
        let mut opt = blank();
        let (mut w, g, mut m) = ([0.5f32; 8], [0.25f32; 8], [0.0f32; 8]);
        let step = |opt: &mut COptimizer, w: &mut [f32; 8], m: &mut [f32; 8]| {
            gradstep_optimizer_step(opt, w.as_mut_ptr(), g.as_ptr(), 8, m.as_mut_ptr(), 8)
        };
        assert_eq!(step(&mut opt, &mut w, &mut m), Status::Uninitialized);
        ok(gradstep_momentum_init(
            &mut opt,
            TENSORS.as_ptr(),
            2,
            groups.as_mut_ptr(),
            2,
            &settings,
        ));
        ok(step(&mut opt, &mut w, &mut m));

        // the same in Rust
        let warm = WarmupLr::new(0.05, 2).unwrap();
        let rust_groups = [
            Group::new(
                Lr::Table(Table::new(&TABLE, PastEnd::HoldLast).unwrap()),
                1e-4,
                true,
            )
            .unwrap(),
            Group::new(Lr::Schedule(&warm), 0.0, false).unwrap(),
        ];
        let mut rust = Momentum::new(&TENSORS, rust_groups, MomentumSettings::new(0.9)).unwrap();
        let (mut rw, mut rm) = ([0.5f32; 8], [0.0f32; 8]);
        rust.step(&mut rw, &g, &mut rm).unwrap();
        assert_eq!((bits(&w), bits(&m)), (bits(&rw), bits(&rm)));

        let (mut k, mut len, mut state_len, mut lr) = (0u32, 0usize, 0usize, 0.0f32);
        ok(gradstep_optimizer_global_step(&opt, &mut k));
        ok(gradstep_optimizer_len(&opt, &mut len));
        ok(gradstep_optimizer_state_len(&opt, &mut state_len));
        ok(gradstep_optimizer_lr(&opt, 0, &mut lr));
        assert_eq!((k, len, state_len, lr), (1, 8, 8, TABLE[1]));
        assert_eq!(gradstep_optimizer_set_lr(&opt, 0, 0.1), Status::NotStatic);

        let mut saved = vec![0u8; 128];
        let (mut n, mut written) = (0usize, 0usize);
        ok(gradstep_optimizer_saved_len(&opt, &mut n));
        ok(gradstep_optimizer_save(
            &opt,
            m.as_ptr(),
            8,
            saved.as_mut_ptr(),
            saved.len(),
            &mut written,
        ));
        assert_eq!(n, written);
        assert_eq!(written, rust.saved_len());
        let (mut w2, mut m2) = (w, [0.0f32; 8]);

        // step 1 in shards over the whole buffers: tensor 1 (elements 6..8) first, then tensor 0
        let mut token = 0u32;
        let (mut offset, mut count) = (0usize, 0usize);
        ok(gradstep_optimizer_begin_step(&mut opt, &mut token));
        ok(gradstep_optimizer_elements(
            &opt,
            1,
            2,
            &mut offset,
            &mut count,
        ));
        assert_eq!((offset, count), (6, 2));
        let (wp, gp, mp) = (w.as_mut_ptr(), g.as_ptr(), m.as_mut_ptr());
        ok(gradstep_optimizer_step_shard(
            &opt, token, 6, 8, wp, gp, 8, mp, 8,
        ));
        ok(gradstep_optimizer_step_shard(
            &opt, token, 0, 6, wp, gp, 8, mp, 8,
        ));
        ok(gradstep_optimizer_end_step(&mut opt, token));

        // a second optimizer restored from the bytes takes step 1 whole: the same bits
        let mut groups2 = groups;
        let mut opt2 = blank();
        ok(gradstep_momentum_init(
            &mut opt2,
            TENSORS.as_ptr(),
            2,
            groups2.as_mut_ptr(),
            2,
            &settings,
        ));
        ok(gradstep_optimizer_restore(
            &mut opt2,
            saved.as_ptr(),
            written,
            m2.as_mut_ptr(),
            8,
        ));
        ok(step(&mut opt2, &mut w2, &mut m2));
        assert_eq!((bits(&w), bits(&m)), (bits(&w2), bits(&m2)));

        saved[40] ^= 1;
        assert_eq!(
            gradstep_optimizer_restore(&mut opt2, saved.as_ptr(), written, m2.as_mut_ptr(), 8),
            Status::SavedState
        );
        let mut sgd = blank();
        let mut groups3 = groups;
        let mut s = gradstep_sgd_settings_default();
        s.momentum = 0.9;
        ok(gradstep_sgd_init(
            &mut sgd,
            TENSORS.as_ptr(),
            2,
            groups3.as_mut_ptr(),
            2,
            &s,
        ));
        ok(step(&mut sgd, &mut w, &mut m));
        let mut bad = [gradstep_group_static(0.1, -1.0, 0)];
        let one = [Tensor::vector(1, 0)];
        let before = sgd;
        assert_eq!(
            gradstep_momentum_init(&mut sgd, one.as_ptr(), 1, bad.as_mut_ptr(), 1, &settings),
            Status::Negative
        );
        assert_eq!(
            sgd._private, before._private,
            "a failed init writes nothing"
        );
    }
}

/// Calls that fail change nothing, even when they fail on their result pointer or after the
/// step was planned (each case was found by `fuzz/fuzz_targets/capi.rs`).
#[test]
fn failed_calls_change_nothing() {
    let tensors = [Tensor::vector(4, 0)];
    // SAFETY: as above; the pointers are live, or deliberately null or misaligned.
    unsafe {
        let mut groups = [gradstep_group_static(0.1, -0.0, 0)];
        let settings = gradstep_momentum_settings_default(0.9);
        let mut opt = blank();
        // a weight decay of −0 is a zero weight decay
        ok(gradstep_momentum_init(
            &mut opt,
            tensors.as_ptr(),
            1,
            groups.as_mut_ptr(),
            1,
            &settings,
        ));
        let (mut w, mut g, mut m) = ([0.5f32; 4], [0.25f32; 4], [0.0f32; 4]);

        // a failed step leaves no step planned: its token (0) is not accepted afterwards
        g[2] = f32::NAN;
        let mut checked = settings;
        checked.check_finite = 1;
        // its own groups: an optimizer's groups are its own for its lifetime
        let mut groups_checked = [gradstep_group_static(0.1, -0.0, 0)];
        let mut opt_checked = blank();
        ok(gradstep_momentum_init(
            &mut opt_checked,
            tensors.as_ptr(),
            1,
            groups_checked.as_mut_ptr(),
            1,
            &checked,
        ));
        let (wp, gp, mp) = (w.as_mut_ptr(), g.as_ptr(), m.as_mut_ptr());
        assert_eq!(
            gradstep_optimizer_step(&mut opt_checked, wp, gp, 4, mp, 4),
            Status::NonFiniteGradient
        );
        assert_eq!(
            gradstep_optimizer_step_shard(&opt_checked, 0, 0, 1, wp, gp, 4, mp, 4),
            Status::StaleStep
        );
        assert_eq!(
            gradstep_optimizer_end_step(&mut opt_checked, 0),
            Status::StaleStep
        );
        assert_eq!(
            gradstep_optimizer_step(&mut opt, wp, gp, 3, mp, 3),
            Status::LengthMismatch
        );
        assert_eq!(gradstep_optimizer_end_step(&mut opt, 0), Status::StaleStep);
        g = [0.25; 4];
        let gp = g.as_ptr();

        // a bad token pointer fails begin_step before it plans the step
        let odd_u32 = (m.as_mut_ptr() as *mut u8).add(1) as *mut u32;
        assert_eq!(
            gradstep_optimizer_begin_step(&mut opt, null_mut()),
            Status::NullPointer
        );
        assert_eq!(
            gradstep_optimizer_begin_step(&mut opt, odd_u32),
            Status::Misaligned
        );
        assert_eq!(gradstep_optimizer_end_step(&mut opt, 0), Status::StaleStep);

        // a bad `len` pointer leaves `*offset` alone
        let mut offset = 7usize;
        assert_eq!(
            gradstep_optimizer_elements(&opt, 0, 1, &mut offset, null_mut()),
            Status::NullPointer
        );
        assert_eq!(offset, 7);

        // a bad `written` pointer leaves `out` alone
        // 8-aligned storage, so that one byte in is misaligned for a usize on any placement
        let mut saved_words = [0xaaaa_aaaa_aaaa_aaaau64; 8];
        let saved_ptr = saved_words.as_mut_ptr() as *mut u8;
        let odd_usize = saved_ptr.add(1) as *mut usize;
        assert_eq!(
            gradstep_optimizer_save(&opt, mp, 4, saved_ptr, 64, null_mut()),
            Status::NullPointer
        );
        let mut other = [0xaau8; 64];
        assert_eq!(
            gradstep_optimizer_save(&opt, mp, 4, other.as_mut_ptr(), other.len(), odd_usize),
            Status::Misaligned
        );
        let saved = std::slice::from_raw_parts(saved_ptr, 64);
        assert!(saved.iter().chain(&other).all(|&b| b == 0xaa));

        // and a good step still works, from step 0
        ok(gradstep_optimizer_step(&mut opt, wp, gp, 4, mp, 4));
        let mut step = 9u32;
        ok(gradstep_optimizer_global_step(&opt, &mut step));
        assert_eq!(step, 1);
        // the reference's w − lr·g in f32 (no weight decay)
        assert_eq!(w, [0.5f32 - 0.1f32 * 0.25f32; 4]);
    }
}

/// A layout larger than memory is rejected at init (no length ever saturates).
#[test]
fn a_layout_larger_than_memory_is_rejected() {
    let tensors = [Tensor::vector(usize::MAX / 8, 0)];
    // SAFETY: as above.
    unsafe {
        let mut groups = [gradstep_group_static(0.1, 0.0, 0)];
        let settings = gradstep_momentum_settings_default(0.9);
        let mut opt = blank();
        assert_eq!(
            gradstep_momentum_init(
                &mut opt,
                tensors.as_ptr(),
                1,
                groups.as_mut_ptr(),
                1,
                &settings
            ),
            Status::LayoutTooLarge
        );
    }
}

/// The caller memory an optimizer keeps pointers to, as raw pointers made once: edits go through
/// them, as a C caller's would, so that the pointers gradstep holds stay valid (Miri checks it).
struct Memory {
    tensors: *mut Tensor,
    groups: *mut CGroup,
    table: *mut f32,
    schedule: *mut CSchedule,
}

/// What a step reads of the caller's memory, each changed after one good step: every change is
/// an error, and params, state, the step counter and the optimizer stay bit-identical.
#[test]
fn edits_of_caller_memory_are_caught_before_any_write() {
    // SAFETY (every edit): the pointers are `Memory`'s, valid for the arrays below.
    type Edit = unsafe fn(&Memory, &mut COptimizer);
    let edits: [(&str, Edit, Status); 12] = [
        (
            "tensor 1 names group 7",
            |m, _| unsafe { (*m.tensors.add(1)).group = 7 },
            Status::GroupOutOfRange,
        ),
        (
            "tensor 0 gets 4 rows",
            |m, _| unsafe { (*m.tensors).rows = std::num::NonZeroUsize::new(4) },
            Status::TensorRows,
        ),
        (
            "tensor 1 grows",
            |m, _| unsafe { (*m.tensors.add(1)).len += 1 },
            Status::LayoutChanged,
        ),
        (
            "group 0 of an unknown kind",
            |m, _| unsafe { (*m.groups).lr_kind = 9 },
            Status::InvalidArgument,
        ),
        (
            "group 1's table is NULL",
            |m, _| unsafe { (*m.groups.add(1)).table = null() },
            Status::NullPointer,
        ),
        (
            "group 1's table is empty",
            |m, _| unsafe { (*m.groups.add(1)).table_len = 0 },
            Status::EmptyTable,
        ),
        (
            "group 1's table is misaligned",
            |m, _| unsafe {
                (*m.groups.add(1)).table = (m.table as *const u8).wrapping_add(1) as *const f32
            },
            Status::Misaligned,
        ),
        (
            "group 1's table holds a NaN",
            |m, _| unsafe { *m.table.add(1) = f32::NAN },
            Status::NotFinite,
        ),
        (
            "group 2's schedule is NULL",
            |m, _| unsafe { (*m.groups.add(2)).schedule = null() },
            Status::NullPointer,
        ),
        (
            "group 2's schedule is damaged",
            |m, _| unsafe { (*m.schedule)._private[0] = 0 },
            Status::InvalidArgument,
        ),
        (
            "a word of the optimizer",
            |_, o| o._private[4] ^= 1,
            Status::InvalidArgument,
        ),
        (
            "the optimizer's magic",
            |_, o| o._private[0] = 0,
            Status::Uninitialized,
        ),
    ];
    for (what, edit, status) in edits {
        let mut tensors = [
            Tensor::matrix(2, 3, 0),
            Tensor::vector(2, 1),
            Tensor::matrix(3, 2, 2),
        ];
        let mut table = [0.1f32, 0.09, 0.08, 0.07];
        let mut sched = CSchedule::EMPTY;
        // SAFETY: as above; the arrays outlive the optimizer and are only used through `mem`
        // once it exists.
        unsafe {
            ok(gradstep_schedule_cosine_decay(0.001, 0.1, 10, &mut sched));
            let mut groups = [
                gradstep_group_static(0.05, 1e-4, 1),
                gradstep_group_table(table.as_ptr(), 4, 0, 0.0, 0),
                gradstep_group_schedule(&sched, 0.0, 1),
            ];
            let mem = Memory {
                tensors: tensors.as_mut_ptr(),
                groups: groups.as_mut_ptr(),
                table: table.as_mut_ptr(),
                schedule: &mut sched,
            };
            (*mem.groups.add(1)).table = mem.table;
            (*mem.groups.add(2)).schedule = mem.schedule;
            let mut opt = blank();
            let settings = gradstep_momentum_settings_default(0.9);
            ok(gradstep_momentum_init(
                &mut opt,
                mem.tensors,
                3,
                mem.groups,
                3,
                &settings,
            ));
            let (mut w, g, mut m) = ([0.5f32; 14], [0.25f32; 14], [0.0f32; 14]);
            let (wp, gp, mp) = (w.as_mut_ptr(), g.as_ptr(), m.as_mut_ptr());
            ok(gradstep_optimizer_step(&mut opt, wp, gp, 14, mp, 14));
            let (w0, m0) = (w, m);
            edit(&mem, &mut opt);
            let edited = opt;
            assert_eq!(
                gradstep_optimizer_step(&mut opt, wp, gp, 14, mp, 14),
                status,
                "{what}"
            );
            assert_eq!((bits(&w), bits(&m)), (bits(&w0), bits(&m0)), "{what}");
            assert_eq!(
                (opt._private, opt._pointers),
                (edited._private, edited._pointers),
                "{what}"
            );
            // planning reads the groups and the optimizer (not the layout)
            let mut token = 0;
            let planned = gradstep_optimizer_begin_step(&mut opt, &mut token);
            let reads = what.starts_with("group") || what.contains("optimizer");
            assert_eq!(planned == status, reads, "{what}: begin_step {planned:?}");
        }
    }
}

/// A shard re-checks the layout too: a change between `begin_step` and the shard is an error
/// before the shard writes.
#[test]
fn shards_re_check_the_layout() {
    let mut storage = [Tensor::vector(3, 0), Tensor::vector(3, 0)];
    let tensors = storage.as_mut_ptr();
    // SAFETY: as above; the layout is only used through `tensors` once it exists.
    unsafe {
        let mut groups = [gradstep_group_static(0.1, 0.0, 0)];
        let settings = gradstep_momentum_settings_default(0.9);
        let mut opt = blank();
        ok(gradstep_momentum_init(
            &mut opt,
            tensors,
            2,
            groups.as_mut_ptr(),
            1,
            &settings,
        ));
        let (mut w, g, mut m) = ([0.5f32; 6], [0.25f32; 6], [0.0f32; 6]);
        let (wp, gp, mp) = (w.as_mut_ptr(), g.as_ptr(), m.as_mut_ptr());
        let mut token = 0;
        ok(gradstep_optimizer_begin_step(&mut opt, &mut token));
        (*tensors).len = 4;
        assert_eq!(
            gradstep_optimizer_step_shard(&opt, token, 0, 3, wp, gp, 6, mp, 6),
            Status::LayoutChanged
        );
        (*tensors).len = 3;
        (*tensors.add(1)).group = 1;
        assert_eq!(
            gradstep_optimizer_step_shard(&opt, token, 3, 6, wp, gp, 6, mp, 6),
            Status::GroupOutOfRange
        );
        assert_eq!(w, [0.5; 6]);
        (*tensors.add(1)).group = 0;
        ok(gradstep_optimizer_step_shard(
            &opt, token, 0, 6, wp, gp, 6, mp, 6,
        ));
        ok(gradstep_optimizer_end_step(&mut opt, token));
    }
}

/// Memory a call writes may not overlap anything else it uses: the buffers, the optimizer, the
/// layout and the groups, a table, the saved bytes, a result.
#[test]
fn overlaps_are_refused() {
    let tensors = [Tensor::vector(4, 0)];
    // SAFETY: as above; the overlapping pointers are refused before any reference is made.
    unsafe {
        let mut storage = [gradstep_group_static(0.1, 0.0, 0)];
        // one pointer for all uses, as a C caller has: the optimizer keeps it
        let groups = storage.as_mut_ptr();
        let settings = gradstep_momentum_settings_default(0.9);
        let mut opt = blank();
        // init: the optimizer over the groups
        assert_eq!(
            gradstep_momentum_init(
                groups as *mut COptimizer,
                tensors.as_ptr(),
                1,
                groups,
                1,
                &settings
            ),
            Status::Overlap
        );
        ok(gradstep_momentum_init(
            &mut opt,
            tensors.as_ptr(),
            1,
            groups,
            1,
            &settings,
        ));
        let (mut w, g, mut m) = ([0.5f32; 4], [0.25f32; 4], [0.0f32; 4]);
        let (wp, gp, mp) = (w.as_mut_ptr(), g.as_ptr(), m.as_mut_ptr());
        // a step whose params are the groups, the tensors or the optimizer
        let mut big = [0.0f32; 64];
        let gptr = groups as *mut f32;
        assert_eq!(
            gradstep_optimizer_step(&mut opt, gptr, gp, 4, mp, 4),
            Status::Overlap
        );
        let optp = &mut opt as *mut COptimizer;
        assert_eq!(
            gradstep_optimizer_step(optp, optp as *mut f32, gp, 4, mp, 4),
            Status::Overlap
        );
        assert_eq!(
            gradstep_optimizer_step(&mut opt, wp, gp, 4, wp, 4),
            Status::Overlap
        );
        // save's output over the state, restore's bytes over the state
        let mut n = 0usize;
        ok(gradstep_optimizer_saved_len(&opt, &mut n));
        assert_eq!(
            gradstep_optimizer_save(
                &opt,
                big.as_ptr(),
                4,
                big.as_mut_ptr() as *mut u8,
                n,
                &mut n
            ),
            Status::Overlap
        );
        let mut bytes = vec![0u8; n];
        let mut written = 0;
        ok(gradstep_optimizer_save(
            &opt,
            mp,
            4,
            bytes.as_mut_ptr(),
            n,
            &mut written,
        ));
        big[..bytes.len().div_ceil(4)]
            .iter_mut()
            .zip(bytes.chunks(4))
            .for_each(|(f, b)| {
                let mut a = [0u8; 4];
                a[..b.len()].copy_from_slice(b);
                *f = f32::from_ne_bytes(a)
            });
        assert_eq!(
            gradstep_optimizer_restore(&mut opt, big.as_ptr() as *const u8, n, big.as_mut_ptr(), 4),
            Status::Overlap
        );
        // a result over the optimizer
        assert_eq!(
            gradstep_optimizer_global_step(&opt, optp as *mut u32),
            Status::Overlap
        );
        // a table over the params it would be read with
        let mut buf = [0.1f32; 8];
        let mut tgroups = [gradstep_group_table(buf.as_ptr(), 4, 1, 0.0, 0)];
        let mut topt = blank();
        ok(gradstep_momentum_init(
            &mut topt,
            tensors.as_ptr(),
            1,
            tgroups.as_mut_ptr(),
            1,
            &settings,
        ));
        assert_eq!(
            gradstep_optimizer_step(&mut topt, buf.as_mut_ptr(), gp, 4, mp, 4),
            Status::Overlap
        );
        assert_eq!(buf, [0.1; 8]);
        ok(gradstep_optimizer_step(&mut opt, wp, gp, 4, mp, 4));
    }
}

/// Empty buffers may be NULL in every call, shards included (found by `fuzz/fuzz_targets/capi.rs`:
/// `fuzz/seeds/capi/found-shard-null-empty-buffers`).
#[test]
fn empty_shards_take_null_buffers() {
    let tensors = [Tensor::vector(0, 0)];
    let mut groups = [gradstep_group_static(0.1, 0.0, 0)];
    let settings = gradstep_momentum_settings_default(0.9);
    let mut opt = blank();
    // SAFETY: live arrays; NULL only for empty buffers.
    unsafe {
        ok(gradstep_momentum_init(
            &mut opt,
            tensors.as_ptr(),
            1,
            groups.as_mut_ptr(),
            1,
            &settings,
        ));
        ok(gradstep_optimizer_step(
            &mut opt,
            null_mut(),
            null(),
            0,
            null_mut(),
            0,
        ));
        let mut token = 0;
        ok(gradstep_optimizer_begin_step(&mut opt, &mut token));
        ok(gradstep_optimizer_step_shard(
            &opt,
            token,
            0,
            0,
            null_mut(),
            null(),
            0,
            null_mut(),
            0,
        ));
        ok(gradstep_optimizer_end_step(&mut opt, token));
    }
}

/// A group that was not static at init has no static learning rate: switching its kind to
/// static is refused, and nothing is written.
#[test]
fn a_group_cannot_become_static_after_init() {
    let mut groups = [
        gradstep_group_static(0.1, 0.0, 0),
        gradstep_group_table(TABLE.as_ptr(), 4, 1, 0.0, 0),
    ];
    let settings = gradstep_momentum_settings_default(0.9);
    let mut opt = blank();
    let (mut w, g, mut m) = ([0.5f32; 8], [0.25f32; 8], [0.0f32; 8]);
    // SAFETY: live arrays of the lengths given, outliving the optimizer.
    unsafe {
        let gp = groups.as_mut_ptr();
        ok(gradstep_momentum_init(
            &mut opt,
            TENSORS.as_ptr(),
            2,
            gp,
            2,
            &settings,
        ));
        // the caller edits its array, as C does, through the pointer the optimizer keeps
        (*gp.add(1)).lr_kind = GRADSTEP_LR_STATIC;
        (*gp.add(1)).lr = 0.5;
        let before = (w, m);
        let step =
            gradstep_optimizer_step(&mut opt, w.as_mut_ptr(), g.as_ptr(), 8, m.as_mut_ptr(), 8);
        assert_eq!(step, Status::NotStatic);
        assert_eq!((w, m), before);
        (*gp.add(1)).lr_kind = GRADSTEP_LR_TABLE; // back to a table: the step runs
        ok(gradstep_optimizer_step(
            &mut opt,
            w.as_mut_ptr(),
            g.as_ptr(),
            8,
            m.as_mut_ptr(),
            8,
        ));
    }
}

/// `gradstep_optimizer_plan` gives the Rust plan's shards; a shard's range must be a range the
/// step can be cut into (not inside a centralized row, not reversed, not past the end), refused
/// before anything is written; shards over element ranges, one cutting a tensor, give the whole
/// step's bits.
#[test]
fn plans_and_element_ranges() {
    const LAYOUT: [Tensor; 3] = [
        Tensor::matrix(4, 10, 0),
        Tensor::vector(37, 1),
        Tensor::matrix(3, 5, 1),
    ];
    const LEN: usize = 40 + 37 + 15;
    let settings = gradstep_momentum_settings_default(0.9);
    let rust_groups = || {
        [
            Group::new(Lr::new_static(0.1).unwrap(), 0.0, true).unwrap(),
            Group::new(Lr::new_static(0.05).unwrap(), 0.0, false).unwrap(),
        ]
    };
    let rust = Momentum::new(&LAYOUT, rust_groups(), MomentumSettings::new(0.9)).unwrap();
    // SAFETY: every pointer is to live locals of the lengths given.
    unsafe {
        let mut groups = [
            gradstep_group_static(0.1, 0.0, 1),
            gradstep_group_static(0.05, 0.0, 0),
        ];
        let mut opt = blank();
        ok(gradstep_momentum_init(
            &mut opt,
            LAYOUT.as_ptr(),
            3,
            groups.as_mut_ptr(),
            2,
            &settings,
        ));
        let mut whole = blank();
        let mut whole_groups = groups;
        ok(gradstep_momentum_init(
            &mut whole,
            LAYOUT.as_ptr(),
            3,
            whole_groups.as_mut_ptr(),
            2,
            &settings,
        ));
        for shards in 1..=5usize {
            let plan: Vec<_> = rust.plan(shards.try_into().unwrap()).collect();
            for (i, want) in plan.iter().enumerate() {
                let (mut start, mut end) = (usize::MAX, usize::MAX);
                ok(gradstep_optimizer_plan(
                    &opt, shards, i, &mut start, &mut end,
                ));
                assert_eq!(start..end, want.clone());
            }
            let (mut start, mut end) = (7, 7);
            assert_eq!(
                gradstep_optimizer_plan(&opt, shards, shards, &mut start, &mut end),
                Status::InvalidArgument
            );
            assert_eq!((start, end), (7, 7));
        }
        assert_eq!(
            gradstep_optimizer_plan(&opt, 0, 0, &mut 0, &mut 0),
            Status::InvalidArgument
        );

        let g: Vec<f32> = (0..LEN).map(|i| (i as f32 * 0.37).sin()).collect();
        let (mut w, mut m) = (vec![0.5f32; LEN], vec![0.0f32; LEN]);
        let (mut w2, mut m2) = (w.clone(), m.clone());
        let (wp, gp, mp) = (w.as_mut_ptr(), g.as_ptr(), m.as_mut_ptr());
        let mut token = 0;
        ok(gradstep_optimizer_begin_step(&mut opt, &mut token));
        for (start, end) in [(5, 40), (0, 5), (41, 10), (50, LEN + 1), (20, 35)] {
            assert_eq!(
                gradstep_optimizer_step_shard(&opt, token, start, end, wp, gp, LEN, mp, LEN),
                Status::ElementRange,
                "{start}..{end}"
            );
        }
        assert_eq!(bits(&w), bits(&[0.5; LEN]));
        // rows of the centralized matrix whole; the vector and the uncentralized matrix cut anywhere
        for (start, end) in [(60, 79), (79, LEN), (10, 60), (0, 10)] {
            ok(gradstep_optimizer_step_shard(
                &opt, token, start, end, wp, gp, LEN, mp, LEN,
            ));
        }
        ok(gradstep_optimizer_end_step(&mut opt, token));
        ok(gradstep_optimizer_step(
            &mut whole,
            w2.as_mut_ptr(),
            gp,
            LEN,
            m2.as_mut_ptr(),
            LEN,
        ));
        assert_eq!(bits(&w), bits(&w2));
        assert_eq!(bits(&m), bits(&m2));
    }
}
