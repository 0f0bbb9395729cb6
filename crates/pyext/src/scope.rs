//! Entry scopes: what plugins enter with `with` to run a request inside an entry span.
//!
//! An entry span clears its component, layer and tags each time it starts (that is how a
//! framework takes over a server plugin's span), so a plugin can only record them after the
//! start. An `EntryScope` holds them until then: entering it starts the span and records
//! them; leaving it finishes the span, recording an exception that leaves the block. Both
//! are native so that a request pays no Python frame for them, and neither raises: a
//! failure is reported once (`skywalking.plugins._common.failed`) and the request goes on.

use pyo3::intern;
use pyo3::prelude::*;
use pyo3::pybacked::PyBackedStr;
use pyo3::sync::GILOnceCell;
use pyo3::types::{PyDict, PyString};
use sw_core::segment::set_tag;
use sw_proto::v3::SpanLayer;

use std::sync::atomic::{AtomicI64, Ordering::Relaxed};

use crate::asgi;
use crate::context;
use crate::guard::{guard, guard_helper, site, Arg, Take};
use crate::span::{self, Span};
use crate::wsgi;
use sw_core::span_kind::Kind;

static FAILED: GILOnceCell<Py<PyAny>> = GILOnceCell::new();
static WSGI_URL: GILOnceCell<Py<PyAny>> = GILOnceCell::new();

/// Hands `error` to `skywalking.plugins._common.failed(helper, error)` (one warning per
/// helper and process); falls back to the native log when even that fails.
pub fn report(py: Python<'_>, helper: &str, error: PyErr) {
    let failed =
        FAILED.get_or_try_init(py, || py.import("skywalking.plugins._common")?.getattr("failed").map(Bound::unbind));
    let value = error.value(py).clone();
    if let Err(other) = failed.and_then(|f| f.call1(py, (helper, value))) {
        log::warn!("{helper} failed ({error}); reporting it failed too ({other})");
    }
}

/// The request of a WSGI scope: its `http.url` comes from the environ natively, or from
/// `url(environ)` when the environ alone cannot say it with certainty.
struct Wsgi {
    environ: Py<PyDict>,
    method: String,
    url: Option<Py<PyAny>>,
}

#[pyclass(module = "skywalking._core")]
pub struct EntryScope {
    span: Py<Span>,
    component: i32,
    layer: i32,
    peer: Option<String>,
    tags: Vec<(String, String)>,
    wsgi: Option<Wsgi>,
    /// The server's `send` of an ASGI request, and what the application sent through
    /// `_asgi_send` of the answer's status, recorded when the scope is left.
    asgi: Option<AsgiAnswer>,
    /// The server's own `send`, handed to the application as it is when no span could be
    /// opened.
    send: Option<Py<PyAny>>,
}

/// What an ASGI entry scope notes of the messages the application sends.
struct AsgiAnswer {
    send: Py<PyAny>,
    status: AtomicI64,
    websocket: bool,
}

impl EntryScope {
    fn start_span<'py>(&self, py: Python<'py>) -> PyResult<()> {
        let span = self.span.bind(py);
        let url_needed = match &self.wsgi {
            Some(request) => {
                let environ = request.environ.bind(py);
                !wsgi::start_request(span, environ, &request.method, self.component)?
            }
            None => {
                span::start(span)?;
                let mut s = span.try_borrow_mut()?;
                if !s.state.noop {
                    s.state.data.component_id = self.component;
                    s.state.data.span_layer = self.layer;
                    if let Some(peer) = &self.peer {
                        s.state.data.peer.clone_from(peer);
                    }
                }
                false
            }
        };
        if url_needed {
            let url = self.fallback_url(py)?;
            self.tag(span, "http.url", url)?;
        }
        for (key, value) in &self.tags {
            self.tag(span, key, value.clone())?;
        }
        Ok(())
    }

    fn fallback_url(&self, py: Python<'_>) -> PyResult<String> {
        let Some(request) = &self.wsgi else { return Ok(String::new()) };
        let url = match &request.url {
            Some(url) => url.bind(py).clone(),
            None => WSGI_URL
                .get_or_try_init(py, || {
                    py.import("skywalking.plugins._web")?.getattr("wsgi_request_url").map(Bound::unbind)
                })?
                .bind(py)
                .clone(),
        };
        span::text(&url.call1((request.environ.bind(py),))?)
    }

    fn tag(&self, span: &Bound<'_, Span>, key: &str, value: String) -> PyResult<()> {
        let mut s = span.try_borrow_mut()?;
        if !s.state.noop {
            set_tag(&mut s.state.data, sw_core::tags::key(key), value, true);
        }
        Ok(())
    }
}

#[pymethods]
impl EntryScope {
    /// `EntryScope(span, component, peer=None, tags=(), layer=Http)`: a scope around an entry
    /// span a helper opened; `tags` are `(key, value)` pairs recorded after the start.
    #[new]
    #[pyo3(signature = (span, component, peer = None, tags = Arg::ok(Vec::new()), layer = Arg::ok(SpanLayer::Http as i32)))]
    fn py_new(
        py: Python<'_>,
        span: Arg<Py<Span>>,
        component: Arg<i32>,
        peer: Option<Arg<String>>,
        tags: Arg<Vec<(String, String)>>,
        layer: Arg<i32>,
    ) -> PyResult<Self> {
        guard(
            site!("EntryScope"),
            || noop_scope(py),
            || {
                let (span, component, peer) = (span.take("span")?, component.take("component")?, peer.take("peer")?);
                let (tags, layer) = (tags.take("tags")?, layer.take("layer")?);
                Ok(Self { span, component, layer, peer, tags, wsgi: None, asgi: None, send: None })
            },
        )
    }

    /// The `send` to hand the ASGI application (`asgi_entry_scope(..., send=)`): the bound
    /// `_asgi_send` of this scope, or the server's own `send` when no span could be opened;
    /// `None` for scopes made without one.
    #[getter]
    fn send(slf: &Bound<'_, Self>) -> PyResult<Option<Py<PyAny>>> {
        let py = slf.py();
        let this = slf.try_borrow()?;
        if this.asgi.is_some() {
            // A bound native method: the application's calls are vectorcalls, no tuple each.
            return Ok(Some(slf.getattr(intern!(py, "_asgi_send"))?.unbind()));
        }
        Ok(this.send.as_ref().map(|send| send.clone_ref(py)))
    }

    /// The server's `send(message)`, after noting what `message` says of the answer's status
    /// (see `asgi::note_status`); returns the server's awaitable, so that awaiting it is
    /// awaiting the server's without a Python frame in between.
    fn _asgi_send(&self, py: Python<'_>, message: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        let Some(answer) = &self.asgi else {
            return match &self.send {
                Some(send) => send.call1(py, (message,)),
                None => Err(pyo3::exceptions::PyTypeError::new_err("this entry scope has no ASGI send")),
            };
        };
        // A message the agent cannot read is the application's business, not an error here.
        let _ = asgi::note_status(message, &answer.status, answer.websocket);
        answer.send.call1(py, (message,))
    }

    /// The span (not started until the scope is entered).
    #[getter]
    fn span(&self, py: Python<'_>) -> Py<Span> {
        self.span.clone_ref(py)
    }

    /// Starts the span and records what it clears on start; returns the span.
    fn start(&self, py: Python<'_>) -> Py<Span> {
        if let Err(error) = self.start_span(py) {
            report(py, "Starting an entry span", error);
        }
        self.span.clone_ref(py)
    }

    fn __enter__(&self, py: Python<'_>) -> Py<Span> {
        self.start(py)
    }

    #[pyo3(signature = (exc_type = None, exc_val = None, exc_tb = None))]
    fn __exit__(
        &self,
        py: Python<'_>,
        exc_type: Option<&Bound<'_, PyAny>>,
        exc_val: Option<&Bound<'_, PyAny>>,
        exc_tb: Option<&Bound<'_, PyAny>>,
    ) -> bool {
        let span = self.span.bind(py);
        if let Some(answer) = &self.asgi {
            // Before the span stops, and before an exception's log, as a plugin would.
            let status = answer.status.load(Relaxed);
            if let Err(error) = span.try_borrow_mut().map(|mut s| s.state.tag_http_status(status)) {
                report(py, "Finishing an entry span", error.into());
            }
        }
        // Without an exception (the common case) the span is stopped directly; with one, the
        // span's own `__exit__` records it as `with span:` would.
        let result = match exc_val {
            None => span::stop(span).map(drop),
            Some(value) if value.is_none() => span::stop(span).map(drop),
            Some(_) => span.call_method1(intern!(py, "__exit__"), (exc_type, exc_val, exc_tb)).map(drop),
        };
        if let Err(error) = result {
            report(py, "Finishing an entry span", error);
        }
        false
    }

    /// `span.tag_http_status(status)`, then `__exit__()`: how the Flask plugin ends a request
    /// that returned, in one call into `_core` instead of two (each distinct path through
    /// `_core` a request takes costs it cache misses; docs/Benchmarks.md, W6). A `status` that
    /// is not an int is reported once, and the span still finishes.
    fn finish_with_status(&self, py: Python<'_>, status: Arg<i64>) {
        let _ = crate::span::tag_status(self.span.bind(py), status, site!("EntryScope.finish_with_status"));
        self.__exit__(py, None, None, None);
    }

    /// Finishes the span; with `error`, records it first (as leaving `with` by it does).
    #[pyo3(signature = (error = None))]
    fn finish(&self, py: Python<'_>, error: Option<&Bound<'_, PyAny>>) {
        let result = match error {
            Some(error) => {
                let traceback = error.getattr(intern!(py, "__traceback__")).ok();
                self.__exit__(py, Some(&error.get_type().into_any()), Some(error), traceback.as_ref())
            }
            None => self.__exit__(py, None, None, None),
        };
        let _ = result;
    }
}

/// A scope around a `NoopSpan`: what a helper returns when it cannot open a span.
pub fn noop_scope(py: Python<'_>) -> PyResult<EntryScope> {
    let span = context::noop_span(py, Kind::Entry, String::new())?.unbind();
    Ok(EntryScope { span, component: 0, layer: 0, peer: None, tags: Vec::new(), wsgi: None, asgi: None, send: None })
}

/// `_core.wsgi_entry_scope(environ, component, method=None, op=None, inherit=None, url=None,
/// params=None, start=False)`: the entry span of a WSGI request in an `EntryScope`; with
/// `start`, already started (as `scope.start()` would, in the same call), to be left with
/// `__exit__` or a `finish` but not entered again. The arguments may be passed by position:
/// a request pays for matching keyword names.
///
/// The trace headers come from the environ's `HTTP_SW8` / `HTTP_SW8_CORRELATION`, a method
/// in `plugin_http_ignore_method` gives a no-op span. On entering: component, layer HTTP,
/// peer `REMOTE_ADDR:REMOTE_PORT`, `http.method`, `http.url` (from the environ, else
/// `url(environ)`, else PEP 3333's reconstruction), then `http.params` when given.
/// `op` defaults to `PATH_INFO` (or `/`), `method` to `REQUEST_METHOD`. Never raises.
#[pyfunction]
#[pyo3(signature = (environ, component, method = None, op = None, inherit = None, url = None, params = None, start = None))]
#[allow(clippy::too_many_arguments)]
pub fn wsgi_entry_scope(
    py: Python<'_>,
    environ: &Bound<'_, PyAny>,
    component: Arg<i32>,
    method: Option<Arg<String>>,
    op: Option<Arg<String>>,
    inherit: Option<Arg<i32>>,
    url: Option<Py<PyAny>>,
    params: Option<Arg<String>>,
    start: Option<&Bound<'_, PyAny>>,
) -> PyResult<EntryScope> {
    let opened = || -> PyResult<EntryScope> {
        let environ = environ.downcast::<PyDict>()?;
        let (component, method, op) = (component.take("component")?, method.take("method")?, op.take("op")?);
        let (inherit, params) = (inherit.take("inherit")?, params.take("params")?);
        let method = match method {
            Some(method) => method,
            None => environ_text(environ, intern!(py, "REQUEST_METHOD"))?.unwrap_or_else(|| "GET".to_owned()),
        };
        let op = match op {
            Some(op) => op,
            None => environ_text(environ, intern!(py, "PATH_INFO"))?
                .filter(|p| !p.is_empty())
                .unwrap_or_else(|| "/".to_owned()),
        };
        let span = wsgi::entry_span(op, environ, &method, inherit)?.unbind();
        let tags = params.map(|p| vec![("http.params".to_owned(), p)]).unwrap_or_default();
        let wsgi = Some(Wsgi { environ: environ.clone().unbind(), method, url });
        Ok(EntryScope {
            span,
            component,
            layer: SpanLayer::Http as i32,
            peer: None,
            tags,
            wsgi,
            asgi: None,
            send: None,
        })
    };
    let scope = guard_helper(py, "wsgi_entry_span", || noop_scope(py), opened)?;
    if start.is_some_and(|start| start.is_truthy().unwrap_or(false)) {
        // As `scope.start()`, without a second call into `_core`.
        let _ = scope.start(py);
    }
    Ok(scope)
}

/// `_core.asgi_entry_scope(scope, component, method=None, op=None, inherit=None, url=None,
/// peer=None, params=None, send=None)`: the entry span of an ASGI `http` or `websocket`
/// request in an `EntryScope`, read from the scope in one native call (arguments by
/// position are cheaper than by keyword).
///
/// `sw8`, `sw8-correlation` and `host` come from the scope's header pairs; a method in
/// `plugin_http_ignore_method` gives a no-op span. Defaults: `op` the scope's `path`;
/// `method` its `method` (`websocket.accept` for a websocket scope); `url`
/// `<scheme>://<host><path>` (the Host header, else the scope's `server`); `peer` the
/// scope's `client` as `host:port` (none without one). With `send` (the server's), the
/// scope's `send` attribute is what the application is to call instead: it notes the
/// answer's status (see `EntryScope._asgi_send`), which leaving the scope records (500 when the
/// application sent none). Never raises.
#[pyfunction]
#[pyo3(signature = (scope, component, method = None, op = None, inherit = None, url = None, peer = None, params = None, send = None))]
#[allow(clippy::too_many_arguments)]
pub fn asgi_entry_scope(
    py: Python<'_>,
    scope: &Bound<'_, PyAny>,
    component: Arg<i32>,
    method: Option<Arg<String>>,
    op: Option<Arg<String>>,
    inherit: Option<Arg<i32>>,
    url: Option<Arg<String>>,
    peer: Option<Arg<String>>,
    params: Option<Arg<String>>,
    send: Option<Py<PyAny>>,
) -> PyResult<EntryScope> {
    // Without a span the application still needs the server's `send`.
    let plain_send = send.as_ref().map(|send| send.clone_ref(py));
    let opened = || -> PyResult<EntryScope> {
        let scope = scope.downcast::<PyDict>()?;
        let (component, method, op) = (component.take("component")?, method.take("method")?, op.take("op")?);
        let (inherit, url, peer) = (inherit.take("inherit")?, url.take("url")?, peer.take("peer")?);
        let params = params.take("params")?;
        let request = asgi::Request::read(scope, method)?;
        let url = match url {
            Some(url) => url,
            None => request.url(scope)?,
        };
        let context = context::context_for(py)?.into_bound(py);
        let headers = (request.headers.sw8.as_deref(), request.headers.correlation.as_deref());
        let method = Some(request.method.as_str()).filter(|m| !m.is_empty());
        let op = op.unwrap_or_else(|| request.path.clone());
        let span = context::entry_span(&context, op, None, inherit, headers, method)?.unbind();
        let tags = request_tags(request.method, url, params);
        // A no-op span (an ignored method, an unsampled trace) records no status: the
        // application gets the server's `send` itself.
        let (asgi, send) = match send {
            Some(send) if span.bind(py).try_borrow()?.state.noop => (None, Some(send)),
            Some(send) => (Some(AsgiAnswer { send, status: AtomicI64::new(500), websocket: request.websocket }), None),
            None => (None, None),
        };
        Ok(EntryScope {
            span,
            component,
            layer: SpanLayer::Http as i32,
            peer: peer.or(request.client),
            tags,
            wsgi: None,
            asgi,
            send,
        })
    };
    let without_span = || {
        let mut scope = noop_scope(py)?;
        scope.send = plain_send;
        Ok(scope)
    };
    guard_helper(py, "asgi_entry_span", without_span, opened)
}

/// `_core.http_entry_scope(component, method, path, sw8=None, correlation=None, peer=None,
/// url=None, op=None, inherit=None, params=None)`: the entry span of a request a framework
/// describes field by field (`_web.http_entry_span`, and the plugins that read the trace
/// headers themselves), in an `EntryScope`, in one native call: the active context, the
/// span (a method in `plugin_http_ignore_method` gives a no-op span) and its tags
/// `http.method`, `http.url` (`path` when not given) and `http.params` when not empty.
/// `op` defaults to `path`. Never raises.
#[pyfunction]
#[pyo3(signature = (
    component, method, path, sw8 = None, correlation = None, peer = None, url = None, op = None,
    inherit = None, params = None
))]
#[allow(clippy::too_many_arguments)]
pub fn http_entry_scope(
    py: Python<'_>,
    component: Arg<i32>,
    method: Arg<String>,
    path: Arg<String>,
    sw8: Option<Arg<PyBackedStr>>,
    correlation: Option<Arg<PyBackedStr>>,
    peer: Option<Arg<String>>,
    url: Option<Arg<String>>,
    op: Option<Arg<String>>,
    inherit: Option<Arg<i32>>,
    params: Option<Arg<String>>,
) -> PyResult<EntryScope> {
    let opened = || -> PyResult<EntryScope> {
        let (component, method, path) = (component.take("component")?, method.take("method")?, path.take("path")?);
        let (sw8, correlation) = (sw8.take("sw8")?, correlation.take("correlation")?);
        let (peer, url, op) = (peer.take("peer")?, url.take("url")?, op.take("op")?);
        let (inherit, params) = (inherit.take("inherit")?, params.take("params")?);
        let context = context::context_for(py)?.into_bound(py);
        let headers = (sw8.as_deref(), correlation.as_deref());
        let (op, url) = match (op, url) {
            (Some(op), Some(url)) => (op, url),
            (Some(op), None) => (op, path),
            (None, Some(url)) => (path, url),
            (None, None) => (path.clone(), path),
        };
        let span = context::entry_span(&context, op, None, inherit, headers, Some(&method))?.unbind();
        let tags = request_tags(method, url, params);
        Ok(EntryScope {
            span,
            component,
            layer: SpanLayer::Http as i32,
            peer,
            tags,
            wsgi: None,
            asgi: None,
            send: None,
        })
    };
    guard_helper(py, "http_entry_span", || noop_scope(py), opened)
}

/// The tags an entry scope records once its span starts: `http.method`, `http.url`, and
/// `http.params` when the framework collected any.
fn request_tags(method: String, url: String, params: Option<String>) -> Vec<(String, String)> {
    let mut tags = Vec::with_capacity(3);
    tags.push(("http.method".to_owned(), method));
    tags.push(("http.url".to_owned(), url));
    if let Some(params) = params.filter(|p| !p.is_empty()) {
        tags.push(("http.params".to_owned(), params));
    }
    tags
}

fn environ_text(environ: &Bound<'_, PyDict>, key: &Bound<'_, PyString>) -> PyResult<Option<String>> {
    match environ.get_item(key)? {
        Some(value) if !value.is_none() => Ok(Some(span::text(&value)?)),
        _ => Ok(None),
    }
}
