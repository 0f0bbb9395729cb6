//! The recorded data as the mock collector models it (`GET /receiveData`),
//! built from protocol messages.

use sw_proto::v3::{
    log_data_body, meter_data, KeyStringValuePair, Label, LogData, MeterData, RefType, SegmentObject, SegmentReference,
    SpanLayer, SpanObject, SpanType,
};

/// Everything recorded, grouped the way the reference mock collector groups it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ActualData {
    /// Segments per service, services in order of first appearance.
    pub segment_items: Vec<SegmentItem>,
    /// Meters per service, services in order of first appearance.
    pub meter_items: Vec<MeterItem>,
    /// Logs per service, services in order of first appearance.
    pub log_items: Vec<LogItem>,
}

/// All segments one service reported, in arrival order.
#[derive(Debug, Clone, PartialEq)]
pub struct SegmentItem {
    /// `SegmentObject.service`.
    pub service_name: String,
    /// Arrival order; duplicates are kept.
    pub segments: Vec<Segment>,
}

/// One recorded segment.
#[derive(Debug, Clone, PartialEq)]
pub struct Segment {
    /// `traceSegmentId`.
    pub segment_id: String,
    /// Spans in the order of the `SegmentObject`.
    pub spans: Vec<Span>,
}

/// One span, enum fields already turned into their names.
#[derive(Debug, Clone, PartialEq)]
pub struct Span {
    /// `operationName`.
    pub operation_name: String,
    /// `parentSpanId` (-1 for the root).
    pub parent_span_id: i32,
    /// `spanId`.
    pub span_id: i32,
    /// Enum name (`Http`, `RPCFramework`, ...) or the number if unknown.
    pub span_layer: String,
    /// Epoch milliseconds.
    pub start_time: i64,
    /// Epoch milliseconds.
    pub end_time: i64,
    /// `componentId`.
    pub component_id: i32,
    /// `isError`.
    pub is_error: bool,
    /// Enum name (`Entry`, `Exit`, `Local`) or the number if unknown.
    pub span_type: String,
    /// `peer`.
    pub peer: String,
    /// `skipAnalysis`.
    pub skip_analysis: bool,
    /// Tags in order.
    pub tags: Vec<KeyValue>,
    /// One entry per span log: its key/value pairs in order.
    pub logs: Vec<Vec<KeyValue>>,
    /// Segment references in order.
    pub refs: Vec<SegmentRef>,
}

/// A key/value pair (span tag, span log field, log tag).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyValue {
    /// Key.
    pub key: String,
    /// Value.
    pub value: String,
}

/// A segment reference as the validator sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct SegmentRef {
    /// `parentEndpoint`.
    pub parent_endpoint: String,
    /// `networkAddressUsedAtPeer`, named `networkAddress` in the YAML.
    pub network_address: String,
    /// `CrossProcess` / `CrossThread`, or the number if unknown.
    pub ref_type: String,
    /// `parentSpanId`.
    pub parent_span_id: i32,
    /// `parentTraceSegmentId`.
    pub parent_trace_segment_id: String,
    /// `parentServiceInstance`.
    pub parent_service_instance: String,
    /// `parentService`.
    pub parent_service: String,
    /// `traceId`.
    pub trace_id: String,
}

/// Distinct meters of one service.
#[derive(Debug, Clone, PartialEq)]
pub struct MeterItem {
    /// The service the caller attributed the meters to.
    pub service_name: String,
    /// One entry per (name, labels); the latest value wins.
    pub meters: Vec<Meter>,
}

/// One meter and its latest value.
#[derive(Debug, Clone, PartialEq)]
pub struct Meter {
    /// Meter name.
    pub name: String,
    /// Labels in the order they were sent (order is part of the identity).
    pub tags: Vec<MeterTag>,
    /// Latest value.
    pub value: MeterValue,
}

/// A meter label.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MeterTag {
    /// Label name.
    pub name: String,
    /// Label value.
    pub value: String,
}

/// The value of a meter.
#[derive(Debug, Clone, PartialEq)]
pub enum MeterValue {
    /// `MeterSingleValue.value`.
    Single(f64),
    /// Bucket lower bounds and their counts (`isNegativeInfinity` is dropped,
    /// as the reference collector drops it).
    Histogram {
        /// Bucket lower bounds.
        buckets: Vec<f64>,
        /// Counts, same length as `buckets`.
        counts: Vec<i64>,
    },
}

/// All logs one service reported, in arrival order.
#[derive(Debug, Clone, PartialEq)]
pub struct LogItem {
    /// `LogData.service` of each log itself (no carry-over between elements).
    pub service_name: String,
    /// Arrival order.
    pub logs: Vec<Log>,
}

/// One recorded log. Absent sub-messages become their default values, as
/// protobuf-java getters return them.
#[derive(Debug, Clone, PartialEq)]
pub struct Log {
    /// Epoch milliseconds.
    pub timestamp: i64,
    /// `endpoint`.
    pub endpoint: String,
    /// `body.type`.
    pub body_type: String,
    /// `body.content`, absent when none of text/json/yaml was set.
    pub content: Option<LogContent>,
    /// `traceContext` (defaults when the log had none).
    pub trace_context: TraceContext,
    /// `tags.data` in order.
    pub tags: Vec<KeyValue>,
    /// `layer`.
    pub layer: String,
}

/// The body content of a log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogContent {
    /// `text`.
    Text(String),
    /// `json`.
    Json(String),
    /// `yaml`.
    Yaml(String),
}

impl LogContent {
    /// The YAML key (`text`, `json`, `yaml`) and the content.
    pub fn key_and_value(&self) -> (&'static str, &str) {
        match self {
            LogContent::Text(t) => ("text", t),
            LogContent::Json(j) => ("json", j),
            LogContent::Yaml(y) => ("yaml", y),
        }
    }
}

/// The trace context of a log.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TraceContext {
    /// `traceId`.
    pub trace_id: String,
    /// `traceSegmentId`.
    pub trace_segment_id: String,
    /// `spanId`.
    pub span_id: i32,
}

impl ActualData {
    /// Groups recorded messages like the reference mock collector.
    ///
    /// * `segments`: grouped by `SegmentObject.service`, arrival order kept.
    ///   Nothing is dropped here: the gRPC receiver of the reference tool
    ///   ignores segments without spans but its HTTP receiver keeps them, so
    ///   the caller filters (`segment.spans.is_empty()`) where appropriate.
    /// * `meters`: `(service, data)`; the caller resolves the service (the
    ///   reference tool carries the last non-empty `MeterData.service` over
    ///   within one stream). Keyed by (name, labels in order); a later value
    ///   replaces an earlier one in place. Data without a metric is ignored.
    /// * `logs`: grouped by each `LogData.service`, arrival order kept.
    pub fn build(segments: &[SegmentObject], meters: &[(String, MeterData)], logs: &[LogData]) -> ActualData {
        let mut data = ActualData::default();
        for segment in segments {
            let item = entry(&mut data.segment_items, &segment.service, |service| SegmentItem {
                service_name: service.to_owned(),
                segments: Vec::new(),
            });
            item.segments.push(convert_segment(segment));
        }
        for (service, meter) in meters {
            let Some(meter) = convert_meter(meter) else {
                continue;
            };
            let item = entry(&mut data.meter_items, service, |service| MeterItem {
                service_name: service.to_owned(),
                meters: Vec::new(),
            });
            match item.meters.iter_mut().find(|m| m.name == meter.name && m.tags == meter.tags) {
                Some(existing) => existing.value = meter.value,
                None => item.meters.push(meter),
            }
        }
        for log in logs {
            let item = entry(&mut data.log_items, &log.service, |service| LogItem {
                service_name: service.to_owned(),
                logs: Vec::new(),
            });
            item.logs.push(convert_log(log));
        }
        data
    }
}

/// Items with a service name, so one lookup helper serves all three lists.
trait ByService {
    fn service(&self) -> &str;
}

impl ByService for SegmentItem {
    fn service(&self) -> &str {
        &self.service_name
    }
}

impl ByService for MeterItem {
    fn service(&self) -> &str {
        &self.service_name
    }
}

impl ByService for LogItem {
    fn service(&self) -> &str {
        &self.service_name
    }
}

fn entry<'a, T: ByService>(items: &'a mut Vec<T>, service: &str, create: impl FnOnce(&str) -> T) -> &'a mut T {
    let position = match items.iter().position(|i| i.service() == service) {
        Some(p) => p,
        None => {
            items.push(create(service));
            items.len() - 1
        }
    };
    &mut items[position]
}

fn convert_segment(segment: &SegmentObject) -> Segment {
    Segment { segment_id: segment.trace_segment_id.clone(), spans: segment.spans.iter().map(convert_span).collect() }
}

fn convert_span(span: &SpanObject) -> Span {
    Span {
        operation_name: span.operation_name.clone(),
        parent_span_id: span.parent_span_id,
        span_id: span.span_id,
        span_layer: SpanLayer::try_from(span.span_layer)
            .map(|l| l.as_str_name().to_owned())
            .unwrap_or_else(|_| span.span_layer.to_string()),
        start_time: span.start_time,
        end_time: span.end_time,
        component_id: span.component_id,
        is_error: span.is_error,
        span_type: SpanType::try_from(span.span_type)
            .map(|t| t.as_str_name().to_owned())
            .unwrap_or_else(|_| span.span_type.to_string()),
        peer: span.peer.clone(),
        skip_analysis: span.skip_analysis,
        tags: span.tags.iter().map(convert_pair).collect(),
        logs: span.logs.iter().map(|log| log.data.iter().map(convert_pair).collect()).collect(),
        refs: span.refs.iter().map(convert_ref).collect(),
    }
}

fn convert_pair(pair: &KeyStringValuePair) -> KeyValue {
    KeyValue { key: pair.key.clone(), value: pair.value.clone() }
}

fn convert_ref(reference: &SegmentReference) -> SegmentRef {
    SegmentRef {
        parent_endpoint: reference.parent_endpoint.clone(),
        network_address: reference.network_address_used_at_peer.clone(),
        ref_type: RefType::try_from(reference.ref_type)
            .map(|t| t.as_str_name().to_owned())
            .unwrap_or_else(|_| reference.ref_type.to_string()),
        parent_span_id: reference.parent_span_id,
        parent_trace_segment_id: reference.parent_trace_segment_id.clone(),
        parent_service_instance: reference.parent_service_instance.clone(),
        parent_service: reference.parent_service.clone(),
        trace_id: reference.trace_id.clone(),
    }
}

fn convert_labels(labels: &[Label]) -> Vec<MeterTag> {
    labels.iter().map(|l| MeterTag { name: l.name.clone(), value: l.value.clone() }).collect()
}

fn convert_meter(meter: &MeterData) -> Option<Meter> {
    match meter.metric.as_ref()? {
        meter_data::Metric::SingleValue(single) => Some(Meter {
            name: single.name.clone(),
            tags: convert_labels(&single.labels),
            value: MeterValue::Single(single.value),
        }),
        meter_data::Metric::Histogram(histogram) => Some(Meter {
            name: histogram.name.clone(),
            tags: convert_labels(&histogram.labels),
            value: MeterValue::Histogram {
                buckets: histogram.values.iter().map(|b| b.bucket).collect(),
                counts: histogram.values.iter().map(|b| b.count).collect(),
            },
        }),
    }
}

fn convert_log(log: &LogData) -> Log {
    let body = log.body.as_ref();
    let content = body.and_then(|b| b.content.as_ref()).map(|content| match content {
        log_data_body::Content::Text(t) => LogContent::Text(t.text.clone()),
        log_data_body::Content::Json(j) => LogContent::Json(j.json.clone()),
        log_data_body::Content::Yaml(y) => LogContent::Yaml(y.yaml.clone()),
    });
    let trace_context = log
        .trace_context
        .as_ref()
        .map(|c| TraceContext {
            trace_id: c.trace_id.clone(),
            trace_segment_id: c.trace_segment_id.clone(),
            span_id: c.span_id,
        })
        .unwrap_or_default();
    Log {
        timestamp: log.timestamp,
        endpoint: log.endpoint.clone(),
        body_type: body.map(|b| b.r#type.clone()).unwrap_or_default(),
        content,
        trace_context,
        tags: log.tags.as_ref().map(|t| t.data.iter().map(convert_pair).collect()).unwrap_or_default(),
        layer: log.layer.clone(),
    }
}
