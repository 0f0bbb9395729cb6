//! The reporter against real gRPC servers on loopback: the local collector, a backend that
//! is absent and then appears, a backend that accepts connections but never answers, and a
//! small server that records the metadata it receives.

use std::net::{SocketAddr, TcpListener};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sw_collector::CollectorConfig;
use sw_proto::v3::trace_segment_report_service_server::{TraceSegmentReportService, TraceSegmentReportServiceServer};
use sw_proto::v3::{Commands, SegmentCollection, SegmentObject, SpanObject};
use sw_reporter::{Protocol, Reporter, ReporterConfig};
use tokio_stream::StreamExt;

mod common;
use common::{unused_address, wait_until};

fn config(backend: SocketAddr) -> ReporterConfig {
    common::test_config(backend.to_string(), Protocol::Grpc)
}

fn segment(n: usize) -> SegmentObject {
    SegmentObject {
        trace_id: format!("trace-{n}"),
        trace_segment_id: format!("segment-{n}"),
        spans: vec![SpanObject { span_id: 0, parent_span_id: -1, operation_name: "/op".into(), ..Default::default() }],
        service: "reporter-test".into(),
        service_instance: "instance-1".into(),
        is_size_limited: false,
    }
}

#[test]
fn segments_and_instance_reach_the_collector() {
    let collector = sw_collector::start(CollectorConfig::ephemeral()).unwrap();
    let reporter = Reporter::start(config(collector.grpc_addr())).unwrap();
    for n in 0..200 {
        assert!(reporter.report_segment(segment(n)));
    }
    assert!(reporter.flush(Duration::from_secs(10)), "flush timed out");
    let ids: Vec<String> = collector.store().segments().iter().map(|s| s.trace_segment_id.clone()).collect();
    assert_eq!(ids.len(), 200);
    assert_eq!(ids[0], "segment-0");
    assert_eq!(ids[199], "segment-199");
    let counters = reporter.counters();
    assert_eq!((counters.segments_queued, counters.segments_sent, counters.segments_dropped_queue_full), (200, 200, 0));

    // Properties on the first heartbeat, with the pid added at send time; keepAlives after.
    assert!(wait_until(Duration::from_secs(5), || collector
        .store()
        .instances()
        .iter()
        .any(|i| i.keep_alive_count >= 2)));
    let instance = collector.store().instances().into_iter().find(|i| i.instance == "instance-1").unwrap();
    let keys: Vec<&str> = instance.properties.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(keys, ["language", "OS Name", "Process No."]);
    assert_eq!(instance.properties[2].1, std::process::id().to_string());
    assert!(reporter.shutdown(Duration::from_secs(5)));
}

#[test]
fn a_full_queue_drops_and_counts_without_blocking() {
    let reporter = Reporter::start(ReporterConfig { segment_queue_size: 10, ..config(unused_address()) }).unwrap();
    let started = Instant::now();
    let accepted = (0..1000).filter(|&n| reporter.report_segment(segment(n))).count();
    assert!(started.elapsed() < Duration::from_millis(500), "enqueueing blocked: {:?}", started.elapsed());
    let counters = reporter.counters();
    // The queue holds 10, and nothing leaves it while the backend refuses connections.
    assert_eq!(accepted, 10);
    assert_eq!(counters.segments_queued, accepted as u64);
    assert_eq!(counters.segments_dropped_queue_full, 1000 - accepted as u64);
    assert!(reporter.is_segment_queue_full() || accepted > 10);
}

#[test]
fn data_sent_after_the_backend_appears_arrives() {
    let address = unused_address();
    let reporter = Reporter::start(config(address)).unwrap();
    reporter.report_segment(segment(0));
    // The backend is absent: the reporter probes it, fails, and keeps the segment queued.
    assert!(wait_until(Duration::from_secs(5), || reporter.counters().send_errors >= 2));
    let collector =
        sw_collector::start(CollectorConfig { grpc_addr: address, ..CollectorConfig::ephemeral() }).unwrap();
    reporter.report_segment(segment(1));
    // Probes run about once a second, so the backend is found soon, not after a backoff
    // that grew during the outage; what waited in the queue arrives.
    let arrived = || collector.store().segments().len() == 2;
    assert!(wait_until(Duration::from_secs(10), arrived), "queued segments did not arrive");
    let ids: Vec<String> = collector.store().segments().iter().map(|s| s.trace_segment_id.clone()).collect();
    assert_eq!(ids, vec!["segment-0", "segment-1"]);
    // Counted as sent once their stream completes.
    assert!(wait_until(Duration::from_secs(5), || reporter.counters().segments_sent == 2));
    assert_eq!(reporter.counters().segments_lost_send_error, 0);
}

#[test]
fn a_hung_backend_never_hangs_flush_or_shutdown() {
    // Accepts TCP connections, never speaks HTTP/2.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    let _keep = std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().flatten() {
            held.push(stream);
        }
    });
    let reporter = Reporter::start(config(address)).unwrap();
    reporter.report_segment(segment(0));
    let started = Instant::now();
    assert!(!reporter.flush(Duration::from_millis(500)));
    assert!(!reporter.shutdown(Duration::from_millis(500)));
    assert!(started.elapsed() < Duration::from_secs(3), "took {:?}", started.elapsed());
}

/// Records the `authentication` metadata of every stream.
#[derive(Default, Clone)]
struct Recorder(Arc<Mutex<Vec<Option<String>>>>);

#[tonic::async_trait]
impl TraceSegmentReportService for Recorder {
    async fn collect(
        &self,
        request: tonic::Request<tonic::Streaming<SegmentObject>>,
    ) -> Result<tonic::Response<Commands>, tonic::Status> {
        let token = request.metadata().get("authentication").and_then(|v| v.to_str().ok()).map(str::to_owned);
        self.0.lock().unwrap().push(token);
        let mut stream = request.into_inner();
        while stream.next().await.is_some() {}
        Ok(tonic::Response::new(Commands::default()))
    }

    async fn collect_in_sync(
        &self,
        _request: tonic::Request<SegmentCollection>,
    ) -> Result<tonic::Response<Commands>, tonic::Status> {
        Ok(tonic::Response::new(Commands::default()))
    }
}

#[test]
fn the_authentication_token_is_sent_as_metadata() {
    let recorder = Recorder::default();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let listener = runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
    let address = listener.local_addr().unwrap();
    let service = TraceSegmentReportServiceServer::new(recorder.clone());
    runtime.spawn(
        tonic::transport::Server::builder()
            .add_service(service)
            .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener)),
    );
    let reporter =
        Reporter::start(ReporterConfig { authentication: Some("s3cret".into()), ..config(address) }).unwrap();
    reporter.report_segment(segment(0));
    assert!(reporter.flush(Duration::from_secs(10)));
    assert_eq!(recorder.0.lock().unwrap().as_slice(), [Some("s3cret".to_owned())]);
}

#[test]
fn a_bad_backend_address_is_a_clear_error() {
    let error = Reporter::start(common::test_config("not a uri\u{7f}".into(), Protocol::Grpc)).unwrap_err().to_string();
    assert!(error.contains("invalid collector backend address"), "{error}");
}

/// Accepts segment streams and never reads them, as a backend that has stopped keeping up.
#[derive(Clone)]
struct Stalled;

#[tonic::async_trait]
impl TraceSegmentReportService for Stalled {
    async fn collect(
        &self,
        request: tonic::Request<tonic::Streaming<SegmentObject>>,
    ) -> Result<tonic::Response<Commands>, tonic::Status> {
        let _unread = request.into_inner();
        std::future::pending().await
    }

    async fn collect_in_sync(
        &self,
        _request: tonic::Request<SegmentCollection>,
    ) -> Result<tonic::Response<Commands>, tonic::Status> {
        std::future::pending().await
    }
}

#[test]
fn a_backend_that_stops_reading_holds_the_agent_to_its_queue_size() {
    // The queue size bounds every segment the agent holds unsent, including those the sender
    // took: batches must not pile up between the queue and a connection that does not move.
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let listener = runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
    let address = listener.local_addr().unwrap();
    runtime.spawn(
        // HTTP/2's default windows (hyper's server would take a megabyte before stalling).
        tonic::transport::Server::builder()
            .initial_stream_window_size(65_535)
            .initial_connection_window_size(65_535)
            .add_service(TraceSegmentReportServiceServer::new(Stalled))
            .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener)),
    );
    let capacity = 2_000;
    let reporter = Reporter::start(ReporterConfig { segment_queue_size: capacity, ..config(address) }).unwrap();
    let mut accepted = 0;
    for round in 0..30 {
        accepted += (0..1_000).filter(|n| reporter.report_segment(segment(round * 1_000 + n))).count();
        std::thread::sleep(Duration::from_millis(30));
    }
    // Besides the queue, only what HTTP/2 flow control lets out (a 64 KiB window) and tonic's
    // write buffer (32 KiB before it yields) can be in flight: about 1,100 of these segments.
    let framed = prost::Message::encoded_len(&segment(10_000)) + 5;
    let in_flight = 2 * (65_535 + 32 * 1024) / framed;
    assert!(accepted >= capacity, "the queue itself must fill: {accepted}");
    assert!(accepted <= capacity + in_flight, "{accepted} accepted with a queue of {capacity}");
    let counters = reporter.counters();
    assert_eq!(counters.segments_dropped_queue_full, 30_000 - accepted as u64);
    assert!(!reporter.shutdown(Duration::from_millis(300)), "nothing was acknowledged");
}
