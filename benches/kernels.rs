//! Elements per second of the fused kernels beside two baselines written here:
//! * `plain_loop`: the scalar loop a user would write for the same update (the compiler
//!   vectorizes it for the build's baseline instruction set, SSE2 on a default x86_64 build);
//! * `floor`: the bandwidth floor, reading the same three streams and writing the same two with
//!   one add each, compiled for the same instruction set as the kernel's selected path.
//!
//! Each (gradstep, plain loop, floor) triple is measured in `ROUNDS` short rounds back to back:
//! this machine's memory bandwidth drifts over seconds, so the ratio of neighbouring
//! measurements is steadier than the ratio of blocks taken minutes apart.
//! `tools/bench_table.py` turns the results into the ratio table of the README (the median of
//! the per-round ratios). Adam's kernels, with their own baselines, are in `kernels/adam.rs`.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use gradstep::hyper::{GradPrep, MomentumStep, SgdStep};
use gradstep::kernel::{self, Backend};
use std::hint::black_box;
use std::time::Duration;

/// L1, L2, L3 and DRAM sizes on the development machine (20 bytes move per element).
pub const SIZES: [usize; 4] = [4 << 10, 64 << 10, 1 << 20, 16 << 20];

const LR: f32 = 0.01;
const MU: f32 = 0.9;
const WD: f64 = 1e-4;
const SCALE: f64 = 128.0;
const DAMP: f32 = 0.1;
pub const ROUNDS: usize = 5;

struct Buffers {
    w: Vec<f32>,
    g: Vec<f32>,
    s: Vec<f32>,
}

impl Buffers {
    fn new(n: usize) -> Self {
        let (w, g, s) = values::buffers(n);
        Buffers { w, g, s }
    }
}

// ----- baselines: what a user would write ---------------------------------------------------

fn plain_momentum(w: &mut [f32], g: &[f32], m: &mut [f32]) {
    for ((w, &g), m) in w.iter_mut().zip(g).zip(m.iter_mut()) {
        *m = *m * MU + g;
        *w -= *m * LR;
    }
}

fn plain_momentum_wd_ls(w: &mut [f32], g: &[f32], m: &mut [f32]) {
    let (wd, rs) = ((WD * SCALE) as f32, (1.0 / SCALE) as f32);
    for ((w, &g), m) in w.iter_mut().zip(g).zip(m.iter_mut()) {
        let g = (*w * wd + g) * rs;
        *m = *m * MU + g;
        *w -= *m * LR;
    }
}

fn plain_nesterov(w: &mut [f32], g: &[f32], m: &mut [f32]) {
    for ((w, &g), m) in w.iter_mut().zip(g).zip(m.iter_mut()) {
        *m = *m * MU + g;
        *w -= g * LR + *m * MU * LR;
    }
}

fn plain_sgd(w: &mut [f32], g: &[f32], a: &mut [f32]) {
    for ((w, &g), a) in w.iter_mut().zip(g).zip(a.iter_mut()) {
        *a = *a * MU + (1.0 - DAMP) * g;
        *w -= LR * *a;
    }
}

#[path = "common/floor.rs"]
mod floor;
#[path = "common/values.rs"]
mod values;
use floor::{floor, floor_with};

// ----- the kernels under test ---------------------------------------------------------------

type Kernel = fn(Backend, &mut [f32], &[f32], &mut [f32]);

fn momentum(path: Backend, w: &mut [f32], g: &[f32], m: &mut [f32]) {
    let step = MomentumStep::new(LR, MU as f64, false, GradPrep::NONE).unwrap();
    kernel::momentum_on(path, w, g, m, None, &step).unwrap();
}

fn momentum_wd_ls(path: Backend, w: &mut [f32], g: &[f32], m: &mut [f32]) {
    let prep = GradPrep::new(WD, SCALE).unwrap();
    let step = MomentumStep::new(LR, MU as f64, false, prep).unwrap();
    kernel::momentum_on(path, w, g, m, None, &step).unwrap();
}

fn momentum_wd(path: Backend, w: &mut [f32], g: &[f32], m: &mut [f32]) {
    let prep = GradPrep::new(WD, 1.0).unwrap();
    let step = MomentumStep::new(LR, MU as f64, false, prep).unwrap();
    kernel::momentum_on(path, w, g, m, None, &step).unwrap();
}

fn momentum_ls(path: Backend, w: &mut [f32], g: &[f32], m: &mut [f32]) {
    let prep = GradPrep::new(0.0, SCALE).unwrap();
    let step = MomentumStep::new(LR, MU as f64, false, prep).unwrap();
    kernel::momentum_on(path, w, g, m, None, &step).unwrap();
}

fn nesterov(path: Backend, w: &mut [f32], g: &[f32], m: &mut [f32]) {
    let step = MomentumStep::new(LR, MU as f64, true, GradPrep::NONE).unwrap();
    kernel::momentum_on(path, w, g, m, None, &step).unwrap();
}

fn sgd(path: Backend, w: &mut [f32], g: &[f32], a: &mut [f32]) {
    let step = SgdStep::new(LR, MU as f64, DAMP as f64, false, GradPrep::NONE).unwrap();
    kernel::sgd_on(path, w, g, a, None, &step).unwrap();
}

type Plain = fn(&mut [f32], &[f32], &mut [f32]);

const KERNELS: [(&str, Kernel, Plain); 4] = [
    ("momentum", momentum, plain_momentum),
    ("momentum_wd_ls", momentum_wd_ls, plain_momentum_wd_ls),
    ("nesterov", nesterov, plain_nesterov),
    ("sgd", sgd, plain_sgd),
];

pub fn configure<'c>(
    c: &'c mut Criterion,
    name: &str,
    n: usize,
) -> criterion::BenchmarkGroup<'c, criterion::measurement::WallTime> {
    let mut group = c.benchmark_group(name);
    group.throughput(Throughput::Elements(n as u64));
    group.warm_up_time(Duration::from_millis(300));
    group.measurement_time(Duration::from_secs(1));
    if n >= 1 << 20 {
        group.sample_size(20);
    }
    group
}

fn kernels(c: &mut Criterion) {
    let path = Backend::selected();
    eprintln!(
        "selected path: {} ({})",
        path.name(),
        path.instruction_set()
    );
    for n in SIZES {
        let mut b = Buffers::new(n);
        for (name, kernel, plain) in KERNELS {
            let mut group = configure(c, name, n);
            for round in 0..ROUNDS {
                let id = |f: &str| BenchmarkId::new(f, format!("{n}-r{round}"));
                group.bench_function(id("gradstep"), |bench| {
                    bench.iter(|| kernel(path, &mut b.w, black_box(&b.g), &mut b.s))
                });
                group.bench_function(id("plain_loop"), |bench| {
                    bench.iter(|| plain(&mut b.w, black_box(&b.g), &mut b.s))
                });
                group.bench_function(id("floor"), |bench| {
                    bench.iter(|| floor(&mut b.w, black_box(&b.g), &mut b.s))
                });
            }
            group.finish();
        }
    }
}

/// What limits Momentum's variants in L1 (4 Ki elements, one call ≈ 150–300 ns): each beside the
/// bandwidth floor, in separate allocations (as a user's buffers lie) and "spread" in one
/// allocation, 1 KiB apart modulo 4 KiB; the floor also with 4 unfused multiplies per element, the
/// most a variant has (`m·μ`, `m·lr`, `w·F(wd·L)`, `g·F(1/L)`); and the cost of building the
/// step, which every call pays before its loop. Issue 13 found the last one behind weight decay
/// with loss scale at 0.7× the floor: `F(1/L)` by an integer division, 60 ns a call.
fn l1_limit(c: &mut Criterion) {
    const VARIANTS: [(&str, Kernel); 5] = [
        ("momentum", momentum),
        ("momentum_wd", momentum_wd),
        ("momentum_ls", momentum_ls),
        ("momentum_wd_ls", momentum_wd_ls),
        ("nesterov", nesterov),
    ];
    let n = SIZES[0];
    let mut b = Buffers::new(n);
    // the same values in one allocation, the three buffers 1 KiB apart modulo 4 KiB (separate
    // 16 KiB allocations lie 16 bytes apart modulo 4 KiB, where a load can wait for an unrelated
    // store to the same address bits: "4K aliasing")
    let mut spread = vec![0.0f32; 3 * (n + 256) + 16];
    let base = spread.as_ptr().align_offset(64);
    let (ws, rest) = spread[base..].split_at_mut(n + 256);
    let (gs, ss) = rest.split_at_mut(n + 256);
    let (ws, gs, ss) = (&mut ws[..n], &mut gs[..n], &mut ss[..n]);
    ws.copy_from_slice(&b.w);
    gs.copy_from_slice(&b.g);
    ss.copy_from_slice(&b.s);
    let mut layouts = [
        ("", &mut b.w[..], &b.g[..], &mut b.s[..]),
        ("_spread", ws, &*gs, ss),
    ];
    let path = Backend::selected();
    let mut group = configure(c, "l1_limit", n);
    for round in 0..ROUNDS {
        let id = |f: &str| BenchmarkId::new(f, format!("{n}-r{round}"));
        for (layout, w, g, s) in layouts.iter_mut() {
            for (name, kernel) in VARIANTS {
                group.bench_function(id(&format!("{name}{layout}")), |bench| {
                    bench.iter(|| kernel(path, w, black_box(g), s))
                });
            }
            group.bench_function(id(&format!("floor{layout}")), |bench| {
                bench.iter(|| floor(w, black_box(g), s))
            });
            group.bench_function(id(&format!("floor_4mul{layout}")), |bench| {
                bench.iter(|| floor_with::<4>(w, black_box(g), s))
            });
        }
    }
    group.finish();
    // what every kernel call above pays before its loop: the step's hyper-parameters, validated
    // and rounded (with weight decay and loss scale: `F(wd·L)` and `F(1/L)` in `f64`); one
    // "element" is one step built
    let mut group = configure(c, "l1_limit_setup", 1);
    group.bench_function("momentum_wd_ls_step", |bench| {
        bench.iter(|| {
            let prep = GradPrep::new(black_box(WD), black_box(SCALE)).unwrap();
            MomentumStep::new(black_box(LR), black_box(MU as f64), false, prep).unwrap()
        })
    });
    group.finish();
}

/// Every available path on plain momentum, for the README's per-path figures.
fn paths(c: &mut Criterion) {
    for n in SIZES {
        let mut b = Buffers::new(n);
        let mut group = configure(c, "paths", n);
        for path in Backend::ALL.into_iter().filter(|p| p.is_available()) {
            group.bench_function(BenchmarkId::new(path.name(), n), |bench| {
                bench.iter(|| momentum(path, &mut b.w, black_box(&b.g), &mut b.s))
            });
        }
        group.finish();
    }
}

#[path = "kernels/adam.rs"]
mod adam;

criterion_group!(
    benches,
    kernels,
    l1_limit,
    paths,
    adam::kernels,
    adam::paths
);
criterion_main!(benches);
