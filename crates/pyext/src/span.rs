//! Spans: Rust objects whose data is kept in wire form while they run.
//!
//! Semantics follow the upstream agent: `start`/`stop` count depth so a reused span
//! (entry spans inherited by a framework, exit spans inherited by a client library) is
//! finished once; an entry span resets component, layer, tags and logs on every start; an
//! exception leaving a `with` block marks the span as an error with a `Traceback` log.

use pyo3::exceptions::PyException;
use pyo3::prelude::*;
use pyo3::sync::GILOnceCell;
use pyo3::types::{PyDict, PyList, PyString};
use pyo3::{create_exception, intern};
use sw_core::segment::{add_log, now_ms, set_tag};
use sw_core::sw8::{self, Sw8Ref};
use sw_proto::v3::{SpanLayer, SpanObject, SpanType};

use crate::active;
use crate::carrier::make_carrier;
use crate::context::{self, SpanContext};
use crate::tag::TagBase;

create_exception!(_core, IllegalStateError, PyException);

/// Upstream's `Kind`: Local=0, Entry=1, Exit=2 (the wire uses Entry=0, Exit=1, Local=2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Local = 0,
    Entry = 1,
    Exit = 2,
}

impl Kind {
    fn wire(self) -> SpanType {
        match self {
            Kind::Entry => SpanType::Entry,
            Kind::Exit => SpanType::Exit,
            Kind::Local => SpanType::Local,
        }
    }
}

/// A span. `EntrySpan`, `ExitSpan` and `NoopSpan` are its subclasses, for `isinstance`.
#[pyclass(subclass, module = "skywalking._core")]
#[derive(Debug)]
pub struct Span {
    /// The span in wire form; moved into the segment when the span finishes.
    pub data: SpanObject,
    pub kind: Kind,
    pub context: Py<SpanContext>,
    /// `start()` calls minus `stop()` calls; the span finishes when it returns to 0.
    pub depth: u32,
    /// The span that was active when this one started (the rest of the stack).
    pub prev: Option<Py<Span>>,
    /// The context variable's token from this span's start: resetting with it makes `prev`
    /// active again. Dropped when `prev` changes (a span below finished first).
    token: Option<Py<PyAny>>,
    /// Component an inner plugin must pass to reuse this span instead of nesting.
    pub inherit: Option<i32>,
    pub noop: bool,
    pub finished: bool,
    /// Exit spans of HTTP clients built on `http.client`: the agent writes this span's
    /// trace headers into each request sent while it is active (`http_client`).
    pub inject_on_send: bool,
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
    pub fn new(kind: Kind, context: Py<SpanContext>, data: SpanObject, noop: bool) -> Self {
        Self {
            data,
            kind,
            context,
            depth: 0,
            prev: None,
            token: None,
            inherit: None,
            noop,
            finished: false,
            inject_on_send: false,
        }
    }

    fn reset_entry(&mut self) {
        self.data.component_id = 0;
        self.data.span_layer = SpanLayer::Unknown as i32;
        self.data.logs.clear();
        self.data.tags.clear();
    }

    fn record_error(&mut self, traceback: String, replace_logs: bool) {
        self.data.is_error = true;
        if replace_logs {
            self.data.logs.clear();
        }
        add_log(&mut self.data, now_ms(), vec![("Traceback".to_owned(), traceback)]);
    }
}

/// Creates the Python object for a new span, of the subclass matching its kind.
pub fn create(py: Python<'_>, span: Span) -> PyResult<Bound<'_, Span>> {
    let (noop, kind) = (span.noop, span.kind);
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

/// Starts `span`: the first start stamps the time and pushes it on the active stack.
pub fn start(span: &Bound<'_, Span>) -> PyResult<()> {
    let py = span.py();
    let (context, start_time) = {
        let mut s = span.try_borrow_mut()?;
        s.depth += 1;
        if s.kind == Kind::Entry {
            s.reset_entry();
        }
        if s.depth > 1 || s.finished {
            return Ok(());
        }
        s.data.start_time = now_ms();
        (s.context.clone_ref(py), s.data.start_time)
    };
    let previous = active::get(py).map(Bound::unbind);
    let token = active::push(py, span);
    let noop = {
        let mut s = span.try_borrow_mut()?;
        s.prev = previous;
        s.token = token;
        s.noop
    };
    if !noop {
        context.bind(py).try_borrow_mut()?.span_started(start_time);
    }
    Ok(())
}

/// Stops `span`; returns true when this call finished it.
pub fn stop(span: &Bound<'_, Span>) -> PyResult<bool> {
    let py = span.py();
    {
        let mut s = span.try_borrow_mut()?;
        if s.depth == 0 || s.finished {
            return Ok(false);
        }
        s.depth -= 1;
        if s.depth > 0 {
            return Ok(false);
        }
        s.finished = true;
        s.data.end_time = now_ms();
    }
    unlink(py, span);
    let mut s = span.try_borrow_mut()?;
    if s.noop {
        return Ok(true);
    }
    s.data.span_type = s.kind.wire() as i32;
    let context = s.context.clone_ref(py);
    // The span stays borrowed: finishing touches only its context, the segment and the
    // reporter's queue, never Python code that could reach this span.
    context::span_finished(context.bind(py), &mut s.data)?;
    Ok(true)
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
                let skip = span.borrow().prev.as_ref().map(|p| p.clone_ref(py));
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

#[pymethods]
impl Span {
    /// Starts the span (also done by `with`); returns the span.
    #[pyo3(name = "start")]
    fn py_start(slf: Bound<'_, Self>) -> PyResult<Bound<'_, Self>> {
        start(&slf)?;
        Ok(slf)
    }

    /// Stops the span; returns True when it is finished (depth back to zero).
    #[pyo3(name = "stop")]
    fn py_stop(slf: &Bound<'_, Self>) -> PyResult<bool> {
        stop(slf)
    }

    fn __enter__(slf: Bound<'_, Self>) -> PyResult<Bound<'_, Self>> {
        start(&slf)?;
        Ok(slf)
    }

    #[pyo3(signature = (exc_type = None, exc_val = None, exc_tb = None))]
    fn __exit__(
        slf: &Bound<'_, Self>,
        exc_type: Option<&Bound<'_, PyAny>>,
        exc_val: Option<&Bound<'_, PyAny>>,
        exc_tb: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<bool> {
        let _ = (exc_type, exc_tb);
        let py = slf.py();
        if let Some(error) = exc_val {
            // Only `Exception`s are errors; `GeneratorExit`, `KeyboardInterrupt` are not.
            if error.is_instance_of::<PyException>() && !slf.borrow().noop {
                let text = support(py)
                    .and_then(|m| m.getattr(intern!(py, "format_exception"))?.call1((error,)))
                    .and_then(|t| t.extract::<String>())
                    .unwrap_or_else(|_| error.to_string());
                slf.try_borrow_mut()?.record_error(text, true);
            }
        }
        stop(slf)?;
        Ok(false)
    }

    /// Records a tag object (`key`, `val`, `overridable`, as `skywalking.trace.tags`).
    fn tag<'py>(slf: Bound<'py, Self>, tag: &Bound<'py, PyAny>) -> PyResult<Bound<'py, Self>> {
        let py = slf.py();
        if slf.borrow().noop {
            return Ok(slf);
        }
        let key = text(&tag.getattr(intern!(py, "key"))?)?;
        let value = match tag.downcast::<TagBase>() {
            // Every `skywalking.trace.tags.Tag`: the value without an attribute lookup.
            Ok(native) => native.borrow().val.clone(),
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
        set_tag(&mut slf.try_borrow_mut()?.data, key, value, overridable);
        Ok(slf)
    }

    /// Records a tag from its key and value, without a Tag object: what plugins use.
    /// A `None` value is recorded as an empty string, as `tag()` does.
    #[pyo3(signature = (key, value, overridable = true))]
    fn set_tag<'py>(
        slf: Bound<'py, Self>,
        key: &Bound<'py, PyAny>,
        value: &Bound<'py, PyAny>,
        overridable: bool,
    ) -> PyResult<Bound<'py, Self>> {
        if slf.borrow().noop {
            return Ok(slf);
        }
        let key = text(key)?;
        let value = if value.is_none() { String::new() } else { text(value)? };
        set_tag(&mut slf.try_borrow_mut()?.data, key, value, overridable);
        Ok(slf)
    }

    /// Starts the entry span of a WSGI request (as `with` does; finish it with `__exit__`) and
    /// records `component`, layer HTTP, peer, `http.method` and `http.url`; False when the URL
    /// must come from the framework (tag it next, to keep upstream's order).
    fn start_wsgi(slf: &Bound<'_, Self>, environ: &Bound<'_, PyDict>, method: &str, component: i32) -> PyResult<bool> {
        crate::wsgi::start_request(slf, environ, method, component)
    }

    /// `http.status_code`, and the error flag when the status is 400 or more.
    fn tag_http_status(slf: &Bound<'_, Self>, status: i64) -> PyResult<()> {
        crate::wsgi::tag_status(slf, status)
    }

    /// Marks the span as an error with a `Traceback` log holding `str(ex)`.
    fn log<'py>(slf: Bound<'py, Self>, ex: &Bound<'py, PyAny>) -> PyResult<Bound<'py, Self>> {
        if !slf.borrow().noop {
            let text = ex.str()?.to_string();
            slf.try_borrow_mut()?.record_error(text, false);
        }
        Ok(slf)
    }

    /// Marks the span as an error; its logs become one `Traceback` of the exception being handled.
    fn raised(slf: Bound<'_, Self>) -> PyResult<Bound<'_, Self>> {
        let py = slf.py();
        if !slf.borrow().noop {
            let text: String = support(py)?.getattr(intern!(py, "current_traceback"))?.call0()?.extract()?;
            slf.try_borrow_mut()?.record_error(text, true);
        }
        Ok(slf)
    }

    /// The headers to send downstream, as a `Carrier` (exit spans only).
    fn inject(slf: &Bound<'_, Self>) -> PyResult<PyObject> {
        let (sw8, correlation) = headers(slf)?;
        make_carrier(slf.py(), sw8, correlation)
    }

    /// The headers to send downstream, as `[(name, value), ...]`: what plugins use.
    fn inject_headers(slf: &Bound<'_, Self>) -> PyResult<Vec<(&'static str, String)>> {
        let (sw8, correlation) = headers(slf)?;
        Ok(vec![(sw_core::correlation::HEADER, correlation), (sw8::HEADER, sw8)])
    }

    /// Continues the trace described by `carrier` (entry spans).
    fn extract(slf: &Bound<'_, Self>, carrier: &Bound<'_, PyAny>) -> PyResult<()> {
        let py = slf.py();
        let (sw8_value, correlation) = crate::carrier::read_carrier(carrier);
        let context = {
            let s = slf.borrow();
            if s.noop {
                return Ok(());
            }
            s.context.clone_ref(py)
        };
        if let sw8::Incoming::Valid(incoming) = sw8::decode_header(&sw8_value) {
            context::join_caller(context.bind(py), &mut slf.try_borrow_mut()?.data, incoming, &correlation)?;
        }
        Ok(())
    }

    #[getter]
    fn op(&self) -> &str {
        &self.data.operation_name
    }
    #[setter]
    fn set_op(&mut self, op: String) {
        self.data.operation_name = op;
    }
    #[getter]
    fn peer(&self) -> &str {
        &self.data.peer
    }
    #[setter]
    fn set_peer(&mut self, peer: Option<String>) {
        self.data.peer = peer.unwrap_or_default();
    }
    #[getter]
    fn component(&self) -> i32 {
        self.data.component_id
    }
    #[setter]
    fn set_component(&mut self, component: i32) {
        if !self.noop {
            self.data.component_id = component;
        }
    }
    #[getter]
    fn layer(&self) -> i32 {
        self.data.span_layer
    }
    #[setter]
    fn set_layer(&mut self, layer: i32) {
        if !self.noop {
            self.data.span_layer = layer;
        }
    }
    #[getter]
    fn kind(&self) -> i32 {
        self.kind as i32
    }
    #[getter]
    fn sid(&self) -> i32 {
        self.data.span_id
    }
    #[getter]
    fn pid(&self) -> i32 {
        self.data.parent_span_id
    }
    #[getter]
    fn depth(&self) -> u32 {
        self.depth
    }
    #[getter]
    fn start_time(&self) -> i64 {
        self.data.start_time
    }
    #[getter]
    fn end_time(&self) -> i64 {
        self.data.end_time
    }
    #[getter]
    fn error_occurred(&self) -> bool {
        self.data.is_error
    }
    #[setter]
    fn set_error_occurred(&mut self, value: bool) {
        self.data.is_error = value;
    }
    #[getter]
    fn inherit(&self) -> Option<i32> {
        self.inherit
    }
    #[setter]
    fn set_inherit(&mut self, value: Option<i32>) {
        self.inherit = value;
    }
    #[getter]
    fn context(&self, py: Python<'_>) -> Py<SpanContext> {
        self.context.clone_ref(py)
    }
    /// Tags as a list of (key, value) pairs in insertion order.
    #[getter]
    fn tags(&self) -> Vec<(String, String)> {
        self.data.tags.iter().map(|t| (t.key.clone(), t.value.clone())).collect()
    }
    /// Logs as a list of (time_ms, {key: value}).
    #[getter]
    fn logs<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let list = PyList::empty(py);
        for log in &self.data.logs {
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
        self.data
            .refs
            .iter()
            .map(|r| (r.trace_id.clone(), r.parent_trace_segment_id.clone(), r.parent_span_id))
            .collect()
    }
    #[getter]
    fn is_noop(&self) -> bool {
        self.noop
    }

    fn __repr__(&self) -> String {
        format!(
            "<Span kind={:?} op={:?} sid={} pid={} noop={}>",
            self.kind, self.data.operation_name, self.data.span_id, self.data.parent_span_id, self.noop
        )
    }
}

/// A Python value as text: a `str` as it is, anything else through `str()`.
pub(crate) fn text(value: &Bound<'_, PyAny>) -> PyResult<String> {
    match value.downcast::<PyString>() {
        Ok(s) => Ok(s.to_str()?.to_owned()),
        Err(_) => Ok(value.str()?.to_str()?.to_owned()),
    }
}

/// The outgoing `sw8` and `sw8-correlation` values of an exit span.
pub(crate) fn headers(span: &Bound<'_, Span>) -> PyResult<(String, String)> {
    let py = span.py();
    let s = span.borrow();
    if s.noop {
        return Ok((sw8::NOOP_SW8.to_owned(), String::new()));
    }
    if s.kind != Kind::Exit {
        return Err(IllegalStateError::new_err("only an exit span can inject a carrier"));
    }
    let context = s.context.bind(py).borrow();
    let (trace_id, segment_id) = context.id_refs();
    let value = sw8::encode_ref(&Sw8Ref {
        sampled: true,
        trace_id,
        parent_segment_id: segment_id,
        parent_span_id: s.data.span_id,
        parent_service: &context.settings.service,
        parent_service_instance: &context.settings.instance,
        // The caller's endpoint is the segment's entry endpoint (what OAP's endpoint
        // dependency analysis expects); upstream sends the exit span's own name here.
        parent_endpoint: context.primary_endpoint().unwrap_or(&s.data.operation_name),
        address_used_at_client: &s.data.peer,
    });
    Ok((value, context.correlation.to_header()))
}

#[pymethods]
impl NoopSpan {
    /// `NoopSpan()` or upstream's `NoopSpan(NoopContext())`: a span that records nothing.
    #[new]
    #[pyo3(signature = (context = None))]
    fn py_new(py: Python<'_>, context: Option<Py<SpanContext>>) -> PyResult<PyClassInitializer<Self>> {
        let context = match context {
            Some(context) => context,
            None => context::noop_context(py)?,
        };
        let data = SpanObject { span_id: -1, parent_span_id: -1, ..SpanObject::default() };
        Ok(PyClassInitializer::from(Span::new(Kind::Local, context, data, true)).add_subclass(NoopSpan))
    }
}
