//! The `errors` section of the golden file: every case MindSpore 2.10.0 rejected or accepted,
//! mapped to what gradstep does with the same input — the same rejection as a typed error, the
//! same acceptance, a documented divergence, or a reason why the case cannot arise in gradstep's
//! API. `docs/ERRORS.md` holds the same table; this test renders it and checks the docs.

mod common;

use common::verdict::{self, BOOL_FLAG, Case, INT_FOR_FLOAT, NOT_A_NUMBER, Verdict::*, case, na};
use golden::Golden;
use gradstep::hyper::{GradPrep, MomentumStep, SgdStep};
use gradstep::lr::dynamic;
use gradstep::lr::schedule::{
    CosineDecayLr, ExponentialDecayLr, NaturalExpDecayLr, PolynomialDecayLr, WarmupLr,
};
use gradstep::lr::{Lr, PastEnd, Table};
use gradstep::{Buffer, Error, Param};
use gradstep::{Group, Tensor};
use gradstep::{Momentum, MomentumSettings};

const NOT_A_LIST: &str = "Rust's types: milestones and learning rates are slices";
const SHAPE: &str =
    "a learning rate is a value, a 1-D table or a schedule; a 2-D one cannot be built";
const NOT_A_LAYOUT: &str = "Rust's types: the parameters are a slice of tensor descriptors";
const ONE_GROUP_EACH: &str =
    "by construction: each tensor names one group, so no tensor can be in two groups or twice";
const LAYOUT_ORDER: &str =
    "by construction: the layout's order is the buffers' order, MindSpore's order_params";
const GROUP_STRUCT: &str = "Rust's types: a group is a struct with its fields, not a dict of keys";

/// A Momentum optimizer over `tensors` in one or two groups with the given learning rates and
/// weight decays.
fn momentum(tensors: &[Tensor], groups: &[(Lr, f64)]) -> Result<(), Error> {
    let make = |i: usize| Group::new(groups[i].0, groups[i].1, false);
    let s = MomentumSettings::new(0.9);
    let mut groups: Vec<Group> = (0..groups.len()).map(make).collect::<Result<_, _>>()?;
    Momentum::new(tensors, &mut groups[..], s).map(|_| ())
}

fn cases() -> Vec<Case> {
    use dynamic::*;
    let lr = Param::LearningRate;
    vec![
        // --- the parameter list ---
        na("params_None", NOT_A_LAYOUT),
        na("params_int", NOT_A_LAYOUT),
        case(
            "params_empty",
            Rejects(Error::EmptyGroup { group: 0 }),
            || momentum(&[], &[(Lr::Static(0.1), 0.0)]),
        ),
        na("params_mixed_param_and_dict", NOT_A_LAYOUT),
        na("params_not_parameters", NOT_A_LAYOUT),
        na("params_same_parameter_twice", ONE_GROUP_EACH),
        na(
            "params_two_parameters_same_name",
            "tensors have no names: a descriptor is a region of the buffers",
        ),
        // --- the optimizer's learning rate ---
        case("lr_negative", Rejects(Error::Negative(lr)), || {
            Lr::new_static(-0.1).map(|_| ())
        }),
        case("lr_zero", Accepts, || Lr::new_static(0.0).map(|_| ())),
        case("lr_nan", Rejects(Error::NotFinite(lr)), || {
            Lr::new_static(f64::NAN).map(|_| ())
        }),
        case("lr_inf", Rejects(Error::NotFinite(lr)), || {
            Lr::new_static(f64::INFINITY).map(|_| ())
        }),
        na("lr_int", INT_FOR_FLOAT),
        na("lr_bool", BOOL_FLAG),
        na("lr_None", NOT_A_NUMBER),
        na("lr_str", NOT_A_NUMBER),
        na("lr_np_float32", NOT_A_NUMBER),
        na("lr_np_float64", NOT_A_NUMBER),
        na("lr_tensor_2d", SHAPE),
        case(
            "lr_tensor_scalar_negative_accepted",
            Diverges(Error::Negative(lr)),
            || Lr::Static(-0.1).at(0).map(|_| ()),
        ),
        case(
            "lr_list_negative_accepted",
            Diverges(Error::Negative(lr)),
            || Table::new(&[-0.1, 0.2], PastEnd::Reject).map(|_| ()),
        ),
        case("lr_tensor_1d_len1_warns_only", Accepts, || {
            Lr::table(&[0.1]).map(|_| ())
        }),
        // --- weight decay, loss scale, momentum ---
        case(
            "weight_decay_negative",
            Rejects(Error::Negative(Param::WeightDecay)),
            || GradPrep::new(-0.1, 1.0).map(|_| ()),
        ),
        na("weight_decay_str", NOT_A_NUMBER),
        na("weight_decay_None", NOT_A_NUMBER),
        case("weight_decay_int", Accepts, || {
            GradPrep::new(1.0, 1.0).map(|_| ())
        }),
        case(
            "loss_scale_zero",
            Rejects(Error::NotPositive(Param::LossScale)),
            || GradPrep::new(0.0, 0.0).map(|_| ()),
        ),
        case(
            "loss_scale_negative",
            Rejects(Error::NotPositive(Param::LossScale)),
            || GradPrep::new(0.0, -1.0).map(|_| ()),
        ),
        na("loss_scale_str", NOT_A_NUMBER),
        na("momentum_int", INT_FOR_FLOAT),
        case(
            "momentum_negative",
            Rejects(Error::Negative(Param::Momentum)),
            || MomentumStep::new(0.1, -0.1, false, GradPrep::NONE).map(|_| ()),
        ),
        case("momentum_gt_1_accepted", Accepts, || {
            MomentumStep::new(0.1, 1.5, false, GradPrep::NONE).map(|_| ())
        }),
        case(
            "momentum_nan_accepted",
            Diverges(Error::NotFinite(Param::Momentum)),
            || MomentumStep::new(0.1, f64::NAN, false, GradPrep::NONE).map(|_| ()),
        ),
        na("use_nesterov_int", BOOL_FLAG),
        // --- SGD ---
        case(
            "sgd_nesterov_with_dampening",
            Rejects(Error::NesterovNeedsMomentum),
            || SgdStep::new(0.1, 0.9, 0.1, true, GradPrep::NONE).map(|_| ()),
        ),
        case(
            "sgd_nesterov_zero_momentum",
            Rejects(Error::NesterovNeedsMomentum),
            || SgdStep::new(0.1, 0.0, 0.0, true, GradPrep::NONE).map(|_| ()),
        ),
        case(
            "sgd_negative_dampening",
            Rejects(Error::Negative(Param::Dampening)),
            || SgdStep::new(0.1, 0.9, -0.1, false, GradPrep::NONE).map(|_| ()),
        ),
        case("sgd_momentum_int_ok", Accepts, || {
            SgdStep::new(0.1, 1.0, 0.0, false, GradPrep::NONE).map(|_| ())
        }),
        // --- parameter groups ---
        case(
            "group_empty_params",
            Rejects(Error::EmptyGroup { group: 1 }),
            || {
                momentum(
                    &[Tensor::vector(2, 0)],
                    &[(Lr::Static(0.1), 0.0), (Lr::Static(0.1), 0.0)],
                )
            },
        ),
        na("group_unknown_key", GROUP_STRUCT),
        na("group_missing_params_key", GROUP_STRUCT),
        na("group_non_parameter", NOT_A_LAYOUT),
        na("group_duplicate_param", ONE_GROUP_EACH),
        na("group_order_params_with_other_key", LAYOUT_ORDER),
        na("group_order_params_not_iterable", LAYOUT_ORDER),
        na("group_order_params_wrong_length", LAYOUT_ORDER),
        na("group_order_params_missing_member", LAYOUT_ORDER),
        na("group_order_params_empty_list_ignored", LAYOUT_ORDER),
        case(
            "group_lr_list_length_mismatch",
            Rejects(Error::TableLengthsDiffer { group: 1 }),
            || {
                let (a, b) = ([0.1, 0.2], [0.1, 0.2, 0.3]);
                momentum(
                    &[Tensor::vector(2, 0), Tensor::vector(2, 1)],
                    &[(Lr::table(&a)?, 0.0), (Lr::table(&b)?, 0.0)],
                )
            },
        ),
        // the default lr is simply another group's source in gradstep
        case(
            "group_lr_list_vs_default_list_mismatch",
            Rejects(Error::TableLengthsDiffer { group: 1 }),
            || {
                let (a, b) = ([0.1, 0.2], [0.1, 0.2, 0.3]);
                momentum(
                    &[Tensor::vector(2, 0), Tensor::vector(2, 1)],
                    &[(Lr::table(&a)?, 0.0), (Lr::table(&b)?, 0.0)],
                )
            },
        ),
        case(
            "group_weight_decay_negative",
            Rejects(Error::Negative(Param::WeightDecay)),
            || Group::new(Lr::new_static(0.1)?, -1.0, false).map(|_| ()),
        ),
        na("group_grad_centralization_not_bool", BOOL_FLAG),
        // --- dynamic_lr ---
        case(
            "piecewise_len_mismatch",
            Rejects(Error::LengthMismatch {
                buffer: Buffer::LearningRates,
                expected: 2,
                actual: 1,
            }),
            || piecewise_constant_len(&[1, 2], &[0.1]).map(|_| ()),
        ),
        na("piecewise_not_list", NOT_A_LIST),
        case(
            "piecewise_decreasing",
            Rejects(Error::MilestoneDecreasing { index: 1 }),
            || piecewise_constant_len(&[3, 2], &[0.1, 0.2]).map(|_| ()),
        ),
        case(
            "piecewise_zero_milestone",
            Rejects(Error::NotPositive(Param::Milestone)),
            || piecewise_constant_len(&[0, 2], &[0.1, 0.2]).map(|_| ()),
        ),
        na("piecewise_int_lr", INT_FOR_FLOAT),
        case(
            "piecewise_negative_lr_accepted",
            Diverges(Error::Negative(lr)),
            || piecewise_constant_len(&[1, 2], &[-0.1, 0.2]).map(|_| ()),
        ),
        na("exp_lr_int", INT_FOR_FLOAT),
        case("exp_lr_zero", Rejects(Error::NotPositive(lr)), || {
            exponential_decay_lr(0.0, 0.9, 10, 2, 1, false, &mut [0.0; 10])
        }),
        case(
            "exp_decay_rate_zero",
            Rejects(Error::NotPositive(Param::DecayRate)),
            || exponential_decay_lr(0.1, 0.0, 10, 2, 1, false, &mut [0.0; 10]),
        ),
        case(
            "exp_total_step_zero",
            Rejects(Error::NotPositive(Param::TotalStep)),
            || exponential_decay_lr(0.1, 0.9, 0, 2, 1, false, &mut []),
        ),
        na("exp_total_step_float", INT_FOR_FLOAT),
        na("exp_step_per_epoch_bool", BOOL_FLAG),
        na("exp_is_stair_int", BOOL_FLAG),
        case("exp_decay_rate_gt1_accepted", Accepts, || {
            exponential_decay_lr(0.1, 1.5, 3, 1, 1, false, &mut [0.0; 3])
        }),
        case(
            "cosine_min_ge_max",
            Rejects(Error::MinLrNotBelowMaxLr),
            || cosine_decay_lr(0.1, 0.1, 10, 1, 2, &mut [0.0; 10]),
        ),
        na("cosine_min_int", INT_FOR_FLOAT),
        case(
            "cosine_min_negative",
            Rejects(Error::Negative(Param::MinLr)),
            || cosine_decay_lr(-0.1, 0.1, 10, 1, 2, &mut [0.0; 10]),
        ),
        na("poly_end_int", INT_FOR_FLOAT),
        case(
            "poly_power_zero",
            Rejects(Error::NotPositive(Param::Power)),
            || polynomial_decay_lr(0.1, 0.01, 10, 1, 2, 0.0, false, &mut [0.0; 10]),
        ),
        case("poly_end_gt_lr_accepted", Accepts, || {
            polynomial_decay_lr(0.1, 0.5, 3, 1, 2, 1.0, false, &mut [0.0; 3])
        }),
        na("poly_update_not_bool", BOOL_FLAG),
        case("warmup_lr_zero_accepted", Accepts, || {
            warmup_lr(0.0, 3, 1, 1, &mut [0.0; 3])
        }),
        na("warmup_lr_int", INT_FOR_FLOAT),
        case(
            "warmup_epoch_zero",
            Rejects(Error::NotPositive(Param::WarmupEpoch)),
            || warmup_lr(0.1, 3, 1, 0, &mut [0.0; 3]),
        ),
        // --- schedules ---
        case(
            "ExponentialDecayLR_decay_steps_zero",
            Rejects(Error::NotPositive(Param::DecaySteps)),
            || ExponentialDecayLr::new(0.1, 0.9, 0, false).map(|_| ()),
        ),
        na("ExponentialDecayLR_lr_int", INT_FOR_FLOAT),
        na("ExponentialDecayLR_is_stair_int", BOOL_FLAG),
        case(
            "NaturalExpDecayLR_decay_rate_neg",
            Rejects(Error::NotPositive(Param::DecayRate)),
            || NaturalExpDecayLr::new(0.1, -0.9, 2, false).map(|_| ()),
        ),
        na("InverseDecayLR_decay_steps_float", INT_FOR_FLOAT),
        case(
            "CosineDecayLR_min_ge_max",
            Rejects(Error::MinLrNotBelowMaxLr),
            || CosineDecayLr::new(0.2, 0.1, 2).map(|_| ()),
        ),
        na("CosineDecayLR_min_int", INT_FOR_FLOAT),
        na("PolynomialDecayLR_power_int", INT_FOR_FLOAT),
        na("PolynomialDecayLR_end_int", INT_FOR_FLOAT),
        case("PolynomialDecayLR_end_gt_lr_accepted", Accepts, || {
            PolynomialDecayLr::new(0.1, 0.5, 2, 1.0, false).map(|_| ())
        }),
        case("WarmUpLR_lr_zero_accepted", Accepts, || {
            WarmupLr::new(0.0, 2).map(|_| ())
        }),
        case(
            "WarmUpLR_steps_zero",
            Rejects(Error::NotPositive(Param::WarmupSteps)),
            || WarmupLr::new(0.1, 0).map(|_| ()),
        ),
        na("WarmUpLR_lr_int", INT_FOR_FLOAT),
    ]
}

#[test]
fn every_case_behaves_as_mapped() {
    let errors = Golden::visible().errors("errors").unwrap();
    verdict::check(&cases(), &errors);
}

/// `GRADSTEP_BLESS=1 cargo test --test golden_errors` rewrites the table in docs/ERRORS.md.
#[test]
fn the_docs_table_is_current() {
    let errors = Golden::visible().errors("errors").unwrap();
    verdict::check_docs("table", &cases(), &errors);
}
