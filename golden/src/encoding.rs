//! The file's encodings: an `f32` is `{"hex": "0x3dcccccd", "dec": "0.1"}`, an `f32` array
//! `{"shape", "hex": [...], "dec": [...]}` in C order, a Python double
//! `{"f64_hex": float.hex(), "dec", "f32"}`.

use serde_json::Value;

fn hex_bits(v: &Value) -> Result<u64, String> {
    let s = v.as_str().ok_or_else(|| format!("not a hex string: {v}"))?;
    u64::from_str_radix(s.trim_start_matches("0x"), 16).map_err(|e| format!("{s}: {e}"))
}

/// An encoded `f32` `{"hex": "0x..."}`.
pub fn f32_of(v: &Value) -> Result<f32, String> {
    let bits = hex_bits(&v["hex"])?;
    u32::try_from(bits)
        .map(f32::from_bits)
        .map_err(|_| format!("{bits:#x} is not 32 bits"))
}

/// An encoded `f32` array `{"shape", "hex": [...]}`, flattened.
pub fn f32s_of(v: &Value) -> Result<Vec<f32>, String> {
    v.get("hex")
        .and_then(Value::as_array)
        .ok_or_else(|| format!("not an f32 array: {v}"))?
        .iter()
        .map(|h| {
            let bits = hex_bits(h)?;
            u32::try_from(bits)
                .map(f32::from_bits)
                .map_err(|_| format!("{bits:#x} is not 32 bits"))
        })
        .collect()
}

/// The shape of an encoded array.
pub fn shape_of(v: &Value) -> Result<Vec<usize>, String> {
    v.get("shape")
        .and_then(Value::as_array)
        .ok_or_else(|| format!("no shape: {v}"))?
        .iter()
        .map(|d| {
            d.as_u64()
                .map(|d| d as usize)
                .ok_or(format!("bad dimension {d}"))
        })
        .collect()
}

/// A list of encoded arrays, flattened each.
pub fn arrays_of(v: &Value) -> Result<Vec<Vec<f32>>, String> {
    v.as_array()
        .ok_or_else(|| format!("not a list of arrays: {v}"))?
        .iter()
        .map(f32s_of)
        .collect()
}

/// A Python double as `float.hex()` writes it (C99 hex-float syntax), exactly.
pub fn f64_of_hex(s: &str) -> Option<f64> {
    let (neg, s) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    let v = match s {
        "inf" => f64::INFINITY,
        "nan" => f64::NAN,
        _ => {
            let s = s.strip_prefix("0x")?;
            let (mantissa, exp) = s.split_once('p')?;
            let exp: i32 = exp.parse().ok()?;
            let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
            let mut m = u64::from_str_radix(int, 16).ok()? as f64;
            let mut scale = 1.0 / 16.0;
            for c in frac.chars() {
                m += c.to_digit(16)? as f64 * scale;
                scale /= 16.0;
            }
            m * 2f64.powi(exp)
        }
    };
    Some(if neg { -v } else { v })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_floats_parse_exactly() {
        for x in [
            0.1f64,
            -2.5e-300,
            1.0,
            123456.789,
            f64::MIN_POSITIVE,
            f64::MAX,
        ] {
            let hex = format!("{x:e}"); // not hex: only a label
            let h = hex_of(x);
            assert_eq!(
                f64_of_hex(&h).map(f64::to_bits),
                Some(x.to_bits()),
                "{hex} {h}"
            );
        }
        assert_eq!(f64_of_hex("-inf"), Some(f64::NEG_INFINITY));
        assert!(f64_of_hex("nan").unwrap().is_nan());
        assert_eq!(f64_of_hex("1.5"), None);
    }

    /// `float.hex()` of a normal double, as Python writes it.
    fn hex_of(x: f64) -> String {
        let b = x.to_bits();
        let sign = if b >> 63 == 1 { "-" } else { "" };
        let exp = ((b >> 52) & 0x7ff) as i32 - 1023;
        format!("{sign}0x1.{:013x}p{exp:+}", b & ((1 << 52) - 1))
    }

    #[test]
    fn f32_arrays() {
        let v: Value = serde_json::json!({"shape": [2], "hex": ["0x3f800000", "0x80000000"]});
        assert_eq!(f32s_of(&v).unwrap()[1].to_bits(), 0x8000_0000);
        assert_eq!(shape_of(&v).unwrap(), vec![2]);
        assert!(f32_of(&serde_json::json!({"hex": "0x1ffffffff"})).is_err());
    }
}
