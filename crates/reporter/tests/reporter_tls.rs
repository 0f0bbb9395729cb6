//! `agent_force_tls`: the reporter verifies the backend's certificate against the system's
//! roots. The test makes its own CA with the `openssl` command, serves TLS with it, and
//! points the root store at that CA through `SSL_CERT_FILE` (read by rustls-native-certs).
//! It lives in its own test binary because it sets a process-wide environment variable.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use sw_proto::v3::trace_segment_report_service_server::{TraceSegmentReportService, TraceSegmentReportServiceServer};
use sw_proto::v3::{Commands, SegmentCollection, SegmentObject};
use sw_reporter::{Protocol, Reporter, ReporterConfig};
use tokio_stream::StreamExt;
use tonic::transport::{Identity, Server, ServerTlsConfig};

mod common;

#[derive(Default, Clone)]
struct Counter(Arc<Mutex<usize>>);

#[tonic::async_trait]
impl TraceSegmentReportService for Counter {
    async fn collect(
        &self,
        request: tonic::Request<tonic::Streaming<SegmentObject>>,
    ) -> Result<tonic::Response<Commands>, tonic::Status> {
        let mut stream = request.into_inner();
        while let Some(Ok(_)) = stream.next().await {
            *self.0.lock().unwrap() += 1;
        }
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
fn segments_travel_over_tls_and_an_untrusted_server_is_refused() {
    let dir = std::env::temp_dir().join(format!("sw-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    common::make_certificates(&dir, &["ca"]);
    // SAFETY-free: this test binary has a single test, so nothing reads the env concurrently.
    unsafe { std::env::set_var("SSL_CERT_FILE", dir.join("ca.pem")) };

    let counter = Counter::default();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let listener = runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
    let port = listener.local_addr().unwrap().port();
    let identity = Identity::from_pem(
        std::fs::read(dir.join("server.pem")).unwrap(),
        std::fs::read(dir.join("server.key")).unwrap(),
    );
    let server = Server::builder()
        .tls_config(ServerTlsConfig::new().identity(identity))
        .unwrap()
        .add_service(TraceSegmentReportServiceServer::new(counter.clone()))
        .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener));
    runtime.spawn(server);

    let config = ReporterConfig { force_tls: true, ..common::test_config(format!("localhost:{port}"), Protocol::Grpc) };
    let reporter = Reporter::start(config.clone()).unwrap();
    for n in 0..5 {
        reporter.report_segment(SegmentObject { trace_segment_id: n.to_string(), ..Default::default() });
    }
    assert!(reporter.flush(Duration::from_secs(10)), "TLS delivery timed out");
    assert_eq!(*counter.0.lock().unwrap(), 5);

    // Plain gRPC against the TLS port fails instead of sending in clear text.
    let plain = Reporter::start(ReporterConfig { force_tls: false, ..config }).unwrap();
    plain.report_segment(SegmentObject::default());
    assert!(!plain.flush(Duration::from_secs(2)));
    assert_eq!(*counter.0.lock().unwrap(), 5);
    let _ = std::fs::remove_dir_all(dir);
}
