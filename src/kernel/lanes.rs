//! `N` `f32` values that move and compute together. The fused kernels are written once over this
//! trait; each operation is one IEEE-754 operation per lane, never fused, so every width gives
//! the bits of the scalar reference.

/// A vector of `N` lanes. Only the operations the kernels need, each one IEEE-754 operation per
/// lane; no multiply-add on purpose (the fused one is [`crate::fma::Fused`]'s).
pub(crate) trait Lanes<const N: usize>: Copy {
    fn splat(x: f32) -> Self;
    fn load(a: &[f32; N]) -> Self;
    fn store(self, a: &mut [f32; N]);
    fn add(self, b: Self) -> Self;
    fn sub(self, b: Self) -> Self;
    fn mul(self, b: Self) -> Self;
    fn div(self, b: Self) -> Self;
    /// The correctly rounded square root.
    fn sqrt(self) -> Self;
    /// `-self`: the sign flipped, NaN included.
    fn neg(self) -> Self;
    /// C++'s `std::max(self, b)`: `b` where `self < b`, else `self` (NaN and ±0 as that).
    fn max_of(self, b: Self) -> Self;
}

/// One lane: the scalar fallback, and the tails of every vector path.
impl Lanes<1> for f32 {
    #[inline(always)]
    fn splat(x: f32) -> Self {
        x
    }
    #[inline(always)]
    fn load(a: &[f32; 1]) -> Self {
        a[0]
    }
    #[inline(always)]
    fn store(self, a: &mut [f32; 1]) {
        a[0] = self;
    }
    #[inline(always)]
    fn add(self, b: Self) -> Self {
        self + b
    }
    #[inline(always)]
    fn sub(self, b: Self) -> Self {
        self - b
    }
    #[inline(always)]
    fn mul(self, b: Self) -> Self {
        self * b
    }
    #[inline(always)]
    fn div(self, b: Self) -> Self {
        self / b
    }
    #[inline(always)]
    fn sqrt(self) -> Self {
        crate::sqrt::sqrt_f32(self)
    }
    #[inline(always)]
    fn neg(self) -> Self {
        -self
    }
    #[inline(always)]
    fn max_of(self, b: Self) -> Self {
        if self < b { b } else { self }
    }
}

/// `wide`'s eight lanes, on whatever backend `wide` picked at compile time: two SSE registers
/// (one AVX register with `+avx`), two NEON registers, two simd128 values, or plain arrays.
impl Lanes<8> for wide::f32x8 {
    #[inline(always)]
    fn splat(x: f32) -> Self {
        wide::f32x8::splat(x)
    }
    #[inline(always)]
    fn load(a: &[f32; 8]) -> Self {
        wide::f32x8::new(*a)
    }
    #[inline(always)]
    fn store(self, a: &mut [f32; 8]) {
        *a = self.to_array();
    }
    #[inline(always)]
    fn add(self, b: Self) -> Self {
        self + b
    }
    #[inline(always)]
    fn sub(self, b: Self) -> Self {
        self - b
    }
    #[inline(always)]
    fn mul(self, b: Self) -> Self {
        self * b
    }
    #[inline(always)]
    fn div(self, b: Self) -> Self {
        self / b
    }
    #[inline(always)]
    fn sqrt(self) -> Self {
        wide::f32x8::sqrt(self)
    }
    #[inline(always)]
    fn neg(self) -> Self {
        -self
    }
    #[inline(always)]
    fn max_of(self, b: Self) -> Self {
        self.simd_lt(b).select(b, self)
    }
}
