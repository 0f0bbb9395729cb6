//! Tracing contexts, as Python objects: one per segment. `get_context()` returns the
//! context of the active span, or a new one. The rules (which spans record, reuse,
//! sampling, when a segment is done, refs) are `sw_core::trace_context`'s; this file
//! converts arguments, finds the running parent on the active stack and calls them.

use std::sync::Arc;

use pyo3::prelude::*;
use pyo3::pybacked::PyBackedStr;
use pyo3::sync::GILOnceCell;
use sw_core::span::SpanState;
use sw_core::span_kind::Kind;
use sw_core::sw8::{self, Incoming, Sw8};
use sw_core::trace_context::{Limits, Opened, Opening, Origin, Policy, TraceContext};

use crate::active;
use crate::agent;
use crate::carrier::read_carrier;
use crate::guard::{guard, site, Arg, Take};
use crate::settings::Settings;
use crate::snapshot::Snapshot;
use crate::span::{self, IllegalStateError, Span};

/// The state of one segment being traced.
#[pyclass(subclass, module = "skywalking._core")]
#[derive(Debug)]
pub struct SpanContext {
    pub settings: Arc<Settings>,
    pub core: TraceContext,
}

/// A context that records nothing; every span it opens is a `NoopSpan`.
#[pyclass(extends = SpanContext, module = "skywalking._core")]
pub struct NoopContext;

/// `context.segment`: the ids users print.
#[pyclass(frozen, module = "skywalking._core")]
pub struct SegmentInfo {
    #[pyo3(get)]
    segment_id: String,
    #[pyo3(get)]
    related_traces: Vec<String>,
}

/// What the agent decides about new spans: its settings and its reporter's queue.
struct AgentPolicy<'a>(&'a Settings);

impl Policy for AgentPolicy<'_> {
    fn tracing_enabled(&self) -> bool {
        self.0.tracing_enabled
    }
    fn is_ignored(&self, op: &str) -> bool {
        self.0.ignore.is_ignored(op)
    }
    fn queue_full(&self) -> bool {
        agent::queue_full()
    }
    fn try_sample(&self) -> bool {
        self.0.sampler.try_sample()
    }
}

fn limits(settings: &Settings) -> Limits {
    Limits {
        span_limit: settings.span_limit,
        correlation_max_elements: settings.correlation_max_elements,
        correlation_max_value_len: settings.correlation_max_value_len,
    }
}

/// The service and instance that references and headers name.
pub fn origin(settings: &Settings) -> Origin<'_> {
    Origin { service: &settings.service, instance: &settings.instance, sw8: Some(&settings.sw8_origin) }
}

impl SpanContext {
    fn new(settings: Arc<Settings>) -> Self {
        let core = TraceContext::new(limits(&settings));
        Self { settings, core }
    }
}

static NOOP_CONTEXT: GILOnceCell<Py<SpanContext>> = GILOnceCell::new();

pub fn noop_context(py: Python<'_>) -> PyResult<Py<SpanContext>> {
    let context = NOOP_CONTEXT.get_or_try_init(py, || {
        let init = PyClassInitializer::from(noop_context_state()).add_subclass(NoopContext);
        Ok::<_, PyErr>(Bound::new(py, init)?.into_any().downcast_into::<SpanContext>()?.unbind())
    })?;
    Ok(context.clone_ref(py))
}

fn noop_context_state() -> SpanContext {
    SpanContext { settings: Arc::default(), core: TraceContext::noop() }
}

/// A span that records nothing but still takes part in the active stack, so that
/// everything under an ignored or unsampled span is not traced either.
pub(crate) fn noop_span(py: Python<'_>, kind: Kind, op: String) -> PyResult<Bound<'_, Span>> {
    span::create(py, Span::new(SpanState::noop(kind, op), noop_context(py)?))
}

/// The innermost running span of the current context, skipping spans that already
/// finished (a task may outlive the span it was created under); and, when no span runs,
/// the innermost finished one.
fn current_parent(py: Python<'_>) -> (Option<Bound<'_, Span>>, Option<Bound<'_, Span>>) {
    let Some(top) = active::get(py) else { return (None, None) };
    let mut node = top.clone();
    for _ in 0..256 {
        let next = {
            let Ok(n) = node.try_borrow() else { return (None, None) };
            if !n.state.finished {
                return (Some(node.clone()), None);
            }
            n.prev.as_ref().map(|p| p.clone_ref(py).into_bound(py))
        };
        match next {
            Some(next) => node = next,
            None => break,
        }
    }
    (None, Some(top))
}

/// The context of the active span, or a new context; a no-op context if that fails.
#[pyfunction]
pub fn get_context(py: Python<'_>) -> PyResult<Py<SpanContext>> {
    guard(site!("get_context"), || noop_context(py), || context_for(py))
}

/// A snapshot of the active running span, or None without one: what a thread hand-off
/// asks on every call, so that work handed over outside any span costs one context-variable
/// read (no context object is made, unlike `get_context().capture()`).
#[pyfunction]
pub fn capture_active(py: Python<'_>) -> PyResult<Option<Snapshot>> {
    guard(
        site!("capture_active"),
        || Ok(None),
        || {
            let (Some(active), _) = current_parent(py) else { return Ok(None) };
            let a = active.try_borrow()?;
            let c = a.context.bind(py).try_borrow()?;
            Ok(c.core.capture(&a.state).map(Snapshot::from))
        },
    )
}

/// `get_context()` unguarded, for native callers that guard themselves.
pub(crate) fn context_for(py: Python<'_>) -> PyResult<Py<SpanContext>> {
    match current_parent(py) {
        (Some(span), _) => Ok(span.try_borrow()?.context.clone_ref(py)),
        (None, None) => Py::new(py, SpanContext::new(agent::settings())),
        (None, Some(finished)) => {
            // A task that outlived the span it was created under: its segment refers to it.
            let settings = agent::settings();
            let core = {
                let f = finished.try_borrow()?;
                let parent = f.context.bind(py).try_borrow()?;
                TraceContext::following(limits(&settings), &parent.core, &f.state, origin(&parent.settings))
            };
            Py::new(py, SpanContext { settings, core })
        }
    }
}

/// Opens a span in `context` by the rules of `TraceContext::open`, with the innermost
/// running span of this context as the parent.
pub(crate) fn open<'py>(context: &Bound<'py, SpanContext>, o: Opening<'_>) -> PyResult<Bound<'py, Span>> {
    let py = context.py();
    // A parent in this context is a running span of it: with none running (the first span
    // of every segment), the active stack need not be read.
    let parent = if context.try_borrow()?.core.is_running() {
        current_parent(py).0.filter(|p| p.try_borrow().is_ok_and(|p| p.context.bind(py).is(context)))
    } else {
        None
    };
    open_under(context, parent, o)
}

/// Opens a span in the active context (`get_context()`) with the innermost running span as
/// its parent: `get_context().new_exit_span(...)` reading the active stack once, not twice.
pub(crate) fn open_in_active<'py>(py: Python<'py>, o: Opening<'_>) -> PyResult<Bound<'py, Span>> {
    match current_parent(py) {
        (Some(parent), _) => {
            let context = parent.try_borrow()?.context.clone_ref(py).into_bound(py);
            open_under(&context, Some(parent), o)
        }
        // No span runs: a new context (or one following a finished span), without a parent.
        (None, _) => open_under(&context_for(py)?.into_bound(py), None, o),
    }
}

/// Opens a span in `context` under `parent`, a running span of that context (or none).
fn open_under<'py>(
    context: &Bound<'py, SpanContext>,
    parent: Option<Bound<'py, Span>>,
    o: Opening<'_>,
) -> PyResult<Bound<'py, Span>> {
    let py = context.py();
    let opened = {
        let mut c = context.try_borrow_mut()?;
        let SpanContext { settings, core } = &mut *c;
        let mut p = parent.as_ref().map(Bound::try_borrow_mut).transpose()?;
        core.open(p.as_deref_mut().map(|p| &mut p.state), o, &AgentPolicy(settings))
    };
    match opened {
        Opened::New { span, first_entry } => {
            let span = span::create(py, Span::new(span, context.clone().unbind()))?;
            if first_entry {
                offer_to_profiler(context, &span.try_borrow()?.state.data.operation_name)?;
            }
            Ok(span)
        }
        Opened::Reused { first_entry } => {
            let Some(parent) = parent else { return noop_span(py, Kind::Local, String::new()) };
            if first_entry {
                // A running profile task gets to check the new name, as upstream.
                offer_to_profiler(context, &parent.try_borrow()?.state.data.operation_name)?;
            }
            Ok(parent)
        }
        Opened::Noop { span, .. } => span::create(py, Span::new(span, noop_context(py)?)),
    }
}

/// Offers this segment to a running profile task under its first entry span's name.
fn offer_to_profiler(context: &Bound<'_, SpanContext>, op: &str) -> PyResult<()> {
    let (profiler, segment_id, create_time) = {
        let mut c = context.try_borrow_mut()?;
        let Some(handle) = c.settings.profiler.as_ref().filter(|h| h.profiler.is_active()).cloned() else {
            return Ok(());
        };
        let create_time = c.core.create_time();
        (handle, c.core.ids().1, create_time)
    };
    crate::profiling::offer(context.py(), &profiler.profiler, &segment_id, op, create_time);
    Ok(())
}

/// The caller's context from a carrier or raw header values; `Err` means "not traced".
fn caller_of(
    carrier: Option<&Bound<'_, PyAny>>,
    sw8_value: Option<&str>,
    correlation: Option<&str>,
) -> Result<(Option<Sw8>, String), ()> {
    let (value, correlation) = match carrier {
        Some(carrier) if !carrier.is_none() => read_carrier(carrier),
        _ => (sw8_value.unwrap_or_default().to_owned(), correlation.unwrap_or_default().to_owned()),
    };
    match sw8::decode_header(&value) {
        Incoming::Valid(caller) => Ok((Some(caller), correlation)),
        Incoming::Suppressed => Err(()),
        Incoming::Absent => Ok((None, correlation)),
        Incoming::Malformed(reason) => {
            log::debug!("ignoring malformed sw8 header ({reason}); tracing the request as a new trace");
            Ok((None, correlation))
        }
    }
}

/// `new_entry_span` unguarded, for native callers that guard themselves.
pub(crate) fn entry_span<'py>(
    context: &Bound<'py, SpanContext>,
    op: String,
    carrier: Option<&Bound<'py, PyAny>>,
    inherit: Option<i32>,
    headers: (Option<&str>, Option<&str>),
    method: Option<&str>,
) -> PyResult<Bound<'py, Span>> {
    let py = context.py();
    if method.is_some_and(|m| context.try_borrow().is_ok_and(|c| c.settings.ignores_http_method(m))) {
        return noop_span(py, Kind::Entry, op);
    }
    let Ok((caller, correlation)) = caller_of(carrier, headers.0, headers.1) else {
        return noop_span(py, Kind::Entry, op);
    };
    let opening = Opening { inherit, caller, correlation: &correlation, ..Opening::plain(Kind::Entry, op) };
    open(context, opening)
}

#[pymethods]
impl SpanContext {
    #[new]
    fn py_new() -> Self {
        Self::new(agent::settings())
    }

    /// Milliseconds since the epoch when this context began (its first span's start).
    #[getter(create_time)]
    fn py_create_time(&mut self) -> i64 {
        self.core.create_time()
    }

    /// Opens an entry span, continuing the caller's trace from `carrier` (or from the
    /// raw `sw8`/`correlation` header values, which plugins pass to skip the Carrier).
    /// With the request's HTTP `method`, a method in `plugin_http_ignore_method` gives a
    /// `NoopSpan` (what `config.ignore_http_method_check` decides, without calling Python).
    #[pyo3(signature = (op, carrier = None, inherit = None, *, sw8 = None, correlation = None, method = None))]
    fn new_entry_span<'py>(
        slf: &Bound<'py, Self>,
        op: Arg<String>,
        carrier: Option<&Bound<'py, PyAny>>,
        inherit: Option<Arg<i32>>,
        sw8: Option<Arg<PyBackedStr>>,
        correlation: Option<Arg<PyBackedStr>>,
        method: Option<Arg<PyBackedStr>>,
    ) -> PyResult<Bound<'py, Span>> {
        let py = slf.py();
        guard(
            site!("SpanContext.new_entry_span"),
            || noop_span(py, Kind::Entry, String::new()),
            || {
                let (sw8, correlation) = (sw8.take("sw8")?, correlation.take("correlation")?);
                let method = method.take("method")?;
                let headers = (sw8.as_deref(), correlation.as_deref());
                entry_span(slf, op.take("op")?, carrier, inherit.take("inherit")?, headers, method.as_deref())
            },
        )
    }

    /// Opens an exit span towards `peer`; with the request's HTTP `method`, a method in
    /// `plugin_http_ignore_method` gives a `NoopSpan`, as for entry spans.
    #[pyo3(signature = (op, peer, component = None, inherit = None, *, method = None))]
    fn new_exit_span<'py>(
        slf: &Bound<'py, Self>,
        op: Arg<String>,
        peer: Option<Arg<String>>,
        component: Option<Arg<i32>>,
        inherit: Option<Arg<i32>>,
        method: Option<Arg<PyBackedStr>>,
    ) -> PyResult<Bound<'py, Span>> {
        let py = slf.py();
        guard(
            site!("SpanContext.new_exit_span"),
            || noop_span(py, Kind::Exit, String::new()),
            || {
                let (op, peer, method) = (op.take("op")?, peer.take("peer")?, method.take("method")?);
                let (component, inherit) = (component.take("component")?, inherit.take("inherit")?);
                let method = method.as_deref();
                if method.is_some_and(|m| slf.try_borrow().is_ok_and(|c| c.settings.ignores_http_method(m))) {
                    return noop_span(py, Kind::Exit, op);
                }
                let opening =
                    Opening { peer: peer.unwrap_or_default(), component, inherit, ..Opening::plain(Kind::Exit, op) };
                open(slf, opening)
            },
        )
    }

    /// Opens the exit span of an outgoing HTTP request to `url`, as HTTP client plugins
    /// record it (see `http_client::open_exit_span`); None inside another HTTP exit span.
    #[pyo3(
        signature = (url, method, component, inject_on_send = Arg::ok(false)),
        text_signature = "($self, url, method, component, inject_on_send=False)"
    )]
    fn new_http_exit_span<'py>(
        slf: &Bound<'py, Self>,
        url: &Bound<'py, PyAny>,
        method: &Bound<'py, PyAny>,
        component: Arg<i32>,
        inject_on_send: Arg<bool>,
    ) -> PyResult<Option<Bound<'py, Span>>> {
        let py = slf.py();
        guard(
            site!("SpanContext.new_http_exit_span"),
            || noop_span(py, Kind::Exit, String::new()).map(Some),
            || {
                let (component, inject_on_send) =
                    (component.take("component")?, inject_on_send.take("inject_on_send")?);
                crate::http_client::open_exit_span(py, Some(slf), url, method, component, inject_on_send)
            },
        )
    }

    /// Opens a local span.
    fn new_local_span<'py>(slf: &Bound<'py, Self>, op: Arg<String>) -> PyResult<Bound<'py, Span>> {
        let py = slf.py();
        guard(
            site!("SpanContext.new_local_span"),
            || noop_span(py, Kind::Local, String::new()),
            || open(slf, Opening::plain(Kind::Local, op.take("op")?)),
        )
    }

    /// The innermost running span, or None.
    #[getter]
    fn active_span<'py>(slf: &Bound<'py, Self>) -> PyResult<Option<Bound<'py, Span>>> {
        guard(site!("SpanContext.active_span"), || Ok(None), || Ok(current_parent(slf.py()).0))
    }

    /// The innermost running span; with `raise_if_none`, raises `IllegalStateError` when none.
    #[pyo3(signature = (raise_if_none = Arg::ok(false)), text_signature = "($self, raise_if_none=False)")]
    fn peek<'py>(slf: &Bound<'py, Self>, raise_if_none: Arg<bool>) -> PyResult<Option<Bound<'py, Span>>> {
        let peeked = guard(
            site!("SpanContext.peek"),
            || Ok((None, false)),
            || Ok((current_parent(slf.py()).0, raise_if_none.take("raise_if_none")?)),
        )?;
        match peeked {
            (Some(span), _) => Ok(Some(span)),
            (None, true) => Err(IllegalStateError::new_err("No active span")),
            (None, false) => Ok(None),
        }
    }

    /// Sets a correlation value carried downstream in `sw8-correlation` (None deletes).
    #[pyo3(signature = (key, value = None))]
    fn put_correlation(slf: &Bound<'_, Self>, key: Arg<PyBackedStr>, value: Option<Arg<PyBackedStr>>) -> PyResult<()> {
        guard(
            site!("SpanContext.put_correlation"),
            || Ok(()),
            || {
                let (key, value) = (key.take("key")?, value.take("value")?);
                slf.try_borrow_mut()?.core.correlation.put(&key, value.as_deref());
                Ok(())
            },
        )
    }

    fn get_correlation(slf: &Bound<'_, Self>, key: Arg<PyBackedStr>) -> PyResult<Option<String>> {
        guard(
            site!("SpanContext.get_correlation"),
            || Ok(None),
            || Ok(slf.try_borrow()?.core.correlation.get(&key.take("key")?).map(str::to_owned)),
        )
    }

    /// A snapshot of the active span, to continue this trace in another thread.
    fn capture(slf: &Bound<'_, Self>) -> PyResult<Option<Snapshot>> {
        guard(
            site!("SpanContext.capture"),
            || Ok(None),
            || {
                let (Some(active), _) = current_parent(slf.py()) else { return Ok(None) };
                let a = active.try_borrow()?;
                if !a.context.bind(slf.py()).is(slf) {
                    return Ok(None);
                }
                Ok(slf.try_borrow()?.core.capture(&a.state).map(Snapshot::from))
            },
        )
    }

    /// Continues a snapshot taken in another thread: a CrossThread ref on the active span.
    fn continued(slf: &Bound<'_, Self>, snapshot: Arg<PyRef<'_, Snapshot>>) -> PyResult<()> {
        guard(
            site!("SpanContext.continued"),
            || Ok(()),
            || {
                let py = slf.py();
                let snapshot = snapshot.take("snapshot")?;
                if !snapshot.inner.is_valid() {
                    return Ok(());
                }
                let (Some(active), _) = current_parent(py) else { return Ok(()) };
                if !active.try_borrow()?.context.bind(py).is(slf) {
                    return Ok(());
                }
                let mut c = slf.try_borrow_mut()?;
                let SpanContext { settings, core } = &mut *c;
                core.continued(&mut active.try_borrow_mut()?.state, &snapshot.inner, origin(settings));
                Ok(())
            },
        )
    }

    /// `segment.segment_id` and `segment.related_traces`, as upstream exposes them.
    #[getter]
    fn segment(&mut self) -> SegmentInfo {
        let (segment_id, related_traces) = self.core.segment_info();
        SegmentInfo { segment_id, related_traces }
    }

    /// The endpoint of this segment (first entry span, else first span), or None.
    #[getter(primary_endpoint)]
    fn py_primary_endpoint(&self) -> Option<String> {
        self.core.primary_endpoint().map(str::to_owned)
    }

    #[getter]
    fn is_noop(&self) -> bool {
        self.core.is_noop()
    }
}

#[pymethods]
impl NoopContext {
    #[new]
    fn py_new() -> PyClassInitializer<Self> {
        PyClassInitializer::from(noop_context_state()).add_subclass(NoopContext)
    }
}

#[pymethods]
impl SegmentInfo {
    fn __repr__(&self) -> String {
        format!("Segment(segment_id={:?}, related_traces={:?})", self.segment_id, self.related_traces)
    }
}
