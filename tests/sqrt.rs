//! The integer `f64` square root of an `f32` (what targets without an `f64` FPU use) against
//! `libm::sqrt`: every exponent with random mantissas, every subnormal pattern class, the
//! special values; `GRADSTEP_SQRT_ALL=1` checks all 2^31 non-negative `f32` (5½ minutes in release
//! on one core: done once, 0 differences).

use gradstep::sqrt::{sqrt_f32, sqrt_f64_of_f32, sqrt_f64_of_f32_integer};

/// The same bits, or both NaN: a NaN's sign and payload are the target's (x86_64 answers the
/// root of a negative number with a negative NaN, wasm32 with either), only NaN-ness is specified.
fn same64(a: f64, b: f64) -> bool {
    a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan())
}

fn check(x: f32) {
    let want = libm::sqrt(x as f64);
    let got = sqrt_f64_of_f32_integer(x);
    assert!(
        same64(got, want),
        "sqrt({x:e} = {:#010x}): {got:e} ({:#018x}), libm {want:e} ({:#018x})",
        x.to_bits(),
        got.to_bits(),
        want.to_bits()
    );
    assert!(same64(sqrt_f64_of_f32(x), want), "sqrt_f64_of_f32({x:e})");
    let (got, want) = (sqrt_f32(x), libm::sqrtf(x));
    assert!(
        got.to_bits() == want.to_bits() || (got.is_nan() && want.is_nan()),
        "sqrt_f32({x:e}): {got:e}, libm {want:e}"
    );
}

#[test]
fn every_exponent_and_the_special_values() {
    let mut state = 0x2545_f491u32;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        state
    };
    let per_exponent = if cfg!(miri) { 4 } else { 20_000 };
    for exponent in 0..255u32 {
        for mantissa in [0, 1, 2, 0x7f_ffff, 0x40_0000, 0x7f_fffe] {
            check(f32::from_bits(exponent << 23 | mantissa));
        }
        for _ in 0..per_exponent {
            check(f32::from_bits(exponent << 23 | (next() & 0x7f_ffff)));
        }
    }
    // every single-bit subnormal, and squares (exact roots)
    for bit in 0..23 {
        check(f32::from_bits(1 << bit));
    }
    for i in 1..2000u32 {
        check((i * i) as f32);
        check((i * i) as f32 * 0.25);
    }
    for x in [
        0.0,
        -0.0,
        f32::INFINITY,
        f32::NEG_INFINITY,
        f32::NAN,
        -1.0,
        -f32::MIN_POSITIVE,
        f32::MAX,
    ] {
        check(x);
    }
}

#[test]
fn all_non_negative_floats_when_asked() {
    if std::env::var_os("GRADSTEP_SQRT_ALL").is_none() {
        return;
    }
    for bits in 0..=0x7fff_ffffu32 {
        check(f32::from_bits(bits));
    }
    println!("all 2^31 non-negative f32: the integer root is libm's");
}
