//! The constants of one update, validated once and rounded to `f32` exactly where MindSpore rounds
//! them (`docs/SEMANTICS.md` §1.4, §1.6, §2.2, §2.3; Adam's in [`AdamStep`] and [`AdamWStep`],
//! `docs/SEMANTICS-ADAM.md`).
//! `F(x)` below is round-to-nearest from `f64` to `f32`.

mod adam;

pub use adam::{AdamStep, AdamWStep, Betas};

use crate::double;
use crate::error::{Error, Param};
use crate::softf64;
use crate::validate::{learning_rate, non_negative, positive, round_f32};

/// Gradient preparation that precedes every update: coupled weight decay (§1.4) and loss-scale
/// unscaling (§1.6). Gradient centralization (§1.5) is per tensor and is given to the kernels
/// beside this value.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GradPrep {
    decay: Option<f32>,
    unscale: Option<f32>,
}

impl GradPrep {
    /// No weight decay, loss scale 1: the gradient is used as given.
    pub const NONE: GradPrep = GradPrep {
        decay: None,
        unscale: None,
    };

    /// Weight decay `wd` (finite, ≥ 0) and loss scale `L` (finite, > 0), as MindSpore stores them:
    /// the decay coefficient is `F(wd·L)` (the product taken in `f64`), applied only when
    /// `wd·L > 0`; the unscaling factor is `F(1/L)`, applied only when `L != 1`.
    pub fn new(weight_decay: f64, loss_scale: f64) -> Result<Self, Error> {
        let wd = non_negative(weight_decay, Param::WeightDecay)?;
        let scale = positive(loss_scale, Param::LossScale)?;
        // `wd * scale` and `1.0 / scale` in `f64`, on integers where the target has no `f64` FPU
        let scaled = double::product(wd, scale);
        let decay = if softf64::is_positive(scaled) {
            Some(round_f32(scaled, Param::WeightDecay)?)
        } else {
            None
        };
        let unscale = if !softf64::is_one(scale) {
            Some(round_f32(double::reciprocal(scale), Param::LossScale)?)
        } else {
            None
        };
        Ok(GradPrep { decay, unscale })
    }

    /// AdamWeightDecay's preparation: its weight decay `wd` (finite, ≥ 0) is decoupled, `F(wd)`
    /// multiplied in inside the update when `wd > 0`, and it has no loss scale. [`GradPrep::decay`]
    /// carries `F(wd)` to the rule, which does not add it to the gradient.
    pub fn decoupled(weight_decay: f64) -> Result<Self, Error> {
        let wd = non_negative(weight_decay, Param::WeightDecay)?;
        let decay = if softf64::is_positive(wd) {
            Some(round_f32(wd, Param::WeightDecay)?)
        } else {
            None
        };
        Ok(GradPrep {
            decay,
            unscale: None,
        })
    }

    /// Rebuilds a value from [`GradPrep::decay`] and [`GradPrep::unscale`] (for the C API, which
    /// keeps them as plain data).
    #[cfg(feature = "capi")]
    pub(crate) fn from_parts(decay: Option<f32>, unscale: Option<f32>) -> Self {
        GradPrep { decay, unscale }
    }

    /// The decay coefficient `F(wd·L)`, or `None` when weight decay is off.
    pub fn decay(&self) -> Option<f32> {
        self.decay
    }

    /// The unscaling factor `F(1/L)`, or `None` when the loss scale is 1.
    pub fn unscale(&self) -> Option<f32> {
        self.unscale
    }
}

/// The constants of one `ApplyMomentum` update (§2.1), or of its Nesterov form (`docs/DESIGN.md`
/// divergence 1).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MomentumStep {
    lr: f32,
    momentum: f32,
    nesterov: bool,
    prep: GradPrep,
}

impl MomentumStep {
    /// `lr` is the step's learning rate as the optimizer uses it (already `f32`: `lr(k)`), finite
    /// and ≥ 0; `momentum` is finite and ≥ 0 and is used as `F(momentum)`.
    pub fn new(lr: f32, momentum: f64, nesterov: bool, prep: GradPrep) -> Result<Self, Error> {
        let lr = learning_rate(lr)?;
        let momentum = round_f32(non_negative(momentum, Param::Momentum)?, Param::Momentum)?;
        Ok(MomentumStep {
            lr,
            momentum,
            nesterov,
            prep,
        })
    }

    /// These constants with the learning rate and gradient preparation of one tensor's step. The
    /// optimizer validates its constants once and calls this per tensor, with a learning rate
    /// already checked by [`crate::lr::Lr::at`] — no `f64` work on the step path (a Cortex-M4F has
    /// no double-precision FPU).
    pub(crate) fn with(self, lr: f32, prep: GradPrep) -> Self {
        MomentumStep { lr, prep, ..self }
    }

    /// The constants of a momentum `F(momentum)` kept by the C API.
    #[cfg(feature = "capi")]
    pub(crate) fn from_rounded(momentum: f32, nesterov: bool) -> Self {
        MomentumStep {
            lr: 0.0,
            momentum,
            nesterov,
            prep: GradPrep::NONE,
        }
    }

    /// The learning rate.
    pub fn lr(&self) -> f32 {
        self.lr
    }

    /// `F(momentum)`.
    pub fn momentum(&self) -> f32 {
        self.momentum
    }

    /// Whether the Nesterov form is used.
    pub fn nesterov(&self) -> bool {
        self.nesterov
    }

    /// The gradient preparation.
    pub fn prep(&self) -> &GradPrep {
        &self.prep
    }
}

/// The constants of one `nn.SGD` update (§2.3).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SgdStep {
    lr: f32,
    momentum: f32,
    dampening: f32,
    nesterov: bool,
    first: bool,
    prep: GradPrep,
}

impl SgdStep {
    /// `lr` finite and ≥ 0; `momentum` and `dampening` finite and ≥ 0, used as `F(·)`;
    /// `nesterov` needs `momentum > 0` and `dampening == 0`, as in MindSpore.
    ///
    /// The value describes a step after the first; see [`SgdStep::first_step`].
    pub fn new(
        lr: f32,
        momentum: f64,
        dampening: f64,
        nesterov: bool,
        prep: GradPrep,
    ) -> Result<Self, Error> {
        let lr = learning_rate(lr)?;
        let mom = non_negative(momentum, Param::Momentum)?;
        let damp = non_negative(dampening, Param::Dampening)?;
        if nesterov && (!softf64::is_positive(mom) || !softf64::is_zero(damp)) {
            return Err(Error::NesterovNeedsMomentum);
        }
        Ok(SgdStep {
            lr,
            momentum: round_f32(mom, Param::Momentum)?,
            dampening: round_f32(damp, Param::Dampening)?,
            nesterov,
            first: false,
            prep,
        })
    }

    /// Marks the optimizer's first step. MindSpore keeps a `stat` buffer of ones that the first
    /// step with momentum sets to zero; it is uniform over all elements, so a flag carries it:
    /// on the first step the momentum buffer takes the gradient as it is, without dampening.
    pub fn first_step(mut self, first: bool) -> Self {
        self.first = first;
        self
    }

    /// These constants with the learning rate and gradient preparation of one tensor's step (see
    /// [`MomentumStep::with`]).
    pub(crate) fn with(self, lr: f32, prep: GradPrep) -> Self {
        SgdStep { lr, prep, ..self }
    }

    /// The constants of `F(momentum)` and `F(dampening)` kept by the C API.
    #[cfg(feature = "capi")]
    pub(crate) fn from_rounded(momentum: f32, dampening: f32, nesterov: bool) -> Self {
        SgdStep {
            lr: 0.0,
            momentum,
            dampening,
            nesterov,
            first: false,
            prep: GradPrep::NONE,
        }
    }

    /// The learning rate.
    pub fn lr(&self) -> f32 {
        self.lr
    }

    /// `F(momentum)`. The update keeps no momentum buffer when this is 0 (MindSpore's `mom > 0`
    /// test is on the `f32` value).
    pub fn momentum(&self) -> f32 {
        self.momentum
    }

    /// `F(dampening)`.
    pub fn dampening(&self) -> f32 {
        self.dampening
    }

    /// Whether the Nesterov form is used.
    pub fn nesterov(&self) -> bool {
        self.nesterov
    }

    /// Whether this is the first step (see [`SgdStep::first_step`]).
    pub fn is_first(&self) -> bool {
        self.first
    }

    /// The gradient preparation.
    pub fn prep(&self) -> &GradPrep {
        &self.prep
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grad_prep_rounds_like_mindspore() {
        let p = GradPrep::new(0.01, 3.0).unwrap();
        // F(0.01·3.0) and F(1/3): the product and quotient in f64 (the host's FPU), rounded once
        assert_eq!(
            p.decay().unwrap().to_bits(),
            ((0.01f64 * 3.0) as f32).to_bits()
        );
        assert_eq!(
            p.unscale().unwrap().to_bits(),
            ((1.0f64 / 3.0) as f32).to_bits()
        );
        assert_eq!(GradPrep::new(0.0, 1.0).unwrap(), GradPrep::NONE);
        assert_eq!(GradPrep::new(0.0, 2.0).unwrap().decay(), None);
        assert_eq!(GradPrep::new(0.1, 1.0).unwrap().unscale(), None);
    }

    #[test]
    fn negative_zero_is_a_valid_zero() {
        // −0 ≥ 0: accepted wherever 0 is, and it switches off what 0 switches off (a fuzzer found
        // `GradPrep::new(-0.0, L)` panicking)
        assert_eq!(GradPrep::new(-0.0, 1.0).unwrap(), GradPrep::NONE);
        assert_eq!(GradPrep::new(-0.0, 2.0).unwrap().decay(), None);
        assert_eq!(GradPrep::new(0.5, 2.0).unwrap().decay(), Some(1.0));
        assert_eq!(
            GradPrep::new(0.0, -0.0),
            Err(Error::NotPositive(Param::LossScale))
        );
        let p = GradPrep::NONE;
        let m = MomentumStep::new(-0.0, -0.0, false, p).unwrap();
        assert_eq!(m.momentum().to_bits(), (-0.0f32).to_bits());
        assert!(SgdStep::new(0.1, 0.9, -0.0, true, p).is_ok());
        assert!(SgdStep::new(-0.0, 0.0, 0.0, false, p).is_ok());
    }

    #[test]
    fn grad_prep_rejects_bad_values() {
        use Param::*;
        assert_eq!(GradPrep::new(-0.1, 1.0), Err(Error::Negative(WeightDecay)));
        assert_eq!(
            GradPrep::new(f64::NAN, 1.0),
            Err(Error::NotFinite(WeightDecay))
        );
        assert_eq!(
            GradPrep::new(f64::INFINITY, 1.0),
            Err(Error::NotFinite(WeightDecay))
        );
        assert_eq!(GradPrep::new(0.0, 0.0), Err(Error::NotPositive(LossScale)));
        assert_eq!(GradPrep::new(0.0, -1.0), Err(Error::NotPositive(LossScale)));
        assert_eq!(
            GradPrep::new(0.0, f64::NAN),
            Err(Error::NotFinite(LossScale))
        );
        // finite in f64, infinite once rounded to f32
        assert_eq!(
            GradPrep::new(1e30, 1e10),
            Err(Error::NotFinite(WeightDecay))
        );
        assert_eq!(GradPrep::new(0.0, 1e-300), Err(Error::NotFinite(LossScale)));
    }

    #[test]
    fn steps_reject_bad_values() {
        use Param::*;
        let p = GradPrep::NONE;
        assert_eq!(
            MomentumStep::new(f32::NAN, 0.9, false, p),
            Err(Error::NotFinite(LearningRate))
        );
        assert_eq!(
            MomentumStep::new(f32::INFINITY, 0.9, false, p),
            Err(Error::NotFinite(LearningRate))
        );
        assert_eq!(
            MomentumStep::new(-0.1, 0.9, false, p),
            Err(Error::Negative(LearningRate))
        );
        assert_eq!(
            MomentumStep::new(0.1, -0.1, false, p),
            Err(Error::Negative(Momentum))
        );
        assert_eq!(
            MomentumStep::new(0.1, f64::NAN, false, p),
            Err(Error::NotFinite(Momentum))
        );
        assert_eq!(
            MomentumStep::new(0.1, 1e39, false, p),
            Err(Error::NotFinite(Momentum))
        );
        assert!(MomentumStep::new(0.0, 1.5, true, p).is_ok());
        assert_eq!(
            MomentumStep::new(0.1, 0.9, false, p)
                .unwrap()
                .momentum()
                .to_bits(),
            (0.9f64 as f32).to_bits()
        );

        assert_eq!(
            SgdStep::new(0.1, 0.9, 0.1, true, p),
            Err(Error::NesterovNeedsMomentum)
        );
        assert_eq!(
            SgdStep::new(0.1, 0.0, 0.0, true, p),
            Err(Error::NesterovNeedsMomentum)
        );
        assert_eq!(
            SgdStep::new(0.1, 0.9, -0.1, false, p),
            Err(Error::Negative(Dampening))
        );
        assert_eq!(
            SgdStep::new(0.1, -0.9, 0.0, false, p),
            Err(Error::Negative(Momentum))
        );
        assert_eq!(
            SgdStep::new(-1.0, 0.9, 0.0, false, p),
            Err(Error::Negative(LearningRate))
        );
        let s = SgdStep::new(0.1, 0.9, 0.0, true, p).unwrap();
        assert!(!s.is_first() && s.first_step(true).is_first());
    }
}
