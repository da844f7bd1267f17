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
}

impl Buffer {
    /// The buffer's name.
    pub const fn name(self) -> &'static str {
        match self {
            Buffer::Grads => "grads",
            Buffer::State => "state",
        }
    }
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
    /// A centralized tensor's row count is zero or does not divide its length.
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
    /// The requested kernel path is not available on this CPU or in this build.
    PathUnavailable,
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
                "row count {rows} is zero or does not divide the tensor length {len}"
            ),
            Error::NotFinite(p) => write!(f, "{} is not finite", p.name()),
            Error::Negative(p) => write!(f, "{} is negative", p.name()),
            Error::NotPositive(p) => write!(f, "{} is not greater than 0", p.name()),
            Error::NesterovNeedsMomentum => {
                f.write_str("nesterov needs momentum > 0 and dampening == 0")
            }
            Error::PathUnavailable => f.write_str("kernel path not available on this machine"),
        }
    }
}

impl core::error::Error for Error {}
