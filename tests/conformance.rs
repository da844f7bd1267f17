//! The conformance runner (`examples/conformance`) on the visible golden file, and on edited
//! copies that show it is generic: arbitrary step lists, named arguments, missing sections,
//! mismatches reported with their bits, cases it cannot run counted as skipped, and the
//! divergence checks made against the right optimizer's formulas.

#[path = "../examples/conformance/construct.rs"]
mod construct;
#[path = "../examples/conformance/emulate.rs"]
mod emulate;
#[path = "../examples/conformance/runner.rs"]
mod runner;

use golden::Golden;
use runner::Section;
use serde_json::{Value, json};

fn section<'a>(report: &'a [Section], name: &str) -> &'a Section {
    report
        .iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("no section {name}"))
}

fn only(name: &str, cases: Value) -> Golden {
    Golden {
        value: json!({ name: cases }),
    }
}

fn visible() -> Value {
    Golden::visible().value
}

#[test]
fn the_visible_golden_file_passes_completely() {
    let golden = Golden::visible();
    let report = runner::run(&golden);
    for s in &report {
        println!("{s}");
        assert_eq!(s.failed, 0, "{s}");
        assert_eq!(s.skipped, 0, "{s}");
    }
    // every case of every section the file has, counted from the file
    let p = golden.primitive().unwrap().unwrap();
    let expected = [
        ("dynamic_lr", golden.dynamic_lr().unwrap().len()),
        ("schedules", golden.schedules().unwrap().len()),
        (
            "apply_momentum_primitive",
            p.runs.len() + p.documented_nesterov.is_some() as usize,
        ),
    ];
    let trajectories = golden::TRAJECTORY_SECTIONS
        .iter()
        .filter_map(|(key, _)| Some((*key, golden.trajectories(key)?.len())));
    let mut sections = 0;
    for (name, n) in expected.into_iter().chain(trajectories) {
        assert!(n > 0, "{name}");
        assert_eq!(section(&report, name).passed, n, "{name}");
        sections += 1;
    }
    assert_eq!(report.len(), sections);
}

#[test]
fn schedule_steps_may_be_any_list() {
    let mut case = visible()["schedules"][10].clone(); // PolynomialDecayLR(0.1, 0.013, 7, 3.0)
    let pick = [20usize, 3, 7, 0, 7];
    for key in ["values_direct_call", "lr_used_by_momentum_at_step_k"] {
        let values = case[key].as_array().unwrap().clone();
        case[key] = Value::Array(pick.iter().map(|&i| values[i].clone()).collect());
    }
    case["steps"] = json!(pick);
    let report = runner::run(&only("schedules", json!([case])));
    assert_eq!(section(&report, "schedules").passed, 1);
}

#[test]
fn arguments_may_be_named() {
    let mut case = visible()["dynamic_lr"][5].clone(); // exponential_decay_lr(0.1, 0.9, 10, 2, 2, is_stair=True)
    let args = case["args"].as_array().unwrap().clone();
    case["args"] = json!([args[0], args[1]]);
    case["kwargs"] = json!({
        "decay_epoch": args[4], "step_per_epoch": args[3], "total_step": args[2], "is_stair": true
    });
    let report = runner::run(&only("dynamic_lr", json!([case])));
    assert_eq!(section(&report, "dynamic_lr").passed, 1, "{:?}", report);
}

#[test]
fn a_wrong_bit_is_a_failure_with_its_bits() {
    let golden = visible();
    let mut case = golden["schedules"][7].clone(); // CosineDecayLR(0.01, 0.1, 7)
    case["values_direct_call"][3]["hex"] = json!("0x3d000001");
    let report = runner::run(&only("schedules", json!([case])));
    let s = section(&report, "schedules");
    assert_eq!((s.passed, s.failed), (0, 1));
    let why = s.first_failure.as_deref().unwrap();
    assert!(
        why.contains("step 3") && why.contains("0x3d000001"),
        "{why}"
    );

    let mut case = golden["dynamic_lr"][14].clone(); // cosine_decay_lr(0.01, 0.1, 10, 2, 3)
    case["values"][4]["f32"]["hex"] = json!("0x3c23d70b");
    let report = runner::run(&only("dynamic_lr", json!([case])));
    let s = section(&report, "dynamic_lr");
    assert_eq!(s.failed, 1);
    assert!(s.first_failure.as_deref().unwrap().contains("entry 4"));
}

#[test]
fn missing_sections_are_not_reported() {
    assert!(
        runner::run(&Golden {
            value: json!({"meta": {}})
        })
        .is_empty()
    );
}

#[test]
fn rejections_and_cases_it_cannot_run() {
    let cases = json!([
        // MindSpore raised (decay_rate 0): gradstep rejects too, a pass
        {"func": "exponential_decay_lr", "args": [0.1, 0.0, 10, 2, 1], "kwargs": {},
         "exception": "ValueError"},
        // MindSpore raised a TypeError (an int learning rate): the runner's binding rejects it too
        {"func": "exponential_decay_lr", "args": [1, 0.9, 10, 2, 1], "kwargs": {}, "exception": "TypeError"},
        // MindSpore accepted a negative learning rate: a documented divergence, skipped
        {"func": "piecewise_constant_lr", "args": [[1, 2], [-0.1, 0.2]], "kwargs": {},
         "values": [{"f64_hex": "-0x1.999999999999ap-4", "f32": {"hex": "0xbdcccccd"}},
                    {"f64_hex": "0x1.999999999999ap-3", "f32": {"hex": "0x3e4ccccd"}}]},
        // a function gradstep does not know
        {"func": "one_cycle_lr", "args": [0.1], "kwargs": {}, "values": []},
        // a step count beyond u32
        {"func": "warmup_lr", "args": [0.1, 10_000_000_000u64, 1, 1], "kwargs": {}, "values": []},
    ]);
    let report = runner::run(&only("dynamic_lr", cases));
    let s = section(&report, "dynamic_lr");
    println!("{s}");
    assert_eq!((s.passed, s.failed, s.skipped), (2, 0, 3));
    assert!(s.skip_reasons.keys().any(|k| k.contains("divergence")));
    assert!(
        s.skip_reasons
            .keys()
            .any(|k| k.contains("unknown function one_cycle_lr"))
    );
    assert!(
        s.skip_reasons
            .keys()
            .any(|k| k.contains("does not fit a u32"))
    );
}

#[test]
fn a_trajectory_off_by_one_bit_fails() {
    let mut case = visible()["momentum_trajectories"][3].clone(); // wd + loss scale 128
    let hex = case["steps"][2]["moments_after"][0]["hex"][1]
        .as_str()
        .unwrap()
        .to_string();
    let bits = u32::from_str_radix(hex.trim_start_matches("0x"), 16).unwrap() ^ 1;
    case["steps"][2]["moments_after"][0]["hex"][1] = json!(format!("{bits:#010x}"));
    let report = runner::run(&only("momentum_trajectories", json!([case])));
    let s = section(&report, "momentum_trajectories");
    assert_eq!(s.failed, 1);
    let why = s.first_failure.as_deref().unwrap();
    assert!(why.contains("step 2, state 0[0][1]"), "{why}");
}

#[test]
fn trajectory_learning_rates_in_any_form() {
    let golden = visible();
    // momentum_basic with its static 0.1 written as a list, one entry per step
    let mut listed = golden["momentum_trajectories"][0].clone();
    listed["config"]["learning_rate"] = json!([0.1, 0.1, 0.1, 0.1, 0.1]);
    // the cosine schedule with named arguments
    let mut named = golden["momentum_trajectories"][6].clone();
    assert_eq!(
        named["config"]["learning_rate"],
        json!("CosineDecayLR(0.01, 0.1, 4)")
    );
    named["config"]["learning_rate"] = json!("CosineDecayLR(0.01, max_lr=0.1, decay_steps=4)");
    let report = runner::run(&only("momentum_trajectories", json!([listed, named])));
    let s = section(&report, "momentum_trajectories");
    assert_eq!((s.passed, s.failed, s.skipped), (2, 0, 0), "{s}");
}

/// The grouped SGD cases diverge from MindSpore (a static group lr is used exactly): the runner
/// checks gradstep's semantics against SGD's formulas — dampening and the first-step rule — not
/// Momentum's, which give other bits.
#[test]
fn sgd_divergences_are_checked_against_sgd() {
    let golden = Golden::visible();
    let sgd = golden.trajectories("sgd_trajectories").unwrap();
    let grouped: Vec<_> = sgd
        .iter()
        .map(|c| c.case.as_ref().unwrap())
        .filter(|t| t.convert_to_cell)
        .collect();
    assert!(grouped.iter().any(|t| t.hyper.dampening > 0.0));
    let report = runner::run(&golden);
    let s = section(&report, "sgd_trajectories");
    let notes = s
        .notes
        .iter()
        .filter(|n| n.contains("DESIGN formulas"))
        .count();
    assert_eq!(notes, grouped.len(), "{s}");
    for t in grouped {
        let ours = runner::run_trajectory(t).unwrap();
        assert_eq!(emulate::emulate(t).unwrap(), ours, "{}", t.name);
        // under Momentum's formulas (no dampening, Momentum's Nesterov) the bits differ
        let mut as_momentum = t.clone();
        as_momentum.optimizer = golden::Optimizer::Momentum;
        assert!(t.hyper.dampening > 0.0 || t.hyper.nesterov);
        assert_ne!(emulate::emulate(&as_momentum).unwrap(), ours, "{}", t.name);
    }
}

/// Every Adam and AdamWeightDecay record (both `K`) passes, counted from the file.
#[test]
fn the_visible_adam_golden_file_passes_completely() {
    let golden = Golden::visible_adam();
    let report = runner::run(&golden);
    for s in &report {
        println!("{s}");
        assert_eq!((s.failed, s.skipped), (0, 0), "{s}");
    }
    let adam = golden.trajectories("adam_trajectories").unwrap();
    let adamw = golden.trajectories("adamw_trajectories").unwrap();
    assert_eq!(section(&report, "adam_trajectories").passed, adam.len());
    assert_eq!(section(&report, "adamw_trajectories").passed, adamw.len());
    assert_eq!(report.len(), 2);
    // both K of every Adam case
    for k in [1, 2] {
        let with_k = adam
            .iter()
            .filter(|c| c.case.as_ref().unwrap().hyper.threads == k)
            .count();
        assert_eq!(with_k * 2, adam.len(), "K = {k}");
    }
}

fn adam_case(name: &str) -> Value {
    let value = Golden::visible_adam().value;
    value["adam_trajectories"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no case {name}"))
        .clone()
}

/// `K` is honoured: the n = 1003 and n = 1100 cases recorded under `K` = 2 fail when run with
/// `K` = 1, at an element MindSpore's split moves between the formulas.
#[test]
fn adam_runs_with_the_recorded_threads() {
    for name in [
        "A14_large_1003_threads2",
        "A15_large_1100_nesterov_loss_scale_128_threads2",
    ] {
        let mut case = adam_case(name);
        case["config"]["mindspore_cpu_threads"] = json!(1);
        let report = runner::run(&only("adam_trajectories", json!([case])));
        let s = section(&report, "adam_trajectories");
        assert_eq!(s.failed, 1, "{name}: {s}");
    }
}

/// The beta powers are compared too: one bit off in a recorded `beta2_power` fails.
#[test]
fn adam_beta_powers_are_compared() {
    let mut case = adam_case("A01_plain_threads1");
    let hex = case["steps"][3]["beta2_power_after"]["hex"]
        .as_str()
        .unwrap()
        .to_string();
    let bits = u32::from_str_radix(hex.trim_start_matches("0x"), 16).unwrap() ^ 1;
    case["steps"][3]["beta2_power_after"]["hex"] = json!(format!("{bits:#010x}"));
    let report = runner::run(&only("adam_trajectories", json!([case])));
    let s = section(&report, "adam_trajectories");
    assert_eq!(s.failed, 1);
    let why = s.first_failure.as_deref().unwrap();
    assert!(why.contains("step 3, scalars[1]"), "{why}");
}

/// The independent emulation (the standard library's `mul_add`) gives gradstep's bits on every
/// Adam and AdamWeightDecay case it covers, and MindSpore's where MindSpore and gradstep agree:
/// it is a real second reading of the spec, not a copy of gradstep's run.
#[test]
fn adam_emulation_agrees_with_gradstep_and_mindspore() {
    let golden = Golden::visible_adam();
    let mut compared = 0;
    for key in ["adam_trajectories", "adamw_trajectories"] {
        for c in golden.trajectories(key).unwrap() {
            let t = c.case.unwrap();
            let (ran, quirks) = t.as_mindspore_ran();
            let emulated = emulate::emulate(&ran).unwrap();
            assert_eq!(
                runner::run_trajectory(&ran).unwrap(),
                emulated,
                "{}",
                t.name
            );
            if quirks.is_empty() {
                for (k, (e, st)) in emulated.iter().zip(&t.steps).enumerate() {
                    let bits = |v: &[Vec<f32>]| -> Vec<Vec<u32>> {
                        v.iter()
                            .map(|p| p.iter().map(|x| x.to_bits()).collect())
                            .collect()
                    };
                    assert_eq!(bits(&e.params), bits(&st.params), "{} step {k}", t.name);
                }
            }
            compared += 1;
        }
    }
    assert_eq!(compared, 38);
}
