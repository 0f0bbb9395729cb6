//! Robustness: many concurrent streams against a small store, and malformed protobuf.

mod server_common;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use prost::bytes::{Buf, BufMut};
use prost::Message;
use server_common::*;
use sw_proto::v3::trace_segment_report_service_client::TraceSegmentReportServiceClient;
use sw_proto::v3::Commands;
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::codegen::http::uri::PathAndQuery;
use tonic::transport::Channel;
use tonic::{Code, Status};

const STREAMS: usize = 20;
const LIMIT: usize = 200;

/// Flood length: 30 s by default, `SW_COLLECTOR_FLOOD_SECS` to change it.
fn flood_time() -> Duration {
    let secs = std::env::var("SW_COLLECTOR_FLOOD_SECS").ok().and_then(|v| v.parse().ok()).unwrap_or(30);
    Duration::from_secs(secs)
}

/// Resident memory of this process (collector and flooding clients), from /proc.
fn rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kib: f64 = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0);
    kib / 1024.0
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flood_keeps_the_store_bounded_and_the_collector_up() {
    let c = collector_with_limits(LIMIT);
    let rss_before = rss_mib();
    let deadline = Instant::now() + flood_time();
    let sent = Arc::new(AtomicU64::new(0));
    let mut senders = Vec::new();
    for stream_no in 0..STREAMS {
        let uri = grpc_uri(&c);
        let sent = sent.clone();
        senders.push(tokio::spawn(async move {
            let mut client = TraceSegmentReportServiceClient::connect(uri).await.expect("connect");
            let mut batch_no = 0u64;
            while Instant::now() < deadline {
                // Streams of a few hundred segments, opened one after another, as agents do.
                let prefix = format!("s{stream_no}-b{batch_no}");
                let batch = (0..250).map(move |i| {
                    segment(
                        &format!("{prefix}-{i}"),
                        &format!("{prefix}-{i}"),
                        "flood",
                        vec![span(0, -1, 0, "/flood", 1, 2)],
                    )
                });
                client.collect(tokio_stream::iter(batch)).await.expect("collector answers under load");
                sent.fetch_add(250, Ordering::Relaxed);
                batch_no += 1;
            }
        }));
    }

    // While the flood runs, the store never exceeds its limit and HTTP keeps answering.
    let addr = c.http_addr();
    let store = c.store().clone();
    let watching = Arc::new(AtomicBool::new(true));
    let watcher = {
        let watching = watching.clone();
        tokio::task::spawn_blocking(move || {
            let mut checks = 0;
            let mut peak = 0.0_f64;
            while watching.load(Ordering::Relaxed) {
                peak = peak.max(rss_mib());
                let stats = get(addr, "/api/stats").json();
                let stored = stats["segments"]["stored"].as_u64().expect("stored");
                assert!(stored <= LIMIT as u64, "store holds {stored} > {LIMIT}");
                assert!(store.segments().len() <= LIMIT);
                checks += 1;
                std::thread::sleep(Duration::from_millis(100));
            }
            (checks, peak)
        })
    };
    for s in senders {
        s.await.expect("sender finished");
    }
    watching.store(false, Ordering::Relaxed);
    let (checks, peak) = watcher.await.expect("watcher");
    assert!(checks > 0);
    // Memory stays bounded by the store's limits: hundreds of thousands of segments went
    // through, keeping them would take gigabytes.
    eprintln!("flood: RSS {rss_before:.0} MiB before, peak {peak:.0} MiB");
    assert!(peak - rss_before < 64.0, "RSS grew from {rss_before:.0} to {peak:.0} MiB");

    let sent = sent.load(Ordering::Relaxed);
    let stats = c.store().stats().segments;
    eprintln!("flood: {sent} segments sent, stats {stats:?}");
    assert_eq!(stats.received, sent, "every acknowledged segment was counted");
    assert_eq!(stats.stored, LIMIT as u64);
    assert_eq!(stats.evicted, sent - LIMIT as u64);
    assert!(sent > 10 * LIMIT as u64, "the flood was a flood: {sent}");
    assert_eq!(get(addr, "/healthCheck").status, 200);
    // The YAML dump of a full store still works.
    assert!(get(addr, "/receiveData").body.contains("segmentSize: 200"));
    c.shutdown().expect("clean shutdown after the flood");
}

/// Sends raw bytes as gRPC messages and decodes replies as `Commands`.
#[derive(Clone, Default)]
struct RawCodec;

struct RawEncoder;
struct CommandsDecoder;

impl Encoder for RawEncoder {
    type Item = Vec<u8>;
    type Error = Status;

    fn encode(&mut self, item: Vec<u8>, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        dst.put_slice(&item);
        Ok(())
    }
}

impl Decoder for CommandsDecoder {
    type Item = Commands;
    type Error = Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Commands>, Status> {
        let bytes = src.copy_to_bytes(src.remaining());
        Commands::decode(bytes).map(Some).map_err(|e| Status::internal(e.to_string()))
    }
}

impl Codec for RawCodec {
    type Encode = Vec<u8>;
    type Decode = Commands;
    type Encoder = RawEncoder;
    type Decoder = CommandsDecoder;

    fn encoder(&mut self) -> RawEncoder {
        RawEncoder
    }

    fn decoder(&mut self) -> CommandsDecoder {
        CommandsDecoder
    }
}

async fn raw_stream(channel: Channel, path: &'static str, messages: Vec<Vec<u8>>) -> Result<Commands, Status> {
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready().await.map_err(|e| Status::unknown(e.to_string()))?;
    grpc.client_streaming(tonic::Request::new(tokio_stream::iter(messages)), PathAndQuery::from_static(path), RawCodec)
        .await
        .map(tonic::Response::into_inner)
}

async fn raw_unary(channel: Channel, path: &'static str, message: Vec<u8>) -> Result<Commands, Status> {
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready().await.map_err(|e| Status::unknown(e.to_string()))?;
    grpc.unary(tonic::Request::new(message), PathAndQuery::from_static(path), RawCodec)
        .await
        .map(tonic::Response::into_inner)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_protobuf_is_an_error_status_not_a_crash() {
    let c = collector();
    let channel = Channel::from_shared(grpc_uri(&c)).expect("uri").connect().await.expect("connect");
    // Wire type 7 does not exist; a length prefix that runs past the end.
    let garbage = vec![0xff, 0xff, 0xff, 0xff, 0x0f];
    let truncated = vec![0x0a, 0x7f, b'x'];
    let good = sw_proto::v3::SegmentObject {
        trace_segment_id: "ok".into(),
        spans: vec![span(0, -1, 0, "/ok", 1, 2)],
        ..Default::default()
    }
    .encode_to_vec();

    for bad in [garbage.clone(), truncated] {
        let status =
            raw_stream(channel.clone(), "/skywalking.v3.TraceSegmentReportService/collect", vec![good.clone(), bad])
                .await
                .expect_err("garbage must fail");
        assert_ne!(status.code(), Code::Ok);
    }
    let status = raw_unary(channel.clone(), "/skywalking.v3.ManagementService/keepAlive", garbage.clone())
        .await
        .expect_err("garbage must fail");
    assert_eq!(status.code(), Code::Internal, "{status:?}");

    // Larger than the 4 MiB message limit.
    let huge = vec![0u8; 5 * 1024 * 1024];
    let status = raw_stream(channel.clone(), "/skywalking.v3.LogReportService/collect", vec![huge])
        .await
        .expect_err("oversized message must fail");
    assert_eq!(status.code(), Code::OutOfRange, "{status:?}");

    // An unknown method is UNIMPLEMENTED.
    let status =
        raw_unary(channel.clone(), "/skywalking.v3.Nope/nothing", good.clone()).await.expect_err("unknown method");
    assert_eq!(status.code(), Code::Unimplemented);

    let stats = c.store().stats();
    assert_eq!(stats.segments.rejected, 2);
    assert_eq!(stats.logs.rejected, 1);
    // The good message before each fault was kept, and the collector still works.
    assert_eq!(c.store().segments().len(), 2);
    let ok = raw_stream(channel, "/skywalking.v3.TraceSegmentReportService/collect", vec![good])
        .await
        .expect("valid stream after garbage");
    assert!(ok.commands.is_empty());
    assert_eq!(get(c.http_addr(), "/healthCheck").status, 200);
    c.shutdown().expect("clean shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_segment_broken_inside_is_refused_or_dropped_and_counted() {
    // The receiver walks a segment's framing two levels deep on arrival (spans and what they
    // hold) and decodes it only when the store is read. A span whose framing is broken is
    // refused at once; a span that frames soundly but does not decode (a string that is not
    // UTF-8) is found at the read, counted and dropped.
    let c = collector();
    let channel = Channel::from_shared(grpc_uri(&c)).expect("uri").connect().await.expect("connect");
    let good = sw_proto::v3::SegmentObject {
        trace_segment_id: "ok".into(),
        service: "svc".into(),
        spans: vec![span(0, -1, 0, "/ok", 1, 2)],
        ..Default::default()
    }
    .encode_to_vec();
    // Field 3 (a span) of two bytes whose first key has wire type 7.
    let broken_span = vec![0x1a, 0x02, 0x0f, 0x00];
    let refused = raw_stream(channel.clone(), "/skywalking.v3.TraceSegmentReportService/collect", vec![broken_span])
        .await
        .expect_err("broken framing inside a span is refused");
    assert_eq!(refused.code(), Code::InvalidArgument);
    // Field 3 (a span) holding field 6 (operationName) of one byte that is not UTF-8.
    let not_utf8 = vec![0x1a, 0x03, 0x32, 0x01, 0xff];
    raw_stream(channel, "/skywalking.v3.TraceSegmentReportService/collect", vec![not_utf8, good.clone()])
        .await
        .expect("sound framing is accepted");
    assert_eq!(c.store().stats().segments.stored, 2, "both held, undecoded");
    let kept: Vec<String> = c.store().segments().into_iter().map(|s| s.trace_segment_id).collect();
    assert_eq!(kept, ["ok"]);
    let stats = c.store().stats().segments;
    assert_eq!((stats.received, stats.stored, stats.rejected), (2, 1, 2));
    c.shutdown().expect("clean shutdown");
}
