//! The settings of each optimizer as C fills them, and their defaults (MindSpore's).

use super::backends::GRADSTEP_BACKEND_AUTO;
use crate::optim::{AdamSettings, AdamWSettings};

/// The settings of a Momentum optimizer (`gradstep_momentum_settings_default` fills them).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct CMomentumSettings {
    /// The momentum coefficient: finite, ≥ 0.
    pub momentum: f64,
    /// The loss scale the gradients arrive multiplied by: finite, > 0.
    pub loss_scale: f64,
    /// Nesterov: 0 or 1.
    pub nesterov: u32,
    /// Reject a step with a NaN or infinite gradient before writing: 0 or 1.
    pub check_finite: u32,
    /// A `GRADSTEP_BACKEND_*`.
    pub backend: u32,
}

/// The settings of an SGD optimizer (`gradstep_sgd_settings_default` fills them).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct CSgdSettings {
    /// The momentum coefficient: finite, ≥ 0.
    pub momentum: f64,
    /// The dampening: finite, ≥ 0.
    pub dampening: f64,
    /// The loss scale: finite, > 0.
    pub loss_scale: f64,
    /// Nesterov (needs momentum > 0 and dampening 0): 0 or 1.
    pub nesterov: u32,
    /// As in the Momentum settings.
    pub check_finite: u32,
    /// A `GRADSTEP_BACKEND_*`.
    pub backend: u32,
}

/// The settings of an Adam optimizer (`gradstep_adam_settings_default` fills them).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct CAdamSettings {
    /// `β1`: strictly between 0 and 1.
    pub beta1: f64,
    /// `β2`: strictly between 0 and 1.
    pub beta2: f64,
    /// `eps`: finite, > 0.
    pub eps: f64,
    /// The loss scale: finite, > 0.
    pub loss_scale: f64,
    /// Nesterov: 0 or 1.
    pub nesterov: u32,
    /// AMSGrad (a third state buffer; not with Nesterov): 0 or 1.
    pub amsgrad: u32,
    /// MindSpore's kernel threads `K` (≥ 1), which decide the formula of each element of a tensor
    /// of more than 1000 values.
    pub threads: u32,
    /// As in the Momentum settings.
    pub check_finite: u32,
    /// A `GRADSTEP_BACKEND_*`.
    pub backend: u32,
}

/// The settings of an AdamWeightDecay optimizer (`gradstep_adamw_settings_default` fills them).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct CAdamWSettings {
    /// `β1`: strictly between 0 and 1.
    pub beta1: f64,
    /// `β2`: strictly between 0 and 1.
    pub beta2: f64,
    /// `eps`: finite, > 0.
    pub eps: f64,
    /// As in the Momentum settings.
    pub check_finite: u32,
    /// A `GRADSTEP_BACKEND_*`.
    pub backend: u32,
}

/// `momentum`, no Nesterov, loss scale 1, no gradient check, the widest backend.
#[unsafe(no_mangle)]
pub extern "C" fn gradstep_momentum_settings_default(momentum: f64) -> CMomentumSettings {
    CMomentumSettings {
        momentum,
        loss_scale: 1.0,
        nesterov: 0,
        check_finite: 0,
        backend: GRADSTEP_BACKEND_AUTO,
    }
}

/// MindSpore's defaults: no momentum, no dampening, no Nesterov, loss scale 1.
#[unsafe(no_mangle)]
pub extern "C" fn gradstep_sgd_settings_default() -> CSgdSettings {
    CSgdSettings {
        momentum: 0.0,
        dampening: 0.0,
        loss_scale: 1.0,
        nesterov: 0,
        check_finite: 0,
        backend: GRADSTEP_BACKEND_AUTO,
    }
}

/// MindSpore's defaults: `β1` 0.9, `β2` 0.999, `eps` 1e-8, loss scale 1, no Nesterov, no
/// AMSGrad, `K` = 1; no gradient check, the widest backend.
#[unsafe(no_mangle)]
pub extern "C" fn gradstep_adam_settings_default() -> CAdamSettings {
    let d = AdamSettings::new();
    CAdamSettings {
        beta1: d.beta1,
        beta2: d.beta2,
        eps: d.eps,
        loss_scale: d.loss_scale,
        nesterov: 0,
        amsgrad: 0,
        threads: d.threads,
        check_finite: 0,
        backend: GRADSTEP_BACKEND_AUTO,
    }
}

/// MindSpore's defaults: `β1` 0.9, `β2` 0.999, `eps` 1e-6; no gradient check, the widest backend.
#[unsafe(no_mangle)]
pub extern "C" fn gradstep_adamw_settings_default() -> CAdamWSettings {
    let d = AdamWSettings::new();
    CAdamWSettings {
        beta1: d.beta1,
        beta2: d.beta2,
        eps: d.eps,
        check_finite: 0,
        backend: GRADSTEP_BACKEND_AUTO,
    }
}
