//! The rules of one tracing context (one segment): which spans record, which are reused,
//! when the segment is done, and the references that tie it to other segments.
//!
//! Opening a span applies, in order (as upstream, plus a sampling rule of its own):
//! 1. a no-op context, tracing switched off, an ignored operation name or a full segment
//!    queue give a no-op span;
//! 2. a running parent of the same kind may be reused instead of nesting: an entry span when
//!    `inherit` names its component (a framework under a server plugin), an exit span when
//!    the component is the one it asked to be inherited by (a client library under another);
//! 3. the sampling decision is taken once, on the context's first recorded span, and a
//!    request that arrives with a caller's trace is always sampled;
//! 4. past the span limit, spans are no-ops (counted in [`spans_over_limit`]).
//!
//! A span that finishes moves into the segment; when the last started span of the context
//! stops (even one that outlived its parent), the segment is done and handed over once.
//!
//! The active-span stack is not kept here: it lives where the host keeps per-task state
//! (a Python context variable), so callers pass the running parent in.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use sw_proto::v3::{RefType, SegmentReference};

use crate::correlation::Correlation;
use crate::ids::Id;
use crate::segment::{add_ref, cross_process_ref, now_ms, Segment, TraceId};
use crate::span::SpanState;
use crate::span_data::SpanData;
use crate::span_kind::Kind;
use crate::sw8::{self, Sw8, Sw8Ref};

/// Spans that became no-ops because their segment reached the span limit, process-wide.
static SPANS_OVER_LIMIT: AtomicU64 = AtomicU64::new(0);

/// How many spans became no-ops at the span limit in this process.
#[must_use]
pub fn spans_over_limit() -> u64 {
    SPANS_OVER_LIMIT.load(Relaxed)
}

/// What the agent decides about new spans, from its settings and its reporter.
pub trait Policy {
    /// False while dynamic configuration turned tracing off.
    fn tracing_enabled(&self) -> bool;
    /// Operation names that are not traced (`agent_trace_ignore_path`, `agent_ignore_suffix`).
    fn is_ignored(&self, op: &str) -> bool;
    /// The segment queue is full: new spans are no-ops until it drains, as upstream.
    fn queue_full(&self) -> bool;
    /// Takes one slot of the sampling budget, if there is one left.
    fn try_sample(&self) -> bool;
}

/// Limits a context is made with. The default allows nothing (what a no-op context needs);
/// the agent's limits come from `skywalking/config.py`, the only place they are declared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Limits {
    /// Spans per segment; past it spans are no-ops.
    pub span_limit: usize,
    pub correlation_max_elements: usize,
    pub correlation_max_value_len: usize,
}

#[cfg(test)]
impl Limits {
    /// Upstream's limits, for tests.
    pub(crate) fn upstream() -> Self {
        Self {
            span_limit: crate::segment::DEFAULT_SPAN_LIMIT,
            correlation_max_elements: crate::correlation::DEFAULT_MAX_ELEMENTS,
            correlation_max_value_len: crate::correlation::DEFAULT_MAX_VALUE_LEN,
        }
    }
}

/// The agent's own name on the wire, for the references and headers it writes.
#[derive(Debug, Clone, Copy)]
pub struct Origin<'a> {
    pub service: &'a str,
    pub instance: &'a str,
    /// The two as `sw8` fields, when the caller keeps them encoded (the agent's settings).
    pub sw8: Option<&'a sw8::EncodedOrigin>,
}

/// A span to open.
#[derive(Debug)]
pub struct Opening<'a> {
    pub kind: Kind,
    pub op: String,
    pub peer: String,
    pub component: Option<i32>,
    /// Entry spans: reuse a running entry parent of this component. Exit spans: the
    /// component whose exit span may reuse this one.
    pub inherit: Option<i32>,
    /// The caller's trace, for an entry span whose request carried a valid `sw8`.
    pub caller: Option<Sw8>,
    /// The caller's `sw8-correlation` value (empty when none).
    pub correlation: &'a str,
}

impl Opening<'_> {
    /// A span without peer, component, inheritance or caller.
    #[must_use]
    pub fn plain(kind: Kind, op: String) -> Self {
        Opening { kind, op, peer: String::new(), component: None, inherit: None, caller: None, correlation: "" }
    }
}

/// Why a span records nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoopReason {
    NoopContext,
    TracingDisabled,
    Ignored,
    QueueFull,
    Unsampled,
    SpanLimit,
}

/// What [`TraceContext::open`] decided.
#[derive(Debug)]
pub enum Opened {
    /// A new span that records. `first_entry`: the segment's first span, an entry span,
    /// which a running profile task gets to look at.
    New { span: SpanState, first_entry: bool },
    /// The running parent was reused (renamed) instead of opening a span. `first_entry`:
    /// it is the segment's first span and renamed the segment's endpoint.
    Reused { first_entry: bool },
    /// A span that records nothing.
    Noop { span: SpanState, reason: NoopReason },
}

/// What [`TraceContext::finish`] did with a finished span.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Finished {
    /// A no-op span, or one whose segment was already handed over (it outlived every
    /// other span of its segment and was started after it was done): nothing to record.
    Dropped,
    /// Moved into the segment, which waits for its other running spans.
    Archived,
    /// It was the last running span: the segment was handed over with it.
    SegmentDone,
}

/// A position in a trace, carried to another thread and continued there.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Snapshot {
    pub segment_id: String,
    pub span_id: i32,
    pub trace_id: String,
    /// The capturing segment's endpoint.
    pub endpoint: String,
    pub correlation: Vec<(String, String)>,
}

impl Snapshot {
    /// True when the snapshot points at a real span of a real segment.
    #[must_use]
    pub fn is_valid(&self) -> bool {
        !self.segment_id.is_empty() && self.span_id >= 0 && !self.trace_id.is_empty()
    }
}

/// An exit span's outgoing headers were asked of a span of another kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("only an exit span can inject a carrier")]
pub struct NotAnExitSpan;

/// The state of one segment being traced.
#[derive(Debug, Default)]
pub struct TraceContext {
    limits: Limits,
    /// Created with the first recorded span (ids are only generated for contexts that trace).
    segment: Option<Segment>,
    /// (trace id, segment id) kept after the segment was handed over.
    sent_ids: Option<(TraceId, Id)>,
    /// Spans started and not yet stopped; the segment is done when it returns to 0.
    nspans: u32,
    pub correlation: Correlation,
    /// Milliseconds since the epoch; 0 until something needs it (see [`Self::create_time`]).
    create_time: i64,
    sampled: Option<bool>,
    /// A reference to a span that finished before this context's first span began
    /// (a task that outlived its parent); attached to the first span. Boxed: rare, and a
    /// context is made for every segment.
    pending_ref: Option<Box<SegmentReference>>,
    /// First span's name, replaced by the first entry span's.
    primary: Option<(String, bool)>,
    noop: bool,
}

impl TraceContext {
    /// A context that records.
    #[must_use]
    pub fn new(limits: Limits) -> Self {
        let correlation = Correlation::new(limits.correlation_max_elements, limits.correlation_max_value_len);
        Self { limits, correlation, ..Self::default() }
    }

    /// A context that records nothing: every span it opens is a no-op.
    #[must_use]
    pub fn noop() -> Self {
        Self { noop: true, ..Self::default() }
    }

    /// A new context whose first span continues `parent`, a span of `parent_context`
    /// that already finished (a task that outlived the span it was created under): a
    /// CrossThread reference, as a captured snapshot would give.
    #[must_use]
    pub fn following(limits: Limits, parent_context: &TraceContext, parent: &SpanState, origin: Origin<'_>) -> Self {
        let mut context = Self::new(limits);
        context.pending_ref = parent_context.reference_to(parent, origin).map(Box::new);
        context
    }

    #[must_use]
    pub fn is_noop(&self) -> bool {
        self.noop
    }

    /// True while spans of this context run (only then can a span have a parent here).
    #[must_use]
    pub fn is_running(&self) -> bool {
        self.nspans > 0
    }

    fn segment_mut(&mut self) -> &mut Segment {
        let limit = self.limits.span_limit;
        self.segment.get_or_insert_with(|| Segment::new(limit))
    }

    /// (trace id, segment id), borrowed: empty while the context has no segment.
    #[must_use]
    pub fn id_refs(&self) -> (&str, &str) {
        match (&self.segment, &self.sent_ids) {
            (Some(segment), _) => (segment.trace_id(), segment.segment_id()),
            (None, Some((trace, segment))) => (trace.as_str(), segment.as_str()),
            (None, None) => ("", ""),
        }
    }

    /// (trace id, segment id) as owned strings: empty while the context has no segment.
    #[must_use]
    pub fn ids(&self) -> (String, String) {
        let (trace_id, segment_id) = self.id_refs();
        (trace_id.to_owned(), segment_id.to_owned())
    }

    /// `segment.segment_id` and `segment.related_traces`, as upstream exposes them: asking
    /// makes the segment (and its ids) if no span did yet. Empty for a no-op context.
    pub fn segment_info(&mut self) -> (String, Vec<String>) {
        if self.noop {
            return (String::new(), Vec::new());
        }
        if self.segment.is_none() && self.sent_ids.is_none() {
            self.segment_mut();
        }
        match &self.segment {
            Some(s) => (s.segment_id().to_owned(), s.related_traces()),
            None => {
                let (trace, segment) = self.ids();
                (segment, vec![trace])
            }
        }
    }

    /// The endpoint this segment serves: the first entry span's name, else the first span's.
    #[must_use]
    pub fn primary_endpoint(&self) -> Option<&str> {
        self.primary.as_ref().map(|(op, _)| op.as_str())
    }

    fn note_primary(&mut self, op: &str, entry: bool) {
        match &self.primary {
            None => self.primary = Some((op.to_owned(), entry)),
            Some((_, false)) if entry => self.primary = Some((op.to_owned(), true)),
            _ => {}
        }
    }

    /// When this context began: its first span's start, or the first time it was asked
    /// for, whichever came first. Not read when the context is made, which would be one
    /// more clock read per segment than the spans need.
    pub fn create_time(&mut self) -> i64 {
        if self.create_time == 0 {
            self.create_time = now_ms();
        }
        self.create_time
    }

    /// Opens a span (see the module's documentation for the rules). `parent` is the
    /// innermost running span of this context on the caller's active stack, if any.
    pub fn open(&mut self, parent: Option<&mut SpanState>, o: Opening<'_>, policy: &impl Policy) -> Opened {
        let refused = if self.noop {
            Some(NoopReason::NoopContext)
        } else if !policy.tracing_enabled() {
            Some(NoopReason::TracingDisabled)
        } else if policy.is_ignored(&o.op) {
            Some(NoopReason::Ignored)
        } else if policy.queue_full() {
            Some(NoopReason::QueueFull)
        } else {
            None
        };
        if let Some(reason) = refused {
            return Opened::Noop { span: SpanState::noop(o.kind, o.op), reason };
        }
        let parent_span_id = match parent {
            Some(p) => {
                if o.kind == Kind::Entry
                    && p.kind == Kind::Entry
                    && o.inherit.is_some()
                    && o.inherit == Some(p.data.component_id)
                {
                    let first_entry = p.data.parent_span_id < 0;
                    if first_entry {
                        // The segment's endpoint is the renamed entry span.
                        self.primary = Some((o.op.clone(), true));
                    }
                    p.data.operation_name = o.op;
                    return Opened::Reused { first_entry };
                }
                if o.kind == Kind::Exit && p.kind == Kind::Exit && o.component.is_some() && o.component == p.inherit {
                    p.data.operation_name = o.op;
                    p.data.peer = o.peer;
                    p.data.component_id = o.component.unwrap_or_default();
                    return Opened::Reused { first_entry: false };
                }
                p.data.span_id
            }
            None => -1,
        };
        let sampled = *self.sampled.get_or_insert_with(|| o.caller.is_some() || policy.try_sample());
        if !sampled {
            return Opened::Noop { span: SpanState::noop(o.kind, o.op), reason: NoopReason::Unsampled };
        }
        let Some(span_id) = self.segment_mut().next_span_id() else {
            SPANS_OVER_LIMIT.fetch_add(1, Relaxed);
            return Opened::Noop { span: SpanState::noop(o.kind, o.op), reason: NoopReason::SpanLimit };
        };
        self.note_primary(&o.op, o.kind == Kind::Entry);
        let mut data = SpanData {
            span_id,
            parent_span_id,
            operation_name: o.op,
            peer: o.peer,
            span_type: o.kind.wire() as i32,
            component_id: o.component.unwrap_or_default(),
            ..SpanData::default()
        };
        if let Some(reference) = self.pending_ref.take() {
            self.segment_mut().relate(&reference.trace_id);
            add_ref(&mut data, *reference);
        }
        if let Some(caller) = o.caller {
            self.join(&mut data, caller, o.correlation);
        }
        let mut span = SpanState::new(o.kind, data);
        if o.kind == Kind::Exit {
            span.inherit = o.inherit;
        }
        Opened::New { span, first_entry: o.kind == Kind::Entry && parent_span_id < 0 }
    }

    /// A span of this context started (its first start, at `start_time`).
    pub fn started(&mut self, span: &SpanState) {
        if span.noop {
            return;
        }
        self.nspans += 1;
        if self.create_time == 0 {
            self.create_time = span.data.start_time;
        }
    }

    /// A span of this context finished. While other spans of the segment run, it is
    /// encoded into the segment; its data stays whole with its owner, who may still read it
    /// (name, ids, times, tags). When it was the last, `done` gets the segment and the span
    /// to hand them over, once.
    pub fn finish(&mut self, span: &mut SpanState, done: impl FnOnce(&Segment, &SpanData)) -> Finished {
        if span.noop || self.segment.is_none() {
            // Nothing can carry this span: it records nothing, or its segment was done.
            return Finished::Dropped;
        }
        span.data.span_type = span.kind.wire() as i32;
        self.nspans = self.nspans.saturating_sub(1);
        if self.nspans > 0 {
            self.segment_mut().archive(&span.data);
            return Finished::Archived;
        }
        let Some(segment) = self.segment.take() else { return Finished::Dropped };
        done(&segment, &span.data);
        self.sent_ids = Some(segment.into_ids());
        Finished::SegmentDone
    }

    /// Joins the caller's trace on `data`, the entry span that received its headers: the
    /// segment adopts its trace id, the context takes its correlation (replacing what it
    /// had, when the caller sent any) and the span records a CrossProcess reference.
    pub fn join(&mut self, data: &mut SpanData, caller: Sw8, correlation: &str) {
        self.segment_mut().relate(&caller.trace_id);
        if !correlation.is_empty() {
            self.correlation = Correlation::from_header(
                correlation,
                self.limits.correlation_max_elements,
                self.limits.correlation_max_value_len,
            );
        }
        add_ref(data, cross_process_ref(caller));
    }

    /// `span.extract(carrier)`: joins the caller on an existing span (nothing on a no-op).
    pub fn extract(&mut self, span: &mut SpanState, caller: Sw8, correlation: &str) {
        if !span.noop {
            self.join(&mut span.data, caller, correlation);
        }
    }

    /// A CrossThread reference to `span` of this context, for a segment that continues it.
    /// `None` for a no-op span or a context without ids.
    #[must_use]
    pub fn reference_to(&self, span: &SpanState, origin: Origin<'_>) -> Option<SegmentReference> {
        if span.noop {
            return None;
        }
        let (trace_id, segment_id) = self.ids();
        if trace_id.is_empty() {
            return None;
        }
        Some(SegmentReference {
            ref_type: RefType::CrossThread as i32,
            trace_id,
            parent_trace_segment_id: segment_id,
            parent_span_id: span.data.span_id,
            parent_service: origin.service.to_owned(),
            parent_service_instance: origin.instance.to_owned(),
            parent_endpoint: self.primary_endpoint().unwrap_or_default().to_owned(),
            network_address_used_at_peer: String::new(),
        })
    }

    /// A snapshot of `active`, the running span of this context, to continue this trace in
    /// another thread; `None` for a no-op span.
    #[must_use]
    pub fn capture(&self, active: &SpanState) -> Option<Snapshot> {
        if active.noop || self.noop {
            return None;
        }
        let (trace_id, segment_id) = self.ids();
        Some(Snapshot {
            segment_id,
            span_id: active.data.span_id,
            trace_id,
            endpoint: self.primary_endpoint().unwrap_or_default().to_owned(),
            correlation: self.correlation.items().to_vec(),
        })
    }

    /// Continues `snapshot`, taken in another thread, on `active`, the running span of this
    /// context: a CrossThread reference, the snapshot's trace related and its correlation
    /// merged. Nothing for an invalid snapshot, a no-op span, or a snapshot of this segment.
    pub fn continued(&mut self, active: &mut SpanState, snapshot: &Snapshot, origin: Origin<'_>) {
        if !snapshot.is_valid() || active.noop || self.noop {
            return;
        }
        if self.segment.as_ref().is_some_and(|s| s.segment_id() == snapshot.segment_id) {
            return;
        }
        self.segment_mut().relate(&snapshot.trace_id);
        for (key, value) in &snapshot.correlation {
            self.correlation.put(key, Some(value));
        }
        let reference = SegmentReference {
            ref_type: RefType::CrossThread as i32,
            trace_id: snapshot.trace_id.clone(),
            parent_trace_segment_id: snapshot.segment_id.clone(),
            parent_span_id: snapshot.span_id,
            parent_service: origin.service.to_owned(),
            parent_service_instance: origin.instance.to_owned(),
            parent_endpoint: snapshot.endpoint.clone(),
            network_address_used_at_peer: String::new(),
        };
        add_ref(&mut active.data, reference);
    }

    /// The `sw8` and `sw8-correlation` values `span` sends downstream. A no-op span sends
    /// upstream's not-traced marker, so that the called agent does not trace either.
    pub fn headers(&self, span: &SpanState, origin: Origin<'_>) -> Result<(String, String), NotAnExitSpan> {
        if span.noop {
            return Ok((sw8::NOOP_SW8.to_owned(), String::new()));
        }
        if span.kind != Kind::Exit {
            return Err(NotAnExitSpan);
        }
        let (trace_id, segment_id) = self.id_refs();
        let fields = Sw8Ref {
            sampled: true,
            trace_id,
            parent_segment_id: segment_id,
            parent_span_id: span.data.span_id,
            parent_service: origin.service,
            parent_service_instance: origin.instance,
            // The caller's endpoint is the segment's entry endpoint (what OAP's endpoint
            // dependency analysis expects); upstream sends the exit span's own name here.
            parent_endpoint: self.primary_endpoint().unwrap_or(&span.data.operation_name),
            address_used_at_client: &span.data.peer,
        };
        Ok((sw8::encode_with_origin(&fields, origin.sw8), self.correlation.to_header()))
    }
}

#[cfg(test)]
#[path = "trace_context_tests.rs"]
mod tests;
