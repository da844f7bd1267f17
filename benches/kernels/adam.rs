//! Adam, AMSGrad and AdamWeightDecay beside their own baselines: the plain unfused loop a user
//! would write (`f32` throughout, `sqrt` from `std`), and the bandwidth floor of the same streams
//! (Adam and AdamWeightDecay read params, grads, m, v and write params, m, v: 28 bytes per
//! element; AMSGrad also reads and writes v̂: 36). The kernels run on the selected backend in the
//! rounds of `kernels`; `adam_paths` runs each on every available backend, the software fused
//! multiply-add (`wide`'s SSE2 backend on x86_64) included.

use std::hint::black_box;
use std::num::NonZeroU32;

use criterion::{BenchmarkId, Criterion};
use gradstep::hyper::{AdamStep, AdamWStep, Betas, GradPrep};
use gradstep::kernel::{self, Backend};

use super::values::Values;
use super::{ROUNDS, SIZES, configure};

const LR: f32 = 1e-3;
const B1: f32 = 0.9;
const B2: f32 = 0.999;
const EPS: f32 = 1e-8;
const WD: f32 = 0.01;
/// The beta powers of step 10.
const POWERS: (f32, f32) = (0.348_678_43, 0.990_044_9);

/// Params, grads, m, v and v̂.
pub struct Streams {
    w: Vec<f32>,
    g: Vec<f32>,
    m: Vec<f32>,
    v: Vec<f32>,
    vh: Vec<f32>,
}

impl Streams {
    fn new(n: usize) -> Self {
        let mut v = Values::new();
        Streams {
            w: v.take(n, |x| x - 0.5),
            g: v.take(n, |x| (x - 0.5) * 0.01),
            m: v.take(n, |x| (x - 0.5) * 0.001),
            v: v.take(n, |x| x * 1e-5),
            vh: v.take(n, |x| x * 1e-5),
        }
    }
}

// ----- baselines ----------------------------------------------------------------------------

fn lr_t() -> f32 {
    LR * (1.0 - POWERS.1).sqrt() / (1.0 - POWERS.0)
}

fn plain_adam(s: &mut Streams) {
    let lr_t = lr_t();
    let it =
        s.w.iter_mut()
            .zip(&s.g)
            .zip(s.m.iter_mut())
            .zip(s.v.iter_mut());
    for (((w, &g), m), v) in it {
        *m = B1 * *m + (1.0 - B1) * g;
        *v = B2 * *v + (1.0 - B2) * g * g;
        *w -= lr_t * *m / (v.sqrt() + EPS);
    }
}

fn plain_amsgrad(s: &mut Streams) {
    let lr_t = lr_t();
    let it =
        s.w.iter_mut()
            .zip(&s.g)
            .zip(s.m.iter_mut())
            .zip(s.v.iter_mut());
    for ((((w, &g), m), v), vh) in it.zip(s.vh.iter_mut()) {
        *m = B1 * *m + (1.0 - B1) * g;
        *v = B2 * *v + (1.0 - B2) * g * g;
        *vh = vh.max(*v);
        *w -= lr_t * *m / (vh.sqrt() + EPS);
    }
}

fn plain_adamw(s: &mut Streams) {
    let it =
        s.w.iter_mut()
            .zip(&s.g)
            .zip(s.m.iter_mut())
            .zip(s.v.iter_mut());
    for (((w, &g), m), v) in it {
        *m = B1 * *m + (1.0 - B1) * g;
        *v = B2 * *v + (1.0 - B2) * g * g;
        *w -= LR * (*m / (v.sqrt() + EPS) + WD * *w);
    }
}

/// One add per written stream, in one pass over the streams a kernel moves (`vhat`: AMSGrad's
/// fifth). The first elements run alone until `w` sits on a cache line, as gradstep's head does.
fn floor_body(s: &mut Streams, vhat: bool) {
    let head = s.w.as_ptr().align_offset(64).min(s.w.len());
    for range in [0..head, head..s.w.len()] {
        let (w, g) = (&mut s.w[range.clone()], &s.g[range.clone()]);
        let (m, v) = (&mut s.m[range.clone()], &mut s.v[range.clone()]);
        let wgmv = w.iter_mut().zip(g).zip(m.iter_mut()).zip(v.iter_mut());
        if vhat {
            for ((((w, &g), m), v), vh) in wgmv.zip(s.vh[range].iter_mut()) {
                (*w, *m, *v, *vh) = (*w + g, *m + g, *v + g, *vh + g);
            }
        } else {
            for (((w, &g), m), v) in wgmv {
                (*w, *m, *v) = (*w + g, *m + g, *v + g);
            }
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn floor_avx2(s: &mut Streams, vhat: bool) {
    floor_body(s, vhat)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
fn floor_avx512(s: &mut Streams, vhat: bool) {
    floor_body(s, vhat)
}

fn floor(s: &mut Streams, vhat: bool) {
    match Backend::selected() {
        // SAFETY: the selected path is available, so the CPU has the feature.
        #[cfg(target_arch = "x86_64")]
        Backend::Avx512 => unsafe { floor_avx512(s, vhat) },
        // SAFETY: as above.
        #[cfg(target_arch = "x86_64")]
        Backend::Avx2 => unsafe { floor_avx2(s, vhat) },
        _ => floor_body(s, vhat),
    }
}

// ----- the kernels under test ---------------------------------------------------------------

fn adam_step(amsgrad: bool) -> AdamStep {
    let betas = Betas::new(B1 as f64, B2 as f64, EPS as f64).unwrap();
    AdamStep::new(LR, betas, false, amsgrad, GradPrep::NONE)
        .unwrap()
        .with_powers(POWERS.0, POWERS.1)
        .unwrap()
        .with_threads(NonZeroU32::MIN)
}

fn adam(path: Backend, s: &mut Streams) {
    let step = adam_step(false);
    kernel::adam_on(
        path,
        &mut s.w,
        black_box(&s.g),
        &mut s.m,
        &mut s.v,
        &mut [],
        None,
        &step,
    )
    .unwrap();
}

fn amsgrad(path: Backend, s: &mut Streams) {
    let step = adam_step(true);
    let vh = &mut s.vh;
    kernel::adam_on(
        path,
        &mut s.w,
        black_box(&s.g),
        &mut s.m,
        &mut s.v,
        vh,
        None,
        &step,
    )
    .unwrap();
}

fn adamw(path: Backend, s: &mut Streams) {
    let betas = Betas::new(B1 as f64, B2 as f64, 1e-6).unwrap();
    let step = AdamWStep::new(LR, betas, WD as f64).unwrap();
    kernel::adamw_on(
        path,
        &mut s.w,
        black_box(&s.g),
        &mut s.m,
        &mut s.v,
        None,
        &step,
    )
    .unwrap();
}

type Kernel = fn(Backend, &mut Streams);
type Plain = fn(&mut Streams);

/// (name, kernel, plain loop, whether it moves v̂)
pub const KERNELS: [(&str, Kernel, Plain, bool); 3] = [
    ("adam", adam, plain_adam, false),
    ("amsgrad", amsgrad, plain_amsgrad, true),
    ("adamw", adamw, plain_adamw, false),
];

/// The rounds of (gradstep, plain loop, floor) on the selected backend.
pub fn kernels(c: &mut Criterion) {
    let path = Backend::selected();
    for n in SIZES {
        let mut s = Streams::new(n);
        for (name, kernel, plain, vhat) in KERNELS {
            let mut group = configure(c, name, n);
            for round in 0..ROUNDS {
                let id = |f: &str| BenchmarkId::new(f, format!("{n}-r{round}"));
                group.bench_function(id("gradstep"), |b| b.iter(|| kernel(path, &mut s)));
                group.bench_function(id("plain_loop"), |b| b.iter(|| plain(&mut s)));
                group.bench_function(id("floor"), |b| b.iter(|| floor(&mut s, vhat)));
            }
            group.finish();
        }
    }
}

/// Each kernel on every available backend: AVX-512 and AVX2 with the FMA instruction, `wide`
/// (SSE2 on x86_64: the software fused multiply-add), the scalar one.
pub fn paths(c: &mut Criterion) {
    for n in SIZES {
        let mut s = Streams::new(n);
        for (name, kernel, _, _) in KERNELS {
            let mut group = configure(c, &format!("{name}_paths"), n);
            for path in Backend::ALL.into_iter().filter(|p| p.is_available()) {
                group.bench_function(BenchmarkId::new(path.name(), n), |b| {
                    b.iter(|| kernel(path, &mut s))
                });
            }
            group.finish();
        }
    }
}
