//! The HTTP API over real sockets: mock-collector endpoints, agent JSON endpoints (good and
//! bad input), profile task creation.

mod server_common;

use server_common::*;

const SEGMENT_JSON: &str = r#"{
  "traceId": "trace-1", "traceSegmentId": "seg-1", "service": "svc", "serviceInstance": "inst",
  "spans": [{
    "spanId": 0, "parentSpanId": -1, "startTime": "1700000000000", "endTime": "1700000000010",
    "operationName": "/hello", "peer": "", "spanType": "Entry", "spanLayer": "Http",
    "componentId": 7000, "isError": false, "skipAnalysis": false,
    "tags": [{"key": "http.method", "value": "GET"}]
  }]
}"#;

#[test]
fn health_check_and_fallback() {
    let c = collector();
    let r = get(c.http_addr(), "/healthCheck");
    assert_eq!((r.status, r.body.as_str()), (200, "Success"));
    assert_eq!(get(c.http_addr(), "/no/such/thing").status, 404);
    let grpc = get(c.http_addr(), "/agent/gRPC").json();
    assert_eq!(grpc[0], c.grpc_addr().to_string());
}

#[test]
fn segment_endpoints_record_and_receive_data_shows_them() {
    let c = collector();
    let r = post(c.http_addr(), "/v3/segment", SEGMENT_JSON);
    assert_eq!((r.status, r.body.as_str()), (200, "{}"));
    let r = post(
        c.http_addr(),
        "/v3/segments",
        &format!(
            "[{}, {{\"traceSegmentId\": \"no-spans\", \"service\": \"svc\"}}]",
            SEGMENT_JSON.replace("seg-1", "seg-2")
        ),
    );
    assert_eq!(r.status, 200, "{}", r.body);

    let stored = c.store().segments();
    assert_eq!(stored.len(), 3, "HTTP keeps even a segment without spans");
    let span = &stored[0].spans[0];
    assert_eq!(span.start_time, 1_700_000_000_000);
    assert_eq!(span.span_layer, 3);
    assert_eq!(span.tags[0].value, "GET");

    let yaml: serde_yaml::Value = serde_yaml::from_str(&get(c.http_addr(), "/receiveData").body).expect("YAML");
    let item = &yaml["segmentItems"][0];
    assert_eq!(item["serviceName"], "svc");
    assert_eq!(item["segmentSize"].as_u64(), Some(3));
    let span = &item["segments"][0]["spans"][0];
    assert_eq!(span["operationName"], "/hello");
    assert_eq!(span["spanType"], "Entry");

    let r = http(c.http_addr(), "DELETE", "/receiveData", b"");
    assert_eq!(r.status, 200);
    assert!(c.store().segments().is_empty());
    post(c.http_addr(), "/v3/segment", SEGMENT_JSON);
    assert_eq!(post(c.http_addr(), "/reset", "").status, 200);
    assert!(c.store().segments().is_empty());
    assert_eq!(c.store().stats().resets, 2);
}

#[test]
fn data_validate_reports_success_and_failure() {
    let c = collector();
    post(c.http_addr(), "/v3/segment", SEGMENT_JSON);
    let good = "segmentItems:\n- serviceName: svc\n  segmentSize: 1\n  segments:\n  - segmentId: not null\n    spans:\n    - operationName: /hello\n      spanId: 0\n      parentSpanId: -1\n      spanType: Entry\n      isError: false\n      tags:\n      - {key: http.method, value: GET}\n";
    let r = post(c.http_addr(), "/dataValidate", good);
    assert_eq!((r.status, r.body.as_str()), (200, "success"));
    let r = post(c.http_addr(), "/dataValidate?semantics=head", good);
    assert_eq!((r.status, r.body.as_str()), (200, "success"));

    let bad = good.replace("segmentSize: 1", "segmentSize: 2");
    let r = post(c.http_addr(), "/dataValidate", &bad);
    assert_eq!(r.status, 500);
    assert!(r.body.starts_with("actual data:\n"), "{}", r.body);
    let (actual, cause) = r.body.split_once("\ncause by:\n").expect("cause section");
    assert!(actual.contains("serviceName: svc"));
    assert!(!cause.trim().is_empty());

    let r = post(c.http_addr(), "/dataValidate?semantics=newest", good);
    assert_eq!(r.status, 400);
}

/// Asserts a 400 whose body is one line, and that nothing was recorded.
fn assert_rejected(c: &sw_collector::CollectorHandle, path: &str, body: &[u8]) {
    let r = http(c.http_addr(), "POST", path, body);
    assert_eq!(r.status, 400, "{path} accepted {:?}", String::from_utf8_lossy(body));
    assert_eq!(r.body.trim_end().lines().count(), 1, "{}", r.body);
    assert!(!r.body.trim().is_empty());
}

#[test]
fn every_json_endpoint_rejects_bad_input() {
    let c = collector();
    let common: [&[u8]; 4] = [b"{", b"not json", b"\xff\xfe", b""];
    for path in [
        "/v3/segment",
        "/v3/segments",
        "/v3/management/reportProperties",
        "/v3/management/keepAlive",
        "/v3/logs",
        "/v3/events",
        "/api/profile/tasks",
    ] {
        for body in common {
            assert_rejected(&c, path, body);
        }
    }
    // Wrong shapes and types per endpoint.
    for (path, body) in [
        ("/v3/segment", r#"[]"#),
        ("/v3/segment", r#"{"spans": [{"spanType": "Sideways"}]}"#),
        ("/v3/segment", r#"{"spans": [{"spanLayer": "Quantum"}]}"#),
        ("/v3/segment", r#"{"spans": [{"refs": [{"refType": "Psychic"}]}]}"#),
        ("/v3/segment", r#"{"spans": [{"startTime": "yesterday"}]}"#),
        ("/v3/segment", r#"{"spans": [{"spanId": 1.5}]}"#),
        ("/v3/segment", r#"{"traceId": 12}"#),
        ("/v3/segments", r#"{"traceId": "t"}"#),
        ("/v3/segments", r#"[{"spans": "none"}]"#),
        ("/v3/segments", r#"[["t", "s"]]"#),
        ("/v3/management/reportProperties", r#"{"properties": {"a": "b"}}"#),
        ("/v3/management/reportProperties", r#"{"service": ["x"]}"#),
        ("/v3/management/keepAlive", r#"{"serviceInstance": false}"#),
        ("/v3/logs", r#"{"service": "s"}"#),
        ("/v3/logs", r#"[{"timestamp": "soon"}]"#),
        ("/v3/logs", r#"[{"body": {"text": {"text": "a"}, "yaml": {"yaml": "b"}}}]"#),
        ("/v3/logs", r#"[{"traceContext": {"spanId": "x"}}]"#),
        ("/v3/logs", r#"[{"body": ["text"]}]"#),
        ("/v3/events", r#"[{"type": "Catastrophe"}]"#),
        ("/api/profile/tasks", r#"{"service": "s"}"#),
        ("/api/profile/tasks", r#"{"service": "s", "endpointName": "/e", "dumpPeriod": 1}"#),
        ("/api/profile/tasks", r#"{"service": "s", "endpointName": "/e", "duration": "long"}"#),
    ] {
        assert_rejected(&c, path, body.as_bytes());
    }
    assert!(c.store().segments().is_empty());
    assert!(c.store().logs().is_empty());
    assert!(c.store().instances().is_empty());
    assert!(c.store().tasks().is_empty());
    let stats = c.store().stats();
    assert_eq!(stats.segments.rejected, 4 * 2 + 10);
    assert_eq!(stats.logs.rejected, 4 + 5);
    // Still serving after all that.
    assert_eq!(get(c.http_addr(), "/healthCheck").status, 200);
}

#[test]
fn huge_body_is_refused_with_400() {
    let c = collector();
    let huge = vec![b' '; 9 * 1024 * 1024];
    let r = http(c.http_addr(), "POST", "/v3/segments", &huge);
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(r.body.contains("larger than"), "{}", r.body);
    assert_eq!(get(c.http_addr(), "/healthCheck").status, 200);
}

#[test]
fn management_and_logs_over_http() {
    let c = collector();
    let r = post(
        c.http_addr(),
        "/v3/management/reportProperties",
        r#"{"service": "svc", "serviceInstance": "i", "properties": [{"key": "language", "value": "python"}], "layer": "GENERAL", "extra": 1}"#,
    );
    assert_eq!((r.status, r.body.as_str()), (200, "{}"));
    let r = post(c.http_addr(), "/v3/management/keepAlive", r#"{"service": "svc", "serviceInstance": "i"}"#);
    assert_eq!(r.status, 200);
    let inst = &c.store().instances()[0];
    assert_eq!(inst.properties, [("language".to_owned(), "python".to_owned())]);
    assert_eq!(inst.keep_alive_count, 1);

    // What protobuf's MessageToJson produces for a log (int64 as strings).
    let r = post(
        c.http_addr(),
        "/v3/logs",
        r#"[{"timestamp": "1700000000000", "service": "svc", "serviceInstance": "i",
             "body": {"text": {"text": "hello"}},
             "traceContext": {"traceId": "t", "traceSegmentId": "s", "spanId": 1},
             "tags": {"data": [{"key": "level", "value": "INFO"}]}, "layer": ""}]"#,
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let logs = c.store().logs();
    assert_eq!(logs[0].timestamp, 1_700_000_000_000);
    assert_eq!(logs[0].tags.clone().unwrap_or_default().data[0].value, "INFO");
    let yaml: serde_yaml::Value = serde_yaml::from_str(&get(c.http_addr(), "/receiveData").body).expect("YAML");
    assert_eq!(yaml["logItems"][0]["serviceName"], "svc");

    let r =
        post(c.http_addr(), "/v3/events", r#"[{"uuid": "e1", "name": "Start", "type": "Normal", "startTime": "1"}]"#);
    assert_eq!(r.status, 200);
    assert_eq!(c.store().events()[0].uuid, "e1");
}

#[test]
fn profile_tasks_get_increasing_create_times() {
    let c = collector();
    let body = r#"{"service": "svc", "endpointName": "/e"}"#;
    let a = post(c.http_addr(), "/api/profile/tasks", body).json();
    let b = post(c.http_addr(), "/api/profile/tasks", body).json();
    assert_ne!(a["id"], b["id"]);
    assert!(b["createTime"].as_i64() > a["createTime"].as_i64());
    assert_eq!(a["duration"], 5, "default duration");
    let list = get(c.http_addr(), "/api/profile/tasks?service=svc").json();
    assert_eq!(list.as_array().map(Vec::len), Some(2));
    assert_eq!(list[0]["id"], b["id"], "newest first");
    let none = get(c.http_addr(), "/api/profile/tasks?service=other").json();
    assert_eq!(none.as_array().map(Vec::len), Some(0));
}
