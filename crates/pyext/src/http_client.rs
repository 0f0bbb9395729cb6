//! Outgoing HTTP requests: the exit span HTTP client plugins open, and the trace headers
//! written into a request as `http.client` sends it.
//!
//! Headers handed to a client library as a dict go through all of its header handling
//! (`requests` merges, validates with regular expressions, and `urllib3` and `http.client`
//! validate again): about 100,000 instructions per request for `sw8` and
//! `sw8-correlation`, more than the rest of the agent's work on that request. Clients built
//! on `http.client` can instead mark their exit span `inject_on_send`; a hook on
//! `HTTPConnection.endheaders` (`skywalking.trace.http_wire`) then calls
//! [`write_trace_headers`], which adds the two header lines to the request being sent, or
//! replaces them when the caller set its own (as upstream's dict update did).

use pyo3::prelude::*;
use pyo3::sync::GILOnceCell;
use pyo3::types::{PyBytes, PyList, PyString, PyTuple};
use sw_core::http_url;
use sw_core::span_kind::Kind;
use sw_core::tags;
use sw_core::trace_context::Opening;
use sw_proto::v3::SpanLayer;

use crate::active;
use crate::agent;
use crate::context::{self, SpanContext};
use crate::guard::{guard, guard_helper, site, Arg, Take};
use crate::span::{self, Span};

static URL_PARTS: GILOnceCell<Py<PyAny>> = GILOnceCell::new();

/// `(path or '/', netloc, url)` from Python's `urlparse` without credentials, for the URLs
/// [`http_url::split_plain`] leaves to it.
fn parts_from_python(url: &Bound<'_, PyAny>) -> PyResult<(String, String, String)> {
    let py = url.py();
    let function = URL_PARTS
        .get_or_try_init(py, || py.import("skywalking.utils.filter")?.getattr("http_url_parts").map(Bound::unbind))?;
    function.bind(py).call1((url,))?.extract()
}

/// Operation name, peer and `http.url` of a request to `url`.
fn url_parts(url: &Bound<'_, PyAny>) -> PyResult<(String, String, String)> {
    if let Ok(text) = url.downcast::<PyString>() {
        let text = text.to_str()?;
        if let Some(parts) = http_url::split_plain(text) {
            return Ok((parts.path.to_owned(), parts.netloc.to_owned(), text.to_owned()));
        }
    }
    parts_from_python(url)
}

/// Opens the exit span of a request with `method` to `url`: operation name the URL's path,
/// peer its host and port, layer HTTP, tags `http.method` and `http.url` (as upstream's
/// `requests` and `urllib` plugins record them). A method in `plugin_http_ignore_method`,
/// or a URL Python cannot parse, gives a `NoopSpan`: the request goes ahead untraced.
/// With `inject_on_send`, the span's headers are written into each request `http.client`
/// sends while it is active.
///
/// None when the call runs inside another HTTP client's exit span (urllib3 under
/// `requests`, `http.client` under urllib3): one outgoing call gives one exit span, the
/// one of the outermost, most specific client, whose headers are the ones sent.
/// In `context`, or with `None` in the active one (`get_context()`, read once).
pub fn open_exit_span<'py>(
    py: Python<'py>,
    context: Option<&Bound<'py, SpanContext>>,
    url: &Bound<'py, PyAny>,
    method: &Bound<'py, PyAny>,
    component: i32,
    inject_on_send: bool,
) -> PyResult<Option<Bound<'py, Span>>> {
    if inside_http_exit(py) {
        return Ok(None);
    }
    // A method whose `str()` raises is the client library's to report, not the agent's.
    let method = span::text(method).map(|m| m.to_uppercase()).unwrap_or_default();
    let span = if agent::settings().ignores_http_method(&method) {
        context::noop_span(py, Kind::Exit, String::new())?
    } else {
        match url_parts(url) {
            Ok((op, peer, url)) => {
                let opening = Opening { peer, component: Some(component), ..Opening::plain(Kind::Exit, op) };
                let span = match context {
                    Some(context) => context::open(context, opening)?,
                    None => context::open_in_active(py, opening)?,
                };
                let mut s = span.try_borrow_mut()?;
                if !s.state.noop {
                    s.state.data.span_layer = SpanLayer::Http as i32;
                    s.state.tag(tags::HTTP_METHOD, method, true);
                    s.state.tag(tags::HTTP_URL, url, true);
                }
                drop(s);
                span
            }
            Err(error) => {
                log::debug!("not tracing a request to an unparsable URL: {error}");
                context::noop_span(py, Kind::Exit, String::new())?
            }
        }
    };
    // A NoopSpan sends its header too, as upstream's does: the called agent then does not
    // trace the request either.
    let mut s = span.try_borrow_mut()?;
    s.inject_on_send = inject_on_send && s.state.kind == Kind::Exit;
    drop(s);
    Ok(Some(span))
}

/// `_core.request_exit_span(url, method, component, inject_on_send=False)`: the exit span
/// of a request (as `get_context().new_http_exit_span(...)`), started ahead of the caller's
/// `with`; None inside another HTTP client's exit span. A client plugin on every request's
/// path opens it in one call into `_core` instead of three (`get_context`,
/// `new_http_exit_span`, `__enter__`) and ends it with `Span.finish_with_status`: on a busy
/// host much of what the request path costs is the distinct native code it runs
/// (docs/Benchmarks.md, W6). Never raises: a failure is reported once (`_common.failed`)
/// and gives a `NoopSpan`, not started.
#[pyfunction]
#[pyo3(
    signature = (url, method, component, inject_on_send = Arg::ok(false)),
    text_signature = "(url, method, component, inject_on_send=False)"
)]
pub fn request_exit_span<'py>(
    py: Python<'py>,
    url: &Bound<'py, PyAny>,
    method: &Bound<'py, PyAny>,
    component: Arg<i32>,
    inject_on_send: Arg<bool>,
) -> PyResult<Option<Bound<'py, Span>>> {
    guard_helper(
        py,
        "request_exit_span",
        || context::noop_span(py, Kind::Exit, String::new()).map(Some),
        || {
            let (component, inject_on_send) = (component.take("component")?, inject_on_send.take("inject_on_send")?);
            let span = open_exit_span(py, None, url, method, component, inject_on_send)?;
            if let Some(span) = &span {
                span::start_ahead(span)?;
            }
            Ok(span)
        },
    )
}

/// True while an exit span is open in this context (see [`inside_http_exit`]): a client
/// plugin wrapping a layer under another client (`http.client` under urllib3, urllib3 under
/// `requests`) asks this first and, when true, does nothing else (no URL built, no span).
/// One native call instead of building the URL for `new_http_exit_span` to discard.
#[pyfunction]
pub fn inside_exit_span(py: Python<'_>) -> bool {
    guard(site!("inside_exit_span"), || Ok(false), || Ok(inside_http_exit(py))).unwrap_or(false)
}

/// True when the active span is an unfinished exit span (or a `NoopSpan` standing for one:
/// an ignored method, an unsampled trace): a client library is already making this call
/// (another HTTP client, or a database client over HTTP such as Elasticsearch's), and one
/// outgoing call is one exit span, the most specific plugin's.
fn inside_http_exit(py: Python<'_>) -> bool {
    let Some(active) = active::get(py) else { return false };
    let Ok(a) = active.try_borrow() else { return false };
    a.state.kind == Kind::Exit && !a.state.finished
}

/// Writes the active exit span's `sw8-correlation` and `sw8` header lines into `buffer`,
/// the header lines `http.client` is about to send, when that span asked for it
/// (`inject_on_send`). Returns whether an exit span covers the request (the active span is
/// an unfinished exit span, as [`inside_exit_span`] says): the `endheaders` hook hands the
/// others to `sw_http_client`, without a second native call on every covered request.
/// Never raises: a request is sent untraced rather than broken (a failure says covered).
#[pyfunction]
pub fn write_trace_headers(py: Python<'_>, buffer: Arg<Bound<'_, PyList>>) -> PyResult<bool> {
    guard(
        site!("write_trace_headers"),
        || Ok(true),
        || {
            let buffer = &buffer.take("buffer")?;
            let Some(span) = active::get(py) else { return Ok(false) };
            match span.try_borrow() {
                Ok(s) if s.state.kind != Kind::Exit || s.state.finished => return Ok(false),
                Ok(s) if !s.inject_on_send => return Ok(true),
                Ok(_) => {}
                Err(_) => return Ok(true),
            }
            let Ok(Ok((sw8, correlation))) = span::headers(&span) else { return Ok(true) };
            let written = put_header(buffer, sw_core::correlation::HEADER, &correlation)
                .and_then(|()| put_header(buffer, sw_core::sw8::HEADER, &sw8));
            if let Err(error) = written {
                log::debug!("could not write trace headers into a request: {error}");
            }
            Ok(true)
        },
    )
}

/// Writes the active exit span's trace headers into `items`, a request's header list as
/// h11 keeps it once validated (`(raw name, lower-case name, value)` byte triples), when
/// that span was opened with `inject_on_send`; leaves it alone otherwise. The httpx plugin's
/// hook on h11's request event calls it: written there, the two headers skip the client
/// libraries' header handling and h11's validation by regular expression, which cost more
/// than the rest of the agent's work on an httpx request (docs/Benchmarks.md, W6). A header
/// of the same name the caller set is replaced; an empty `sw8-correlation` is not written.
/// Never raises: a request is sent without the headers rather than broken.
#[pyfunction]
pub fn write_trace_header_items(py: Python<'_>, items: Arg<Bound<'_, PyList>>) -> PyResult<()> {
    guard(
        site!("write_trace_header_items"),
        || Ok(()),
        || {
            let items = &items.take("items")?;
            let Some(span) = active::get(py) else { return Ok(()) };
            match span.try_borrow() {
                Ok(s) if s.state.kind == Kind::Exit && !s.state.finished && s.inject_on_send => {}
                _ => return Ok(()),
            }
            let Ok(Ok((sw8, correlation))) = span::headers(&span) else { return Ok(()) };
            let written = put_item(items, sw_core::sw8::HEADER, &sw8).and_then(|()| {
                if correlation.is_empty() {
                    Ok(())
                } else {
                    put_item(items, sw_core::correlation::HEADER, &correlation)
                }
            });
            if let Err(error) = written {
                log::debug!("could not write trace headers into a request: {error}");
            }
            Ok(())
        },
    )
}

/// Replaces the triple whose lower-case name is `name` in `items`, or appends one.
fn put_item(items: &Bound<'_, PyList>, name: &str, value: &str) -> PyResult<()> {
    let py = items.py();
    let key = PyBytes::new(py, name.as_bytes());
    let triple = PyTuple::new(py, [key.as_any(), key.as_any(), PyBytes::new(py, value.as_bytes()).as_any()])?;
    for (index, item) in items.iter().enumerate() {
        let Ok(existing) = item.downcast::<PyTuple>() else { continue };
        let Ok(lower) = existing.get_item(1) else { continue };
        if lower.downcast::<PyBytes>().is_ok_and(|found| found.as_bytes() == name.as_bytes()) {
            return items.set_item(index, triple);
        }
    }
    items.append(triple)
}

/// Replaces the header line `name: ...` in `buffer` (names compare case-insensitively,
/// the request line at index 0 is skipped), or appends one.
fn put_header(buffer: &Bound<'_, PyList>, name: &str, value: &str) -> PyResult<()> {
    let py = buffer.py();
    let mut text = Vec::with_capacity(name.len() + 2 + value.len());
    text.extend_from_slice(name.as_bytes());
    text.extend_from_slice(b": ");
    text.extend_from_slice(value.as_bytes());
    let line = PyBytes::new(py, &text);
    for (index, item) in buffer.iter().enumerate().skip(1) {
        let Ok(existing) = item.downcast::<PyBytes>() else { continue };
        if is_header(existing.as_bytes(), name) {
            return buffer.set_item(index, line);
        }
    }
    buffer.append(line)
}

/// True when `line` is a header line named `name` (`Name:` in any case).
fn is_header(line: &[u8], name: &str) -> bool {
    line.len() > name.len() && line[name.len()] == b':' && line[..name.len()].eq_ignore_ascii_case(name.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::is_header;

    #[test]
    fn header_names_match_case_insensitively_up_to_the_colon() {
        assert!(is_header(b"sw8: 1-abc", "sw8"));
        assert!(is_header(b"SW8:x", "sw8"));
        assert!(is_header(b"Sw8-Correlation: ", "sw8-correlation"));
        assert!(!is_header(b"sw8-correlation: ", "sw8"));
        assert!(!is_header(b"sw8", "sw8"));
        assert!(!is_header(b"x-sw8: 1", "sw8"));
    }
}
