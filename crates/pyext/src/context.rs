//! Tracing contexts: one per segment. `get_context()` returns the context of the active
//! span, or a new one; the sampling decision is taken when its first span opens, so a
//! request that arrives with a trace context is always kept.

use std::sync::atomic::{AtomicI64, Ordering::Relaxed};
use std::sync::Arc;

use pyo3::prelude::*;
use pyo3::sync::GILOnceCell;
use sw_core::correlation::Correlation;
use sw_core::ids::Id;
use sw_core::segment::{add_ref, cross_process_ref, now_ms, Segment, TraceId};
use sw_core::sw8::{self, Incoming, Sw8};
use sw_proto::v3::{RefType, SegmentReference, SpanObject, SpanType};

use crate::active;
use crate::agent;
use crate::carrier::read_carrier;
use crate::settings::Settings;
use crate::snapshot::Snapshot;
use crate::span::{self, IllegalStateError, Kind, Span};

/// The state of one segment being traced.
#[pyclass(subclass, module = "skywalking._core")]
#[derive(Debug)]
pub struct SpanContext {
    pub settings: Arc<Settings>,
    /// Created with the first span (ids are only generated for contexts that trace).
    segment: Option<Segment>,
    /// (trace id, segment id) kept after the segment was sent.
    sent_ids: Option<(TraceId, Id)>,
    /// Spans started and not yet stopped; the segment is sent when it returns to 0.
    nspans: u32,
    pub correlation: Correlation,
    /// Milliseconds since the epoch; 0 until something needs it (see `create_time()`).
    create_time: AtomicI64,
    sampled: Option<bool>,
    /// A reference to a span that finished before this context's first span began
    /// (a task that outlived its parent); attached to the first span.
    /// Boxed: rare, and a context is made for every segment (and moved into its Python object).
    pending_ref: Option<Box<SegmentReference>>,
    /// First span's name, replaced by the first entry span's.
    primary: Option<(String, bool)>,
    noop: bool,
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

impl SpanContext {
    fn with_settings(settings: Arc<Settings>, noop: bool) -> Self {
        let correlation = Correlation::new(settings.correlation_max_elements, settings.correlation_max_value_len);
        Self {
            settings,
            segment: None,
            sent_ids: None,
            nspans: 0,
            correlation,
            create_time: AtomicI64::new(0),
            sampled: None,
            pending_ref: None,
            primary: None,
            noop,
        }
    }

    fn segment_mut(&mut self) -> &mut Segment {
        let limit = self.settings.span_limit;
        self.segment.get_or_insert_with(|| Segment::new(limit))
    }

    /// (trace id, segment id) borrowed: empty while the context has no segment.
    pub fn id_refs(&self) -> (&str, &str) {
        match (&self.segment, &self.sent_ids) {
            (Some(segment), _) => (segment.trace_id(), segment.segment_id()),
            (None, Some((trace, segment))) => (trace.as_str(), segment.as_str()),
            (None, None) => ("", ""),
        }
    }

    /// (trace id, segment id) as owned strings: empty while the context has no segment.
    pub fn ids(&self) -> (String, String) {
        let (trace_id, segment_id) = self.id_refs();
        (trace_id.to_owned(), segment_id.to_owned())
    }

    /// The endpoint this segment serves: first entry span, else first span.
    pub fn primary_endpoint(&self) -> Option<&str> {
        self.primary.as_ref().map(|(op, _)| op.as_str())
    }

    /// A span of this context started at `start_time`.
    pub fn span_started(&mut self, start_time: i64) {
        self.nspans += 1;
        if *self.create_time.get_mut() == 0 {
            *self.create_time.get_mut() = start_time;
        }
    }

    /// When this context began: its first span's start, or the first time it was asked
    /// for, whichever came first. Not read when the context is made, which would be one
    /// more clock read per segment than the spans need.
    fn create_time(&self) -> i64 {
        // An atomic only because pyclasses must be Sync; the GIL orders every access.
        match self.create_time.load(Relaxed) {
            0 => {
                let now = now_ms();
                self.create_time.store(now, Relaxed);
                now
            }
            time => time,
        }
    }

    fn note_primary(&mut self, op: &str, entry: bool) {
        match &self.primary {
            None => self.primary = Some((op.to_owned(), entry)),
            Some((_, false)) if entry => self.primary = Some((op.to_owned(), true)),
            _ => {}
        }
    }
}

static NOOP_CONTEXT: GILOnceCell<Py<SpanContext>> = GILOnceCell::new();

pub fn noop_context(py: Python<'_>) -> PyResult<Py<SpanContext>> {
    let context = NOOP_CONTEXT.get_or_try_init(py, || {
        let init = PyClassInitializer::from(SpanContext::with_settings(Arc::default(), true)).add_subclass(NoopContext);
        Ok::<_, PyErr>(Bound::new(py, init)?.into_any().downcast_into::<SpanContext>()?.unbind())
    })?;
    Ok(context.clone_ref(py))
}

/// A span that records nothing but still takes part in the active stack, so that
/// everything under an ignored or unsampled span is not traced either.
pub(crate) fn noop_span(py: Python<'_>, kind: Kind, op: String) -> PyResult<Bound<'_, Span>> {
    let data = SpanObject { operation_name: op, span_id: -1, parent_span_id: -1, ..SpanObject::default() };
    span::create(py, Span::new(kind, noop_context(py)?, data, true))
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
            if !n.finished {
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

/// The context of the active span, or a new context.
#[pyfunction]
pub fn get_context(py: Python<'_>) -> PyResult<Py<SpanContext>> {
    match current_parent(py) {
        (Some(span), _) => Ok(span.borrow().context.clone_ref(py)),
        (None, finished) => {
            let mut context = SpanContext::with_settings(agent::settings(), false);
            if let Some(finished) = finished {
                context.pending_ref = reference_to(&finished).map(Box::new);
            }
            Py::new(py, context)
        }
    }
}

/// A CrossThread reference to `span`, which finished before its child context began.
fn reference_to(span: &Bound<'_, Span>) -> Option<SegmentReference> {
    let py = span.py();
    let s = span.borrow();
    if s.noop {
        return None;
    }
    let context = s.context.bind(py).borrow();
    let (trace_id, segment_id) = context.ids();
    if trace_id.is_empty() {
        return None;
    }
    Some(SegmentReference {
        ref_type: RefType::CrossThread as i32,
        trace_id,
        parent_trace_segment_id: segment_id,
        parent_span_id: s.data.span_id,
        parent_service: context.settings.service.clone(),
        parent_service_instance: context.settings.instance.clone(),
        parent_endpoint: context.primary_endpoint().unwrap_or_default().to_owned(),
        network_address_used_at_peer: String::new(),
    })
}

/// Joins the caller's trace: adopt its trace id, take its correlation, record the ref.
pub fn join_caller(
    context: &Bound<'_, SpanContext>,
    span: &mut SpanObject,
    caller: Sw8,
    correlation: &str,
) -> PyResult<()> {
    let mut c = context.try_borrow_mut()?;
    c.segment_mut().relate(&caller.trace_id);
    if !correlation.is_empty() {
        c.correlation = Correlation::from_header(
            correlation,
            c.settings.correlation_max_elements,
            c.settings.correlation_max_value_len,
        );
    }
    add_ref(span, cross_process_ref(caller));
    Ok(())
}

/// Called when a span of `context` finished. While other spans of the segment run, the
/// span's data moves into the segment; when it was the last, the segment is encoded with
/// it and sent, and `data` stays with the span whole. Either way the caller can still read
/// the name, ids, times and error flag from `data`.
pub fn span_finished(context: &Bound<'_, SpanContext>, data: &mut SpanObject) -> PyResult<()> {
    let mut c = context.try_borrow_mut()?;
    if c.segment.is_none() {
        // The segment was already sent (a span outlived it): nothing can carry this span.
        return Ok(());
    }
    c.nspans = c.nspans.saturating_sub(1);
    if c.nspans > 0 {
        let archived = take_keeping_summary(data);
        if let Some(segment) = c.segment.as_mut() {
            segment.archive(archived);
        }
        return Ok(());
    }
    let Some(segment) = c.segment.take() else { return Ok(()) };
    if let Some(handle) = c.settings.profiler.as_ref().filter(|h| h.profiler.is_active()) {
        handle.profiler.segment_finished(segment.segment_id());
    }
    // Encoded here, on the application thread: see `sw_core::encoded` for why.
    let settings = &c.settings;
    agent::report(|buf| segment.encode(Some(data), &settings.service, &settings.instance, buf));
    c.sent_ids = Some(segment.into_ids());
    Ok(())
}

/// Moves `data` out, leaving behind what callers commonly read after a span ends.
fn take_keeping_summary(data: &mut SpanObject) -> SpanObject {
    let archived = std::mem::take(data);
    data.operation_name.clone_from(&archived.operation_name);
    data.span_id = archived.span_id;
    data.parent_span_id = archived.parent_span_id;
    data.start_time = archived.start_time;
    data.end_time = archived.end_time;
    data.is_error = archived.is_error;
    data.span_type = archived.span_type;
    archived
}

pub(crate) struct Opening {
    pub kind: Kind,
    pub op: String,
    pub peer: String,
    pub component: Option<i32>,
    pub inherit: Option<i32>,
    pub caller: Option<Sw8>,
    pub correlation: String,
}

/// Opens a span in `context`, applying upstream's rules in order: no-op contexts,
/// ignore rules, a full queue, span reuse through `inherit`, sampling, the span limit.
pub(crate) fn open<'py>(context: &Bound<'py, SpanContext>, o: Opening) -> PyResult<Bound<'py, Span>> {
    let py = context.py();
    let (settings, noop, running) = {
        let c = context.borrow();
        (c.settings.clone(), c.noop, c.nspans > 0)
    };
    if noop || !settings.tracing_enabled || settings.ignore.is_ignored(&o.op) || agent::queue_full() {
        return noop_span(py, o.kind, o.op);
    }
    // A parent in this context is a running span of it: with none running (the first span
    // of every segment), the active stack need not be read.
    let (parent, _) = if running { current_parent(py) } else { (None, None) };
    let parent = parent.filter(|p| p.borrow().context.bind(py).is(context));
    if let Some(parent) = &parent {
        let mut p = parent.try_borrow_mut()?;
        match o.kind {
            Kind::Entry if p.kind == Kind::Entry && o.inherit.is_some() && o.inherit == Some(p.data.component_id) => {
                let first = p.data.parent_span_id < 0;
                p.data.operation_name.clone_from(&o.op);
                drop(p);
                if first {
                    // The segment's endpoint is the renamed entry span; a running profile
                    // task gets to check the new name, as upstream.
                    context.try_borrow_mut()?.primary = Some((o.op.clone(), true));
                    offer_to_profiler_op(context, &settings, &o.op);
                }
                return Ok(parent.clone());
            }
            Kind::Exit if p.kind == Kind::Exit && o.component.is_some() && o.component == p.inherit => {
                p.data.operation_name = o.op;
                p.data.peer = o.peer;
                p.data.component_id = o.component.unwrap_or_default();
                drop(p);
                return Ok(parent.clone());
            }
            _ => {}
        }
    }
    let mut c = context.try_borrow_mut()?;
    let sampled = *c.sampled.get_or_insert_with(|| o.caller.is_some() || settings.sampler.try_sample());
    if !sampled {
        drop(c);
        return noop_span(py, o.kind, o.op);
    }
    let Some(span_id) = c.segment_mut().next_span_id() else {
        drop(c);
        agent::SPANS_OVER_LIMIT.fetch_add(1, Relaxed);
        return noop_span(py, o.kind, o.op);
    };
    let parent_span_id = match &parent {
        Some(p) => p.borrow().data.span_id,
        None => -1,
    };
    c.note_primary(&o.op, o.kind == Kind::Entry);
    let span_type = match o.kind {
        Kind::Entry => SpanType::Entry,
        Kind::Exit => SpanType::Exit,
        Kind::Local => SpanType::Local,
    };
    let mut data = SpanObject {
        span_id,
        parent_span_id,
        operation_name: o.op,
        peer: o.peer,
        span_type: span_type as i32,
        component_id: o.component.unwrap_or_default(),
        ..SpanObject::default()
    };
    if let Some(reference) = c.pending_ref.take() {
        c.segment_mut().relate(&reference.trace_id);
        add_ref(&mut data, *reference);
    }
    drop(c);
    if let Some(caller) = o.caller {
        join_caller(context, &mut data, caller, &o.correlation)?;
    }
    let first_entry = o.kind == Kind::Entry && parent_span_id < 0;
    let mut span = Span::new(o.kind, context.clone().unbind(), data, false);
    if o.kind == Kind::Exit {
        span.inherit = o.inherit;
    }
    let span = span::create(py, span)?;
    if first_entry {
        offer_to_profiler_op(context, &settings, &span.borrow().data.operation_name);
    }
    Ok(span)
}

/// Offers this segment to a running profile task under its first entry span's name.
fn offer_to_profiler_op(context: &Bound<'_, SpanContext>, settings: &Settings, op: &str) {
    let Some(handle) = &settings.profiler else { return };
    if !handle.profiler.is_active() {
        return;
    }
    let (segment_id, create_time) = {
        let c = context.borrow();
        (c.ids().1, c.create_time())
    };
    crate::profiling::offer(context.py(), &handle.profiler, &segment_id, op, create_time);
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

#[pymethods]
impl SpanContext {
    #[new]
    fn py_new() -> Self {
        Self::with_settings(agent::settings(), false)
    }

    /// Milliseconds since the epoch when this context began (its first span's start).
    #[getter(create_time)]
    fn py_create_time(&self) -> i64 {
        self.create_time()
    }

    /// Opens an entry span, continuing the caller's trace from `carrier` (or from the
    /// raw `sw8`/`correlation` header values, which plugins pass to skip the Carrier).
    /// With the request's HTTP `method`, a method in `plugin_http_ignore_method` gives a
    /// `NoopSpan` (what `config.ignore_http_method_check` decides, without calling Python).
    #[pyo3(signature = (op, carrier = None, inherit = None, *, sw8 = None, correlation = None, method = None))]
    pub(crate) fn new_entry_span<'py>(
        slf: &Bound<'py, Self>,
        op: String,
        carrier: Option<&Bound<'py, PyAny>>,
        inherit: Option<i32>,
        sw8: Option<&str>,
        correlation: Option<&str>,
        method: Option<&str>,
    ) -> PyResult<Bound<'py, Span>> {
        if method.is_some_and(|m| slf.borrow().settings.ignores_http_method(m)) {
            return noop_span(slf.py(), Kind::Entry, op);
        }
        let Ok((caller, correlation)) = caller_of(carrier, sw8, correlation) else {
            return noop_span(slf.py(), Kind::Entry, op);
        };
        open(slf, Opening { kind: Kind::Entry, op, peer: String::new(), component: None, inherit, caller, correlation })
    }

    /// Opens an exit span towards `peer`; with the request's HTTP `method`, a method in
    /// `plugin_http_ignore_method` gives a `NoopSpan`, as for entry spans.
    #[pyo3(signature = (op, peer, component = None, inherit = None, *, method = None))]
    fn new_exit_span<'py>(
        slf: &Bound<'py, Self>,
        op: String,
        peer: Option<String>,
        component: Option<i32>,
        inherit: Option<i32>,
        method: Option<&str>,
    ) -> PyResult<Bound<'py, Span>> {
        if method.is_some_and(|m| slf.borrow().settings.ignores_http_method(m)) {
            return noop_span(slf.py(), Kind::Exit, op);
        }
        let opening = Opening {
            kind: Kind::Exit,
            op,
            peer: peer.unwrap_or_default(),
            component,
            inherit,
            caller: None,
            correlation: String::new(),
        };
        open(slf, opening)
    }

    /// Opens the exit span of an outgoing HTTP request to `url`, as HTTP client plugins
    /// record it (see `http_client::open_exit_span`); None inside another HTTP exit span.
    #[pyo3(signature = (url, method, component, inject_on_send = false))]
    fn new_http_exit_span<'py>(
        slf: &Bound<'py, Self>,
        url: &Bound<'py, PyAny>,
        method: &Bound<'py, PyAny>,
        component: i32,
        inject_on_send: bool,
    ) -> PyResult<Option<Bound<'py, Span>>> {
        crate::http_client::open_exit_span(slf, url, method, component, inject_on_send)
    }

    /// Opens a local span.
    fn new_local_span<'py>(slf: &Bound<'py, Self>, op: String) -> PyResult<Bound<'py, Span>> {
        open(
            slf,
            Opening {
                kind: Kind::Local,
                op,
                peer: String::new(),
                component: None,
                inherit: None,
                caller: None,
                correlation: String::new(),
            },
        )
    }

    /// The innermost running span, or None.
    #[getter]
    fn active_span<'py>(&self, py: Python<'py>) -> Option<Bound<'py, Span>> {
        current_parent(py).0
    }

    /// The innermost running span; with `raise_if_none`, raises `IllegalStateError` when none.
    #[pyo3(signature = (raise_if_none = false))]
    fn peek<'py>(&self, py: Python<'py>, raise_if_none: bool) -> PyResult<Option<Bound<'py, Span>>> {
        match current_parent(py).0 {
            Some(span) => Ok(Some(span)),
            None if raise_if_none => Err(IllegalStateError::new_err("No active span")),
            None => Ok(None),
        }
    }

    /// Sets a correlation value carried downstream in `sw8-correlation` (None deletes).
    #[pyo3(signature = (key, value = None))]
    fn put_correlation(&mut self, key: &str, value: Option<&str>) {
        self.correlation.put(key, value);
    }

    fn get_correlation(&self, key: &str) -> Option<String> {
        self.correlation.get(key).map(str::to_owned)
    }

    /// A snapshot of the active span, to continue this trace in another thread.
    fn capture(slf: &Bound<'_, Self>) -> PyResult<Option<Snapshot>> {
        let py = slf.py();
        let (Some(active), _) = current_parent(py) else { return Ok(None) };
        let a = active.borrow();
        if a.noop || !a.context.bind(py).is(slf) {
            return Ok(None);
        }
        let c = slf.borrow();
        let (trace_id, segment_id) = c.ids();
        Ok(Some(Snapshot {
            segment_id,
            span_id: a.data.span_id,
            trace_id,
            endpoint: c.primary_endpoint().unwrap_or_default().to_owned(),
            correlation: c.correlation.items().to_vec(),
        }))
    }

    /// Continues a snapshot taken in another thread: a CrossThread ref on the active span.
    fn continued(slf: &Bound<'_, Self>, snapshot: &Snapshot) -> PyResult<()> {
        let py = slf.py();
        if !snapshot.is_valid() {
            return Ok(());
        }
        let (Some(active), _) = current_parent(py) else { return Ok(()) };
        if active.borrow().noop || !active.borrow().context.bind(py).is(slf) {
            return Ok(());
        }
        let mut c = slf.try_borrow_mut()?;
        if c.segment.as_ref().is_some_and(|s| s.segment_id() == snapshot.segment_id) {
            return Ok(());
        }
        c.segment_mut().relate(&snapshot.trace_id);
        for (key, value) in &snapshot.correlation {
            c.correlation.put(key, Some(value));
        }
        let reference = SegmentReference {
            ref_type: RefType::CrossThread as i32,
            trace_id: snapshot.trace_id.clone(),
            parent_trace_segment_id: snapshot.segment_id.clone(),
            parent_span_id: snapshot.span_id,
            parent_service: c.settings.service.clone(),
            parent_service_instance: c.settings.instance.clone(),
            parent_endpoint: snapshot.endpoint.clone(),
            network_address_used_at_peer: String::new(),
        };
        drop(c);
        add_ref(&mut active.try_borrow_mut()?.data, reference);
        Ok(())
    }

    /// `segment.segment_id` and `segment.related_traces`, as upstream exposes them.
    #[getter]
    fn segment(&mut self) -> SegmentInfo {
        if self.noop {
            return SegmentInfo { segment_id: String::new(), related_traces: Vec::new() };
        }
        if self.segment.is_none() && self.sent_ids.is_none() {
            self.segment_mut();
        }
        match &self.segment {
            Some(s) => SegmentInfo { segment_id: s.segment_id().to_owned(), related_traces: s.related_traces() },
            None => {
                let (trace, segment) = self.ids();
                SegmentInfo { segment_id: segment, related_traces: vec![trace] }
            }
        }
    }

    /// The endpoint of this segment (first entry span, else first span), or None.
    #[getter(primary_endpoint)]
    fn py_primary_endpoint(&self) -> Option<String> {
        self.primary_endpoint().map(str::to_owned)
    }

    #[getter]
    fn is_noop(&self) -> bool {
        self.noop
    }
}

#[pymethods]
impl NoopContext {
    #[new]
    fn py_new() -> PyClassInitializer<Self> {
        PyClassInitializer::from(SpanContext::with_settings(Arc::default(), true)).add_subclass(NoopContext)
    }
}

#[pymethods]
impl SegmentInfo {
    fn __repr__(&self) -> String {
        format!("Segment(segment_id={:?}, related_traces={:?})", self.segment_id, self.related_traces)
    }
}
