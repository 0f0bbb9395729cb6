//! Builders for realistic protocol messages shared by the `validate_*` tests.
//!
//! The scenario mirrors a Python plugin test: service `consumer` handles
//! `GET /users` and calls `provider`, which handles `/users` itself.

#![allow(dead_code)] // each test file uses a different subset

use sw_collector::validate::{validate, ActualData, Semantics, ValidationError};
use sw_proto::v3::{
    log_data_body, meter_data, KeyStringValuePair, Label, Log, LogData, LogDataBody, LogTags, MeterBucketValue,
    MeterData, MeterHistogram, MeterSingleValue, RefType, SegmentObject, SegmentReference, SpanLayer, SpanObject,
    SpanType, TextLog, TraceContext,
};

pub const TRACE_ID: &str = "trace-1";
pub const CONSUMER_SEGMENT: &str = "consumer-seg-1";
pub const PROVIDER_SEGMENT: &str = "provider-seg-1";

pub fn kv(key: &str, value: &str) -> KeyStringValuePair {
    KeyStringValuePair { key: key.to_owned(), value: value.to_owned() }
}

/// A span with the fields every test sets; the rest default.
pub fn span(
    span_id: i32,
    parent_span_id: i32,
    operation: &str,
    span_type: SpanType,
    layer: SpanLayer,
    component_id: i32,
) -> SpanObject {
    SpanObject {
        span_id,
        parent_span_id,
        start_time: 1_700_000_000_000 + i64::from(span_id),
        end_time: 1_700_000_000_100 + i64::from(span_id),
        operation_name: operation.to_owned(),
        span_type: span_type as i32,
        span_layer: layer as i32,
        component_id,
        ..SpanObject::default()
    }
}

pub fn segment(service: &str, segment_id: &str, spans: Vec<SpanObject>) -> SegmentObject {
    SegmentObject {
        trace_id: TRACE_ID.to_owned(),
        trace_segment_id: segment_id.to_owned(),
        spans,
        service: service.to_owned(),
        service_instance: format!("{service}-instance"),
        is_size_limited: false,
    }
}

pub fn cross_process_ref(parent_service: &str, parent_segment: &str, parent_span_id: i32) -> SegmentReference {
    SegmentReference {
        ref_type: RefType::CrossProcess as i32,
        trace_id: TRACE_ID.to_owned(),
        parent_trace_segment_id: parent_segment.to_owned(),
        parent_span_id,
        parent_service: parent_service.to_owned(),
        parent_service_instance: format!("{parent_service}-instance"),
        parent_endpoint: "/users".to_owned(),
        network_address_used_at_peer: "provider:9091".to_owned(),
    }
}

fn http_tags(method: &str, url: &str, status: &str) -> Vec<KeyStringValuePair> {
    vec![kv("http.method", method), kv("http.url", url), kv("http.status_code", status)]
}

/// consumer: exit span (finished first, so listed first) then entry span.
pub fn consumer_segment() -> SegmentObject {
    let mut exit = span(1, 0, "/users", SpanType::Exit, SpanLayer::Http, 7002);
    exit.peer = "provider:9091".to_owned();
    exit.tags = http_tags("POST", "http://provider:9091/users", "200");
    let mut entry = span(0, -1, "/users", SpanType::Entry, SpanLayer::Http, 7001);
    entry.peer = "127.0.0.1:50000".to_owned();
    entry.tags = http_tags("GET", "http://0.0.0.0:9090/users", "200");
    segment("consumer", CONSUMER_SEGMENT, vec![exit, entry])
}

/// provider: one entry span with a cross-process ref to the consumer's exit span.
pub fn provider_segment() -> SegmentObject {
    let mut entry = span(0, -1, "/users", SpanType::Entry, SpanLayer::Http, 7001);
    entry.peer = "consumer:50001".to_owned();
    entry.tags = http_tags("POST", "http://provider:9091/users", "200");
    entry.refs = vec![cross_process_ref("consumer", CONSUMER_SEGMENT, 1)];
    segment("provider", PROVIDER_SEGMENT, vec![entry])
}

/// A provider segment whose entry span failed and logged the exception.
pub fn failing_provider_segment(segment_id: &str) -> SegmentObject {
    let mut seg = provider_segment();
    seg.trace_segment_id = segment_id.to_owned();
    if let Some(entry) = seg.spans.first_mut() {
        entry.is_error = true;
        entry.tags = http_tags("POST", "http://provider:9091/users", "500");
        entry.logs = vec![Log {
            time: 1_700_000_000_050,
            data: vec![
                kv("event", "error"),
                kv("error.kind", "ValueError"),
                kv("message", "boom"),
                kv("stack", "Traceback (most recent call last):\n  File \"app.py\", line 3\nValueError: boom"),
            ],
        }];
    }
    seg
}

pub fn scenario() -> ActualData {
    ActualData::build(&[consumer_segment(), provider_segment()], &[], &[])
}

pub fn single(service: &str, name: &str, labels: &[(&str, &str)], value: f64) -> (String, MeterData) {
    (
        service.to_owned(),
        MeterData {
            service: service.to_owned(),
            service_instance: format!("{service}-instance"),
            timestamp: 1_700_000_000_000,
            metric: Some(meter_data::Metric::SingleValue(MeterSingleValue {
                name: name.to_owned(),
                labels: labels_of(labels),
                value,
            })),
        },
    )
}

pub fn histogram(service: &str, name: &str, buckets: &[(f64, i64)]) -> (String, MeterData) {
    (
        service.to_owned(),
        MeterData {
            service: service.to_owned(),
            service_instance: format!("{service}-instance"),
            timestamp: 1_700_000_000_000,
            metric: Some(meter_data::Metric::Histogram(MeterHistogram {
                name: name.to_owned(),
                labels: Vec::new(),
                values: buckets
                    .iter()
                    .map(|(bucket, count)| MeterBucketValue {
                        bucket: *bucket,
                        count: *count,
                        is_negative_infinity: false,
                    })
                    .collect(),
            })),
        },
    )
}

fn labels_of(labels: &[(&str, &str)]) -> Vec<Label> {
    labels.iter().map(|(n, v)| Label { name: (*n).to_owned(), value: (*v).to_owned() }).collect()
}

pub fn text_log(service: &str, endpoint: &str, text: &str) -> LogData {
    LogData {
        timestamp: 1_700_000_000_000,
        service: service.to_owned(),
        service_instance: format!("{service}-instance"),
        endpoint: endpoint.to_owned(),
        body: Some(LogDataBody {
            r#type: "text".to_owned(),
            content: Some(log_data_body::Content::Text(TextLog { text: text.to_owned() })),
        }),
        trace_context: Some(TraceContext {
            trace_id: TRACE_ID.to_owned(),
            trace_segment_id: PROVIDER_SEGMENT.to_owned(),
            span_id: 0,
        }),
        tags: Some(LogTags { data: vec![kv("level", "ERROR"), kv("logger", "app")] }),
        layer: String::new(),
    }
}

/// Validates with the default (7f20775) semantics.
pub fn check(expected: &str, actual: &ActualData) -> Result<(), ValidationError> {
    validate(expected, actual, Semantics::Legacy)
}

/// Asserts failure and returns the message, so tests can check it names
/// the right place.
pub fn fails(expected: &str, actual: &ActualData, semantics: Semantics) -> String {
    match validate(expected, actual, semantics) {
        Ok(()) => panic!("expected a validation failure for:\n{expected}"),
        Err(e) => e.to_string(),
    }
}

/// Asserts the message contains every fragment, printing it otherwise.
pub fn assert_mentions(message: &str, fragments: &[&str]) {
    for f in fragments {
        assert!(message.contains(f), "message does not mention {f:?}:\n{message}");
    }
}
