//! The protobuf-JSON form of the messages agents send over HTTP, mapped by hand.
//!
//! Protobuf's JSON mapping uses the `.proto` field names (lowerCamelCase here), enums by name
//! (numbers are accepted too), 64-bit integers as strings or numbers, `null` as "not set", and
//! ignores unknown fields. A serde derive on the prost structs would use Rust's snake_case
//! names instead, so every message has a mirror struct here with explicit names and a
//! conversion into the prost type.

use std::collections::HashMap;
use std::fmt;

use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;
use sw_proto::v3::{
    log_data_body, Event, InstancePingPkg, InstanceProperties, JsonLog, KeyStringValuePair, Log, LogData, LogDataBody,
    LogTags, RefType, SegmentObject, SegmentReference, Source, SpanLayer, SpanObject, SpanType, TextLog, TraceContext,
    Type as EventType, YamlLog,
};

/// Why a JSON body could not be turned into protocol messages; `Display` is one line.
#[derive(Debug, thiserror::Error)]
pub enum JsonError {
    /// Not JSON, or JSON of the wrong shape or types.
    #[error("invalid JSON: {0}")]
    Syntax(#[from] serde_json::Error),
    /// Well-formed JSON that breaks a protobuf rule (e.g. two members of a oneof).
    #[error("invalid message: {0}")]
    Message(String),
}

// ---------------------------------------------------------------------------------------
// Scalar helpers, usable with `#[serde(default, deserialize_with = "...")]`.
// ---------------------------------------------------------------------------------------

struct IntVisitor {
    min: i64,
    max: i64,
}

impl IntVisitor {
    fn check<E: de::Error>(&self, v: i128) -> Result<Option<i64>, E> {
        if v < i128::from(self.min) || v > i128::from(self.max) {
            return Err(E::custom(format!("integer {v} out of range")));
        }
        // The range check above makes the narrowing exact.
        Ok(Some(v as i64))
    }
}

impl<'de> Visitor<'de> for IntVisitor {
    type Value = Option<i64>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an integer, as a number or a decimal string")
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        self.check(i128::from(v))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        self.check(i128::from(v))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        // Protobuf JSON accepts `1.0` or `1e3` for integer fields, but not `1.5`.
        if v.fract() != 0.0 || !v.is_finite() || v.abs() > 9.3e18 {
            return Err(E::custom(format!("{v} is not an integer")));
        }
        self.check(v as i128)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        let parsed: i128 = v.trim().parse().map_err(|_| E::custom(format!("{v:?} is not an integer")))?;
        self.check(parsed)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
}

/// An optional int64: number, decimal string, or null.
pub fn opt_i64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    d.deserialize_any(IntVisitor { min: i64::MIN, max: i64::MAX })
}

/// An optional int32: number, decimal string, or null.
pub fn opt_i32<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i32>, D::Error> {
    let v = d.deserialize_any(IntVisitor { min: i64::from(i32::MIN), max: i64::from(i32::MAX) })?;
    // The visitor already checked the i32 range.
    Ok(v.map(|v| v as i32))
}

struct EnumVisitor {
    name: &'static str,
    parse: fn(&str) -> Option<i32>,
}

impl<'de> Visitor<'de> for EnumVisitor {
    type Value = Option<i32>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a {} name or number", self.name)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        (self.parse)(v).map(Some).ok_or_else(|| E::custom(format!("unknown {} {v:?}", self.name)))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        // Protobuf keeps unknown enum numbers, so any int32 is accepted.
        i32::try_from(v).map(Some).map_err(|_| E::custom(format!("{} {v} out of range", self.name)))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        i32::try_from(v).map(Some).map_err(|_| E::custom(format!("{} {v} out of range", self.name)))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
}

fn span_type<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i32>, D::Error> {
    d.deserialize_any(EnumVisitor { name: "SpanType", parse: |s| SpanType::from_str_name(s).map(|e| e as i32) })
}

fn span_layer<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i32>, D::Error> {
    d.deserialize_any(EnumVisitor { name: "SpanLayer", parse: |s| SpanLayer::from_str_name(s).map(|e| e as i32) })
}

fn ref_type<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i32>, D::Error> {
    d.deserialize_any(EnumVisitor { name: "RefType", parse: |s| RefType::from_str_name(s).map(|e| e as i32) })
}

fn event_type<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i32>, D::Error> {
    d.deserialize_any(EnumVisitor { name: "Type", parse: |s| EventType::from_str_name(s).map(|e| e as i32) })
}

/// A message in JSON form must be a JSON object. Serde's derive would also accept an array
/// (fields by position), which protobuf's mapping does not allow, so every message is read
/// through this wrapper.
#[derive(Debug, Default)]
pub struct Obj<T>(pub T);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Obj<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct ObjVisitor<T>(std::marker::PhantomData<T>);

        impl<'de, T: Deserialize<'de>> Visitor<'de> for ObjVisitor<T> {
            type Value = Obj<T>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }

            fn visit_map<A: de::MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                T::deserialize(de::value::MapAccessDeserializer::new(map)).map(Obj)
            }
        }

        d.deserialize_map(ObjVisitor(std::marker::PhantomData))
    }
}

fn list<T>(v: Option<Vec<Obj<T>>>) -> Vec<T> {
    v.unwrap_or_default().into_iter().map(|o| o.0).collect()
}

// ---------------------------------------------------------------------------------------
// Common
// ---------------------------------------------------------------------------------------

/// `KeyStringValuePair` in JSON form.
#[derive(Debug, Default, Deserialize)]
pub struct JsonKeyValue {
    #[serde(default)]
    key: Option<String>,
    #[serde(default)]
    value: Option<String>,
}

impl From<JsonKeyValue> for KeyStringValuePair {
    fn from(j: JsonKeyValue) -> Self {
        Self { key: j.key.unwrap_or_default(), value: j.value.unwrap_or_default() }
    }
}

fn pairs(v: Option<Vec<Obj<JsonKeyValue>>>) -> Vec<KeyStringValuePair> {
    list(v).into_iter().map(Into::into).collect()
}

// ---------------------------------------------------------------------------------------
// Tracing
// ---------------------------------------------------------------------------------------

/// `SegmentObject` in JSON form.
#[derive(Debug, Default, Deserialize)]
pub struct JsonSegment {
    #[serde(default, rename = "traceId")]
    trace_id: Option<String>,
    #[serde(default, rename = "traceSegmentId")]
    trace_segment_id: Option<String>,
    #[serde(default)]
    spans: Option<Vec<Obj<JsonSpan>>>,
    #[serde(default)]
    service: Option<String>,
    #[serde(default, rename = "serviceInstance")]
    service_instance: Option<String>,
    #[serde(default, rename = "isSizeLimited")]
    is_size_limited: Option<bool>,
}

impl From<JsonSegment> for SegmentObject {
    fn from(j: JsonSegment) -> Self {
        Self {
            trace_id: j.trace_id.unwrap_or_default(),
            trace_segment_id: j.trace_segment_id.unwrap_or_default(),
            spans: list(j.spans).into_iter().map(Into::into).collect(),
            service: j.service.unwrap_or_default(),
            service_instance: j.service_instance.unwrap_or_default(),
            is_size_limited: j.is_size_limited.unwrap_or_default(),
        }
    }
}

/// `SpanObject` in JSON form.
#[derive(Debug, Default, Deserialize)]
pub struct JsonSpan {
    #[serde(default, rename = "spanId", deserialize_with = "opt_i32")]
    span_id: Option<i32>,
    #[serde(default, rename = "parentSpanId", deserialize_with = "opt_i32")]
    parent_span_id: Option<i32>,
    #[serde(default, rename = "startTime", deserialize_with = "opt_i64")]
    start_time: Option<i64>,
    #[serde(default, rename = "endTime", deserialize_with = "opt_i64")]
    end_time: Option<i64>,
    #[serde(default)]
    refs: Option<Vec<Obj<JsonSegmentReference>>>,
    #[serde(default, rename = "operationName")]
    operation_name: Option<String>,
    #[serde(default)]
    peer: Option<String>,
    #[serde(default, rename = "spanType", deserialize_with = "span_type")]
    span_type: Option<i32>,
    #[serde(default, rename = "spanLayer", deserialize_with = "span_layer")]
    span_layer: Option<i32>,
    #[serde(default, rename = "componentId", deserialize_with = "opt_i32")]
    component_id: Option<i32>,
    #[serde(default, rename = "isError")]
    is_error: Option<bool>,
    #[serde(default)]
    tags: Option<Vec<Obj<JsonKeyValue>>>,
    #[serde(default)]
    logs: Option<Vec<Obj<JsonLog_>>>,
    #[serde(default, rename = "skipAnalysis")]
    skip_analysis: Option<bool>,
}

impl From<JsonSpan> for SpanObject {
    fn from(j: JsonSpan) -> Self {
        Self {
            span_id: j.span_id.unwrap_or_default(),
            parent_span_id: j.parent_span_id.unwrap_or_default(),
            start_time: j.start_time.unwrap_or_default(),
            end_time: j.end_time.unwrap_or_default(),
            refs: list(j.refs).into_iter().map(Into::into).collect(),
            operation_name: j.operation_name.unwrap_or_default(),
            peer: j.peer.unwrap_or_default(),
            span_type: j.span_type.unwrap_or_default(),
            span_layer: j.span_layer.unwrap_or_default(),
            component_id: j.component_id.unwrap_or_default(),
            is_error: j.is_error.unwrap_or_default(),
            tags: pairs(j.tags),
            logs: list(j.logs).into_iter().map(Into::into).collect(),
            skip_analysis: j.skip_analysis.unwrap_or_default(),
        }
    }
}

/// `SegmentReference` in JSON form.
#[derive(Debug, Default, Deserialize)]
pub struct JsonSegmentReference {
    #[serde(default, rename = "refType", deserialize_with = "ref_type")]
    ref_type: Option<i32>,
    #[serde(default, rename = "traceId")]
    trace_id: Option<String>,
    #[serde(default, rename = "parentTraceSegmentId")]
    parent_trace_segment_id: Option<String>,
    #[serde(default, rename = "parentSpanId", deserialize_with = "opt_i32")]
    parent_span_id: Option<i32>,
    #[serde(default, rename = "parentService")]
    parent_service: Option<String>,
    #[serde(default, rename = "parentServiceInstance")]
    parent_service_instance: Option<String>,
    #[serde(default, rename = "parentEndpoint")]
    parent_endpoint: Option<String>,
    #[serde(default, rename = "networkAddressUsedAtPeer")]
    network_address_used_at_peer: Option<String>,
}

impl From<JsonSegmentReference> for SegmentReference {
    fn from(j: JsonSegmentReference) -> Self {
        Self {
            ref_type: j.ref_type.unwrap_or_default(),
            trace_id: j.trace_id.unwrap_or_default(),
            parent_trace_segment_id: j.parent_trace_segment_id.unwrap_or_default(),
            parent_span_id: j.parent_span_id.unwrap_or_default(),
            parent_service: j.parent_service.unwrap_or_default(),
            parent_service_instance: j.parent_service_instance.unwrap_or_default(),
            parent_endpoint: j.parent_endpoint.unwrap_or_default(),
            network_address_used_at_peer: j.network_address_used_at_peer.unwrap_or_default(),
        }
    }
}

/// Span `Log` in JSON form (named with a trailing underscore: `JsonLog` is the prost type
/// of a JSON log body).
#[allow(non_camel_case_types)]
#[derive(Debug, Default, Deserialize)]
pub struct JsonLog_ {
    #[serde(default, deserialize_with = "opt_i64")]
    time: Option<i64>,
    #[serde(default)]
    data: Option<Vec<Obj<JsonKeyValue>>>,
}

impl From<JsonLog_> for Log {
    fn from(j: JsonLog_) -> Self {
        Self { time: j.time.unwrap_or_default(), data: pairs(j.data) }
    }
}

// ---------------------------------------------------------------------------------------
// Management
// ---------------------------------------------------------------------------------------

/// `InstanceProperties` in JSON form.
#[derive(Debug, Default, Deserialize)]
pub struct JsonInstanceProperties {
    #[serde(default)]
    service: Option<String>,
    #[serde(default, rename = "serviceInstance")]
    service_instance: Option<String>,
    #[serde(default)]
    properties: Option<Vec<Obj<JsonKeyValue>>>,
    #[serde(default)]
    layer: Option<String>,
}

impl From<JsonInstanceProperties> for InstanceProperties {
    fn from(j: JsonInstanceProperties) -> Self {
        Self {
            service: j.service.unwrap_or_default(),
            service_instance: j.service_instance.unwrap_or_default(),
            properties: pairs(j.properties),
            layer: j.layer.unwrap_or_default(),
        }
    }
}

/// `InstancePingPkg` in JSON form.
#[derive(Debug, Default, Deserialize)]
pub struct JsonInstancePing {
    #[serde(default)]
    service: Option<String>,
    #[serde(default, rename = "serviceInstance")]
    service_instance: Option<String>,
    #[serde(default)]
    layer: Option<String>,
}

impl From<JsonInstancePing> for InstancePingPkg {
    fn from(j: JsonInstancePing) -> Self {
        Self {
            service: j.service.unwrap_or_default(),
            service_instance: j.service_instance.unwrap_or_default(),
            layer: j.layer.unwrap_or_default(),
        }
    }
}

// ---------------------------------------------------------------------------------------
// Logging
// ---------------------------------------------------------------------------------------

/// `LogData` in JSON form.
#[derive(Debug, Default, Deserialize)]
pub struct JsonLogData {
    #[serde(default, deserialize_with = "opt_i64")]
    timestamp: Option<i64>,
    #[serde(default)]
    service: Option<String>,
    #[serde(default, rename = "serviceInstance")]
    service_instance: Option<String>,
    #[serde(default)]
    endpoint: Option<String>,
    #[serde(default)]
    body: Option<Obj<JsonLogBody>>,
    #[serde(default, rename = "traceContext")]
    trace_context: Option<Obj<JsonTraceContext>>,
    #[serde(default)]
    tags: Option<Obj<JsonLogTags>>,
    #[serde(default)]
    layer: Option<String>,
}

/// `LogDataBody` in JSON form: `type` plus at most one of `text`, `json`, `yaml`.
#[derive(Debug, Default, Deserialize)]
pub struct JsonLogBody {
    #[serde(default, rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    text: Option<Obj<JsonTextLog>>,
    #[serde(default)]
    json: Option<Obj<JsonJsonLog>>,
    #[serde(default)]
    yaml: Option<Obj<JsonYamlLog>>,
}

/// `TextLog` in JSON form.
#[derive(Debug, Default, Deserialize)]
pub struct JsonTextLog {
    #[serde(default)]
    text: Option<String>,
}

/// `JSONLog` in JSON form.
#[derive(Debug, Default, Deserialize)]
pub struct JsonJsonLog {
    #[serde(default)]
    json: Option<String>,
}

/// `YAMLLog` in JSON form.
#[derive(Debug, Default, Deserialize)]
pub struct JsonYamlLog {
    #[serde(default)]
    yaml: Option<String>,
}

/// `TraceContext` in JSON form.
#[derive(Debug, Default, Deserialize)]
pub struct JsonTraceContext {
    #[serde(default, rename = "traceId")]
    trace_id: Option<String>,
    #[serde(default, rename = "traceSegmentId")]
    trace_segment_id: Option<String>,
    #[serde(default, rename = "spanId", deserialize_with = "opt_i32")]
    span_id: Option<i32>,
}

/// `LogTags` in JSON form.
#[derive(Debug, Default, Deserialize)]
pub struct JsonLogTags {
    #[serde(default)]
    data: Option<Vec<Obj<JsonKeyValue>>>,
}

impl TryFrom<JsonLogBody> for LogDataBody {
    type Error = JsonError;

    fn try_from(j: JsonLogBody) -> Result<Self, JsonError> {
        let mut contents = Vec::new();
        if let Some(Obj(t)) = j.text {
            contents.push(log_data_body::Content::Text(TextLog { text: t.text.unwrap_or_default() }));
        }
        if let Some(Obj(t)) = j.json {
            contents.push(log_data_body::Content::Json(JsonLog { json: t.json.unwrap_or_default() }));
        }
        if let Some(Obj(t)) = j.yaml {
            contents.push(log_data_body::Content::Yaml(YamlLog { yaml: t.yaml.unwrap_or_default() }));
        }
        if contents.len() > 1 {
            return Err(JsonError::Message("log body sets more than one of text, json, yaml".into()));
        }
        Ok(Self { r#type: j.kind.unwrap_or_default(), content: contents.pop() })
    }
}

impl TryFrom<JsonLogData> for LogData {
    type Error = JsonError;

    fn try_from(j: JsonLogData) -> Result<Self, JsonError> {
        Ok(Self {
            timestamp: j.timestamp.unwrap_or_default(),
            service: j.service.unwrap_or_default(),
            service_instance: j.service_instance.unwrap_or_default(),
            endpoint: j.endpoint.unwrap_or_default(),
            body: j.body.map(|Obj(b)| LogDataBody::try_from(b)).transpose()?,
            trace_context: j.trace_context.map(|Obj(t)| TraceContext {
                trace_id: t.trace_id.unwrap_or_default(),
                trace_segment_id: t.trace_segment_id.unwrap_or_default(),
                span_id: t.span_id.unwrap_or_default(),
            }),
            tags: j.tags.map(|Obj(t)| LogTags { data: pairs(t.data) }),
            layer: j.layer.unwrap_or_default(),
        })
    }
}

// ---------------------------------------------------------------------------------------
// Event
// ---------------------------------------------------------------------------------------

/// `Event` in JSON form.
#[derive(Debug, Default, Deserialize)]
pub struct JsonEvent {
    #[serde(default)]
    uuid: Option<String>,
    #[serde(default)]
    source: Option<Obj<JsonEventSource>>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default, rename = "type", deserialize_with = "event_type")]
    kind: Option<i32>,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    parameters: Option<HashMap<String, String>>,
    #[serde(default, rename = "startTime", deserialize_with = "opt_i64")]
    start_time: Option<i64>,
    #[serde(default, rename = "endTime", deserialize_with = "opt_i64")]
    end_time: Option<i64>,
    #[serde(default)]
    layer: Option<String>,
}

/// `Source` of an event in JSON form.
#[derive(Debug, Default, Deserialize)]
pub struct JsonEventSource {
    #[serde(default)]
    service: Option<String>,
    #[serde(default, rename = "serviceInstance")]
    service_instance: Option<String>,
    #[serde(default)]
    endpoint: Option<String>,
}

impl From<JsonEvent> for Event {
    fn from(j: JsonEvent) -> Self {
        Self {
            uuid: j.uuid.unwrap_or_default(),
            source: j.source.map(|Obj(s)| Source {
                service: s.service.unwrap_or_default(),
                service_instance: s.service_instance.unwrap_or_default(),
                endpoint: s.endpoint.unwrap_or_default(),
            }),
            name: j.name.unwrap_or_default(),
            r#type: j.kind.unwrap_or_default(),
            message: j.message.unwrap_or_default(),
            parameters: j.parameters.unwrap_or_default(),
            start_time: j.start_time.unwrap_or_default(),
            end_time: j.end_time.unwrap_or_default(),
            layer: j.layer.unwrap_or_default(),
        }
    }
}

// ---------------------------------------------------------------------------------------
// Entry points
// ---------------------------------------------------------------------------------------

/// One `SegmentObject` (`POST /v3/segment`).
pub fn parse_segment(body: &[u8]) -> Result<SegmentObject, JsonError> {
    Ok(serde_json::from_slice::<Obj<JsonSegment>>(body)?.0.into())
}

/// An array of `SegmentObject` (`POST /v3/segments`).
pub fn parse_segments(body: &[u8]) -> Result<Vec<SegmentObject>, JsonError> {
    let all: Vec<Obj<JsonSegment>> = serde_json::from_slice(body)?;
    Ok(all.into_iter().map(|o| o.0.into()).collect())
}

/// One `InstanceProperties` (`POST /v3/management/reportProperties`).
pub fn parse_properties(body: &[u8]) -> Result<InstanceProperties, JsonError> {
    Ok(serde_json::from_slice::<Obj<JsonInstanceProperties>>(body)?.0.into())
}

/// One `InstancePingPkg` (`POST /v3/management/keepAlive`).
pub fn parse_ping(body: &[u8]) -> Result<InstancePingPkg, JsonError> {
    Ok(serde_json::from_slice::<Obj<JsonInstancePing>>(body)?.0.into())
}

/// An array of `LogData` (`POST /v3/logs`).
pub fn parse_logs(body: &[u8]) -> Result<Vec<LogData>, JsonError> {
    let all: Vec<Obj<JsonLogData>> = serde_json::from_slice(body)?;
    all.into_iter().map(|o| LogData::try_from(o.0)).collect()
}

/// An array of `Event` (`POST /v3/events`).
pub fn parse_events(body: &[u8]) -> Result<Vec<Event>, JsonError> {
    let all: Vec<Obj<JsonEvent>> = serde_json::from_slice(body)?;
    Ok(all.into_iter().map(|o| o.0.into()).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segment_with_names_numbers_and_strings() {
        let body = br#"{
            "traceId": "t", "traceSegmentId": "s", "service": "svc", "serviceInstance": "i",
            "unknownField": {"nested": [1, 2]},
            "spans": [{
                "spanId": 0, "parentSpanId": -1, "startTime": "1700000000000", "endTime": 1700000000005,
                "operationName": "/x", "peer": "", "spanType": "Entry", "spanLayer": 3,
                "componentId": "7000", "isError": true,
                "tags": [{"key": "http.method", "value": "GET"}],
                "logs": [{"time": "5", "data": [{"key": "event", "value": "error"}]}],
                "refs": [{"refType": "CrossThread", "traceId": "t", "parentSpanId": 2,
                          "networkAddressUsedAtPeer": "h:1"}]
            }]
        }"#;
        let seg = parse_segment(body).expect("parses");
        assert_eq!(seg.trace_segment_id, "s");
        let span = &seg.spans[0];
        assert_eq!(span.parent_span_id, -1);
        assert_eq!(span.start_time, 1_700_000_000_000);
        assert_eq!(span.end_time, 1_700_000_000_005);
        assert_eq!(span.span_type, SpanType::Entry as i32);
        assert_eq!(span.span_layer, SpanLayer::Http as i32);
        assert_eq!(span.component_id, 7000);
        assert!(span.is_error);
        assert_eq!(span.tags[0].value, "GET");
        assert_eq!(span.logs[0].time, 5);
        assert_eq!(span.refs[0].ref_type, RefType::CrossThread as i32);
        assert_eq!(span.refs[0].network_address_used_at_peer, "h:1");
    }

    #[test]
    fn nulls_and_missing_fields_are_defaults() {
        let seg = parse_segment(br#"{"traceId": null, "spans": null}"#).expect("parses");
        assert_eq!(seg, SegmentObject::default());
    }

    #[test]
    fn bad_input_is_an_error_with_one_line() {
        for body in [
            &br#"{"spans": [{"spanType": "Sideways"}]}"#[..],
            br#"{"spans": [{"spanId": "abc"}]}"#,
            br#"{"spans": [{"spanId": 3000000000}]}"#,
            br#"{"spans": [{"startTime": 1.5}]}"#,
            br#"{"traceId": 5}"#,
            br#"{"spans": {}}"#,
            br#"[1,2]"#,
            br#"[]"#,
            br#"{"spans": [[0, -1]]}"#,
            br#"{"spans": [{"tags": [["k", "v"]]}]}"#,
            br#"{"#,
            b"",
        ] {
            let err = parse_segment(body).expect_err("must fail");
            assert!(!err.to_string().contains('\n'), "{err}");
        }
    }

    #[test]
    fn log_with_text_body_and_oneof_conflict() {
        let logs = parse_logs(
            br#"[{"timestamp": "12", "service": "s", "body": {"type": "text", "text": {"text": "hi"}},
                 "traceContext": {"traceId": "t", "spanId": "1"}, "tags": {"data": [{"key": "level", "value": "INFO"}]}}]"#,
        )
        .expect("parses");
        assert_eq!(logs[0].timestamp, 12);
        let body = logs[0].body.clone().unwrap_or_default();
        assert_eq!(body.content, Some(log_data_body::Content::Text(TextLog { text: "hi".into() })));
        assert_eq!(logs[0].trace_context.clone().unwrap_or_default().span_id, 1);
        let err = parse_logs(br#"[{"body": {"text": {"text": "a"}, "json": {"json": "{}"}}}]"#);
        assert!(err.is_err());
    }

    #[test]
    fn event_type_by_name() {
        let events =
            parse_events(br#"[{"name": "Start", "type": "Error", "parameters": {"a": "b"}}]"#).expect("parses");
        assert_eq!(events[0].r#type, EventType::Error as i32);
        assert_eq!(events[0].parameters.get("a").map(String::as_str), Some("b"));
    }
}
