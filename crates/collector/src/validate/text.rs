//! Text conventions of the reference tool, which is written in Java.
//!
//! Every value is compared as text, so the exact spelling of numbers and the
//! exact meaning of "trim" decide whether an expectation passes. These helpers
//! reproduce `String.trim()`, `Double.toString(double)` and
//! `Double.parseDouble(String)` closely enough for test data.

/// `String.trim()`: strips leading and trailing characters up to U+0020
/// (ASCII controls and space), unlike Rust's Unicode-aware `trim()`.
pub(crate) fn java_trim(s: &str) -> &str {
    s.trim_matches(|c: char| c <= ' ')
}

/// `Double.toString(double)`: shortest round-trip digits, always with a
/// fractional part (`1.0`), scientific notation (`1.0E7`, `1.0E-4`) outside
/// `[1e-3, 1e7)`.
pub(crate) fn java_double(v: f64) -> String {
    if v.is_nan() {
        return "NaN".to_owned();
    }
    if v.is_infinite() {
        return if v > 0.0 { "Infinity" } else { "-Infinity" }.to_owned();
    }
    if v == 0.0 {
        return if v.is_sign_negative() { "-0.0" } else { "0.0" }.to_owned();
    }
    let magnitude = v.abs();
    if (1e-3..1e7).contains(&magnitude) {
        let plain = format!("{v}");
        if plain.contains('.') {
            plain
        } else {
            format!("{plain}.0")
        }
    } else {
        let sci = format!("{v:e}");
        match sci.split_once('e') {
            Some((mantissa, exponent)) if mantissa.contains('.') => {
                format!("{mantissa}E{exponent}")
            }
            Some((mantissa, exponent)) => format!("{mantissa}.0E{exponent}"),
            // `{:e}` always has an exponent; keep the text rather than panic.
            None => sci,
        }
    }
}

/// `Double.parseDouble(String)` for the decimal forms test data uses:
/// surrounding control/space characters, optional sign, `NaN`, `Infinity`,
/// and an optional `d`/`f` type suffix. Returns `None` where Java would throw
/// `NumberFormatException` (hexadecimal floats are not supported here).
pub(crate) fn java_parse_double(s: &str) -> Option<f64> {
    let t = java_trim(s);
    let (negative, unsigned) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let magnitude = match unsigned {
        "NaN" => f64::NAN,
        "Infinity" => f64::INFINITY,
        _ => {
            let digits = unsigned.strip_suffix(['d', 'D', 'f', 'F']).unwrap_or(unsigned);
            // Rust also accepts "inf"/"nan" spellings Java rejects, so only
            // let the decimal alphabet through to `parse`.
            if digits.is_empty()
                || !digits.chars().all(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '+' | '-'))
            {
                return None;
            }
            digits.parse::<f64>().ok()?
        }
    };
    Some(if negative { -magnitude } else { magnitude })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_print_like_java() {
        assert_eq!(java_double(1.0), "1.0");
        assert_eq!(java_double(0.0), "0.0");
        assert_eq!(java_double(-2.5), "-2.5");
        assert_eq!(java_double(1e7), "1.0E7");
        assert_eq!(java_double(1.5e-4), "1.5E-4");
        assert_eq!(java_double(0.001), "0.001");
        assert_eq!(java_double(9_999_999.0), "9999999.0");
        assert_eq!(java_double(f64::NEG_INFINITY), "-Infinity");
    }

    #[test]
    fn doubles_parse_like_java() {
        assert_eq!(java_parse_double(" 12 "), Some(12.0));
        assert_eq!(java_parse_double("1.5d"), Some(1.5));
        assert_eq!(java_parse_double("-Infinity"), Some(f64::NEG_INFINITY));
        assert_eq!(java_parse_double("inf"), None);
        assert_eq!(java_parse_double("abc"), None);
        assert_eq!(java_parse_double(""), None);
        assert_eq!(java_parse_double("1e3"), Some(1000.0));
    }

    #[test]
    fn trim_keeps_unicode_spaces() {
        assert_eq!(java_trim("\t a \n"), "a");
        assert_eq!(java_trim("\u{a0}a"), "\u{a0}a");
    }
}
