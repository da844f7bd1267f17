//! The kernel-level golden cases of MindSpore 2.10.0, bit for bit, on the reference and on every
//! kernel backend: `apply_momentum_primitive`, and every ungrouped `sgd_trajectories` case (one
//! kernel call per tensor and step, the first-step rule included).

mod common;

use common::assert_same;
use golden::{Golden, LrSpec};
use gradstep::hyper::{GradPrep, MomentumStep, SgdStep};
use gradstep::kernel::{self, Backend};
use gradstep::reference;

fn backends() -> Vec<Backend> {
    Backend::ALL
        .into_iter()
        .filter(|p| p.is_available())
        .collect()
}

/// One implementation of the momentum step: the reference, or a kernel backend.
type MomentumFn = dyn Fn(&mut [f32], &[f32], &mut [f32], &MomentumStep);

fn momentum_impls() -> Vec<(String, Box<MomentumFn>)> {
    let mut v: Vec<(String, Box<MomentumFn>)> = vec![(
        "reference".into(),
        Box::new(|w, g, m, s| reference::momentum(w, g, m, None, s).unwrap()),
    )];
    for p in backends() {
        v.push((
            p.name().into(),
            Box::new(move |w, g, m, s| kernel::momentum_on(p, w, g, m, None, s).unwrap()),
        ));
    }
    v
}

#[test]
fn apply_momentum_primitive() {
    let p = Golden::visible().primitive().unwrap().unwrap();
    // MindSpore's CPU kernel ignores use_nesterov (SEMANTICS G1): every run is plain momentum.
    assert!(p.runs.len() >= 2 && p.runs.iter().any(|r| r.0));
    for r in &p.runs[1..] {
        assert_same(&r.1, &p.runs[0].1, "use_nesterov changes nothing on CPU");
    }
    // gradstep implements the documented Nesterov formula instead (DESIGN divergence 1); the
    // golden file carries a numpy emulation of exactly that formula.
    let documented = p.documented_nesterov.as_ref().unwrap();
    for (name, run) in momentum_impls() {
        for (nesterov, (want_w, want_m)) in [
            (false, (&p.runs[0].1, &p.runs[0].2)),
            (true, (&documented.0, &documented.1)),
        ] {
            // the recorded f32 momentum, passed as the f64 it came from, rounds back to its bits
            let step =
                MomentumStep::new(p.learning_rate, p.momentum as f64, nesterov, GradPrep::NONE)
                    .unwrap();
            let (mut w, mut m) = (p.variable.clone(), p.accumulation.clone());
            run(&mut w, &p.gradient, &mut m, &step);
            let what = format!("{name}, nesterov {nesterov}");
            assert_same(&w, want_w, &what);
            assert_same(&m, want_m, &what);
        }
    }
}

/// One implementation of the SGD step: the reference, or a kernel backend.
type SgdFn = dyn Fn(&mut [f32], &[f32], &mut [f32], &SgdStep);

fn sgd_impls() -> Vec<(String, Box<SgdFn>)> {
    let mut v: Vec<(String, Box<SgdFn>)> = vec![(
        "reference".into(),
        Box::new(|w, g, a, s| reference::sgd(w, g, a, None, s).unwrap()),
    )];
    for p in backends() {
        v.push((
            p.name().into(),
            Box::new(move |w, g, a, s| kernel::sgd_on(p, w, g, a, None, s).unwrap()),
        ));
    }
    v
}

#[test]
fn sgd_trajectories() {
    let cases = Golden::visible().trajectories("sgd_trajectories").unwrap();
    let mut replayed = 0;
    for c in &cases {
        let t = c.case.as_ref().unwrap();
        // one static learning rate for all: a kernel call per tensor is the whole step
        let [group, rest @ ..] = t.groups.as_slice() else {
            panic!("{}: no parameter", c.label)
        };
        let LrSpec::Static(lr) = group.lr else {
            continue;
        };
        if rest.iter().any(|g| g != group) {
            continue;
        }
        let h = &t.hyper;
        let prep = GradPrep::new(group.weight_decay, h.loss_scale).unwrap();
        let step = SgdStep::new(lr as f32, h.momentum, h.dampening, h.nesterov, prep).unwrap();
        for (name, run) in sgd_impls() {
            let mut params: Vec<Vec<f32>> = t.params.iter().map(|p| p.initial.clone()).collect();
            // MindSpore initialises `accum` to zeros.
            let mut accum: Vec<Vec<f32>> = params.iter().map(|p| vec![0.0; p.len()]).collect();
            for (k, st) in t.steps.iter().enumerate() {
                let step = step.first_step(k == 0);
                let recorded = &st.state.as_ref().unwrap()[0];
                for (i, g) in st.grads.iter().enumerate() {
                    run(&mut params[i], g, &mut accum[i], &step);
                    let what = format!("{name}, {}, step {k}, tensor {i}", c.label);
                    assert_same(&params[i], &st.params[i], &what);
                    assert_same(&accum[i], &recorded[i], &what);
                }
            }
        }
        replayed += 1;
    }
    // every ungrouped case of the file was replayed (the grouped ones go through the optimizer
    // in tests/conformance.rs)
    let ungrouped = cases
        .iter()
        .filter(|c| {
            let t = c.case.as_ref().unwrap();
            t.groups
                .iter()
                .all(|g| *g == t.groups[0] && g.lr.is_static())
        })
        .count();
    assert!(ungrouped > 0);
    assert_eq!(replayed, ungrouped);
}
