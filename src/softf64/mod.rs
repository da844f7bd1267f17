//! The few `f64` operations that building an optimizer needs, done on bit patterns with integer
//! arithmetic: the tests of validation, `a·b`, `1/x` and the rounding to `f32`; and ([`arith`])
//! the sums and quotients of Adam's `f64` formulas on targets without an `f64` FPU.
//!
//! Why: hyper-parameters arrive as `f64` (MindSpore's Python floats) and are rounded where
//! MindSpore rounds them, but a Cortex-M4F has a single-precision FPU only. There, every `f64`
//! operation is a call into a soft-float library (`__muldf3`, `__divdf3`, `__aeabi_d2f`, the
//! comparisons: about 2.4 KiB of flash). These functions give the same bits as IEEE 754 binary64
//! arithmetic with round-to-nearest-even (tested against the hardware on the host) in a fraction
//! of that code. The tests of validation are the only path on every target; `a·b`, `1/x` and the
//! rounding run on the FPU where the target has one ([`crate::double`]): the same bits, faster.

/// Whether this target computes `f64` in software (no `f64` FPU: the Cortex-M cores): there, Adam's
/// `f64` formulas use this module too (`crate::double`, `crate::sqrt`).
pub(crate) const SOFT_F64: bool = cfg!(all(target_arch = "arm", target_os = "none"));

pub(crate) const SIGN: u64 = 1 << 63;
pub(crate) const INF: u64 = 0x7ff0_0000_0000_0000;
const ONE: u64 = 0x3ff0_0000_0000_0000;
pub(crate) const FRAC: u64 = (1 << 52) - 1;

/// An `f64` as two words. Structs that keep one this way stay 4-byte aligned: moving
/// 8-byte-aligned values on a 32-bit core links a second copy routine (`__aeabi_memcpy8`,
/// `__aeabi_memclr8`) besides the 4-byte ones a firmware has anyway.
pub(crate) fn to_words(x: f64) -> [u32; 2] {
    let b = x.to_bits();
    [b as u32, (b >> 32) as u32]
}

/// The `f64` of [`to_words`].
pub(crate) fn from_words(w: [u32; 2]) -> f64 {
    f64::from_bits(w[0] as u64 | (w[1] as u64) << 32)
}

/// `x` is neither infinite nor NaN.
pub(crate) fn is_finite(x: f64) -> bool {
    x.to_bits() & !SIGN < INF
}

/// `x < 0`: false for −0 and NaN.
pub(crate) fn is_negative(x: f64) -> bool {
    let b = x.to_bits();
    b & SIGN != 0 && b & !SIGN != 0 && b & !SIGN <= INF
}

/// `x > 0`: false for +0 and NaN.
pub(crate) fn is_positive(x: f64) -> bool {
    let b = x.to_bits();
    b & SIGN == 0 && b != 0 && b <= INF
}

/// `x == 1`.
pub(crate) fn is_one(x: f64) -> bool {
    x.to_bits() == ONE
}

/// `x == 0` (either sign).
pub(crate) fn is_zero(x: f64) -> bool {
    x.to_bits() & !SIGN == 0
}

/// A binary floating-point format: the bits of its fraction and its largest biased exponent.
pub(crate) struct Format {
    frac_bits: u32,
    max_biased: i32,
}

pub(crate) const F64: Format = Format {
    frac_bits: 52,
    max_biased: 2046,
};
const F32: Format = Format {
    frac_bits: 23,
    max_biased: 254,
};

impl Format {
    fn bias(&self) -> i32 {
        self.max_biased / 2
    }

    fn inf(&self) -> u64 {
        ((self.max_biased as u64) + 1) << self.frac_bits
    }

    /// The bits (without sign) of `sig·2^exp`, plus a positive amount below `sig`'s last bit when
    /// `sticky`, rounded to nearest, ties to even. `sig` has its top bit or the one below set.
    pub(crate) fn round(&self, sig: u64, exp: i32, sticky: bool) -> u64 {
        // shifting in a zero keeps the value exact: `sticky` still lies below the rounding bit
        let (sig, exp) = if sig >> 63 == 0 {
            (sig << 1, exp - 1)
        } else {
            (sig, exp)
        };
        let biased = exp + 63 + self.bias();
        if biased > self.max_biased {
            return self.inf();
        }
        // The number of low bits of `sig` that do not fit: 63 − frac_bits for a normal result,
        // more for a subnormal one (biased exponent ≤ 0), whose exponent field is then 0.
        let keep_shift = 63 - self.frac_bits;
        let (shift, field) = if biased >= 1 {
            (keep_shift, biased as u64 - 1)
        } else {
            (keep_shift + (1 - biased) as u32, 0)
        };
        let q = shift_right_even(sig, shift, sticky);
        // Adding `q` (its implicit bit included) to the exponent field minus one gives the bits;
        // a carry out of the fraction raises the exponent, at most to infinity's.
        (field << self.frac_bits) + q
    }
}

/// `sig·2^−shift` rounded to nearest, ties to even; `sticky` adds a positive amount below
/// `sig`'s last bit. `shift` ≥ 1.
fn shift_right_even(sig: u64, shift: u32, sticky: bool) -> u64 {
    const HALF: u64 = 1 << 63;
    let (q, rest) = match shift {
        1..=63 => (sig >> shift, sig << (64 - shift)),
        64 => (0, sig),
        _ => return 0, // below a half
    };
    let up = rest > HALF || (rest == HALF && (sticky || q & 1 == 1));
    q + up as u64
}

/// The significand of a finite `f64` with its top bit at bit 63 (0 for ±0), and the exponent
/// with `|x| = sig·2^exp`.
#[inline(never)]
pub(crate) fn unpack(bits: u64) -> (u64, i32) {
    let field = ((bits >> 52) & 0x7ff) as i32;
    let (sig, exp) = if field == 0 {
        (bits & FRAC, -1074)
    } else {
        ((bits & FRAC) | (1 << 52), field - 1075)
    };
    let lz = sig.leading_zeros();
    // a zero significand (±0) stays 0: its shift of 64 is masked to 0
    (sig << (lz & 63), exp - lz as i32)
}

/// `F(x)`: `x as f32`, round to nearest, ties to even. Out of line: the M4F firmware calls it from
/// the validation and Adam's tails, and a copy inlined in each costs flash.
#[inline(never)]
pub(crate) fn to_f32(x: f64) -> f32 {
    let bits = x.to_bits();
    let sign = ((bits >> 32) as u32) & 0x8000_0000;
    let magnitude = bits & !SIGN;
    let out = if magnitude > INF {
        // NaN: quiet, with the top of the payload
        0x7fc0_0000 | ((magnitude & FRAC) >> 29) as u32
    } else if magnitude == INF {
        0x7f80_0000
    } else if magnitude == 0 {
        0
    } else {
        let (sig, exp) = unpack(magnitude);
        F32.round(sig, exp, false) as u32
    };
    f32::from_bits(sign | out)
}

/// `a·b` of finite `a, b ≥ 0` (−0 included), rounded to `f64` (infinite when it overflows).
pub(crate) fn mul(a: f64, b: f64) -> f64 {
    let (a, b) = (a.to_bits(), b.to_bits());
    let (sa, ea) = unpack(a);
    let (sb, eb) = unpack(b);
    // For nonzero factors sa·sb lies in [2^126, 2^128): its high half holds at least 63 bits, more
    // than the 53 and the rounding bit needed; the low half only tells whether anything lies below.
    let (hi, lo) = mul_wide(sa, sb);
    if hi == 0 {
        // a factor is ±0 (`unpack` gives it significand 0): the product is a zero with the
        // signs' exclusive or, as in IEEE 754. (Tested here, on the product, rather than on the
        // operands' bits, which LLVM turns into an `f64` comparison: a soft-float call on an M4F.)
        return f64::from_bits((a ^ b) & SIGN);
    }
    f64::from_bits(F64.round(hi, ea + eb + 64, lo != 0))
}

/// The 128-bit product `a·b` as (high, low) 64-bit halves, with 32-bit multiplies (a 32-bit
/// core has no 64×64-bit multiply).
pub(crate) fn mul_wide(a: u64, b: u64) -> (u64, u64) {
    let (ah, al) = (a >> 32, a & 0xffff_ffff);
    let (bh, bl) = (b >> 32, b & 0xffff_ffff);
    let low = al * bl;
    let (mid, mid_carry) = (ah * bl).overflowing_add(al * bh);
    let (lo, lo_carry) = low.overflowing_add(mid << 32);
    let hi = ah * bh + (mid >> 32) + ((mid_carry as u64) << 32) + lo_carry as u64;
    (hi, lo)
}

/// `1/x` of a finite `x > 0`, rounded to `f64` (infinite when it overflows).
pub(crate) fn recip(x: f64) -> f64 {
    let (sig, exp) = unpack(x.to_bits());
    let s = sig >> 11; // in [2^52, 2^53): |x| = s·2^(exp + 11)
    // q = ⌊2^115 / s⌋ by restoring division, one bit per step: q lies in (2^62, 2^63]
    const K: i32 = 115;
    let (mut q, mut r) = (0u64, 1u64);
    for _ in 0..K {
        r <<= 1;
        q <<= 1;
        if r >= s {
            r -= s;
            q |= 1;
        }
    }
    // 1/x = (q + r/s)·2^(−K − exp − 11)
    f64::from_bits(F64.round(q, -K - exp - 11, r != 0))
}

pub(crate) mod arith;

#[cfg(test)]
mod tests;
