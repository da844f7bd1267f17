//! Learning-rate sources never panic and never give a negative or non-finite rate.
//!
//! Input: a sequence of items, each a kind byte and its parameters: one of the six
//! `LearningRateSchedule` classes, `CosineWarmRestarts`, `WarmupThen`, `Sequence` (evaluated at
//! fuzzed steps over the whole `u32` range and at their edges), or one of the seven `dynamic`
//! table fillers (small `total_step`).
//!
//! Properties: construction errors or succeeds; `Lr::Schedule(&s).at(k)` is `Ok(finite ≥ 0)` or
//! `Err` (the learning-rate error), the same bits when asked twice; compositions follow their
//! documented definitions bit for bit; a filled table holds only finite values ≥ 0, equal to
//! `DynamicLr::value(i)` rounded, and is a valid `Lr::Table` (entry `k` at step `k`; past its end
//! `PastTableEnd`, or its last value with `PastEnd::HoldLast`); a failed fill writes nothing.
#![no_main]

mod common;

use common::{Reader, assert_bits, same, trace};
use gradstep::lr::dynamic::{self, DynamicLr};
use gradstep::lr::schedule::{
    CosineDecayLr, ExponentialDecayLr, InverseDecayLr, NaturalExpDecayLr, PolynomialDecayLr,
    WarmupLr,
};
use gradstep::lr::{
    CosineWarmRestarts, Lr, LrSchedule, PastEnd, Schedule, Sequence, Table, WarmupThen,
};
use gradstep::{Error, Param};
use libfuzzer_sys::fuzz_target;

/// The largest table filled.
const MAX_TABLE: usize = 512;

/// One of MindSpore's schedules, or warm restarts; `None` when the constructor refused.
fn schedule(r: &mut Reader) -> Option<Schedule> {
    let kind = r.u8() % 7;
    let s = match kind {
        0 => ExponentialDecayLr::new(r.f64_param(), r.f64_param(), r.count(), r.bool())
            .map(Schedule::ExponentialDecay),
        1 => NaturalExpDecayLr::new(r.f64_param(), r.f64_param(), r.count(), r.bool())
            .map(Schedule::NaturalExpDecay),
        2 => InverseDecayLr::new(r.f64_param(), r.f64_param(), r.count(), r.bool())
            .map(Schedule::InverseDecay),
        3 => CosineDecayLr::new(r.f64_param(), r.f64_param(), r.count()).map(Schedule::CosineDecay),
        4 => PolynomialDecayLr::new(
            r.f64_param(),
            r.f64_param(),
            r.count(),
            r.f64_param(),
            r.bool(),
        )
        .map(Schedule::PolynomialDecay),
        5 => WarmupLr::new(r.f64_param(), r.count()).map(Schedule::Warmup),
        _ => CosineWarmRestarts::new(r.f64_param(), r.f64_param(), r.count(), r.count())
            .map(Schedule::CosineWarmRestarts),
    };
    if trace() {
        eprintln!("  schedule {kind}: {s:?}");
    }
    s.ok()
}

/// `Lr::at` at `step`: finite and ≥ 0, or the learning-rate error; twice the same.
fn check_at(s: &dyn LrSchedule, step: u32) {
    let a = Lr::Schedule(s).at(step);
    if trace() {
        eprintln!("  at {step}: {a:?}");
    }
    match a {
        Ok(v) => assert!(v.is_finite() && v >= 0.0, "Lr::at({step}) = Ok({v:e})"),
        Err(e) => assert!(
            matches!(
                e,
                Error::NotFinite(Param::LearningRate) | Error::Negative(Param::LearningRate)
            ),
            "Lr::at({step}): unexpected error {e:?}"
        ),
    }
    let b = Lr::Schedule(s).at(step);
    assert!(
        match (a, b) {
            (Ok(x), Ok(y)) => x.to_bits() == y.to_bits(),
            (x, y) => x == y,
        },
        "Lr::at({step}) not deterministic: {a:?} then {b:?}"
    );
}

/// Fuzzed steps, and the edges every schedule has.
fn steps(r: &mut Reader, edges: &[u32]) -> Vec<u32> {
    let mut v: Vec<u32> = vec![
        0,
        1,
        2,
        (1 << 24) - 1,
        1 << 24,
        (1 << 24) + 1,
        1 << 31,
        u32::MAX - 1,
        u32::MAX,
    ];
    for &e in edges {
        v.extend([e.wrapping_sub(1), e, e.wrapping_add(1)]);
    }
    let n = r.u8() % 8;
    v.extend((0..n).map(|_| r.step()));
    v
}

#[track_caller]
fn assert_same_lr(what: &str, got: f32, want: f32) {
    assert!(
        same(got, want),
        "{what}: got {got:e} ({:#010x}), want {want:e} ({:#010x})",
        got.to_bits(),
        want.to_bits()
    );
}

/// Fills `out` (`total` long, or one off) with `fill`; checks the table against `table`.
fn check_fill<T: DynamicLr>(
    r: &mut Reader,
    table: Result<T, Error>,
    fill: impl FnOnce(&mut [f32]) -> Result<(), Error>,
    total: u32,
) {
    let mut len = (total as usize).min(MAX_TABLE);
    match r.u8() {
        254 => len += 1,
        255 => len = len.saturating_sub(1),
        _ => {}
    }
    let probe = r.u16() as usize;
    let sentinel = vec![f32::from_bits(0x7fc0_dead); len];
    let mut out = sentinel.clone();
    let got = fill(&mut out);
    if trace() {
        eprintln!("  fill of {len}: {got:?}, {:?}", &out[..len.min(6)]);
    }
    match got {
        Ok(()) => {
            let t = table.expect("the fill succeeded where the constructor failed");
            assert_eq!(
                out.len(),
                t.total_step(),
                "filled a table of the wrong length"
            );
            for (i, &v) in out.iter().enumerate() {
                assert!(v.is_finite() && v >= 0.0, "table[{i}] = {v:e}");
                assert_same_lr(&format!("table[{i}]"), v, t.value(i) as f32);
            }
            // a filled table is a learning-rate table: step k gives entry k; past its end an
            // error, or its last value
            let n = out.len();
            match (Lr::table(&out), n) {
                (Err(e), 0) => assert_eq!(e, Error::EmptyTable),
                (Err(e), _) => panic!("Lr::table refused a filled table: {e:?}"),
                (Ok(lr), _) => {
                    let i = probe % n;
                    assert_eq!(lr.at(i as u32).map(f32::to_bits), Ok(out[i].to_bits()));
                    assert_eq!(
                        lr.at(n as u32),
                        Err(Error::PastTableEnd {
                            step: n as u32,
                            len: n
                        })
                    );
                    let hold = Table::new(&out, PastEnd::HoldLast).expect("a filled table");
                    assert_eq!(
                        Lr::Table(hold).at(u32::MAX).map(f32::to_bits),
                        Ok(out[n - 1].to_bits())
                    );
                }
            }
        }
        Err(e) => {
            assert_bits("table after a failed fill", &out, &sentinel);
            if let Err(c) = table {
                assert_eq!(e, c, "the fill and the constructor disagree");
            }
        }
    }
}

/// A table's `total_step`: small, now and then 0 or too large for the buffers given.
fn total_step(r: &mut Reader) -> u32 {
    match r.u8() % 16 {
        0 => 0,
        1 => r.u32(),
        _ => r.u16() as u32 % 300,
    }
}

fn fillers(r: &mut Reader) {
    match r.u8() % 7 {
        0 => {
            let n = r.u8() as usize % 7;
            let mut milestones: Vec<u32> = (0..n)
                .map(|_| match r.u8() % 8 {
                    0 => 0,
                    1 => r.u32(),
                    _ => r.u8() as u32 * 2,
                })
                .collect();
            if r.u8() % 4 == 0 {
                milestones.sort_unstable();
            }
            let n_lr = match r.u8() {
                255 => n + 1,
                254 => n.saturating_sub(1),
                _ => n,
            };
            let lrs: Vec<f64> = (0..n_lr).map(|_| r.f64_param()).collect();
            let table = dynamic::PiecewiseConstantTable::new(&milestones, &lrs);
            let len = dynamic::piecewise_constant_len(&milestones, &lrs);
            assert_eq!(len.is_ok(), table.is_ok());
            let total = len.map_or(0, |l| l.min(u32::MAX as usize) as u32);
            check_fill(
                r,
                table,
                |out| dynamic::piecewise_constant_lr(&milestones, &lrs, out),
                total,
            );
        }
        1 | 2 | 3 => {
            let kind = r.u8() % 3;
            let (lr, rate, total, per, decay, stair) = (
                r.f64_param(),
                r.f64_param(),
                total_step(r),
                r.count(),
                r.count(),
                r.bool(),
            );
            match kind {
                0 => check_fill(
                    r,
                    dynamic::ExponentialDecayTable::new(lr, rate, total, per, decay, stair),
                    |o| dynamic::exponential_decay_lr(lr, rate, total, per, decay, stair, o),
                    total,
                ),
                1 => check_fill(
                    r,
                    dynamic::NaturalExpDecayTable::new(lr, rate, total, per, decay, stair),
                    |o| dynamic::natural_exp_decay_lr(lr, rate, total, per, decay, stair, o),
                    total,
                ),
                _ => check_fill(
                    r,
                    dynamic::InverseDecayTable::new(lr, rate, total, per, decay, stair),
                    |o| dynamic::inverse_decay_lr(lr, rate, total, per, decay, stair, o),
                    total,
                ),
            }
        }
        4 => {
            let (min, max, total, per, decay) = (
                r.f64_param(),
                r.f64_param(),
                total_step(r),
                r.count(),
                r.count(),
            );
            check_fill(
                r,
                dynamic::CosineDecayTable::new(min, max, total, per, decay),
                |o| dynamic::cosine_decay_lr(min, max, total, per, decay, o),
                total,
            );
        }
        5 => {
            let (lr, end, total, per, decay, power, update) = (
                r.f64_param(),
                r.f64_param(),
                total_step(r),
                r.count(),
                r.count(),
                r.f64_param(),
                r.bool(),
            );
            check_fill(
                r,
                dynamic::PolynomialDecayTable::new(lr, end, total, per, decay, power, update),
                |o| dynamic::polynomial_decay_lr(lr, end, total, per, decay, power, update, o),
                total,
            );
        }
        _ => {
            let (lr, total, per, warmup) = (r.f64_param(), total_step(r), r.count(), r.count());
            check_fill(
                r,
                dynamic::WarmupTable::new(lr, total, per, warmup),
                |o| dynamic::warmup_lr(lr, total, per, warmup, o),
                total,
            );
        }
    }
}

/// Warm restarts, against its definition: period `i` has `first · mult^i` steps, and step `t` of
/// a period of `T` steps is `CosineDecayLR(min, max, T)` at `t`.
fn check_warm_restarts(r: &mut Reader) {
    let (min, max, first, mult) = (r.f64_param(), r.f64_param(), r.count(), r.count());
    let Ok(s) = CosineWarmRestarts::new(min, max, first, mult) else {
        return;
    };
    let mut edges = vec![
        first,
        first.saturating_mul(mult),
        first.saturating_add(first.saturating_mul(mult)),
    ];
    edges.push(r.step());
    for k in steps(r, &edges) {
        check_at(&s, k);
        let (mut start, mut len) = (0u64, first as u64);
        if mult == 1 {
            start = k as u64 / len * len;
        }
        while k as u64 >= start + len {
            start += len;
            len = len.saturating_mul(mult as u64);
        }
        if len <= u32::MAX as u64 {
            let period =
                CosineDecayLr::new(min, max, len as u32).expect("same checks as warm restarts");
            assert_same_lr(
                &format!("warm restarts at {k} (period {start}+{len})"),
                s.lr(k),
                period.lr((k as u64 - start) as u32),
            );
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let mut r = Reader::new(data);
    for _ in 0..8 {
        if r.is_empty() {
            break;
        }
        let item = r.u8() % 6;
        if trace() {
            eprintln!("item {item}");
        }
        match item {
            0 => {
                if let Some(s) = schedule(&mut r) {
                    for k in steps(&mut r, &[]) {
                        check_at(&s, k);
                    }
                }
            }
            1 => check_warm_restarts(&mut r),
            2 => {
                let w = r.count();
                let Some(then) = schedule(&mut r) else {
                    continue;
                };
                let Ok(s) = WarmupThen::new(w, then) else {
                    continue;
                };
                let edges = [w];
                for k in steps(&mut r, &edges) {
                    check_at(&s, k);
                    let want = if k < w {
                        then.lr(0) * (k.min(w) as f32 / w as f32)
                    } else {
                        then.lr(k - w)
                    };
                    assert_same_lr(&format!("warm-up {w} then, at {k}"), s.lr(k), want);
                }
            }
            3 => {
                let n = 1 + r.u8() as usize % 4;
                let scheds: Vec<Schedule> = (0..n).filter_map(|_| schedule(&mut r)).collect();
                let n_b = match r.u8() {
                    255 => scheds.len(),
                    254 => scheds.len().saturating_sub(2),
                    _ => scheds.len().saturating_sub(1),
                };
                let mut boundaries: Vec<u32> = (0..n_b).map(|_| r.step()).collect();
                if r.u8() % 4 != 0 {
                    boundaries.sort_unstable();
                }
                let Ok(seq) = Sequence::new(&scheds, &boundaries) else {
                    continue;
                };
                let edges = boundaries.clone();
                for k in steps(&mut r, &edges) {
                    check_at(&seq, k);
                    let i = boundaries.iter().filter(|&&b| b <= k).count();
                    let start = if i == 0 { 0 } else { boundaries[i - 1] };
                    assert_same_lr(
                        &format!("sequence at {k} (schedule {i} from {start})"),
                        seq.lr(k),
                        scheds[i].lr(k - start),
                    );
                }
            }
            4 => {
                // a sequence of sequences is a schedule too (and warm-up over a sequence)
                let scheds: Vec<Schedule> = (0..2).filter_map(|_| schedule(&mut r)).collect();
                let b = [1 + r.u16() as u32];
                let Ok(inner) = Sequence::new(&scheds, &b[..scheds.len().saturating_sub(1)]) else {
                    continue;
                };
                let Ok(s) = WarmupThen::new(r.count(), inner) else {
                    continue;
                };
                for k in steps(&mut r, &b) {
                    check_at(&s, k);
                }
            }
            _ => fillers(&mut r),
        }
    }
});
