//! Exact, fast, allocation-free optimizer steps with MindSpore's semantics.
//!
//! `gradstep` applies MindSpore's `nn.Momentum` (with Nesterov) and `nn.SGD` updates — coupled
//! weight decay, loss-scale unscaling, gradient centralization — to `f32` buffers the caller owns.
//! It needs no operating system and no allocator.
//!
//! * [`reference`](mod@reference) is the executable spec: scalar code in MindSpore's op order, never fused.
//! * [`kernel`] runs the same update fused into one pass, vectorized (SSE2/AVX2/AVX-512 on
//!   x86_64, NEON on aarch64, simd128 on wasm32), and returns the reference's bits on every path.
//! * [`hyper`] holds the validated constants of one update, rounded where MindSpore rounds them.
//! * [`lr`] gives the learning rate of each step: static, a table (filled like MindSpore's
//!   `dynamic_lr` functions), or a schedule (MindSpore's `LearningRateSchedule` classes and
//!   compositions), bit-exact with MindSpore.
//! * [`math::powf`] is glibc's single-precision `pow`, bit for bit, on every target.
//!
//! ```
//! use gradstep::{hyper::{GradPrep, MomentumStep}, kernel};
//!
//! let mut params = [0.5f32, -0.25, 1.0];
//! let grads = [0.1f32, 0.2, -0.3];
//! let mut moments = [0.0f32; 3];
//! // lr 0.1, momentum 0.9, no Nesterov, weight decay 1e-4, loss scale 1
//! let step = MomentumStep::new(0.1, 0.9, false, GradPrep::new(1e-4, 1.0)?)?;
//! kernel::momentum(&mut params, &grads, &mut moments, None, &step)?;
//! # Ok::<(), gradstep::Error>(())
//! ```
//!
//! Features: `std` (default) lets x86_64 builds choose AVX2 or AVX-512 at run time; without it the
//! crate is `no_std` and chooses at compile time.

#![no_std]
#![deny(missing_docs)]
#![deny(unsafe_op_in_unsafe_fn)]

#[cfg(feature = "std")]
extern crate std;

pub mod error;
pub mod ffi;
pub mod group;
pub mod hyper;
pub mod kernel;
pub mod lr;
pub mod math;
pub mod optim;
pub mod reference;
mod softf64;
mod state;

pub use error::{Buffer, Error, Param, SavedStateProblem};

/// The README's code samples, compiled and run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
