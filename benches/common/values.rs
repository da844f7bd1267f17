//! The benchmarks' input values: ordinary numbers (no subnormals) in a pseudo-random pattern the
//! compiler cannot fold. Shared by every bench, so that each measures the same data.

/// A xorshift sequence of values in [0, 1).
pub struct Values(u32);

impl Values {
    pub fn new() -> Self {
        Values(0x2545_f491)
    }

    /// The next value in [0, 1).
    pub fn next(&mut self) -> f32 {
        let x = &mut self.0;
        *x ^= *x << 13;
        *x ^= *x >> 17;
        *x ^= *x << 5;
        (*x >> 8) as f32 / (1 << 24) as f32
    }

    /// `n` values, each `f(next)`.
    pub fn take(&mut self, n: usize, f: impl Fn(f32) -> f32) -> Vec<f32> {
        (0..n).map(|_| f(self.next())).collect()
    }
}

/// Momentum's streams: params in [-0.5, 0.5), grads a hundredth of that, state a tenth.
pub fn buffers(n: usize) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    let mut v = Values::new();
    let w = v.take(n, |x| x - 0.5);
    let g = v.take(n, |x| (x - 0.5) * 0.01);
    let s = v.take(n, |x| (x - 0.5) * 0.1);
    (w, g, s)
}
