//! The JSON query API's answers, computed from the store: services, instances, endpoints,
//! traces (all segments sharing a trace id), logs and meters.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;
use sw_proto::v3::{
    log_data_body, meter_data, KeyStringValuePair, LogData, RefType, SegmentObject, SegmentReference, SpanLayer,
    SpanObject, SpanType,
};

use crate::store::Data;

/// Most items one list answer carries, whatever `limit` asks.
pub const MAX_LIMIT: usize = 10_000;

/// A key/value pair (span tag, log datum, instance property, log tag).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KeyValue {
    /// Key.
    pub key: String,
    /// Value.
    pub value: String,
}

impl From<&KeyStringValuePair> for KeyValue {
    fn from(kv: &KeyStringValuePair) -> Self {
        Self { key: kv.key.clone(), value: kv.value.clone() }
    }
}

fn pairs(kvs: &[KeyStringValuePair]) -> Vec<KeyValue> {
    kvs.iter().map(Into::into).collect()
}

/// One service and how much the store holds for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceView {
    /// Service name.
    pub name: String,
    /// Instances seen (from segments, logs, meters, properties or pings).
    pub instances: usize,
    /// Segments held.
    pub segments: usize,
    /// Log records held.
    pub logs: usize,
    /// Meter values held.
    pub meters: usize,
}

#[derive(Default)]
struct ServiceTally<'a> {
    instances: std::collections::BTreeSet<&'a str>,
    segments: usize,
    logs: usize,
    meters: usize,
}

/// Every service the store knows of, by name.
pub fn services(d: &Data<'_>) -> Vec<ServiceView> {
    let mut all: BTreeMap<&str, ServiceTally<'_>> = BTreeMap::new();
    for s in d.segments {
        let t = all.entry(&s.service).or_default();
        t.segments += 1;
        t.instances.insert(&s.service_instance);
    }
    for l in d.logs {
        let t = all.entry(&l.service).or_default();
        t.logs += 1;
        t.instances.insert(&l.service_instance);
    }
    for (service, m) in d.meters {
        let t = all.entry(service).or_default();
        t.meters += 1;
        t.instances.insert(&m.service_instance);
    }
    for (service, instance) in d.instances.keys() {
        all.entry(service).or_default().instances.insert(instance);
    }
    all.into_iter()
        .map(|(name, t)| ServiceView {
            name: name.to_owned(),
            instances: t.instances.iter().filter(|i| !i.is_empty()).count(),
            segments: t.segments,
            logs: t.logs,
            meters: t.meters,
        })
        .collect()
}

/// One service instance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InstanceView {
    /// Service name.
    pub service: String,
    /// Instance name.
    pub name: String,
    /// Layer from the latest report or ping.
    pub layer: String,
    /// Properties from the latest report.
    pub properties: Vec<KeyValue>,
    /// When properties were last reported, epoch ms.
    pub properties_time: Option<i64>,
    /// When the last keepAlive arrived, epoch ms.
    pub last_keep_alive: Option<i64>,
    /// keepAlive pings received.
    pub keep_alive_count: u64,
    /// Segments held from this instance.
    pub segments: usize,
}

/// Instances, optionally of one service, sorted by service then name.
pub fn instances(d: &Data<'_>, service: Option<&str>) -> Vec<InstanceView> {
    let wanted = |s: &str| service.is_none_or(|w| w == s);
    let mut all: BTreeMap<(String, String), InstanceView> = BTreeMap::new();
    for r in d.instances.values().filter(|r| wanted(&r.service)) {
        all.insert(
            (r.service.clone(), r.instance.clone()),
            InstanceView {
                service: r.service.clone(),
                name: r.instance.clone(),
                layer: r.layer.clone(),
                properties: r.properties.iter().map(|(k, v)| KeyValue { key: k.clone(), value: v.clone() }).collect(),
                properties_time: r.properties_time,
                last_keep_alive: r.last_keep_alive,
                keep_alive_count: r.keep_alive_count,
                segments: 0,
            },
        );
    }
    for s in d.segments.iter().filter(|s| wanted(&s.service)) {
        if s.service_instance.is_empty() {
            continue;
        }
        all.entry((s.service.clone(), s.service_instance.clone()))
            .or_insert_with(|| InstanceView {
                service: s.service.clone(),
                name: s.service_instance.clone(),
                layer: String::new(),
                properties: Vec::new(),
                properties_time: None,
                last_keep_alive: None,
                keep_alive_count: 0,
                segments: 0,
            })
            .segments += 1;
    }
    all.into_values().collect()
}

/// One endpoint: the operation name of segments' entry spans.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EndpointView {
    /// Service name.
    pub service: String,
    /// Endpoint name.
    pub name: String,
    /// Segments whose entry span is this endpoint.
    pub segments: usize,
    /// Of those, segments with an error span.
    pub errors: usize,
    /// Longest entry span, ms.
    pub max_duration: i64,
}

/// The name of a segment's endpoint: its first entry span, else its root span.
pub fn entry_endpoint(segment: &SegmentObject) -> Option<&str> {
    segment
        .spans
        .iter()
        .find(|s| s.span_type == SpanType::Entry as i32)
        .or_else(|| segment.spans.iter().find(|s| s.parent_span_id < 0))
        .or(segment.spans.first())
        .map(|s| s.operation_name.as_str())
}

/// Endpoints, optionally of one service, sorted by service then name.
pub fn endpoints(d: &Data<'_>, service: Option<&str>) -> Vec<EndpointView> {
    let mut all: BTreeMap<(&str, &str), EndpointView> = BTreeMap::new();
    for s in d.segments {
        if service.is_some_and(|w| w != s.service) {
            continue;
        }
        let Some(name) = s.spans.iter().find(|span| span.span_type == SpanType::Entry as i32) else {
            continue;
        };
        let view = all.entry((&s.service, &name.operation_name)).or_insert_with(|| EndpointView {
            service: s.service.clone(),
            name: name.operation_name.clone(),
            segments: 0,
            errors: 0,
            max_duration: 0,
        });
        view.segments += 1;
        if s.spans.iter().any(|span| span.is_error) {
            view.errors += 1;
        }
        view.max_duration = view.max_duration.max(name.end_time.saturating_sub(name.start_time));
    }
    all.into_values().collect()
}

/// Filters of `GET /api/traces`; every field is optional.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TraceFilter {
    /// Only traces with a segment of this service.
    pub service: Option<String>,
    /// Only traces whose endpoint is this.
    pub endpoint: Option<String>,
    /// Only traces lasting at least this long, ms.
    pub min_duration: Option<i64>,
    /// Only traces with (true) or without (false) an error span.
    pub error: Option<bool>,
    /// Only traces starting at or after this, epoch ms.
    pub start: Option<i64>,
    /// Only traces starting at or before this, epoch ms.
    pub end: Option<i64>,
    /// At most this many (default 100, at most [`MAX_LIMIT`]).
    pub limit: Option<usize>,
}

/// One trace in a list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TraceSummary {
    /// Trace id.
    pub trace_id: String,
    /// Endpoint of the first segment (the one with no parent, if held).
    pub endpoint: String,
    /// Earliest span start, epoch ms.
    pub start: i64,
    /// Latest span end minus earliest span start, ms.
    pub duration: i64,
    /// Whether any span is an error.
    pub error: bool,
    /// Services taking part, in order of their first segment's start.
    pub services: Vec<String>,
    /// Segments held.
    pub segment_count: usize,
    /// Spans held.
    pub span_count: usize,
}

fn segment_start(s: &SegmentObject) -> i64 {
    s.spans.iter().map(|x| x.start_time).min().unwrap_or(0)
}

fn is_root(s: &SegmentObject) -> bool {
    s.spans.iter().all(|x| x.refs.is_empty())
}

fn summarize(trace_id: &str, mut segments: Vec<&SegmentObject>) -> TraceSummary {
    segments.sort_by_key(|s| segment_start(s));
    let start = segments.iter().map(|s| segment_start(s)).min().unwrap_or(0);
    let end = segments.iter().flat_map(|s| s.spans.iter().map(|x| x.end_time)).max().unwrap_or(start);
    let first = segments.iter().find(|s| is_root(s)).or(segments.first()).copied();
    let mut services: Vec<String> = Vec::new();
    for s in &segments {
        if !services.contains(&s.service) {
            services.push(s.service.clone());
        }
    }
    TraceSummary {
        trace_id: trace_id.to_owned(),
        endpoint: first.and_then(entry_endpoint).unwrap_or_default().to_owned(),
        start,
        duration: end.saturating_sub(start),
        error: segments.iter().any(|s| s.spans.iter().any(|x| x.is_error)),
        services,
        segment_count: segments.len(),
        span_count: segments.iter().map(|s| s.spans.len()).sum(),
    }
}

fn by_trace<'a>(d: &Data<'a>) -> HashMap<&'a str, Vec<&'a SegmentObject>> {
    let mut traces: HashMap<&str, Vec<&SegmentObject>> = HashMap::new();
    for s in d.segments {
        traces.entry(&s.trace_id).or_default().push(s);
    }
    traces
}

/// Traces matching `filter`, newest first.
pub fn traces(d: &Data<'_>, filter: &TraceFilter) -> Vec<TraceSummary> {
    let mut out: Vec<TraceSummary> = by_trace(d)
        .into_iter()
        .filter(|(_, segs)| filter.service.as_ref().is_none_or(|w| segs.iter().any(|s| &s.service == w)))
        .map(|(id, segs)| summarize(id, segs))
        .filter(|t| {
            filter.endpoint.as_ref().is_none_or(|e| &t.endpoint == e)
                && filter.min_duration.is_none_or(|m| t.duration >= m)
                && filter.error.is_none_or(|e| t.error == e)
                && filter.start.is_none_or(|s| t.start >= s)
                && filter.end.is_none_or(|e| t.start <= e)
        })
        .collect();
    out.sort_by(|a, b| b.start.cmp(&a.start).then_with(|| a.trace_id.cmp(&b.trace_id)));
    out.truncate(filter.limit.unwrap_or(100).min(MAX_LIMIT));
    out
}

/// A segment reference, with enum names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RefView {
    /// `CrossProcess` or `CrossThread`.
    pub ref_type: String,
    /// Trace id.
    pub trace_id: String,
    /// Parent segment.
    pub parent_trace_segment_id: String,
    /// Parent span.
    pub parent_span_id: i32,
    /// Parent service.
    pub parent_service: String,
    /// Parent instance.
    pub parent_service_instance: String,
    /// Parent endpoint.
    pub parent_endpoint: String,
    /// Address the caller used.
    pub network_address_used_at_peer: String,
}

/// A span log event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SpanLogView {
    /// Epoch ms.
    pub time: i64,
    /// The event's fields.
    pub data: Vec<KeyValue>,
}

/// A span, with enum names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SpanView {
    /// Span id within its segment.
    pub span_id: i32,
    /// Parent span id (-1 for the root).
    pub parent_span_id: i32,
    /// Epoch ms.
    pub start_time: i64,
    /// Epoch ms.
    pub end_time: i64,
    /// Operation name.
    pub operation_name: String,
    /// Peer address.
    pub peer: String,
    /// `Entry`, `Exit` or `Local`.
    pub span_type: String,
    /// Layer name.
    pub span_layer: String,
    /// Component id.
    pub component_id: i32,
    /// Error flag.
    pub is_error: bool,
    /// skipAnalysis flag.
    pub skip_analysis: bool,
    /// Tags.
    pub tags: Vec<KeyValue>,
    /// Log events.
    pub logs: Vec<SpanLogView>,
    /// References to parent segments.
    pub refs: Vec<RefView>,
}

/// A segment of a trace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SegmentView {
    /// Segment id.
    pub segment_id: String,
    /// Service.
    pub service: String,
    /// Instance.
    pub service_instance: String,
    /// Whether the agent dropped spans of it.
    pub is_size_limited: bool,
    /// Spans in the order sent.
    pub spans: Vec<SpanView>,
}

/// A whole trace: its summary and every segment held, ordered by start.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TraceDetail {
    /// What the list shows for this trace.
    #[serde(flatten)]
    pub summary: TraceSummary,
    /// Segments, earliest first.
    pub segments: Vec<SegmentView>,
}

fn enum_name(value: i32, name: fn(i32) -> Option<&'static str>) -> String {
    name(value).map_or_else(|| value.to_string(), str::to_owned)
}

fn span_type_name(v: i32) -> Option<&'static str> {
    SpanType::try_from(v).ok().map(|e| e.as_str_name())
}

fn span_layer_name(v: i32) -> Option<&'static str> {
    SpanLayer::try_from(v).ok().map(|e| e.as_str_name())
}

fn ref_type_name(v: i32) -> Option<&'static str> {
    RefType::try_from(v).ok().map(|e| e.as_str_name())
}

fn ref_view(r: &SegmentReference) -> RefView {
    RefView {
        ref_type: enum_name(r.ref_type, ref_type_name),
        trace_id: r.trace_id.clone(),
        parent_trace_segment_id: r.parent_trace_segment_id.clone(),
        parent_span_id: r.parent_span_id,
        parent_service: r.parent_service.clone(),
        parent_service_instance: r.parent_service_instance.clone(),
        parent_endpoint: r.parent_endpoint.clone(),
        network_address_used_at_peer: r.network_address_used_at_peer.clone(),
    }
}

fn span_view(s: &SpanObject) -> SpanView {
    SpanView {
        span_id: s.span_id,
        parent_span_id: s.parent_span_id,
        start_time: s.start_time,
        end_time: s.end_time,
        operation_name: s.operation_name.clone(),
        peer: s.peer.clone(),
        span_type: enum_name(s.span_type, span_type_name),
        span_layer: enum_name(s.span_layer, span_layer_name),
        component_id: s.component_id,
        is_error: s.is_error,
        skip_analysis: s.skip_analysis,
        tags: pairs(&s.tags),
        logs: s.logs.iter().map(|l| SpanLogView { time: l.time, data: pairs(&l.data) }).collect(),
        refs: s.refs.iter().map(ref_view).collect(),
    }
}

/// Every held segment of one trace, or `None` when none is held.
pub fn trace(d: &Data<'_>, trace_id: &str) -> Option<TraceDetail> {
    let mut segments: Vec<&SegmentObject> = d.segments.iter().filter(|s| s.trace_id == trace_id).collect();
    if segments.is_empty() {
        return None;
    }
    segments.sort_by_key(|s| segment_start(s));
    Some(TraceDetail {
        summary: summarize(trace_id, segments.clone()),
        segments: segments
            .into_iter()
            .map(|s| SegmentView {
                segment_id: s.trace_segment_id.clone(),
                service: s.service.clone(),
                service_instance: s.service_instance.clone(),
                is_size_limited: s.is_size_limited,
                spans: s.spans.iter().map(span_view).collect(),
            })
            .collect(),
    })
}

/// A log record's trace context.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TraceContextView {
    /// Trace id.
    pub trace_id: String,
    /// Segment id.
    pub trace_segment_id: String,
    /// Span id.
    pub span_id: i32,
}

/// A log record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LogView {
    /// Epoch ms.
    pub timestamp: i64,
    /// Service.
    pub service: String,
    /// Instance.
    pub service_instance: String,
    /// Endpoint.
    pub endpoint: String,
    /// Layer.
    pub layer: String,
    /// The body's `type` (analyzer selector).
    pub body_type: String,
    /// `text`, `json`, `yaml` or empty when the body has no content.
    pub content_type: String,
    /// The body's content.
    pub content: String,
    /// Trace context, if the log was written inside a trace.
    pub trace_context: Option<TraceContextView>,
    /// Tags (e.g. `level`, `logger`, `thread`).
    pub tags: Vec<KeyValue>,
}

fn log_view(l: &LogData) -> LogView {
    let body = l.body.as_ref();
    let (content_type, content) = match body.and_then(|b| b.content.as_ref()) {
        Some(log_data_body::Content::Text(t)) => ("text", t.text.clone()),
        Some(log_data_body::Content::Json(t)) => ("json", t.json.clone()),
        Some(log_data_body::Content::Yaml(t)) => ("yaml", t.yaml.clone()),
        None => ("", String::new()),
    };
    LogView {
        timestamp: l.timestamp,
        service: l.service.clone(),
        service_instance: l.service_instance.clone(),
        endpoint: l.endpoint.clone(),
        layer: l.layer.clone(),
        body_type: body.map(|b| b.r#type.clone()).unwrap_or_default(),
        content_type: content_type.to_owned(),
        content,
        trace_context: l.trace_context.as_ref().map(|t| TraceContextView {
            trace_id: t.trace_id.clone(),
            trace_segment_id: t.trace_segment_id.clone(),
            span_id: t.span_id,
        }),
        tags: l.tags.as_ref().map(|t| pairs(&t.data)).unwrap_or_default(),
    }
}

/// Logs, optionally of one trace and/or service, newest first, at most `limit`
/// (default 500, at most [`MAX_LIMIT`]).
pub fn logs(d: &Data<'_>, trace_id: Option<&str>, service: Option<&str>, limit: Option<usize>) -> Vec<LogView> {
    d.logs
        .iter()
        .rev()
        .filter(|l| service.is_none_or(|s| s == l.service))
        .filter(|l| trace_id.is_none_or(|t| l.trace_context.as_ref().is_some_and(|c| c.trace_id == t)))
        .take(limit.unwrap_or(500).min(MAX_LIMIT))
        .map(log_view)
        .collect()
}

/// A meter label.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LabelView {
    /// Label name.
    pub name: String,
    /// Label value.
    pub value: String,
}

/// A histogram bucket.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BucketView {
    /// Lower bound.
    pub bucket: f64,
    /// Count.
    pub count: i64,
    /// Whether the lower bound is negative infinity.
    pub is_negative_infinity: bool,
}

/// The latest value of one meter (service + name + labels).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MeterView {
    /// Service.
    pub service: String,
    /// Instance of the latest value.
    pub service_instance: String,
    /// Timestamp of the latest value, epoch ms.
    pub timestamp: i64,
    /// Meter name.
    pub name: String,
    /// Labels in the order sent.
    pub labels: Vec<LabelView>,
    /// `singleValue` or `histogram`.
    pub kind: &'static str,
    /// The value, for a single-value meter.
    pub value: Option<f64>,
    /// The buckets, for a histogram.
    pub buckets: Option<Vec<BucketView>>,
    /// How many values were held for this meter.
    pub reports: usize,
}

/// (service, meter name, labels): what identifies one meter.
type MeterKey = (String, String, Vec<(String, String)>);

/// The latest value of every meter, optionally of one service, sorted by service then name.
pub fn meters(d: &Data<'_>, service: Option<&str>) -> Vec<MeterView> {
    let mut latest: BTreeMap<MeterKey, MeterView> = BTreeMap::new();
    for (svc, m) in d.meters {
        if service.is_some_and(|w| w != svc) {
            continue;
        }
        let (name, labels, kind, value, buckets) = match &m.metric {
            Some(meter_data::Metric::SingleValue(v)) => (&v.name, &v.labels, "singleValue", Some(v.value), None),
            Some(meter_data::Metric::Histogram(h)) => (
                &h.name,
                &h.labels,
                "histogram",
                None,
                Some(
                    h.values
                        .iter()
                        .map(|b| BucketView {
                            bucket: b.bucket,
                            count: b.count,
                            is_negative_infinity: b.is_negative_infinity,
                        })
                        .collect(),
                ),
            ),
            None => continue,
        };
        let label_key: Vec<(String, String)> = labels.iter().map(|l| (l.name.clone(), l.value.clone())).collect();
        let key = (svc.clone(), name.clone(), label_key);
        let reports = latest.get(&key).map_or(0, |v| v.reports) + 1;
        latest.insert(
            key,
            MeterView {
                service: svc.clone(),
                service_instance: m.service_instance.clone(),
                timestamp: m.timestamp,
                name: name.clone(),
                labels: labels.iter().map(|l| LabelView { name: l.name.clone(), value: l.value.clone() }).collect(),
                kind,
                value,
                buckets,
                reports,
            },
        );
    }
    latest.into_values().collect()
}
