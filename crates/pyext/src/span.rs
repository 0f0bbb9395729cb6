//! Spans as Python objects. A span's state and rules (depth counting, the entry-span
//! reset, errors, tags) are `sw_core::span::SpanState`'s; this file keeps the Python side:
//! the span's place on the active stack (the context variable's token, the span below),
//! the Python subclasses, and the conversion of arguments.

use pyo3::exceptions::PyException;
use pyo3::prelude::*;
use pyo3::pybacked::PyBackedStr;
use pyo3::sync::GILOnceCell;
use pyo3::types::{PyDict, PyList, PyString};
use pyo3::{create_exception, intern};
use sw_core::span::SpanState;
use sw_core::span_data::TagKey;
use sw_core::span_kind::Kind;
use sw_core::sw8;
use sw_core::trace_context::NotAnExitSpan;

use crate::active;
use crate::agent;
use crate::carrier::make_carrier;
use crate::context::{self, SpanContext};
use crate::guard::{guard, site, Arg, Site, Take};
use crate::tag::TagBase;

create_exception!(_core, IllegalStateError, PyException);

/// A span. `EntrySpan`, `ExitSpan` and `NoopSpan` are its subclasses, for `isinstance`.
#[pyclass(subclass, module = "skywalking._core")]
#[derive(Debug)]
pub struct Span {
    pub state: SpanState,
    pub context: Py<SpanContext>,
    /// The span that was active when this one started (the rest of the stack).
    pub prev: Option<Py<Span>>,
    /// The context variable's token from this span's start: resetting with it makes `prev`
    /// active again. Dropped when `prev` changes (a span below finished first).
    token: Option<Py<PyAny>>,
    /// Exit spans of HTTP clients built on `http.client`: the agent writes this span's
    /// trace headers into each request sent while it is active (`http_client`).
    pub inject_on_send: bool,
    /// Started by the helper that opened it (`start_ahead`), on behalf of the `with` that
    /// follows: the next `__enter__` (or `start()`) finds it started and counts nothing.
    started_ahead: bool,
}

/// Marker subclass for entry spans.
#[pyclass(extends = Span, module = "skywalking._core")]
pub struct EntrySpan;
/// Marker subclass for exit spans.
#[pyclass(extends = Span, module = "skywalking._core")]
pub struct ExitSpan;
/// Marker subclass for spans that record nothing (ignored, unsampled, over a limit).
#[pyclass(extends = Span, module = "skywalking._core")]
pub struct NoopSpan;

static SUPPORT: GILOnceCell<Py<PyModule>> = GILOnceCell::new();

/// `skywalking.trace._support`: traceback formatting that honours the agent's config.
fn support(py: Python<'_>) -> PyResult<&Bound<'_, PyModule>> {
    Ok(SUPPORT.get_or_try_init(py, || py.import("skywalking.trace._support").map(Bound::unbind))?.bind(py))
}

impl Span {
    pub fn new(state: SpanState, context: Py<SpanContext>) -> Self {
        Self { state, context, prev: None, token: None, inject_on_send: false, started_ahead: false }
    }
}

/// Creates the Python object for a new span, of the subclass matching its kind.
pub fn create(py: Python<'_>, span: Span) -> PyResult<Bound<'_, Span>> {
    let (noop, kind) = (span.state.noop, span.state.kind);
    let init = PyClassInitializer::from(span);
    // `into_super`, not a downcast: the class is known, and a type check costs a lookup.
    if noop {
        return Ok(Bound::new(py, init.add_subclass(NoopSpan))?.into_super());
    }
    Ok(match kind {
        Kind::Entry => Bound::new(py, init.add_subclass(EntrySpan))?.into_super(),
        Kind::Exit => Bound::new(py, init.add_subclass(ExitSpan))?.into_super(),
        Kind::Local => Bound::new(py, init)?,
    })
}

/// Starts `span`: the first start stamps the time and pushes it on the active stack. A span
/// started ahead by its opener takes this start as the one it was started for.
pub fn start(span: &Bound<'_, Span>) -> PyResult<()> {
    let py = span.py();
    {
        let mut s = span.try_borrow_mut()?;
        if std::mem::take(&mut s.started_ahead) || !s.state.start() {
            return Ok(());
        }
    }
    let previous = active::get(py).map(Bound::unbind);
    let token = active::push(py, span);
    let mut s = span.try_borrow_mut()?;
    s.prev = previous;
    s.token = token;
    if !s.state.noop {
        s.context.bind(py).try_borrow_mut()?.core.started(&s.state);
    }
    Ok(())
}

/// Starts `span` for the `with` (or `__enter__()`) its opener's caller is about to run on it,
/// so that a helper returns it started (one native call instead of two): that `__enter__`
/// then only takes note. Only for helpers whose every caller enters what they return.
pub fn start_ahead(span: &Bound<'_, Span>) -> PyResult<()> {
    start(span)?;
    span.try_borrow_mut()?.started_ahead = true;
    Ok(())
}

/// Stops `span`; returns true when this call finished it.
pub fn stop(span: &Bound<'_, Span>) -> PyResult<bool> {
    let py = span.py();
    if !span.try_borrow_mut()?.state.stop() {
        return Ok(false);
    }
    unlink(py, span);
    let mut s = span.try_borrow_mut()?;
    if s.state.noop {
        return Ok(true);
    }
    let s = &mut *s;
    // The span stays borrowed: finishing touches only its context, the segment and the
    // reporter's queue, never Python code that could reach this span.
    let mut c = s.context.bind(py).try_borrow_mut()?;
    let SpanContext { settings, core } = &mut *c;
    core.finish(&mut s.state, |segment, last| {
        if let Some(handle) = settings.profiler.as_ref().filter(|h| h.profiler.is_active()) {
            handle.profiler.segment_finished(segment.segment_id());
        }
        // Encoded here, on the application thread: see `sw_core::encoded` for why.
        agent::report(|buf| segment.encode(Some(last), &settings.service, &settings.instance, buf));
    });
    Ok(true)
}

/// `http.status_code` on `span`, and the error flag when the status is 400 or more, guarded
/// at `site`: a status that is not an integer is reported there once and tags nothing.
pub(crate) fn tag_status(span: &Bound<'_, Span>, status: Arg<i64>, site: &'static Site) -> PyResult<()> {
    guard(
        site,
        || Ok(()),
        || {
            let status = status.take("status")?;
            span.try_borrow_mut()?.state.tag_http_status(status);
            Ok(())
        },
    )
}

/// Removes a finished span from the active stack of the current context.
fn unlink(py: Python<'_>, span: &Bound<'_, Span>) {
    let Some(top) = active::get(py) else { return };
    if top.is(span) {
        let (token, previous) = match span.try_borrow_mut() {
            Ok(mut s) => (s.token.take(), s.prev.as_ref().map(|p| p.clone_ref(py))),
            Err(_) => return,
        };
        if !token.is_some_and(|token| active::restore(py, &token)) {
            active::set(py, previous.as_ref().map(|p| p.bind(py)));
        }
        return;
    }
    // Finished out of order (a child still runs): splice it out of the chain.
    let mut node = top;
    for _ in 0..256 {
        let next = match node.try_borrow() {
            Ok(n) => n.prev.as_ref().map(|p| p.clone_ref(py).into_bound(py)),
            Err(_) => return,
        };
        match next {
            Some(next) if next.is(span) => {
                let skip = span.try_borrow().ok().and_then(|s| s.prev.as_ref().map(|p| p.clone_ref(py)));
                if let Ok(mut n) = node.try_borrow_mut() {
                    n.prev = skip;
                    n.token = None; // it would bring back the span that just finished
                }
                return;
            }
            Some(next) => node = next,
            None => return,
        }
    }
}

/// After a failed stop: the span at least leaves the active stack, so that later spans of
/// this thread or task do not join its segment. False: it did not finish.
fn left_behind(span: &Bound<'_, Span>) -> bool {
    unlink(span.py(), span);
    false
}

/// The error text of an exception leaving a `with` block: its traceback, formatted as the
/// agent's configuration says, or `str()` of it if that fails.
fn exception_text(error: &Bound<'_, PyAny>) -> String {
    let py = error.py();
    support(py)
        .and_then(|m| m.getattr(intern!(py, "format_exception"))?.call1((error,)))
        .and_then(|t| t.extract::<String>())
        .unwrap_or_else(|_| error.to_string())
}

#[pymethods]
impl Span {
    /// Starts the span (also done by `with`); returns the span.
    #[pyo3(name = "start")]
    fn py_start(slf: Bound<'_, Self>) -> PyResult<Bound<'_, Self>> {
        guard(site!("Span.start"), || Ok(()), || start(&slf))?;
        Ok(slf)
    }

    /// Stops the span; returns True when it is finished (depth back to zero).
    #[pyo3(name = "stop")]
    fn py_stop(slf: &Bound<'_, Self>) -> PyResult<bool> {
        guard(site!("Span.stop"), || Ok(left_behind(slf)), || stop(slf))
    }

    fn __enter__(slf: Bound<'_, Self>) -> PyResult<Bound<'_, Self>> {
        guard(site!("Span.__enter__"), || Ok(()), || start(&slf))?;
        Ok(slf)
    }

    /// Records an `Exception` leaving the block as the span's error, and stops the span.
    /// Returns False: the application's exception always goes on.
    #[pyo3(signature = (exc_type = None, exc_val = None, exc_tb = None))]
    fn __exit__(
        slf: &Bound<'_, Self>,
        exc_type: Option<&Bound<'_, PyAny>>,
        exc_val: Option<&Bound<'_, PyAny>>,
        exc_tb: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<bool> {
        let _ = (exc_type, exc_tb);
        guard(
            site!("Span.__exit__"),
            || Ok(left_behind(slf)),
            || {
                if let Some(error) = exc_val {
                    // Only `Exception`s are errors; `GeneratorExit`, `KeyboardInterrupt` are not.
                    if error.is_instance_of::<PyException>() && !slf.try_borrow()?.state.noop {
                        let text = exception_text(error);
                        slf.try_borrow_mut()?.state.record_error(text, true);
                    }
                }
                stop(slf)
            },
        )?;
        Ok(false)
    }

    /// Records a tag object (`key`, `val`, `overridable`, as `skywalking.trace.tags`).
    fn tag<'py>(slf: Bound<'py, Self>, tag: &Bound<'py, PyAny>) -> PyResult<Bound<'py, Self>> {
        guard(site!("Span.tag"), || Ok(()), || record_tag(&slf, tag))?;
        Ok(slf)
    }

    /// Records a tag from its key and value, without a Tag object: what plugins use.
    /// A `None` value is recorded as an empty string, as `tag()` does.
    #[pyo3(
        signature = (key, value, overridable = Arg::ok(true)),
        text_signature = "($self, key, value, overridable=True)"
    )]
    fn set_tag<'py>(
        slf: Bound<'py, Self>,
        key: &Bound<'py, PyAny>,
        value: &Bound<'py, PyAny>,
        overridable: Arg<bool>,
    ) -> PyResult<Bound<'py, Self>> {
        guard(
            site!("Span.set_tag"),
            || Ok(()),
            || {
                let overridable = overridable.take("overridable")?;
                if slf.try_borrow()?.state.noop {
                    return Ok(());
                }
                let key = tag_key(key)?;
                let value = if value.is_none() { String::new() } else { text(value)? };
                slf.try_borrow_mut()?.state.tag(key, value, overridable);
                Ok(())
            },
        )?;
        Ok(slf)
    }

    /// Starts the entry span of a WSGI request (as `with` does; finish it with `__exit__`) and
    /// records `component`, layer HTTP, peer, `http.method` and `http.url`; False when the URL
    /// must come from the framework (tag it next, to keep upstream's order).
    fn start_wsgi(
        slf: &Bound<'_, Self>,
        environ: Arg<Bound<'_, PyDict>>,
        method: Arg<PyBackedStr>,
        component: Arg<i32>,
    ) -> PyResult<bool> {
        guard(
            site!("Span.start_wsgi"),
            || Ok(true),
            || {
                let (environ, method) = (environ.take("environ")?, method.take("method")?);
                crate::wsgi::start_request(slf, &environ, &method, component.take("component")?)
            },
        )
    }

    /// `http.status_code`, and the error flag when the status is 400 or more.
    fn tag_http_status(slf: &Bound<'_, Self>, status: Arg<i64>) -> PyResult<()> {
        tag_status(slf, status, site!("Span.tag_http_status"))
    }

    /// `tag_http_status(status)` then `stop()`, in one call into `_core`: how a client plugin
    /// ends the exit span of a request that returned (one that raised leaves by `__exit__`).
    /// A status that is not an integer is reported and the span still stops.
    fn finish_with_status(slf: &Bound<'_, Self>, status: Arg<i64>) -> PyResult<()> {
        let _ = tag_status(slf, status, site!("Span.finish_with_status"));
        Self::py_stop(slf)?;
        Ok(())
    }

    /// Marks the span as an error with a `Traceback` log holding `str(ex)`.
    fn log<'py>(slf: Bound<'py, Self>, ex: &Bound<'py, PyAny>) -> PyResult<Bound<'py, Self>> {
        guard(
            site!("Span.log"),
            || Ok(()),
            || {
                if !slf.try_borrow()?.state.noop {
                    let text = ex.str()?.to_string();
                    slf.try_borrow_mut()?.state.record_error(text, false);
                }
                Ok(())
            },
        )?;
        Ok(slf)
    }

    /// Marks the span as an error; its logs become one `Traceback` of the exception being handled.
    fn raised(slf: Bound<'_, Self>) -> PyResult<Bound<'_, Self>> {
        guard(
            site!("Span.raised"),
            || Ok(()),
            || {
                let py = slf.py();
                if !slf.try_borrow()?.state.noop {
                    let text: String = support(py)?.getattr(intern!(py, "current_traceback"))?.call0()?.extract()?;
                    slf.try_borrow_mut()?.state.record_error(text, true);
                }
                Ok(())
            },
        )?;
        Ok(slf)
    }

    /// The headers to send downstream, as a `Carrier` (exit spans only).
    fn inject(slf: &Bound<'_, Self>) -> PyResult<PyObject> {
        let py = slf.py();
        let made = guard(
            site!("Span.inject"),
            || Ok(Ok(make_carrier(py, String::new(), String::new()).unwrap_or_else(|_| py.None()))),
            || match headers(slf)? {
                Ok((sw8, correlation)) => make_carrier(py, sw8, correlation).map(Ok),
                Err(not_exit) => Ok(Err(not_exit)),
            },
        )?;
        made.map_err(|not_exit| IllegalStateError::new_err(not_exit.to_string()))
    }

    /// The headers to send downstream, as `[(name, value), ...]`: what plugins use. An empty
    /// `sw8-correlation` is left out: no plugin sends one, and each filtered it in Python
    /// on every call.
    fn inject_headers(slf: &Bound<'_, Self>) -> PyResult<Vec<(&'static str, String)>> {
        let made = guard(site!("Span.inject_headers"), || Ok(Ok(Vec::new())), || header_pairs(slf))?;
        made.map_err(|not_exit| IllegalStateError::new_err(not_exit.to_string()))
    }

    /// Continues the trace described by `carrier` (entry spans).
    fn extract(slf: &Bound<'_, Self>, carrier: &Bound<'_, PyAny>) -> PyResult<()> {
        guard(
            site!("Span.extract"),
            || Ok(()),
            || {
                let py = slf.py();
                let (sw8_value, correlation) = crate::carrier::read_carrier(carrier);
                let mut s = slf.try_borrow_mut()?;
                if s.state.noop {
                    return Ok(());
                }
                if let sw8::Incoming::Valid(incoming) = sw8::decode_header(&sw8_value) {
                    let s = &mut *s;
                    s.context.bind(py).try_borrow_mut()?.core.extract(&mut s.state, incoming, &correlation);
                }
                Ok(())
            },
        )
    }

    #[getter]
    fn op(&self) -> &str {
        &self.state.data.operation_name
    }
    #[setter]
    fn set_op(slf: &Bound<'_, Self>, op: Arg<String>) -> PyResult<()> {
        set(slf, site!("Span.op"), |s| {
            s.data.operation_name = op.take("op")?;
            Ok(())
        })
    }
    #[getter]
    fn peer(&self) -> &str {
        &self.state.data.peer
    }
    #[setter]
    fn set_peer(slf: &Bound<'_, Self>, peer: Option<Arg<String>>) -> PyResult<()> {
        set(slf, site!("Span.peer"), |s| {
            s.data.peer = peer.take("peer")?.unwrap_or_default();
            Ok(())
        })
    }
    #[getter]
    fn component(&self) -> i32 {
        self.state.data.component_id
    }
    #[setter]
    fn set_component(slf: &Bound<'_, Self>, component: Arg<i32>) -> PyResult<()> {
        set(slf, site!("Span.component"), |s| {
            let component = component.take("component")?;
            if !s.noop {
                s.data.component_id = component;
            }
            Ok(())
        })
    }
    #[getter]
    fn layer(&self) -> i32 {
        self.state.data.span_layer
    }
    #[setter]
    fn set_layer(slf: &Bound<'_, Self>, layer: Arg<i32>) -> PyResult<()> {
        set(slf, site!("Span.layer"), |s| {
            let layer = layer.take("layer")?;
            if !s.noop {
                s.data.span_layer = layer;
            }
            Ok(())
        })
    }
    #[getter]
    fn kind(&self) -> i32 {
        self.state.kind as i32
    }
    #[getter]
    fn sid(&self) -> i32 {
        self.state.data.span_id
    }
    #[getter]
    fn pid(&self) -> i32 {
        self.state.data.parent_span_id
    }
    #[getter]
    fn depth(&self) -> u32 {
        self.state.depth
    }
    #[getter]
    fn start_time(&self) -> i64 {
        self.state.data.start_time
    }
    #[getter]
    fn end_time(&self) -> i64 {
        self.state.data.end_time
    }
    #[getter]
    fn error_occurred(&self) -> bool {
        self.state.data.is_error
    }
    #[setter]
    fn set_error_occurred(slf: &Bound<'_, Self>, value: Arg<bool>) -> PyResult<()> {
        set(slf, site!("Span.error_occurred"), |s| {
            s.data.is_error = value.take("error_occurred")?;
            Ok(())
        })
    }
    #[getter]
    fn inherit(&self) -> Option<i32> {
        self.state.inherit
    }
    #[setter]
    fn set_inherit(slf: &Bound<'_, Self>, value: Option<Arg<i32>>) -> PyResult<()> {
        set(slf, site!("Span.inherit"), |s| {
            s.inherit = value.take("inherit")?;
            Ok(())
        })
    }
    #[getter]
    fn context(&self, py: Python<'_>) -> Py<SpanContext> {
        self.context.clone_ref(py)
    }
    /// Tags as a list of (key, value) pairs in insertion order.
    #[getter]
    fn tags(&self) -> Vec<(String, String)> {
        self.state.data.tags.iter().map(|t| (t.key.clone().into_owned(), t.value.clone())).collect()
    }
    /// Logs as a list of (time_ms, {key: value}).
    #[getter]
    fn logs<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let list = PyList::empty(py);
        for log in &self.state.data.logs {
            let data = PyDict::new(py);
            for pair in &log.data {
                data.set_item(&pair.key, &pair.value)?;
            }
            list.append((log.time, data))?;
        }
        Ok(list)
    }
    /// Number of segment references (cross-process or cross-thread) on this span.
    #[getter]
    fn refs(&self) -> Vec<(String, String, i32)> {
        self.state
            .data
            .refs
            .iter()
            .map(|r| (r.trace_id.clone(), r.parent_trace_segment_id.clone(), r.parent_span_id))
            .collect()
    }
    #[getter]
    fn is_noop(&self) -> bool {
        self.state.noop
    }

    fn __repr__(&self) -> String {
        format!(
            "<Span kind={:?} op={:?} sid={} pid={} noop={}>",
            self.state.kind,
            self.state.data.operation_name,
            self.state.data.span_id,
            self.state.data.parent_span_id,
            self.state.noop
        )
    }
}

/// A guarded attribute assignment: `assign` may fail (`?` on an [`Arg`]) and then changes
/// nothing but the warning.
fn set(
    slf: &Bound<'_, Span>,
    site: &'static crate::guard::Site,
    assign: impl FnOnce(&mut SpanState) -> PyResult<()>,
) -> PyResult<()> {
    guard(site, || Ok(()), || assign(&mut slf.try_borrow_mut()?.state))
}

/// A Python value as text: a `str` as it is, anything else through `str()`.
pub(crate) fn text(value: &Bound<'_, PyAny>) -> PyResult<String> {
    match value.downcast::<PyString>() {
        Ok(s) => Ok(s.to_str()?.to_owned()),
        Err(_) => Ok(value.str()?.to_str()?.to_owned()),
    }
}

/// A tag key given by Python: a known key (`sw_core::tags`) borrowed, any other copied.
fn tag_key(key: &Bound<'_, PyAny>) -> PyResult<TagKey> {
    match key.downcast::<PyString>() {
        Ok(s) => Ok(sw_core::tags::key(s.to_str()?)),
        Err(_) => Ok(TagKey::Owned(key.str()?.to_str()?.to_owned())),
    }
}

/// The outgoing `sw8` and `sw8-correlation` values of a span: `Err` for a span that is not
/// an exit span (which the API answers with `IllegalStateError`).
pub(crate) fn headers(span: &Bound<'_, Span>) -> PyResult<Result<(String, String), NotAnExitSpan>> {
    let s = span.try_borrow()?;
    let context = s.context.bind(span.py()).try_borrow()?;
    Ok(context.core.headers(&s.state, context::origin(&context.settings)))
}

/// `Span.inject_headers()`'s pairs: `sw8`, after `sw8-correlation` when there is one.
pub(crate) fn header_pairs(span: &Bound<'_, Span>) -> PyResult<Result<Vec<(&'static str, String)>, NotAnExitSpan>> {
    Ok(headers(span)?.map(|(sw8, correlation)| {
        if correlation.is_empty() {
            vec![(sw8::HEADER, sw8)]
        } else {
            vec![(sw_core::correlation::HEADER, correlation), (sw8::HEADER, sw8)]
        }
    }))
}

/// `span.tag(tag)`: the key, value and overridable flag of a Tag object.
fn record_tag(span: &Bound<'_, Span>, tag: &Bound<'_, PyAny>) -> PyResult<()> {
    let py = span.py();
    if span.try_borrow()?.state.noop {
        return Ok(());
    }
    let key = tag_key(&tag.getattr(intern!(py, "key"))?)?;
    let value = match tag.downcast::<TagBase>() {
        // Every `skywalking.trace.tags.Tag`: the value without an attribute lookup.
        Ok(native) => native.try_borrow()?.val.clone(),
        Err(_) => {
            let value = tag.getattr(intern!(py, "val"))?;
            if value.is_none() {
                String::new()
            } else {
                text(&value)?
            }
        }
    };
    let overridable = match tag.getattr(intern!(py, "overridable")) {
        Ok(v) => v.is_truthy()?,
        Err(_) => true,
    };
    span.try_borrow_mut()?.state.tag(key, value, overridable);
    Ok(())
}

#[pymethods]
impl NoopSpan {
    /// `NoopSpan()` or upstream's `NoopSpan(NoopContext())`: a span that records nothing.
    #[new]
    #[pyo3(signature = (context = None))]
    fn py_new(py: Python<'_>, context: Option<Arg<Py<SpanContext>>>) -> PyResult<PyClassInitializer<Self>> {
        let given = guard(site!("NoopSpan"), || Ok(None), || context.take("context"));
        let context = match given? {
            Some(context) => context,
            None => context::noop_context(py)?,
        };
        Ok(PyClassInitializer::from(Span::new(SpanState::noop(Kind::Local, String::new()), context))
            .add_subclass(NoopSpan))
    }
}
