//! A step cut into element ranges equals the whole step, bit for bit: random layouts (lengths
//! across Adam's work split, centralized rows, empty tensors), random cuts (anywhere, the invalid
//! ones refused) and plans of any number of shards, taken in any order, on every rule and every
//! backend; with the `parallel` feature, the parallel step on rayon pools of several sizes.

mod common;

use std::num::NonZeroUsize;
use std::ops::Range;

use common::first_difference;
use common::parts::values;
use gradstep::lr::schedule::CosineDecayLr;
use gradstep::{
    Adam, AdamSettings, AdamWSettings, AdamWeightDecay, Backend, Error, Group, Lr, Momentum,
    MomentumSettings, Optimizer, Part, Rule, Sgd, SgdSettings, Tensor,
};
use proptest::prelude::*;

/// The rules and settings the tests run: every kernel variant.
#[derive(Clone, Copy, Debug)]
enum Case {
    Momentum { nesterov: bool },
    Sgd { nesterov: bool },
    Adam { nesterov: bool, threads: u32 },
    Amsgrad,
    AdamW,
}

const CASES: [Case; 11] = [
    Case::Momentum { nesterov: false },
    Case::Momentum { nesterov: true },
    Case::Sgd { nesterov: false },
    Case::Sgd { nesterov: true },
    Case::Adam {
        nesterov: false,
        threads: 1,
    },
    Case::Adam {
        nesterov: false,
        threads: 2,
    },
    Case::Adam {
        nesterov: true,
        threads: 3,
    },
    Case::Adam {
        nesterov: true,
        threads: 1,
    },
    Case::Adam {
        nesterov: false,
        threads: 7,
    },
    Case::Amsgrad,
    Case::AdamW,
];

/// Runs `$body` with `$a` and `$b` bound to two new optimizers of case `$case` over `$tensors`,
/// each with its own groups from `$groups` (evaluated twice, a `Vec<Group>`).
macro_rules! with_optimizers {
    ($case:expr, $backend:expr, $tensors:expr, $groups:expr, |$a:ident, $b:ident| $body:expr) => {{
        let (mut ga, mut gb) = ($groups, $groups);
        match $case {
            Case::Momentum { nesterov } => {
                let s = MomentumSettings::new(0.9)
                    .with_nesterov(nesterov)
                    .with_loss_scale(64.0)
                    .with_backend($backend);
                let mut $a = Momentum::new($tensors, &mut ga[..], s).unwrap();
                let mut $b = Momentum::new($tensors, &mut gb[..], s).unwrap();
                $body
            }
            Case::Sgd { nesterov } => {
                let s = SgdSettings::default()
                    .with_momentum(0.9)
                    .with_dampening(if nesterov { 0.0 } else { 0.1 })
                    .with_nesterov(nesterov)
                    .with_backend($backend);
                let mut $a = Sgd::new($tensors, &mut ga[..], s).unwrap();
                let mut $b = Sgd::new($tensors, &mut gb[..], s).unwrap();
                $body
            }
            Case::Adam { nesterov, threads } => {
                let s = AdamSettings::new()
                    .with_nesterov(nesterov)
                    .with_threads(threads)
                    .with_loss_scale(8.0)
                    .with_backend($backend);
                let mut $a = Adam::new($tensors, &mut ga[..], s).unwrap();
                let mut $b = Adam::new($tensors, &mut gb[..], s).unwrap();
                $body
            }
            Case::Amsgrad => {
                let s = AdamSettings::new()
                    .with_amsgrad(true)
                    .with_backend($backend);
                let mut $a = Adam::new($tensors, &mut ga[..], s).unwrap();
                let mut $b = Adam::new($tensors, &mut gb[..], s).unwrap();
                $body
            }
            Case::AdamW => {
                let s = AdamWSettings::new().with_backend($backend);
                let mut $a = AdamWeightDecay::new($tensors, &mut ga[..], s).unwrap();
                let mut $b = AdamWeightDecay::new($tensors, &mut gb[..], s).unwrap();
                $body
            }
        }
    }};
}

/// A layout: tensors of every kind of length (empty, short, across Adam's 1000-element chunks
/// and vector bodies), vectors and matrices, in three groups.
fn layout() -> impl Strategy<Value = Vec<Tensor>> {
    let len = prop_oneof![
        Just(0usize),
        1usize..40,
        990usize..1030,
        1990usize..2100,
        2990usize..3010,
    ];
    let tensor =
        (len, 1usize..6, 0usize..3, any::<bool>()).prop_map(|(len, rows, group, matrix)| {
            if matrix {
                // rows × cols with about `len` elements
                Tensor::matrix(rows, len.div_ceil(rows), group)
            } else {
                Tensor::vector(len, group)
            }
        });
    prop::collection::vec(tensor, 3..8).prop_map(|mut ts| {
        // every group has a tensor
        for (g, t) in ts.iter_mut().enumerate().take(3) {
            t.group = g;
        }
        ts
    })
}

/// Three groups: centralization as asked, a static lr with weight decay, a schedule.
fn groups(centralize: [bool; 3], schedule: &CosineDecayLr) -> Vec<Group<'_>> {
    vec![
        Group::new(Lr::new_static(0.01).unwrap(), 1e-4, centralize[0]).unwrap(),
        Group::new(Lr::new_static(0.02).unwrap(), 0.0, centralize[1]).unwrap(),
        Group::new(Lr::Schedule(schedule), 1e-3, centralize[2]).unwrap(),
    ]
}

/// Whether a step may be cut before element `at`: what the crate must accept, derived from the
/// layout here (outside centralized tensors anywhere, inside them between rows).
fn may_cut(tensors: &[Tensor], centralize: [bool; 3], at: usize) -> bool {
    let mut start = 0;
    for t in tensors {
        if at < start + t.len {
            return match t.rows {
                Some(rows) if centralize[t.group] => {
                    (at - start).is_multiple_of(t.len / rows.get())
                }
                _ => true,
            };
        }
        start += t.len;
    }
    at == start
}

/// Steps `serial` whole and `other` as `step_other` does, `steps` times from the same params and
/// gradients: both must end with the same bits in params and state. `what` names the case.
fn steps_agree<'a, R: Rule, G: AsRef<[Group<'a>]> + AsMut<[Group<'a>]>>(
    serial: &mut Optimizer<'a, R, G>,
    other: &mut Optimizer<'a, R, G>,
    steps: u32,
    what: &dyn std::fmt::Debug,
    mut step_other: impl FnMut(
        &mut Optimizer<'a, R, G>,
        &mut [f32],
        &[f32],
        &mut [f32],
    ) -> Result<(), TestCaseError>,
) -> Result<(), TestCaseError> {
    let len = serial.len();
    let mut w = values(7, len, 1.0);
    let mut s = vec![0.0; serial.state_len()];
    let (mut w2, mut s2) = (w.clone(), s.clone());
    for k in 0..steps {
        let g = values(100 + k, len, 2.0);
        serial.step(&mut w, &g, &mut s).unwrap();
        step_other(other, &mut w2, &g, &mut s2)?;
    }
    prop_assert_eq!(first_difference(&w2, &w), None, "params: {:?}", what);
    prop_assert_eq!(first_difference(&s2, &s), None, "state: {:?}", what);
    Ok(())
}

/// How a step is cut: a plan of `n` shards, or cuts before random elements.
#[derive(Clone, Debug)]
enum Cuts {
    Plan(usize),
    At(Vec<usize>),
}

/// The whole buffers cut as `cuts` says, every refused cut checked against [`may_cut`].
fn cut<'a, 'b, R: Rule, G: AsRef<[Group<'a>]> + AsMut<[Group<'a>]>>(
    opt: &Optimizer<'a, R, G>,
    centralize: [bool; 3],
    cuts: &Cuts,
    whole: Part<'b>,
) -> Result<Vec<Part<'b>>, TestCaseError> {
    let len = opt.len();
    match cuts {
        Cuts::Plan(n) => {
            let n = NonZeroUsize::new(*n).unwrap();
            let plan: Vec<Range<usize>> = opt.plan(n).collect();
            prop_assert_eq!(plan.len(), n.get());
            prop_assert_eq!(plan[0].start, 0);
            prop_assert_eq!(plan[n.get() - 1].end, len);
            for (a, b) in plan.iter().zip(&plan[1..]) {
                prop_assert_eq!(a.end, b.start);
            }
            for r in &plan {
                prop_assert!(r.start <= r.end && may_cut(opt.tensors(), centralize, r.start));
            }
            let parts: Vec<Part<'b>> = opt.shards(whole, n).collect();
            for (p, r) in parts.iter().zip(&plan) {
                prop_assert_eq!(p.elements(), r.clone());
                prop_assert_eq!(p.len(), r.len());
            }
            Ok(parts)
        }
        Cuts::At(points) => {
            let mut points: Vec<usize> = points.iter().map(|p| p % (len + 1)).collect();
            points.sort();
            let (mut out, mut rest) = (vec![], whole);
            for at in points {
                if !may_cut(opt.tensors(), centralize, at) {
                    // refused: shown on a throwaway part of the whole layout
                    let (mut sw, sg) = (vec![0.0; len], vec![0.0; len]);
                    let mut ss = vec![0.0; opt.state_len()];
                    let n = opt.tensors().len();
                    let scratch = opt.part(0..n, &mut sw, &sg, &mut ss).unwrap();
                    prop_assert_eq!(
                        opt.split(scratch, at).unwrap_err(),
                        Error::ElementRange {
                            start: at,
                            end: len
                        }
                    );
                    continue;
                }
                let (a, b) = opt
                    .split(rest, at)
                    .map_err(|e| TestCaseError::fail(format!("cut at {at} refused: {e}")))?;
                prop_assert_eq!(a.elements().end, at);
                out.push(a);
                rest = b;
            }
            out.push(rest);
            Ok(out)
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: if cfg!(miri) { 2 } else { 48 },
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    /// Any cut of a step into element ranges, the parts taken in any order, gives the whole
    /// step's bits: every rule, every backend, two steps.
    #[test]
    fn cut_steps_equal_whole_steps(
        tensors in layout(),
        centralize in any::<[bool; 3]>(),
        cuts in prop_oneof![
            (1usize..9).prop_map(Cuts::Plan),
            prop::collection::vec(any::<usize>(), 0..6).prop_map(Cuts::At),
        ],
        order in any::<u64>(),
    ) {
        let schedule = CosineDecayLr::new(0.001, 0.01, 5).unwrap();
        for backend in Backend::ALL.into_iter().filter(|b| b.is_available()) {
            for case in CASES {
                with_optimizers!(case, backend, &tensors, groups(centralize, &schedule), |whole, sharded| {
                    steps_agree(&mut whole, &mut sharded, 2, &(case, backend, &cuts), |sharded, w, g, s| {
                        let token = sharded.begin_step().unwrap();
                        let all = sharded.part(0..tensors.len(), w, g, s).unwrap();
                        let mut parts = cut(sharded, centralize, &cuts, all)?;
                        let n = parts.len();
                        parts.rotate_left((order as usize) % n);
                        if order & 1 << 40 != 0 {
                            parts.reverse();
                        }
                        for p in parts {
                            sharded.step_part(&token, p).unwrap();
                        }
                        sharded.end_step(token).unwrap();
                        Ok(())
                    })?;
                });
            }
        }
    }
}

/// A layout large enough to be sharded by the parallel step: a centralized 300 × 700 matrix, a
/// long vector, a 5 × 3001 matrix (Adam's chunks of 3001 cut between its rows), small tensors.
#[cfg(feature = "parallel")]
const LARGE: [Tensor; 5] = [
    Tensor::matrix(300, 700, 0),
    Tensor::vector(70_001, 1),
    Tensor::vector(3, 1),
    Tensor::matrix(5, 3001, 2),
    Tensor::vector(0, 2),
];

/// The parallel step on rayon pools of 1 to 4 threads gives the serial step's bits, on every
/// rule and backend, over several steps; and a non-finite gradient is found at the serial step's
/// index, with nothing written.
#[cfg(feature = "parallel")]
#[test]
#[cfg_attr(target_os = "wasi", ignore = "wasm32-wasip1 has no threads")]
fn parallel_steps_equal_serial_steps() {
    let schedule = CosineDecayLr::new(0.001, 0.01, 5).unwrap();
    let len: usize = LARGE.iter().map(|t| t.len).sum();
    // called inside `pool.install`, on a thread of the pool: four shards on four threads
    assert!(len >= 4 * gradstep::MIN_SHARD_ELEMENTS);
    let centralize = [true, false, true];
    let gs = || groups(centralize, &schedule);
    for threads in 1..=4 {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        for backend in Backend::ALL.into_iter().filter(|b| b.is_available()) {
            for case in CASES {
                with_optimizers!(case, backend, &LARGE, gs(), |serial, parallel| {
                    let what = (case, backend, threads);
                    steps_agree(&mut serial, &mut parallel, 2, &what, |p, w, g, s| {
                        pool.install(|| p.step_parallel(w, g, s)).unwrap();
                        Ok(())
                    })
                    .unwrap();
                    assert_eq!(parallel.global_step(), 2);
                });
            }
        }
    }
}

/// With `check_finite`, the parallel step reports the first non-finite gradient (the index the
/// serial step reports) and changes nothing.
#[cfg(feature = "parallel")]
#[test]
#[cfg_attr(target_os = "wasi", ignore = "wasm32-wasip1 has no threads")]
fn parallel_steps_find_the_first_bad_gradient() {
    let schedule = CosineDecayLr::new(0.001, 0.01, 5).unwrap();
    let len: usize = LARGE.iter().map(|t| t.len).sum();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(4)
        .build()
        .unwrap();
    let mut gs = groups([false; 3], &schedule);
    let set = MomentumSettings::new(0.9).with_check_finite(true);
    let mut opt = Momentum::new(&LARGE, &mut gs[..], set).unwrap();
    let (mut w, mut s) = (values(7, len, 1.0), vec![0.0; len]);
    let (w0, s0) = (w.clone(), s.clone());
    let mut g = values(100, len, 2.0);
    for bad in [len - 1, len / 2 + 3, 5] {
        g[bad] = f32::NAN;
        let got = pool.install(|| opt.step_parallel(&mut w, &g, &mut s));
        assert_eq!(got, Err(Error::NonFiniteGradient { index: bad }));
        assert_eq!(first_difference(&w, &w0), None);
        assert_eq!(first_difference(&s, &s0), None);
        assert_eq!(opt.global_step(), 0);
    }
}

/// A caller's own threads (here `std::thread::scope`) take a plan's shards with `shards` and
/// `step_part`: the serial step's bits.
#[test]
#[cfg_attr(target_os = "wasi", ignore = "wasm32-wasip1 has no threads")]
fn shards_on_a_callers_threads() {
    let tensors = [
        Tensor::matrix(40, 50, 0),
        Tensor::vector(3001, 1),
        Tensor::matrix(7, 300, 2),
    ];
    let schedule = CosineDecayLr::new(0.001, 0.01, 5).unwrap();
    let (mut ga, mut gb) = (groups([true; 3], &schedule), groups([true; 3], &schedule));
    let set = AdamSettings::new().with_threads(2);
    let mut serial = Adam::new(&tensors, &mut ga[..], set).unwrap();
    let mut sharded = Adam::new(&tensors, &mut gb[..], set).unwrap();
    steps_agree(&mut serial, &mut sharded, 3, &"Adam", |sharded, w, g, s| {
        let token = sharded.begin_step().unwrap();
        let opt = &*sharded;
        let whole = opt.part(0..tensors.len(), w, g, s).unwrap();
        std::thread::scope(|scope| {
            for part in opt.shards(whole, NonZeroUsize::new(3).unwrap()) {
                scope.spawn(|| opt.step_part(&token, part).unwrap());
            }
        });
        sharded.end_step(token).unwrap();
        Ok(())
    })
    .unwrap();
}

/// Called from outside every pool, on rayon's global pool (the step crosses to the pool's
/// threads, with the larger threshold): the serial step's bits.
#[cfg(feature = "parallel")]
#[test]
#[cfg_attr(target_os = "wasi", ignore = "wasm32-wasip1 has no threads")]
fn parallel_steps_from_outside_the_pool() {
    let schedule = CosineDecayLr::new(0.001, 0.01, 5).unwrap();
    let centralize = [true, false, true];
    let gs = || groups(centralize, &schedule);
    for case in CASES {
        let backend = Backend::selected();
        with_optimizers!(case, backend, &LARGE, gs(), |serial, parallel| {
            steps_agree(&mut serial, &mut parallel, 2, &case, |p, w, g, s| {
                p.step_parallel(w, g, s).unwrap();
                Ok(())
            })
            .unwrap();
        });
    }
}
