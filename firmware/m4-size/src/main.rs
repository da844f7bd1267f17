//! A minimal Cortex-M4F firmware that measures what gradstep costs.
//!
//! With the `gradstep` feature it builds one optimizer — `Momentum`, or with `opt-adam` an `Adam`,
//! with `opt-adamw` an `AdamWeightDecay` — over five small tensors in three groups (a
//! learning-rate table with weight decay and gradient centralization, a fixed learning rate, one
//! `sched-*` schedule with weight decay) and takes a few steps. Without it, it does the
//! same surrounding work — the same buffers, gradients, stack painting, prints and exit — and no
//! step, so the size difference of the two builds is gradstep's share.
//!
//! It prints, through semihosting, the stack bytes of the deepest `step` (by painting the stack
//! below the stack pointer) and a checksum of the parameters and moments, then exits.

#![no_std]
#![no_main]

use core::hint::black_box;

use cortex_m_rt::entry;
use cortex_m_semihosting::{debug, hprintln};

#[cfg(all(
    feature = "gradstep",
    not(any(
        feature = "sched-warmup",
        feature = "sched-inverse",
        feature = "sched-cosine",
        feature = "sched-exponential",
        feature = "sched-natural",
        feature = "sched-polynomial"
    ))
))]
compile_error!("with `gradstep`, enable exactly one `sched-*` feature");

#[cfg(all(feature = "opt-adam", feature = "opt-adamw"))]
compile_error!("enable at most one `opt-*` feature");

/// The optimizer's state buffers: Momentum's moments; Adam's and AdamWeightDecay's m and v.
const BUFFERS: usize = if cfg!(any(feature = "opt-adam", feature = "opt-adamw")) {
    2
} else {
    1
};

/// The number of steps (hidden from the optimizer, so that the loop stays a loop).
const STEPS: u32 = 5;
/// The stack painted below the stack pointer before each step.
const PAINT_BYTES: usize = 8 * 1024;
const PAINT: u32 = 0xDEAD_BEEF;

/// The layout: 4×8 (centralized) + 4 in group 0, 2×6 in group 1, 6 + 3×4 in group 2.
const LEN: usize = 32 + 4 + 12 + 6 + 12;

/// Group 0's learning rates, one per step (user data: kept in both builds).
static TABLE: [f32; 16] = [
    0.10, 0.099, 0.098, 0.096, 0.094, 0.091, 0.088, 0.084, 0.080, 0.076, 0.071, 0.066, 0.060,
    0.054, 0.047, 0.040,
];

#[cfg(feature = "gradstep")]
mod opt {
    use gradstep::Tensor;
    use gradstep::lr::LrSchedule;
    #[allow(unused_imports)]
    use gradstep::lr::schedule::{
        CosineDecayLr, ExponentialDecayLr, InverseDecayLr, NaturalExpDecayLr, PolynomialDecayLr,
        WarmupLr,
    };

    pub static TENSORS: [Tensor; 5] = [
        Tensor::matrix(4, 8, 0), // a 4×8 weight: centralized
        Tensor::vector(4, 0),    // its bias
        Tensor::matrix(2, 6, 1), // a 2×6 weight at a fixed lr
        Tensor::vector(6, 2),    // a normalization scale on the schedule
        Tensor::matrix(3, 4, 2), // a 3×4 weight on the schedule (not centralized)
    ];

    /// A hyper-parameter: a literal as firmware writes it, or (`opaque-hyper`) hidden from the
    /// optimizer as if read from a configuration at run time.
    #[inline(always)]
    pub fn h<T>(x: T) -> T {
        if cfg!(feature = "opaque-hyper") {
            core::hint::black_box(x)
        } else {
            x
        }
    }

    /// The one schedule, chosen by a `sched-*` feature.
    pub fn schedule() -> Result<impl LrSchedule, gradstep::Error> {
        #[cfg(feature = "sched-warmup")]
        return WarmupLr::new(h(0.05), h(100));
        #[cfg(feature = "sched-inverse")]
        return InverseDecayLr::new(h(0.05), h(0.5), h(10), false);
        #[cfg(feature = "sched-cosine")]
        return CosineDecayLr::new(h(0.001), h(0.05), h(100));
        #[cfg(feature = "sched-exponential")]
        return ExponentialDecayLr::new(h(0.05), h(0.9), h(10), false);
        #[cfg(feature = "sched-natural")]
        return NaturalExpDecayLr::new(h(0.05), h(0.5), h(10), false);
        #[cfg(feature = "sched-polynomial")]
        return PolynomialDecayLr::new(h(0.05), h(0.001), h(100), h(2.0), false);
    }
}

/// Runs `f` with the stack below the current stack pointer painted, and returns the number of
/// bytes below that pointer that `f` wrote: the stack of the calls `f` makes (`f` is a closure
/// inlined here that calls the never-inlined [`step`]).
#[inline(never)]
fn stack_used<R>(f: impl FnOnce() -> R) -> (R, u32) {
    let sp = cortex_m::register::msp::read() as usize & !3;
    let bottom = sp - PAINT_BYTES;
    let mut p = bottom;
    while p < sp {
        // SAFETY: the words below the stack pointer are free (no interrupt is enabled) and lie in
        // RAM (the stack starts at the top of 4 MiB of RAM).
        unsafe { core::ptr::write_volatile(p as *mut u32, PAINT) };
        p += 4;
    }
    let r = f();
    let mut p = bottom;
    // SAFETY: as above; the words are read only.
    while p < sp && unsafe { core::ptr::read_volatile(p as *const u32) } == PAINT {
        p += 4;
    }
    if p == bottom {
        fail("stack paint overrun");
    }
    (r, (sp - p) as u32)
}

/// One optimizer step, never inlined: its whole frame lies below the stack pointer that
/// [`stack_used`] reads, so the painting sees all of it.
#[cfg(feature = "gradstep")]
#[inline(never)]
fn step<'a, R: gradstep::Rule, const N: usize>(
    opt: &mut gradstep::Optimizer<'a, R, [gradstep::Group<'a>; N]>,
    params: &mut [f32; LEN],
    grads: &[f32; LEN],
    state: &mut [f32; BUFFERS * LEN],
) -> bool {
    opt.step(params, grads, state).is_ok()
}

/// The same call without gradstep: the buffers escape, nothing is computed.
#[cfg(not(feature = "gradstep"))]
#[inline(never)]
fn step(
    opt: &mut (),
    params: &mut [f32; LEN],
    grads: &[f32; LEN],
    state: &mut [f32; BUFFERS * LEN],
) -> bool {
    black_box((opt, params, grads, state)).1.len() == LEN
}

fn fail(what: &str) -> ! {
    hprintln!("FAIL {}", what);
    debug::exit(debug::EXIT_FAILURE);
    #[allow(clippy::empty_loop)]
    loop {}
}

#[entry]
fn main() -> ! {
    let table: &[f32] = black_box(&TABLE);
    let mut params = [0.0f32; LEN];
    let mut moments = [0.0f32; BUFFERS * LEN];
    let mut grads = [0.0f32; LEN];
    let seed = black_box(0.5f32);
    for (i, w) in params.iter_mut().enumerate() {
        *w = seed - (i % 7) as f32 * 0.125;
    }

    #[cfg(feature = "gradstep")]
    let schedule = match opt::schedule() {
        Ok(s) => s,
        Err(_) => fail("schedule"),
    };
    #[cfg(feature = "gradstep")]
    let mut optimizer = {
        use gradstep::{Group, Lr};
        use opt::h;
        let build = || -> Result<_, gradstep::Error> {
            let groups = [
                Group::new(Lr::table(table)?, h(1e-4), true)?,
                Group::new(Lr::new_static(h(0.01))?, h(0.0), false)?,
                Group::new(Lr::Schedule(&schedule), h(1e-5), false)?,
            ];
            #[cfg(feature = "opt-adam")]
            let opt = gradstep::Adam::new(&opt::TENSORS, groups, gradstep::AdamSettings::new());
            #[cfg(feature = "opt-adamw")]
            let opt = gradstep::AdamWeightDecay::new(
                &opt::TENSORS,
                groups,
                gradstep::AdamWSettings::new(),
            );
            #[cfg(not(any(feature = "opt-adam", feature = "opt-adamw")))]
            let opt = gradstep::Momentum::new(
                &opt::TENSORS,
                groups,
                gradstep::MomentumSettings::new(h(0.9)),
            );
            opt
        };
        match build() {
            Ok(o) => o,
            Err(_) => fail("init"),
        }
    };
    #[cfg(not(feature = "gradstep"))]
    black_box(table);

    let mut deepest = 0u32;
    for k in 0..black_box(STEPS) {
        for (i, g) in grads.iter_mut().enumerate() {
            *g = ((i as u32 * 7 + k * 3) % 17) as f32 * 0.01 - 0.08;
        }
        #[cfg(feature = "gradstep")]
        let (ok, used) = stack_used(|| step(&mut optimizer, &mut params, &grads, &mut moments));
        #[cfg(not(feature = "gradstep"))]
        let (ok, used) = stack_used(|| step(&mut (), &mut params, &grads, &mut moments));
        if !ok {
            fail("step");
        }
        deepest = deepest.max(used);
    }

    let mut sum = 0u32;
    for (w, m) in params.iter().zip(&moments[..LEN]) {
        sum = sum.rotate_left(5) ^ w.to_bits() ^ m.to_bits().rotate_left(16);
    }
    hprintln!("stack_bytes {}", deepest);
    hprintln!("checksum {:08x}", sum);
    debug::exit(debug::EXIT_SUCCESS);
    #[allow(clippy::empty_loop)]
    loop {}
}

/// The same tiny handler in both builds: a panic exits QEMU with failure.
#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    fail("panic")
}
