//! The kernel-level golden cases of MindSpore 2.10.0, bit for bit, on the reference and on every
//! kernel path: `apply_momentum_primitive` and `sgd_trajectories`.

mod common;

use common::{assert_same, f32_of, f32s_of, golden};
use gradstep::hyper::{GradPrep, MomentumStep, SgdStep};
use gradstep::kernel::{self, Path};
use gradstep::reference;
use serde_json::Value;

fn paths() -> Vec<Path> {
    Path::ALL.into_iter().filter(|p| p.is_available()).collect()
}

/// One implementation of the momentum step: the reference, or a kernel path.
type MomentumFn = dyn Fn(&mut [f32], &[f32], &mut [f32], &MomentumStep);

fn momentum_impls() -> Vec<(String, Box<MomentumFn>)> {
    let mut v: Vec<(String, Box<MomentumFn>)> = vec![(
        "reference".into(),
        Box::new(|w, g, m, s| reference::momentum(w, g, m, None, s).unwrap()),
    )];
    for p in paths() {
        v.push((
            p.name().into(),
            Box::new(move |w, g, m, s| kernel::momentum_on(p, w, g, m, None, s).unwrap()),
        ));
    }
    v
}

#[test]
fn apply_momentum_primitive() {
    let case = &golden()["apply_momentum_primitive"];
    let inputs = &case["inputs"];
    let var = f32s_of(&inputs["variable"]);
    let acc = f32s_of(&inputs["accumulation"]);
    let grad = f32s_of(&inputs["gradient"]);
    let lr = f32_of(&inputs["learning_rate"]);
    // The recorded f32 momentum, passed as the f64 it came from rounds back to the same bits.
    let mu = f32_of(&inputs["momentum"]) as f64;

    let runs = case["runs"].as_array().unwrap();
    let plain = runs.iter().find(|r| r["use_nesterov"] == false).unwrap();
    let nesterov_cpu = runs.iter().find(|r| r["use_nesterov"] == true).unwrap();
    // MindSpore's CPU kernel ignores use_nesterov (SEMANTICS G1): both runs are identical.
    assert_eq!(
        f32s_of(&plain["variable_after"]),
        f32s_of(&nesterov_cpu["variable_after"])
    );
    // gradstep implements the documented Nesterov formula instead (DESIGN divergence 1); the
    // golden file carries a numpy emulation of exactly that formula.
    let documented = &case["reference_only_gpu_nesterov_formula_numpy"];

    for (name, run) in momentum_impls() {
        for (nesterov, expected) in [(false, plain), (true, documented)] {
            let step = MomentumStep::new(lr, mu, nesterov, GradPrep::NONE).unwrap();
            let (mut w, mut m) = (var.clone(), acc.clone());
            run(&mut w, &grad, &mut m, &step);
            let what = format!("{name}, nesterov {nesterov}");
            assert_same(&w, &f32s_of(&expected["variable_after"]), &what);
            assert_same(&m, &f32s_of(&expected["accumulation_after"]), &what);
        }
    }
}

/// One implementation of the SGD step: the reference, or a kernel path.
type SgdFn = dyn Fn(&mut [f32], &[f32], &mut [f32], &SgdStep);

fn sgd_impls() -> Vec<(String, Box<SgdFn>)> {
    let mut v: Vec<(String, Box<SgdFn>)> = vec![(
        "reference".into(),
        Box::new(|w, g, a, s| reference::sgd(w, g, a, None, s).unwrap()),
    )];
    for p in paths() {
        v.push((
            p.name().into(),
            Box::new(move |w, g, a, s| kernel::sgd_on(p, w, g, a, None, s).unwrap()),
        ));
    }
    v
}

fn num(v: &Value) -> f64 {
    v.as_f64().unwrap()
}

#[test]
fn sgd_trajectories() {
    let cases = golden()["sgd_trajectories"].as_array().unwrap().clone();
    assert_eq!(cases.len(), 3);
    for case in &cases {
        let cfg = &case["config"];
        let prep = GradPrep::new(num(&cfg["weight_decay"]), 1.0).unwrap();
        let step = SgdStep::new(
            num(&cfg["learning_rate"]) as f32,
            num(&cfg["momentum"]),
            num(&cfg["dampening"]),
            cfg["nesterov"].as_bool().unwrap(),
            prep,
        )
        .unwrap();
        for (name, run) in sgd_impls() {
            let mut params: Vec<Vec<f32>> = case["initial_params"]
                .as_array()
                .unwrap()
                .iter()
                .map(f32s_of)
                .collect();
            // MindSpore initialises `accum` to zeros.
            let mut accum: Vec<Vec<f32>> = params.iter().map(|p| vec![0.0; p.len()]).collect();
            for (k, rec) in case["steps"].as_array().unwrap().iter().enumerate() {
                let step = step.first_step(k == 0);
                let grads = rec["grads_in"].as_array().unwrap();
                for (t, g) in grads.iter().enumerate() {
                    run(&mut params[t], &f32s_of(g), &mut accum[t], &step);
                    let what = format!("{name}, config {cfg}, step {k}, tensor {t}");
                    assert_same(&params[t], &f32s_of(&rec["params_after"][t]), &what);
                    assert_same(&accum[t], &f32s_of(&rec["accum_after"][t]), &what);
                }
            }
        }
    }
}
