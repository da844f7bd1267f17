//! The parallel step (feature `parallel`) beside the serial step and a multi-threaded bandwidth
//! floor: Momentum 0.9 with weight decay 1e-4 (20 bytes per element), over one tensor of 64 Ki,
//! 1 Mi and 16 Mi elements and ResNet-50's 161 tensors (25.6 M values), on rayon pools of 1, 2
//! and all cores.
//!
//! * `serial`: `Optimizer::step` on the calling thread;
//! * `parallel`: `Optimizer::step_parallel` on a thread of the pool (the measurement runs inside
//!   `pool.install`, as a training loop would; a step below the threshold runs on that thread);
//! * `outside` (all cores only): `step_parallel` called from criterion's thread, outside every
//!   pool, on rayon's global pool: a sharded step first crosses to the pool's threads;
//! * `forced`, `forced_outside`: the plan's shards on the pool's threads whatever the size
//!   (`shards` and `step_part` under `rayon::join`), from a thread of the pool and from outside:
//!   where the thresholds `MIN_SHARD_ELEMENTS` and `MIN_SHARD_ELEMENTS_FROM_OUTSIDE` come from;
//! * `floor`: the bandwidth floor of the same streams (`common/floor.rs`), the same plan's element
//!   ranges on the same threads.
//!
//! Measured in rounds like `benches/kernels.rs`; `tools/bench_table.py` prints the ratios.

use std::hint::black_box;
use std::num::NonZeroUsize;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use gradstep::{Group, Lr, Momentum, MomentumSettings, Optimizer, Part, Rule, Tensor};
use rayon::ThreadPool;

#[path = "common/floor.rs"]
mod floor;
#[path = "common/models.rs"]
mod models;
#[path = "common/values.rs"]
mod values;
use values::buffers;

const ROUNDS: usize = 4;

/// Updates the shards of `part` on two halves of the pool, recursively (what `step_parallel`
/// does, without its threshold).
fn shards_on_pool<'b, R, G>(
    opt: &Optimizer<'static, R, G>,
    token: &gradstep::StepToken,
    mut parts: impl Iterator<Item = Part<'b>> + Send,
    n: usize,
) where
    R: Rule + Sync,
    G: AsRef<[Group<'static>]> + AsMut<[Group<'static>]> + Sync,
{
    if n == 1 {
        if let Some(p) = parts.next() {
            opt.step_part(token, p).unwrap();
        }
        return;
    }
    let first: Vec<Part<'b>> = parts.by_ref().take(n / 2).collect();
    rayon::join(
        || shards_on_pool(opt, token, first.into_iter(), n / 2),
        || shards_on_pool(opt, token, parts, n - n / 2),
    );
}

/// The floor over the plan's element ranges, one per thread, recursively halved.
fn floor_on_pool(w: &mut [f32], g: &[f32], s: &mut [f32], cuts: &[usize], offset: usize) {
    if cuts.len() <= 2 {
        return floor::floor(w, g, s);
    }
    let mid = cuts.len() / 2;
    let at = cuts[mid] - offset;
    let (wa, wb) = w.split_at_mut(at);
    let (ga, gb) = g.split_at(at);
    let (sa, sb) = s.split_at_mut(at);
    rayon::join(
        || floor_on_pool(wa, ga, sa, &cuts[..=mid], offset),
        || floor_on_pool(wb, gb, sb, &cuts[mid..], cuts[mid]),
    );
}

fn layout(c: &mut Criterion, name: &str, tensors: &'static [Tensor]) {
    let n: usize = tensors.iter().map(|t| t.len).sum();
    let groups = [Group::new(Lr::new_static(0.01).unwrap(), 1e-4, false).unwrap(); 4];
    let used = tensors.iter().map(|t| t.group + 1).max().unwrap_or(1);
    let groups: &'static mut [Group<'static>] = Vec::leak(groups[..used].to_vec());
    let mut opt = Momentum::new(tensors, groups, MomentumSettings::new(0.9)).unwrap();
    let (mut w, g, mut s) = buffers(n);
    let cores = std::thread::available_parallelism().map_or(1, |c| c.get());
    let mut threads = vec![1, 2, cores];
    threads.dedup();

    let mut group = c.benchmark_group(name);
    group.throughput(Throughput::Elements(n as u64));
    group.warm_up_time(Duration::from_millis(300));
    group.measurement_time(Duration::from_secs(1));
    if n >= 1 << 20 {
        group.sample_size(10);
    }
    for round in 0..ROUNDS {
        group.bench_function(BenchmarkId::new("serial", format!("{n}-r{round}")), |b| {
            b.iter(|| opt.step(&mut w, black_box(&g), &mut s).unwrap())
        });
        for &t in &threads {
            // the whole measurement runs on a thread of the pool, as a training loop inside
            // `pool.install` does: no hand-over from an outside thread at each step
            let pool: ThreadPool = rayon::ThreadPoolBuilder::new()
                .num_threads(t)
                .build()
                .unwrap();
            let shards = NonZeroUsize::new(t).unwrap();
            let id = |f: &str| BenchmarkId::new(format!("{f}-t{t}"), format!("{n}-r{round}"));
            let mut cuts: Vec<usize> = opt.plan(shards).map(|r| r.start).collect();
            cuts.push(n);
            // `iters` steps in one `install`: the hand-over to the pool is paid once per sample
            let on_pool = |iters: u64, f: &mut (dyn FnMut() + Send)| {
                pool.install(|| {
                    let start = Instant::now();
                    for _ in 0..iters {
                        f();
                    }
                    start.elapsed()
                })
            };
            group.bench_function(id("parallel"), |b| {
                b.iter_custom(|iters| {
                    on_pool(iters, &mut || {
                        opt.step_parallel(&mut w, black_box(&g), &mut s).unwrap()
                    })
                })
            });
            if t == cores {
                // from criterion's thread, outside every pool: the global pool (`cores` threads)
                group.bench_function(id("outside"), |b| {
                    b.iter(|| opt.step_parallel(&mut w, black_box(&g), &mut s).unwrap())
                });
                group.bench_function(id("forced_outside"), |b| {
                    b.iter(|| {
                        let token = opt.begin_step().unwrap();
                        let whole = opt.part(0..tensors.len(), &mut w, black_box(&g), &mut s);
                        shards_on_pool(&opt, &token, opt.shards(whole.unwrap(), shards), t);
                        opt.end_step(token).unwrap();
                    })
                });
            }
            group.bench_function(id("forced"), |b| {
                b.iter_custom(|iters| {
                    on_pool(iters, &mut || {
                        let token = opt.begin_step().unwrap();
                        let whole = opt.part(0..tensors.len(), &mut w, black_box(&g), &mut s);
                        shards_on_pool(&opt, &token, opt.shards(whole.unwrap(), shards), t);
                        opt.end_step(token).unwrap();
                    })
                })
            });
            group.bench_function(id("floor"), |b| {
                b.iter_custom(|iters| {
                    on_pool(iters, &mut || {
                        floor_on_pool(&mut w, black_box(&g), &mut s, &cuts, 0)
                    })
                })
            });
        }
    }
    group.finish();
}

fn parallel(c: &mut Criterion) {
    for n in [
        16 << 10,
        32 << 10,
        64 << 10,
        128 << 10,
        256 << 10,
        512 << 10,
        1 << 20,
        16 << 20,
    ] {
        let tensors: &'static [Tensor] = Vec::leak(vec![Tensor::vector(n, 0)]);
        layout(c, &format!("momentum_wd_{}k", n >> 10), tensors);
    }
    layout(c, "resnet50", Vec::leak(models::resnet50()));
}

criterion_group!(benches, parallel);
criterion_main!(benches);
