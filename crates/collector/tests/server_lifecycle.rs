//! Starting, stopping, persistence, and the `sw-collector` binary.

mod server_common;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use server_common::*;
use sw_collector::{CollectorConfig, CollectorError};
use sw_proto::v3::trace_segment_report_service_client::TraceSegmentReportServiceClient;

fn temp_path(name: &str) -> PathBuf {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    std::env::temp_dir().join(format!("sw-collector-{name}-{}-{nanos}", std::process::id()))
}

#[test]
fn busy_ports_are_reported_and_shutdown_frees_them() {
    let first = collector();
    let err = sw_collector::start(CollectorConfig { grpc_addr: first.grpc_addr(), ..CollectorConfig::ephemeral() })
        .expect_err("gRPC port is taken");
    assert!(matches!(err, CollectorError::BindGrpc { .. }), "{err}");
    let err = sw_collector::start(CollectorConfig { http_addr: first.http_addr(), ..CollectorConfig::ephemeral() })
        .expect_err("HTTP port is taken");
    assert!(matches!(err, CollectorError::BindHttp { .. }), "{err}");

    let (grpc, http) = (first.grpc_addr(), first.http_addr());
    assert!(first.is_running());
    first.shutdown().expect("clean shutdown");
    // Other tests of this binary run at the same time, and the kernel may hand a port freed
    // here to one of their outgoing connections as its source port (seen once in CI). So
    // the rebind is retried for a while: ports shutdown did not free would fail every time.
    let since = Instant::now();
    let again = loop {
        match sw_collector::start(CollectorConfig { grpc_addr: grpc, http_addr: http, ..CollectorConfig::ephemeral() })
        {
            Ok(again) => break again,
            Err(e) if since.elapsed() < Duration::from_secs(5) => {
                eprintln!("rebinding {grpc} / {http}: {e}; retrying");
                std::thread::sleep(Duration::from_millis(100));
            }
            Err(e) => panic!("ports are not free again after shutdown: {e}"),
        }
    };
    assert_eq!(get(again.http_addr(), "/healthCheck").status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_does_not_wait_for_a_stream_that_never_ends() {
    let c = collector();
    let mut client = TraceSegmentReportServiceClient::connect(grpc_uri(&c)).await.expect("connect");
    let (tx, rx) = tokio::sync::mpsc::channel(1);
    tx.send(segment("t", "s", "svc", vec![span(0, -1, 0, "/x", 1, 2)])).await.expect("send");
    let open = tokio::spawn(async move { client.collect(tokio_stream::wrappers::ReceiverStream::new(rx)).await });
    // Wait until the segment arrived, so the stream is really open.
    let since = Instant::now();
    while c.store().segments().is_empty() && since.elapsed() < Duration::from_secs(5) {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(c.store().segments().len(), 1);
    let stopping = Instant::now();
    tokio::task::spawn_blocking(move || c.shutdown()).await.expect("join").expect("clean shutdown");
    assert!(stopping.elapsed() < Duration::from_secs(5), "{:?}", stopping.elapsed());
    drop(tx);
    let _ = open.await;
}

#[test]
fn persisted_store_survives_a_restart() {
    let path = temp_path("persist");
    let config = CollectorConfig { persist_path: Some(path.clone()), ..CollectorConfig::ephemeral() };
    let c = sw_collector::start(config.clone()).expect("start");
    let body = r#"{"traceId": "t", "traceSegmentId": "kept", "service": "svc",
                   "spans": [{"spanId": 0, "parentSpanId": -1, "operationName": "/x"}]}"#;
    assert_eq!(post(c.http_addr(), "/v3/segment", body).status, 200);
    let task = post(c.http_addr(), "/api/profile/tasks", r#"{"service": "svc", "endpointName": "/x"}"#).json();
    c.shutdown().expect("clean shutdown");
    assert!(path.exists(), "written at shutdown");

    let c = sw_collector::start(config).expect("restart");
    let segments = c.store().segments();
    assert_eq!(segments.len(), 1);
    assert_eq!(segments[0].trace_segment_id, "kept");
    let tasks = get(c.http_addr(), "/api/profile/tasks").json();
    assert_eq!(tasks[0]["id"], task["id"]);
    c.shutdown().expect("clean shutdown");
    let _ = std::fs::remove_file(&path);
}

#[test]
fn a_foreign_persist_file_is_refused_and_left_alone() {
    let path = temp_path("foreign");
    std::fs::write(&path, b"precious data").expect("write");
    let err = sw_collector::start(CollectorConfig { persist_path: Some(path.clone()), ..CollectorConfig::ephemeral() })
        .expect_err("not a store file");
    assert!(matches!(err, CollectorError::Load { .. }), "{err}");
    assert_eq!(std::fs::read(&path).expect("read"), b"precious data");
    let _ = std::fs::remove_file(&path);
}

#[test]
fn binary_serves_and_exits_cleanly_on_sigterm() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_sw-collector"))
        .args(["--grpc", "127.0.0.1:0", "--http=127.0.0.1:0", "--max-segments", "10"])
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut stderr = BufReader::new(child.stderr.take().expect("stderr"));
    let mut line = String::new();
    stderr.read_line(&mut line).expect("startup line");
    // "sw-collector: gRPC on ADDR, HTTP on http://ADDR, web page http://ADDR/"
    let http: SocketAddr = line
        .split("HTTP on http://")
        .nth(1)
        .and_then(|rest| rest.split(',').next())
        .and_then(|a| a.trim().parse().ok())
        .unwrap_or_else(|| panic!("no HTTP address in {line:?}"));
    assert!(line.contains("gRPC on 127.0.0.1:"), "{line}");
    assert_eq!(get(http, "/healthCheck").body, "Success");
    assert_eq!(get(http, "/api/stats").json()["limits"]["maxSegments"], 10);

    let killed = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().expect("kill");
    assert!(killed.success());
    let since = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        assert!(since.elapsed() < Duration::from_secs(10), "did not exit");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "{status:?}");
}

#[test]
fn binary_rejects_bad_arguments() {
    let out = Command::new(env!("CARGO_BIN_EXE_sw-collector")).args(["--max-segments", "lots"]).output().expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a count"));
}
