//! Helpers shared by the integration tests: the golden file and bit comparisons.
#![allow(dead_code)]

use serde_json::Value;

/// The golden file recorded from MindSpore 2.10.0 (see tests/golden/README.md).
pub fn golden() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/golden/golden-2.10.0.json"
    );
    let text = std::fs::read_to_string(path).expect("read golden file");
    serde_json::from_str(&text).expect("parse golden file")
}

fn parse_hex(s: &str) -> u32 {
    u32::from_str_radix(s.trim_start_matches("0x"), 16).expect("hex f32 bits")
}

/// An encoded f32 `{"hex": "0x..."}`.
pub fn f32_of(v: &Value) -> f32 {
    f32::from_bits(parse_hex(v["hex"].as_str().expect("hex string")))
}

/// An encoded f32 array `{"shape", "hex": [...]}`, flattened.
pub fn f32s_of(v: &Value) -> Vec<f32> {
    v["hex"]
        .as_array()
        .expect("hex array")
        .iter()
        .map(|h| f32::from_bits(parse_hex(h.as_str().expect("hex string"))))
        .collect()
}

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
