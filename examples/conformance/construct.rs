//! MindSpore's learning-rate calls as gradstep values: every `dynamic_lr` function and
//! `LearningRateSchedule` class, its arguments bound in signature order (by the `golden` crate).
//! The one mapping from MindSpore's names to gradstep's constructors, shared by the conformance
//! runner and, without `std`, by the Cortex-M4F firmware (`firmware/m4-check`).

use gradstep::Error;
use gradstep::lr::Schedule;
use gradstep::lr::dynamic::{self, DynamicLr};
use gradstep::lr::schedule::{
    CosineDecayLr, ExponentialDecayLr, InverseDecayLr, NaturalExpDecayLr, PolynomialDecayLr,
    WarmupLr,
};

/// A bound argument as gradstep takes it: a count is a `u32` (MindSpore's counts ≤ 0 become 0,
/// which gradstep rejects as MindSpore does).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Arg<'a> {
    Float(f64),
    Count(u32),
    Flag(bool),
    Counts(&'a [u32]),
    Floats(&'a [f64]),
}

fn float(a: &[Arg], i: usize) -> f64 {
    match a.get(i) {
        Some(Arg::Float(x)) => *x,
        _ => f64::NAN,
    }
}

fn count(a: &[Arg], i: usize) -> u32 {
    match a.get(i) {
        Some(Arg::Count(n)) => *n,
        _ => 0,
    }
}

fn flag(a: &[Arg], i: usize) -> bool {
    matches!(a.get(i), Some(Arg::Flag(true)))
}

/// The schedule class `name` with arguments `a`; `None` for a name gradstep does not have.
pub fn schedule(name: &str, a: &[Arg]) -> Option<Result<Schedule, Error>> {
    let (f, n, b) = (|i| float(a, i), |i| count(a, i), |i| flag(a, i));
    Some(match name {
        "ExponentialDecayLR" => {
            ExponentialDecayLr::new(f(0), f(1), n(2), b(3)).map(Schedule::ExponentialDecay)
        }
        "NaturalExpDecayLR" => {
            NaturalExpDecayLr::new(f(0), f(1), n(2), b(3)).map(Schedule::NaturalExpDecay)
        }
        "InverseDecayLR" => InverseDecayLr::new(f(0), f(1), n(2), b(3)).map(Schedule::InverseDecay),
        "CosineDecayLR" => CosineDecayLr::new(f(0), f(1), n(2)).map(Schedule::CosineDecay),
        "PolynomialDecayLR" => {
            PolynomialDecayLr::new(f(0), f(1), n(2), f(3), b(4)).map(Schedule::PolynomialDecay)
        }
        "WarmUpLR" => WarmupLr::new(f(0), n(1)).map(Schedule::Warmup),
        _ => return None,
    })
}

/// Hands the `dynamic_lr` function `name` with arguments `a` (validated by gradstep) to `then`;
/// `None` for a name gradstep does not have.
pub fn table<R>(
    name: &str,
    a: &[Arg],
    then: impl FnOnce(Result<&dyn DynamicLr, Error>) -> R,
) -> Option<R> {
    fn give<T: DynamicLr, R>(
        t: Result<T, Error>,
        then: impl FnOnce(Result<&dyn DynamicLr, Error>) -> R,
    ) -> R {
        match &t {
            Ok(t) => then(Ok(t)),
            Err(e) => then(Err(*e)),
        }
    }
    let (f, n, b) = (|i| float(a, i), |i| count(a, i), |i| flag(a, i));
    Some(match name {
        "piecewise_constant_lr" => match (a.first(), a.get(1)) {
            (Some(Arg::Counts(m)), Some(Arg::Floats(l))) => {
                give(dynamic::PiecewiseConstantTable::new(m, l), then)
            }
            _ => give(dynamic::PiecewiseConstantTable::new(&[], &[0.0]), then),
        },
        "exponential_decay_lr" => give(
            dynamic::ExponentialDecayTable::new(f(0), f(1), n(2), n(3), n(4), b(5)),
            then,
        ),
        "natural_exp_decay_lr" => give(
            dynamic::NaturalExpDecayTable::new(f(0), f(1), n(2), n(3), n(4), b(5)),
            then,
        ),
        "inverse_decay_lr" => give(
            dynamic::InverseDecayTable::new(f(0), f(1), n(2), n(3), n(4), b(5)),
            then,
        ),
        "cosine_decay_lr" => give(
            dynamic::CosineDecayTable::new(f(0), f(1), n(2), n(3), n(4)),
            then,
        ),
        "polynomial_decay_lr" => give(
            dynamic::PolynomialDecayTable::new(f(0), f(1), n(2), n(3), n(4), f(5), b(6)),
            then,
        ),
        "warmup_lr" => give(dynamic::WarmupTable::new(f(0), n(1), n(2), n(3)), then),
        _ => return None,
    })
}
