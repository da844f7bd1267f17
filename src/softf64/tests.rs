//! Against the host's IEEE 754 hardware, over random bit patterns and the edges where the
//! rounding decides: ties, subnormal results, overflow.

use super::*;
use core::hint::black_box;

/// xorshift64*: deterministic, so a failure reproduces.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// A finite `f64 ≥ 0` of one of several shapes: any bits; a short significand (products
    /// and conversions land on ties); a subnormal; the largest or smallest significand.
    fn positive(&mut self, field: u64) -> f64 {
        let frac = match self.below(5) {
            0 => self.next() & FRAC,
            1 => (self.next() & FRAC) & !((1 << (20 + self.below(32))) - 1),
            2 => (self.next() & FRAC) >> self.below(52),
            3 => FRAC,
            _ => 0,
        };
        f64::from_bits((field.min(2046) << 52) | frac)
    }

    /// An exponent field near `centre` (clamped to the finite range).
    fn field_near(&mut self, centre: i64) -> u64 {
        (centre + self.below(81) as i64 - 40).clamp(0, 2046) as u64
    }

    fn field(&mut self) -> u64 {
        self.below(2047)
    }
}

const CASES: usize = 1 << 19;

#[test]
fn to_f32_is_as_f32() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for i in 0..CASES {
        let field = match i % 4 {
            0 => rng.field(),
            1 => rng.field_near(1023 - 126), // f32's subnormal boundary
            2 => rng.field_near(1023 - 149), // f32's smallest subnormal
            _ => rng.field_near(1023 + 128), // f32's overflow
        };
        let x = rng.positive(field);
        for x in [x, -x] {
            let want = black_box(x) as f32;
            assert_eq!(
                to_f32(x).to_bits(),
                want.to_bits(),
                "{x:e} ({:#x})",
                x.to_bits()
            );
        }
    }
}

#[test]
fn mul_is_the_f64_product() {
    let mut rng = Rng(0xd1b5_4a32_d192_ed03);
    for i in 0..CASES {
        let (fa, fb) = match i % 4 {
            0 => (rng.field(), rng.field()),
            1 => {
                // products near f64's overflow
                let fa = rng.field();
                (fa, rng.field_near(2046 + 1023 - fa as i64))
            }
            2 => {
                // products near f64's subnormals
                let fa = rng.field();
                (fa, rng.field_near(1023 - fa as i64))
            }
            _ => {
                // products near f64's smallest subnormal (ties to zero)
                let fa = rng.field();
                (fa, rng.field_near(1023 - 52 - fa as i64))
            }
        };
        let (a, b) = (rng.positive(fa), rng.positive(fb));
        let want = black_box(a) * black_box(b);
        assert_eq!(
            mul(a, b).to_bits(),
            want.to_bits(),
            "{a:e} * {b:e} ({:#x} * {:#x})",
            a.to_bits(),
            b.to_bits()
        );
    }
}

#[test]
fn mul_of_signed_zeros_is_the_f64_product() {
    // −0 is a valid weight decay (it is ≥ 0): a fuzzer found `mul(-0.0, L)` panicking
    let mut rng = Rng(0x2f1d_6a0c_93b4_e57d);
    let others = (0..64).map(|_| {
        let field = rng.field();
        rng.positive(field)
    });
    for b in [0.0, 1.0, f64::MIN_POSITIVE, 5e-324, f64::MAX]
        .into_iter()
        .chain(others)
    {
        for (a, b) in [(0.0, b), (-0.0, b), (b, 0.0), (b, -0.0)] {
            let want = black_box(a) * black_box(b);
            assert_eq!(mul(a, b).to_bits(), want.to_bits(), "{a:e} * {b:e}");
        }
    }
}

#[test]
fn recip_is_the_f64_quotient() {
    let mut rng = Rng(0x8cb9_2ba7_2f3d_8dd7);
    for i in 0..CASES / 4 {
        let field = match i % 3 {
            0 => rng.field(),
            1 => rng.field_near(0),    // 1/x overflows
            _ => rng.field_near(2046), // 1/x is subnormal
        };
        let x = rng.positive(field);
        if x == 0.0 {
            continue;
        }
        let want = 1.0 / black_box(x);
        assert_eq!(
            recip(x).to_bits(),
            want.to_bits(),
            "1 / {x:e} ({:#x})",
            x.to_bits()
        );
    }
}

#[test]
fn predicates_are_the_comparisons() {
    let specials = [
        0.0,
        -0.0,
        1.0,
        -1.0,
        4.9e-324,
        -4.9e-324,
        f64::MAX,
        f64::MIN,
    ];
    let specials = specials
        .into_iter()
        .chain([f64::INFINITY, f64::NEG_INFINITY, f64::NAN]);
    let mut rng = Rng(0x5851_f42d_4c95_7f2d);
    let random = (0..CASES).map(|_| f64::from_bits(rng.next()));
    for x in specials
        .chain(random)
        .chain([-f64::NAN, 1.0 + f64::EPSILON])
    {
        let b = x.to_bits();
        assert_eq!(is_finite(x), x.is_finite(), "{b:#x}");
        assert_eq!(is_negative(x), x < 0.0, "{b:#x}");
        assert_eq!(is_positive(x), x > 0.0, "{b:#x}");
        assert_eq!(is_one(x), x == 1.0, "{b:#x}");
        assert_eq!(is_zero(x), x == 0.0, "{b:#x}");
    }
}

#[test]
fn rounds_like_the_hardware_at_the_edges() {
    let cases = [
        0.0,
        1.0,
        f64::MAX,
        f64::MIN_POSITIVE,
        4.9e-324,
        f32::MAX as f64,
        3.4028235677973366e38, // halfway to 2^128: rounds to infinity
        3.4028235677973362e38, // just below halfway: f32::MAX
        1.401298464324817e-45,
        7.006492321624085e-46, // half the smallest f32 subnormal: ties to 0
        7.006492321624087e-46, // just above: rounds up
        1.1754942106924411e-38,
        f64::INFINITY,
        1.0 + f64::EPSILON,
        0.1,
    ];
    for x in cases {
        for x in [x, -x] {
            assert_eq!(
                to_f32(x).to_bits(),
                (black_box(x) as f32).to_bits(),
                "{x:e}"
            );
        }
        if x > 0.0 && x.is_finite() {
            assert_eq!(recip(x).to_bits(), (1.0 / black_box(x)).to_bits(), "{x:e}");
            for y in cases.into_iter().filter(|y| y.is_finite()) {
                assert_eq!(
                    mul(x, y).to_bits(),
                    (black_box(x) * y).to_bits(),
                    "{x:e}·{y:e}"
                );
            }
        }
    }
    for nan in [f64::NAN, -f64::NAN, f64::from_bits(0x7ff0_0000_2000_0001)] {
        assert_eq!(to_f32(nan).to_bits(), (black_box(nan) as f32).to_bits());
    }
}

/// Any `f64` but NaN of one of several shapes, near `field`, with either sign.
fn signed(rng: &mut Rng, field: u64) -> f64 {
    let x = rng.positive(field);
    if rng.below(2) == 0 { x } else { -x }
}

fn same(a: f64, b: f64) -> bool {
    a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan())
}

const SPECIALS: [f64; 12] = [
    0.0,
    -0.0,
    1.0,
    -1.0,
    4.9e-324,
    -4.9e-324,
    f64::MAX,
    f64::MIN,
    f64::MIN_POSITIVE,
    f64::INFINITY,
    f64::NEG_INFINITY,
    f64::NAN,
];

#[test]
fn add_is_the_f64_sum() {
    let mut rng = Rng(0x3c6e_f372_fe94_f82b);
    for &a in &SPECIALS {
        for &b in &SPECIALS {
            assert!(
                same(arith::add(a, b), black_box(a) + black_box(b)),
                "{a:e} + {b:e}"
            );
        }
    }
    for i in 0..CASES {
        let fa = rng.field();
        let fb = match i % 4 {
            0 => rng.field(),
            1 => rng.field_near(fa as i64), // cancellation, carries
            2 => rng.field_near(fa as i64 - 60), // the smaller far below: sticky
            _ => rng.field_near(0),         // subnormals
        };
        let (a, b) = (signed(&mut rng, fa), signed(&mut rng, fb));
        let want = black_box(a) + black_box(b);
        assert!(
            same(arith::add(a, b), want),
            "{a:e} + {b:e} ({:#x} + {:#x})",
            a.to_bits(),
            b.to_bits()
        );
    }
}

#[test]
fn div_is_the_f64_quotient() {
    let mut rng = Rng(0xa54f_f53a_5f1d_36f1);
    for &a in &SPECIALS {
        for &b in &SPECIALS {
            assert!(
                same(arith::div(a, b), black_box(a) / black_box(b)),
                "{a:e} / {b:e}"
            );
        }
    }
    for i in 0..CASES / 2 {
        let fa = rng.field();
        let fb = match i % 4 {
            0 => rng.field(),
            1 => rng.field_near(fa as i64 - 1023), // overflow
            2 => rng.field_near(fa as i64 + 1023), // subnormal quotients
            _ => rng.field_near(fa as i64),
        };
        let (a, b) = (signed(&mut rng, fa), signed(&mut rng, fb));
        let want = black_box(a) / black_box(b);
        assert!(
            same(arith::div(a, b), want),
            "{a:e} / {b:e} ({:#x} / {:#x})",
            a.to_bits(),
            b.to_bits()
        );
    }
}

#[test]
fn from_f32_is_as_f64() {
    let mut rng = Rng(0x1405_7b7e_f767_814f);
    let every_subnormal = (0..1u32 << 23).step_by(if cfg!(miri) { 1 << 18 } else { 1 });
    let random = (0..CASES).map(|_| rng.next() as u32);
    let edges = [
        0x7f80_0000,
        0x7fc0_0000,
        0x7f80_0001,
        0x0080_0000,
        0x7f7f_ffff,
    ];
    for bits in every_subnormal.chain(random).chain(edges) {
        for bits in [bits, bits | 0x8000_0000] {
            let x = f32::from_bits(bits);
            assert!(same(arith::from_f32(x), black_box(x) as f64), "{bits:#x}");
        }
    }
}
