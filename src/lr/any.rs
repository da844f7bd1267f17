//! Any of the schedules as one `Copy` value, for tables of groups and for the C API.

use super::compose::CosineWarmRestarts;
use super::schedule::{
    CosineDecayLr, ExponentialDecayLr, InverseDecayLr, NaturalExpDecayLr, PolynomialDecayLr,
    WarmupLr,
};
use super::source::LrSchedule;

/// Any of MindSpore's schedules, or cosine decay with warm restarts.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Schedule {
    /// `ExponentialDecayLR`.
    ExponentialDecay(ExponentialDecayLr),
    /// `NaturalExpDecayLR`.
    NaturalExpDecay(NaturalExpDecayLr),
    /// `InverseDecayLR`.
    InverseDecay(InverseDecayLr),
    /// `CosineDecayLR`.
    CosineDecay(CosineDecayLr),
    /// `PolynomialDecayLR`.
    PolynomialDecay(PolynomialDecayLr),
    /// `WarmUpLR`.
    Warmup(WarmupLr),
    /// Cosine decay with warm restarts (SGDR).
    CosineWarmRestarts(CosineWarmRestarts),
}

impl LrSchedule for Schedule {
    fn lr(&self, step: u32) -> f32 {
        match self {
            Schedule::ExponentialDecay(s) => s.lr(step),
            Schedule::NaturalExpDecay(s) => s.lr(step),
            Schedule::InverseDecay(s) => s.lr(step),
            Schedule::CosineDecay(s) => s.lr(step),
            Schedule::PolynomialDecay(s) => s.lr(step),
            Schedule::Warmup(s) => s.lr(step),
            Schedule::CosineWarmRestarts(s) => s.lr(step),
        }
    }
}
