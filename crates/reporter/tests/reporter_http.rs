//! `agent_protocol=http` against real sockets: the local collector (which parses OAP's JSON
//! strictly), a small recording HTTP server (plain or TLS) that can answer 500, a backend
//! that is absent and then appears, and one that accepts connections but never answers.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sw_collector::CollectorConfig;
use sw_proto::v3::{
    Commands, KeyStringValuePair, Log, RefType, SegmentObject, SegmentReference, SpanLayer, SpanObject, SpanType,
    ThreadSnapshot,
};
use sw_reporter::{CommandHandler, Protocol, Reporter, ReporterConfig, ReporterError};
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::{ServerConfig, ServerConnection, StreamOwned};

mod common;
use common::{make_certificates, unused_address, wait_until};

fn config(backend: String) -> ReporterConfig {
    common::test_config(backend, Protocol::Http)
}

fn kv(key: &str, value: &str) -> KeyStringValuePair {
    KeyStringValuePair { key: key.into(), value: value.into() }
}

/// A segment with what JSON can get wrong: both ref types, escapes and non-ASCII in names
/// and tags, logs, error flags, every layer, 13-digit timestamps.
fn segment(n: usize) -> SegmentObject {
    let start = 1_700_000_000_000 + n as i64;
    let exit = SpanObject {
        span_id: 1,
        parent_span_id: 0,
        start_time: start + 1,
        end_time: start + 5,
        operation_name: format!("SELECT \"t{n}\" FROM x WHERE a = '\\\\' -- ü\n\t\u{1}"),
        peer: "db.internal:5432".into(),
        span_type: SpanType::Exit as i32,
        span_layer: (n % 7) as i32,
        component_id: 22,
        is_error: n.is_multiple_of(3),
        tags: vec![kv("db.type", "sql"), kv("db.statement", "a\"b\\c\r\nd"), kv("クエリ", "値 🚀")],
        logs: vec![Log {
            time: start + 4,
            data: vec![kv("event", "error"), kv("error.kind", "Boom"), kv("message", "line1\nline2")],
        }],
        ..Default::default()
    };
    let entry = SpanObject {
        span_id: 0,
        parent_span_id: -1,
        start_time: start,
        end_time: start + 9,
        refs: vec![
            SegmentReference {
                ref_type: RefType::CrossProcess as i32,
                trace_id: format!("trace-{n}"),
                parent_trace_segment_id: format!("caller-{n}"),
                parent_span_id: 2,
                parent_service: "caller".into(),
                parent_service_instance: "caller-1".into(),
                parent_endpoint: "/call".into(),
                network_address_used_at_peer: "me:8080".into(),
            },
            SegmentReference {
                ref_type: RefType::CrossThread as i32,
                trace_id: format!("trace-{n}"),
                parent_trace_segment_id: format!("thread-parent-{n}"),
                parent_span_id: 0,
                parent_service: "reporter-test".into(),
                parent_service_instance: "instance-1".into(),
                parent_endpoint: "/users/{id}".into(),
                network_address_used_at_peer: String::new(),
            },
        ],
        operation_name: format!("/users/{n}?q=\"x\""),
        span_type: SpanType::Entry as i32,
        span_layer: SpanLayer::Http as i32,
        component_id: 7014,
        is_error: n.is_multiple_of(2),
        tags: vec![kv("http.method", "GET"), kv("http.status_code", "500")],
        skip_analysis: n.is_multiple_of(5),
        ..Default::default()
    };
    let local = SpanObject {
        span_id: 2,
        parent_span_id: 0,
        start_time: start + 6,
        end_time: start + 7,
        operation_name: "compute".into(),
        span_type: SpanType::Local as i32,
        span_layer: SpanLayer::Unknown as i32,
        ..Default::default()
    };
    SegmentObject {
        trace_id: format!("trace-{n}"),
        trace_segment_id: format!("segment-{n}"),
        // Finish order: children before their parent.
        spans: vec![exit, local, entry],
        service: "reporter-test".into(),
        service_instance: "instance-1".into(),
        is_size_limited: n.is_multiple_of(4),
    }
}

#[test]
fn segments_arrive_as_they_were_sent() {
    let collector = sw_collector::start(CollectorConfig::ephemeral()).unwrap();
    // The address form with a scheme and a trailing slash.
    let reporter = Reporter::start(config(format!("http://{}/", collector.http_addr()))).unwrap();
    let sent: Vec<SegmentObject> = (0..250).map(segment).collect();
    for s in &sent {
        assert!(reporter.report_segment(s.clone()));
    }
    assert!(reporter.flush(Duration::from_secs(10)), "flush timed out");
    let received = collector.store().segments();
    assert_eq!(received.len(), sent.len());
    for (got, want) in received.iter().zip(&sent) {
        assert_eq!(got.trace_segment_id, want.trace_segment_id, "order changed");
        assert_eq!(got.is_size_limited, want.is_size_limited);
        for (got_span, want_span) in got.spans.iter().zip(&want.spans) {
            assert_eq!(got_span.operation_name, want_span.operation_name);
            assert_eq!(got_span.refs, want_span.refs, "refs of {}", want.trace_segment_id);
            assert_eq!(got_span.tags, want_span.tags);
            assert_eq!(got_span.logs, want_span.logs);
            assert_eq!((got_span.span_type, got_span.span_layer), (want_span.span_type, want_span.span_layer));
            assert_eq!((got_span.is_error, got_span.skip_analysis), (want_span.is_error, want_span.skip_analysis));
        }
        // And every other field.
        assert_eq!(got, want);
    }
    let cross_thread = &received[0].spans[2].refs[1];
    assert_eq!(cross_thread.ref_type, RefType::CrossThread as i32, "the ref type must survive");
    let counters = reporter.counters();
    assert_eq!((counters.segments_queued, counters.segments_sent), (250, 250));
    assert_eq!((counters.segments_lost_send_error, counters.segments_dropped_queue_full), (0, 0));
    assert!(reporter.shutdown(Duration::from_secs(5)));
}

#[test]
fn instance_properties_and_keep_alives_arrive() {
    let collector = sw_collector::start(CollectorConfig::ephemeral()).unwrap();
    let reporter = Reporter::start(config(collector.http_addr().to_string())).unwrap();
    assert!(wait_until(Duration::from_secs(5), || collector
        .store()
        .instances()
        .iter()
        .any(|i| i.keep_alive_count >= 2)));
    let instance = collector.store().instances().into_iter().find(|i| i.instance == "instance-1").unwrap();
    assert_eq!(instance.service, "reporter-test");
    let keys: Vec<&str> = instance.properties.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(keys, ["language", "OS Name", "Process No."]);
    assert_eq!(instance.properties[2].1, std::process::id().to_string());
    let counters = reporter.counters();
    assert!(counters.heartbeats >= 2 && counters.properties_reported >= 1, "{counters:?}");
    assert!(reporter.shutdown(Duration::from_secs(5)));
}

/// One request as the recording server saw it.
#[derive(Debug, Clone)]
struct Seen {
    connection: usize,
    line: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Seen {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
}

#[derive(Debug, Clone, Default)]
struct Recorder(Arc<Mutex<Vec<Seen>>>);

impl Recorder {
    fn seen(&self) -> Vec<Seen> {
        self.0.lock().unwrap().clone()
    }

    fn paths(&self, path: &str) -> Vec<Seen> {
        self.seen().into_iter().filter(|s| s.line == format!("POST {path} HTTP/1.1")).collect()
    }
}

/// An HTTP/1.1 server that records every request and answers each with `status`; keeps
/// connections alive; optionally behind TLS.
fn serve(status: u16, tls: Option<Arc<ServerConfig>>) -> (SocketAddr, Recorder) {
    serve_with(status, tls, true)
}

/// [`serve`], optionally closing every connection after its first answer.
fn serve_with(status: u16, tls: Option<Arc<ServerConfig>>, keep_alive: bool) -> (SocketAddr, Recorder) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    let recorder = Recorder::default();
    let seen = recorder.clone();
    std::thread::spawn(move || {
        for (connection, stream) in listener.incoming().enumerate() {
            let Ok(stream) = stream else { continue };
            let (seen, tls) = (seen.clone(), tls.clone());
            std::thread::spawn(move || match tls {
                None => answer(stream, connection, status, keep_alive, &seen),
                Some(config) => {
                    let Ok(session) = ServerConnection::new(config) else { return };
                    answer(StreamOwned::new(session, stream), connection, status, keep_alive, &seen);
                }
            });
        }
    });
    (address, recorder)
}

fn answer(stream: impl Read + Write, connection: usize, status: u16, keep_alive: bool, seen: &Recorder) {
    let mut reader = BufReader::new(stream);
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let mut headers = Vec::new();
        loop {
            let mut header = String::new();
            if reader.read_line(&mut header).unwrap_or(0) == 0 {
                return;
            }
            let header = header.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':') {
                headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
            }
        }
        let length = headers.iter().find(|(k, _)| k == "content-length").and_then(|(_, v)| v.parse().ok());
        let mut body = vec![0; length.unwrap_or(0)];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        seen.0.lock().unwrap().push(Seen { connection, line: line.trim_end().to_owned(), headers, body });
        let text = if status == 200 { "{}" } else { "something broke\n" };
        let response = format!(
            "HTTP/1.1 {status} {}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\r\n{text}",
            if status == 200 { "OK" } else { "Failure" },
            text.len()
        );
        let stream = reader.get_mut();
        if stream.write_all(response.as_bytes()).and_then(|()| stream.flush()).is_err() || !keep_alive {
            return;
        }
    }
}

#[test]
fn segments_go_in_batches_on_one_kept_alive_connection_under_a_path_prefix() {
    let (address, recorder) = serve(200, None);
    let reporter = Reporter::start(config(format!("{address}/skywalking/"))).unwrap();
    let sent: Vec<SegmentObject> = (0..250).map(segment).collect();
    for s in &sent {
        assert!(reporter.report_segment(s.clone()));
    }
    assert!(reporter.flush(Duration::from_secs(10)), "flush timed out");
    let posts = recorder.paths("/skywalking/v3/segments");
    let mut received = Vec::new();
    for post in &posts {
        let batch = sw_collector::json::parse_segments(&post.body).expect("a JSON array of segments");
        assert!((1..=100).contains(&batch.len()), "batch of {}", batch.len());
        assert_eq!(post.header("content-type"), Some("application/json"));
        assert_eq!(post.header("host"), Some(address.to_string().as_str()));
        received.extend(batch);
    }
    assert_eq!(received, sent);
    assert!(posts.len() <= 10, "{} requests for 250 segments", posts.len());
    let connections: std::collections::BTreeSet<usize> = posts.iter().map(|p| p.connection).collect();
    assert_eq!(connections.len(), 1, "segment requests used connections {connections:?}");

    assert!(wait_until(Duration::from_secs(5), || recorder.paths("/skywalking/v3/management/keepAlive").len() >= 2));
    let properties = recorder.paths("/skywalking/v3/management/reportProperties");
    let first = sw_collector::json::parse_properties(&properties[0].body).expect("InstanceProperties JSON");
    assert_eq!((first.service.as_str(), first.service_instance.as_str()), ("reporter-test", "instance-1"));
    let ping = recorder.paths("/skywalking/v3/management/keepAlive")[0].clone();
    let ping = sw_collector::json::parse_ping(&ping.body).expect("InstancePingPkg JSON");
    assert_eq!(ping.service_instance, "instance-1");
    assert!(reporter.shutdown(Duration::from_secs(5)));
}

#[test]
fn a_server_that_closes_connections_costs_nothing() {
    // Closes each connection after one answer, without saying so in a header.
    let (address, recorder) = serve_with(200, None, false);
    let reporter = Reporter::start(config(address.to_string())).unwrap();
    for n in 0..3 {
        assert!(reporter.report_segment(segment(n)));
        assert!(reporter.flush(Duration::from_secs(5)), "flush {n} timed out");
        std::thread::sleep(Duration::from_millis(50));
    }
    let posts = recorder.paths("/v3/segments");
    assert_eq!(posts.len(), 3);
    let connections: std::collections::BTreeSet<usize> = posts.iter().map(|p| p.connection).collect();
    assert_eq!(connections.len(), 3, "each request needed a new connection");
    let counters = reporter.counters();
    assert_eq!((counters.segments_sent, counters.segments_lost_send_error), (3, 0));
    assert!(reporter.shutdown(Duration::from_secs(5)));
}

#[test]
fn a_failing_backend_counts_send_errors_and_lost_segments() {
    let (address, recorder) = serve(500, None);
    let reporter = Reporter::start(config(address.to_string())).unwrap();
    for n in 0..5 {
        assert!(reporter.report_segment(segment(n)));
    }
    let started = Instant::now();
    assert!(!reporter.flush(Duration::from_secs(1)), "a flush of lost segments must report failure");
    assert!(started.elapsed() < Duration::from_secs(2), "flush took {:?}", started.elapsed());
    assert!(wait_until(Duration::from_secs(10), || reporter.counters().segments_lost_send_error == 5));
    assert!(wait_until(Duration::from_secs(5), || !recorder.paths("/v3/management/keepAlive").is_empty()));
    // The server records a request before the reporter has read its 500 and counted it.
    assert!(wait_until(Duration::from_secs(5), || reporter.counters().send_errors >= 2), "{:?}", reporter.counters());
    let counters = reporter.counters();
    assert_eq!(counters.segments_sent, 0);
    assert_eq!((counters.heartbeats, counters.properties_reported), (0, 0));
    assert!(!recorder.paths("/v3/segments").is_empty(), "the requests did reach the server");
}

#[test]
fn a_dead_backend_drops_and_counts_without_blocking() {
    let reporter =
        Reporter::start(ReporterConfig { segment_queue_size: 10, ..config(unused_address().to_string()) }).unwrap();
    let started = Instant::now();
    let accepted = (0..1000).filter(|&n| reporter.report_segment(segment(n))).count();
    assert!(started.elapsed() < Duration::from_millis(500), "enqueueing blocked: {:?}", started.elapsed());
    let counters = reporter.counters();
    // The queue holds 10, and nothing leaves it while the backend refuses connections.
    assert_eq!(accepted, 10);
    assert_eq!(counters.segments_queued, accepted as u64);
    assert_eq!(counters.segments_dropped_queue_full, 1000 - accepted as u64);
    assert!(wait_until(Duration::from_secs(5), || reporter.counters().send_errors > 0));
    assert_eq!(reporter.counters().segments_lost_send_error, 0, "probes, not sends, find the backend down");
    // Nothing can be sent, so the flush fails, but neither it nor shutdown hangs.
    let started = Instant::now();
    let _ = reporter.shutdown(Duration::from_secs(1));
    assert!(started.elapsed() < Duration::from_secs(2), "shutdown took {:?}", started.elapsed());
}

#[test]
fn data_sent_after_the_backend_appears_arrives() {
    let address = unused_address();
    let reporter = Reporter::start(config(address.to_string())).unwrap();
    reporter.report_segment(segment(0));
    // The backend is absent: the reporter probes it, fails, and keeps the segment queued.
    assert!(wait_until(Duration::from_secs(5), || reporter.counters().send_errors >= 2));
    let collector =
        sw_collector::start(CollectorConfig { http_addr: address, ..CollectorConfig::ephemeral() }).unwrap();
    reporter.report_segment(segment(1));
    // Probed about once a second: found soon, and what waited in the queue arrives.
    assert!(wait_until(Duration::from_secs(10), || collector.store().segments().len() == 2));
    let ids: Vec<String> = collector.store().segments().iter().map(|s| s.trace_segment_id.clone()).collect();
    assert_eq!(ids, vec!["segment-0", "segment-1"]);
    assert_eq!(reporter.counters().segments_lost_send_error, 0);
    // Management recovers too.
    assert!(wait_until(Duration::from_secs(5), || collector
        .store()
        .instances()
        .iter()
        .any(|i| i.keep_alive_count > 0)));
}

#[test]
fn a_hung_backend_never_hangs_flush_or_shutdown() {
    // Accepts TCP connections, never answers.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().flatten() {
            held.push(stream);
        }
    });
    let reporter =
        Reporter::start(ReporterConfig { call_timeout: Duration::from_millis(700), ..config(address.to_string()) })
            .unwrap();
    reporter.report_segment(segment(0));
    let started = Instant::now();
    assert!(!reporter.flush(Duration::from_millis(300)));
    assert!(started.elapsed() < Duration::from_secs(1), "flush took {:?}", started.elapsed());
    // The request deadline turns the hang into a counted failure.
    assert!(wait_until(Duration::from_secs(5), || reporter.counters().segments_lost_send_error == 1));
    reporter.report_segment(segment(1));
    let started = Instant::now();
    assert!(!reporter.shutdown(Duration::from_millis(300)));
    assert!(started.elapsed() < Duration::from_secs(1), "shutdown took {:?}", started.elapsed());
}

/// Counts how often the reporter asks for profile tasks.
#[derive(Default)]
struct Polls(AtomicUsize);

impl CommandHandler for Polls {
    fn last_command_time(&self) -> i64 {
        self.0.fetch_add(1, Ordering::Relaxed);
        0
    }

    fn handle(&self, _commands: Commands) {}
}

#[test]
fn profiling_is_not_available_over_http() {
    let collector = sw_collector::start(CollectorConfig::ephemeral()).unwrap();
    let polls = Arc::new(Polls::default());
    let reporter = Reporter::start_with(config(collector.http_addr().to_string()), Some(polls.clone())).unwrap();
    assert!(reporter.report_snapshot(ThreadSnapshot { task_id: "t".into(), ..Default::default() }));
    reporter.report_task_finish("t".into());
    assert!(wait_until(Duration::from_secs(5), || reporter.counters().snapshots_lost_send_error == 1));
    // Segments still flow while profiling data is discarded.
    reporter.report_segment(segment(0));
    assert!(reporter.flush(Duration::from_secs(5)));
    assert_eq!(collector.store().segments().len(), 1);
    assert_eq!(polls.0.load(Ordering::Relaxed), 0, "profile tasks must not be polled over HTTP");
    assert_eq!(reporter.counters().snapshots_sent, 0);
    assert!(reporter.shutdown(Duration::from_secs(5)));
}

#[test]
fn a_bad_backend_address_is_refused_at_start() {
    for backend in ["grpc://oap:11800", "oap:notaport", "::1:12800", ""] {
        match Reporter::start(config(backend.into())) {
            Err(ReporterError::InvalidBackend { address, .. }) => assert_eq!(address, backend),
            other => panic!("{backend:?}: expected InvalidBackend, got {other:?}"),
        }
    }
}

// ---------------------------------------------------------------------------------------
// HTTPS. The trust store comes from `SSL_CERT_FILE`, a process-wide variable, so the
// checks run in child processes of this test binary with their own environment.
// ---------------------------------------------------------------------------------------

const TLS_DIR: &str = "SW_TEST_HTTPS_DIR";
const TLS_EXPECT: &str = "SW_TEST_HTTPS_EXPECT";

fn run_child(dir: &Path, trusted_ca: &str, expect: &str) {
    let output = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "https_child", "--ignored", "--nocapture", "--test-threads=1"])
        .env("SSL_CERT_FILE", dir.join(trusted_ca))
        .env_remove("SSL_CERT_DIR")
        .env(TLS_DIR, dir)
        .env(TLS_EXPECT, expect)
        .output()
        .expect("the test binary runs");
    let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success() && text.contains("1 passed"), "child ({expect}) failed:\n{text}");
}

#[test]
fn https_to_a_trusted_server_works_and_an_untrusted_one_is_refused() {
    let dir: PathBuf = std::env::temp_dir().join(format!("sw-http-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    make_certificates(&dir, &["ca", "other-ca"]);
    run_child(&dir, "ca.pem", "sent");
    run_child(&dir, "other-ca.pem", "refused");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
#[ignore = "run as a child process by https_to_a_trusted_server_works_and_an_untrusted_one_is_refused"]
fn https_child() {
    let (Some(dir), Some(expect)) = (std::env::var_os(TLS_DIR), std::env::var(TLS_EXPECT).ok()) else {
        panic!("only meaningful as a child of the HTTPS test");
    };
    let dir = PathBuf::from(dir);
    let certificates: Vec<CertificateDer<'static>> =
        CertificateDer::pem_file_iter(dir.join("server.pem")).unwrap().collect::<Result<_, _>>().unwrap();
    let key = PrivateKeyDer::from_pem_file(dir.join("server.key")).unwrap();
    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let server = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(certificates, key)
        .unwrap();
    let (address, recorder) = serve(200, Some(Arc::new(server)));
    // The certificate names `localhost`; `force_tls` turns the plain form into HTTPS.
    let reporter =
        Reporter::start(ReporterConfig { force_tls: true, ..config(format!("localhost:{}", address.port())) }).unwrap();
    reporter.report_segment(segment(7));
    match expect.as_str() {
        "sent" => {
            assert!(reporter.flush(Duration::from_secs(10)), "flush over HTTPS timed out");
            let posts = recorder.paths("/v3/segments");
            let batch = sw_collector::json::parse_segments(&posts[0].body).unwrap();
            assert_eq!(batch, vec![segment(7)]);
            assert!(reporter.shutdown(Duration::from_secs(5)));
        }
        _ => {
            assert!(!reporter.flush(Duration::from_secs(1)));
            assert!(wait_until(Duration::from_secs(5), || reporter.counters().send_errors > 0));
            assert!(recorder.seen().is_empty(), "no request may pass an untrusted certificate");
            assert_eq!(reporter.counters().segments_lost_send_error, 1);
        }
    }
}
