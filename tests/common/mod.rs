//! Helpers shared by the integration tests: bit comparisons. The golden files are read by the
//! `golden` crate.
#![allow(dead_code)]

pub mod parts;
pub mod strategy;
pub mod verdict;

/// Equal bits, or both NaN.
pub fn same(a: f32, b: f32) -> bool {
    a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan())
}

/// The first index where two slices differ in the sense of [`same`], or a length difference.
pub fn first_difference(a: &[f32], b: &[f32]) -> Option<String> {
    if a.len() != b.len() {
        return Some(format!("lengths {} and {}", a.len(), b.len()));
    }
    a.iter().zip(b).enumerate().find_map(|(i, (&x, &y))| {
        (!same(x, y)).then(|| {
            format!(
                "index {i}: {x:e} ({:#010x}) vs {y:e} ({:#010x})",
                x.to_bits(),
                y.to_bits()
            )
        })
    })
}

/// Panics with the first difference.
#[track_caller]
pub fn assert_same(actual: &[f32], expected: &[f32], what: &str) {
    if let Some(d) = first_difference(actual, expected) {
        panic!("{what}: {d}");
    }
}
