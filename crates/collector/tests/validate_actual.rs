//! Building `ActualData` from protocol messages and dumping it as the
//! `/receiveData` YAML (§2.2, §2.3).

mod validate_common;

use serde_yaml::Value;
use sw_collector::validate::{ActualData, LogContent, MeterValue};
use sw_proto::v3::{meter_data, MeterData, RefType, SpanLayer, SpanType};
use validate_common::*;

fn keys(value: &Value) -> Vec<String> {
    value.as_mapping().map(|m| m.keys().filter_map(|k| k.as_str().map(str::to_owned)).collect()).unwrap_or_default()
}

fn parse(yaml: &str) -> Value {
    serde_yaml::from_str(yaml).unwrap_or_else(|e| panic!("dump is not YAML: {e}\n{yaml}"))
}

#[test]
fn segments_group_by_service_in_arrival_order() {
    let second_provider = failing_provider_segment("provider-seg-2");
    let data = ActualData::build(&[provider_segment(), consumer_segment(), second_provider], &[], &[]);
    let services: Vec<&str> = data.segment_items.iter().map(|i| i.service_name.as_str()).collect();
    assert_eq!(services, ["provider", "consumer"]);
    let ids: Vec<&str> = data.segment_items[0].segments.iter().map(|s| s.segment_id.as_str()).collect();
    assert_eq!(ids, ["provider-seg-1", "provider-seg-2"]);
    let consumer = &data.segment_items[1].segments[0];
    assert_eq!(consumer.spans[0].span_type, "Exit");
    assert_eq!(consumer.spans[1].span_type, "Entry");
    assert_eq!(consumer.spans[0].span_layer, "Http");
}

#[test]
fn zero_span_segments_are_kept_for_the_caller_to_filter() {
    let empty = segment("svc", "empty", Vec::new());
    let data = ActualData::build(&[empty], &[], &[]);
    assert_eq!(data.segment_items[0].segments.len(), 1);
    assert!(data.segment_items[0].segments[0].spans.is_empty());
}

#[test]
fn enum_names_match_the_java_tool_and_unknown_numbers_do_not_panic() {
    let mut rpc = span(0, -1, "rpc", SpanType::Exit, SpanLayer::RpcFramework, 1);
    let mut thread_ref = cross_process_ref("svc", "parent", 0);
    thread_ref.ref_type = RefType::CrossThread as i32;
    rpc.refs = vec![thread_ref];
    let mq = span(1, 0, "mq", SpanType::Exit, SpanLayer::Mq, 2);
    let faas = span(2, 0, "faas", SpanType::Local, SpanLayer::Faas, 3);
    let mut odd = span(3, 0, "odd", SpanType::Local, SpanLayer::Unknown, 4);
    odd.span_layer = 99;
    odd.span_type = -3;
    let mut odd_ref = cross_process_ref("svc", "parent", 0);
    odd_ref.ref_type = 5;
    odd.refs = vec![odd_ref];
    let data = ActualData::build(&[segment("svc", "seg", vec![rpc, mq, faas, odd])], &[], &[]);
    let spans = &data.segment_items[0].segments[0].spans;
    assert_eq!(spans[0].span_layer, "RPCFramework");
    assert_eq!(spans[0].refs[0].ref_type, "CrossThread");
    assert_eq!(spans[1].span_layer, "MQ");
    assert_eq!(spans[2].span_layer, "FAAS");
    assert_eq!(spans[3].span_layer, "99");
    assert_eq!(spans[3].span_type, "-3");
    assert_eq!(spans[3].refs[0].ref_type, "5");
    let dump = parse(&data.to_yaml());
    let odd_span = &dump["segmentItems"][0]["segments"][0]["spans"][3];
    assert_eq!(odd_span["spanLayer"].as_str(), Some("99"));
    assert_eq!(odd_span["refs"][0]["refType"].as_str(), Some("5"));
}

#[test]
fn meters_are_keyed_by_name_and_ordered_labels_and_later_values_win() {
    let ab = [("a", "1"), ("b", "2")];
    let ba = [("b", "2"), ("a", "1")];
    let no_metric = ("svc".to_owned(), MeterData { service: "svc".to_owned(), metric: None, ..MeterData::default() });
    let mut other_service = single("ignored-field", "c", &[], 7.0);
    other_service.0 = "from-stream".to_owned();
    let data = ActualData::build(
        &[],
        &[
            single("svc", "c", &ab, 1.0),
            single("svc", "c", &ba, 2.0),
            no_metric,
            single("svc", "c", &ab, 3.0),
            other_service,
        ],
        &[],
    );
    let services: Vec<&str> = data.meter_items.iter().map(|i| i.service_name.as_str()).collect();
    // The caller's service wins over MeterData.service (stream carry-over).
    assert_eq!(services, ["svc", "from-stream"]);
    let meters = &data.meter_items[0].meters;
    assert_eq!(meters.len(), 2);
    assert_eq!(meters[0].value, MeterValue::Single(3.0));
    assert_eq!(meters[1].value, MeterValue::Single(2.0));
}

#[test]
fn histograms_keep_bounds_and_counts_and_drop_negative_infinity() {
    let (service, mut data) = histogram("svc", "h", &[(-1.0, 1), (0.0, 2)]);
    if let Some(meter_data::Metric::Histogram(h)) = data.metric.as_mut() {
        h.values[0].is_negative_infinity = true;
    }
    let actual = ActualData::build(&[], &[(service, data)], &[]);
    assert_eq!(
        actual.meter_items[0].meters[0].value,
        MeterValue::Histogram { buckets: vec![-1.0, 0.0], counts: vec![1, 2] }
    );
    let yaml = actual.to_yaml();
    assert!(yaml.contains("histogramBuckets: [-1.0, 0.0]"), "{yaml}");
    assert!(yaml.contains("histogramValues: [1, 2]"), "{yaml}");
}

#[test]
fn logs_group_by_their_own_service_field() {
    let mut anonymous = text_log("", "/x", "no service");
    anonymous.body = None;
    anonymous.trace_context = None;
    anonymous.tags = None;
    let data = ActualData::build(&[], &[], &[text_log("a", "/1", "one"), anonymous, text_log("a", "/2", "two")]);
    let services: Vec<&str> = data.log_items.iter().map(|i| i.service_name.as_str()).collect();
    assert_eq!(services, ["a", ""]);
    assert_eq!(data.log_items[0].logs.len(), 2);
    let bare = &data.log_items[1].logs[0];
    assert_eq!(bare.content, None);
    assert_eq!(bare.body_type, "");
    assert_eq!(bare.trace_context.span_id, 0);
    assert!(bare.tags.is_empty());
    assert_eq!(data.log_items[0].logs[1].content, Some(LogContent::Text("two".to_owned())));
}

#[test]
fn an_empty_store_dumps_three_empty_sections() {
    assert_eq!(ActualData::default().to_yaml(), "segmentItems: []\nmeterItems: []\nlogItems: []\n");
}

#[test]
fn the_segment_dump_uses_the_reference_keys() {
    let data = ActualData::build(&[consumer_segment(), failing_provider_segment("p")], &[], &[]);
    let dump = parse(&data.to_yaml());
    assert_eq!(keys(&dump), ["segmentItems", "meterItems", "logItems"]);
    assert_eq!(keys(&dump["segmentItems"][0]), ["serviceName", "segmentSize", "segments"]);
    assert_eq!(dump["segmentItems"][0]["segmentSize"].as_u64(), Some(1));
    assert_eq!(keys(&dump["segmentItems"][0]["segments"][0]), ["segmentId", "spans"]);
    let exit = &dump["segmentItems"][0]["segments"][0]["spans"][0];
    assert_eq!(
        keys(exit),
        [
            "operationName",
            "parentSpanId",
            "spanId",
            "spanLayer",
            "startTime",
            "endTime",
            "componentId",
            "isError",
            "spanType",
            "peer",
            "skipAnalysis",
            "tags"
        ]
    );
    assert_eq!(exit["spanType"].as_str(), Some("Exit"));
    assert_eq!(exit["isError"].as_bool(), Some(false));
    assert_eq!(exit["parentSpanId"].as_i64(), Some(0));
    assert_eq!(keys(&exit["tags"][0]), ["key", "value"]);
    // A status code stays a string, not a YAML number.
    assert_eq!(exit["tags"][2]["value"].as_str(), Some("200"));

    let provider = &dump["segmentItems"][1]["segments"][0]["spans"][0];
    assert_eq!(keys(&provider["logs"][0]), ["logEvent"]);
    assert_eq!(
        provider["logs"][0]["logEvent"][3]["value"].as_str(),
        Some("Traceback (most recent call last):\n  File \"app.py\", line 3\nValueError: boom")
    );
    assert_eq!(
        keys(&provider["refs"][0]),
        [
            "parentEndpoint",
            "networkAddress",
            "refType",
            "parentSpanId",
            "parentTraceSegmentId",
            "parentServiceInstance",
            "parentService",
            "traceId"
        ]
    );
    assert_eq!(provider["refs"][0]["networkAddress"].as_str(), Some("provider:9091"));
    assert_eq!(provider["refs"][0]["refType"].as_str(), Some("CrossProcess"));
}

#[test]
fn spans_without_tags_logs_or_refs_omit_those_keys() {
    let local = span(0, -1, "local", SpanType::Local, SpanLayer::Unknown, 0);
    let data = ActualData::build(&[segment("svc", "seg", vec![local])], &[], &[]);
    let dump = parse(&data.to_yaml());
    let span = &dump["segmentItems"][0]["segments"][0]["spans"][0];
    for key in ["tags", "logs", "refs"] {
        assert!(span.get(key).is_none(), "{key} should be omitted");
    }
    assert_eq!(span["peer"].as_str(), Some(""));
}

#[test]
fn the_meter_and_log_dumps_use_the_reference_keys() {
    let data = ActualData::build(
        &[],
        &[single("svc", "g", &[], 1.0), single("svc", "c", &[("k", "v")], 0.1 + 0.2)],
        &[text_log("svc", "/users", "hello")],
    );
    let yaml = data.to_yaml();
    assert!(yaml.contains("singleValue: 1.0\n"), "{yaml}");
    assert!(yaml.contains("singleValue: 0.30000000000000004\n"), "{yaml}");
    let dump = parse(&yaml);
    let item = &dump["meterItems"][0];
    assert_eq!(keys(item), ["serviceName", "meterSize", "meters"]);
    assert_eq!(item["meterSize"].as_u64(), Some(2));
    assert_eq!(keys(&item["meters"][0]), ["meterId", "singleValue"]);
    assert_eq!(keys(&item["meters"][0]["meterId"]), ["name", "tags"]);
    assert_eq!(item["meters"][0]["meterId"]["tags"].as_sequence().map(Vec::len), Some(0));
    assert_eq!(keys(&item["meters"][1]["meterId"]["tags"][0]), ["name", "value"]);

    let logs = &dump["logItems"][0];
    assert_eq!(keys(logs), ["serviceName", "logSize", "logs"]);
    let log = &logs["logs"][0];
    assert_eq!(keys(log), ["timestamp", "endpoint", "body", "traceContext", "tags", "layer"]);
    assert_eq!(log["body"]["content"]["text"].as_str(), Some("hello"));
    assert_eq!(keys(&log["traceContext"]), ["traceId", "traceSegmentId", "spanId"]);
    assert_eq!(log["tags"]["data"][0]["key"].as_str(), Some("level"));
}

#[test]
fn awkward_strings_survive_the_dump() {
    let awkward = [
        "",
        "200",
        "true",
        "yes",
        "~",
        "1.5e3",
        "0x1F",
        "a: b",
        "#hash",
        "- dash",
        "-",
        "[x]",
        "{y}",
        "it's",
        "say \"hi\"",
        "ünïcode",
        "tab\there",
        "line\nbreak",
        "trailing ",
        " leading",
        "host:8080",
        "12:30",
        ".inf",
        "@at",
        "`tick`",
        "%pct",
        "*star",
        "&amp",
        "!bang",
        "|pipe",
        ">gt",
        "a, b",
        "?q",
        "0b101",
        "2001-12-14",
        "=",
        "+12",
        "-1",
        "-.5",
        "1_000",
        ".5",
        "NaN",
        "inf",
        "Off",
        "N",
    ];
    let mut s = span(0, -1, "op", SpanType::Local, SpanLayer::Unknown, 0);
    s.tags = awkward.iter().map(|v| kv("k", v)).collect();
    let data = ActualData::build(&[segment("svc", "seg", vec![s])], &[], &[]);
    let dump = parse(&data.to_yaml());
    let tags = &dump["segmentItems"][0]["segments"][0]["spans"][0]["tags"];
    for (i, want) in awkward.iter().enumerate() {
        assert_eq!(tags[i]["value"].as_str(), Some(*want), "tag {i}");
    }
}
