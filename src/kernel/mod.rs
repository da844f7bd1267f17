//! The vectorized kernels: gradient preparation and update fused into one pass over a tensor,
//! bit-identical to [`crate::reference`] on every [`Backend`].
//!
//! [`momentum`] and [`sgd`] run on [`Backend::selected`], the widest backend this machine has;
//! [`momentum_on`] and [`sgd_on`] run on a backend of the caller's choice (tests, benchmarks).

pub(crate) mod adam;
mod fused;
pub(crate) mod lanes;
#[cfg(target_arch = "x86_64")]
pub(crate) mod x86;

use core::num::NonZeroUsize;

use crate::error::Error;
use crate::hyper::{AdamStep, AdamWStep, MomentumStep, SgdStep};
use crate::reference::{self, Rows};
use adam::{AdamConsts, AdamWConsts};
use fused::{Consts, Dynamic, specialize, specialize_plain};

/// Whether `wide` compiled a vector backend for this target (SSE, simd128 or NEON) rather than
/// plain arrays (where [`Backend::Wide`] runs the scalar code instead).
const WIDE_IS_SIMD: bool = cfg!(any(
    target_feature = "sse",
    target_feature = "simd128",
    all(target_feature = "neon", target_arch = "aarch64")
));

/// An implementation of the kernels: an instruction set and a vector width. Every backend gives
/// the same bits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Backend {
    /// One element at a time: the fallback where there is no SIMD (Cortex-M), and the smallest code.
    Scalar,
    /// Eight lanes of `wide::f32x8` on the backend `wide` was compiled with: SSE2 (AVX with
    /// `+avx`) on x86_64, NEON on aarch64, simd128 on wasm32 with `+simd128`. Where `wide` has no
    /// vector backend (Cortex-M), this runs the scalar code.
    Wide,
    /// Eight lanes of AVX2 and FMA3 on x86_64, chosen at run time with `std`, at compile time
    /// without. (A CPU with AVX2 but no FMA3 does not have this backend.)
    Avx2,
    /// Sixteen lanes of AVX-512F on x86_64, chosen like [`Backend::Avx2`].
    Avx512,
}

impl Backend {
    /// Every backend, available or not.
    pub const ALL: [Backend; 4] = [
        Backend::Scalar,
        Backend::Wide,
        Backend::Avx2,
        Backend::Avx512,
    ];

    /// Whether this backend can run here.
    pub fn is_available(self) -> bool {
        match self {
            Backend::Scalar | Backend::Wide => true,
            #[cfg(target_arch = "x86_64")]
            Backend::Avx2 => x86::has_avx2(),
            #[cfg(target_arch = "x86_64")]
            Backend::Avx512 => x86::has_avx512(),
            #[cfg(not(target_arch = "x86_64"))]
            Backend::Avx2 | Backend::Avx512 => false,
        }
    }

    /// This backend, or [`Error::BackendUnavailable`] when it cannot run here.
    pub fn check(self) -> Result<Backend, Error> {
        if self.is_available() {
            Ok(self)
        } else {
            Err(Error::BackendUnavailable)
        }
    }

    /// The widest available backend: AVX-512, then AVX2, then `wide` when it has a vector
    /// backend, else scalar. With `std` on x86_64 the CPU is asked at run time (the answer is
    /// cached by `std`), so a default build runs the same code as a `-C target-cpu=native` one.
    pub fn selected() -> Backend {
        if Backend::Avx512.is_available() {
            Backend::Avx512
        } else if Backend::Avx2.is_available() {
            Backend::Avx2
        } else if WIDE_IS_SIMD {
            Backend::Wide
        } else {
            Backend::Scalar
        }
    }

    /// A short name: `scalar`, `wide`, `avx2` or `avx512`.
    pub fn name(self) -> &'static str {
        match self {
            Backend::Scalar => "scalar",
            Backend::Wide => "wide",
            Backend::Avx2 => "avx2",
            Backend::Avx512 => "avx512",
        }
    }

    /// The instruction set the backend runs on in this build, e.g. `sse2` or `neon` for
    /// [`Backend::Wide`].
    pub fn instruction_set(self) -> &'static str {
        match self {
            Backend::Scalar => "scalar",
            Backend::Wide => wide_backend(),
            Backend::Avx2 => "avx2",
            Backend::Avx512 => "avx512f",
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

/// One momentum step over one tensor on [`Backend::selected`]; the same contract as
/// [`reference::momentum`].
pub fn momentum(
    params: &mut [f32],
    grads: &[f32],
    state: &mut [f32],
    centralize: Option<NonZeroUsize>,
    step: &MomentumStep,
) -> Result<(), Error> {
    momentum_on(Backend::selected(), params, grads, state, centralize, step)
}

/// One SGD step over one tensor on [`Backend::selected`]; the same contract as [`reference::sgd`].
pub fn sgd(
    params: &mut [f32],
    grads: &[f32],
    state: &mut [f32],
    centralize: Option<NonZeroUsize>,
    step: &SgdStep,
) -> Result<(), Error> {
    sgd_on(Backend::selected(), params, grads, state, centralize, step)
}

/// [`momentum`] on the given backend; [`Error::BackendUnavailable`] when it cannot run here.
pub fn momentum_on(
    backend: Backend,
    params: &mut [f32],
    grads: &[f32],
    state: &mut [f32],
    centralize: Option<NonZeroUsize>,
    step: &MomentumStep,
) -> Result<(), Error> {
    let rows = reference::check_tensor(params.len(), grads.len(), &[state.len()], centralize)?;
    let backend = backend.check()?;
    if let Some(rows) = rows {
        run_momentum(backend, rows, params, grads, state, step);
    }
    Ok(())
}

/// [`sgd`] on the given backend; [`Error::BackendUnavailable`] when it cannot run here.
pub fn sgd_on(
    backend: Backend,
    params: &mut [f32],
    grads: &[f32],
    state: &mut [f32],
    centralize: Option<NonZeroUsize>,
    step: &SgdStep,
) -> Result<(), Error> {
    let rows = reference::check_tensor(params.len(), grads.len(), &[state.len()], centralize)?;
    let backend = backend.check()?;
    if let Some(rows) = rows {
        run_sgd(backend, rows, params, grads, state, step);
    }
    Ok(())
}

/// The momentum update of one non-empty tensor whose buffers and rows were checked: it cannot
/// fail. A backend that cannot run here (which a caller has ruled out) runs as the scalar one:
/// the same bits.
pub(crate) fn run_momentum(
    backend: Backend,
    rows: Rows,
    w: &mut [f32],
    g: &[f32],
    m: &mut [f32],
    step: &MomentumStep,
) {
    let (d, c) = (Dynamic::momentum(step, rows), Consts::momentum(step));
    match backend {
        Backend::Wide => wide_momentum(d, &c, rows, w, g, m),
        #[cfg(target_arch = "x86_64")]
        Backend::Avx2 if x86::momentum_avx2(d, &c, rows, w, g, m) => {}
        #[cfg(target_arch = "x86_64")]
        Backend::Avx512 if x86::momentum_avx512(d, &c, rows, w, g, m) => {}
        _ => scalar_momentum(d, &c, rows, w, g, m),
    }
}

/// The SGD update of one checked, non-empty tensor (see [`run_momentum`]).
pub(crate) fn run_sgd(
    backend: Backend,
    rows: Rows,
    w: &mut [f32],
    g: &[f32],
    a: &mut [f32],
    step: &SgdStep,
) {
    let (d, c) = (Dynamic::sgd(step, rows), Consts::sgd(step));
    match backend {
        Backend::Wide => wide_sgd(d, &c, rows, w, g, a),
        #[cfg(target_arch = "x86_64")]
        Backend::Avx2 if x86::sgd_avx2(d, &c, rows, w, g, a) => {}
        #[cfg(target_arch = "x86_64")]
        Backend::Avx512 if x86::sgd_avx512(d, &c, rows, w, g, a) => {}
        _ => scalar_sgd(d, &c, rows, w, g, a),
    }
}

/// One `nn.Adam` step (plain, Nesterov or AMSGrad) over one tensor on [`Backend::selected`]; the
/// same contract as [`reference::adam`].
pub fn adam(
    params: &mut [f32],
    grads: &[f32],
    m: &mut [f32],
    v: &mut [f32],
    vhat: &mut [f32],
    centralize: Option<NonZeroUsize>,
    step: &AdamStep,
) -> Result<(), Error> {
    adam_on(
        Backend::selected(),
        params,
        grads,
        m,
        v,
        vhat,
        centralize,
        step,
    )
}

/// [`adam`] on the given backend; [`Error::BackendUnavailable`] when it cannot run here.
#[allow(clippy::too_many_arguments)]
pub fn adam_on(
    backend: Backend,
    params: &mut [f32],
    grads: &[f32],
    m: &mut [f32],
    v: &mut [f32],
    vhat: &mut [f32],
    centralize: Option<NonZeroUsize>,
    step: &AdamStep,
) -> Result<(), Error> {
    let lens = [params.len(), grads.len(), m.len(), v.len(), vhat.len()];
    let rows = reference::check_adam(lens, centralize, step.amsgrad())?;
    let backend = backend.check()?;
    if let Some(rows) = rows {
        let whole = Within::whole(params.len());
        run_adam(backend, rows, params, grads, [m, v, vhat], step, whole);
    }
    Ok(())
}

/// One `nn.AdamWeightDecay` step over one tensor on [`Backend::selected`]; the same contract as
/// [`reference::adamw`].
pub fn adamw(
    params: &mut [f32],
    grads: &[f32],
    m: &mut [f32],
    v: &mut [f32],
    centralize: Option<NonZeroUsize>,
    step: &AdamWStep,
) -> Result<(), Error> {
    adamw_on(Backend::selected(), params, grads, m, v, centralize, step)
}

/// [`adamw`] on the given backend; [`Error::BackendUnavailable`] when it cannot run here.
pub fn adamw_on(
    backend: Backend,
    params: &mut [f32],
    grads: &[f32],
    m: &mut [f32],
    v: &mut [f32],
    centralize: Option<NonZeroUsize>,
    step: &AdamWStep,
) -> Result<(), Error> {
    let rows = reference::check_tensor(params.len(), grads.len(), &[m.len(), v.len()], centralize)?;
    let backend = backend.check()?;
    if let Some(rows) = rows {
        run_adamw(backend, rows, params, grads, [m, v], step);
    }
    Ok(())
}

/// Where the elements an Adam call updates lie in their tensor: a shard of a step may hold a
/// slice of a tensor, and which of MindSpore's formulas an element takes depends on its place in
/// the whole tensor.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Within {
    /// The index in the tensor of the first element updated.
    pub offset: usize,
    /// The tensor's length.
    pub tensor_len: usize,
}

impl Within {
    /// The whole of a tensor of `len` elements.
    pub fn whole(len: usize) -> Within {
        Within {
            offset: 0,
            tensor_len: len,
        }
    }
}

/// The Adam update of one checked, non-empty tensor (see [`run_momentum`]); `s` holds `m`, `v`
/// and, with AMSGrad, `v̂`. Unlike Momentum's, Adam's loops are not specialized per combination of
/// options: a square root and a division per element dwarf a predictable branch, and sixteen
/// copies of each loop would triple the size of a WebAssembly module.
// inlined into the caller: a rule whose settings are constants (a firmware's) keeps only the
// kernel variant it runs
#[inline(always)]
pub(crate) fn run_adam(
    backend: Backend,
    rows: Rows,
    w: &mut [f32],
    g: &[f32],
    s: [&mut [f32]; 3],
    step: &AdamStep,
    within: Within,
) {
    let c = AdamConsts::of(step, within);
    let d = Dynamic::adam(step, rows);
    let [m, v, vh] = s;
    if step.amsgrad() {
        return match backend {
            Backend::Wide if WIDE_IS_SIMD => wide_adam(d, &c, rows, w, g, [m, v, vh], true),
            #[cfg(target_arch = "x86_64")]
            Backend::Avx2 if x86::amsgrad_avx2(d, &c, rows, (w, g), [m, v, vh]) => {}
            #[cfg(target_arch = "x86_64")]
            Backend::Avx512 if x86::amsgrad_avx512(d, &c, rows, (w, g), [m, v, vh]) => {}
            _ => scalar_amsgrad(d, &c, rows, (w, g), [m, v, vh]),
        };
    }
    match backend {
        Backend::Wide if WIDE_IS_SIMD => wide_adam(d, &c, rows, w, g, [m, v, vh], false),
        #[cfg(target_arch = "x86_64")]
        Backend::Avx2 if x86::adam_avx2(d, &c, rows, w, g, m, v) => {}
        #[cfg(target_arch = "x86_64")]
        Backend::Avx512 if x86::adam_avx512(d, &c, rows, w, g, m, v) => {}
        _ => scalar_adam(d, &c, rows, w, g, m, v),
    }
}

/// `wide`'s backend of Adam and AMSGrad: a function of its own, so that inlining [`run_adam`]
/// does not copy the vector loops.
#[inline(never)]
fn wide_adam(
    d: Dynamic,
    c: &AdamConsts,
    rows: Rows,
    w: &mut [f32],
    g: &[f32],
    [m, v, vh]: [&mut [f32]; 3],
    amsgrad: bool,
) {
    if amsgrad {
        specialize_plain!(d, |x| adam::amsgrad::<wide::f32x8, 8, 2, _>(
            x,
            c,
            rows,
            (w, g),
            [m, v, vh]
        ))
    } else {
        specialize_plain!(d, |x| adam::adam::<wide::f32x8, 8, 2, _>(
            x, c, rows, w, g, m, v
        ))
    }
}

/// The AdamWeightDecay update of one checked, non-empty tensor; `s` holds `m` and `v`.
// inlined into the caller: a rule whose settings are constants (a firmware's) keeps only the
// kernel variant it runs
#[inline(always)]
pub(crate) fn run_adamw(
    backend: Backend,
    rows: Rows,
    w: &mut [f32],
    g: &[f32],
    s: [&mut [f32]; 2],
    step: &AdamWStep,
) {
    let c = AdamWConsts::of(step);
    let d = Dynamic::centered(rows);
    let [m, v] = s;
    match backend {
        Backend::Wide if WIDE_IS_SIMD => wide_adamw(d, &c, rows, w, g, [m, v]),
        #[cfg(target_arch = "x86_64")]
        Backend::Avx2 if x86::adamw_avx2(d, &c, rows, w, g, m, v) => {}
        #[cfg(target_arch = "x86_64")]
        Backend::Avx512 if x86::adamw_avx512(d, &c, rows, w, g, m, v) => {}
        _ => scalar_adamw(d, &c, rows, w, g, m, v),
    }
}

/// `wide`'s backend of AdamWeightDecay (see [`wide_adam`]).
#[inline(never)]
fn wide_adamw(
    d: Dynamic,
    c: &AdamWConsts,
    rows: Rows,
    w: &mut [f32],
    g: &[f32],
    [m, v]: [&mut [f32]; 2],
) {
    specialize_plain!(d, |x| adam::adamw::<wide::f32x8, 8, 2, _>(
        x, c, rows, w, g, m, v
    ))
}

/// The scalar backend of Adam, AMSGrad and AdamWeightDecay: one loop each with run-time flags.
#[inline(never)]
fn scalar_adam(
    d: Dynamic,
    c: &AdamConsts,
    rows: Rows,
    w: &mut [f32],
    g: &[f32],
    m: &mut [f32],
    v: &mut [f32],
) {
    adam::adam::<f32, 1, 16, _>(d, c, rows, w, g, m, v)
}

#[inline(never)]
fn scalar_amsgrad(
    d: Dynamic,
    c: &AdamConsts,
    rows: Rows,
    wg: (&mut [f32], &[f32]),
    s: [&mut [f32]; 3],
) {
    adam::amsgrad::<f32, 1, 16, _>(d, c, rows, wg, s)
}

#[inline(never)]
fn scalar_adamw(
    d: Dynamic,
    c: &AdamWConsts,
    rows: Rows,
    w: &mut [f32],
    g: &[f32],
    m: &mut [f32],
    v: &mut [f32],
) {
    adam::adamw::<f32, 1, 16, _>(d, c, rows, w, g, m, v)
}

/// `wide`'s backend: one specialized loop per variant where `wide` has a vector backend. Where it
/// has none (Cortex-M), `wide` would run the same operations on arrays, so this backend runs the
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

/// The scalar backend: one loop with run-time flags (its code size matters more than a predictable
/// branch), one copy shared by every caller.
#[inline(never)]
fn scalar_momentum(d: Dynamic, c: &Consts, rows: Rows, w: &mut [f32], g: &[f32], m: &mut [f32]) {
    fused::momentum::<f32, 1, 16, _>(d, c, rows, w, g, m)
}

#[inline(never)]
fn scalar_sgd(d: Dynamic, c: &Consts, rows: Rows, w: &mut [f32], g: &[f32], a: &mut [f32]) {
    fused::sgd::<f32, 1, 16, _>(d, c, rows, w, g, a)
}
