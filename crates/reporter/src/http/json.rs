//! The protobuf-JSON form OAP's HTTP endpoints parse, written by hand.
//!
//! Protobuf's JSON mapping uses the `.proto` field names (lowerCamelCase) and enum value
//! names; a serde derive on the prost structs would produce Rust's snake_case names instead.
//!
//! Choices, each accepted by protobuf's JSON parser (which OAP uses):
//! - 64-bit integers are JSON numbers, as the Python agent sends them. Epoch milliseconds
//!   stay far below 2^53, so no reader loses precision.
//! - Enums are written by name; a number outside the enum (possible in a prost struct) is
//!   written as a number, which parsers keep as an unknown value.
//! - Fields the Python agent sends are always written, defaults included. Fields it never
//!   sends (`isSizeLimited`, `skipAnalysis`, `layer`) are written only when set, so an OAP
//!   that predates them sees the same shape as from the Python agent.
//! - Strings are UTF-8 as they are; only `"`, `\` and control characters are escaped.

use std::fmt::Write as _;

use sw_proto::v3::{
    log_data_body, InstancePingPkg, InstanceProperties, KeyStringValuePair, Log, LogData, RefType, SegmentObject,
    SegmentReference, SpanLayer, SpanObject, SpanType,
};

/// A JSON array of segments, the body of `POST /v3/segments`, built one segment at a time.
pub struct SegmentArray {
    out: String,
    count: usize,
}

impl SegmentArray {
    pub fn new() -> Self {
        let mut out = String::with_capacity(16 * 1024);
        out.push('[');
        Self { out, count: 0 }
    }

    pub fn push(&mut self, item: &SegmentObject) {
        if self.count > 0 {
            self.out.push(',');
        }
        segment(&mut self.out, item);
        self.count += 1;
    }

    pub fn count(&self) -> usize {
        self.count
    }

    /// The body's size so far.
    pub fn bytes(&self) -> usize {
        self.out.len()
    }

    pub fn finish(mut self) -> String {
        self.out.push(']');
        self.out
    }
}

#[cfg(test)]
fn segments(batch: &[SegmentObject]) -> String {
    let mut array = SegmentArray::new();
    for item in batch {
        array.push(item);
    }
    array.finish()
}

/// Appends one `SegmentObject`.
fn segment(out: &mut String, s: &SegmentObject) {
    let mut o = Object::open(out);
    o.string("traceId", &s.trace_id);
    o.string("traceSegmentId", &s.trace_segment_id);
    o.array("spans", &s.spans, span);
    o.string("service", &s.service);
    o.string("serviceInstance", &s.service_instance);
    if s.is_size_limited {
        o.bool("isSizeLimited", true);
    }
    o.close();
}

fn span(out: &mut String, s: &SpanObject) {
    let mut o = Object::open(out);
    o.int("spanId", s.span_id.into());
    o.int("parentSpanId", s.parent_span_id.into());
    o.int("startTime", s.start_time);
    o.int("endTime", s.end_time);
    o.array("refs", &s.refs, reference);
    o.string("operationName", &s.operation_name);
    o.string("peer", &s.peer);
    o.enumeration("spanType", s.span_type, SpanType::try_from(s.span_type).ok().map(|e| e.as_str_name()));
    o.enumeration("spanLayer", s.span_layer, SpanLayer::try_from(s.span_layer).ok().map(|e| e.as_str_name()));
    o.int("componentId", s.component_id.into());
    o.bool("isError", s.is_error);
    o.array("tags", &s.tags, pair);
    o.array("logs", &s.logs, log);
    if s.skip_analysis {
        o.bool("skipAnalysis", true);
    }
    o.close();
}

/// The ref type is sent as it is; the Python agent's HTTP client always sends
/// `CrossProcess`, which makes OAP draw cross-thread links as service calls.
fn reference(out: &mut String, r: &SegmentReference) {
    let mut o = Object::open(out);
    o.enumeration("refType", r.ref_type, RefType::try_from(r.ref_type).ok().map(|e| e.as_str_name()));
    o.string("traceId", &r.trace_id);
    o.string("parentTraceSegmentId", &r.parent_trace_segment_id);
    o.int("parentSpanId", r.parent_span_id.into());
    o.string("parentService", &r.parent_service);
    o.string("parentServiceInstance", &r.parent_service_instance);
    o.string("parentEndpoint", &r.parent_endpoint);
    o.string("networkAddressUsedAtPeer", &r.network_address_used_at_peer);
    o.close();
}

fn pair(out: &mut String, p: &KeyStringValuePair) {
    let mut o = Object::open(out);
    o.string("key", &p.key);
    o.string("value", &p.value);
    o.close();
}

fn log(out: &mut String, l: &Log) {
    let mut o = Object::open(out);
    o.int("time", l.time);
    o.array("data", &l.data, pair);
    o.close();
}

/// The body of `POST /v3/management/reportProperties`.
pub fn instance_properties(p: &InstanceProperties) -> String {
    let mut out = String::with_capacity(256);
    let mut o = Object::open(&mut out);
    o.string("service", &p.service);
    o.string("serviceInstance", &p.service_instance);
    o.array("properties", &p.properties, pair);
    if !p.layer.is_empty() {
        o.string("layer", &p.layer);
    }
    o.close();
    out
}

/// The body of `POST /v3/management/keepAlive`.
pub fn ping(p: &InstancePingPkg) -> String {
    let mut out = String::with_capacity(96);
    let mut o = Object::open(&mut out);
    o.string("service", &p.service);
    o.string("serviceInstance", &p.service_instance);
    if !p.layer.is_empty() {
        o.string("layer", &p.layer);
    }
    o.close();
    out
}

/// A JSON array of log records, the body of `POST /v3/logs`.
pub fn logs(batch: &[LogData]) -> String {
    let mut out = String::with_capacity(batch.len() * 256 + 2);
    out.push('[');
    for (n, item) in batch.iter().enumerate() {
        if n > 0 {
            out.push(',');
        }
        log_data(&mut out, item);
    }
    out.push(']');
    out
}

/// One `LogData`; unset optional messages are left out, as protobuf's printer does.
fn log_data(out: &mut String, l: &LogData) {
    let mut o = Object::open(out);
    o.int("timestamp", l.timestamp);
    o.string("service", &l.service);
    o.string("serviceInstance", &l.service_instance);
    o.string("endpoint", &l.endpoint);
    if let Some(body) = &l.body {
        o.object("body", |out| {
            let mut b = Object::open(out);
            b.string("type", &body.r#type);
            match &body.content {
                Some(log_data_body::Content::Text(t)) => b.object("text", |out| one_string(out, "text", &t.text)),
                Some(log_data_body::Content::Json(j)) => b.object("json", |out| one_string(out, "json", &j.json)),
                Some(log_data_body::Content::Yaml(y)) => b.object("yaml", |out| one_string(out, "yaml", &y.yaml)),
                None => {}
            }
            b.close();
        });
    }
    if let Some(context) = &l.trace_context {
        o.object("traceContext", |out| {
            let mut c = Object::open(out);
            c.string("traceId", &context.trace_id);
            c.string("traceSegmentId", &context.trace_segment_id);
            c.int("spanId", context.span_id.into());
            c.close();
        });
    }
    if let Some(tags) = &l.tags {
        o.object("tags", |out| {
            let mut t = Object::open(out);
            t.array("data", &tags.data, pair);
            t.close();
        });
    }
    if !l.layer.is_empty() {
        o.string("layer", &l.layer);
    }
    o.close();
}

#[cfg_attr(not(test), allow(dead_code))]
fn one_string(out: &mut String, key: &'static str, value: &str) {
    let mut o = Object::open(out);
    o.string(key, value);
    o.close();
}

/// Writes the members of one JSON object; keys are the `.proto` names (plain ASCII).
struct Object<'a> {
    out: &'a mut String,
    empty: bool,
}

impl<'a> Object<'a> {
    fn open(out: &'a mut String) -> Self {
        out.push('{');
        Self { out, empty: true }
    }

    fn key(&mut self, key: &'static str) -> &mut String {
        if !self.empty {
            self.out.push(',');
        }
        self.empty = false;
        self.out.push('"');
        self.out.push_str(key);
        self.out.push_str("\":");
        self.out
    }

    fn string(&mut self, key: &'static str, value: &str) {
        let out = self.key(key);
        string(out, value);
    }

    fn int(&mut self, key: &'static str, value: i64) {
        let out = self.key(key);
        // Writing into a String cannot fail.
        let _ = write!(out, "{value}");
    }

    fn bool(&mut self, key: &'static str, value: bool) {
        self.key(key).push_str(if value { "true" } else { "false" });
    }

    fn enumeration(&mut self, key: &'static str, number: i32, name: Option<&str>) {
        match name {
            Some(name) => self.string(key, name),
            None => self.int(key, number.into()),
        }
    }

    fn array<T>(&mut self, key: &'static str, items: &[T], write: fn(&mut String, &T)) {
        let out = self.key(key);
        out.push('[');
        for (n, item) in items.iter().enumerate() {
            if n > 0 {
                out.push(',');
            }
            write(out, item);
        }
        out.push(']');
    }

    #[cfg_attr(not(test), allow(dead_code))]
    fn object(&mut self, key: &'static str, write: impl FnOnce(&mut String)) {
        write(self.key(key));
    }

    fn close(self) {
        self.out.push('}');
    }
}

/// Appends `value` as a JSON string literal.
fn string(out: &mut String, value: &str) {
    out.push('"');
    let mut plain_from = 0;
    for (at, byte) in value.bytes().enumerate() {
        // Multi-byte UTF-8 sequences never contain bytes below 0x80, so testing bytes
        // finds exactly the characters that need escaping.
        let escaped = match byte {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0x08 => "\\b",
            0x0c => "\\f",
            0..=0x1f => "",
            _ => continue,
        };
        out.push_str(&value[plain_from..at]);
        if escaped.is_empty() {
            let _ = write!(out, "\\u{byte:04x}");
        } else {
            out.push_str(escaped);
        }
        plain_from = at + 1;
    }
    out.push_str(&value[plain_from..]);
    out.push('"');
}

#[cfg(test)]
mod tests {
    use sw_proto::v3::{LogDataBody, LogTags, TextLog, TraceContext};

    use super::*;

    fn kv(key: &str, value: &str) -> KeyStringValuePair {
        KeyStringValuePair { key: key.into(), value: value.into() }
    }

    fn literal(value: &str) -> String {
        let mut out = String::new();
        string(&mut out, value);
        out
    }

    #[test]
    fn strings_escape_quotes_backslashes_and_control_characters() {
        assert_eq!(literal(r#"say "hi" \ bye"#), r#""say \"hi\" \\ bye""#);
        assert_eq!(literal("a\nb\rc\td\u{8}e\u{c}f"), r#""a\nb\rc\td\be\ff""#);
        assert_eq!(literal("\u{0}\u{1}\u{1f}\u{7f}"), "\"\\u0000\\u0001\\u001f\u{7f}\"");
        // Non-ASCII stays as UTF-8, including characters JavaScript treats as line ends.
        assert_eq!(literal("GET /café/日本 🚀 \u{2028}"), "\"GET /café/日本 🚀 \u{2028}\"");
        assert_eq!(literal(""), r#""""#);
    }

    fn rich_segment() -> SegmentObject {
        SegmentObject {
            trace_id: "t-1".into(),
            trace_segment_id: "s-1".into(),
            service: "svc \"quoted\"".into(),
            service_instance: "inst\\1".into(),
            is_size_limited: true,
            spans: vec![
                SpanObject {
                    span_id: 1,
                    parent_span_id: 0,
                    start_time: 1_700_000_000_001,
                    end_time: 1_700_000_000_002,
                    operation_name: "SELECT \"x\"\n\tFROM é".into(),
                    peer: "db:5432".into(),
                    span_type: SpanType::Exit as i32,
                    span_layer: SpanLayer::Database as i32,
                    component_id: 22,
                    is_error: true,
                    tags: vec![kv("db.statement", "a\\b\u{1}"), kv("ключ", "значение")],
                    logs: vec![Log {
                        time: 1_700_000_000_002,
                        data: vec![kv("event", "error"), kv("stack", "l1\nl2")],
                    }],
                    skip_analysis: true,
                    ..Default::default()
                },
                SpanObject {
                    span_id: 0,
                    parent_span_id: -1,
                    start_time: 1_700_000_000_000,
                    end_time: 1_700_000_000_003,
                    operation_name: "/users".into(),
                    span_type: SpanType::Entry as i32,
                    span_layer: SpanLayer::Faas as i32,
                    component_id: 7014,
                    refs: vec![
                        SegmentReference {
                            ref_type: RefType::CrossProcess as i32,
                            trace_id: "t-1".into(),
                            parent_trace_segment_id: "p-1".into(),
                            parent_span_id: 3,
                            parent_service: "up".into(),
                            parent_service_instance: "up-1".into(),
                            parent_endpoint: "/call".into(),
                            network_address_used_at_peer: "me:8080".into(),
                        },
                        SegmentReference {
                            ref_type: RefType::CrossThread as i32,
                            trace_id: "t-1".into(),
                            parent_trace_segment_id: "p-2".into(),
                            parent_span_id: 0,
                            ..Default::default()
                        },
                    ],
                    ..Default::default()
                },
            ],
        }
    }

    #[test]
    fn segments_use_proto_names_and_enum_names() {
        let json = segments(&[rich_segment()]);
        for expected in [
            r#"[{"traceId":"t-1","traceSegmentId":"s-1","spans":[{"spanId":1,"parentSpanId":0,"#,
            r#""startTime":1700000000001,"endTime":1700000000002,"refs":[],"#,
            r#""operationName":"SELECT \"x\"\n\tFROM é","peer":"db:5432","spanType":"Exit","#,
            r#""spanLayer":"Database","componentId":22,"isError":true,"#,
            r#""tags":[{"key":"db.statement","value":"a\\b\u0001"},{"key":"ключ","value":"значение"}],"#,
            r#""logs":[{"time":1700000000002,"data":[{"key":"event","value":"error"},{"key":"stack","value":"l1\nl2"}]}],"#,
            r#""skipAnalysis":true}"#,
            r#""spanType":"Entry","spanLayer":"FAAS","componentId":7014,"isError":false,"#,
            r#""refs":[{"refType":"CrossProcess","traceId":"t-1","parentTraceSegmentId":"p-1","parentSpanId":3,"#,
            r#""parentService":"up","parentServiceInstance":"up-1","parentEndpoint":"/call","#,
            r#""networkAddressUsedAtPeer":"me:8080"},{"refType":"CrossThread","#,
            r#""service":"svc \"quoted\"","serviceInstance":"inst\\1","isSizeLimited":true}]"#,
        ] {
            assert!(json.contains(expected), "missing {expected}\nin {json}");
        }
        // Defaults the Python agent never sends stay out.
        let plain = segments(&[SegmentObject { spans: vec![SpanObject::default()], ..Default::default() }]);
        assert!(!plain.contains("isSizeLimited") && !plain.contains("skipAnalysis"), "{plain}");
        assert!(plain.contains(r#""spanType":"Entry","spanLayer":"Unknown""#), "{plain}");
    }

    #[test]
    fn every_layer_has_its_proto_name_and_unknown_numbers_stay_numbers() {
        let layers = ["Unknown", "Database", "RPCFramework", "Http", "MQ", "Cache", "FAAS"];
        for (number, name) in layers.iter().enumerate() {
            let span = SpanObject { span_layer: number as i32, span_type: 2, ..Default::default() };
            let json = segments(&[SegmentObject { spans: vec![span], ..Default::default() }]);
            assert!(json.contains(&format!(r#""spanType":"Local","spanLayer":"{name}""#)), "{json}");
        }
        let odd = SpanObject { span_layer: 42, span_type: -1, ..Default::default() };
        let json = segments(&[SegmentObject { spans: vec![odd], ..Default::default() }]);
        assert!(json.contains(r#""spanType":-1,"spanLayer":42"#), "{json}");
        assert_eq!(segments(&[]), "[]");
    }

    #[test]
    fn segments_decode_to_the_same_values_with_an_independent_parser() {
        let sent = vec![rich_segment(), SegmentObject { trace_id: "only".into(), ..Default::default() }];
        let decoded = sw_collector::json::parse_segments(segments(&sent).as_bytes()).expect("valid protobuf JSON");
        assert_eq!(decoded, sent);
    }

    #[test]
    fn management_bodies() {
        let properties = InstanceProperties {
            service: "s".into(),
            service_instance: "i".into(),
            properties: vec![kv("language", "python"), kv("Process No.", "42")],
            layer: String::new(),
        };
        let json = instance_properties(&properties);
        assert_eq!(
            json,
            r#"{"service":"s","serviceInstance":"i","properties":[{"key":"language","value":"python"},{"key":"Process No.","value":"42"}]}"#
        );
        assert_eq!(sw_collector::json::parse_properties(json.as_bytes()).expect("parses"), properties);
        let with_layer = InstanceProperties { layer: "GENERAL".into(), ..properties };
        assert!(instance_properties(&with_layer).ends_with(r#","layer":"GENERAL"}"#));

        let pkg = InstancePingPkg { service: "s".into(), service_instance: "i\"".into(), layer: String::new() };
        assert_eq!(ping(&pkg), r#"{"service":"s","serviceInstance":"i\""}"#);
        assert_eq!(sw_collector::json::parse_ping(ping(&pkg).as_bytes()).expect("parses"), pkg);
    }

    #[test]
    fn logs_round_trip() {
        let record = LogData {
            timestamp: 1_700_000_000_000,
            service: "s".into(),
            service_instance: "i".into(),
            endpoint: "/e".into(),
            body: Some(LogDataBody {
                r#type: "text".into(),
                content: Some(log_data_body::Content::Text(TextLog { text: "boom \"x\"\n".into() })),
            }),
            trace_context: Some(TraceContext { trace_id: "t".into(), trace_segment_id: "g".into(), span_id: 2 }),
            tags: Some(LogTags { data: vec![kv("level", "ERROR")] }),
            layer: String::new(),
        };
        let bare = LogData { service: "s".into(), ..Default::default() };
        let json = logs(&[record.clone(), bare.clone()]);
        assert!(json.contains(r#""body":{"type":"text","text":{"text":"boom \"x\"\n"}}"#), "{json}");
        assert!(json.contains(r#""traceContext":{"traceId":"t","traceSegmentId":"g","spanId":2}"#), "{json}");
        assert!(json.contains(r#""tags":{"data":[{"key":"level","value":"ERROR"}]}"#), "{json}");
        let decoded = sw_collector::json::parse_logs(json.as_bytes()).expect("valid protobuf JSON");
        assert_eq!(decoded, vec![record, bare]);
    }
}
