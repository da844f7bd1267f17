//! The C entry points (`gradstep::ffi`) with arbitrary arguments: lengths, flags, kinds, paths,
//! and pointers into buffers this target owns — aligned or not, NULL with a zero or non-zero
//! length, overlapping — with lengths never larger than the memory behind them.
//!
//! Input: first a setup (learning-rate tables and schedules in an input area, a layout, groups
//! made by `gradstep_group_*` or by hand, settings, `gradstep_momentum_init` or
//! `gradstep_sgd_init`), then a sequence of calls: the kernels, the table fillers, the schedules,
//! and every optimizer call (step, sharded steps, lr, set_lr, save, restore, ...).
//!
//! Properties: no panic, no crash (AddressSanitizer); a call that does not return
//! `GRADSTEP_STATUS_OK` leaves every buffer, out-parameter, the optimizer and its groups as they
//! were (the groups' private `planned_lr` scratch value excepted); a call that succeeds had valid
//! pointers and gives the bits of the Rust API: the reference for the kernels, `lr::dynamic` for
//! the tables, `Lr::at` for the schedules, and a Rust optimizer built from the same layout and
//! groups (`MomentumSlice` / `SgdSlice`) for every optimizer call, status included.
#![no_main]

mod common;

use std::alloc::{Layout, alloc_zeroed, dealloc};
use std::mem::size_of;
use std::ptr::{null, null_mut};

use common::{Reader, assert_same, trace};
use gradstep::Error;
use gradstep::ffi::*;
use gradstep::group::{Group, Tensor};
use gradstep::hyper::{GradPrep, MomentumStep, SgdStep};
use gradstep::kernel::Path;
use gradstep::lr::dynamic;
use gradstep::lr::schedule::{
    CosineDecayLr, ExponentialDecayLr, InverseDecayLr, NaturalExpDecayLr, PolynomialDecayLr,
    Schedule, WarmUpLr,
};
use gradstep::lr::{CosineWarmRestarts, Lr, PastEnd, Sequence, Table};
use gradstep::optim::{MomentumSettings, MomentumSlice, SgdSettings, SgdSlice, StepToken};
use gradstep::reference;
use libfuzzer_sys::fuzz_target;

/// The size of each memory area.
const AREA: usize = 4096;

/// A zeroed, 64-byte aligned block of `AREA` bytes, handed to gradstep only as raw pointers.
struct Area(*mut u8);

impl Area {
    fn new() -> Area {
        // SAFETY: a non-zero size.
        let p = unsafe { alloc_zeroed(Layout::from_size_align(AREA, 64).unwrap()) };
        assert!(!p.is_null());
        Area(p)
    }
    fn bytes(&self) -> &[u8] {
        // SAFETY: AREA initialized bytes; no call into gradstep runs while this borrow lives.
        unsafe { std::slice::from_raw_parts(self.0, AREA) }
    }
    fn bytes_mut(&mut self) -> &mut [u8] {
        // SAFETY: as above.
        unsafe { std::slice::from_raw_parts_mut(self.0, AREA) }
    }
    fn ptr<T>(&self, loc: Loc) -> *mut T {
        match loc {
            Loc::Null => null_mut(),
            // SAFETY: `o < AREA`.
            Loc::At(o) => unsafe { self.0.add(o) as *mut T },
        }
    }
    fn f32s(&self, off: usize, len: usize) -> Vec<f32> {
        self.bytes()[off..off + 4 * len]
            .chunks_exact(4)
            .map(|c| f32::from_ne_bytes(c.try_into().unwrap()))
            .collect()
    }
    fn put_f32s(&mut self, off: usize, v: &[f32]) {
        for (c, x) in self.bytes_mut()[off..off + 4 * v.len()]
            .chunks_exact_mut(4)
            .zip(v)
        {
            c.copy_from_slice(&x.to_ne_bytes());
        }
    }
    fn read<T: Copy>(&self, off: usize) -> T {
        assert!(off + size_of::<T>() <= AREA);
        // SAFETY: in bounds; unaligned read of plain data.
        unsafe { (self.0.add(off) as *const T).read_unaligned() }
    }
    fn write<T: Copy>(&mut self, off: usize, v: T) {
        assert!(off + size_of::<T>() <= AREA);
        // SAFETY: in bounds; unaligned write of plain data.
        unsafe { (self.0.add(off) as *mut T).write_unaligned(v) }
    }
}

impl Drop for Area {
    fn drop(&mut self) {
        // SAFETY: allocated in `new` with this layout.
        unsafe { dealloc(self.0, Layout::from_size_align(AREA, 64).unwrap()) }
    }
}

/// Where a pointer points: NULL, or a byte offset into an area.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Loc {
    Null,
    At(usize),
}

impl Loc {
    /// Room for values of `size` bytes from here (unbounded for NULL).
    fn room(self, size: usize) -> usize {
        match self {
            Loc::Null => usize::MAX,
            Loc::At(o) => (AREA - o) / size,
        }
    }
    /// What gradstep accepts for `len` values of `align`: any pointer when `len` is 0, else
    /// non-null and aligned.
    fn valid(self, len: usize, align: usize) -> bool {
        len == 0 || matches!(self, Loc::At(o) if o % align == 0)
    }
    fn off(self) -> usize {
        match self {
            Loc::Null => 0,
            Loc::At(o) => o,
        }
    }
}

/// A pointer: mostly aligned for `align`, sometimes anywhere, sometimes NULL.
fn loc(r: &mut Reader, align: usize, size: usize) -> Loc {
    let t = r.u8();
    let o = r.u16() as usize % (AREA - size.min(AREA - 1));
    match t % 16 {
        0 => Loc::Null,
        1 => Loc::At(o),
        _ => Loc::At(o / align * align),
    }
}

/// A length for values of `size` bytes at `locs`: never more than the memory behind a non-null
/// pointer; with only NULL pointers, anything (even `usize::MAX`).
fn length(r: &mut Reader, locs: &[Loc], size: usize) -> usize {
    let room = locs
        .iter()
        .map(|l| l.room(size))
        .min()
        .unwrap_or(usize::MAX);
    let want = match r.u8() % 16 {
        0 => 0,
        1 => usize::MAX,
        2 => r.u64() as usize,
        _ => r.u16() as usize % 400,
    };
    want.min(room)
}

fn overlaps(a: (usize, usize), b: (usize, usize)) -> bool {
    a.0 < b.1 && b.0 < a.1
}

/// Byte spans of non-null regions.
fn span(l: Loc, len: usize, size: usize) -> Option<(usize, usize)> {
    match l {
        Loc::At(o) if len > 0 => Some((o, o + len * size)),
        _ => None,
    }
}

fn disjoint(spans: &[Option<(usize, usize)>]) -> bool {
    for i in 0..spans.len() {
        for j in i + 1..spans.len() {
            if let (Some(a), Some(b)) = (spans[i], spans[j])
                && overlaps(a, b)
            {
                return false;
            }
        }
    }
    true
}

fn st<T>(r: Result<T, Error>) -> Status {
    match r {
        Ok(_) => Status::Ok,
        Err(e) => Status::from(e),
    }
}

fn path_of(id: u32) -> Option<Path> {
    match id {
        GRADSTEP_PATH_AUTO => Some(Path::selected()),
        GRADSTEP_PATH_SCALAR => Some(Path::Scalar),
        GRADSTEP_PATH_WIDE => Some(Path::Wide),
        GRADSTEP_PATH_AVX2 => Some(Path::Avx2),
        GRADSTEP_PATH_AVX512 => Some(Path::Avx512),
        _ => None,
    }
}

fn path_id(r: &mut Reader) -> u32 {
    match r.u8() % 8 {
        6 => r.u32(),
        k => (k % 5) as u32,
    }
}

fn flag(r: &mut Reader) -> u32 {
    match r.u8() % 4 {
        0 => 0,
        1 => 1,
        2 => r.u32(),
        _ => 0x8000_0000,
    }
}

/// The bytes of a value, for before/after comparisons.
fn bytes_of<T: Copy>(v: &[T]) -> Vec<u8> {
    // SAFETY: plain data (padding bytes are compared too: gradstep writes whole values).
    unsafe { std::slice::from_raw_parts(v.as_ptr() as *const u8, std::mem::size_of_val(v)) }
        .to_vec()
}

/// A group's bytes without its private `planned_lr` scratch value.
fn group_bytes(groups: &[CGroup]) -> Vec<u8> {
    let mut copy = groups.to_vec();
    for g in &mut copy {
        g.planned_lr = 0.0;
    }
    bytes_of(&copy)
}

/// A Rust schedule and the C one made by the same parameters.
fn make_schedule(r: &mut Reader, out: *mut CSchedule) -> (Status, Result<Schedule, Error>) {
    // SAFETY (every call): `out` is NULL, or points into an area with room for a schedule.
    unsafe {
        match r.u8() % 7 {
            0 => {
                let (a, b, c, d) = (r.f64_param(), r.f64_param(), r.count(), flag(r));
                (
                    gradstep_schedule_exponential_decay(a, b, c, d, out),
                    ExponentialDecayLr::new(a, b, c, d != 0).map(Schedule::ExponentialDecay),
                )
            }
            1 => {
                let (a, b, c, d) = (r.f64_param(), r.f64_param(), r.count(), flag(r));
                (
                    gradstep_schedule_natural_exp_decay(a, b, c, d, out),
                    NaturalExpDecayLr::new(a, b, c, d != 0).map(Schedule::NaturalExpDecay),
                )
            }
            2 => {
                let (a, b, c, d) = (r.f64_param(), r.f64_param(), r.count(), flag(r));
                (
                    gradstep_schedule_inverse_decay(a, b, c, d, out),
                    InverseDecayLr::new(a, b, c, d != 0).map(Schedule::InverseDecay),
                )
            }
            3 => {
                let (a, b, c) = (r.f64_param(), r.f64_param(), r.count());
                (
                    gradstep_schedule_cosine_decay(a, b, c, out),
                    CosineDecayLr::new(a, b, c).map(Schedule::CosineDecay),
                )
            }
            4 => {
                let (a, b, c, d, e) = (
                    r.f64_param(),
                    r.f64_param(),
                    r.count(),
                    r.f64_param(),
                    flag(r),
                );
                (
                    gradstep_schedule_polynomial_decay(a, b, c, d, e, out),
                    PolynomialDecayLr::new(a, b, c, d, e != 0).map(Schedule::PolynomialDecay),
                )
            }
            5 => {
                let (a, b) = (r.f64_param(), r.count());
                (
                    gradstep_schedule_warmup(a, b, out),
                    WarmUpLr::new(a, b).map(Schedule::WarmUp),
                )
            }
            _ => {
                let (a, b, c, d) = (r.f64_param(), r.f64_param(), r.count(), r.count());
                (
                    gradstep_schedule_cosine_warm_restarts(a, b, c, d, out),
                    CosineWarmRestarts::new(a, b, c, d).map(Schedule::CosineWarmRestarts),
                )
            }
        }
    }
}

/// The input area: learning-rate tables at 0, schedules made by gradstep at 1024 (32 bytes
/// each), a damaged schedule at 2048 and a misaligned copy at 2113, scratch arrays from 3072.
const TABLES: usize = 0;
const SCHEDS: usize = 1024;
const N_SCHEDS: usize = 4;
const GARBAGE: usize = 2048;
const GARBAGE_MISALIGNED: usize = 2113;
const SCRATCH: usize = 3072;

/// The Rust twin of the C optimizer.
enum Twin<'a, 'g> {
    None,
    Momentum(MomentumSlice<'a, 'g>),
    Sgd(SgdSlice<'a, 'g>),
}

macro_rules! twin {
    ($t:expr, |$o:ident| $e:expr) => {
        match $t {
            Twin::Momentum($o) => Some($e),
            Twin::Sgd($o) => Some($e),
            Twin::None => None,
        }
    };
}

/// The C memory the optimizer calls may change: the optimizer and its groups. Two private
/// fields are left out: the groups' `planned_lr` scratch value, and a Momentum optimizer's
/// `started` (SGD's first-step flag, which Momentum never reads; any call that stores a Momentum
/// core sets it to 1, failed or not).
fn opt_state(opt: &COptimizer, groups: &[CGroup]) -> (Vec<u8>, Vec<u8>) {
    let mut o = *opt;
    if o.kind == 1 {
        o.started = 0;
    }
    (bytes_of(std::slice::from_ref(&o)), group_bytes(groups))
}

fuzz_target!(|data: &[u8]| {
    let mut r = Reader::new(data);
    let mut mem = Area::new(); // the buffers of the calls
    let mut inp = Area::new(); // tables and schedules the groups point to; never written by a call

    // ----- setup: tables, schedules, layout, groups, settings, init ---------------------------
    let n_table = r.u8() as usize % 64;
    let table_values: Vec<f32> = (0..n_table).map(|_| r.f32_param()).collect();
    inp.put_f32s(TABLES, &table_values);
    let mut schedules: Vec<Option<Schedule>> = Vec::new();
    for i in 0..N_SCHEDS {
        let out = inp.ptr::<CSchedule>(Loc::At(SCHEDS + 32 * i));
        let (s, rust) = make_schedule(&mut r, out);
        assert_eq!(
            s,
            st(rust),
            "a schedule constructor and its Rust twin disagree"
        );
        schedules.push(rust.ok());
    }
    let garbage = r.bytes(32);
    inp.bytes_mut()[GARBAGE..GARBAGE + garbage.len()].copy_from_slice(garbage);
    inp.bytes_mut()[GARBAGE_MISALIGNED..GARBAGE_MISALIGNED + garbage.len()]
        .copy_from_slice(garbage);

    let n_tensors = r.u8() as usize % 7;
    let tensors: Vec<Tensor> = (0..n_tensors)
        .map(|_| {
            let group = r.u8() as usize % 5;
            match r.u8() % 16 {
                0 => Tensor {
                    len: usize::MAX,
                    rows: 0,
                    group,
                },
                1 => Tensor {
                    len: r.u64() as usize,
                    rows: r.u8() as usize,
                    group,
                },
                2 => Tensor {
                    len: r.u8() as usize % 40,
                    rows: r.u8() as usize % 7,
                    group,
                },
                3..=7 => Tensor::matrix(1 + r.u8() as usize % 4, r.u8() as usize % 9, group),
                _ => Tensor::vector(r.u8() as usize % 33, group),
            }
        })
        .collect();
    let n_groups = r.u8() as usize % 5;
    let mut groups: Vec<CGroup> = (0..n_groups)
        .map(|_| {
            let (wd, c) = (r.f64_param(), flag(&mut r));
            match r.u8() % 8 {
                0..=2 => gradstep_group_static(r.f64_param(), wd, c),
                3 | 4 => {
                    let (off, len) = (r.u8() as usize % 64, r.u8() as usize % 8);
                    let len = len.min(64 - off);
                    let (p, len) = match r.u8() % 16 {
                        0 => (null(), len),
                        // SAFETY: inside the input area.
                        1 => (
                            unsafe { inp.0.add(TABLES + 4 * off + 1) } as *const f32,
                            len.min(63 - off),
                        ),
                        _ => (inp.ptr::<f32>(Loc::At(TABLES + 4 * off)) as *const f32, len),
                    };
                    gradstep_group_table(p, len, flag(&mut r), wd, c)
                }
                5 | 6 => {
                    let p = match r.u8() % 8 {
                        0 => null(),
                        1 => inp.ptr::<CSchedule>(Loc::At(GARBAGE)) as *const CSchedule,
                        2 => inp.ptr::<CSchedule>(Loc::At(GARBAGE_MISALIGNED)) as *const CSchedule,
                        k => inp.ptr::<CSchedule>(Loc::At(SCHEDS + 32 * (k as usize % N_SCHEDS)))
                            as *const CSchedule,
                    };
                    gradstep_group_schedule(p, wd, c)
                }
                _ => {
                    let mut g = gradstep_group_static(r.f64_param(), wd, c);
                    g.lr_kind = r.u32();
                    g
                }
            }
        })
        .collect();

    let sgd = r.bool();
    let momentum = r.f64_param();
    let mut ms = gradstep_momentum_settings_default(momentum);
    ms.nesterov = flag(&mut r);
    ms.loss_scale = r.f64_param();
    ms.check_finite = flag(&mut r);
    ms.path = path_id(&mut r);
    let mut ss = gradstep_sgd_settings_default();
    ss.momentum = momentum;
    ss.dampening = r.f64_param();
    ss.nesterov = ms.nesterov;
    ss.loss_scale = ms.loss_scale;
    ss.check_finite = ms.check_finite;
    ss.path = ms.path;

    // the optimizer: in a box, or NULL, or misaligned in a byte buffer
    let mut opt_box: Box<COptimizer> = Box::new(
        // SAFETY: plain data; all-zero is an uninitialized optimizer (magic 0).
        unsafe { std::mem::zeroed() },
    );
    let mut opt_bytes = vec![0u8; size_of::<COptimizer>() + 8];
    let opt_choice = r.u8() % 16;
    let opt_ptr: *mut COptimizer = match opt_choice {
        0 => null_mut(),
        // SAFETY: inside `opt_bytes`, with room for one optimizer.
        1 => {
            let skip = 1 + (opt_bytes.as_ptr() as usize & 7 == 7) as usize;
            // SAFETY: inside `opt_bytes`, with room for one optimizer.
            unsafe { opt_bytes.as_mut_ptr().add(skip) as *mut COptimizer }
        }
        _ => &mut *opt_box,
    };
    let opt_bad = opt_choice < 2;
    let n_t_given = match r.u8() % 8 {
        0 => n_tensors.saturating_sub(1),
        _ => n_tensors,
    };
    let tensors_ptr = if r.u8() % 16 == 0 {
        null()
    } else {
        tensors.as_ptr()
    };
    let n_g_given = match r.u8() % 8 {
        0 => n_groups.saturating_sub(1),
        _ => n_groups,
    };
    let groups_ptr = if r.u8() % 16 == 0 {
        null_mut()
    } else {
        groups.as_mut_ptr()
    };

    let settings_null = r.u8() % 32 == 0;
    let before_init = (opt_state(&opt_box, &groups), opt_bytes.clone());
    // SAFETY: every pointer is NULL or valid for the length given (never more than it holds).
    let init = unsafe {
        if sgd {
            gradstep_sgd_init(
                opt_ptr,
                tensors_ptr,
                n_t_given,
                groups_ptr,
                n_g_given,
                if settings_null { null() } else { &ss },
            )
        } else {
            gradstep_momentum_init(
                opt_ptr,
                tensors_ptr,
                n_t_given,
                groups_ptr,
                n_g_given,
                if settings_null { null() } else { &ms },
            )
        }
    };
    if init != Status::Ok {
        assert_eq!(
            (opt_state(&opt_box, &groups), opt_bytes.clone()),
            before_init,
            "a failed init ({init:?}) changed the optimizer or the groups"
        );
    } else {
        assert!(
            !opt_ptr.is_null() && opt_ptr.is_aligned(),
            "init accepted a bad optimizer pointer"
        );
        assert!(!settings_null, "init accepted NULL settings");
    }
    // Later calls use the boxed optimizer (uninitialized unless init succeeded on it), or NULL.
    let initialized = init == Status::Ok && !opt_bad;
    if trace() {
        eprintln!(
            "init: {init:?}; tensors {:?}; groups {groups:#?}",
            &tensors[..n_t_given]
        );
    }

    // ----- the Rust twin ---------------------------------------------------------------------
    let layout: &[Tensor] = &tensors[..n_t_given];
    let mut rust_groups: Vec<Group<'_>> = Vec::new();
    let mut twin_ok = initialized;
    if initialized {
        for g in &groups[..n_g_given] {
            let lr = match g.lr_kind {
                GRADSTEP_LR_STATIC => Lr::fixed(g.lr),
                GRADSTEP_LR_TABLE => {
                    assert!(
                        g.table_len == 0 || (!g.table.is_null() && g.table.is_aligned()),
                        "init accepted a bad table"
                    );
                    let values: &[f32] = if g.table_len == 0 {
                        &[]
                    } else {
                        // SAFETY: a table in the input area, which no call writes.
                        unsafe { std::slice::from_raw_parts(g.table, g.table_len) }
                    };
                    let past = if g.hold_last != 0 {
                        PastEnd::HoldLast
                    } else {
                        PastEnd::Error
                    };
                    Table::new(values, past).map(Lr::Table)
                }
                GRADSTEP_LR_SCHEDULE => {
                    assert!(
                        !g.schedule.is_null() && g.schedule.is_aligned(),
                        "init accepted a bad schedule pointer"
                    );
                    // SAFETY: a schedule in the input area, which no call writes.
                    Ok(Lr::Schedule(unsafe { &*g.schedule }))
                }
                k => panic!("init accepted lr_kind {k}"),
            };
            let group = lr.and_then(|lr| Group::new(lr, g.weight_decay, g.centralize != 0));
            rust_groups.push(group.expect("init accepted a group the Rust API refuses"));
        }
    }
    let mut twin = Twin::None;
    if twin_ok {
        let path = path_of(ms.path).expect("init accepted an unknown path");
        twin = if sgd {
            let settings = SgdSettings {
                momentum: ss.momentum,
                dampening: ss.dampening,
                nesterov: ss.nesterov != 0,
                loss_scale: ss.loss_scale,
                check_finite: ss.check_finite != 0,
                path,
            };
            Twin::Sgd(
                SgdSlice::with_groups(layout, &mut rust_groups, settings)
                    .expect("init accepted what the Rust API refuses"),
            )
        } else {
            let mut settings = MomentumSettings::new(ms.momentum);
            settings.nesterov = ms.nesterov != 0;
            settings.loss_scale = ms.loss_scale;
            settings.check_finite = ms.check_finite != 0;
            settings.path = path;
            Twin::Momentum(
                MomentumSlice::with_groups(layout, &mut rust_groups, settings)
                    .expect("init accepted what the Rust API refuses"),
            )
        };
    }
    twin_ok &= !matches!(twin, Twin::None);
    let opt_len = twin!(&twin, |o| o.len()).unwrap_or(0);
    let mut saved: Vec<u8> = Vec::new(); // the last state saved
    let mut last_token: Option<StepToken> = None; // the twin's last begin_step

    // ----- calls --------------------------------------------------------------------------------
    for _ in 0..16 {
        if r.is_empty() {
            break;
        }
        let op = r.u8();
        let kind = op % 16;
        let the_opt: *mut COptimizer = if op & 0x80 != 0 && r.u8() % 8 == 0 {
            null_mut()
        } else {
            &mut *opt_box
        };
        let opt_null = the_opt.is_null();
        let mut mem_before = mem.bytes().to_vec();
        let mut sub = 0u8; // which call of the group of op 12
        if trace() {
            eprintln!("op {kind} ...");
        }
        let opt_before = opt_state(&opt_box, &groups);
        // Each call gives its status and, where the Rust API can make the same call, the status
        // the Rust API gives (`None`: not comparable; a call with a bad pointer must then fail).
        let (status, expected): (Status, Option<Status>) = match kind {
            0 | 1 => kernel_call(&mut r, &mut mem, kind == 0),
            2 | 3 => table_call(&mut r, &mut mem, &mut inp),
            4 => {
                let lo = loc(&mut r, 4, 32);
                let (s, rust) = make_schedule(&mut r, mem.ptr::<CSchedule>(lo));
                if s == Status::Ok {
                    assert!(
                        lo.valid(1, 4),
                        "a schedule constructor accepted a bad pointer"
                    );
                    let rust = rust.expect("a schedule the Rust API refuses");
                    let c: CSchedule = mem.read(lo.off());
                    for _ in 0..3 {
                        let k = r.step();
                        let mut v = f32::NAN;
                        // SAFETY: a schedule and an out-parameter on the stack.
                        let s2 = unsafe { gradstep_schedule_lr(&c, k, &mut v) };
                        let want = Lr::Schedule(&rust).at(k);
                        assert_eq!(s2, st(want), "schedule_lr at {k}");
                        if let Ok(w) = want {
                            assert_eq!(v.to_bits(), w.to_bits(), "schedule_lr at {k}");
                        }
                    }
                }
                let expected = match rust {
                    Err(e) => Some(e.into()),
                    Ok(_) => lo.valid(1, 4).then_some(Status::Ok),
                };
                (s, expected)
            }
            5 => {
                // gradstep_schedule_lr on a schedule gradstep made, a damaged one, or a bad pointer
                let (sp, known): (*const CSchedule, Option<Option<Schedule>>) = match r.u8() % 8 {
                    0 => (null(), None),
                    1 => (inp.ptr::<CSchedule>(Loc::At(GARBAGE)), None),
                    2 => (inp.ptr::<CSchedule>(Loc::At(GARBAGE_MISALIGNED)), None),
                    k => {
                        let i = k as usize % N_SCHEDS;
                        (
                            inp.ptr::<CSchedule>(Loc::At(SCHEDS + 32 * i)),
                            Some(schedules[i]),
                        )
                    }
                };
                let lo = loc(&mut r, 4, 4);
                let k = r.step();
                // SAFETY: NULL or pointers into the areas with room for one value.
                let s = unsafe { gradstep_schedule_lr(sp, k, mem.ptr::<f32>(lo)) };
                if s == Status::Ok {
                    assert!(
                        lo.valid(1, 4) && !sp.is_null() && sp.is_aligned(),
                        "schedule_lr accepted a bad pointer"
                    );
                    let v: f32 = mem.read(lo.off());
                    assert!(v.is_finite() && v >= 0.0, "schedule_lr gave {v:e}");
                    // SAFETY: checked above: an aligned schedule in the input area.
                    let want = Lr::Schedule(unsafe { &*sp }).at(k).expect("Lr::at refuses");
                    assert_eq!(v.to_bits(), want.to_bits());
                }
                let expected = match known {
                    Some(Some(rust)) if lo.valid(1, 4) => Some(st(Lr::Schedule(&rust).at(k))),
                    // a schedule no constructor made (its constructor failed: all zeros)
                    Some(None) => Some(Status::InvalidArgument),
                    _ => None,
                };
                (s, expected)
            }
            6 => sequence_call(&mut r, &mut mem, &mut inp, &schedules),
            // ----- the optimizer
            7 | 8 | 10 => {
                // a whole step, or a shard of tensors [first, end) with a token
                let shard = kind == 10;
                let token = token_value(&mut r, twin!(&twin, |o| o.global_step()));
                let n_t = layout.len();
                let (first, end) = (r.u8() as usize % (n_t + 2), r.u8() as usize % (n_t + 2));
                let want_len = if shard {
                    twin!(&twin, |o| o.elements(first..end))
                        .and_then(Result::ok)
                        .map_or_else(|| r.u8() as usize, |e| e.len())
                } else {
                    opt_len
                };
                let (lp, lg, ls, len) = three(&mut r, Some(want_len));
                let valid = lp.valid(len, 4)
                    && lg.valid(len, 4)
                    && ls.valid(len, 4)
                    && disjoint(&[span(lp, len, 4), span(lg, len, 4), span(ls, len, 4)]);
                let mut copies = valid.then(|| {
                    (
                        mem.f32s(lp.off(), len),
                        mem.f32s(lg.off(), len),
                        mem.f32s(ls.off(), len),
                    )
                });
                // SAFETY: NULL or pointers into the area with room for `len` values.
                let s = unsafe {
                    if shard {
                        gradstep_optimizer_step_shard(
                            the_opt,
                            token,
                            first,
                            end,
                            mem.ptr(lp),
                            mem.ptr(lg),
                            mem.ptr(ls),
                            len,
                        )
                    } else {
                        gradstep_optimizer_step(the_opt, mem.ptr(lp), mem.ptr(lg), mem.ptr(ls), len)
                    }
                };
                let expected = match (&mut copies, twin_ok && !opt_null) {
                    (Some((w, g, m)), true) => {
                        let e = if shard {
                            twin!(&twin, |o| match token_of(last_token, token) {
                                Some(t) => st(o.step_shard(&t, first..end, w, g, m)),
                                None => Status::StaleStep,
                            })
                        } else {
                            twin!(&mut twin, |o| st(o.step(w, g, m)))
                        };
                        if s == Status::Ok && e == Some(Status::Ok) {
                            assert_same("step params", &mem.f32s(lp.off(), len), w);
                            assert_same("step state", &mem.f32s(ls.off(), len), m);
                        }
                        e
                    }
                    _ => None,
                };
                (s, expected)
            }
            9 => {
                // begin_step: the token into an out-parameter
                let lo = loc(&mut r, 4, 4);
                // SAFETY: NULL or a pointer into the area with room for one value.
                let s = unsafe { gradstep_optimizer_begin_step(the_opt, mem.ptr::<u32>(lo)) };
                // A bad out-parameter fails the call before it plans anything (checked below, as
                // for every failed call), so the twin plans only with a good one.
                let expected = if twin_ok && !opt_null && lo.valid(1, 4) {
                    match twin!(&mut twin, |o| o.begin_step()).unwrap() {
                        Ok(t) => {
                            if s == Status::Ok {
                                assert_eq!(
                                    mem.read::<u32>(lo.off()),
                                    t.step(),
                                    "begin_step's token"
                                );
                            }
                            last_token = Some(t);
                            Some(Status::Ok)
                        }
                        Err(e) => Some(e.into()),
                    }
                } else {
                    None
                };
                (s, expected)
            }
            11 => {
                // end_step
                let token = token_value(&mut r, twin!(&twin, |o| o.global_step()));
                // SAFETY: the optimizer or NULL.
                let s = unsafe { gradstep_optimizer_end_step(the_opt, token) };
                let expected = if opt_null {
                    None
                } else {
                    twin!(&mut twin, |o| match token_of(last_token, token) {
                        Some(t) => st(o.end_step(t)),
                        None => Status::StaleStep,
                    })
                };
                (s, expected)
            }
            12 => {
                // lr, set_lr, global_step, len, elements, saved_len
                let lo = loc(&mut r, 8, 16);
                let g = r.u8() as usize % 6;
                sub = r.u8() % 6;
                match sub {
                    0 => {
                        // SAFETY: NULL or room for one value.
                        let s = unsafe { gradstep_optimizer_lr(the_opt, g, mem.ptr(lo)) };
                        let e = twin!(&twin, |o| o.lr(g)).and_then(|res| match res {
                            Ok(v) => {
                                if s == Status::Ok {
                                    assert_eq!(
                                        mem.read::<f32>(lo.off()).to_bits(),
                                        v.to_bits(),
                                        "lr({g})"
                                    );
                                }
                                lo.valid(1, 4).then_some(Status::Ok)
                            }
                            Err(e) => Some(e.into()),
                        });
                        (s, e)
                    }
                    1 => {
                        let lr = r.f64_param();
                        // SAFETY: the optimizer or NULL.
                        let s = unsafe { gradstep_optimizer_set_lr(the_opt, g, lr) };
                        (
                            s,
                            if opt_null {
                                None
                            } else {
                                twin!(&mut twin, |o| st(o.set_lr(g, lr)))
                            },
                        )
                    }
                    2 => {
                        // SAFETY: NULL or room for one value.
                        let s = unsafe { gradstep_optimizer_global_step(the_opt, mem.ptr(lo)) };
                        if s == Status::Ok {
                            let k = twin!(&twin, |o| o.global_step())
                                .expect("global_step of an uninitialized optimizer");
                            assert_eq!(mem.read::<u32>(lo.off()), k, "global_step");
                        }
                        (s, lo.valid(1, 4).then_some(Status::Ok))
                    }
                    3 => {
                        // SAFETY: NULL or room for one value.
                        let s = unsafe { gradstep_optimizer_len(the_opt, mem.ptr(lo)) };
                        if s == Status::Ok {
                            assert_eq!(mem.read::<usize>(lo.off()), opt_len, "optimizer_len");
                        }
                        (s, lo.valid(1, 8).then_some(Status::Ok))
                    }
                    4 => {
                        let lo2 = loc(&mut r, 8, 8);
                        let end = r.u8() as usize % 8;
                        // SAFETY: NULL or room for one value each.
                        let s = unsafe {
                            gradstep_optimizer_elements(the_opt, g, end, mem.ptr(lo), mem.ptr(lo2))
                        };
                        // bad out-parameters fail the call first (and it then changes nothing)
                        let outs_valid = lo.valid(1, 8) && lo2.valid(1, 8);
                        let apart = !overlaps((lo.off(), lo.off() + 8), (lo2.off(), lo2.off() + 8));
                        let res = twin!(&twin, |o| o.elements(g..end)).filter(|_| outs_valid);
                        let e = res.map(|res| match res {
                            Ok(range) => {
                                if s == Status::Ok && apart {
                                    assert_eq!(
                                        mem.read::<usize>(lo.off()),
                                        range.start,
                                        "elements: offset"
                                    );
                                    assert_eq!(
                                        mem.read::<usize>(lo2.off()),
                                        range.len(),
                                        "elements: length"
                                    );
                                }
                                Status::Ok
                            }
                            Err(e) => e.into(),
                        });
                        (s, e)
                    }
                    _ => {
                        // SAFETY: NULL or room for one value.
                        let s = unsafe { gradstep_optimizer_saved_len(the_opt, mem.ptr(lo)) };
                        if s == Status::Ok {
                            let n = twin!(&twin, |o| o.saved_len())
                                .expect("saved_len of an uninitialized optimizer");
                            assert_eq!(mem.read::<usize>(lo.off()), n, "saved_len");
                        }
                        (s, lo.valid(1, 8).then_some(Status::Ok))
                    }
                }
            }
            13 => {
                // save: the state and the output bytes in the call buffers
                let saved_len = twin!(&twin, |o| o.saved_len()).unwrap_or(64);
                let (lsd, lout, state_len, out_len) = if r.u8() % 4 != 0 {
                    let state_len = opt_len.min(300);
                    let base = 4 * (r.u8() as usize % 8);
                    let out_off = (base + 4 * state_len + r.u8() as usize % 8).min(AREA - 1);
                    let out_len = saved_len
                        .saturating_add(r.u8() as usize % 3)
                        .saturating_sub((r.u8() == 255) as usize)
                        .min((AREA - 16).saturating_sub(out_off));
                    (Loc::At(base), Loc::At(out_off), state_len, out_len)
                } else {
                    let (a, b) = (loc(&mut r, 4, 4), loc(&mut r, 1, 1));
                    (a, b, length(&mut r, &[a], 4), length(&mut r, &[b], 1))
                };
                let lw = match r.u8() % 8 {
                    0 => Loc::Null,
                    1 => Loc::At(AREA - 16 + 1),
                    _ => Loc::At(AREA - 16),
                };
                let ptrs_ok = lsd.valid(state_len, 4) && lout.valid(out_len, 1);
                let apart = disjoint(&[
                    span(lsd, state_len, 4),
                    span(lout, out_len, 1),
                    span(lw, 1, 8),
                ]);
                let state_copy = (ptrs_ok && apart).then(|| mem.f32s(lsd.off(), state_len));
                // SAFETY: NULL or pointers into the area with room for the lengths given.
                let s = unsafe {
                    gradstep_optimizer_save(
                        the_opt,
                        mem.ptr(lsd),
                        state_len,
                        mem.ptr(lout),
                        out_len,
                        mem.ptr(lw),
                    )
                };
                // a bad `written` fails the call before anything else (the failure is checked
                // below, as for every failed call)
                let expected = match (state_copy, twin_ok && !opt_null && lw.valid(1, 8)) {
                    (Some(sc), true) => {
                        let mut out = vec![0u8; out_len];
                        match twin!(&twin, |o| o.save(&sc, &mut out)).unwrap() {
                            Ok(n) => {
                                if s == Status::Ok {
                                    assert_eq!(
                                        mem.read::<usize>(lw.off()),
                                        n,
                                        "save: bytes written"
                                    );
                                    // the same header and learning rates, the same state (NaN by
                                    // NaN-ness: a NaN's payload may differ between alignments)
                                    let c = &mem.bytes()[lout.off()..lout.off() + n];
                                    let head = 24 + 4 * n_g_given;
                                    assert_eq!(
                                        c[..head],
                                        out[..head],
                                        "save: C and Rust headers differ"
                                    );
                                    let floats = |b: &[u8]| -> Vec<f32> {
                                        b[head..n - 4]
                                            .chunks_exact(4)
                                            .map(|x| f32::from_le_bytes(x.try_into().unwrap()))
                                            .collect()
                                    };
                                    assert_same(
                                        "saved state, C against Rust",
                                        &floats(c),
                                        &floats(&out),
                                    );
                                    saved = out[..n].to_vec();
                                }
                                Some(Status::Ok)
                            }
                            Err(e) => Some(e.into()),
                        }
                    }
                    _ => None,
                };
                (s, expected)
            }
            14 => {
                // restore: the last saved bytes (maybe damaged), or whatever is in the buffers
                let lb = loc(&mut r, 1, 1);
                let mut blen = length(&mut r, &[lb], 1);
                if let (Loc::At(o), false, true) = (lb, saved.is_empty(), r.u8() % 4 != 0) {
                    let n = saved.len().min(AREA - o);
                    mem.bytes_mut()[o..o + n].copy_from_slice(&saved[..n]);
                    blen = n;
                    if r.u8() % 4 == 0 && n > 0 {
                        let i = r.u16() as usize % n;
                        mem.bytes_mut()[o + i] ^= r.u8().max(1);
                    }
                }
                let (lsd, state_len) = if r.u8() % 2 == 0 {
                    // just after the bytes, or at the start
                    let o = match lb {
                        Loc::At(b)
                            if (b + blen).div_ceil(4) * 4 + 4 * opt_len.min(AREA) <= AREA =>
                        {
                            (b + blen).div_ceil(4) * 4
                        }
                        _ => 0,
                    };
                    (Loc::At(o), opt_len.min((AREA - o) / 4))
                } else {
                    let a = loc(&mut r, 4, 4);
                    (a, length(&mut r, &[a], 4))
                };
                // what the call sees (and must leave as it is if it fails)
                mem_before = mem.bytes().to_vec();
                let ptrs_ok = lsd.valid(state_len, 4)
                    && lb.valid(blen, 1)
                    && disjoint(&[span(lsd, state_len, 4), span(lb, blen, 1)]);
                let copies = ptrs_ok.then(|| {
                    let b = if blen == 0 {
                        Vec::new()
                    } else {
                        mem.bytes()[lb.off()..lb.off() + blen].to_vec()
                    };
                    (b, mem.f32s(lsd.off(), state_len))
                });
                // SAFETY: NULL or pointers into the area with room for the lengths given.
                let s = unsafe {
                    gradstep_optimizer_restore(the_opt, mem.ptr(lb), blen, mem.ptr(lsd), state_len)
                };
                let expected = match (copies, twin_ok && !opt_null) {
                    (Some((b, mut sc)), true) => {
                        let e = twin!(&mut twin, |o| o.restore(&b, &mut sc)).unwrap();
                        if s == Status::Ok && e.is_ok() {
                            assert_same("restored state", &mem.f32s(lsd.off(), state_len), &sc);
                        }
                        Some(st(e))
                    }
                    _ => None,
                };
                (s, expected)
            }
            _ => {
                // status messages and paths never fail
                let code = r.u32() as i32;
                // SAFETY: a static NUL-terminated string.
                let msg = unsafe { std::ffi::CStr::from_ptr(gradstep_status_message(code)) };
                assert!(!msg.to_bytes().is_empty());
                let p = r.u32() % 8;
                // SAFETY: as above.
                let name = unsafe { std::ffi::CStr::from_ptr(gradstep_path_name(p)) };
                assert!(!name.to_bytes().is_empty());
                assert_eq!(
                    gradstep_path_available(p) != 0,
                    path_of(p).is_some_and(Path::is_available)
                );
                (Status::Ok, Some(Status::Ok))
            }
        };
        // optimizer calls on NULL or on an optimizer that init refused
        let expected = match kind {
            7..=14 if opt_null => Some(Status::NullPointer),
            7..=14 if !twin_ok => Some(Status::Uninitialized),
            _ => expected,
        };
        if trace() {
            eprintln!("op {kind} (sub {sub}): {status:?}, Rust API: {expected:?}");
        }

        // ----- properties of every call
        if let Some(e) = expected {
            assert_eq!(status, e, "op {kind}: the C API and the Rust API disagree");
        }
        if status != Status::Ok {
            assert!(
                mem.bytes() == &mem_before[..],
                "op {kind}: a call that failed ({status:?}) changed the buffers: {}",
                first_difference(mem.bytes(), &mem_before)
            );
            assert_eq!(
                opt_state(&opt_box, &groups),
                opt_before,
                "op {kind}: a call that failed ({status:?}) changed the optimizer or its groups"
            );
        }
        if twin_ok {
            let mut k = 0u32;
            // SAFETY: the initialized optimizer and an out-parameter on the stack.
            assert_eq!(
                unsafe { gradstep_optimizer_global_step(&mut *opt_box, &mut k) },
                Status::Ok
            );
            assert_eq!(
                Some(k),
                twin!(&twin, |o| o.global_step()),
                "the step counters differ"
            );
        }
    }
    drop(twin);
});

/// The twin's token for the C API's token `k`: the last one its `begin_step` gave, if that is
/// step `k`. Only `begin_step` plans a step, so any other `k` is refused as stale by both APIs.
fn token_of(last: Option<StepToken>, k: u32) -> Option<StepToken> {
    last.filter(|t| t.step() == k)
}

/// A token: mostly the step in progress, sometimes a neighbour or anything.
fn token_value(r: &mut Reader, step: Option<u32>) -> u32 {
    let k = step.unwrap_or(0);
    match r.u8() % 8 {
        0 => r.u32(),
        1 => k.wrapping_add(1),
        2 => k.wrapping_sub(1),
        _ => k,
    }
}

fn first_difference(a: &[u8], b: &[u8]) -> String {
    match a.iter().zip(b).position(|(x, y)| x != y) {
        Some(i) => format!("byte {i}: {:#04x} -> {:#04x}", b[i], a[i]),
        None => "none".into(),
    }
}

/// Three float buffers and their length: back to back at a small offset (`want` values, or one
/// more or less), or three arbitrary pointers.
fn three(r: &mut Reader, want: Option<usize>) -> (Loc, Loc, Loc, usize) {
    if r.u8() % 4 != 0 {
        let mut len = want.unwrap_or_else(|| r.u16() as usize % 300).min(300);
        match r.u8() {
            255 => len += 1,
            254 => len = len.saturating_sub(1),
            _ => {}
        }
        let base = 4 * (r.u8() as usize % 16);
        let len = len.min((AREA - base) / 12);
        (
            Loc::At(base),
            Loc::At(base + 4 * len),
            Loc::At(base + 8 * len),
            len,
        )
    } else {
        let (a, b, c) = (loc(r, 4, 4), loc(r, 4, 4), loc(r, 4, 4));
        (a, b, c, length(r, &[a, b, c], 4))
    }
}

/// `gradstep_kernel_momentum` or `gradstep_kernel_sgd`, against the reference.
fn kernel_call(r: &mut Reader, mem: &mut Area, momentum_kernel: bool) -> (Status, Option<Status>) {
    let (lp, lg, ls, len) = three(r, None);
    let rows = match r.u8() % 4 {
        0 | 1 => 0,
        2 => 1 + r.u8() as usize % 8,
        _ => r.u64() as usize,
    };
    let (lr, momentum, damp, nest, first, wd, scale, path) = (
        r.f32_param(),
        r.f64_param(),
        r.f64_param(),
        flag(r),
        flag(r),
        r.f64_param(),
        r.f64_param(),
        path_id(r),
    );
    let valid = lp.valid(len, 4)
        && lg.valid(len, 4)
        && ls.valid(len, 4)
        && disjoint(&[span(lp, len, 4), span(lg, len, 4), span(ls, len, 4)]);
    let inputs = valid.then(|| {
        (
            mem.f32s(lp.off(), len),
            mem.f32s(lg.off(), len),
            mem.f32s(ls.off(), len),
        )
    });
    let (pp, gp, sp) = (mem.ptr::<f32>(lp), mem.ptr::<f32>(lg), mem.ptr::<f32>(ls));
    // SAFETY: NULL, or pointers into the area with room for `len` values.
    let s = unsafe {
        if momentum_kernel {
            gradstep_kernel_momentum(pp, gp, sp, len, rows, lr, momentum, nest, wd, scale, path)
        } else {
            gradstep_kernel_sgd(
                pp, gp, sp, len, rows, lr, momentum, damp, nest, first, wd, scale, path,
            )
        }
    };
    let Some((mut w, g, mut m)) = inputs else {
        return (s, None);
    };
    // the same call through the Rust API, in the C API's order of checks
    let c = (rows > 0).then_some(rows);
    let rust = (|| {
        let p = path_of(path).ok_or(Status::InvalidArgument)?;
        let prep = GradPrep::new(wd, scale)?;
        if momentum_kernel {
            let step = MomentumStep::new(lr, momentum, nest != 0, prep)?;
            reference::momentum(&mut w, &g, &mut m, c, &step)?;
        } else {
            let step = SgdStep::new(lr, momentum, damp, nest != 0, prep)?.first_step(first != 0);
            reference::sgd(&mut w, &g, &mut m, c, &step)?;
        }
        if !p.is_available() {
            return Err(Status::PathUnavailable);
        }
        Ok::<(), Status>(())
    })();
    if s == Status::Ok && rust.is_ok() {
        assert_same("kernel params", &mem.f32s(lp.off(), len), &w);
        assert_same("kernel state", &mem.f32s(ls.off(), len), &m);
        assert_same("kernel grads", &mem.f32s(lg.off(), len), &g);
    }
    (s, Some(rust.err().unwrap_or(Status::Ok)))
}

/// The seven table fillers and the piecewise length, against `lr::dynamic`.
fn table_call(r: &mut Reader, mem: &mut Area, inp: &mut Area) -> (Status, Option<Status>) {
    let lo = loc(r, 4, 4);
    let total = match r.u8() % 16 {
        0 => 0,
        1 => r.u32(),
        _ => r.u16() as u32 % 300,
    };
    let out_len = match r.u8() % 8 {
        0 => length(r, &[lo], 4),
        _ => (total as usize).min(lo.room(4)),
    };
    let out = mem.ptr::<f32>(lo);
    let (per, decay) = (r.count(), r.count());
    // the Rust table, when `out` could be handed to the Rust API
    let mut want = vec![0.0f32; out_len.min(AREA)];
    let out_ok = lo.valid(out_len, 4);
    // SAFETY (every call): `out` is NULL or has room for `out_len` values; the milestone and rate
    // arrays are in the input area with room for what is given.
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
                // piecewise: milestones and rates in the input area's scratch
                let n = r.u8() as usize % 6;
                let mut ms: Vec<u32> = (0..n)
                    .map(|_| r.u8() as u32 * 3 + (r.u8() % 4 == 0) as u32)
                    .collect();
                if r.u8() % 4 != 0 {
                    ms.sort_unstable();
                }
                let lrs: Vec<f64> = (0..n).map(|_| r.f64_param()).collect();
                for (i, m) in ms.iter().enumerate() {
                    inp.write(SCRATCH + 4 * i, *m);
                }
                for (i, l) in lrs.iter().enumerate() {
                    inp.write(SCRATCH + 256 + 8 * i, *l);
                }
                let n_l = if r.u8() % 8 == 0 {
                    n.saturating_sub(1)
                } else {
                    n
                };
                let at = |o: usize| inp.ptr::<u8>(Loc::At(SCRATCH + o));
                let (mp, lp) = match r.u8() % 8 {
                    0 => (null(), at(256) as *const f64),
                    1 => (at(2) as *const u32, at(256) as *const f64),
                    2 => (at(0) as *const u32, at(260) as *const f64),
                    _ => (at(0) as *const u32, at(256) as *const f64),
                };
                let arrays_ok =
                    (n == 0 || (!mp.is_null() && mp.is_aligned())) && (n_l == 0 || lp.is_aligned());
                if k == 6 {
                    // the length query, into an out-parameter in the call buffers
                    let lo2 = loc(r, 8, 8);
                    let s = gradstep_piecewise_constant_len(mp, n, lp, n_l, mem.ptr::<usize>(lo2));
                    if s == Status::Ok {
                        assert!(
                            arrays_ok && lo2.valid(1, 8),
                            "piecewise_constant_len accepted a bad pointer"
                        );
                        let want = dynamic::piecewise_constant_len(&ms, &lrs[..n_l])
                            .expect("a length Rust refuses");
                        assert_eq!(mem.read::<usize>(lo2.off()), want);
                    }
                    let rust = dynamic::piecewise_constant_len(&ms, &lrs[..n_l]);
                    let expected = match rust {
                        Err(e) if arrays_ok => Some(Status::from(e)),
                        Ok(_) if arrays_ok && lo2.valid(1, 8) => Some(Status::Ok),
                        _ => None,
                    };
                    return (s, expected);
                }
                let s = gradstep_piecewise_constant_lr(mp, n, lp, n_l, out, out_len);
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
        let got = mem.f32s(lo.off(), out_len);
        assert!(
            got.iter().all(|v| v.is_finite() && *v >= 0.0),
            "a filled table holds {got:?}"
        );
        if rust == Some(Ok(())) {
            assert_same("table", &got, &want);
        }
    }
    (s, rust.map(st))
}

/// `gradstep_sequence_lr` over schedules copied into the input area's scratch.
fn sequence_call(
    r: &mut Reader,
    mem: &mut Area,
    inp: &mut Area,
    schedules: &[Option<Schedule>],
) -> (Status, Option<Status>) {
    let n = r.u8() as usize % 5;
    let mut rust: Vec<Schedule> = Vec::new();
    let mut all_known = true;
    for i in 0..n {
        let j = r.u8() as usize;
        let c: CSchedule = if j % 8 == 7 {
            all_known = false;
            inp.read(GARBAGE)
        } else {
            let j = j % N_SCHEDS;
            match schedules[j] {
                Some(s) => rust.push(s),
                None => all_known = false,
            }
            inp.read(SCHEDS + 32 * j)
        };
        inp.write(SCRATCH + 32 * i, c);
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
        inp.write(SCRATCH + 512 + 4 * i, *b);
    }
    let sp = if r.u8() % 16 == 0 {
        null()
    } else {
        inp.ptr::<CSchedule>(Loc::At(SCRATCH)) as *const CSchedule
    };
    let bp = inp.ptr::<u32>(Loc::At(SCRATCH + 512)) as *const u32;
    let lo = loc(r, 4, 4);
    let k = r.step();
    // SAFETY: arrays in the input area with room for what is given; `out` NULL or with room
    // for one value.
    let s = unsafe { gradstep_sequence_lr(sp, n, bp, nb, k, mem.ptr::<f32>(lo)) };
    if s == Status::Ok {
        assert!(
            lo.valid(1, 4) && (n == 0 || !sp.is_null()),
            "sequence_lr accepted a bad pointer"
        );
        let v: f32 = mem.read(lo.off());
        assert!(v.is_finite() && v >= 0.0, "sequence_lr gave {v:e}");
    }
    let comparable = all_known && (n == 0 || !sp.is_null());
    let want = Sequence::new(&rust, &boundaries).and_then(|q| Lr::Schedule(&q).at(k));
    if s == Status::Ok && comparable {
        let w = want.expect("a learning rate the Rust sequence refuses");
        assert_eq!(
            mem.read::<f32>(lo.off()).to_bits(),
            w.to_bits(),
            "sequence_lr at {k}"
        );
    }
    let expected = match want {
        _ if !comparable => None,
        Err(e) => Some(e.into()),
        Ok(_) => lo.valid(1, 4).then_some(Status::Ok),
    };
    (s, expected)
}
