//! `gradstep::math::powf` against the host's glibc `powf`, bit for bit (NaN bits included), on
//! over ten million inputs and a grid of special values. Host-only: x86_64 Linux with glibc.
//!
//! On CPUs with FMA and AVX2, glibc picks a build of `powf` whose compiler fused nine
//! multiply-adds; gradstep follows the unfused (generic) build, which is what every target can
//! reproduce. The test therefore runs in a process started with
//! `GLIBC_TUNABLES=glibc.cpu.hwcaps=-FMA` (it re-runs itself with it when needed), and checks three
//! inputs on which the two builds differ to prove that the generic build is the one answering.
#![cfg(all(target_arch = "x86_64", target_os = "linux", target_env = "gnu"))]

use gradstep::math::powf;
use std::hint::black_box;
use std::process::Command;

unsafe extern "C" {
    #[link_name = "powf"]
    fn glibc_powf(x: f32, y: f32) -> f32;
}

fn glibc(x: f32, y: f32) -> f32 {
    // SAFETY: glibc's powf is a pure function of two floats.
    unsafe { glibc_powf(black_box(x), black_box(y)) }
}

const TUNABLE: &str = "glibc.cpu.hwcaps=-FMA";

/// Inputs where glibc's FMA and generic builds differ by one ulp (found by comparing the two
/// builds on 400 M inputs): (x, y, the generic build's result).
const SENTINELS: [(u32, u32, u32); 3] = [
    (0x3ec8b0b7, 0xc29392c6, 0x714fba4f),
    (0x3f172284, 0x42be0d44, 0x1b576dfa),
    (0x3fae4699, 0xc2b9ef32, 0x2ac324ac),
];

struct Xorshift(u64);

impl Xorshift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    /// Uniform in `[lo, hi)`.
    fn uniform(&mut self, lo: f32, hi: f32) -> f32 {
        let u = (self.next() >> 40) as f32 / (1u64 << 24) as f32;
        lo + (hi - lo) * u
    }
}

#[derive(Default)]
struct Tally {
    checked: u64,
    mismatches: u64,
    first: Vec<String>,
}

impl Tally {
    fn check(&mut self, x: f32, y: f32) {
        let (ours, theirs) = (powf(x, y), glibc(x, y));
        self.checked += 1;
        if ours.to_bits() != theirs.to_bits() {
            self.mismatches += 1;
            if self.first.len() < 10 {
                self.first.push(format!(
                    "powf({:#010x}, {:#010x}) = {:#010x}, glibc {:#010x}",
                    x.to_bits(),
                    y.to_bits(),
                    ours.to_bits(),
                    theirs.to_bits()
                ));
            }
        }
    }
}

fn special_values() -> Vec<f32> {
    let mut v = vec![
        0.0,
        1.0,
        2.0,
        3.0,
        0.5,
        0.25,
        10.0,
        1.5,
        f32::MIN_POSITIVE,
        f32::from_bits(1),
        f32::from_bits(0x007f_ffff),
        f32::MAX,
        f32::INFINITY,
        f32::NAN,
        f32::from_bits(0x7fc1_2345), // quiet NaN with a payload
        f32::from_bits(0x7f80_0001), // signaling NaN
        f32::from_bits(0x7fa0_0000), // signaling NaN
        1.0 + f32::EPSILON,
        1.0 - f32::EPSILON / 2.0,
        126.0,
        127.0,
        128.0,
        149.0,
        150.0,
        16_777_216.0,
        16_777_217.0,
        8_388_609.0,
        1e10,
        1e-10,
        core::f32::consts::E,
        0.9,
        0.1,
    ];
    let negated: Vec<f32> = v.iter().map(|x| -x).collect();
    v.extend(negated);
    v
}

#[test]
fn powf_matches_glibc_generic_build() {
    if !std::env::var("GLIBC_TUNABLES").is_ok_and(|v| v.contains("-FMA")) {
        let status = Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "powf_matches_glibc_generic_build", "--nocapture"])
            .env("GLIBC_TUNABLES", TUNABLE)
            .status()
            .expect("re-run the test binary");
        assert!(status.success(), "the re-run with {TUNABLE} failed");
        return;
    }

    for (x, y, generic) in SENTINELS {
        let r = glibc(f32::from_bits(x), f32::from_bits(y));
        assert_eq!(
            r.to_bits(),
            generic,
            "glibc is not running its generic powf"
        );
    }

    let mut tally = Tally::default();
    let specials = special_values();
    for &x in &specials {
        for &y in &specials {
            tally.check(x, y);
        }
    }
    let grid = tally.checked;

    let mut rng = Xorshift(0x9e37_79b9_7f4a_7c15);
    // Schedule-like: decay rates and bases in (0, 2], exponents of a step count or a power.
    for _ in 0..4_000_000 {
        let x = rng.uniform(0.0, 2.0);
        let y = rng.uniform(-100.0, 100.0);
        tally.check(x, y);
    }
    // Polynomial decay's base 1 − step/T in [0, 1] with powers in (0, 10].
    for _ in 0..2_000_000 {
        tally.check(rng.uniform(0.0, 1.0), rng.uniform(0.0, 10.0));
    }
    // Natural exponential decay: e^(−rate·step).
    for _ in 0..1_000_000 {
        tally.check(core::f32::consts::E, rng.uniform(-200.0, 0.0));
    }
    // Any bit patterns: every exponent, subnormals, infinities, NaNs, negative bases.
    for _ in 0..3_000_000 {
        let bits = rng.next();
        tally.check(
            f32::from_bits(bits as u32),
            f32::from_bits((bits >> 32) as u32),
        );
    }
    // Negative bases with integer exponents (odd and even), and near-overflow/underflow.
    for _ in 0..500_000 {
        let x = -rng.uniform(0.0, 4.0);
        let y = (rng.next() % 301) as f32 - 150.0;
        tally.check(x, y);
    }

    println!(
        "powf: {} inputs ({} special pairs, {} random), {} mismatches",
        tally.checked,
        grid,
        tally.checked - grid,
        tally.mismatches
    );
    assert!(tally.checked >= 10_000_000);
    assert_eq!(
        tally.mismatches,
        0,
        "first mismatches:\n{}",
        tally.first.join("\n")
    );
}
