//! The C API driven from Rust (feature `capi`): the same calls a C program makes, so that the
//! unsafe layer also runs under Miri. `tests/c/test_gradstep.c` drives it from C.
#![cfg(feature = "capi")]

use gradstep::ffi::*;
use gradstep::Tensor;
use std::ptr::{null, null_mut};

fn ok(s: Status) {
    assert_eq!(s, Status::Ok);
}

#[test]
fn kernels_check_their_pointers() {
    let (mut w, g, mut m) = ([0.5f32; 9], [0.1f32; 9], [0.0f32; 9]);
    // SAFETY (all calls in this file): the pointers come from live arrays of the lengths given,
    // or are deliberately null, misaligned or overlapping to provoke the checks.
    unsafe {
        ok(gradstep_kernel_momentum(
            w.as_mut_ptr(),
            g.as_ptr(),
            m.as_mut_ptr(),
            9,
            3,
            0.1,
            0.9,
            1,
            1e-4,
            128.0,
            0,
        ));
        ok(gradstep_kernel_sgd(
            w.as_mut_ptr(),
            g.as_ptr(),
            m.as_mut_ptr(),
            9,
            0,
            0.1,
            0.9,
            0.1,
            0,
            1,
            0.0,
            1.0,
            1,
        ));
        ok(gradstep_kernel_momentum(
            null_mut(),
            null(),
            null_mut(),
            0,
            0,
            0.1,
            0.9,
            0,
            0.0,
            1.0,
            0,
        ));
        let before = w;
        let base = w.as_mut_ptr();
        assert_eq!(
            gradstep_kernel_momentum(
                null_mut(),
                g.as_ptr(),
                m.as_mut_ptr(),
                9,
                0,
                0.1,
                0.9,
                0,
                0.0,
                1.0,
                0
            ),
            Status::NullPointer
        );
        let odd = (m.as_mut_ptr() as *mut u8).add(1) as *mut f32;
        assert_eq!(
            gradstep_kernel_momentum(base, g.as_ptr(), odd, 8, 0, 0.1, 0.9, 0, 0.0, 1.0, 0),
            Status::Misaligned
        );
        assert_eq!(
            gradstep_kernel_momentum(
                base,
                g.as_ptr(),
                base.add(4),
                5,
                0,
                0.1,
                0.9,
                0,
                0.0,
                1.0,
                0
            ),
            Status::Overlap
        );
        assert_eq!(
            gradstep_kernel_momentum(
                base,
                g.as_ptr(),
                m.as_mut_ptr(),
                9,
                2,
                0.1,
                0.9,
                0,
                0.0,
                1.0,
                0
            ),
            Status::BadRows
        );
        assert_eq!(
            gradstep_kernel_momentum(
                base,
                g.as_ptr(),
                m.as_mut_ptr(),
                9,
                0,
                0.1,
                0.9,
                0,
                0.0,
                1.0,
                9
            ),
            Status::InvalidArgument
        );
        assert_eq!(w, before);
    }
}

#[test]
fn tables_schedules_and_messages() {
    let mut t = [0.0f32; 10];
    let mut s = CSchedule {
        kind: 0,
        flag: 0,
        f: [0.0; 4],
        n: [0; 2],
    };
    let mut lr = 0.0f32;
    let mut len = 0usize;
    // SAFETY: as above.
    unsafe {
        ok(gradstep_exponential_decay_lr(
            0.1,
            0.9,
            10,
            2,
            2,
            1,
            t.as_mut_ptr(),
            10,
        ));
        assert_eq!(t[4].to_bits(), 0x3db8_51ec);
        ok(gradstep_natural_exp_decay_lr(
            0.1,
            0.9,
            10,
            2,
            2,
            0,
            t.as_mut_ptr(),
            10,
        ));
        ok(gradstep_inverse_decay_lr(
            0.1,
            0.5,
            10,
            2,
            2,
            1,
            t.as_mut_ptr(),
            10,
        ));
        ok(gradstep_cosine_decay_lr(
            0.01,
            0.1,
            10,
            2,
            3,
            t.as_mut_ptr(),
            10,
        ));
        ok(gradstep_polynomial_decay_lr(
            0.1,
            0.01,
            10,
            2,
            2,
            0.5,
            1,
            t.as_mut_ptr(),
            10,
        ));
        ok(gradstep_warmup_lr(0.1, 10, 2, 3, t.as_mut_ptr(), 10));
        let (m, l) = ([2u32, 5], [0.1f64, 0.05]);
        ok(gradstep_piecewise_constant_len(
            m.as_ptr(),
            2,
            l.as_ptr(),
            2,
            &mut len,
        ));
        assert_eq!(len, 5);
        ok(gradstep_piecewise_constant_lr(
            m.as_ptr(),
            2,
            l.as_ptr(),
            2,
            t.as_mut_ptr(),
            5,
        ));
        assert_eq!(
            gradstep_warmup_lr(0.1, 10, 2, 3, t.as_mut_ptr(), 3),
            Status::LengthMismatch
        );

        ok(gradstep_schedule_inverse_decay(0.1, 0.9, 3, 0, &mut s));
        ok(gradstep_schedule_lr(&s, 5, &mut lr));
        assert_eq!(lr.to_bits(), 0x3d23_d70b); // MindSpore's InverseDecayLR(0.1, 0.9, 3) at step 5
        let mut all = [s; 7];
        ok(gradstep_schedule_exponential_decay(
            0.1,
            0.9,
            4,
            0,
            &mut all[0],
        ));
        ok(gradstep_schedule_natural_exp_decay(
            0.1,
            0.3,
            4,
            1,
            &mut all[1],
        ));
        ok(gradstep_schedule_cosine_decay(0.01, 0.1, 7, &mut all[3]));
        ok(gradstep_schedule_polynomial_decay(
            0.1,
            0.01,
            4,
            2.0,
            1,
            &mut all[4],
        ));
        ok(gradstep_schedule_warmup(0.1, 3, &mut all[5]));
        ok(gradstep_schedule_cosine_warm_restarts(
            0.001,
            0.1,
            4,
            2,
            &mut all[6],
        ));
        let b = [1u32, 2, 3, 4, 5, 6];
        ok(gradstep_sequence_lr(
            all.as_ptr(),
            7,
            b.as_ptr(),
            6,
            9,
            &mut lr,
        ));
        assert_eq!(
            gradstep_sequence_lr(all.as_ptr(), 7, b.as_ptr(), 5, 9, &mut lr),
            Status::LengthMismatch
        );
        let damaged = CSchedule {
            kind: 7,
            flag: 0,
            f: [0.0; 4],
            n: [0; 2],
        };
        assert_eq!(
            gradstep_schedule_lr(&damaged, 1, &mut lr),
            Status::InvalidArgument
        );
        assert_eq!(
            gradstep_schedule_cosine_decay(0.2, 0.1, 7, &mut s),
            Status::MinLrNotBelowMaxLr
        );
        assert_eq!(
            gradstep_schedule_lr(null(), 1, &mut lr),
            Status::NullPointer
        );

        for code in 0..40 {
            assert!(!gradstep_status_message(code).is_null());
        }
        assert!(!gradstep_version().is_null());
        assert_eq!(gradstep_path_available(gradstep_path_selected()), 1);
        assert!(!gradstep_path_name(GRADSTEP_PATH_WIDE).is_null());
    }
}

/// A C-style optimizer: init, steps, lr access, a sharded step, save and restore.
#[test]
fn optimizer_round_trip() {
    let tensors = [
        Tensor {
            len: 6,
            rows: 2,
            group: 0,
        },
        Tensor {
            len: 2,
            rows: 0,
            group: 1,
        },
    ];
    let table = [0.1f32, 0.09, 0.08, 0.07];
    let mut sched = CSchedule {
        kind: 0,
        flag: 0,
        f: [0.0; 4],
        n: [0; 2],
    };
    // SAFETY: as above; the groups and tensors outlive the optimizers.
    unsafe {
        ok(gradstep_schedule_warmup(0.05, 2, &mut sched));
        let mut groups = [
            gradstep_group_table(table.as_ptr(), 4, 1, 1e-4, 1),
            gradstep_group_schedule(&sched, 0.0, 0),
        ];
        let mut settings = gradstep_momentum_settings_default(0.9);
        settings.check_finite = 1;
        let mut opt = std::mem::MaybeUninit::<COptimizer>::zeroed().assume_init();
        let (mut w, g, mut m) = ([0.5f32; 8], [0.25f32; 8], [0.0f32; 8]);
        assert_eq!(
            gradstep_optimizer_step(&mut opt, w.as_mut_ptr(), g.as_ptr(), m.as_mut_ptr(), 8),
            Status::Uninitialized
        );
        ok(gradstep_momentum_init(
            &mut opt,
            tensors.as_ptr(),
            2,
            groups.as_mut_ptr(),
            2,
            &settings,
        ));
        ok(gradstep_optimizer_step(
            &mut opt,
            w.as_mut_ptr(),
            g.as_ptr(),
            m.as_mut_ptr(),
            8,
        ));
        let (mut step, mut len, mut lr) = (0u32, 0usize, 0.0f32);
        ok(gradstep_optimizer_global_step(&mut opt, &mut step));
        ok(gradstep_optimizer_len(&mut opt, &mut len));
        ok(gradstep_optimizer_lr(&mut opt, 0, &mut lr));
        assert_eq!((step, len, lr), (1, 8, 0.09));
        assert_eq!(
            gradstep_optimizer_set_lr(&mut opt, 0, 0.1),
            Status::NotStatic
        );

        let mut saved = vec![0u8; 128];
        let (mut n, mut written) = (0usize, 0usize);
        ok(gradstep_optimizer_saved_len(&mut opt, &mut n));
        ok(gradstep_optimizer_save(
            &mut opt,
            m.as_ptr(),
            8,
            saved.as_mut_ptr(),
            saved.len(),
            &mut written,
        ));
        assert_eq!(n, written);
        let (mut w2, mut m2) = (w, [0.0f32; 8]);

        // step 1, sharded: tensor 1 first, then tensor 0
        let mut token = 0u32;
        let (mut offset, mut count) = (0usize, 0usize);
        ok(gradstep_optimizer_begin_step(&mut opt, &mut token));
        ok(gradstep_optimizer_elements(
            &mut opt,
            1,
            2,
            &mut offset,
            &mut count,
        ));
        assert_eq!((offset, count), (6, 2));
        let (wp, gp, mp) = (w.as_mut_ptr(), g.as_ptr(), m.as_mut_ptr());
        ok(gradstep_optimizer_step_shard(
            &opt,
            token,
            1,
            2,
            wp.add(6),
            gp.add(6),
            mp.add(6),
            2,
        ));
        ok(gradstep_optimizer_step_shard(
            &opt, token, 0, 1, wp, gp, mp, 6,
        ));
        ok(gradstep_optimizer_end_step(&mut opt, token));

        // a second optimizer restored from the bytes takes step 1 whole: the same bits
        let mut groups2 = groups;
        let mut opt2 = std::mem::MaybeUninit::<COptimizer>::zeroed().assume_init();
        ok(gradstep_momentum_init(
            &mut opt2,
            tensors.as_ptr(),
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
        ok(gradstep_optimizer_step(
            &mut opt2,
            w2.as_mut_ptr(),
            g.as_ptr(),
            m2.as_mut_ptr(),
            8,
        ));
        assert_eq!(w.map(f32::to_bits), w2.map(f32::to_bits));
        assert_eq!(m.map(f32::to_bits), m2.map(f32::to_bits));

        saved[40] ^= 1;
        assert_eq!(
            gradstep_optimizer_restore(&mut opt2, saved.as_ptr(), written, m2.as_mut_ptr(), 8),
            Status::SavedState
        );
        let mut sgd = std::mem::MaybeUninit::<COptimizer>::zeroed().assume_init();
        let mut s = gradstep_sgd_settings_default();
        s.momentum = 0.9;
        ok(gradstep_sgd_init(
            &mut sgd,
            tensors.as_ptr(),
            2,
            groups.as_mut_ptr(),
            2,
            &s,
        ));
        ok(gradstep_optimizer_step(
            &mut sgd,
            w.as_mut_ptr(),
            g.as_ptr(),
            m.as_mut_ptr(),
            8,
        ));
        let mut bad = [gradstep_group_static(0.1, -1.0, 0)];
        let one = [Tensor {
            len: 1,
            rows: 0,
            group: 0,
        }];
        assert_eq!(
            gradstep_momentum_init(&mut sgd, one.as_ptr(), 1, bad.as_mut_ptr(), 1, &settings),
            Status::Negative
        );
    }
}

/// Calls that fail change nothing, even when they fail on their result pointer or after the
/// step was planned (each case was found by `fuzz/fuzz_targets/capi.rs`).
#[test]
fn failed_calls_change_nothing() {
    let tensors = [Tensor {
        len: 4,
        rows: 0,
        group: 0,
    }];
    // SAFETY: as above; the pointers are live, or deliberately null or misaligned.
    unsafe {
        let mut groups = [gradstep_group_static(0.1, -0.0, 0)];
        let settings = gradstep_momentum_settings_default(0.9);
        let mut opt = std::mem::MaybeUninit::<COptimizer>::zeroed().assume_init();
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
        let mut opt_checked = std::mem::MaybeUninit::<COptimizer>::zeroed().assume_init();
        ok(gradstep_momentum_init(
            &mut opt_checked,
            tensors.as_ptr(),
            1,
            groups_checked.as_mut_ptr(),
            1,
            &checked,
        ));
        assert_eq!(
            gradstep_optimizer_step(
                &mut opt_checked,
                w.as_mut_ptr(),
                g.as_ptr(),
                m.as_mut_ptr(),
                4
            ),
            Status::NonFiniteGradient
        );
        assert_eq!(
            gradstep_optimizer_step_shard(
                &opt_checked,
                0,
                0,
                1,
                w.as_mut_ptr(),
                g.as_ptr(),
                m.as_mut_ptr(),
                4
            ),
            Status::StaleStep
        );
        assert_eq!(
            gradstep_optimizer_end_step(&mut opt_checked, 0),
            Status::StaleStep
        );
        assert_eq!(
            gradstep_optimizer_step(&mut opt, w.as_mut_ptr(), g.as_ptr(), m.as_mut_ptr(), 3),
            Status::LengthMismatch
        );
        assert_eq!(gradstep_optimizer_end_step(&mut opt, 0), Status::StaleStep);
        g[2] = 0.25;

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
            gradstep_optimizer_elements(&mut opt, 0, 1, &mut offset, null_mut()),
            Status::NullPointer
        );
        assert_eq!(offset, 7);

        // a bad `written` pointer leaves `out` alone
        let mut saved = [0xaau8; 64];
        let odd_usize = (saved.as_mut_ptr()).add(1) as *mut usize;
        assert_eq!(
            gradstep_optimizer_save(
                &mut opt,
                m.as_ptr(),
                4,
                saved.as_mut_ptr(),
                saved.len(),
                null_mut()
            ),
            Status::NullPointer
        );
        let mut other = [0xaau8; 64];
        assert_eq!(
            gradstep_optimizer_save(
                &mut opt,
                m.as_ptr(),
                4,
                other.as_mut_ptr(),
                other.len(),
                odd_usize
            ),
            Status::Misaligned
        );
        assert!(saved.iter().chain(&other).all(|&b| b == 0xaa));

        // and a good step still works, from step 0
        ok(gradstep_optimizer_step(
            &mut opt,
            w.as_mut_ptr(),
            g.as_ptr(),
            m.as_mut_ptr(),
            4,
        ));
        let mut step = 9u32;
        ok(gradstep_optimizer_global_step(&mut opt, &mut step));
        assert_eq!(step, 1);
        // w − 0.1·0.25 in f32 (no weight decay)
        assert_eq!(w, [0.5f32 - 0.1f32 * 0.25f32; 4]);
    }
}

/// A layout may declare more elements than memory holds; the saved length then saturates (no
/// buffer is that long, so saving fails with a length error) instead of overflowing.
#[test]
fn saved_len_of_a_huge_layout_saturates() {
    let tensors = [Tensor {
        len: usize::MAX / 2,
        rows: 0,
        group: 0,
    }];
    // SAFETY: as above.
    unsafe {
        let mut groups = [gradstep_group_static(0.1, 0.0, 0)];
        let settings = gradstep_momentum_settings_default(0.9);
        let mut opt = std::mem::MaybeUninit::<COptimizer>::zeroed().assume_init();
        ok(gradstep_momentum_init(
            &mut opt,
            tensors.as_ptr(),
            1,
            groups.as_mut_ptr(),
            1,
            &settings,
        ));
        let mut n = 0usize;
        ok(gradstep_optimizer_saved_len(&mut opt, &mut n));
        assert_eq!(n, usize::MAX);
        let (m, mut out, mut written) = ([0.0f32; 4], [0u8; 64], 0usize);
        assert_eq!(
            gradstep_optimizer_save(&mut opt, m.as_ptr(), 4, out.as_mut_ptr(), 64, &mut written),
            Status::LengthMismatch
        );
    }
}
