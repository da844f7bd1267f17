//! The C API driven from Rust (feature `capi`): the same calls a C program makes, so that the
//! unsafe layer also runs under Miri — here the kernels, tables, schedules and status messages;
//! the optimizer in `tests/capi_optimizer.rs`. `tests/c/test_gradstep.c` drives it from C.
#![cfg(feature = "capi")]

use std::ffi::CStr;
use std::ptr::{null, null_mut};

use gradstep::ffi::*;
use gradstep::lr::dynamic::{self, DynamicLr};
use gradstep::lr::schedule::{
    CosineDecayLr, ExponentialDecayLr, InverseDecayLr, NaturalExpDecayLr, PolynomialDecayLr,
    WarmupLr,
};
use gradstep::lr::{CosineWarmRestarts, LrSchedule, Schedule, Sequence};

fn ok(s: Status) {
    assert_eq!(s, Status::Ok);
}

fn bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|x| x.to_bits()).collect()
}

#[test]
fn kernels_check_their_pointers() {
    let (mut w, g, mut m) = ([0.5f32; 9], [0.1f32; 9], [0.0f32; 9]);
    // SAFETY (all calls in this file): the pointers come from live arrays of the lengths given,
    // or are deliberately null, misaligned or overlapping to provoke the checks.
    unsafe {
        let momentum = |w: *mut f32, g: *const f32, m: *mut f32, len, rows, backend| {
            gradstep_kernel_momentum(w, g, m, len, rows, 0.1, 0.9, 0, 0.0, 1.0, backend)
        };
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
            GRADSTEP_BACKEND_AUTO,
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
            GRADSTEP_BACKEND_SCALAR,
        ));
        ok(momentum(null_mut(), null(), null_mut(), 0, 0, 0));
        let before = w;
        let base = w.as_mut_ptr();
        assert_eq!(
            momentum(null_mut(), g.as_ptr(), m.as_mut_ptr(), 9, 0, 0),
            Status::NullPointer
        );
        let odd = (m.as_mut_ptr() as *mut u8).add(1) as *mut f32;
        assert_eq!(momentum(base, g.as_ptr(), odd, 8, 0, 0), Status::Misaligned);
        assert_eq!(
            momentum(base, g.as_ptr(), base.add(4), 5, 0, 0),
            Status::Overlap
        );
        assert_eq!(
            momentum(base, g.as_ptr(), m.as_mut_ptr(), 9, 2, 0),
            Status::BadRows
        );
        assert_eq!(
            momentum(base, g.as_ptr(), m.as_mut_ptr(), 9, 0, 9),
            Status::InvalidArgument
        );
        assert_eq!(w, before);
    }
}

/// Every table filler writes what the Rust table writes, bit for bit.
#[test]
fn tables_are_the_rust_tables() {
    let rust = |t: &dyn DynamicLr| {
        let mut out = vec![0.0f32; t.total_step()];
        t.fill(&mut out).unwrap();
        bits(&out)
    };
    let mut t = [0.0f32; 10];
    let out = t.as_mut_ptr();
    // SAFETY: as above.
    unsafe {
        ok(gradstep_exponential_decay_lr(
            0.1, 0.9, 10, 2, 2, 1, out, 10,
        ));
        let r = dynamic::ExponentialDecayTable::new(0.1, 0.9, 10, 2, 2, true).unwrap();
        assert_eq!(bits(&t), rust(&r));
        ok(gradstep_natural_exp_decay_lr(
            0.1, 0.9, 10, 2, 2, 0, out, 10,
        ));
        let r = dynamic::NaturalExpDecayTable::new(0.1, 0.9, 10, 2, 2, false).unwrap();
        assert_eq!(bits(&t), rust(&r));
        ok(gradstep_inverse_decay_lr(0.1, 0.5, 10, 2, 2, 1, out, 10));
        let r = dynamic::InverseDecayTable::new(0.1, 0.5, 10, 2, 2, true).unwrap();
        assert_eq!(bits(&t), rust(&r));
        ok(gradstep_cosine_decay_lr(0.01, 0.1, 10, 2, 3, out, 10));
        let r = dynamic::CosineDecayTable::new(0.01, 0.1, 10, 2, 3).unwrap();
        assert_eq!(bits(&t), rust(&r));
        ok(gradstep_polynomial_decay_lr(
            0.1, 0.01, 10, 2, 2, 0.5, 1, out, 10,
        ));
        let r = dynamic::PolynomialDecayTable::new(0.1, 0.01, 10, 2, 2, 0.5, true).unwrap();
        assert_eq!(bits(&t), rust(&r));
        ok(gradstep_warmup_lr(0.1, 10, 2, 3, out, 10));
        let r = dynamic::WarmupTable::new(0.1, 10, 2, 3).unwrap();
        assert_eq!(bits(&t), rust(&r));
        let (m, l) = ([2u32, 5], [0.1f64, 0.05]);
        let mut len = 0usize;
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
            out,
            5,
        ));
        let r = dynamic::PiecewiseConstantTable::new(&m, &l).unwrap();
        assert_eq!(bits(&t[..5]), rust(&r));
        // errors, and nothing written
        let before = t;
        assert_eq!(
            gradstep_warmup_lr(0.1, 10, 2, 3, out, 3),
            Status::LengthMismatch
        );
        assert_eq!(
            gradstep_piecewise_constant_lr(m.as_ptr(), 2, l.as_ptr(), 2, m.as_ptr() as *mut f32, 2),
            Status::Overlap
        );
        assert_eq!(bits(&t), bits(&before));
    }
}

/// Every schedule constructor makes the Rust schedule: the same learning rate at every step
/// tried, alone and in a sequence.
#[test]
fn schedules_are_the_rust_schedules() {
    let rust = [
        Schedule::ExponentialDecay(ExponentialDecayLr::new(0.1, 0.9, 4, false).unwrap()),
        Schedule::NaturalExpDecay(NaturalExpDecayLr::new(0.1, 0.3, 4, true).unwrap()),
        Schedule::InverseDecay(InverseDecayLr::new(0.1, 0.9, 3, false).unwrap()),
        Schedule::CosineDecay(CosineDecayLr::new(0.01, 0.1, 7).unwrap()),
        Schedule::PolynomialDecay(PolynomialDecayLr::new(0.1, 0.01, 4, 2.0, true).unwrap()),
        Schedule::Warmup(WarmupLr::new(0.1, 3).unwrap()),
        Schedule::CosineWarmRestarts(CosineWarmRestarts::new(0.001, 0.1, 4, 2).unwrap()),
    ];
    let mut c = [CSchedule::EMPTY; 7];
    let mut lr = 0.0f32;
    // SAFETY: as above.
    unsafe {
        ok(gradstep_schedule_exponential_decay(
            0.1, 0.9, 4, 0, &mut c[0],
        ));
        ok(gradstep_schedule_natural_exp_decay(
            0.1, 0.3, 4, 1, &mut c[1],
        ));
        ok(gradstep_schedule_inverse_decay(0.1, 0.9, 3, 0, &mut c[2]));
        ok(gradstep_schedule_cosine_decay(0.01, 0.1, 7, &mut c[3]));
        ok(gradstep_schedule_polynomial_decay(
            0.1, 0.01, 4, 2.0, 1, &mut c[4],
        ));
        ok(gradstep_schedule_warmup(0.1, 3, &mut c[5]));
        ok(gradstep_schedule_cosine_warm_restarts(
            0.001, 0.1, 4, 2, &mut c[6],
        ));
        for (c, r) in c.iter().zip(&rust) {
            for k in [0, 1, 2, 3, 5, 8, 13, 100] {
                ok(gradstep_schedule_lr(c, k, &mut lr));
                assert_eq!(lr.to_bits(), r.lr(k).to_bits(), "{r:?} at {k}");
            }
        }
        let b = [1u32, 2, 3, 4, 5, 6];
        let seq = Sequence::new(&rust, &b).unwrap();
        for k in 0..12 {
            ok(gradstep_sequence_lr(
                c.as_ptr(),
                7,
                b.as_ptr(),
                6,
                k,
                &mut lr,
            ));
            assert_eq!(lr.to_bits(), seq.lr(k).to_bits(), "sequence at {k}");
        }
        assert_eq!(
            gradstep_sequence_lr(c.as_ptr(), 7, b.as_ptr(), 5, 9, &mut lr),
            Status::LengthMismatch
        );
        let mut damaged = c[3];
        damaged._private[0] = 99;
        assert_eq!(
            gradstep_schedule_lr(&damaged, 1, &mut lr),
            Status::InvalidArgument
        );
        let mut s = c[0];
        assert_eq!(
            gradstep_schedule_cosine_decay(0.2, 0.1, 7, &mut s),
            Status::MinLrNotBelowMaxLr
        );
        assert_eq!(s, c[0], "a failed constructor writes nothing");
        assert_eq!(
            gradstep_schedule_lr(null(), 1, &mut lr),
            Status::NullPointer
        );
    }
}

#[test]
fn every_status_has_its_own_message() {
    let text = |code: i32| {
        // SAFETY: gradstep returns a static, NUL-terminated string.
        unsafe { CStr::from_ptr(gradstep_status_message(code)) }
            .to_str()
            .unwrap()
            .to_string()
    };
    let unknown = text(-1);
    assert_eq!(unknown, "unknown status code");
    let mut seen = std::collections::BTreeSet::new();
    let mut known = 0;
    for code in 0..64 {
        let t = text(code);
        if t != unknown {
            assert!(seen.insert(t.clone()), "code {code} repeats {t:?}");
            known += 1;
        }
    }
    // every status of the C header has its own message, and no other code has one
    assert_eq!(text(Status::Ok as i32), "ok");
    assert_ne!(text(Status::AmsgradWithNesterov as i32), unknown);
    let header = include_str!("../include/gradstep.h");
    let in_header = header
        .lines()
        .filter(|l| l.trim_start().starts_with("GRADSTEP_STATUS_") && l.contains(" = "))
        .count();
    assert_eq!(known, in_header);
    // SAFETY: as above.
    let version = unsafe { CStr::from_ptr(gradstep_version()) };
    assert_eq!(version.to_str().unwrap(), env!("CARGO_PKG_VERSION"));
    assert_eq!(gradstep_backend_available(gradstep_backend_selected()), 1);
    assert_eq!(gradstep_backend_available(99), 0);
    // SAFETY: as above.
    let name = unsafe { CStr::from_ptr(gradstep_backend_name(GRADSTEP_BACKEND_SCALAR)) };
    assert_eq!(name.to_str().unwrap(), "scalar");
}
