//! `f64` sums and quotients on bit patterns, with IEEE 754's special cases, for the `f64` steps of
//! Adam's scalar formulas on targets without an `f64` FPU (`crate::double`). The sum of two
//! values is shared with the exact software fused multiply-add (`crate::fma::soft`), whose product
//! enters it with all its bits.

use super::{F64, FRAC, INF, SIGN, unpack};

/// The exact widening `D(x)` of an `f32`.
pub(crate) fn from_f32(x: f32) -> f64 {
    let bits = x.to_bits();
    let sign = ((bits & 0x8000_0000) as u64) << 32;
    let field = (bits >> 23) & 0xff;
    let frac = (bits & 0x7f_ffff) as u64;
    let magnitude = match field {
        0 if frac == 0 => 0,
        0 => {
            // a subnormal f32 is a normal f64: shift its leading one to the hidden bit
            let shift = frac.leading_zeros() - 40; // frac's top bit to bit 23
            let field = 1023 - 126 - shift as u64;
            (field << 52) | ((frac << (29 + shift)) & FRAC)
        }
        0xff if frac == 0 => INF,
        0xff => INF | (1 << 51) | (frac << 29), // NaN: quiet, payload kept
        _ => ((field as u64 + 1023 - 127) << 52) | (frac << 29),
    };
    f64::from_bits(sign | magnitude)
}

/// A nonzero finite value `±sig·2^exp` whose significand has its top bit at bit 125: two bits
/// of headroom above it for a carry, and room below for every bit of a product of two `f64`.
#[derive(Clone, Copy)]
pub(crate) struct Wide {
    pub negative: bool,
    pub sig: u128,
    pub exp: i32,
}

/// The top bit of a [`Wide`] significand.
pub(crate) const TOP: u32 = 125;

impl Wide {
    /// A nonzero finite `f64`.
    pub fn of(bits: u64) -> Wide {
        let (sig, exp) = unpack(bits & !SIGN); // top bit at 63
        Wide {
            negative: bits & SIGN != 0,
            sig: (sig as u128) << (TOP - 63),
            exp: exp - (TOP - 63) as i32,
        }
    }

    /// `|self| ≥ |other|`.
    fn not_below(&self, other: &Wide) -> bool {
        (self.exp, self.sig) >= (other.exp, other.sig)
    }

    /// The value rounded to `f64`, to nearest, ties to even (infinite when it overflows).
    pub fn round(self) -> f64 {
        let lz = self.sig.leading_zeros();
        let r = self.sig << lz;
        let sig = (r >> 64) as u64;
        let magnitude = F64.round(sig, self.exp - lz as i32 + 64, r as u64 != 0);
        f64::from_bits(((self.negative as u64) << 63) | magnitude)
    }
}

/// `a + b` of nonzero finite values, rounded to `f64`.
///
/// The smaller is shifted to the larger's exponent; bits shifted out are kept as one "sticky"
/// bit at the bottom. That is exact where it matters: both significands have at least 20 zero
/// bits at the bottom (an `f64` has 73, a product of two has 20), so nothing is shifted out when
/// the exponents differ by 20 or less; beyond that the smaller is below 2^−20 of the larger, the
/// sum keeps its top within one bit of bit 125, and the sticky bit stays 70 bits below the
/// rounding position.
pub(crate) fn sum(a: Wide, b: Wide) -> f64 {
    let (large, small) = if a.not_below(&b) { (a, b) } else { (b, a) };
    let d = (large.exp - small.exp) as u32; // ≥ 0: both have their top bit at 125
    let shifted = if d >= 128 {
        1 // only sticky: small is nonzero
    } else {
        let kept = small.sig >> d;
        kept | ((kept << d != small.sig) as u128)
    };
    let sig = if large.negative == small.negative {
        large.sig + shifted
    } else {
        large.sig - shifted
    };
    if sig == 0 {
        return 0.0; // x + (−x) is +0 when rounding to nearest
    }
    Wide { sig, ..large }.round()
}

/// `a + b`, rounded to `f64`, with IEEE 754's special cases. (Never inlined, as `div`: on a
/// Cortex-M4F their 128-bit locals would otherwise swell the frame of the kernel that calls them.)
#[inline(never)]
pub(crate) fn add(a: f64, b: f64) -> f64 {
    let (ab, bb) = (a.to_bits(), b.to_bits());
    let (am, bm) = (ab & !SIGN, bb & !SIGN);
    if am > INF || bm > INF {
        return f64::NAN;
    }
    if am == INF || bm == INF {
        return if am == INF && bm == INF && ab != bb {
            f64::NAN // ∞ − ∞
        } else if am == INF {
            a
        } else {
            b
        };
    }
    match (am == 0, bm == 0) {
        (true, true) => f64::from_bits(ab & bb), // −0 only when both are −0
        (true, false) => b,
        (false, true) => a,
        (false, false) => sum(Wide::of(ab), Wide::of(bb)),
    }
}

/// `a / b`, rounded to `f64`, with IEEE 754's special cases.
#[inline(never)]
pub(crate) fn div(a: f64, b: f64) -> f64 {
    let (ab, bb) = (a.to_bits(), b.to_bits());
    let (am, bm) = (ab & !SIGN, bb & !SIGN);
    let sign = (ab ^ bb) & SIGN;
    let signed = |m: u64| f64::from_bits(sign | m);
    if am > INF || bm > INF || (am == INF && bm == INF) || (am == 0 && bm == 0) {
        return f64::NAN;
    }
    if am == INF || bm == 0 {
        return signed(INF);
    }
    if bm == INF || am == 0 {
        return signed(0);
    }
    let (sa, ea) = unpack(am);
    let (sb, eb) = unpack(bm);
    let (a53, b53) = (sa >> 11, sb >> 11); // in [2^52, 2^53)
    // q = ⌊a53·2^63 / b53⌋ by restoring division, one bit per step: q lies in [2^62, 2^64)
    let (mut q, mut r) = ((a53 >= b53) as u64, a53);
    if q == 1 {
        r -= b53;
    }
    for _ in 0..63 {
        r <<= 1;
        q <<= 1;
        if r >= b53 {
            r -= b53;
            q |= 1;
        }
    }
    // a/b = (q + r/b53)·2^(ea − eb − 63)
    signed(F64.round(q, ea - eb - 63, r != 0))
}
