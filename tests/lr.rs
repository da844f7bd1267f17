//! Learning-rate sources: table lookups, validation, composition boundaries, and the guarantee
//! that no source yields a negative or non-finite learning rate anywhere in the `u32` step range.

use gradstep::lr::dynamic::{self, DynamicLr};
use gradstep::lr::schedule::{
    CosineDecayLr, ExponentialDecayLr, InverseDecayLr, NaturalExpDecayLr, PolynomialDecayLr,
    WarmupLr,
};
use gradstep::lr::{
    CosineWarmRestarts, Lr, LrSchedule, PastEnd, Schedule, Sequence, Table, WarmupThen,
};
use gradstep::{Buffer, Error, Param};
use proptest::prelude::*;

#[test]
fn table_lookup_past_the_end() {
    let values = [0.3f32, 0.2, 0.1];
    let t = Table::new(&values, PastEnd::Reject).unwrap();
    assert_eq!(t.at(0), Ok(0.3));
    assert_eq!(t.at(2), Ok(0.1));
    assert_eq!(t.at(3), Err(Error::PastTableEnd { step: 3, len: 3 }));
    assert_eq!(
        t.at(u32::MAX),
        Err(Error::PastTableEnd {
            step: u32::MAX,
            len: 3
        })
    );
    let held = Table::new(&values, PastEnd::HoldLast).unwrap();
    assert_eq!(held.at(3), Ok(0.1));
    assert_eq!(held.at(u32::MAX), Ok(0.1));
    assert_eq!(
        Lr::table(&values).unwrap().at(3),
        Err(Error::PastTableEnd { step: 3, len: 3 })
    );
}

#[test]
fn tables_and_static_values_are_validated() {
    assert_eq!(Table::new(&[], PastEnd::Reject), Err(Error::EmptyTable));
    assert_eq!(
        Table::new(&[0.1, -0.1], PastEnd::Reject),
        Err(Error::Negative(Param::LearningRate))
    );
    assert_eq!(
        Table::new(&[0.1, f32::NAN], PastEnd::Reject),
        Err(Error::NotFinite(Param::LearningRate))
    );
    assert_eq!(
        Table::new(&[f32::INFINITY], PastEnd::Reject),
        Err(Error::NotFinite(Param::LearningRate))
    );
    assert!(Table::new(&[0.0], PastEnd::Reject).is_ok());
    assert_eq!(
        Lr::new_static(-0.1).unwrap_err(),
        Error::Negative(Param::LearningRate)
    );
    assert_eq!(
        Lr::new_static(f64::NAN).unwrap_err(),
        Error::NotFinite(Param::LearningRate)
    );
    assert_eq!(
        Lr::new_static(f64::INFINITY).unwrap_err(),
        Error::NotFinite(Param::LearningRate)
    );
    assert_eq!(
        Lr::new_static(1e300).unwrap_err(),
        Error::NotFinite(Param::LearningRate)
    );
    // F(lr), exactly: no (lr ⊕ 1) ⊖ 1 (DESIGN divergence 2)
    assert_eq!(
        Lr::new_static(0.05).unwrap().at(7).unwrap().to_bits(),
        0x3d4c_cccd
    );
    // a Static built by hand is still checked when used
    assert_eq!(
        Lr::Static(f32::NAN).at(0),
        Err(Error::NotFinite(Param::LearningRate))
    );
}

/// A caller's schedule that misbehaves at some steps.
struct Faulty;
impl LrSchedule for Faulty {
    fn lr(&self, step: u32) -> f32 {
        match step {
            0 => 0.1,
            1 => -0.5,
            2 => f32::NAN,
            _ => f32::INFINITY,
        }
    }
}

#[test]
fn a_schedule_cannot_yield_a_bad_value() {
    let lr = Lr::Schedule(&Faulty);
    assert_eq!(lr.at(0), Ok(0.1));
    assert_eq!(lr.at(1), Err(Error::Negative(Param::LearningRate)));
    assert_eq!(lr.at(2), Err(Error::NotFinite(Param::LearningRate)));
    assert_eq!(lr.at(3), Err(Error::NotFinite(Param::LearningRate)));
}

#[test]
fn warmup_then_decay_boundaries() {
    let decay = CosineDecayLr::new(0.01, 0.1, 10).unwrap();
    let w = WarmupThen::new(4, decay).unwrap();
    let peak = decay.lr(0);
    assert_eq!(w.lr(0), 0.0);
    for k in 0..4 {
        // the warm-up is WarmUpLR(peak, 4), bit for bit
        let warm = WarmupLr::new(peak as f64, 4).unwrap();
        assert_eq!(w.lr(k).to_bits(), warm.lr(k).to_bits(), "step {k}");
    }
    // step 4 belongs to the decay, restarted at its step 0
    assert_eq!(w.lr(4).to_bits(), peak.to_bits());
    for j in 0..20 {
        assert_eq!(w.lr(4 + j).to_bits(), decay.lr(j).to_bits());
    }
    assert_eq!(
        WarmupThen::new(0, decay).unwrap_err(),
        Error::NotPositive(Param::WarmupSteps)
    );
}

#[test]
fn sequence_boundaries() {
    let a = Schedule::Warmup(WarmupLr::new(0.1, 5).unwrap());
    let b = Schedule::CosineDecay(CosineDecayLr::new(0.0, 0.1, 10).unwrap());
    let c = Schedule::InverseDecay(InverseDecayLr::new(0.05, 0.5, 3, false).unwrap());
    let parts = [a, b, c];
    let seq = Sequence::new(&parts, &[5, 15]).unwrap();
    for k in 0..5 {
        assert_eq!(seq.lr(k).to_bits(), a.lr(k).to_bits());
    }
    // boundary steps belong to the later schedule, which starts at its own step 0
    assert_eq!(seq.lr(5).to_bits(), b.lr(0).to_bits());
    assert_eq!(seq.lr(14).to_bits(), b.lr(9).to_bits());
    assert_eq!(seq.lr(15).to_bits(), c.lr(0).to_bits());
    assert_eq!(seq.lr(u32::MAX).to_bits(), c.lr(u32::MAX - 15).to_bits());

    // mixed kinds through trait objects
    let custom = WarmupThen::new(2, b).unwrap();
    let mixed: [&dyn LrSchedule; 2] = [&a, &custom];
    let seq = Sequence::new(&mixed, &[3]).unwrap();
    assert_eq!(seq.lr(3).to_bits(), custom.lr(0).to_bits());

    assert_eq!(
        Sequence::<Schedule>::new(&[], &[]).unwrap_err(),
        Error::EmptyTable
    );
    assert_eq!(
        Sequence::new(&parts, &[5]).unwrap_err(),
        Error::LengthMismatch {
            buffer: Buffer::Boundaries,
            expected: 2,
            actual: 1
        }
    );
    assert_eq!(
        Sequence::new(&parts, &[0, 5]).unwrap_err(),
        Error::BoundariesNotIncreasing { index: 0 }
    );
    assert_eq!(
        Sequence::new(&parts, &[5, 5]).unwrap_err(),
        Error::BoundariesNotIncreasing { index: 1 }
    );
    assert!(Sequence::new(&parts[..1], &[]).is_ok());
}

#[test]
fn warm_restarts_periods() {
    let (min, max) = (0.001, 0.1);
    let r = CosineWarmRestarts::new(min, max, 4, 2).unwrap();
    // periods: [0, 4), [4, 12), [12, 28), ...
    for (start, len) in [(0u32, 4u32), (4, 8), (12, 16), (28, 32)] {
        let cosine = CosineDecayLr::new(min, max, len).unwrap();
        for t in 0..len {
            assert_eq!(
                r.lr(start + t).to_bits(),
                cosine.lr(t).to_bits(),
                "step {}",
                start + t
            );
        }
    }
    // every restart is back at the top
    assert_eq!(r.lr(4).to_bits(), r.lr(0).to_bits());
    assert_eq!(r.lr(12).to_bits(), r.lr(0).to_bits());
    // constant periods
    let r1 = CosineWarmRestarts::new(min, max, 5, 1).unwrap();
    assert_eq!(r1.lr(5).to_bits(), r1.lr(0).to_bits());
    assert_eq!(r1.lr(4_000_000_003).to_bits(), r1.lr(3).to_bits());
    assert_eq!(
        CosineWarmRestarts::new(min, max, 0, 2).unwrap_err(),
        Error::NotPositive(Param::Period)
    );
    assert_eq!(
        CosineWarmRestarts::new(min, max, 4, 0).unwrap_err(),
        Error::NotPositive(Param::PeriodMult)
    );
    assert_eq!(
        CosineWarmRestarts::new(0.2, 0.1, 4, 2).unwrap_err(),
        Error::MinLrNotBelowMaxLr
    );
}

#[test]
fn polynomial_decay_never_takes_the_power_of_a_negative_base() {
    // At k = 4 000 000 017 with decay_steps 7, MindSpore's float32 formula gives the base
    // 1 − q/T = −1.19e-7 (f32(k) and q/T round), and powf of it is NaN. gradstep uses 0.
    let p = PolynomialDecayLr::new(0.1, 0.01, 7, 0.5, true).unwrap();
    let lr = p.lr(4_000_000_017);
    assert_eq!(lr.to_bits(), 0.01f32.to_bits());
}

#[test]
fn dynamic_tables_fill_exactly_their_length() {
    let mut out = [0.0f32; 10];
    dynamic::warmup_lr(0.1, 10, 2, 3, &mut out).unwrap();
    assert_eq!(out[0], 0.0);
    assert_eq!(out[9], 0.10000000000000002f64 as f32);
    let mut short = [0.0f32; 9];
    assert_eq!(
        dynamic::warmup_lr(0.1, 10, 2, 3, &mut short),
        Err(Error::LengthMismatch {
            buffer: Buffer::Table,
            expected: 10,
            actual: 9
        })
    );
    assert_eq!(
        dynamic::piecewise_constant_len(&[2, 5, 9], &[0.1, 0.05, 0.01]),
        Ok(9)
    );
    assert_eq!(
        dynamic::piecewise_constant_len(&[1, 1, 3], &[0.3, 0.2, 0.1]),
        Ok(3)
    );
    let mut pw = [0.0f32; 3];
    dynamic::piecewise_constant_lr(&[1, 1, 3], &[0.3, 0.2, 0.1], &mut pw).unwrap();
    assert_eq!(pw, [0.3, 0.1, 0.1]);
    // nothing is written when an entry is invalid: a growing exponential decay overflows f32
    let mut big = [7.0f32; 300];
    assert_eq!(
        dynamic::exponential_decay_lr(1.0, 2.0, 300, 1, 1, false, &mut big),
        Err(Error::NotFinite(Param::LearningRate))
    );
    assert!(big.iter().all(|&v| v == 7.0));
}

// ----- properties over the whole step range ---------------------------------------------------

/// Steps anywhere in `u32`, with the edges (0, 1, 2^24 ± 1, 2^31, u32::MAX) often.
fn step() -> impl Strategy<Value = u32> {
    prop_oneof![
        any::<u32>(),
        0u32..1000,
        prop::sample::select(vec![
            0,
            1,
            (1 << 24) - 1,
            1 << 24,
            (1 << 24) + 1,
            1 << 31,
            u32::MAX - 1,
            u32::MAX
        ]),
    ]
}

fn lr_value() -> impl Strategy<Value = f64> {
    prop_oneof![1e-6f64..10.0, Just(1e-30), Just(1e30)]
}

/// Any of the built-in schedules with valid parameters; exponential decay only with rates ≤ 1
/// (a rate above 1 grows without bound, see `growing_exponential_decay_is_an_error`).
fn schedule() -> impl Strategy<Value = Schedule> {
    let rate = prop_oneof![1e-6f64..=1.0, Just(1.0)];
    let steps = prop_oneof![1u32..100, any::<u32>().prop_map(|n| n.max(1))];
    let power = prop_oneof![0.01f64..10.0, Just(1.0), Just(2.0)];
    prop_oneof![
        (lr_value(), rate.clone(), steps.clone(), any::<bool>()).prop_map(|(l, r, s, st)| {
            Schedule::ExponentialDecay(ExponentialDecayLr::new(l, r, s, st).unwrap())
        }),
        (lr_value(), 1e-6f64..10.0, steps.clone(), any::<bool>()).prop_map(|(l, r, s, st)| {
            Schedule::NaturalExpDecay(NaturalExpDecayLr::new(l, r, s, st).unwrap())
        }),
        (lr_value(), 1e-6f64..10.0, steps.clone(), any::<bool>()).prop_map(|(l, r, s, st)| {
            Schedule::InverseDecay(InverseDecayLr::new(l, r, s, st).unwrap())
        }),
        (0.0f64..1.0, 1.0f64..10.0, steps.clone())
            .prop_map(|(mn, mx, s)| Schedule::CosineDecay(CosineDecayLr::new(mn, mx, s).unwrap())),
        (
            lr_value(),
            0.0f64..10.0,
            steps.clone(),
            power,
            any::<bool>()
        )
            .prop_map(|(l, e, s, p, u)| {
                Schedule::PolynomialDecay(PolynomialDecayLr::new(l, e, s, p, u).unwrap())
            }),
        (prop_oneof![Just(0.0), lr_value()], steps.clone())
            .prop_map(|(l, s)| Schedule::Warmup(WarmupLr::new(l, s).unwrap())),
        (0.0f64..1.0, 1.0f64..10.0, steps, 1u32..5).prop_map(|(mn, mx, t, m)| {
            Schedule::CosineWarmRestarts(CosineWarmRestarts::new(mn, mx, t, m).unwrap())
        }),
    ]
}

fn finite_non_negative(v: f32) -> bool {
    v.is_finite() && v >= 0.0
}

proptest! {
    #![proptest_config(ProptestConfig { cases: if cfg!(miri) { 8 } else { 3000 }, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn schedules_give_finite_non_negative_rates(s in schedule(), k in step()) {
        let v = s.lr(k);
        prop_assert!(finite_non_negative(v), "{:?} at step {}: {}", s, k, v);
        prop_assert_eq!(Lr::Schedule(&s).at(k), Ok(v));
    }

    #[test]
    fn compositions_give_finite_non_negative_rates(a in schedule(), b in schedule(), w in 1u32..1000, cut in 1u32..100_000, k in step()) {
        let warm = WarmupThen::new(w, a).unwrap();
        let parts = [a, b];
        let cuts = [cut];
        let seq = Sequence::new(&parts, &cuts).unwrap();
        for v in [warm.lr(k), seq.lr(k)] {
            prop_assert!(finite_non_negative(v), "step {}: {}", k, v);
        }
    }

    #[test]
    fn tables_give_finite_non_negative_rates(values in prop::collection::vec(0.0f32..10.0, 1..50), hold in any::<bool>(), k in step()) {
        let past_end = if hold { PastEnd::HoldLast } else { PastEnd::Reject };
        let lr = Lr::Table(Table::new(&values, past_end).unwrap());
        match lr.at(k) {
            Ok(v) => prop_assert!(finite_non_negative(v)),
            Err(e) => prop_assert_eq!(e, Error::PastTableEnd { step: k, len: values.len() }),
        }
    }

    /// Every table filler with valid parameters fills a table of finite values ≥ 0.
    #[test]
    fn dynamic_tables_are_finite_and_non_negative(
        lr in 1e-6f64..10.0, rate in 1e-6f64..=1.0, total in 1u32..400, spe in 1u32..20, de in 1u32..20,
        stair in any::<bool>(), end in 0.0f64..10.0, power in 0.01f64..10.0, min in 0.0f64..1.0,
    ) {
        let tables: Vec<Box<dyn DynamicLr>> = vec![
            Box::new(dynamic::ExponentialDecayTable::new(lr, rate, total, spe, de, stair).unwrap()),
            Box::new(dynamic::NaturalExpDecayTable::new(lr, rate, total, spe, de, stair).unwrap()),
            Box::new(dynamic::InverseDecayTable::new(lr, rate, total, spe, de, stair).unwrap()),
            Box::new(dynamic::CosineDecayTable::new(min, min + lr, total, spe, de).unwrap()),
            Box::new(dynamic::PolynomialDecayTable::new(lr, end, total, spe, de, power, stair).unwrap()),
            Box::new(dynamic::WarmupTable::new(lr, total, spe, de).unwrap()),
        ];
        for t in tables {
            let mut out = vec![f32::NAN; total as usize];
            t.fill(&mut out).unwrap();
            prop_assert!(out.iter().all(|&v| finite_non_negative(v)));
        }
    }
}

#[test]
fn growing_exponential_decay_is_an_error() {
    // MindSpore accepts decay_rate > 1 (a growing rate, e.g. for a learning-rate range test);
    // where it overflows f32 the step is an error instead of an infinite learning rate.
    let s = ExponentialDecayLr::new(0.1, 2.0, 1, false).unwrap();
    assert_eq!(Lr::Schedule(&s).at(10), Ok(102.4));
    assert_eq!(
        Lr::Schedule(&s).at(200),
        Err(Error::NotFinite(Param::LearningRate))
    );
}
