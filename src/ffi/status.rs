//! Status codes: what a C call did, one code per kind of error, each with a message.

use core::ffi::{CStr, c_char};

use crate::error::Error;

/// What a call did: `GRADSTEP_STATUS_OK`, or why it was rejected (nothing was changed).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// Done.
    Ok = 0,
    /// A pointer is NULL while its length is not 0.
    NullPointer = 1,
    /// A pointer is not aligned for its type.
    Misaligned = 2,
    /// Memory the call writes overlaps other memory it reads or writes.
    Overlap = 3,
    /// A kind, a backend or a length is not one gradstep knows, or a value gradstep wrote was
    /// changed.
    InvalidArgument = 4,
    /// The optimizer was not initialized by a `gradstep_*_init` call.
    Uninitialized = 5,
    /// A buffer's length differs from the length it must have.
    LengthMismatch = 10,
    /// A row count does not divide the length.
    BadRows = 11,
    /// A hyper-parameter is NaN or infinite (or overflows `float`).
    NotFinite = 12,
    /// A hyper-parameter that must be ≥ 0 is negative.
    Negative = 13,
    /// A hyper-parameter that must be > 0 is not.
    NotPositive = 14,
    /// SGD's Nesterov needs momentum > 0 and dampening 0.
    NesterovNeedsMomentum = 15,
    /// The kernel backend is not available on this CPU or in this build.
    BackendUnavailable = 16,
    /// A cosine decay's `min_lr` is not below its `max_lr`.
    MinLrNotBelowMaxLr = 17,
    /// A milestone is smaller than the one before it.
    MilestoneDecreasing = 18,
    /// A sequence's boundaries are not positive and strictly increasing.
    BoundariesNotIncreasing = 19,
    /// A learning-rate table, or a sequence of schedules, is empty.
    EmptyTable = 20,
    /// The step is past the end of a learning-rate table.
    PastTableEnd = 21,
    /// A tensor names a group that does not exist.
    GroupOutOfRange = 22,
    /// A group has no tensor.
    EmptyGroup = 23,
    /// A tensor's row count does not divide its length.
    TensorRows = 24,
    /// The layout adds up to too many elements.
    LayoutTooLarge = 25,
    /// Learning-rate tables that end in an error differ in length.
    TableLengthsDiffer = 26,
    /// There is no group with this index.
    NoSuchGroup = 27,
    /// The group's learning rate is not static.
    NotStatic = 28,
    /// A gradient is NaN or infinite (with `check_finite`).
    NonFiniteGradient = 29,
    /// A tensor range is out of the layout or reversed.
    TensorRange = 30,
    /// The token does not belong to the step in progress.
    StaleStep = 31,
    /// The step counter is at its maximum.
    StepOverflow = 32,
    /// Saved state that cannot be restored (damaged, or from another optimizer or layout).
    SavedState = 33,
    /// The tensors no longer add up to the length the optimizer was initialized with.
    LayoutChanged = 34,
    /// A hyper-parameter is outside its open interval (Adam's betas: strictly between 0 and 1).
    OutOfRange = 35,
    /// Adam's AMSGrad does not take Nesterov.
    AmsgradWithNesterov = 36,
    /// An element range is reversed, past the layout's end, or cuts a row of a centralized tensor.
    ElementRange = 37,
}

impl Status {
    /// Every status, for the message lookup.
    const ALL: [Status; 34] = [
        Status::Ok,
        Status::NullPointer,
        Status::Misaligned,
        Status::Overlap,
        Status::InvalidArgument,
        Status::Uninitialized,
        Status::LengthMismatch,
        Status::BadRows,
        Status::NotFinite,
        Status::Negative,
        Status::NotPositive,
        Status::NesterovNeedsMomentum,
        Status::BackendUnavailable,
        Status::MinLrNotBelowMaxLr,
        Status::MilestoneDecreasing,
        Status::BoundariesNotIncreasing,
        Status::EmptyTable,
        Status::PastTableEnd,
        Status::GroupOutOfRange,
        Status::EmptyGroup,
        Status::TensorRows,
        Status::LayoutTooLarge,
        Status::TableLengthsDiffer,
        Status::NoSuchGroup,
        Status::NotStatic,
        Status::NonFiniteGradient,
        Status::TensorRange,
        Status::StaleStep,
        Status::StepOverflow,
        Status::SavedState,
        Status::LayoutChanged,
        Status::OutOfRange,
        Status::AmsgradWithNesterov,
        Status::ElementRange,
    ];

    /// What the status means, in a sentence.
    fn message(self) -> &'static CStr {
        match self {
            Status::Ok => c"ok",
            Status::NullPointer => c"a pointer is NULL while its length is not 0",
            Status::Misaligned => c"a pointer is not aligned for its type",
            Status::Overlap => c"memory the call writes overlaps other memory it uses",
            Status::InvalidArgument => {
                c"a kind, backend or length gradstep does not know, or a value gradstep wrote was changed"
            }
            Status::Uninitialized => c"the optimizer was not initialized",
            Status::LengthMismatch => c"a buffer's length differs from the length it must have",
            Status::BadRows => c"a row count does not divide the length",
            Status::NotFinite => c"a hyper-parameter is NaN or infinite, or overflows float",
            Status::Negative => c"a hyper-parameter that must be at least 0 is negative",
            Status::NotPositive => c"a hyper-parameter that must be greater than 0 is not",
            Status::NesterovNeedsMomentum => c"nesterov needs momentum > 0 and dampening == 0",
            Status::BackendUnavailable => {
                c"the kernel backend is not available on this CPU or in this build"
            }
            Status::MinLrNotBelowMaxLr => c"min_lr is not below max_lr",
            Status::MilestoneDecreasing => c"a milestone is smaller than the one before it",
            Status::BoundariesNotIncreasing => {
                c"a sequence's boundaries are not positive and strictly increasing"
            }
            Status::EmptyTable => c"a learning-rate table, or a sequence of schedules, is empty",
            Status::PastTableEnd => c"the step is past the end of a learning-rate table",
            Status::GroupOutOfRange => c"a tensor names a group that does not exist",
            Status::EmptyGroup => c"a group has no tensor",
            Status::TensorRows => c"a tensor's row count does not divide its length",
            Status::LayoutTooLarge => c"the layout adds up to too many elements",
            Status::TableLengthsDiffer => {
                c"learning-rate tables that end in an error differ in length"
            }
            Status::NoSuchGroup => c"there is no group with this index",
            Status::NotStatic => c"the group's learning rate is not static",
            Status::NonFiniteGradient => c"a gradient is NaN or infinite",
            Status::TensorRange => c"the tensor range is out of the layout or reversed",
            Status::StaleStep => c"the token does not belong to the step in progress",
            Status::StepOverflow => c"the step counter is at its maximum",
            Status::SavedState => c"saved state that cannot be restored",
            Status::LayoutChanged => {
                c"the tensors no longer add up to the length the optimizer was initialized with"
            }
            Status::OutOfRange => c"a hyper-parameter is not strictly between 0 and 1",
            Status::AmsgradWithNesterov => c"AMSGrad does not take Nesterov",
            Status::ElementRange => {
                c"the element range is reversed, past the layout's end, or cuts a centralized row"
            }
        }
    }
}

impl From<Error> for Status {
    fn from(e: Error) -> Status {
        match e {
            Error::LengthMismatch { .. } => Status::LengthMismatch,
            Error::BadRows { .. } => Status::BadRows,
            Error::NotFinite(_) => Status::NotFinite,
            Error::Negative(_) => Status::Negative,
            Error::NotPositive(_) => Status::NotPositive,
            Error::NesterovNeedsMomentum => Status::NesterovNeedsMomentum,
            Error::BackendUnavailable => Status::BackendUnavailable,
            Error::MinLrNotBelowMaxLr => Status::MinLrNotBelowMaxLr,
            Error::MilestoneDecreasing { .. } => Status::MilestoneDecreasing,
            Error::BoundariesNotIncreasing { .. } => Status::BoundariesNotIncreasing,
            Error::EmptyTable => Status::EmptyTable,
            Error::PastTableEnd { .. } => Status::PastTableEnd,
            Error::GroupOutOfRange { .. } => Status::GroupOutOfRange,
            Error::EmptyGroup { .. } => Status::EmptyGroup,
            Error::TensorRows { .. } => Status::TensorRows,
            Error::LayoutTooLarge => Status::LayoutTooLarge,
            Error::TableLengthsDiffer { .. } => Status::TableLengthsDiffer,
            Error::NoSuchGroup { .. } => Status::NoSuchGroup,
            Error::NotStatic { .. } => Status::NotStatic,
            Error::NonFiniteGradient { .. } => Status::NonFiniteGradient,
            Error::TensorRange { .. } => Status::TensorRange,
            Error::StaleStep => Status::StaleStep,
            Error::StepOverflow => Status::StepOverflow,
            Error::SavedState(_) => Status::SavedState,
            Error::LayoutChanged => Status::LayoutChanged,
            Error::OutOfRange(_) => Status::OutOfRange,
            Error::AmsgradWithNesterov => Status::AmsgradWithNesterov,
            Error::ElementRange { .. } => Status::ElementRange,
        }
    }
}

/// Runs `f`; its error becomes a status.
pub(crate) fn status(f: impl FnOnce() -> Result<(), Status>) -> Status {
    match f() {
        Ok(()) => Status::Ok,
        Err(s) => s,
    }
}

impl From<Status> for Result<(), Status> {
    fn from(s: Status) -> Self {
        if s == Status::Ok { Ok(()) } else { Err(s) }
    }
}

/// A static message for a status code (also for codes this build does not know).
#[unsafe(no_mangle)]
pub extern "C" fn gradstep_status_message(status: i32) -> *const c_char {
    Status::ALL
        .into_iter()
        .find(|s| *s as i32 == status)
        .map_or(c"unknown status code", Status::message)
        .as_ptr()
}

/// The crate's version, e.g. `"0.2.0"`.
#[unsafe(no_mangle)]
pub extern "C" fn gradstep_version() -> *const c_char {
    const VERSION: &CStr =
        match CStr::from_bytes_with_nul(concat!(env!("CARGO_PKG_VERSION"), "\0").as_bytes()) {
            Ok(v) => v,
            Err(_) => c"unknown",
        };
    VERSION.as_ptr()
}
