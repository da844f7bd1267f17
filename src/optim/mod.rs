//! The optimizers over parameter groups (`docs/SEMANTICS.md` §1.8, §2).
//!
//! One step at global step `k`, for every tensor, in MindSpore's order: its group's weight decay,
//! gradient centralization (tensors with rows, in groups that enable it), loss-scale unscaling,
//! the group's learning rate `lr(k)`, then the update — all fused into one pass per tensor by
//! [`crate::kernel`]; `k` becomes `k + 1` once every tensor is updated.
//!
//! A step either completes or changes nothing: every learning rate is computed, and every length
//! and (if asked) every gradient checked, before the first write; the step counter moves only
//! when the step completes.
//!
//! A step can also be taken in [`Part`]s — one worker's tensors, one thread's share of the
//! elements — with [`Optimizer::begin_step`], [`Optimizer::step_part`] (which takes `&self`, so
//! parts may run concurrently) and [`Optimizer::end_step`]; [`Optimizer::shards`] cuts the
//! buffers into a plan of balanced parts. Whatever the cuts, the result is bit-identical to the
//! whole step.

// The rules' machinery (`rule::sealed::RuleImpl`) is a supertrait of the public `Rule` in a
// module no one outside the crate can name: its crate-private argument types do not leak, which
// the `private_interfaces` lint cannot see.
#![allow(private_interfaces)]

mod adam;
mod core;
mod momentum;
mod optimizer;
#[cfg(feature = "parallel")]
mod parallel;
mod part;
mod plan;
mod rule;
mod sgd;

#[cfg(feature = "capi")]
pub(crate) use self::core::Core;
pub use adam::{Adam, AdamRule, AdamSettings, AdamWRule, AdamWSettings, AdamWeightDecay};
pub use momentum::{Momentum, MomentumRule, MomentumSettings};
pub use optimizer::Optimizer;
#[cfg(feature = "parallel")]
pub use parallel::{MIN_SHARD_ELEMENTS, MIN_SHARD_ELEMENTS_FROM_OUTSIDE};
pub use part::{Part, StepToken};
#[cfg(feature = "capi")]
pub(crate) use rule::RULE_WORDS;
pub use rule::Rule;
#[cfg(feature = "capi")]
pub(crate) use rule::sealed::RuleImpl;
pub use sgd::{Sgd, SgdRule, SgdSettings};
