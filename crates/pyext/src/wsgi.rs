//! What WSGI server and framework plugins record about a request, read from the environ
//! in one native call: the same tags, layer and peer as upstream's plugins, at a fraction
//! of the cost of doing it attribute by attribute in Python.

use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString};
use sw_core::segment::set_tag;
use sw_proto::v3::SpanLayer;

use crate::span::Span;

/// Characters werkzeug leaves unquoted when it builds `request.url`: a path and host made
/// only of these give the same URL when simply concatenated.
fn is_plain(text: &str) -> bool {
    text.bytes().all(|b| b.is_ascii_alphanumeric() || b"/._~!$&'()*+,;=:@%-".contains(&b))
}

/// An environ value as text (WSGI says `str`; some servers put ints in `REMOTE_PORT`).
/// Keys are interned Python strings (`intern!`), whose hash is computed once.
fn text(environ: &Bound<'_, PyDict>, key: &Bound<'_, PyString>) -> Option<String> {
    let value = environ.get_item(key).ok().flatten()?;
    if value.is_none() {
        return None;
    }
    match value.downcast::<PyString>() {
        Ok(s) => s.to_str().ok().map(str::to_owned),
        Err(_) => value.str().ok()?.to_str().ok().map(str::to_owned),
    }
}

/// `request.url` without its query, as werkzeug builds it, when that is certain from the
/// environ alone; `None` when werkzeug's quoting or port rules could change the text.
pub fn url_without_query(environ: &Bound<'_, PyDict>) -> Option<String> {
    let py = environ.py();
    let path = text(environ, intern!(py, "SCRIPT_NAME")).unwrap_or_default()
        + &text(environ, intern!(py, "PATH_INFO")).unwrap_or_default();
    let host = text(environ, intern!(py, "HTTP_HOST")).filter(|h| !h.is_empty())?;
    let scheme = text(environ, intern!(py, "wsgi.url_scheme")).unwrap_or_else(|| "http".to_owned());
    let default_port = match scheme.as_str() {
        "http" => ":80",
        "https" => ":443",
        _ => return None,
    };
    if !is_plain(&path) || !is_plain(&host) {
        return None;
    }
    let host = host.strip_suffix(default_port).unwrap_or(&host).to_ascii_lowercase();
    let path = if path.is_empty() { "/" } else { &path };
    Some(format!("{scheme}://{host}{path}"))
}

/// Layer, peer (`REMOTE_ADDR:REMOTE_PORT`), `http.method` and `http.url` of a WSGI request;
/// false when the URL needs werkzeug (the caller then tags it, keeping the tag order).
pub fn tag_request(span: &Bound<'_, Span>, environ: &Bound<'_, PyDict>, method: &str) -> PyResult<bool> {
    let py = span.py();
    let mut s = span.try_borrow_mut()?;
    if s.noop {
        return Ok(true);
    }
    s.data.span_layer = SpanLayer::Http as i32;
    if let (Some(addr), Some(port)) =
        (text(environ, intern!(py, "REMOTE_ADDR")), text(environ, intern!(py, "REMOTE_PORT")))
    {
        s.data.peer = format!("{addr}:{port}");
    }
    set_tag(&mut s.data, "http.method".to_owned(), method.to_owned(), true);
    match url_without_query(environ) {
        Some(url) => {
            set_tag(&mut s.data, "http.url".to_owned(), url, true);
            Ok(true)
        }
        None => Ok(false),
    }
}

/// `http.status_code`, and the error flag for 4xx and 5xx answers, as upstream's plugins.
pub fn tag_status(span: &Bound<'_, Span>, status: i64) -> PyResult<()> {
    let mut s = span.try_borrow_mut()?;
    if s.noop {
        return Ok(());
    }
    if status >= 400 {
        s.data.is_error = true;
    }
    set_tag(&mut s.data, "http.status_code".to_owned(), status.to_string(), true);
    Ok(())
}

/// `_core.wsgi_url(environ)`: see [`url_without_query`].
#[pyfunction]
pub fn wsgi_url(environ: &Bound<'_, PyDict>) -> Option<String> {
    url_without_query(environ)
}
