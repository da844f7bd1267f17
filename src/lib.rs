//! Exact, fast, allocation-free optimizer steps with MindSpore's semantics.
//!
//! `gradstep` applies MindSpore's `nn.Momentum` (with Nesterov) and `nn.SGD` updates — coupled
//! weight decay, loss-scale unscaling, gradient centralization — to `f32` buffers the caller owns,
//! with MindSpore's parameter groups and step-indexed learning rates. It needs no operating system
//! and no allocator.
//!
//! ```
//! use gradstep::{Group, Lr, Momentum, MomentumSettings, Tensor};
//!
//! // a 2×3 weight (centralized, with weight decay) and its bias, back to back in flat buffers
//! const TENSORS: [Tensor; 2] = [Tensor::matrix(2, 3, 0), Tensor::vector(2, 1)];
//! let groups = [
//!     Group::new(Lr::new_static(0.1)?, 1e-4, true)?,
//!     Group::new(Lr::new_static(0.05)?, 0.0, false)?,
//! ];
//! let mut opt = Momentum::new(&TENSORS, groups, MomentumSettings::new(0.9))?;
//! let (mut params, grads) = ([0.5f32; 8], [0.1f32; 8]);
//! let mut state = [0.0f32; 8]; // opt.state_len(): the moments
//! opt.step(&mut params, &grads, &mut state)?;
//! assert_eq!(opt.global_step(), 1);
//! # Ok::<(), gradstep::Error>(())
//! ```
//!
//! * [`Optimizer`] ([`Momentum`], [`Sgd`]) steps a layout of [`Tensor`]s in [`Group`]s; each group
//!   has its own [`Lr`], weight decay and centralization switch.
//! * [`lr`] gives the learning rate of each step: static, a table (filled like MindSpore's
//!   `dynamic_lr` functions), or a schedule (MindSpore's `LearningRateSchedule` classes and
//!   compositions), bit-exact with MindSpore.
//! * [`reference`](mod@reference) is the executable spec: scalar code in MindSpore's op order.
//! * [`kernel`] runs the same update fused into one pass, vectorized (SSE2/AVX2/AVX-512 on
//!   x86_64, NEON on aarch64, simd128 on wasm32), and returns the reference's bits on every
//!   [`Backend`]; [`hyper`] holds the validated constants of one kernel call.
//! * [`math::powf`] is glibc's single-precision `pow`, bit for bit, on every target.
//! * `ffi` (feature `capi`) is the C API of `include/gradstep.h`.
//!
//! Features: `std` (default) lets x86_64 builds choose AVX2 or AVX-512 at run time; without it the
//! crate is `no_std` and chooses at compile time. `capi` exports the C API. `parallel` adds
//! `Optimizer::step_parallel` (on rayon's threads; needs `std`).

#![no_std]
#![deny(missing_docs)]
#![deny(unsafe_code)]
#![deny(unsafe_op_in_unsafe_fn)]

#[cfg(feature = "std")]
extern crate std;

mod double;
pub mod error;
#[cfg(feature = "capi")]
#[allow(unsafe_code)]
pub mod ffi;
#[allow(unsafe_code)]
pub mod fma;
pub mod group;
pub mod hyper;
pub mod kernel;
pub mod layout;
pub mod lr;
pub mod math;
pub mod optim;
pub mod reference;
mod softf64;
pub mod sqrt;
mod state;
mod validate;

pub use error::{Buffer, Error, Param, SavedStateProblem};
pub use group::Group;
pub use kernel::Backend;
pub use layout::Tensor;
pub use lr::{Lr, LrSchedule, PastEnd, Schedule, Table};
pub use optim::{
    Adam, AdamRule, AdamSettings, AdamWRule, AdamWSettings, AdamWeightDecay, Momentum,
    MomentumRule, MomentumSettings, Optimizer, Part, Rule, Sgd, SgdRule, SgdSettings, StepToken,
};
#[cfg(feature = "parallel")]
pub use optim::{MIN_SHARD_ELEMENTS, MIN_SHARD_ELEMENTS_FROM_OUTSIDE};

/// The README's code samples, compiled and run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
