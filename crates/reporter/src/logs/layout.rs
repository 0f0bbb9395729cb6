//! The log reporter's layout (`agent_log_reporter_layout`): a `logging` format string with
//! `%(name)s` fields, formatted here on the reporter thread from values the application
//! thread captured, so the application pays only for reading the record's attributes.
//!
//! The conversions of Python's `%` operator that layouts use are supported: `s`, `r`, `a`,
//! `d`, `i`, `u`, `f`, `F`, `e`, `E`, `g`, `G`, `x`, `X`, `o`, `c` and `%%`, with the flags
//! `-`, `0`, `+`, ` ` and `#`, a width and a precision. `asctime` is rendered as
//! `logging.Formatter` renders it by default (local time, `%Y-%m-%d %H:%M:%S,mmm`).

use std::fmt::Write as _;

/// A value read from a log record for one layout field.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A `str` attribute (or `str()` of an object the layout prints with `%s`).
    Str(String),
    Int(i64),
    Float(f64),
    /// The attribute is missing (Python would fail the whole format; here it prints empty).
    Missing,
}

#[derive(Debug, Clone, PartialEq)]
enum Piece {
    Literal(String),
    Field { index: usize, spec: Spec },
}

#[derive(Debug, Clone, Copy, PartialEq, Default)]
struct Spec {
    left: bool,
    zero: bool,
    plus: bool,
    space: bool,
    alternate: bool,
    width: usize,
    precision: Option<usize>,
    conversion: char,
}

/// A parsed layout: literals and fields; `fields()` names the attributes to capture.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Layout {
    pieces: Vec<Piece>,
    fields: Vec<String>,
    source: String,
}

impl Layout {
    /// Parses a `%(name)s` layout. Text that is not a valid field is kept literally (Python
    /// would raise for each record; a reporter must not).
    #[must_use]
    pub fn parse(source: &str) -> Self {
        let mut layout = Self { source: source.to_owned(), ..Self::default() };
        let mut literal = String::new();
        let mut rest = source;
        while let Some(at) = rest.find('%') {
            literal.push_str(&rest[..at]);
            let after = &rest[at + 1..];
            if let Some(stripped) = after.strip_prefix('%') {
                literal.push('%');
                rest = stripped;
                continue;
            }
            match parse_field(after) {
                Some((name, spec, used)) => {
                    if !literal.is_empty() {
                        layout.pieces.push(Piece::Literal(std::mem::take(&mut literal)));
                    }
                    let index = layout.field_index(name);
                    layout.pieces.push(Piece::Field { index, spec });
                    rest = &after[used..];
                }
                None => {
                    literal.push('%');
                    rest = after;
                }
            }
        }
        literal.push_str(rest);
        if !literal.is_empty() {
            layout.pieces.push(Piece::Literal(literal));
        }
        layout
    }

    fn field_index(&mut self, name: &str) -> usize {
        if let Some(index) = self.fields.iter().position(|f| f == name) {
            return index;
        }
        self.fields.push(name.to_owned());
        self.fields.len() - 1
    }

    /// The distinct attribute names the layout prints, in order of first use; the values
    /// handed to [`Layout::format`] follow this order.
    #[must_use]
    pub fn fields(&self) -> &[String] {
        &self.fields
    }

    /// The layout as configured.
    #[must_use]
    pub fn source(&self) -> &str {
        &self.source
    }

    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.pieces.is_empty()
    }

    /// Renders the layout; `created` (seconds since the epoch) gives `asctime`.
    #[must_use]
    pub fn format(&self, values: &[Value], created: f64) -> String {
        let mut out = String::with_capacity(self.source.len() + 64);
        for piece in &self.pieces {
            match piece {
                Piece::Literal(text) => out.push_str(text),
                Piece::Field { index, spec } => {
                    let name = self.fields.get(*index).map_or("", String::as_str);
                    let asctime;
                    let value = if name == "asctime" && values.get(*index).is_none_or(|v| *v == Value::Missing) {
                        asctime = Value::Str(super::time::asctime(created));
                        &asctime
                    } else {
                        values.get(*index).unwrap_or(&Value::Missing)
                    };
                    render(&mut out, value, spec);
                }
            }
        }
        out
    }
}

/// `(name)` then flags, width, precision and a conversion; returns the bytes used.
fn parse_field(text: &str) -> Option<(&str, Spec, usize)> {
    let inner = text.strip_prefix('(')?;
    let close = inner.find(')')?;
    let name = &inner[..close];
    let mut spec = Spec::default();
    let mut chars = inner[close + 1..].char_indices().peekable();
    while let Some(&(_, c)) = chars.peek() {
        match c {
            '-' => spec.left = true,
            '0' => spec.zero = true,
            '+' => spec.plus = true,
            ' ' => spec.space = true,
            '#' => spec.alternate = true,
            _ => break,
        }
        chars.next();
    }
    spec.width = digits(&mut chars).unwrap_or(0);
    if chars.peek().is_some_and(|&(_, c)| c == '.') {
        chars.next();
        spec.precision = Some(digits(&mut chars).unwrap_or(0));
    }
    // Length modifiers are accepted and ignored by Python.
    while chars.peek().is_some_and(|&(_, c)| matches!(c, 'h' | 'l' | 'L')) {
        chars.next();
    }
    let (offset, conversion) = chars.next()?;
    if !"sradiufFeEgGxXoc".contains(conversion) {
        return None;
    }
    spec.conversion = conversion;
    Some((name, spec, 1 + close + 1 + offset + conversion.len_utf8()))
}

fn digits(chars: &mut std::iter::Peekable<std::str::CharIndices<'_>>) -> Option<usize> {
    let mut value: Option<usize> = None;
    while let Some(&(_, c)) = chars.peek() {
        let Some(d) = c.to_digit(10) else { break };
        value = Some(value.unwrap_or(0).saturating_mul(10).saturating_add(d as usize));
        chars.next();
    }
    value
}

fn render(out: &mut String, value: &Value, spec: &Spec) {
    let body = match spec.conversion {
        's' | 'a' => text_of(value, spec.precision),
        'r' => match value {
            Value::Str(s) => truncate(&python_repr(s), spec.precision),
            other => text_of(other, spec.precision),
        },
        'c' => match value {
            Value::Int(i) => u32::try_from(*i).ok().and_then(char::from_u32).map(String::from).unwrap_or_default(),
            other => text_of(other, None),
        },
        'd' | 'i' | 'u' => match number(value) {
            // Python truncates a float printed with %d.
            #[allow(clippy::cast_possible_truncation)]
            Some(n) => signed(n.trunc() as i64, spec, |v| v.to_string()),
            None => text_of(value, None),
        },
        'x' | 'X' | 'o' => match number(value) {
            #[allow(clippy::cast_possible_truncation)]
            Some(n) => {
                let radix = |v: i64| {
                    let magnitude = v.unsigned_abs();
                    match spec.conversion {
                        'x' => format!("{}{magnitude:x}", if spec.alternate { "0x" } else { "" }),
                        'X' => format!("{}{magnitude:X}", if spec.alternate { "0X" } else { "" }),
                        _ => format!("{}{magnitude:o}", if spec.alternate { "0o" } else { "" }),
                    }
                };
                signed(n.trunc() as i64, spec, radix)
            }
            None => text_of(value, None),
        },
        _ => match number(value) {
            Some(n) => float(n, spec),
            None => text_of(value, None),
        },
    };
    pad(out, &body, spec);
}

fn text_of(value: &Value, precision: Option<usize>) -> String {
    let text = match value {
        Value::Str(s) => s.clone(),
        Value::Int(i) => i.to_string(),
        Value::Float(f) => python_float(*f),
        Value::Missing => String::new(),
    };
    truncate(&text, precision)
}

fn truncate(text: &str, precision: Option<usize>) -> String {
    match precision {
        Some(p) => text.chars().take(p).collect(),
        None => text.to_owned(),
    }
}

/// `repr()` of a float as Python prints it: shortest round-trip, always with a point.
fn python_float(f: f64) -> String {
    if f.is_finite() && f.fract() == 0.0 && f.abs() < 1e16 {
        format!("{f:.1}")
    } else if f.is_nan() {
        "nan".into()
    } else if f.is_infinite() {
        if f > 0.0 {
            "inf".into()
        } else {
            "-inf".into()
        }
    } else {
        f.to_string()
    }
}

fn python_repr(s: &str) -> String {
    let quote = if s.contains('\'') && !s.contains('"') { '"' } else { '\'' };
    let mut out = String::with_capacity(s.len() + 2);
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

#[allow(clippy::cast_precision_loss)]
fn number(value: &Value) -> Option<f64> {
    match value {
        Value::Int(i) => Some(*i as f64),
        Value::Float(f) => Some(*f),
        Value::Str(s) => s.trim().parse().ok(),
        Value::Missing => None,
    }
}

fn sign(negative: bool, spec: &Spec) -> &'static str {
    if negative {
        "-"
    } else if spec.plus {
        "+"
    } else if spec.space {
        " "
    } else {
        ""
    }
}

fn signed(v: i64, spec: &Spec, digits: impl Fn(i64) -> String) -> String {
    let magnitude = digits(v).trim_start_matches('-').to_owned();
    let magnitude = match spec.precision {
        Some(p) if magnitude.len() < p => format!("{}{magnitude}", "0".repeat(p - magnitude.len())),
        _ => magnitude,
    };
    zero_pad(sign(v < 0, spec), &magnitude, spec)
}

fn float(n: f64, spec: &Spec) -> String {
    let precision = spec.precision.unwrap_or(6);
    let magnitude = match spec.conversion {
        'e' => format_exp(n.abs(), precision, false),
        'E' => format_exp(n.abs(), precision, true),
        'g' | 'G' => {
            let text = python_float(n.abs());
            if spec.conversion == 'G' {
                text.to_uppercase()
            } else {
                text
            }
        }
        _ => format!("{:.precision$}", n.abs()),
    };
    zero_pad(sign(n.is_sign_negative() && n != 0.0, spec), &magnitude, spec)
}

fn format_exp(n: f64, precision: usize, upper: bool) -> String {
    let text = format!("{n:.precision$e}");
    // Rust writes `1.5e3`; Python writes `1.5e+03`.
    let (mantissa, exponent) = text.split_once('e').unwrap_or((&text, "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    let e = if upper { 'E' } else { 'e' };
    format!("{mantissa}{e}{}{:02}", if exponent < 0 { '-' } else { '+' }, exponent.abs())
}

fn zero_pad(sign: &str, magnitude: &str, spec: &Spec) -> String {
    let len = sign.len() + magnitude.chars().count();
    if spec.zero && !spec.left && spec.width > len {
        format!("{sign}{}{magnitude}", "0".repeat(spec.width - len))
    } else {
        format!("{sign}{magnitude}")
    }
}

fn pad(out: &mut String, body: &str, spec: &Spec) {
    let len = body.chars().count();
    let fill = spec.width.saturating_sub(len);
    if spec.left {
        out.push_str(body);
        out.extend(std::iter::repeat_n(' ', fill));
    } else {
        out.extend(std::iter::repeat_n(' ', fill));
        out.push_str(body);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fmt(layout: &str, values: &[Value]) -> String {
        Layout::parse(layout).format(values, 0.0)
    }

    #[test]
    fn fields_are_named_once_in_order() {
        let layout = Layout::parse("%(levelname)s %(name)s %(levelname)-8s %(message)s");
        assert_eq!(layout.fields(), ["levelname", "name", "message"]);
    }

    #[test]
    fn conversions_match_pythons_percent_operator() {
        // Each expectation is what CPython prints for the same format and value.
        assert_eq!(fmt("[%(a)s]", &[Value::Str("x".into())]), "[x]");
        assert_eq!(fmt("[%(a)-5s]", &[Value::Str("x".into())]), "[x    ]");
        assert_eq!(fmt("[%(a)5s]", &[Value::Str("x".into())]), "[    x]");
        assert_eq!(fmt("[%(a).2s]", &[Value::Str("xyz".into())]), "[xy]");
        assert_eq!(fmt("%(a)d", &[Value::Int(42)]), "42");
        assert_eq!(fmt("%(a)03d", &[Value::Float(7.9)]), "007");
        assert_eq!(fmt("%(a)+d", &[Value::Int(5)]), "+5");
        assert_eq!(fmt("%(a).3f", &[Value::Float(1.23456)]), "1.235");
        assert_eq!(fmt("%(a)f", &[Value::Float(2.0)]), "2.000000");
        assert_eq!(fmt("%(a)s", &[Value::Float(2.0)]), "2.0");
        assert_eq!(fmt("%(a)x", &[Value::Int(255)]), "ff");
        assert_eq!(fmt("%(a)e", &[Value::Float(1500.0)]), "1.500000e+03");
        assert_eq!(fmt("%(a)r", &[Value::Str("it's".into())]), "\"it's\"");
        assert_eq!(fmt("100%% %(a)s", &[Value::Str("done".into())]), "100% done");
    }

    #[test]
    fn malformed_fields_stay_literal() {
        assert_eq!(fmt("%(a %s %(b)q", &[]), "%(a %s %(b)q");
        assert_eq!(fmt("%(a)s", &[Value::Missing]), "");
    }

    #[test]
    fn asctime_is_rendered_from_the_creation_time() {
        let layout = Layout::parse("%(asctime)s|");
        let text = layout.format(&[Value::Missing], 1_700_000_000.123);
        // 2023-11-14 22:13:20,123 in UTC; the hour depends on the local zone.
        assert_eq!(text.len(), "2023-11-14 22:13:20,123|".len(), "{text}");
        assert!(text.ends_with(",123|"), "{text}");
    }
}
