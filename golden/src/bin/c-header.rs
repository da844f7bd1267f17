//! Writes the C test's golden header: `cargo run -p golden --bin c-header > tests/c/golden_trajectories.h`.
//!
//! The cases: every `dynamic_lr` and `schedules` case of the visible golden file that takes no
//! list argument, and the trajectories that cover a schedule with weight decay, a loss scale, SGD
//! with dampening, groups that mix static and dynamic learning rates, Adam with Nesterov,
//! AMSGrad, a schedule, and a tensor MindSpore splits over two kernel threads, and
//! AdamWeightDecay with groups and other betas.

use golden::Golden;

/// (file: 0 the Momentum/SGD one, 1 the Adam one; section; case name) of each replayed trajectory.
const CASES: [(usize, &str, &str); 11] = [
    (0, "momentum_trajectories", "momentum_cosine_schedule_wd"),
    (
        0,
        "momentum_trajectories",
        "momentum_weight_decay_loss_scale",
    ),
    (
        0,
        "momentum_trajectories",
        "momentum_groups_dynamic_list_plus_fixed",
    ),
    (0, "sgd_trajectories", "sgd"),
    (0, "sgd_trajectories", "sgd_groups_dynamic_list_plus_static"),
    (
        1,
        "adam_trajectories",
        "A06_groups_weight_decay_nesterov_threads1",
    ),
    (
        1,
        "adam_trajectories",
        "A08_loss_scale_1024_amsgrad_weight_decay_threads2",
    ),
    (
        1,
        "adam_trajectories",
        "A13_groups_schedules_toplevel_warmup_threads1",
    ),
    (1, "adam_trajectories", "A14_large_1003_threads2"),
    (
        1,
        "adamw_trajectories",
        "W03_groups_list_schedule_static_converted",
    ),
    (1, "adamw_trajectories", "W05_beta1_0.5_beta2_0.75_eps_1e-3"),
];

fn main() -> Result<(), String> {
    let files = [Golden::visible(), Golden::visible_adam()];
    let mut cases = vec![];
    for (file, section, name) in CASES {
        let found = files[file]
            .trajectories(section)
            .ok_or(format!("no section {section}"))?
            .into_iter()
            .find(|c| c.label.starts_with(&format!("{name} (")))
            .ok_or(format!("no case {name} in {section}"))?;
        cases.push(found.case?);
    }
    let source = golden::VISIBLE
        .map(|f| format!("tests/golden/{f}"))
        .join(" and ");
    let header = golden::c_header::render(&source, &files[0], &cases)?;
    print!("{header}");
    Ok(())
}
