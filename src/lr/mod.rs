//! The learning rate as a function of the global step.
//!
//! An optimizer asks its [`Lr`] for `lr(k)` at step `k` (0-based: the first step is step 0, as
//! MindSpore's `global_step` is read before it is incremented). Three kinds of source:
//!
//! * [`Lr::Static`]: one value, used exactly (`F(lr)`), which the optimizer may change between
//!   steps — what MindSpore's `LearningRateScheduler` callback does: a value set after step `k − 1`
//!   has completed is first used by step `k`, the next call.
//! * [`Lr::Table`]: a borrowed `&[f32]` indexed by the step, as MindSpore's list learning rates
//!   are. [`dynamic`] fills such tables exactly as MindSpore's `dynamic_lr` functions do. Past its
//!   end the lookup is an error by default ([`PastEnd::Reject`], MindSpore's CPU behaviour);
//!   [`PastEnd::HoldLast`] keeps the last value instead.
//! * [`Lr::Schedule`]: a value computed from the step by an [`LrSchedule`]: MindSpore's
//!   `LearningRateSchedule` classes in [`schedule`], their compositions ([`WarmupThen`],
//!   [`Sequence`], [`CosineWarmRestarts`]), any of them as one [`Schedule`] value, or the
//!   caller's own.
//!
//! Whatever the source, [`Lr::at`] never returns a negative or non-finite learning rate: it
//! returns an error instead, and the optimizer's step then changes nothing.
//!
//! Names: MindSpore's classes keep their names with `Lr` for `LR` (`CosineDecayLR` is
//! [`schedule::CosineDecayLr`]); its table functions keep theirs (`cosine_decay_lr` is
//! [`dynamic::cosine_decay_lr`]), and their validated parameters are `…Table` types
//! ([`dynamic::CosineDecayTable`]). Warm-up is spelled `Warmup` throughout (MindSpore's `WarmUpLR`
//! is [`schedule::WarmupLr`]).

mod any;
mod compose;
pub mod dynamic;
pub mod schedule;
mod source;
mod table;

pub use any::Schedule;
pub use compose::{CosineWarmRestarts, Sequence, WarmupThen};
pub use source::{Lr, LrSchedule};
pub use table::{PastEnd, Table};
