//! The JSON query API over HTTP, after real gRPC reports.

mod server_common;

use server_common::*;
use sw_proto::v3::trace_segment_report_service_client::TraceSegmentReportServiceClient;
use sw_proto::v3::SegmentObject;

/// A two-service trace (consumer → provider), an error trace, and a slow trace.
fn traffic() -> Vec<SegmentObject> {
    let mut exit = span(1, 0, 1, "/provider", 1010, 1040);
    exit.peer = "provider:8080".into();
    let consumer = segment("trace-a", "a-consumer", "consumer", vec![exit, span(0, -1, 0, "/consumer", 1000, 1050)]);
    let mut entry = span(0, -1, 0, "/provider", 1015, 1035);
    entry.refs = vec![reference(&consumer, 1, "/consumer")];
    entry.tags = vec![kv("http.method", "GET")];
    let provider = segment("trace-a", "a-provider", "provider", vec![entry]);

    let mut failing = span(0, -1, 0, "/consumer", 2000, 2005);
    failing.is_error = true;
    failing.logs = vec![sw_proto::v3::Log { time: 2004, data: vec![kv("event", "error"), kv("message", "boom")] }];
    let error = segment("trace-b", "b-consumer", "consumer", vec![failing]);
    let slow = segment("trace-c", "c-consumer", "consumer", vec![span(0, -1, 0, "/report", 3000, 8000)]);
    // The provider's segment arrives before its parent, as it often does.
    vec![provider, consumer, error, slow]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn query_api_answers_from_reported_segments() {
    let c = collector();
    let mut client = TraceSegmentReportServiceClient::connect(grpc_uri(&c)).await.expect("connect");
    client.collect(tokio_stream::iter(traffic())).await.expect("collect");
    let addr = c.http_addr();

    let services = get(addr, "/api/services").json();
    assert_eq!(services[0]["name"], "consumer");
    assert_eq!(services[0]["segments"], 3);
    assert_eq!(services[1]["name"], "provider");
    assert_eq!(services[1]["instances"], 1);

    let instances = get(addr, "/api/instances?service=provider").json();
    assert_eq!(instances[0]["name"], "provider-instance");
    assert_eq!(instances[0]["segments"], 1);

    let endpoints = get(addr, "/api/endpoints?service=consumer").json();
    let names: Vec<&str> = endpoints.as_array().expect("list").iter().filter_map(|e| e["name"].as_str()).collect();
    assert_eq!(names, ["/consumer", "/report"]);
    assert_eq!(endpoints[0]["segments"], 2);
    assert_eq!(endpoints[0]["errors"], 1);

    // Newest first; the cross-service trace is one trace with both services.
    let all = get(addr, "/api/traces").json();
    let ids: Vec<&str> = all.as_array().expect("list").iter().filter_map(|t| t["traceId"].as_str()).collect();
    assert_eq!(ids, ["trace-c", "trace-b", "trace-a"]);
    let a = &all[2];
    assert_eq!(a["endpoint"], "/consumer");
    assert_eq!(a["duration"], 50);
    assert_eq!(a["services"], serde_json::json!(["consumer", "provider"]));
    assert_eq!(a["segmentCount"], 2);
    assert_eq!(a["error"], false);

    let filtered = |query: &str| -> Vec<String> {
        get(addr, &format!("/api/traces?{query}"))
            .json()
            .as_array()
            .expect("list")
            .iter()
            .filter_map(|t| t["traceId"].as_str().map(str::to_owned))
            .collect()
    };
    assert_eq!(filtered("service=provider"), ["trace-a"]);
    assert_eq!(filtered("error=true"), ["trace-b"]);
    assert_eq!(filtered("minDuration=1000"), ["trace-c"]);
    assert_eq!(filtered("endpoint=/consumer"), ["trace-b", "trace-a"]);
    assert_eq!(filtered("start=1500&end=2500"), ["trace-b"]);
    assert_eq!(filtered("limit=1"), ["trace-c"]);
    assert_eq!(get(addr, "/api/traces?minDuration=slow").status, 400);
    assert_eq!(get(addr, "/api/traces?error=maybe").status, 400);

    let detail = get(addr, "/api/traces/trace-a").json();
    let segments = detail["segments"].as_array().expect("segments");
    assert_eq!(segments.len(), 2);
    assert_eq!(segments[0]["segmentId"], "a-consumer", "ordered by start");
    let provider_span = &segments[1]["spans"][0];
    assert_eq!(provider_span["spanType"], "Entry");
    assert_eq!(provider_span["spanLayer"], "Http");
    assert_eq!(provider_span["tags"][0]["value"], "GET");
    assert_eq!(provider_span["refs"][0]["parentTraceSegmentId"], "a-consumer");
    assert_eq!(provider_span["refs"][0]["refType"], "CrossProcess");
    let error_detail = get(addr, "/api/traces/trace-b").json();
    assert_eq!(error_detail["segments"][0]["spans"][0]["logs"][0]["data"][1]["value"], "boom");
    assert_eq!(get(addr, "/api/traces/unknown").status, 404);

    let stats = get(addr, "/api/stats").json();
    assert_eq!(stats["segments"]["received"], 4);
    assert_eq!(stats["segments"]["stored"], 4);
    assert_eq!(stats["limits"]["maxSegments"], 20_000);

    assert_eq!(get(addr, "/api/logs").json(), serde_json::json!([]));
    assert_eq!(get(addr, "/api/meters").json(), serde_json::json!([]));
}
