//! A segment under construction: span ids, the span limit, related traces, and the
//! finished spans in finish order (children before parents, as upstream sends them).
//!
//! A live span is stored in its wire form's shape ([`SpanData`]); when it finishes before
//! its segment, it is encoded there and then (its data stays with its owner, who may still
//! read it), so that nothing is moved, copied or kept per finished span but its bytes.

use std::time::{SystemTime, UNIX_EPOCH};

use sw_proto::v3::{KeyStringValuePair, Log, RefType, SegmentReference};

use crate::encoded::{encode_segment, put_archived_span, SegmentParts};
use crate::ids::{new_id_pair, Id};
use crate::open_segments::{OpenSegment, PROCESS};
use crate::span_data::{SpanData, Tag, TagKey};
use crate::sw8::Sw8;

/// A span limit for tests. The agent's (`agent_span_limit`, 300 as in SkyWalking's Java
/// agent) is declared in `skywalking/config.py` only.
#[cfg(test)]
pub(crate) const DEFAULT_SPAN_LIMIT: usize = 300;

/// Milliseconds since the epoch, the unit of every timestamp on the wire.
#[must_use]
pub fn now_ms() -> i64 {
    // Seconds and milliseconds apart: `as_millis` divides a u128, twice per span.
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX / 1000) * 1000 + i64::from(d.subsec_millis()))
}

/// The trace id a segment reports: generated here, or taken from the caller it joined
/// (whose agent may write ids in another format).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TraceId {
    Generated(Id),
    Joined(String),
}

impl TraceId {
    #[must_use]
    pub fn as_str(&self) -> &str {
        match self {
            TraceId::Generated(id) => id.as_str(),
            TraceId::Joined(id) => id,
        }
    }
}

/// The state of one segment while its spans run.
#[derive(Debug)]
pub struct Segment {
    segment_id: Id,
    /// The trace id reported with this segment.
    trace_id: TraceId,
    /// Further traces this segment joined after the first (rare: no allocation until then).
    more_traces: Vec<String>,
    next_span_id: i32,
    span_limit: usize,
    /// The spans finished so far, encoded (`SegmentObject.spans` fields), in finish order.
    finished: Vec<u8>,
    finished_count: usize,
    /// Spans were dropped (span limit) or the report queue was full.
    pub size_limited: bool,
    /// Counts this segment as open until it is reported or dropped.
    _open: OpenSegment,
}

impl Segment {
    /// A new segment with fresh trace and segment ids.
    #[must_use]
    pub fn new(span_limit: usize) -> Self {
        let (trace_id, segment_id) = new_id_pair();
        Self {
            segment_id,
            trace_id: TraceId::Generated(trace_id),
            more_traces: Vec::new(),
            next_span_id: 0,
            span_limit,
            finished: Vec::new(),
            finished_count: 0,
            size_limited: false,
            _open: PROCESS.open(),
        }
    }

    /// The trace id reported with this segment.
    #[must_use]
    pub fn trace_id(&self) -> &str {
        self.trace_id.as_str()
    }

    /// This segment's id.
    #[must_use]
    pub fn segment_id(&self) -> &str {
        self.segment_id.as_str()
    }

    /// Every trace this segment belongs to, the reported one first (upstream's
    /// `segment.related_traces`).
    #[must_use]
    pub fn related_traces(&self) -> Vec<String> {
        std::iter::once(self.trace_id()).chain(self.more_traces.iter().map(String::as_str)).map(str::to_owned).collect()
    }

    /// Takes the next span id, or `None` once the span limit is reached (the segment is
    /// then marked size-limited and the caller hands out a no-op span).
    pub fn next_span_id(&mut self) -> Option<i32> {
        if usize::try_from(self.next_span_id).unwrap_or(usize::MAX) >= self.span_limit {
            self.size_limited = true;
            return None;
        }
        let id = self.next_span_id;
        self.next_span_id += 1;
        Some(id)
    }

    /// Joins the trace of a caller: the first relation replaces the generated id (so the
    /// whole distributed trace shares one id), later ones are appended.
    pub fn relate(&mut self, trace_id: &str) {
        if trace_id.is_empty() || self.trace_id() == trace_id || self.more_traces.iter().any(|t| t == trace_id) {
            return;
        }
        match self.trace_id {
            TraceId::Joined(_) => self.more_traces.push(trace_id.to_owned()),
            TraceId::Generated(_) => self.trace_id = TraceId::Joined(trace_id.to_owned()),
        }
    }

    /// (trace id, segment id), moved out of a segment that is done with.
    #[must_use]
    pub fn into_ids(self) -> (TraceId, Id) {
        (self.trace_id, self.segment_id)
    }

    /// Records a finished span (encoded now: see the module's documentation).
    pub fn archive(&mut self, span: &SpanData) {
        if self.finished.capacity() == 0 {
            // A span with a few tags takes 100-200 bytes: one allocation for most segments.
            self.finished.reserve(512);
        }
        put_archived_span(span, &mut self.finished);
        self.finished_count += 1;
    }

    /// Number of spans finished so far.
    #[must_use]
    pub fn finished_len(&self) -> usize {
        self.finished_count
    }

    /// Appends the segment in wire form to `buf` (see [`crate::encoded`] for why here),
    /// with `last`, the span whose end finishes it, after the archived spans: that span
    /// need not be moved into the segment (and copied back for the caller, who may still
    /// read it).
    pub fn encode(&self, last: Option<&SpanData>, service: &str, service_instance: &str, buf: &mut Vec<u8>) {
        let parts = SegmentParts {
            trace_id: self.trace_id(),
            segment_id: self.segment_id(),
            spans: &self.finished,
            last,
            service,
            service_instance,
            is_size_limited: self.size_limited,
        };
        encode_segment(&parts, buf);
    }
}

/// Sets a tag: an overridable tag replaces an earlier one with the same key, a
/// non-overridable one (`db.sql.parameters`) is appended. A key that is a constant of
/// [`crate::tags`] is best given as one (borrowed, not allocated).
pub fn set_tag(span: &mut SpanData, key: impl Into<TagKey>, value: String, overridable: bool) {
    let key = key.into();
    if overridable {
        if let Some(existing) = span.tags.iter_mut().find(|t| t.key == key) {
            existing.value = value;
            return;
        }
    }
    span.tags.push(Tag { key, value });
}

/// Appends a span log made of key/value pairs.
pub fn add_log(span: &mut SpanData, time_ms: i64, data: Vec<(String, String)>) {
    span.logs.push(Log {
        time: time_ms,
        data: data.into_iter().map(|(key, value)| KeyStringValuePair { key, value }).collect(),
    });
}

/// The reference an entry span records for a caller that sent `sw8`.
#[must_use]
pub fn cross_process_ref(sw8: Sw8) -> SegmentReference {
    SegmentReference {
        ref_type: RefType::CrossProcess as i32,
        trace_id: sw8.trace_id,
        parent_trace_segment_id: sw8.parent_segment_id,
        parent_span_id: sw8.parent_span_id,
        parent_service: sw8.parent_service,
        parent_service_instance: sw8.parent_service_instance,
        parent_endpoint: sw8.parent_endpoint,
        network_address_used_at_peer: sw8.address_used_at_client,
    }
}

/// Adds `reference` unless an identical one is already there (upstream de-duplicates).
pub fn add_ref(span: &mut SpanData, reference: SegmentReference) {
    if !span.refs.contains(&reference) {
        span.refs.push(reference);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost::Message;
    use sw_proto::v3::SegmentObject;

    fn decode(segment: &Segment, last: Option<&SpanData>) -> SegmentObject {
        let mut buf = Vec::new();
        segment.encode(last, "svc", "inst", &mut buf);
        SegmentObject::decode(buf.as_slice()).unwrap()
    }

    #[test]
    fn span_ids_start_at_zero_and_stop_at_the_limit() {
        let mut segment = Segment::new(3);
        assert_eq!(segment.next_span_id(), Some(0));
        assert_eq!(segment.next_span_id(), Some(1));
        assert_eq!(segment.next_span_id(), Some(2));
        assert!(!segment.size_limited);
        assert_eq!(segment.next_span_id(), None);
        assert!(segment.size_limited);
        assert!(decode(&segment, None).is_size_limited);
    }

    #[test]
    fn first_relation_replaces_the_generated_trace_id() {
        let mut segment = Segment::new(DEFAULT_SPAN_LIMIT);
        let generated = segment.trace_id().to_owned();
        assert_eq!(generated.len(), 32);
        segment.relate("caller-trace");
        assert_eq!(segment.trace_id(), "caller-trace");
        segment.relate("other-trace");
        segment.relate("caller-trace");
        assert_eq!(segment.related_traces(), vec!["caller-trace", "other-trace"]);
        assert_eq!(segment.into_ids().0.as_str(), "caller-trace");
    }

    #[test]
    fn tags_override_unless_repeatable() {
        let mut span = SpanData::default();
        // A borrowed key and an owned one with the same text are the same key.
        set_tag(&mut span, crate::tags::HTTP_STATUS_CODE, "200".into(), true);
        set_tag(&mut span, "http.status_code".to_owned(), "500".into(), true);
        set_tag(&mut span, "db.sql.parameters", "[1]".into(), false);
        set_tag(&mut span, "db.sql.parameters".to_owned(), "[2]".into(), false);
        let pairs = span.tag_pairs();
        assert_eq!(
            pairs,
            vec![("http.status_code", "500"), ("db.sql.parameters", "[1]"), ("db.sql.parameters", "[2]")]
        );
    }

    #[test]
    fn segment_keeps_spans_in_finish_order_and_encodes() {
        let mut segment = Segment::new(DEFAULT_SPAN_LIMIT);
        let root = segment.next_span_id().unwrap();
        let child = segment.next_span_id().unwrap();
        segment.archive(&SpanData { span_id: child, parent_span_id: root, ..Default::default() });
        segment.archive(&SpanData { span_id: root, parent_span_id: -1, ..Default::default() });
        let id = segment.segment_id().to_owned();
        let decoded = decode(&segment, None);
        assert_eq!(decoded.trace_segment_id, id);
        assert_eq!((decoded.service.as_str(), decoded.service_instance.as_str()), ("svc", "inst"));
        assert_eq!(decoded.spans.iter().map(|s| s.span_id).collect::<Vec<_>>(), vec![1, 0]);
        assert_eq!(decoded.spans[1].parent_span_id, -1);
    }

    #[test]
    fn the_finishing_span_is_encoded_last_without_being_archived() {
        let mut segment = Segment::new(DEFAULT_SPAN_LIMIT);
        let root = segment.next_span_id().unwrap();
        let child = segment.next_span_id().unwrap();
        segment.archive(&SpanData { span_id: child, parent_span_id: root, ..Default::default() });
        let last = SpanData { span_id: root, parent_span_id: -1, operation_name: "/root".into(), ..Default::default() };
        let decoded = decode(&segment, Some(&last));
        assert_eq!(decoded.spans.iter().map(|s| s.span_id).collect::<Vec<_>>(), vec![1, 0]);
        assert_eq!(decoded.spans[1], last.to_proto());
        assert_eq!(segment.finished_len(), 1);
    }

    #[test]
    fn duplicate_refs_are_recorded_once() {
        let mut span = SpanData::default();
        let reference = SegmentReference { trace_id: "t".into(), ..Default::default() };
        add_ref(&mut span, reference.clone());
        add_ref(&mut span, reference);
        assert_eq!(span.refs.len(), 1);
    }
}
