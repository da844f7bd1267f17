//! The `adam_errors` section of the Adam golden file: every input MindSpore 2.10.0's `nn.Adam` and
//! `nn.AdamWeightDecay` rejected or accepted, mapped to what gradstep does with it (see
//! `golden_errors.rs`); `docs/ERRORS.md` holds the same table.

mod common;

use common::verdict::{self, BOOL_FLAG, Case, INT_FOR_FLOAT, NOT_A_NUMBER, Verdict::*, case, na};
use golden::Golden;
use gradstep::{
    Adam, AdamSettings, AdamWSettings, AdamWeightDecay, Error, Group, Lr, Param, Tensor,
};

const NO_LAZY: &str = "gradstep has no lazy (sparse) or offloaded Adam: its step is dense, \
    over the caller's buffers";
const NO_FIELD: &str = "Rust's types: the settings are a struct; an unknown field does not compile";
const NO_ADAMW_FIELD: &str =
    "Rust's types: AdamWSettings has no loss scale and no flags, as nn.AdamWeightDecay takes none";
const NO_LOCKING: &str = "use_locking has no effect in MindSpore; gradstep has no such setting";

/// One tensor of `shape`, in one group of `lr` and `weight_decay` with centralization `gc`.
fn with_group<T>(
    len: usize,
    rows: usize,
    lr: f64,
    weight_decay: f64,
    gc: bool,
    f: impl FnOnce(&[Tensor], [Group; 1]) -> Result<T, Error>,
) -> Result<T, Error> {
    let tensors = [Tensor {
        len,
        rows: std::num::NonZeroUsize::new(rows),
        group: 0,
    }];
    f(
        &tensors,
        [Group::new(Lr::new_static(lr)?, weight_decay, gc)?],
    )
}

/// `nn.Adam([w], …)` over a 3-element parameter.
fn adam(settings: AdamSettings) -> Result<(), Error> {
    adam_with(0.001, 0.0, settings)
}

fn adam_with(lr: f64, weight_decay: f64, settings: AdamSettings) -> Result<(), Error> {
    with_group(3, 0, lr, weight_decay, false, |t, g| {
        Adam::new(t, g, settings).map(|_| ())
    })
}

/// `nn.AdamWeightDecay([w], …)` over a 3-element parameter.
fn adamw(settings: AdamWSettings) -> Result<(), Error> {
    adamw_with(0.001, 0.0, settings)
}

fn adamw_with(lr: f64, weight_decay: f64, settings: AdamWSettings) -> Result<(), Error> {
    with_group(3, 0, lr, weight_decay, false, |t, g| {
        AdamWeightDecay::new(t, g, settings).map(|_| ())
    })
}

/// One step with all-ones gradients over a (4, `cols`) parameter whose group centralizes.
fn centralized_step(cols: usize, adamw: bool) -> Result<(), Error> {
    let n = 4 * cols;
    let (mut w, g) = (vec![1.0f32; n], vec![1.0f32; n]);
    with_group(n, 4, 0.01, 0.0, true, |t, groups| {
        if adamw {
            let mut opt = AdamWeightDecay::new(t, groups, AdamWSettings::new())?;
            let mut state = vec![0.0; opt.state_len()];
            opt.step(&mut w, &g, &mut state)
        } else {
            let mut opt = Adam::new(t, groups, AdamSettings::new())?;
            let mut state = vec![0.0; opt.state_len()];
            opt.step(&mut w, &g, &mut state)
        }
    })
}

fn cases() -> Vec<Case> {
    use Param::{Beta1, Beta2, Eps};
    vec![
        // --- nn.Adam: betas ---
        case("adam_beta1_zero", Rejects(Error::OutOfRange(Beta1)), || {
            adam(AdamSettings::new().with_betas(0.0, 0.999))
        }),
        case("adam_beta1_one", Rejects(Error::OutOfRange(Beta1)), || {
            adam(AdamSettings::new().with_betas(1.0, 0.999))
        }),
        case(
            "adam_beta1_negative",
            Rejects(Error::OutOfRange(Beta1)),
            || adam(AdamSettings::new().with_betas(-0.1, 0.999)),
        ),
        case("adam_beta1_gt_1", Rejects(Error::OutOfRange(Beta1)), || {
            adam(AdamSettings::new().with_betas(1.5, 0.999))
        }),
        case(
            "adam_beta1_nan_accepted",
            Diverges(Error::OutOfRange(Beta1)),
            || adam(AdamSettings::new().with_betas(f64::NAN, 0.999)),
        ),
        case("adam_beta1_tiny_accepted", Accepts, || {
            adam(AdamSettings::new().with_betas(1e-30, 0.999))
        }),
        case("adam_beta1_just_below_1_accepted", Accepts, || {
            adam(AdamSettings::new().with_betas(0.9999999, 0.999))
        }),
        case("adam_beta2_zero", Rejects(Error::OutOfRange(Beta2)), || {
            adam(AdamSettings::new().with_betas(0.9, 0.0))
        }),
        case("adam_beta2_one", Rejects(Error::OutOfRange(Beta2)), || {
            adam(AdamSettings::new().with_betas(0.9, 1.0))
        }),
        na("adam_beta1_int", INT_FOR_FLOAT),
        na("adam_beta2_int_zero", INT_FOR_FLOAT),
        na("adam_beta1_bool", BOOL_FLAG),
        na("adam_beta1_np_float32", NOT_A_NUMBER),
        na("adam_beta2_np_float32", NOT_A_NUMBER),
        case("adam_beta1_np_float64_accepted", Accepts, || {
            adam(AdamSettings::new().with_betas(0.9, 0.999))
        }),
        // --- eps ---
        case("adam_eps_zero", Rejects(Error::NotPositive(Eps)), || {
            adam(AdamSettings::new().with_eps(0.0))
        }),
        case(
            "adam_eps_negative",
            Rejects(Error::NotPositive(Eps)),
            || adam(AdamSettings::new().with_eps(-1e-8)),
        ),
        na("adam_eps_int", INT_FOR_FLOAT),
        na("adam_eps_np_float32", NOT_A_NUMBER),
        case("adam_eps_tiny_accepted", Accepts, || {
            adam(AdamSettings::new().with_eps(1e-45))
        }),
        case("adam_eps_inf", Rejects(Error::NotFinite(Eps)), || {
            adam(AdamSettings::new().with_eps(f64::INFINITY))
        }),
        case("adam_eps_nan", Rejects(Error::NotFinite(Eps)), || {
            adam(AdamSettings::new().with_eps(f64::NAN))
        }),
        na("adam_type_checks_before_range_checks", INT_FOR_FLOAT),
        // --- weight decay, loss scale, learning rate ---
        case(
            "adam_weight_decay_negative",
            Rejects(Error::Negative(Param::WeightDecay)),
            || adam_with(0.001, -0.1, AdamSettings::new()),
        ),
        case("adam_weight_decay_int_accepted", Accepts, || {
            adam_with(0.001, 1.0, AdamSettings::new())
        }),
        na("adam_weight_decay_str", NOT_A_NUMBER),
        case(
            "adam_weight_decay_inf",
            Rejects(Error::NotFinite(Param::WeightDecay)),
            || adam_with(0.001, f64::INFINITY, AdamSettings::new()),
        ),
        case(
            "adam_group_weight_decay_negative",
            Rejects(Error::Negative(Param::WeightDecay)),
            || adam_with(0.001, -0.5, AdamSettings::new()),
        ),
        case(
            "adam_loss_scale_zero",
            Rejects(Error::NotPositive(Param::LossScale)),
            || adam(AdamSettings::new().with_loss_scale(0.0)),
        ),
        case(
            "adam_loss_scale_negative",
            Rejects(Error::NotPositive(Param::LossScale)),
            || adam(AdamSettings::new().with_loss_scale(-1.0)),
        ),
        case("adam_loss_scale_int_accepted", Accepts, || {
            adam(AdamSettings::new().with_loss_scale(2.0))
        }),
        na("adam_loss_scale_str", NOT_A_NUMBER),
        case(
            "adam_learning_rate_negative",
            Rejects(Error::Negative(Param::LearningRate)),
            || adam_with(-0.1, 0.0, AdamSettings::new()),
        ),
        na("adam_learning_rate_np_float32", NOT_A_NUMBER),
        // --- flags and keywords ---
        na("adam_use_nesterov_int", BOOL_FLAG),
        na("adam_use_amsgrad_int", BOOL_FLAG),
        na("adam_use_locking_str", NO_LOCKING),
        na("adam_use_lazy_int", NO_LAZY),
        na("adam_use_offload_none", NO_LAZY),
        na("adam_unknown_kwarg", NO_FIELD),
        na("adam_use_lazy_and_use_offload", NO_LAZY),
        na("adam_use_lazy_with_amsgrad", NO_LAZY),
        // --- the order of the checks: gradstep's first error is MindSpore's where both apply ---
        case(
            "adam_order_optimizer_checks_before_kwargs",
            Rejects(Error::Negative(Param::WeightDecay)),
            || adam_with(0.001, -1.0, AdamSettings::new()),
        ),
        na("adam_order_kwargs_before_betas", NO_FIELD),
        case(
            "adam_order_betas_before_flags",
            Rejects(Error::OutOfRange(Beta1)),
            || {
                adam(
                    AdamSettings::new()
                        .with_betas(1.0, 0.999)
                        .with_nesterov(true)
                        .with_amsgrad(true),
                )
            },
        ),
        case("adam_all_positional_arguments_accepted", Accepts, || {
            adam_with(
                0.01,
                0.0,
                AdamSettings::new().with_nesterov(true).with_loss_scale(1.0),
            )
        }),
        // --- gradient centralization on CPU ---
        case(
            "adam_grad_centralization_eligible_first_step_cpu",
            RunsOnPurpose("gradient centralization runs on every target, DESIGN divergence 3"),
            || centralized_step(16, false),
        ),
        case(
            "adam_grad_centralization_ineligible_first_step_cpu",
            Accepts,
            || centralized_step(15, false),
        ),
        // --- nn.AdamWeightDecay ---
        case(
            "adamw_beta1_zero",
            Rejects(Error::OutOfRange(Beta1)),
            || adamw(AdamWSettings::new().with_betas(0.0, 0.999)),
        ),
        case("adamw_beta1_one", Rejects(Error::OutOfRange(Beta1)), || {
            adamw(AdamWSettings::new().with_betas(1.0, 0.999))
        }),
        case("adamw_beta2_one", Rejects(Error::OutOfRange(Beta2)), || {
            adamw(AdamWSettings::new().with_betas(0.9, 1.0))
        }),
        case(
            "adamw_beta2_negative",
            Rejects(Error::OutOfRange(Beta2)),
            || adamw(AdamWSettings::new().with_betas(0.9, -0.5)),
        ),
        na("adamw_beta1_int", INT_FOR_FLOAT),
        na("adamw_beta1_np_float32", NOT_A_NUMBER),
        case(
            "adamw_beta2_nan_accepted",
            Diverges(Error::OutOfRange(Beta2)),
            || adamw(AdamWSettings::new().with_betas(0.9, f64::NAN)),
        ),
        case("adamw_eps_zero", Rejects(Error::NotPositive(Eps)), || {
            adamw(AdamWSettings::new().with_eps(0.0))
        }),
        na("adamw_eps_int", INT_FOR_FLOAT),
        case("adamw_eps_tiny_accepted", Accepts, || {
            adamw(AdamWSettings::new().with_eps(1e-45))
        }),
        case(
            "adamw_weight_decay_negative",
            Rejects(Error::Negative(Param::WeightDecay)),
            || adamw_with(0.001, -0.1, AdamWSettings::new()),
        ),
        case("adamw_weight_decay_int_accepted", Accepts, || {
            adamw_with(0.001, 1.0, AdamWSettings::new())
        }),
        case(
            "adamw_learning_rate_negative",
            Rejects(Error::Negative(Param::LearningRate)),
            || adamw_with(-0.1, 0.0, AdamWSettings::new()),
        ),
        na("adamw_loss_scale_kwarg", NO_ADAMW_FIELD),
        na("adamw_loss_scale_1_kwarg", NO_ADAMW_FIELD),
        na("adamw_use_nesterov_kwarg", NO_ADAMW_FIELD),
        na("adamw_unknown_kwarg", NO_FIELD),
        case("adamw_all_positional_arguments_accepted", Accepts, || {
            adamw_with(
                0.01,
                0.01,
                AdamWSettings::new().with_betas(0.9, 0.999).with_eps(1e-6),
            )
        }),
        case(
            "adamw_grad_centralization_eligible_first_step_cpu",
            Accepts,
            || centralized_step(16, true),
        ),
    ]
}

#[test]
fn every_adam_case_behaves_as_mapped() {
    let errors = Golden::visible_adam().errors("adam_errors").unwrap();
    verdict::check(&cases(), &errors);
}

/// `GRADSTEP_BLESS=1 cargo test --test golden_errors_adam` rewrites the table in docs/ERRORS.md.
#[test]
fn the_adam_docs_table_is_current() {
    let errors = Golden::visible_adam().errors("adam_errors").unwrap();
    verdict::check_docs("adam table", &cases(), &errors);
}
