//! Writes the C test's golden header: `cargo run -p golden --bin c-header > tests/c/golden_trajectories.h`.
//!
//! The cases: every `dynamic_lr` and `schedules` case of the visible golden file that takes no
//! list argument, and the trajectories that cover a schedule with weight decay, a loss scale, SGD
//! with dampening, and groups that mix static and dynamic learning rates.

use golden::Golden;

/// (section, case name) of each replayed trajectory.
const CASES: [(&str, &str); 5] = [
    ("momentum_trajectories", "momentum_cosine_schedule_wd"),
    ("momentum_trajectories", "momentum_weight_decay_loss_scale"),
    (
        "momentum_trajectories",
        "momentum_groups_dynamic_list_plus_fixed",
    ),
    ("sgd_trajectories", "sgd"),
    ("sgd_trajectories", "sgd_groups_dynamic_list_plus_static"),
];

fn main() -> Result<(), String> {
    let golden = Golden::visible();
    let mut cases = vec![];
    for (section, name) in CASES {
        let found = golden
            .trajectories(section)
            .ok_or(format!("no section {section}"))?
            .into_iter()
            .find(|c| c.label.starts_with(&format!("{name} (")))
            .ok_or(format!("no case {name} in {section}"))?;
        cases.push(found.case?);
    }
    let header = golden::c_header::render("tests/golden/golden-2.10.0.json", &golden, &cases)?;
    print!("{header}");
    Ok(())
}
