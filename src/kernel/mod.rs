//! The vectorized kernels: gradient preparation and update fused into one pass over a tensor,
//! bit-identical to [`crate::reference`] on every [`Path`].
//!
//! [`momentum`] and [`sgd`] run on [`Path::selected`], the widest path this machine has;
//! [`momentum_on`] and [`sgd_on`] run on a path of the caller's choice (tests, benchmarks).

mod fused;
mod lanes;
#[cfg(target_arch = "x86_64")]
mod x86;

use crate::error::Error;
use crate::hyper::{MomentumStep, SgdStep};
use crate::reference::{self, Rows};
use fused::{Consts, Dynamic, specialize};

/// Whether `wide` compiled a vector backend for this target (SSE, simd128 or NEON) rather than
/// plain arrays (where [`Path::Wide`] runs the scalar code instead).
const WIDE_IS_SIMD: bool = cfg!(any(
    target_feature = "sse",
    target_feature = "simd128",
    all(target_feature = "neon", target_arch = "aarch64")
));

/// A way of running the kernels. Every path gives the same bits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Path {
    /// One element at a time: the fallback where there is no SIMD (Cortex-M), and the smallest code.
    Scalar,
    /// Eight lanes of `wide::f32x8` on the backend `wide` was compiled with: SSE2 (AVX with
    /// `+avx`) on x86_64, NEON on aarch64, simd128 on wasm32 with `+simd128`. Where `wide` has no
    /// vector backend (Cortex-M), this is the scalar path.
    Wide,
    /// Eight lanes of AVX2 on x86_64, chosen at run time with `std`, at compile time without.
    Avx2,
    /// Sixteen lanes of AVX-512F on x86_64, chosen like [`Path::Avx2`].
    Avx512,
}

impl Path {
    /// Every path, available or not.
    pub const ALL: [Path; 4] = [Path::Scalar, Path::Wide, Path::Avx2, Path::Avx512];

    /// Whether this path can run here.
    pub fn is_available(self) -> bool {
        match self {
            Path::Scalar | Path::Wide => true,
            #[cfg(target_arch = "x86_64")]
            Path::Avx2 => x86::has_avx2(),
            #[cfg(target_arch = "x86_64")]
            Path::Avx512 => x86::has_avx512(),
            #[cfg(not(target_arch = "x86_64"))]
            Path::Avx2 | Path::Avx512 => false,
        }
    }

    /// The widest available path: AVX-512, then AVX2, then `wide` when it has a vector backend,
    /// else scalar. With `std` on x86_64 the CPU is asked at run time (the answer is cached by
    /// `std`), so a default build runs the same code as a `-C target-cpu=native` one.
    pub fn selected() -> Path {
        if Path::Avx512.is_available() {
            Path::Avx512
        } else if Path::Avx2.is_available() {
            Path::Avx2
        } else if WIDE_IS_SIMD {
            Path::Wide
        } else {
            Path::Scalar
        }
    }

    /// A short name: `scalar`, `wide`, `avx2` or `avx512`.
    pub fn name(self) -> &'static str {
        match self {
            Path::Scalar => "scalar",
            Path::Wide => "wide",
            Path::Avx2 => "avx2",
            Path::Avx512 => "avx512",
        }
    }

    /// The instruction set the path runs on in this build, e.g. `sse2` or `neon` for
    /// [`Path::Wide`].
    pub fn instruction_set(self) -> &'static str {
        match self {
            Path::Scalar => "scalar",
            Path::Wide => wide_backend(),
            Path::Avx2 => "avx2",
            Path::Avx512 => "avx512f",
        }
    }
}

const fn wide_backend() -> &'static str {
    if cfg!(target_feature = "avx") {
        "avx"
    } else if cfg!(target_feature = "sse") {
        "sse2"
    } else if cfg!(target_feature = "simd128") {
        "simd128"
    } else if cfg!(all(target_feature = "neon", target_arch = "aarch64")) {
        "neon"
    } else {
        "scalar"
    }
}

/// One momentum step over one tensor on [`Path::selected`]; the same contract as
/// [`reference::momentum`].
pub fn momentum(
    params: &mut [f32],
    grads: &[f32],
    state: &mut [f32],
    centralize: Option<usize>,
    step: &MomentumStep,
) -> Result<(), Error> {
    momentum_on(Path::selected(), params, grads, state, centralize, step)
}

/// One SGD step over one tensor on [`Path::selected`]; the same contract as [`reference::sgd`].
pub fn sgd(
    params: &mut [f32],
    grads: &[f32],
    state: &mut [f32],
    centralize: Option<usize>,
    step: &SgdStep,
) -> Result<(), Error> {
    sgd_on(Path::selected(), params, grads, state, centralize, step)
}

/// [`momentum`] on the given path; [`Error::PathUnavailable`] when it cannot run here.
pub fn momentum_on(
    path: Path,
    params: &mut [f32],
    grads: &[f32],
    state: &mut [f32],
    centralize: Option<usize>,
    step: &MomentumStep,
) -> Result<(), Error> {
    let Some(rows) = check(path, params.len(), grads.len(), state.len(), centralize)? else {
        return Ok(());
    };
    let (d, c) = (Dynamic::momentum(step, rows), Consts::momentum(step));
    let (w, g, m) = (params, grads, state);
    match path {
        Path::Scalar => scalar_momentum(d, &c, rows, w, g, m),
        Path::Wide => wide_momentum(d, &c, rows, w, g, m),
        // SAFETY: `check` confirmed that the CPU has AVX2.
        #[cfg(target_arch = "x86_64")]
        Path::Avx2 => unsafe { x86::momentum_avx2(d, &c, rows, w, g, m) },
        // SAFETY: `check` confirmed that the CPU has AVX-512F.
        #[cfg(target_arch = "x86_64")]
        Path::Avx512 => unsafe { x86::momentum_avx512(d, &c, rows, w, g, m) },
        #[cfg(not(target_arch = "x86_64"))]
        Path::Avx2 | Path::Avx512 => return Err(Error::PathUnavailable),
    }
    Ok(())
}

/// [`sgd`] on the given path; [`Error::PathUnavailable`] when it cannot run here.
pub fn sgd_on(
    path: Path,
    params: &mut [f32],
    grads: &[f32],
    state: &mut [f32],
    centralize: Option<usize>,
    step: &SgdStep,
) -> Result<(), Error> {
    let Some(rows) = check(path, params.len(), grads.len(), state.len(), centralize)? else {
        return Ok(());
    };
    let (d, c) = (Dynamic::sgd(step, rows), Consts::sgd(step));
    let (w, g, a) = (params, grads, state);
    match path {
        Path::Scalar => scalar_sgd(d, &c, rows, w, g, a),
        Path::Wide => wide_sgd(d, &c, rows, w, g, a),
        // SAFETY: `check` confirmed that the CPU has AVX2.
        #[cfg(target_arch = "x86_64")]
        Path::Avx2 => unsafe { x86::sgd_avx2(d, &c, rows, w, g, a) },
        // SAFETY: `check` confirmed that the CPU has AVX-512F.
        #[cfg(target_arch = "x86_64")]
        Path::Avx512 => unsafe { x86::sgd_avx512(d, &c, rows, w, g, a) },
        #[cfg(not(target_arch = "x86_64"))]
        Path::Avx2 | Path::Avx512 => return Err(Error::PathUnavailable),
    }
    Ok(())
}

/// Validates one call before anything is written; `None` when the tensor is empty.
fn check(
    path: Path,
    params: usize,
    grads: usize,
    state: usize,
    centralize: Option<usize>,
) -> Result<Option<Rows>, Error> {
    let rows = reference::check_tensor(params, grads, state, centralize)?;
    if !path.is_available() {
        return Err(Error::PathUnavailable);
    }
    Ok(rows)
}

/// `wide`'s path: one specialized loop per variant where `wide` has a vector backend. Where it
/// has none (Cortex-M), `wide` would run the same operations on arrays, so the path runs the
/// one-lane code instead: the same bits, and one kernel in the firmware instead of two.
fn wide_momentum(d: Dynamic, c: &Consts, rows: Rows, w: &mut [f32], g: &[f32], m: &mut [f32]) {
    if WIDE_IS_SIMD {
        specialize!(d, |v| fused::momentum::<wide::f32x8, 8, 2, _>(
            v, c, rows, w, g, m
        ))
    } else {
        scalar_momentum(d, c, rows, w, g, m)
    }
}

fn wide_sgd(d: Dynamic, c: &Consts, rows: Rows, w: &mut [f32], g: &[f32], a: &mut [f32]) {
    if WIDE_IS_SIMD {
        specialize!(d, |v| fused::sgd::<wide::f32x8, 8, 2, _>(
            v, c, rows, w, g, a
        ))
    } else {
        scalar_sgd(d, c, rows, w, g, a)
    }
}

/// The scalar path: one loop with run-time flags (its code size matters more than a predictable
/// branch), one copy shared by every caller.
#[inline(never)]
fn scalar_momentum(d: Dynamic, c: &Consts, rows: Rows, w: &mut [f32], g: &[f32], m: &mut [f32]) {
    fused::momentum::<f32, 1, 16, _>(d, c, rows, w, g, m)
}

#[inline(never)]
fn scalar_sgd(d: Dynamic, c: &Consts, rows: Rows, w: &mut [f32], g: &[f32], a: &mut [f32]) {
    fused::sgd::<f32, 1, 16, _>(d, c, rows, w, g, a)
}
