//! A whole-model optimizer step against one fused kernel pass over the same bytes: the
//! per-tensor and per-group overhead of the optimizer must not show.
//!
//! * `resnet50`: ResNet-50's 161 parameter tensors (25 557 032 values) in four groups — conv
//!   weights on a cosine schedule with weight decay, batch-norm scales and shifts, the classifier
//!   weight, the classifier bias;
//! * `mcu100k`: a 101 722-value model of 20 tensors, the size of a microcontroller fine-tune.
//!
//! The baseline is `kernel::momentum` once over the whole flat buffer, with weight decay on
//! every element (at least the optimizer's work). Measured in rounds like `benches/kernels.rs`;
//! `tools/bench_table.py` prints the ratios.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use gradstep::Lr;
use gradstep::hyper::{GradPrep, MomentumStep};
use gradstep::kernel;
use gradstep::lr::schedule::CosineDecayLr;
use gradstep::{Group, Tensor};
use gradstep::{Momentum, MomentumSettings};
use std::hint::black_box;
use std::time::Duration;

const ROUNDS: usize = 5;

#[path = "common/values.rs"]
mod values;
use values::buffers;
#[path = "common/models.rs"]
mod models;
use models::resnet50;

/// Five dense layers with normalization, and a small head: 20 tensors, 101 722 values. Groups:
/// weights (decayed), normalization scales and shifts, biases, the head.
fn mcu100k() -> Vec<Tensor> {
    let mut t = vec![];
    for (out, inp) in [(96, 784), (96, 96), (96, 96), (64, 96)] {
        t.extend([
            Tensor::matrix(out, inp, 0),
            Tensor::vector(out, 2),
            Tensor::vector(out, 1),
            Tensor::vector(out, 1),
        ]);
    }
    t.extend([
        Tensor::matrix(10, 64, 3),
        Tensor::vector(10, 3),
        Tensor::matrix(16, 10, 3),
        Tensor::vector(16, 3),
    ]);
    assert_eq!(t.len(), 20);
    assert_eq!(t.iter().map(|t| t.len).sum::<usize>(), 101_722);
    t
}

fn model(c: &mut Criterion, name: &str, tensors: &[Tensor]) {
    let n: usize = tensors.iter().map(|t| t.len).sum();
    let schedule = CosineDecayLr::new(1e-4, 0.1, 1_000_000).unwrap();
    let groups = [
        Group::new(Lr::Schedule(&schedule), 1e-4, false).unwrap(),
        Group::new(Lr::new_static(0.1).unwrap(), 0.0, false).unwrap(),
        Group::new(Lr::new_static(0.1).unwrap(), 1e-4, false).unwrap(),
        Group::new(Lr::new_static(0.1).unwrap(), 0.0, false).unwrap(),
    ];
    let mut opt = Momentum::new(tensors, groups, MomentumSettings::new(0.9)).unwrap();
    let pass = MomentumStep::new(0.1, 0.9, false, GradPrep::new(1e-4, 1.0).unwrap()).unwrap();
    let (mut w, g, mut s) = buffers(n);

    let mut group = c.benchmark_group(name);
    group.throughput(Throughput::Elements(n as u64));
    group.warm_up_time(Duration::from_millis(300));
    group.measurement_time(Duration::from_secs(1));
    if n >= 1 << 20 {
        group.sample_size(20);
    }
    for round in 0..ROUNDS {
        let id = |f: &str| BenchmarkId::new(f, format!("{n}-r{round}"));
        group.bench_function(id("optimizer"), |b| {
            // past its decay steps the cosine schedule stays at min_lr: every step is valid
            b.iter(|| opt.step(&mut w, black_box(&g), &mut s).unwrap())
        });
        group.bench_function(id("fused_pass"), |b| {
            b.iter(|| kernel::momentum(&mut w, black_box(&g), &mut s, None, &pass).unwrap())
        });
    }
    group.finish();
}

fn models(c: &mut Criterion) {
    model(c, "mcu100k", &mcu100k());
    model(c, "resnet50", &resnet50());
}

criterion_group!(benches, models);
criterion_main!(benches);
