//! Value expressions of the expected data (`eq X`, `not null`, `gt 0`, ...).
//!
//! Two parsers exist because the reference tool changed its grammar after
//! the version the Python agent's CI pins: [`Semantics::Legacy`] splits on
//! single spaces, [`Semantics::Head`] matches operator prefixes.

use super::error::Fail;
use super::text::{java_parse_double, java_trim};
use super::Semantics;

/// One parsed expected leaf.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// Expected value absent or YAML null: nothing is checked.
    Noop,
    /// `not null`: the actual value exists (an empty string passes).
    NotNull,
    /// `null`: the actual value is absent or empty.
    Null,
    /// `not blank`: the actual value exists and is not only spaces.
    NotBlank,
    /// `eq X`, or any literal: the actual text equals `X` exactly.
    Equals(String),
    /// `nq X`: `X` differs from the trimmed actual text.
    NotEquals(String),
    /// `gt X`: both sides parse as numbers and actual > X.
    GreaterThan(String),
    /// `ge X`: both sides parse as numbers and actual >= X.
    GreaterEqual(String),
    /// `start with X` (HEAD only).
    StartWith(String),
    /// `end with X` (HEAD only).
    EndWith(String),
}

/// Why an expression could not be evaluated at all (the Java tool throws
/// here and aborts the whole validation).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EvalError {
    /// `gt`/`ge` with a side that is not a number.
    #[error("'{0}' is not a number")]
    NotANumber(String),
    /// `gt`/`ge`/`nq` against a value that does not exist.
    #[error("the actual value is absent")]
    NullActual,
}

impl Expr {
    /// Parses an expected leaf; `None` (absent or YAML null) is [`Expr::Noop`].
    pub fn parse(expression: Option<&str>, semantics: Semantics) -> Expr {
        match expression {
            None => Expr::Noop,
            Some(text) => match semantics {
                Semantics::Legacy => parse_legacy(text),
                Semantics::Head => parse_head(text),
            },
        }
    }

    /// Applies the expression to an actual value (`None` = Java null).
    /// `Ok(false)` is an ordinary mismatch.
    pub fn matches(&self, actual: Option<&str>) -> Result<bool, EvalError> {
        Ok(match self {
            Expr::Noop => true,
            Expr::NotNull => actual.is_some(),
            Expr::Null => actual.is_none_or(str::is_empty),
            Expr::NotBlank => actual.is_some_and(|a| !java_trim(a).is_empty()),
            Expr::Equals(want) => actual == Some(want.as_str()),
            Expr::NotEquals(other) => {
                let a = actual.ok_or(EvalError::NullActual)?;
                other.as_str() != java_trim(a)
            }
            Expr::GreaterThan(bound) => {
                let (a, b) = numbers(actual, bound)?;
                a > b
            }
            Expr::GreaterEqual(bound) => {
                let (a, b) = numbers(actual, bound)?;
                a >= b
            }
            Expr::StartWith(prefix) => actual.is_some_and(|a| a.starts_with(prefix.as_str())),
            Expr::EndWith(suffix) => actual.is_some_and(|a| a.ends_with(suffix.as_str())),
        })
    }
}

fn numbers(actual: Option<&str>, bound: &str) -> Result<(f64, f64), EvalError> {
    let a = actual.ok_or(EvalError::NullActual)?;
    let a = java_parse_double(a).ok_or_else(|| EvalError::NotANumber(a.to_owned()))?;
    let b = java_parse_double(bound).ok_or_else(|| EvalError::NotANumber(bound.to_owned()))?;
    Ok((a, b))
}

/// 7f20775: keyword forms only as the whole expression; otherwise exactly two
/// tokens separated by one space with a known operator, else a literal.
fn parse_legacy(text: &str) -> Expr {
    let t = java_trim(text);
    match t {
        "not null" => return Expr::NotNull,
        "not blank" => return Expr::NotBlank,
        "null" => return Expr::Null,
        _ => {}
    }
    let tokens: Vec<&str> = t.split(' ').collect();
    if let [op, operand] = tokens.as_slice() {
        let operand = (*operand).to_owned();
        match *op {
            "eq" => return Expr::Equals(operand),
            "nq" => return Expr::NotEquals(operand),
            "gt" => return Expr::GreaterThan(operand),
            "ge" => return Expr::GreaterEqual(operand),
            _ => {}
        }
    }
    Expr::Equals(t.to_owned())
}

/// HEAD: the first matching prefix wins, in the reference tool's order, so
/// `nullable` is the `null` operator and `eq a b` compares with `a b`.
fn parse_head(text: &str) -> Expr {
    let t = java_trim(text);
    if t.starts_with("null") {
        return Expr::Null;
    }
    if t.starts_with("not null") {
        return Expr::NotNull;
    }
    if t.starts_with("not blank") {
        return Expr::NotBlank;
    }
    type Build = fn(String) -> Expr;
    let with_operand: [(&str, Build); 6] = [
        ("nq ", Expr::NotEquals),
        ("eq ", Expr::Equals),
        ("gt ", Expr::GreaterThan),
        ("ge ", Expr::GreaterEqual),
        ("start with ", Expr::StartWith),
        ("end with ", Expr::EndWith),
    ];
    for (prefix, build) in with_operand {
        if let Some(rest) = t.strip_prefix(prefix) {
            return build(java_trim(rest).to_owned());
        }
    }
    Expr::Equals(t.to_owned())
}

/// Checks one leaf and reports a mismatch at `field` (relative path).
pub(crate) fn check(
    field: &str,
    expected: Option<&str>,
    actual: Option<&str>,
    semantics: Semantics,
) -> Result<(), Fail> {
    let Some(expression) = expected else {
        return Ok(());
    };
    match Expr::parse(expected, semantics).matches(actual) {
        Ok(true) => Ok(()),
        Ok(false) => Err(Fail::mismatch(field, format!("expected '{expression}' but was {}", quote_actual(actual)))),
        Err(err) => Err(Fail::Eval {
            at: field.to_owned(),
            expression: expression.to_owned(),
            actual: quote_actual(actual),
            reason: err.to_string(),
        }),
    }
}

/// Renders an actual value for messages: quoted text, or `null`.
pub(crate) fn quote_actual(actual: Option<&str>) -> String {
    match actual {
        Some(a) => format!("'{a}'"),
        None => "null".to_owned(),
    }
}
