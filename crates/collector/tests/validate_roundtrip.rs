//! The `/receiveData` dump is itself valid expected data: for realistic
//! recordings, `validate(actual.to_yaml(), actual)` passes in both semantics,
//! and a single changed value in the recording makes the old dump fail.

mod validate_common;

use sw_collector::validate::{validate, ActualData, Semantics};
use sw_proto::v3::{log_data_body, JsonLog, LogData, RefType, SegmentObject, SpanLayer, SpanType, YamlLog};
use validate_common::*;

fn assert_round_trip(actual: &ActualData) {
    let dump = actual.to_yaml();
    for semantics in [Semantics::Legacy, Semantics::Head] {
        if let Err(e) = validate(&dump, actual, semantics) {
            panic!("{semantics:?}: the dump does not validate against itself: {e}\n{dump}");
        }
    }
}

/// Web request to consumer, which calls provider twice (one call fails and
/// logs the exception), provider queries a database, and a background
/// thread continues the trace (cross-thread ref).
fn web_trace() -> Vec<SegmentObject> {
    let mut provider_ok = provider_segment();
    let mut db = span(1, 0, "sqlite3/execute", SpanType::Exit, SpanLayer::Database, 7004);
    db.peer = "sqlite:///tmp/app.db".to_owned();
    db.tags =
        vec![kv("db.type", "sql"), kv("db.instance", "app"), kv("db.statement", "SELECT * FROM users WHERE id = ?")];
    provider_ok.spans.insert(0, db);

    let mut worker_span = span(0, -1, "Thread/worker", SpanType::Local, SpanLayer::Unknown, 0);
    let mut thread_ref = cross_process_ref("provider", PROVIDER_SEGMENT, 0);
    thread_ref.ref_type = RefType::CrossThread as i32;
    thread_ref.network_address_used_at_peer = String::new();
    worker_span.refs = vec![thread_ref];
    let worker = segment("provider", "provider-worker-seg", vec![worker_span]);

    vec![consumer_segment(), provider_ok, failing_provider_segment("provider-seg-2"), worker]
}

#[test]
fn web_trace_round_trips() {
    assert_round_trip(&ActualData::build(&web_trace(), &[], &[]));
}

#[test]
fn batch_consumer_with_several_refs_round_trips() {
    let mut entry = span(0, -1, "Kafka/orders/Consumer/group", SpanType::Entry, SpanLayer::Mq, 41);
    entry.peer = "kafka:9092".to_owned();
    entry.tags = vec![kv("mq.topic", "orders"), kv("mq.broker", "kafka:9092")];
    entry.refs = (1..=3)
        .map(|i| {
            let mut r = cross_process_ref(&format!("producer-{i}"), &format!("producer-seg-{i}"), 1);
            r.parent_endpoint = format!("/send/{i}");
            r
        })
        .collect();
    let mut skip = span(1, 0, "Redis/GET", SpanType::Exit, SpanLayer::Cache, 7);
    skip.skip_analysis = true;
    skip.peer = "redis:6379".to_owned();
    let actual = ActualData::build(&[segment("orders", "orders-seg", vec![skip, entry])], &[], &[]);
    assert_round_trip(&actual);
}

#[test]
fn meters_round_trip() {
    let actual = ActualData::build(
        &[],
        &[
            single("svc", "instance_python_cpu", &[], 12.5),
            single("svc", "instance_python_thread_count", &[], 7.0),
            single("svc", "request_total", &[("endpoint", "/users"), ("status", "200")], 0.1 + 0.2),
            single("svc", "request_total", &[("status", "200"), ("endpoint", "/users")], 1e7),
            single("svc", "tiny", &[], 1.5e-5),
            single("svc", "negative", &[], -3.0),
            histogram("svc", "latency", &[(0.0, 3), (10.0, 0), (100.0, 1), (1e7, 0)]),
            single("other", "instance_python_cpu", &[], 0.0),
        ],
        &[],
    );
    assert_round_trip(&actual);
}

#[test]
fn logs_round_trip() {
    let mut json = text_log("provider", "/users", "");
    if let Some(body) = json.body.as_mut() {
        body.r#type = "json".to_owned();
        body.content = Some(log_data_body::Content::Json(JsonLog {
            json: "{\"message\": \"user created\", \"id\": 42}".to_owned(),
        }));
    }
    let mut yaml = text_log("provider", "/users", "");
    if let Some(body) = yaml.body.as_mut() {
        body.r#type = "yaml".to_owned();
        body.content = Some(log_data_body::Content::Yaml(YamlLog { yaml: "message: user created\nid: 42".to_owned() }));
    }
    let mut error = text_log(
        "provider",
        "/users",
        "Traceback (most recent call last):\n  File \"app.py\", line 3\nValueError: boom",
    );
    error.layer = "GENERAL".to_owned();
    let bare = LogData { service: "consumer".to_owned(), timestamp: 1_700_000_000_123, ..LogData::default() };
    let actual = ActualData::build(
        &[],
        &[],
        &[
            text_log("provider", "/users", "user created"),
            json,
            yaml,
            error,
            bare,
            text_log("consumer", "", "it's 100% done: ok"),
        ],
    );
    assert_round_trip(&actual);
}

#[test]
fn everything_together_round_trips() {
    let actual = ActualData::build(
        &web_trace(),
        &[single("provider", "instance_python_cpu", &[], 12.5)],
        &[text_log("provider", "/users", "user created")],
    );
    assert_round_trip(&actual);
}

#[test]
fn the_dump_detects_a_changed_recording() {
    let before = ActualData::build(&web_trace(), &[], &[text_log("provider", "/users", "user created")]);
    let dump = before.to_yaml();

    let mut segments = web_trace();
    if let Some(tag) = segments[1].spans[0].tags.last_mut() {
        tag.value = "SELECT 1".to_owned();
    }
    let changed = ActualData::build(&segments, &[], &[text_log("provider", "/users", "user created")]);
    let message = fails(&dump, &changed, Semantics::Legacy);
    assert_mentions(&message, &["segmentItems[service=provider]", "db.statement", "but was 'SELECT 1'"]);

    let changed_log = ActualData::build(&web_trace(), &[], &[text_log("provider", "/users", "user deleted")]);
    assert_mentions(
        &fails(&dump, &changed_log, Semantics::Legacy),
        &["logItems[service=provider] logs[0] body.content.text: expected 'user created' but was 'user deleted'"],
    );

    let one_more = {
        let mut segments = web_trace();
        segments.push(provider_segment());
        ActualData::build(&segments, &[], &[text_log("provider", "/users", "user created")])
    };
    assert_mentions(
        &fails(&dump, &one_more, Semantics::Legacy),
        &["segmentItems[service=provider] segmentSize: expected '3' but was '4'"],
    );
}
