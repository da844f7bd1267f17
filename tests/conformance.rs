//! The conformance runner (`examples/conformance`) on the visible golden file, and on edited
//! copies that show it is generic: arbitrary step lists, named arguments, missing sections,
//! mismatches reported with their bits, cases it cannot run counted as skipped.

#[path = "../examples/conformance/runner.rs"]
mod runner;

mod common;

use runner::Section;
use serde_json::{Value, json};

fn section<'a>(report: &'a [Section], name: &str) -> &'a Section {
    report
        .iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("no section {name}"))
}

fn only(name: &str, cases: Value) -> Value {
    json!({ name: cases })
}

#[test]
fn the_visible_golden_file_passes_completely() {
    let golden = common::golden();
    let report = runner::run(&golden);
    for s in &report {
        println!("{s}");
        assert_eq!(s.failed, 0, "{s}");
        assert_eq!(s.skipped, 0, "{s}");
    }
    let count = |key: &str| golden[key].as_array().unwrap().len();
    assert_eq!(section(&report, "dynamic_lr").passed, count("dynamic_lr"));
    assert_eq!(section(&report, "schedules").passed, count("schedules"));
    assert_eq!(section(&report, "apply_momentum_primitive").passed, 3);
    assert_eq!(
        section(&report, "momentum_trajectories").passed,
        count("momentum_trajectories")
    );
    assert_eq!(section(&report, "dense_network").passed, 1);
    assert_eq!(
        section(&report, "sgd_trajectories").passed,
        count("sgd_trajectories")
    );
}

#[test]
fn schedule_steps_may_be_any_list() {
    let golden = common::golden();
    let mut case = golden["schedules"][10].clone(); // PolynomialDecayLR(0.1, 0.013, 7, 3.0)
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
    let golden = common::golden();
    let mut case = golden["dynamic_lr"][5].clone(); // exponential_decay_lr(0.1, 0.9, 10, 2, 2, is_stair=True)
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
    let golden = common::golden();
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
    assert!(runner::run(&json!({"meta": {}})).is_empty());
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
    let golden = common::golden();
    let mut case = golden["momentum_trajectories"][3].clone(); // wd + loss scale 128
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
    assert!(why.contains("step 2, state[0][1]"), "{why}");
}

#[test]
fn trajectory_learning_rates_in_any_form() {
    let golden = common::golden();
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

#[test]
fn constructor_strings() {
    let c = runner::Call::parse("PolynomialDecayLR(0.1, 0.01, 4, 2.0, update_decay_steps=True)")
        .unwrap();
    assert_eq!(c.name, "PolynomialDecayLR");
    assert_eq!(c.args, vec![json!(0.1), json!(0.01), json!(4), json!(2.0)]);
    assert_eq!(c.kwargs["update_decay_steps"], json!(true));
    // floats are parsed exactly (the nearest double, as Python does)
    let c = runner::Call::parse("WarmUpLR(0.30000000000000004, 3)").unwrap();
    assert_eq!(
        c.args[0].as_f64().unwrap().to_bits(),
        0.30000000000000004f64.to_bits()
    );
    assert!(runner::Call::parse("WarmUpLR(lr=0.1, 3)").is_err());
    assert!(runner::Call::parse("WarmUpLR 0.1").is_err());
}
