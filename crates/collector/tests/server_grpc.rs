//! Every gRPC service, driven by the generated tonic clients over loopback.

mod server_common;

use server_common::*;
use sw_proto::v3::configuration_discovery_service_client::ConfigurationDiscoveryServiceClient;
use sw_proto::v3::event_service_client::EventServiceClient;
use sw_proto::v3::log_report_service_client::LogReportServiceClient;
use sw_proto::v3::management_service_client::ManagementServiceClient;
use sw_proto::v3::meter_report_service_client::MeterReportServiceClient;
use sw_proto::v3::profile_task_client::ProfileTaskClient;
use sw_proto::v3::trace_segment_report_service_client::TraceSegmentReportServiceClient;
use sw_proto::v3::{
    log_data_body, meter_data, ConfigurationSyncRequest, Event, InstancePingPkg, InstanceProperties, Label, LogData,
    LogDataBody, MeterBucketValue, MeterData, MeterDataCollection, MeterHistogram, MeterSingleValue,
    ProfileTaskCommandQuery, ProfileTaskFinishReport, SegmentCollection, Source, TextLog, ThreadSnapshot, ThreadStack,
    TraceContext,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trace_collect_keeps_segments_with_spans_only() {
    let c = collector();
    let mut client = TraceSegmentReportServiceClient::connect(grpc_uri(&c)).await.expect("connect");
    let segments = vec![
        segment("t1", "s1", "svc", vec![span(0, -1, 0, "/a", 1, 5)]),
        segment("t2", "empty", "svc", vec![]),
        segment("t3", "s3", "other", vec![span(0, -1, 0, "/b", 2, 9)]),
    ];
    let reply = client.collect(tokio_stream::iter(segments)).await.expect("collect");
    assert!(reply.into_inner().commands.is_empty());

    let ids: Vec<String> = c.store().segments().into_iter().map(|s| s.trace_segment_id).collect();
    assert_eq!(ids, ["s1", "s3"]);
    let stats = c.store().stats().segments;
    assert_eq!((stats.received, stats.stored, stats.ignored), (3, 2, 1));

    let reply = client
        .collect_in_sync(SegmentCollection {
            segments: vec![
                segment("t4", "s4", "svc", vec![span(0, -1, 0, "/c", 1, 2)]),
                segment("t5", "empty2", "svc", vec![]),
            ],
        })
        .await
        .expect("collectInSync");
    assert!(reply.into_inner().commands.is_empty());
    assert_eq!(c.store().segments().len(), 3);
    assert_eq!(c.store().stats().segments.ignored, 2);

    // /receiveData groups them by service.
    let yaml: serde_yaml::Value = serde_yaml::from_str(&get(c.http_addr(), "/receiveData").body).expect("YAML");
    let items = yaml["segmentItems"].as_sequence().expect("segmentItems");
    let svc = items.iter().find(|i| i["serviceName"] == "svc").expect("svc item");
    assert_eq!(svc["segmentSize"].as_u64(), Some(2));
    c.shutdown().expect("clean shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn management_records_properties_and_keep_alive() {
    let c = collector();
    let mut client = ManagementServiceClient::connect(grpc_uri(&c)).await.expect("connect");
    client
        .report_instance_properties(InstanceProperties {
            service: "svc".into(),
            service_instance: "inst-1".into(),
            properties: vec![kv("language", "python"), kv("Process No.", "42")],
            layer: String::new(),
        })
        .await
        .expect("properties");
    for _ in 0..2 {
        let reply = client
            .keep_alive(InstancePingPkg {
                service: "svc".into(),
                service_instance: "inst-1".into(),
                layer: "GENERAL".into(),
            })
            .await
            .expect("keepAlive");
        assert!(reply.into_inner().commands.is_empty());
    }
    let instances = c.store().instances();
    assert_eq!(instances.len(), 1);
    let i = &instances[0];
    assert_eq!((i.service.as_str(), i.instance.as_str()), ("svc", "inst-1"));
    assert_eq!(i.properties[0], ("language".to_owned(), "python".to_owned()));
    assert_eq!(i.keep_alive_count, 2);
    assert_eq!(i.layer, "GENERAL");
    assert!(i.last_keep_alive.is_some_and(|t| t > 1_600_000_000_000));

    let api = get(c.http_addr(), "/api/instances?service=svc").json();
    assert_eq!(api[0]["name"], "inst-1");
    assert_eq!(api[0]["keepAliveCount"], 2);
    assert_eq!(api[0]["properties"][1]["value"], "42");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_are_kept_with_their_own_service() {
    let c = collector();
    let mut client = LogReportServiceClient::connect(grpc_uri(&c)).await.expect("connect");
    let log = |service: &str, text: &str| LogData {
        timestamp: 1_700_000_000_000,
        service: service.into(),
        service_instance: "i".into(),
        endpoint: "/a".into(),
        body: Some(LogDataBody {
            r#type: "text".into(),
            content: Some(log_data_body::Content::Text(TextLog { text: text.into() })),
        }),
        trace_context: Some(TraceContext { trace_id: "t1".into(), trace_segment_id: "s1".into(), span_id: 0 }),
        tags: None,
        layer: String::new(),
    };
    client.collect(tokio_stream::iter(vec![log("svc", "one"), log("", "two")])).await.expect("collect");
    let logs = c.store().logs();
    assert_eq!(logs.len(), 2);
    // No carry-over for logs: the second keeps its empty service, as the mock collector does.
    assert_eq!(logs[1].service, "");
    let api = get(c.http_addr(), "/api/logs?traceId=t1&service=svc").json();
    assert_eq!(api.as_array().map(Vec::len), Some(1));
    assert_eq!(api[0]["content"], "one");
    assert_eq!(api[0]["contentType"], "text");
}

fn single(name: &str, value: f64) -> Option<meter_data::Metric> {
    Some(meter_data::Metric::SingleValue(MeterSingleValue {
        name: name.into(),
        labels: vec![Label { name: "k".into(), value: "v".into() }],
        value,
    }))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn meters_inherit_service_from_the_first_element() {
    let c = collector();
    let mut client = MeterReportServiceClient::connect(grpc_uri(&c)).await.expect("connect");
    let stream = vec![
        MeterData { service: "svc".into(), service_instance: "i1".into(), timestamp: 1000, metric: single("cpu", 1.0) },
        MeterData {
            metric: Some(meter_data::Metric::Histogram(MeterHistogram {
                name: "latency".into(),
                labels: vec![],
                values: vec![
                    MeterBucketValue { bucket: 0.0, count: 3, is_negative_infinity: false },
                    MeterBucketValue { bucket: 10.0, count: 1, is_negative_infinity: false },
                ],
            })),
            ..MeterData::default()
        },
        // No value at all: counted, not kept.
        MeterData::default(),
    ];
    client.collect(tokio_stream::iter(stream)).await.expect("collect");
    let meters = c.store().meters();
    assert_eq!(meters.len(), 2);
    assert!(meters.iter().all(|(svc, m)| svc == "svc" && m.service_instance == "i1" && m.timestamp == 1000));
    assert_eq!(c.store().stats().meters.ignored, 1);

    client
        .collect_batch(tokio_stream::iter(vec![
            MeterDataCollection {
                meter_data: vec![
                    MeterData { service: "batch".into(), metric: single("cpu", 2.0), ..MeterData::default() },
                    MeterData { metric: single("mem", 3.0), ..MeterData::default() },
                ],
            },
            MeterDataCollection {
                meter_data: vec![MeterData {
                    service: "batch2".into(),
                    metric: single("cpu", 4.0),
                    ..MeterData::default()
                }],
            },
        ]))
        .await
        .expect("collectBatch");
    let services: Vec<String> = c.store().meters().into_iter().map(|(s, _)| s).collect();
    assert_eq!(services, ["svc", "svc", "batch", "batch", "batch2"]);

    let api = get(c.http_addr(), "/api/meters?service=svc").json();
    let names: Vec<&str> = api.as_array().expect("list").iter().filter_map(|m| m["name"].as_str()).collect();
    assert_eq!(names, ["cpu", "latency"]);
    assert_eq!(api[1]["buckets"][1]["count"], 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn configuration_discovery_returns_no_commands_and_events_are_kept() {
    let c = collector();
    let mut cds = ConfigurationDiscoveryServiceClient::connect(grpc_uri(&c)).await.expect("connect");
    let reply = cds
        .fetch_configurations(ConfigurationSyncRequest { service: "svc".into(), uuid: String::new() })
        .await
        .expect("fetch");
    assert!(reply.into_inner().commands.is_empty());

    let mut events = EventServiceClient::connect(grpc_uri(&c)).await.expect("connect");
    events
        .collect(tokio_stream::iter(vec![Event {
            uuid: "u1".into(),
            source: Some(Source { service: "svc".into(), ..Source::default() }),
            name: "Start".into(),
            ..Event::default()
        }]))
        .await
        .expect("events");
    let kept = c.store().events();
    assert_eq!(kept.len(), 1);
    assert_eq!(kept[0].name, "Start");
}

fn arg<'a>(cmd: &'a sw_proto::v3::Command, key: &str) -> &'a str {
    cmd.args.iter().find(|a| a.key == key).map(|a| a.value.as_str()).unwrap_or_else(|| panic!("no {key} in {cmd:?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn profile_task_round_trip() {
    let c = collector();
    let created = post(
        c.http_addr(),
        "/api/profile/tasks",
        r#"{"service": "svc", "endpointName": "/slow", "duration": 2,
            "minDurationThreshold": 50, "dumpPeriod": 20, "maxSamplingCount": 3}"#,
    );
    assert_eq!(created.status, 200, "{}", created.body);
    let task = created.json();
    let task_id = task["id"].as_str().expect("id").to_owned();
    let create_time = task["createTime"].as_i64().expect("createTime");

    let mut client = ProfileTaskClient::connect(grpc_uri(&c)).await.expect("connect");
    let query = |service: &str, last: i64| ProfileTaskCommandQuery {
        service: service.into(),
        service_instance: "i1".into(),
        last_command_time: last,
    };
    let commands = client.get_profile_task_commands(query("svc", 0)).await.expect("query").into_inner().commands;
    assert_eq!(commands.len(), 1);
    let cmd = &commands[0];
    assert_eq!(cmd.command, "ProfileTaskQuery");
    assert_eq!(arg(cmd, "TaskId"), task_id);
    assert_eq!(arg(cmd, "EndpointName"), "/slow");
    assert_eq!(arg(cmd, "Duration"), "2");
    assert_eq!(arg(cmd, "MinDurationThreshold"), "50");
    assert_eq!(arg(cmd, "DumpPeriod"), "20");
    assert_eq!(arg(cmd, "MaxSamplingCount"), "3");
    assert_eq!(arg(cmd, "CreateTime"), create_time.to_string());
    assert!(arg(cmd, "StartTime").parse::<i64>().is_ok());
    assert!(!arg(cmd, "SerialNumber").is_empty());

    // Already seen, or another service: nothing.
    for q in [query("svc", create_time), query("other", 0)] {
        let none = client.get_profile_task_commands(q).await.expect("query").into_inner();
        assert!(none.commands.is_empty());
    }

    let snap = |seg: &str, seq: i32, frames: &[&str]| ThreadSnapshot {
        task_id: task_id.clone(),
        trace_segment_id: seg.into(),
        time: 1000 + i64::from(seq),
        sequence: seq,
        stack: Some(ThreadStack { code_signatures: frames.iter().map(|f| (*f).to_owned()).collect() }),
    };
    client
        .collect_snapshot(tokio_stream::iter(vec![
            snap("seg-1", 0, &["app.py.main: 1", "app.py.slow: 5"]),
            snap("seg-1", 1, &["app.py.main: 1", "app.py.slow: 5"]),
            snap("seg-2", 0, &["app.py.main: 1", "db.py.query: 9"]),
        ]))
        .await
        .expect("snapshots");
    client
        .report_task_finish(ProfileTaskFinishReport {
            service: "svc".into(),
            service_instance: "i1".into(),
            task_id: task_id.clone(),
        })
        .await
        .expect("finish");

    let list = get(c.http_addr(), "/api/profile/tasks").json();
    assert_eq!(list[0]["id"], task_id.as_str());
    assert_eq!(list[0]["snapshotCount"], 3);
    assert_eq!(list[0]["finishes"][0]["serviceInstance"], "i1");
    assert_eq!(list[0]["segmentIds"], serde_json::json!(["seg-1", "seg-2"]));

    let whole = get(c.http_addr(), &format!("/api/profile/analysis?taskId={task_id}")).json();
    let main = &whole["trees"][0];
    assert_eq!(main["codeSignature"], "app.py.main: 1");
    assert_eq!(main["count"], 3);
    assert_eq!(main["duration"], 60);
    assert_eq!(main["children"][0]["codeSignature"], "app.py.slow: 5");
    assert_eq!(main["children"][0]["count"], 2);

    let one = get(c.http_addr(), &format!("/api/profile/analysis?taskId={task_id}&segmentId=seg-2")).json();
    assert_eq!(one["snapshotCount"], 1);
    assert_eq!(one["trees"][0]["children"][0]["codeSignature"], "db.py.query: 9");

    let missing = get(c.http_addr(), "/api/profile/analysis?taskId=nope");
    assert_eq!(missing.status, 404);
    let no_id = get(c.http_addr(), "/api/profile/analysis");
    assert_eq!(no_id.status, 400);
}
