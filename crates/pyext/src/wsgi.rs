//! What WSGI server and framework plugins record about a request, read from the environ
//! in one native call: the same tags, layer and peer as upstream's plugins, at a fraction
//! of the cost of doing it attribute by attribute in Python.

use pyo3::intern;
use pyo3::prelude::*;
use pyo3::pybacked::PyBackedStr;
use pyo3::types::{PyDict, PyString};
use sw_core::tags;
use sw_proto::v3::SpanLayer;

use crate::guard::{guard, site, Arg, Site, Take};
use crate::span::Span;

/// Bytes werkzeug leaves unquoted when it builds `request.url`, as a set of ASCII codes: a
/// path and host made only of these give the same URL when simply concatenated.
const PLAIN: u128 = plain_bytes(b"/._~!$&'()*+,;=:@%-");

const fn plain_bytes(punctuation: &[u8]) -> u128 {
    let mut set = 0u128;
    let mut b = 0u8;
    while b < 128 {
        if b.is_ascii_alphanumeric() {
            set |= 1 << b;
        }
        b += 1;
    }
    let mut i = 0;
    while i < punctuation.len() {
        set |= 1 << punctuation[i];
        i += 1;
    }
    set
}

fn is_plain(text: &str) -> bool {
    text.bytes().all(|b| b < 128 && PLAIN & (1 << b) != 0)
}

/// An environ value as a Python string (WSGI says `str`; some servers put ints in
/// `REMOTE_PORT`), read in place by the caller instead of copied. Keys are interned Python
/// strings (`intern!`), whose hash is computed once.
fn value<'py>(environ: &Bound<'py, PyDict>, key: &Bound<'py, PyString>) -> Option<Bound<'py, PyString>> {
    let value = environ.get_item(key).ok().flatten()?;
    if value.is_none() {
        return None;
    }
    match value.downcast_into::<PyString>() {
        Ok(text) => Some(text),
        Err(other) => other.into_inner().str().ok(),
    }
}

/// `request.url` without its query, as werkzeug builds it, when that is certain from the
/// environ alone; `None` when werkzeug's quoting or port rules could change the text.
pub fn url_without_query(environ: &Bound<'_, PyDict>) -> Option<String> {
    let py = environ.py();
    let host = value(environ, intern!(py, "HTTP_HOST"))?;
    let host = host.to_str().ok().filter(|h| !h.is_empty())?;
    let scheme = value(environ, intern!(py, "wsgi.url_scheme"));
    let scheme = match &scheme {
        Some(scheme) => scheme.to_str().ok()?,
        None => "http",
    };
    let default_port = match scheme {
        "http" => ":80",
        "https" => ":443",
        _ => return None,
    };
    let script = value(environ, intern!(py, "SCRIPT_NAME"));
    let path_info = value(environ, intern!(py, "PATH_INFO"));
    let script = script.as_ref().map_or(Ok(""), |s| s.to_str()).ok()?;
    let path_info = path_info.as_ref().map_or(Ok(""), |s| s.to_str()).ok()?;
    if !is_plain(script) || !is_plain(path_info) || !is_plain(host) {
        return None;
    }
    let host = host.strip_suffix(default_port).unwrap_or(host);
    let mut url = String::with_capacity(scheme.len() + 3 + host.len() + script.len() + path_info.len() + 1);
    url.push_str(scheme);
    url.push_str("://");
    let host_at = url.len();
    url.push_str(host);
    url[host_at..].make_ascii_lowercase();
    if script.is_empty() && path_info.is_empty() {
        url.push('/');
    } else {
        url.push_str(script);
        url.push_str(path_info);
    }
    Some(url)
}

/// Layer, peer (`REMOTE_ADDR:REMOTE_PORT`), `http.method` and `http.url` of a WSGI request;
/// false when the URL needs werkzeug (the caller then tags it, keeping the tag order).
fn tag_request(span: &Bound<'_, Span>, environ: &Bound<'_, PyDict>, method: &str) -> PyResult<bool> {
    let py = span.py();
    let mut s = span.try_borrow_mut()?;
    let s = &mut s.state;
    if s.noop {
        return Ok(true);
    }
    s.data.span_layer = SpanLayer::Http as i32;
    if let (Some(addr), Some(port)) =
        (value(environ, intern!(py, "REMOTE_ADDR")), value(environ, intern!(py, "REMOTE_PORT")))
    {
        if let (Ok(addr), Ok(port)) = (addr.to_str(), port.to_str()) {
            let mut peer = String::with_capacity(addr.len() + 1 + port.len());
            peer.push_str(addr);
            peer.push(':');
            peer.push_str(port);
            s.data.peer = peer;
        }
    }
    s.tag(tags::HTTP_METHOD, method.to_owned(), true);
    match url_without_query(environ) {
        Some(url) => {
            s.tag(tags::HTTP_URL, url, true);
            Ok(true)
        }
        None => Ok(false),
    }
}

/// `_core.wsgi_entry_span(op, environ, method, inherit)`: `get_context().new_entry_span(...)`
/// for a WSGI request, its trace context read from the environ's `HTTP_SW8` and
/// `HTTP_SW8_CORRELATION`, in one call. Start it with `Span.start_wsgi`.
#[pyfunction]
#[pyo3(signature = (op, environ, method, inherit = None))]
pub fn wsgi_entry_span<'py>(
    py: Python<'py>,
    op: Arg<String>,
    environ: Arg<Bound<'py, PyDict>>,
    method: Arg<PyBackedStr>,
    inherit: Option<Arg<i32>>,
) -> PyResult<Bound<'py, Span>> {
    guard(
        &ENTRY_SPAN,
        || noop_entry_span(py),
        || {
            let (op, environ, method) = (op.take("op")?, environ.take("environ")?, method.take("method")?);
            unguarded_entry_span(op, &environ, &method, inherit.take("inherit")?)
        },
    )
}

/// One call site for the function and its native callers: one warning between them.
static ENTRY_SPAN: Site = Site::new("wsgi_entry_span");

fn noop_entry_span(py: Python<'_>) -> PyResult<Bound<'_, Span>> {
    crate::context::noop_span(py, sw_core::span_kind::Kind::Entry, String::new())
}

/// `wsgi_entry_span` for native callers: a failure gives a `NoopSpan`.
pub fn entry_span<'py>(
    op: String,
    environ: &Bound<'py, PyDict>,
    method: &str,
    inherit: Option<i32>,
) -> PyResult<Bound<'py, Span>> {
    guard(&ENTRY_SPAN, || noop_entry_span(environ.py()), || unguarded_entry_span(op, environ, method, inherit))
}

fn unguarded_entry_span<'py>(
    op: String,
    environ: &Bound<'py, PyDict>,
    method: &str,
    inherit: Option<i32>,
) -> PyResult<Bound<'py, Span>> {
    let py = environ.py();
    let context = crate::context::context_for(py)?.into_bound(py);
    let sw8 = value(environ, intern!(py, "HTTP_SW8"));
    let correlation = value(environ, intern!(py, "HTTP_SW8_CORRELATION"));
    let sw8 = sw8.as_ref().and_then(|v| v.to_str().ok());
    let correlation = correlation.as_ref().and_then(|v| v.to_str().ok());
    crate::context::entry_span(&context, op, None, inherit, (sw8, correlation), Some(method))
}

/// `Span.start_wsgi`: starts the span (what `with` does on entry), then records component,
/// layer, peer, `http.method` and `http.url`, which an entry span clears on every start.
pub fn start_request(
    span: &Bound<'_, Span>,
    environ: &Bound<'_, PyDict>,
    method: &str,
    component: i32,
) -> PyResult<bool> {
    crate::span::start(span)?;
    {
        let mut s = span.try_borrow_mut()?;
        if !s.state.noop {
            s.state.data.component_id = component;
        }
    }
    tag_request(span, environ, method)
}

/// `_core.wsgi_url(environ)`: see [`url_without_query`].
#[pyfunction]
pub fn wsgi_url(environ: Arg<Bound<'_, PyDict>>) -> PyResult<Option<String>> {
    guard(site!("wsgi_url"), || Ok(None), || Ok(url_without_query(&environ.take("environ")?)))
}
