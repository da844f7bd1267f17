//! The software fused multiply-add against the hardware's (`f32::mul_add`, `f64::mul_add`: the
//! FMA instruction, or glibc's exact `fma`): every bit, on random inputs and on the hard cases.
//! `GRADSTEP_FMA_SAMPLES` sets the number of random inputs (CI runs 10^8 in release).

use gradstep::fma::soft;

fn samples() -> u64 {
    std::env::var("GRADSTEP_FMA_SAMPLES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(if cfg!(miri) { 100 } else { 200_000 })
}

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

fn same32(a: f32, b: f32) -> bool {
    a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan())
}

#[test]
fn software_fmaf_is_the_hardwares() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let (n, mut bad) = (samples(), 0u64);
    for i in 0..n {
        let r = rng.next();
        let s = rng.next();
        let (a, b, c) = match i % 4 {
            // any bits
            0 => (
                f32::from_bits(r as u32),
                f32::from_bits((r >> 32) as u32),
                f32::from_bits(s as u32),
            ),
            // a product half an ulp of c away from a tie after the first rounding
            1 => {
                let c = f32::from_bits(0x3f80_0000 | (s as u32 & 0x7f_ffff));
                let a = f32::from_bits(0x3f80_0000 | (r as u32 & 0x7f_ffff));
                let b = f32::from_bits(
                    ((r >> 32) as u32 & 0x8000_0000) | 0x3380_0000 | ((r >> 40) as u32 & 0x7f),
                );
                (a, b, c)
            }
            // cancellation: c ≈ −a·b
            2 => {
                let a = f32::from_bits((r as u32 & 0x3fff_ffff) | 0x2000_0000);
                let b = f32::from_bits(((r >> 32) as u32 & 0x3fff_ffff) | 0x2000_0000);
                let c = -(a * b);
                (a, b, f32::from_bits(c.to_bits() ^ (s as u32 & 3)))
            }
            // subnormal results
            _ => {
                let a = f32::from_bits((r as u32 & 0x807f_ffff) | 0x1000_0000);
                let b = f32::from_bits(((r >> 32) as u32 & 0x807f_ffff) | 0x0e00_0000);
                (a, b, f32::from_bits(s as u32 & 0x807f_ffff))
            }
        };
        if !same32(soft::fused_f32(a, b, c), a.mul_add(b, c)) {
            bad += 1;
            assert!(bad < 5, "{a:e}·{b:e} + {c:e}");
        }
    }
    assert_eq!(bad, 0);
    println!("fmaf: {n} inputs, 0 mismatches");
}
