//! Layouts, groups and optimizers built from arbitrary bytes: construction succeeds or returns an
//! error, never panics; a built optimizer's calls either complete or change nothing.
//!
//! Input: up to 5 groups (static, table or schedule learning rates — a schedule may return
//! anything, NaN and negative values included —, weight decays, centralization), up to 8 tensors
//! (lengths, rows, group indices, sometimes inconsistent or enormous), settings, the constructor
//! (`Momentum::new` / `Sgd::new` over a `GroupTable`, `MomentumSlice` / `SgdSlice::with_groups`),
//! the buffers' values, then a sequence of operations.
//!
//! Two optimizers are built from the same input: `a` takes whole steps, `b` the same steps as
//! shards (`begin_step`, `step_shard` over random splits in random order, `end_step`). After every
//! operation both hold the same bits, the same step counter and the same saved state.
//!
//! Properties: a failed call leaves the buffers, `global_step()` and every group's `lr()` as they
//! were; `save` then `restore` brings back the saved step counter, learning rates and state;
//! `restore` of damaged or arbitrary bytes never panics and changes nothing when it fails.
#![no_main]

mod common;

use common::{Reader, assert_bits, assert_same, trace};
use gradstep::Error;
use gradstep::group::{Group, GroupTable, Tensor};
use gradstep::kernel::Path;
use gradstep::lr::schedule::{
    CosineDecayLr, ExponentialDecayLr, PolynomialDecayLr, Schedule, WarmUpLr,
};
use gradstep::lr::{Lr, LrSchedule, PastEnd, Table};
use gradstep::optim::{
    Momentum, MomentumSettings, MomentumSlice, Optimizer, Sgd, SgdSettings, SgdSlice, Update,
};
use libfuzzer_sys::fuzz_target;

/// The largest layout whose buffers are allocated.
const MAX_LEN: usize = 4096;

/// A learning-rate schedule of the caller's: MindSpore's, or one that returns whatever the input
/// says (negative, NaN, infinite), which `Lr::at` must catch.
enum Source {
    Ms(Schedule),
    Raw([f32; 4]),
}

impl LrSchedule for Source {
    fn lr(&self, step: u32) -> f32 {
        match self {
            Source::Ms(s) => s.lr(step),
            Source::Raw(v) => v[step as usize % 4],
        }
    }
}

/// What a group is made of; the group itself borrows the table and the schedule.
struct Spec {
    kind: u8,
    lr64: f64,
    lr32: f32,
    table: Vec<f32>,
    hold_last: bool,
    source: Source,
    weight_decay: f64,
    centralize: bool,
}

fn spec(r: &mut Reader) -> Spec {
    let kind = r.u8() % 5;
    let lr64 = r.f64_param();
    let lr32 = r.f32_param();
    let n = r.u8() as usize % 7;
    let table = (0..n).map(|_| r.f32_param()).collect();
    let hold_last = r.bool();
    let source = match r.u8() % 5 {
        0 => CosineDecayLr::new(r.f64_param(), r.f64_param(), r.count())
            .map(Schedule::CosineDecay)
            .map_or(Source::Raw([0.1; 4]), Source::Ms),
        1 => WarmUpLr::new(r.f64_param(), r.count())
            .map(Schedule::WarmUp)
            .map_or(Source::Raw([0.1; 4]), Source::Ms),
        2 => ExponentialDecayLr::new(r.f64_param(), r.f64_param(), r.count(), r.bool())
            .map(Schedule::ExponentialDecay)
            .map_or(Source::Raw([0.1; 4]), Source::Ms),
        3 => PolynomialDecayLr::new(
            r.f64_param(),
            r.f64_param(),
            r.count(),
            r.f64_param(),
            r.bool(),
        )
        .map(Schedule::PolynomialDecay)
        .map_or(Source::Raw([0.1; 4]), Source::Ms),
        _ => Source::Raw([r.f32_param(), r.f32_param(), r.f32_param(), r.f32_param()]),
    };
    Spec {
        kind,
        lr64,
        lr32,
        table,
        hold_last,
        source,
        weight_decay: r.f64_param(),
        centralize: r.bool(),
    }
}

/// The group a spec describes, or the error of one of its constructors.
fn group(s: &Spec) -> Result<Group<'_>, Error> {
    let lr = match s.kind {
        0 => Lr::fixed(s.lr64)?,
        1 => Lr::Static(s.lr32), // unvalidated: Group::new must check it
        2 => Lr::table(&s.table)?,
        3 => {
            let past = if s.hold_last {
                PastEnd::HoldLast
            } else {
                PastEnd::Error
            };
            Lr::Table(Table::new(&s.table, past)?)
        }
        _ => Lr::Schedule(&s.source),
    };
    Group::new(lr, s.weight_decay, s.centralize)
}

/// Tensor `i`: mostly in group `i mod n` (so that every group has a tensor), sometimes in
/// another group, one that does not exist, or `usize::MAX`.
fn tensor(r: &mut Reader, i: usize, n_groups: usize) -> Tensor {
    let group = match r.u8() {
        255 => usize::MAX,
        b @ 192.. => b as usize % (n_groups + 1),
        _ => i % n_groups.max(1),
    };
    match r.u8() % 16 {
        0 => Tensor {
            len: usize::MAX,
            rows: r.u8() as usize % 3,
            group,
        },
        1 => Tensor {
            len: usize::MAX / 2 + 1,
            rows: 0,
            group,
        },
        2 => Tensor {
            len: r.u64() as usize,
            rows: r.u64() as usize,
            group,
        },
        3 => Tensor {
            len: r.u8() as usize % 40,
            rows: r.u8() as usize,
            group,
        },
        4..=8 => Tensor::matrix(r.u8() as usize % 6, r.u8() as usize % 9, group),
        _ => Tensor::vector(r.u8() as usize % 33, group),
    }
}

/// The buffers of one optimizer.
#[derive(Clone)]
struct Bufs {
    p: Vec<f32>,
    s: Vec<f32>,
}

/// Everything observable of an optimizer (besides its buffers): the step counter and each
/// group's next learning rate.
fn observe<'a, U: Update, S>(o: &Optimizer<'a, U, S>) -> (u32, Vec<Result<u32, Error>>)
where
    S: AsRef<[Group<'a>]> + AsMut<[Group<'a>]>,
{
    let lrs = (0..=o.groups().len())
        .map(|g| o.lr(g).map(f32::to_bits))
        .collect();
    (o.global_step(), lrs)
}

#[track_caller]
fn assert_unchanged<'a, U: Update, S>(
    what: &str,
    o: &Optimizer<'a, U, S>,
    before: &(u32, Vec<Result<u32, Error>>),
    bufs: &Bufs,
    saved: &Bufs,
) where
    S: AsRef<[Group<'a>]> + AsMut<[Group<'a>]>,
{
    assert_eq!(
        &observe(o),
        before,
        "{what}: the optimizer changed on error"
    );
    assert_bits(&format!("{what}: params"), &bufs.p, &saved.p);
    assert_bits(&format!("{what}: state"), &bufs.s, &saved.s);
}

/// FNV-1a, 32 bits: the checksum of the saved-state format (`src/state.rs`).
fn fnv1a(bytes: &[u8]) -> u32 {
    bytes.iter().fold(0x811c_9dc5, |h, &b| {
        (h ^ b as u32).wrapping_mul(0x0100_0193)
    })
}

/// The same operations on `a` (whole steps) and `b` (sharded steps).
fn drive<'a, U: Update, S>(r: &mut Reader, a: &mut Optimizer<'a, U, S>, b: &mut Optimizer<'a, U, S>)
where
    S: AsRef<[Group<'a>]> + AsMut<[Group<'a>]>,
{
    let n = a.len();
    if trace() {
        eprintln!(
            "built: {} tensors, {} groups, {n} values",
            a.tensors().len(),
            a.groups().len()
        );
    }
    assert_eq!(n, b.len());
    assert_eq!(
        n,
        a.elements(0..a.tensors().len())
            .expect("the whole layout")
            .len()
    );
    if n > MAX_LEN {
        // too large to allocate: every call that takes buffers refuses the empty ones
        let before = observe(a);
        assert!(
            a.step(&mut [], &[], &mut []).is_err(),
            "a step of {n} values took empty buffers"
        );
        assert!(a.save(&[], &mut [0u8; 64]).is_err());
        assert!(a.restore(&[0u8; 64], &mut []).is_err());
        assert_eq!(observe(a), before, "a failed call changed the optimizer");
        // saturates rather than overflowing (no buffer is that long)
        assert!(
            a.saved_len() >= n.saturating_mul(4),
            "saved_len of {n} values"
        );
        if let Ok(t) = a.begin_step() {
            assert!(
                a.step_shard(&t, 0..a.tensors().len(), &mut [], &[], &mut [])
                    .is_err()
            );
            a.end_step(t).expect("end_step");
        }
        return;
    }
    let raw = r.bool();
    let mut ba = Bufs {
        p: r.values(n, raw),
        s: r.values(n, raw),
    };
    let mut bb = ba.clone();
    let mut grads = r.values(n, raw);
    let n_groups = a.groups().len();
    let n_tensors = a.tensors().len();

    for _ in 0..12 {
        if r.is_empty() {
            break;
        }
        let op = r.u8();
        if trace() {
            eprintln!("op {} at step {}", op % 9, a.global_step());
        }
        match op % 9 {
            // a whole step on `a`, the same step in shards on `b`
            0..=2 => {
                if op & 0x80 != 0 {
                    grads = r.values(n, raw);
                }
                let before = observe(a);
                let saved = ba.clone();
                let got = a.step(&mut ba.p, &grads, &mut ba.s);
                match got {
                    Ok(()) => {
                        assert_eq!(a.global_step(), before.0 + 1, "a step did not count");
                        let token = b.begin_step().expect("begin_step where step succeeded");
                        // random cut points, shards in a random order
                        let mut cuts: Vec<usize> = (0..r.u8() % 4)
                            .map(|_| r.u8() as usize % (n_tensors + 1))
                            .collect();
                        cuts.extend([0, n_tensors]);
                        cuts.sort_unstable();
                        cuts.dedup();
                        let mut shards: Vec<(usize, usize)> =
                            cuts.windows(2).map(|w| (w[0], w[1])).collect();
                        if r.bool() {
                            shards.reverse();
                        }
                        for (s, e) in shards {
                            let el = b.elements(s..e).expect("a range of the layout");
                            b.step_shard(
                                &token,
                                s..e,
                                &mut bb.p[el.clone()],
                                &grads[el.clone()],
                                &mut bb.s[el],
                            )
                            .expect("a shard of a step that succeeded whole");
                        }
                        b.end_step(token).expect("end_step");
                    }
                    Err(e) => {
                        assert_unchanged("failed step", a, &before, &ba, &saved);
                        let got_b = b.step(&mut bb.p, &grads, &mut bb.s);
                        assert_eq!(got_b, Err(e), "the twin failed differently");
                    }
                }
            }
            // a step with a buffer of the wrong length
            3 => {
                let which = r.u8() % 3;
                let delta = 1 + r.u8() as usize % 3;
                let wrong = if r.bool() {
                    n + delta
                } else {
                    n.saturating_sub(delta)
                };
                if wrong == n {
                    continue;
                }
                let mut long = vec![0.5f32; wrong];
                let before = observe(a);
                let saved = ba.clone();
                let got = match which {
                    0 => a.step(&mut long, &grads, &mut ba.s),
                    1 => a.step(&mut ba.p, &long, &mut ba.s),
                    _ => a.step(&mut ba.p, &grads, &mut long),
                };
                assert!(
                    got.is_err(),
                    "a step accepted a buffer of {wrong} values for {n}"
                );
                assert_unchanged("step with a wrong length", a, &before, &ba, &saved);
                assert!(
                    long.iter().all(|&x| x == 0.5),
                    "wrote into a buffer of the wrong length"
                );
            }
            // set a learning rate
            4 => {
                let g = r.u8() as usize % (n_groups + 2);
                let lr = r.f64_param();
                let before = observe(a);
                let got = a.set_lr(g, lr);
                assert_eq!(b.set_lr(g, lr), got);
                match got {
                    Ok(()) => {
                        let now = a.lr(g).expect("a static learning rate just set");
                        assert_eq!(
                            now.to_bits(),
                            (lr as f32).to_bits(),
                            "set_lr did not set F(lr)"
                        );
                    }
                    Err(_) => assert_eq!(observe(a), before, "a failed set_lr changed something"),
                }
            }
            // save, change things, restore: back to what was saved
            5 => {
                let mut out = vec![0u8; a.saved_len() + r.u8() as usize % 3];
                let written = a
                    .save(&ba.s, &mut out)
                    .expect("save into a large enough buffer");
                assert_eq!(written, a.saved_len());
                let mut out_b = vec![0u8; b.saved_len()];
                b.save(&bb.s, &mut out_b).expect("save");
                // the same header and learning rates; the same state, NaN by NaN-ness (a NaN's
                // payload may differ between paths); then the checksums differ too
                let head = 24 + 4 * n_groups;
                assert_eq!(
                    out[..head],
                    out_b[..head],
                    "whole and sharded steps saved different headers"
                );
                let floats = |b: &[u8]| -> Vec<f32> {
                    b[head..written - 4]
                        .chunks_exact(4)
                        .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
                        .collect()
                };
                assert_same("saved states of the twins", &floats(&out_b), &floats(&out));
                // too short an output buffer: an error, nothing written
                if written > 0 {
                    let mut short =
                        vec![7u8; written - 1 - r.u8() as usize % written.min(8).max(1)];
                    assert!(a.save(&ba.s, &mut short).is_err());
                    assert!(short.iter().all(|&x| x == 7), "a failed save wrote");
                }
                let before = observe(a);
                let saved = ba.clone();
                // change things: a step (which may fail), a learning rate
                let _ = a.step(&mut ba.p, &grads, &mut ba.s);
                let _ = a.set_lr(r.u8() as usize % (n_groups + 1), r.f64_param());
                a.restore(&out[..written], &mut ba.s)
                    .expect("restore what was saved");
                assert_eq!(
                    observe(a),
                    before,
                    "restore did not bring back the step and learning rates"
                );
                assert_bits("restored state", &ba.s, &saved.s);
                let mut again = vec![0u8; written];
                a.save(&ba.s, &mut again).expect("save");
                assert_eq!(again, out[..written], "save after restore differs");
                // params are not part of the saved state
                ba.p = saved.p;
                // the same restore on the twin keeps it in step (its params too)
                bb.p.clone_from(&ba.p);
                b.restore(&out[..written], &mut bb.s)
                    .expect("restore into the twin");
            }
            // restore of damaged, edited or arbitrary bytes
            6 => {
                let mut bytes = vec![0u8; a.saved_len()];
                a.save(&ba.s, &mut bytes).expect("save");
                match r.u8() % 4 {
                    0 => {
                        let n = r.u8() as usize;
                        bytes = r.bytes(n).to_vec();
                    }
                    1 => {
                        let i = r.u16() as usize % bytes.len();
                        bytes[i] ^= r.u8().max(1);
                    }
                    2 => {
                        // edit a field, with a valid checksum: the step, the flags, a group's
                        // learning rate bits, a state value
                        let at = match r.u8() % 4 {
                            0 => 8,
                            1 => 7,
                            2 => 24 + 4 * (r.u8() as usize % n_groups.max(1)),
                            _ => 24 + 4 * n_groups + 4 * (r.u16() as usize % n.max(1)),
                        };
                        let v = r.u32().to_le_bytes();
                        let end = (at + 4).min(bytes.len() - 4);
                        let k = end.saturating_sub(at);
                        bytes[at..at + k].copy_from_slice(&v[..k]);
                        let body = bytes.len() - 4;
                        let sum = fnv1a(&bytes[..body]);
                        bytes[body..].copy_from_slice(&sum.to_le_bytes());
                    }
                    _ => {
                        let cut = r.u16() as usize % (bytes.len() + 1);
                        bytes.truncate(cut);
                    }
                }
                let before = observe(a);
                let saved = ba.clone();
                match a.restore(&bytes, &mut ba.s) {
                    Ok(()) => {
                        b.restore(&bytes, &mut bb.s)
                            .expect("the twin restores the same bytes");
                        bb.p.clone_from(&ba.p);
                    }
                    Err(_) => assert_unchanged("failed restore", a, &before, &ba, &saved),
                }
                // a state buffer of the wrong length
                let mut wrong = vec![1.0f32; n + 1];
                assert!(a.restore(&bytes, &mut wrong).is_err());
                assert!(
                    wrong.iter().all(|&x| x == 1.0),
                    "restore wrote into a state of the wrong length"
                );
            }
            // sharded calls out of order: stale tokens, bad ranges, wrong lengths
            7 => {
                let before = observe(a);
                let saved = ba.clone();
                let Ok(token) = a.begin_step() else {
                    assert_unchanged("failed begin_step", a, &before, &ba, &saved);
                    assert!(b.begin_step().is_err());
                    continue;
                };
                let token_b = b.begin_step().expect("the twin's begin_step");
                let (s, e) = (
                    r.u8() as usize % (n_tensors + 2),
                    r.u8() as usize % (n_tensors + 2),
                );
                let el = a.elements(s..e);
                let len = match &el {
                    Ok(el) => el.len() + (r.u8() as usize % 8).saturating_sub(5),
                    Err(_) => r.u8() as usize % (n + 1),
                };
                let len = len.min(n);
                let saved_shard = ba.clone();
                let got = a.step_shard(
                    &token,
                    s..e,
                    &mut ba.p[..len],
                    &grads[..len],
                    &mut ba.s[..len],
                );
                match got {
                    Ok(()) => {
                        assert_eq!(
                            el.as_ref().map(|e| e.len()),
                            Ok(len),
                            "a shard took the wrong length"
                        );
                        // give the twin the same shard, at the same place in its buffers
                        b.step_shard(
                            &token_b,
                            s..e,
                            &mut bb.p[..len],
                            &grads[..len],
                            &mut bb.s[..len],
                        )
                        .expect("the twin's shard");
                    }
                    Err(_) => {
                        assert_bits("failed shard: params", &ba.p, &saved_shard.p);
                        assert_bits("failed shard: state", &ba.s, &saved_shard.s);
                    }
                }
                if r.bool() {
                    // a token for another step is refused
                    let stale = a.begin_step().expect("plan the same step again");
                    assert!(a.end_step(stale).is_ok());
                    let again = b.begin_step().expect("twin");
                    b.end_step(again).expect("twin");
                    assert!(a.end_step(token).is_err(), "a stale token was accepted");
                } else {
                    a.end_step(token).expect("end_step");
                    b.end_step(token_b).expect("twin's end_step");
                }
            }
            // the learning rates of the next step
            _ => {
                for g in 0..=n_groups {
                    let (la, lb) = (a.lr(g), b.lr(g));
                    assert_eq!(la.map(f32::to_bits), lb.map(f32::to_bits));
                    if let Ok(v) = la {
                        assert!(v.is_finite() && v >= 0.0, "lr({g}) = {v:e}");
                    }
                }
            }
        }
        assert_eq!(
            a.global_step(),
            b.global_step(),
            "the twins' step counters differ"
        );
        assert_same("twins' params", &bb.p, &ba.p);
        assert_same("twins' state", &bb.s, &ba.s);
    }
}

/// `Momentum::new` or `Sgd::new` over a `GroupTable` of exactly `N` groups.
fn with_table<const N: usize>(
    r: &mut Reader,
    tensors: &[Tensor],
    groups: &[Group<'_>],
    sgd: bool,
    ms: MomentumSettings,
    ss: SgdSettings,
) {
    let arr: [Group<'_>; N] = groups.try_into().expect("N groups");
    let Ok(table) = GroupTable::new(arr) else {
        return;
    };
    if sgd {
        let (Ok(mut a), Ok(mut b)) = (Sgd::new(tensors, table, ss), Sgd::new(tensors, table, ss))
        else {
            return;
        };
        drive(r, &mut a, &mut b);
    } else {
        let (Ok(mut a), Ok(mut b)) = (
            Momentum::new(tensors, table, ms),
            Momentum::new(tensors, table, ms),
        ) else {
            return;
        };
        drive(r, &mut a, &mut b);
    }
}

fuzz_target!(|data: &[u8]| {
    let mut r = Reader::new(data);
    let n_groups = r.u8() as usize % 6;
    let specs: Vec<Spec> = (0..n_groups).map(|_| spec(&mut r)).collect();
    let mut groups = Vec::new();
    for s in &specs {
        match group(s) {
            Ok(g) => groups.push(g),
            Err(e) => {
                if trace() {
                    eprintln!("group {}: {e:?}", groups.len());
                }
                return;
            }
        }
    }
    if trace() {
        eprintln!("groups: {groups:?}");
    }
    let n_tensors = r.u8() as usize % 9;
    let tensors: Vec<Tensor> = (0..n_tensors)
        .map(|i| tensor(&mut r, i, n_groups))
        .collect();

    let path = Path::ALL[r.u8() as usize % Path::ALL.len()];
    let mut ms = MomentumSettings::new(r.f64_param());
    ms.nesterov = r.bool();
    ms.loss_scale = r.f64_param();
    ms.check_finite = r.bool();
    ms.path = path;
    let ss = SgdSettings {
        momentum: ms.momentum,
        dampening: r.f64_param(),
        nesterov: ms.nesterov,
        loss_scale: ms.loss_scale,
        check_finite: ms.check_finite,
        path,
    };

    if trace() {
        eprintln!("tensors: {tensors:?}");
    }
    match r.u8() % 4 {
        kind @ (0 | 1) => {
            let sgd = kind == 1;
            match groups.len() {
                0 => with_table::<0>(&mut r, &tensors, &groups, sgd, ms, ss),
                1 => with_table::<1>(&mut r, &tensors, &groups, sgd, ms, ss),
                2 => with_table::<2>(&mut r, &tensors, &groups, sgd, ms, ss),
                3 => with_table::<3>(&mut r, &tensors, &groups, sgd, ms, ss),
                4 => with_table::<4>(&mut r, &tensors, &groups, sgd, ms, ss),
                _ => with_table::<5>(&mut r, &tensors, &groups, sgd, ms, ss),
            }
        }
        kind => {
            let mut ga = groups.clone();
            let mut gb = groups.clone();
            let before = format!("{ga:?}");
            if kind == 2 {
                match MomentumSlice::with_groups(&tensors, &mut ga, ms) {
                    Ok(mut a) => {
                        let mut b =
                            MomentumSlice::with_groups(&tensors, &mut gb, ms).expect("twin");
                        drive(&mut r, &mut a, &mut b);
                    }
                    Err(_) => assert_eq!(
                        format!("{ga:?}"),
                        before,
                        "a failed constructor changed the groups"
                    ),
                }
            } else {
                match SgdSlice::with_groups(&tensors, &mut ga, ss) {
                    Ok(mut a) => {
                        let mut b = SgdSlice::with_groups(&tensors, &mut gb, ss).expect("twin");
                        drive(&mut r, &mut a, &mut b);
                    }
                    Err(_) => assert_eq!(
                        format!("{ga:?}"),
                        before,
                        "a failed constructor changed the groups"
                    ),
                }
            }
        }
    }
});
