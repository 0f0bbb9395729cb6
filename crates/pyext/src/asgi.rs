//! What ASGI entry spans need from a request, read natively: the trace headers and the
//! host from the scope's header pairs in one pass, the URL and peer from the scope, and the
//! answer's status from the messages the application sends.
//!
//! An ASGI scope carries its headers as a list of `(name, value)` byte pairs with lowercase
//! names. Turning that into a dict for three lookups costs a dict per request; walking the
//! list in Python costs a bytecode loop. This reads `sw8`, `sw8-correlation` and `host` in
//! one pass over the pairs, without copying the others.

use std::sync::atomic::{AtomicI64, Ordering::Relaxed};

use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyString, PyTuple};

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

/// `sw8`, `sw8-correlation` and `host` of a request's header pairs.
#[derive(Default)]
pub struct TraceHeaders {
    pub sw8: Option<String>,
    pub correlation: Option<String>,
    pub host: Option<String>,
}

/// Reads [`TraceHeaders`] from an iterable of `(name, value)` pairs; the first occurrence
/// of a name wins, items that are not pairs are skipped.
pub fn read_headers(headers: &Bound<'_, PyAny>) -> PyResult<TraceHeaders> {
    let mut found = TraceHeaders::default();
    for item in headers.try_iter()? {
        let Ok(item) = item else { continue };
        // A tuple (what servers send) is read without the generic item protocol.
        let (name, value) = match item.downcast::<PyTuple>() {
            Ok(pair) if pair.len() == 2 => match (pair.get_item(0), pair.get_item(1)) {
                (Ok(name), Ok(value)) => (name, value),
                _ => continue,
            },
            _ => match (item.get_item(0), item.get_item(1)) {
                (Ok(name), Ok(value)) => (name, value),
                _ => continue,
            },
        };
        if found.sw8.is_none() && named(&name, sw_core::sw8::HEADER) {
            found.sw8 = text(&value);
        } else if found.correlation.is_none() && named(&name, sw_core::correlation::HEADER) {
            found.correlation = text(&value);
        } else if found.host.is_none() && named(&name, "host") {
            found.host = text(&value);
        }
        if found.sw8.is_some() && found.correlation.is_some() && found.host.is_some() {
            break;
        }
    }
    Ok(found)
}

/// `_core.trace_headers(headers)`: `(sw8, sw8_correlation, host)` from an iterable of
/// `(name, value)` pairs (ASGI's byte pairs, or text pairs), `None` for each one absent. The
/// first occurrence of a name wins. Items that are not pairs are skipped; never raises for
/// a malformed item, only when `headers` is not iterable at all: then the calling helper
/// (`_web`, `_common`, inside their own `try`) gives a no-op scope and one warning, the rule
/// of every helper, which is why this one is not guarded.
#[pyfunction]
pub fn trace_headers(headers: &Bound<'_, PyAny>) -> PyResult<(Option<String>, Option<String>, Option<String>)> {
    let found = read_headers(headers)?;
    Ok((found.sw8, found.correlation, found.host))
}

/// What an entry span records of an ASGI `http` or `websocket` scope.
pub struct Request {
    pub websocket: bool,
    pub path: String,
    pub method: String,
    pub headers: TraceHeaders,
    /// `host:port` of the scope's `client`, when it has one.
    pub client: Option<String>,
}

fn scope_text(scope: &Bound<'_, PyDict>, key: &Bound<'_, PyString>) -> PyResult<Option<String>> {
    match scope.get_item(key)? {
        Some(value) if !value.is_none() => Ok(text(&value)),
        _ => Ok(None),
    }
}

/// The parts one after the other, in one allocation: a request pays for `format!`'s
/// machinery on every call otherwise.
fn joined(parts: &[&str]) -> String {
    let mut text = String::with_capacity(parts.iter().map(|p| p.len()).sum());
    for part in parts {
        text.push_str(part);
    }
    text
}

/// `host:port` of an ASGI `(host, port)` pair (`client`, `server`); the host alone when
/// the port is `None` (a Unix socket).
fn address(pair: &Bound<'_, PyAny>) -> Option<String> {
    if pair.is_none() {
        return None;
    }
    // A tuple (what servers send) is read without the generic item protocol.
    let (host, port) = match pair.downcast::<PyTuple>() {
        Ok(tuple) if tuple.len() == 2 => (tuple.get_item(0).ok()?, tuple.get_item(1).ok()),
        _ => (pair.get_item(0).ok()?, pair.get_item(1).ok()),
    };
    let host = host.str().ok()?;
    let host = host.to_str().ok()?;
    match port {
        // An int port is formatted here rather than through `str()`.
        Some(port) if !port.is_none() => match port.extract::<i64>() {
            Ok(number) => Some(joined(&[host, ":", &number.to_string()])),
            Err(_) => Some(joined(&[host, ":", port.str().ok()?.to_str().ok()?])),
        },
        _ => Some(host.to_owned()),
    }
}

impl Request {
    /// Reads the scope. A websocket scope has no method: it gets `websocket.accept`, the
    /// method upstream's FastAPI plugin records for one.
    pub fn read(scope: &Bound<'_, PyDict>, method: Option<String>) -> PyResult<Self> {
        let py = scope.py();
        let websocket = match scope.get_item(intern!(py, "type"))? {
            Some(kind) => kind.downcast::<PyString>().is_ok_and(|k| k.to_str().is_ok_and(|k| k == "websocket")),
            None => false,
        };
        let path = scope_text(scope, intern!(py, "path"))?.filter(|p| !p.is_empty()).unwrap_or_else(|| "/".to_owned());
        let method = match method {
            Some(method) => method,
            None => match scope_text(scope, intern!(py, "method"))? {
                Some(method) => method,
                None if websocket => "websocket.accept".to_owned(),
                None => String::new(),
            },
        };
        let headers = match scope.get_item(intern!(py, "headers"))? {
            Some(headers) if !headers.is_none() => read_headers(&headers)?,
            _ => TraceHeaders::default(),
        };
        let client = scope.get_item(intern!(py, "client"))?.and_then(|c| address(&c));
        Ok(Self { websocket, path, method, headers, client })
    }

    /// `<scheme>://<host><path>`: the Host header, else the scope's `server`.
    pub fn url(&self, scope: &Bound<'_, PyDict>) -> PyResult<String> {
        let py = scope.py();
        let scheme = scope_text(scope, intern!(py, "scheme"))?
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| if self.websocket { "ws" } else { "http" }.to_owned());
        let server;
        let host = match &self.headers.host {
            Some(host) if !host.is_empty() => host.as_str(),
            _ => {
                server = scope.get_item(intern!(py, "server"))?.and_then(|s| address(&s)).unwrap_or_default();
                server.as_str()
            }
        };
        Ok(joined(&[&scheme, "://", host, &self.path]))
    }
}

/// Notes in `status` what an ASGI `message` the application sends says of the answer:
/// 500 until it says otherwise (an application that raised sent nothing), the status of
/// `http.response.start` (or of a websocket denial response), 200 once a websocket is
/// accepted or closed (upstream's FastAPI rule). A message it cannot read is left alone.
pub fn note_status(message: &Bound<'_, PyAny>, status: &AtomicI64, websocket: bool) -> PyResult<()> {
    let py = message.py();
    let Ok(message) = message.downcast::<PyDict>() else { return Ok(()) };
    let Some(kind) = message.get_item(intern!(py, "type"))? else { return Ok(()) };
    let kind = kind.downcast::<PyString>()?;
    let kind = kind.to_str()?;
    if kind == "http.response.start" || kind == "websocket.http.response.start" {
        if let Some(code) = message.get_item(intern!(py, "status"))? {
            status.store(code.extract::<i64>()?, Relaxed);
        }
    } else if websocket && (kind == "websocket.accept" || kind == "websocket.close") {
        status.store(200, Relaxed);
    }
    Ok(())
}
