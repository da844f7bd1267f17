//! The crate's one error type. Every rejection names what was wrong; nothing is changed when an
//! error is returned.

use core::fmt;

/// A hyper-parameter or argument named by an [`Error`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Param {
    /// A learning rate (static value, table entry, schedule output or schedule parameter).
    LearningRate,
    /// The final learning rate of a polynomial decay.
    EndLearningRate,
    /// The lower bound of a cosine decay.
    MinLr,
    /// The upper bound of a cosine decay.
    MaxLr,
    /// The momentum coefficient.
    Momentum,
    /// SGD's dampening.
    Dampening,
    /// The weight-decay coefficient.
    WeightDecay,
    /// The loss scale.
    LossScale,
    /// A decay rate.
    DecayRate,
    /// A schedule's `decay_steps`.
    DecaySteps,
    /// A table's `decay_epoch`.
    DecayEpoch,
    /// A table's `total_step`.
    TotalStep,
    /// A table's `step_per_epoch`.
    StepPerEpoch,
    /// A table's `warmup_epoch`.
    WarmupEpoch,
    /// A schedule's `warmup_steps`.
    WarmupSteps,
    /// A polynomial decay's `power`.
    Power,
    /// A milestone of `piecewise_constant_lr`.
    Milestone,
    /// The first period of cosine decay with warm restarts.
    Period,
    /// The factor by which each warm-restart period grows.
    PeriodMult,
    /// Adam's `beta1`.
    Beta1,
    /// Adam's `beta2`.
    Beta2,
    /// Adam's `eps`.
    Eps,
    /// `beta1` to the power of the step (Adam's bias correction).
    Beta1Power,
    /// `beta2` to the power of the step.
    Beta2Power,
    /// MindSpore's CPU kernel threads (its `threads_num` setting).
    Threads,
}

impl Param {
    /// The parameter's name as MindSpore spells it.
    pub const fn name(self) -> &'static str {
        match self {
            Param::LearningRate => "learning_rate",
            Param::EndLearningRate => "end_learning_rate",
            Param::MinLr => "min_lr",
            Param::MaxLr => "max_lr",
            Param::Momentum => "momentum",
            Param::Dampening => "dampening",
            Param::WeightDecay => "weight_decay",
            Param::LossScale => "loss_scale",
            Param::DecayRate => "decay_rate",
            Param::DecaySteps => "decay_steps",
            Param::DecayEpoch => "decay_epoch",
            Param::TotalStep => "total_step",
            Param::StepPerEpoch => "step_per_epoch",
            Param::WarmupEpoch => "warmup_epoch",
            Param::WarmupSteps => "warmup_steps",
            Param::Power => "power",
            Param::Milestone => "milestone",
            Param::Period => "period",
            Param::PeriodMult => "period_mult",
            Param::Beta1 => "beta1",
            Param::Beta2 => "beta2",
            Param::Eps => "eps",
            Param::Beta1Power => "beta1_power",
            Param::Beta2Power => "beta2_power",
            Param::Threads => "threads",
        }
    }
}

/// A buffer named by [`Error::LengthMismatch`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Buffer {
    /// The gradient buffer (compared with the parameter buffer).
    Grads,
    /// The optimizer-state buffer (compared with the parameter buffer).
    State,
    /// The output of a learning-rate table filler (compared with `total_step`).
    Table,
    /// The learning rates of `piecewise_constant_lr` (compared with the milestones).
    LearningRates,
    /// The boundaries of a schedule sequence (one fewer than its schedules).
    Boundaries,
    /// The parameter buffer (compared with the layout's total length).
    Params,
    /// The bytes of a saved optimizer state.
    SavedState,
}

impl Buffer {
    /// The buffer's name.
    pub const fn name(self) -> &'static str {
        match self {
            Buffer::Grads => "grads",
            Buffer::State => "state",
            Buffer::Table => "table",
            Buffer::LearningRates => "learning_rates",
            Buffer::Boundaries => "boundaries",
            Buffer::Params => "params",
            Buffer::SavedState => "saved state",
        }
    }
}

/// What is wrong with the bytes given to an optimizer's `restore`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SavedStateProblem {
    /// They do not start with gradstep's magic bytes.
    NotASavedState,
    /// They were written by a format version this build does not read.
    Version,
    /// They were saved by another kind of optimizer (Momentum against SGD, say).
    Optimizer,
    /// They hold a different number of groups, or a group whose learning rate is static where
    /// this optimizer's is not (or the other way round).
    Groups,
    /// They hold state of a different length, or a different number of state buffers.
    Length,
    /// The optimizer's own values in them (SGD's first-step flag, Adam's beta powers) are not
    /// values it can hold.
    Scalars,
    /// Their checksum does not match: the bytes were damaged.
    Checksum,
}

/// Why a call was rejected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// A buffer's length differs from the length it must have.
    LengthMismatch {
        /// The buffer whose length is wrong.
        buffer: Buffer,
        /// The length it must have.
        expected: usize,
        /// The length it has.
        actual: usize,
    },
    /// A centralized tensor's row count does not divide its length.
    BadRows {
        /// The tensor's length.
        len: usize,
        /// The row count given.
        rows: usize,
    },
    /// A hyper-parameter is NaN or infinite, or becomes infinite when rounded to `f32`.
    NotFinite(Param),
    /// A hyper-parameter that must be at least 0 is negative.
    Negative(Param),
    /// A hyper-parameter that must be greater than 0 is not.
    NotPositive(Param),
    /// SGD's Nesterov momentum needs `momentum > 0` and `dampening == 0` (MindSpore's rule).
    NesterovNeedsMomentum,
    /// A hyper-parameter that must lie strictly between 0 and 1 (Adam's betas, also once rounded
    /// to `f32`; a beta power in `[0, 1)`) does not.
    OutOfRange(Param),
    /// Adam with both AMSGrad and Nesterov (MindSpore ignores `use_nesterov` then; gradstep
    /// refuses the combination: DESIGN divergence 7).
    AmsgradWithNesterov,
    /// The requested kernel backend is not available on this CPU or in this build.
    BackendUnavailable,
    /// A cosine decay's `min_lr` is not below its `max_lr`.
    MinLrNotBelowMaxLr,
    /// A milestone of `piecewise_constant_lr` is smaller than the one before it.
    MilestoneDecreasing {
        /// The index of the milestone.
        index: usize,
    },
    /// A schedule sequence's boundaries are not positive and strictly increasing.
    BoundariesNotIncreasing {
        /// The index of the first boundary out of order (0: the first boundary is 0).
        index: usize,
    },
    /// A learning-rate table, or a sequence of schedules, is empty.
    EmptyTable,
    /// The step is past the end of a learning-rate table (and holding its last value was not
    /// asked for).
    PastTableEnd {
        /// The step.
        step: u32,
        /// The table's length.
        len: usize,
    },
    /// A tensor names a group that does not exist.
    GroupOutOfRange {
        /// The tensor's index in the layout.
        tensor: usize,
        /// The group it names.
        group: usize,
    },
    /// A group has no tensor (MindSpore: a group's `params` must not be empty).
    EmptyGroup {
        /// The group's index.
        group: usize,
    },
    /// A tensor's row count (leading dimension) does not divide its length.
    TensorRows {
        /// The tensor's index in the layout.
        tensor: usize,
    },
    /// The layout's tensors add up to more elements than memory can hold.
    LayoutTooLarge,
    /// Two groups' learning-rate tables that end in an error differ in length (MindSpore: every
    /// dynamic learning-rate list must have the same size).
    TableLengthsDiffer {
        /// The group whose table differs from the first table's length.
        group: usize,
    },
    /// There is no group with this index.
    NoSuchGroup {
        /// The index asked for.
        group: usize,
    },
    /// A group's learning rate is not static, so it cannot be set.
    NotStatic {
        /// The group's index.
        group: usize,
    },
    /// A gradient is NaN or infinite (only checked when the optimizer was asked to).
    NonFiniteGradient {
        /// Its index in the gradient buffer given.
        index: usize,
    },
    /// A tensor range is out of the layout's bounds or reversed.
    TensorRange {
        /// The first tensor of the range.
        start: usize,
        /// One past its last tensor.
        end: usize,
    },
    /// An element range is not one a step can be cut into: reversed, past the layout's end, or
    /// an end inside a row of a centralized tensor.
    ElementRange {
        /// The first element of the range.
        start: usize,
        /// One past its last element.
        end: usize,
    },
    /// A sharded step's token does not belong to the step in progress.
    StaleStep,
    /// The layout no longer adds up to the length the optimizer was built with (only the C API
    /// can cause this: its layout is the caller's memory, re-read at every call).
    LayoutChanged,
    /// The step counter is at its maximum.
    StepOverflow,
    /// Saved optimizer state that cannot be restored.
    SavedState(SavedStateProblem),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Error::LengthMismatch {
                buffer,
                expected,
                actual,
            } => write!(
                f,
                "{} has length {actual}, expected {expected}",
                buffer.name()
            ),
            Error::BadRows { len, rows } => write!(
                f,
                "row count {rows} does not divide the tensor length {len}"
            ),
            Error::NotFinite(p) => write!(f, "{} is not finite", p.name()),
            Error::Negative(p) => write!(f, "{} is negative", p.name()),
            Error::NotPositive(p) => write!(f, "{} is not greater than 0", p.name()),
            Error::NesterovNeedsMomentum => {
                f.write_str("nesterov needs momentum > 0 and dampening == 0")
            }
            Error::OutOfRange(p) => write!(f, "{} is not strictly between 0 and 1", p.name()),
            Error::AmsgradWithNesterov => f.write_str("AMSGrad does not take Nesterov"),
            Error::BackendUnavailable => {
                f.write_str("the kernel backend is not available on this machine")
            }
            Error::MinLrNotBelowMaxLr => f.write_str("min_lr is not below max_lr"),
            Error::MilestoneDecreasing { index } => {
                write!(f, "milestone {index} is smaller than the one before it")
            }
            Error::BoundariesNotIncreasing { index } => {
                write!(
                    f,
                    "boundary {index} is not positive and above the one before it"
                )
            }
            Error::EmptyTable => f.write_str("the learning-rate table is empty"),
            Error::PastTableEnd { step, len } => {
                write!(
                    f,
                    "step {step} is past the end of a learning-rate table of {len}"
                )
            }
            Error::GroupOutOfRange { tensor, group } => {
                write!(
                    f,
                    "tensor {tensor} names group {group}, which does not exist"
                )
            }
            Error::EmptyGroup { group } => write!(f, "group {group} has no tensor"),
            Error::TensorRows { tensor } => {
                write!(f, "tensor {tensor}'s row count does not divide its length")
            }
            Error::LayoutTooLarge => {
                f.write_str("the layout's tensors add up to too many elements")
            }
            Error::TableLengthsDiffer { group } => {
                write!(
                    f,
                    "group {group}'s learning-rate table differs in length from the others"
                )
            }
            Error::NoSuchGroup { group } => write!(f, "there is no group {group}"),
            Error::NotStatic { group } => write!(f, "group {group}'s learning rate is not static"),
            Error::NonFiniteGradient { index } => write!(f, "gradient {index} is not finite"),
            Error::TensorRange { start, end } => {
                write!(f, "tensors {start}..{end} are not a range of the layout")
            }
            Error::ElementRange { start, end } => write!(
                f,
                "elements {start}..{end} are not a range a step can be cut into"
            ),
            Error::StaleStep => f.write_str("the token does not belong to the step in progress"),
            Error::LayoutChanged => {
                f.write_str("the layout no longer adds up to the optimizer's length")
            }
            Error::StepOverflow => f.write_str("the step counter is at its maximum"),
            Error::SavedState(p) => write!(f, "saved state cannot be restored: {p:?}"),
        }
    }
}

impl core::error::Error for Error {}
