//! Learning-rate schedules: MindSpore's `LearningRateSchedule` classes, cosine decay with warm
//! restarts, and sequences of them.

use super::ptr::{Regions, put, slice};
use super::status::{Status, status};
use crate::error::Error;
use crate::lr::schedule::{
    CosineDecayLr, ExponentialDecayLr, InverseDecayLr, NaturalExpDecayLr, PolynomialDecayLr,
    WarmupLr,
};
use crate::lr::{CosineWarmRestarts, Lr, LrSchedule, Schedule, Sequence};

const SCHEDULE_EXPONENTIAL: u32 = 1;
const SCHEDULE_NATURAL_EXP: u32 = 2;
const SCHEDULE_INVERSE: u32 = 3;
const SCHEDULE_COSINE: u32 = 4;
const SCHEDULE_POLYNOMIAL: u32 = 5;
const SCHEDULE_WARMUP: u32 = 6;
const SCHEDULE_WARM_RESTARTS: u32 = 7;

/// A learning-rate schedule, filled by a `gradstep_schedule_*` constructor: opaque plain data
/// the caller keeps (on the stack, in a static) and never writes; checked whenever it is used.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CSchedule {
    /// gradstep's (its kind, flag, rounded parameters and step counts).
    pub _private: [u32; 8],
}

/// A schedule's fields, as [`CSchedule`] keeps them.
struct Fields {
    kind: u32,
    flag: u32,
    f: [f32; 4],
    n: [u32; 2],
}

impl CSchedule {
    /// An all-zero schedule, which is none (for out-parameters).
    pub const EMPTY: CSchedule = CSchedule { _private: [0; 8] };

    /// The plain data of a schedule.
    fn of(s: Schedule) -> CSchedule {
        let f = Self::fields(s);
        let [a, b, c, d] = f.f.map(f32::to_bits);
        CSchedule {
            _private: [f.kind, f.flag, a, b, c, d, f.n[0], f.n[1]],
        }
    }

    /// A schedule's fields.
    fn fields(s: Schedule) -> Fields {
        let flag = |b: bool| b as u32;
        match s {
            Schedule::ExponentialDecay(s) => Fields {
                kind: SCHEDULE_EXPONENTIAL,
                flag: flag(s.stair),
                f: [s.lr, s.rate, s.decay_steps, 0.0],
                n: [0, 0],
            },
            Schedule::NaturalExpDecay(s) => Fields {
                kind: SCHEDULE_NATURAL_EXP,
                flag: flag(s.stair),
                f: [s.lr, s.neg_rate, s.decay_steps, 0.0],
                n: [0, 0],
            },
            Schedule::InverseDecay(s) => Fields {
                kind: SCHEDULE_INVERSE,
                flag: flag(s.stair),
                f: [s.lr, s.rate, s.decay_steps, 0.0],
                n: [0, 0],
            },
            Schedule::CosineDecay(s) => Fields {
                kind: SCHEDULE_COSINE,
                flag: 0,
                f: [s.min, s.delta, 0.0, 0.0],
                n: [s.decay_steps, 0],
            },
            Schedule::PolynomialDecay(s) => Fields {
                kind: SCHEDULE_POLYNOMIAL,
                flag: flag(s.update),
                f: [s.diff, s.end, s.decay_steps, s.power],
                n: [0, 0],
            },
            Schedule::Warmup(s) => Fields {
                kind: SCHEDULE_WARMUP,
                flag: 0,
                f: [s.lr, 0.0, 0.0, 0.0],
                n: [s.warmup_steps, 0],
            },
            Schedule::CosineWarmRestarts(s) => Fields {
                kind: SCHEDULE_WARM_RESTARTS,
                flag: 0,
                f: [s.min, s.delta, 0.0, 0.0],
                n: [s.first_period, s.period_mult],
            },
        }
    }

    /// The schedule, if the data is one gradstep wrote: a known kind and positive step counts (a
    /// zero count would divide by zero or never end).
    pub(crate) fn schedule(&self) -> Option<Schedule> {
        let [kind, flag, a, b, c, d, n1, n2] = self._private;
        let [a, b, c, d] = [a, b, c, d].map(f32::from_bits);
        let stair = flag != 0;
        Some(match kind {
            SCHEDULE_EXPONENTIAL => Schedule::ExponentialDecay(ExponentialDecayLr {
                lr: a,
                rate: b,
                decay_steps: c,
                stair,
            }),
            SCHEDULE_NATURAL_EXP => Schedule::NaturalExpDecay(NaturalExpDecayLr {
                lr: a,
                neg_rate: b,
                decay_steps: c,
                stair,
            }),
            SCHEDULE_INVERSE => Schedule::InverseDecay(InverseDecayLr {
                lr: a,
                rate: b,
                decay_steps: c,
                stair,
            }),
            SCHEDULE_COSINE if n1 > 0 => Schedule::CosineDecay(CosineDecayLr {
                min: a,
                delta: b,
                decay_steps: n1,
            }),
            SCHEDULE_POLYNOMIAL => Schedule::PolynomialDecay(PolynomialDecayLr {
                diff: a,
                end: b,
                decay_steps: c,
                power: d,
                update: stair,
            }),
            SCHEDULE_WARMUP if n1 > 0 => Schedule::Warmup(WarmupLr {
                lr: a,
                warmup_steps: n1,
            }),
            SCHEDULE_WARM_RESTARTS if n1 > 0 && n2 > 0 => {
                Schedule::CosineWarmRestarts(CosineWarmRestarts {
                    min: a,
                    delta: b,
                    first_period: n1,
                    period_mult: n2,
                })
            }
            _ => return None,
        })
    }
}

/// A damaged schedule yields NaN, which every use rejects.
impl LrSchedule for CSchedule {
    fn lr(&self, step: u32) -> f32 {
        self.schedule().map_or(f32::NAN, |s| s.lr(step))
    }
}

/// # Safety
/// `out` must be valid for writing one schedule.
unsafe fn make(s: Result<Schedule, Error>, out: *mut CSchedule) -> Status {
    // SAFETY: the caller's contract.
    status(|| unsafe { put(out, CSchedule::of(s?)) })
}

/// MindSpore's `ExponentialDecayLR(learning_rate, decay_rate, decay_steps, is_stair)`.
///
/// # Safety
/// `out` must be valid for writing one `gradstep_schedule`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gradstep_schedule_exponential_decay(
    learning_rate: f64,
    decay_rate: f64,
    decay_steps: u32,
    is_stair: u32,
    out: *mut CSchedule,
) -> Status {
    let s = ExponentialDecayLr::new(learning_rate, decay_rate, decay_steps, is_stair != 0);
    // SAFETY: the caller's contract for `out`.
    unsafe { make(s.map(Schedule::ExponentialDecay), out) }
}

/// MindSpore's `NaturalExpDecayLR(learning_rate, decay_rate, decay_steps, is_stair)`.
///
/// # Safety
/// `out` must be valid for writing one `gradstep_schedule`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gradstep_schedule_natural_exp_decay(
    learning_rate: f64,
    decay_rate: f64,
    decay_steps: u32,
    is_stair: u32,
    out: *mut CSchedule,
) -> Status {
    let s = NaturalExpDecayLr::new(learning_rate, decay_rate, decay_steps, is_stair != 0);
    // SAFETY: the caller's contract for `out`.
    unsafe { make(s.map(Schedule::NaturalExpDecay), out) }
}

/// MindSpore's `InverseDecayLR(learning_rate, decay_rate, decay_steps, is_stair)`.
///
/// # Safety
/// `out` must be valid for writing one `gradstep_schedule`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gradstep_schedule_inverse_decay(
    learning_rate: f64,
    decay_rate: f64,
    decay_steps: u32,
    is_stair: u32,
    out: *mut CSchedule,
) -> Status {
    let s = InverseDecayLr::new(learning_rate, decay_rate, decay_steps, is_stair != 0);
    // SAFETY: the caller's contract for `out`.
    unsafe { make(s.map(Schedule::InverseDecay), out) }
}

/// MindSpore's `CosineDecayLR(min_lr, max_lr, decay_steps)`.
///
/// # Safety
/// `out` must be valid for writing one `gradstep_schedule`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gradstep_schedule_cosine_decay(
    min_lr: f64,
    max_lr: f64,
    decay_steps: u32,
    out: *mut CSchedule,
) -> Status {
    let s = CosineDecayLr::new(min_lr, max_lr, decay_steps);
    // SAFETY: the caller's contract for `out`.
    unsafe { make(s.map(Schedule::CosineDecay), out) }
}

/// MindSpore's `PolynomialDecayLR(learning_rate, end_learning_rate, decay_steps, power,
/// update_decay_steps)`.
///
/// # Safety
/// `out` must be valid for writing one `gradstep_schedule`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gradstep_schedule_polynomial_decay(
    learning_rate: f64,
    end_learning_rate: f64,
    decay_steps: u32,
    power: f64,
    update_decay_steps: u32,
    out: *mut CSchedule,
) -> Status {
    let s = PolynomialDecayLr::new(
        learning_rate,
        end_learning_rate,
        decay_steps,
        power,
        update_decay_steps != 0,
    );
    // SAFETY: the caller's contract for `out`.
    unsafe { make(s.map(Schedule::PolynomialDecay), out) }
}

/// MindSpore's `WarmUpLR(learning_rate, warmup_steps)`.
///
/// # Safety
/// `out` must be valid for writing one `gradstep_schedule`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gradstep_schedule_warmup(
    learning_rate: f64,
    warmup_steps: u32,
    out: *mut CSchedule,
) -> Status {
    let s = WarmupLr::new(learning_rate, warmup_steps);
    // SAFETY: the caller's contract for `out`.
    unsafe { make(s.map(Schedule::Warmup), out) }
}

/// Cosine decay with warm restarts (SGDR): periods `first_period · period_mult^i`, each
/// MindSpore's `CosineDecayLR(min_lr, max_lr, period)`.
///
/// # Safety
/// `out` must be valid for writing one `gradstep_schedule`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gradstep_schedule_cosine_warm_restarts(
    min_lr: f64,
    max_lr: f64,
    first_period: u32,
    period_mult: u32,
    out: *mut CSchedule,
) -> Status {
    let s = CosineWarmRestarts::new(min_lr, max_lr, first_period, period_mult);
    // SAFETY: the caller's contract for `out`.
    unsafe { make(s.map(Schedule::CosineWarmRestarts), out) }
}

/// A schedule's learning rate at `step` into `*out`: finite and ≥ 0, or an error.
///
/// # Safety
/// `schedule` must be valid for reading one `gradstep_schedule`, `out` for writing one float.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gradstep_schedule_lr(
    schedule: *const CSchedule,
    step: u32,
    out: *mut f32,
) -> Status {
    status(|| {
        Regions::<2>::new()
            .add(schedule, 1, false)
            .add(out, 1, true)
            .check()?;
        // SAFETY: the caller's contract for both pointers, which do not overlap (checked).
        unsafe {
            let s = slice(schedule, 1)?;
            let s = s[0].schedule().ok_or(Status::InvalidArgument)?;
            put(out, Lr::Schedule(&s).at(step)?)
        }
    })
}

/// The learning rate at `step` of schedules one after another: `schedules[0]` until
/// `boundaries[0]`, then `schedules[1]` from its step 0, and so on (`n_boundaries` is
/// `n_schedules − 1`, boundaries positive and strictly increasing).
///
/// # Safety
/// `schedules` and `boundaries` must be valid for `n_schedules` and `n_boundaries` reads (NULL
/// only for 0), `out` for writing one float.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gradstep_sequence_lr(
    schedules: *const CSchedule,
    n_schedules: usize,
    boundaries: *const u32,
    n_boundaries: usize,
    step: u32,
    out: *mut f32,
) -> Status {
    status(|| {
        Regions::<3>::new()
            .add(schedules, n_schedules, false)
            .add(boundaries, n_boundaries, false)
            .add(out, 1, true)
            .check()?;
        // SAFETY: the caller's contract for the arrays and the out-parameter, which do not
        // overlap (checked).
        unsafe {
            let (s, b) = (
                slice(schedules, n_schedules)?,
                slice(boundaries, n_boundaries)?,
            );
            if s.iter().any(|s| s.schedule().is_none()) {
                return Err(Status::InvalidArgument);
            }
            let seq = Sequence::new(s, b)?;
            put(out, Lr::Schedule(&seq).at(step)?)
        }
    })
}
