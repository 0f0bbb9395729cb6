//! What ASGI entry spans need from a request's headers, read in one native pass.
//!
//! An ASGI scope carries its headers as a list of `(name, value)` byte pairs with lowercase
//! names. Turning that into a dict for three lookups costs a dict per request; walking the
//! list in Python costs a bytecode loop. This reads `sw8`, `sw8-correlation` and `host` in
//! one pass over the pairs, without copying the others.

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyString};

/// A header value as text: bytes are read as Latin-1 (what ASGI servers decode names and
/// values with, and what HTTP allows in a header), strings as they are.
fn text(value: &Bound<'_, PyAny>) -> Option<String> {
    if let Ok(bytes) = value.downcast::<PyBytes>() {
        return Some(bytes.as_bytes().iter().map(|&b| char::from(b)).collect());
    }
    value.downcast::<PyString>().ok()?.to_str().ok().map(str::to_owned)
}

/// Compares a header name (bytes or str) with a lowercase ASCII name, ignoring case.
fn named(name: &Bound<'_, PyAny>, wanted: &str) -> bool {
    if let Ok(bytes) = name.downcast::<PyBytes>() {
        return bytes.as_bytes().eq_ignore_ascii_case(wanted.as_bytes());
    }
    match name.downcast::<PyString>() {
        Ok(text) => text.to_str().is_ok_and(|t| t.eq_ignore_ascii_case(wanted)),
        Err(_) => false,
    }
}

/// `_core.trace_headers(headers)`: `(sw8, sw8_correlation, host)` from an iterable of
/// `(name, value)` pairs (ASGI's byte pairs, or text pairs), `None` for each one absent. The
/// first occurrence of a name wins. Items that are not pairs are skipped; never raises for
/// a malformed item, only when `headers` is not iterable at all: then the calling helper
/// (`_web`, `_common`, inside their own `try`) gives a no-op scope and one warning, the rule
/// of every helper, which is why this one is not guarded.
#[pyfunction]
pub fn trace_headers(headers: &Bound<'_, PyAny>) -> PyResult<(Option<String>, Option<String>, Option<String>)> {
    let (mut sw8, mut correlation, mut host) = (None, None, None);
    for item in headers.try_iter()? {
        let Ok(item) = item else { continue };
        let (Ok(name), Ok(value)) = (item.get_item(0), item.get_item(1)) else { continue };
        if sw8.is_none() && named(&name, sw_core::sw8::HEADER) {
            sw8 = text(&value);
        } else if correlation.is_none() && named(&name, sw_core::correlation::HEADER) {
            correlation = text(&value);
        } else if host.is_none() && named(&name, "host") {
            host = text(&value);
        }
        if sw8.is_some() && correlation.is_some() && host.is_some() {
            break;
        }
    }
    Ok((sw8, correlation, host))
}
