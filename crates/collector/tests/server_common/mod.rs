//! Helpers shared by the `server_*` integration tests: a collector on loopback ports, a tiny
//! HTTP/1.1 client over a plain `TcpStream`, and protocol message builders.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use sw_collector::{CollectorConfig, CollectorHandle, StoreLimits};
use sw_proto::v3::{KeyStringValuePair, SegmentObject, SegmentReference, SpanObject};

/// A collector on OS-chosen loopback ports.
pub fn collector() -> CollectorHandle {
    sw_collector::start(CollectorConfig::ephemeral()).expect("collector starts")
}

/// A collector with the same small limit for every kind.
pub fn collector_with_limits(n: usize) -> CollectorHandle {
    sw_collector::start(CollectorConfig {
        limits: StoreLimits { max_segments: n, max_logs: n, max_meters: n, max_snapshots: n, ..StoreLimits::default() },
        ..CollectorConfig::ephemeral()
    })
    .expect("collector starts")
}

/// The gRPC endpoint URI of a collector.
pub fn grpc_uri(handle: &CollectorHandle) -> String {
    format!("http://{}", handle.grpc_addr())
}

/// A response: status code and body text.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub body: String,
}

impl Reply {
    /// The body parsed as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
}

/// Sends one request (`Connection: close`) and reads the whole reply.
pub fn http(addr: SocketAddr, method: &str, path: &str, body: &[u8]) -> Reply {
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream.set_read_timeout(Some(Duration::from_secs(30))).expect("timeout");
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    // The server may answer (and close) before reading a large body; a failed write is
    // then expected and the reply is still there to read.
    let writer = {
        let mut w = stream.try_clone().expect("clone");
        let mut all = head.into_bytes();
        all.extend_from_slice(body);
        std::thread::spawn(move || {
            let _ = w.write_all(&all);
        })
    };
    let mut raw = Vec::new();
    let read = stream.read_to_end(&mut raw);
    let _ = writer.join();
    if raw.is_empty() {
        panic!("no reply to {method} {path}: {read:?}");
    }
    parse_reply(&raw)
}

fn parse_reply(raw: &[u8]) -> Reply {
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").expect("header end");
    let head = String::from_utf8_lossy(&raw[..split]).to_string();
    let mut body = raw[split + 4..].to_vec();
    let status: u16 = head.split_whitespace().nth(1).and_then(|s| s.parse().ok()).expect("status");
    if head.to_ascii_lowercase().contains("transfer-encoding: chunked") {
        body = dechunk(&body);
    }
    Reply { status, body: String::from_utf8(body).expect("UTF-8 body") }
}

fn dechunk(mut raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let line_end = raw.windows(2).position(|w| w == b"\r\n").expect("chunk size");
        let size_text = String::from_utf8_lossy(&raw[..line_end]).to_string();
        let size = usize::from_str_radix(size_text.trim(), 16).expect("hex size");
        raw = &raw[line_end + 2..];
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&raw[..size]);
        raw = &raw[size + 2..];
    }
}

/// GET shorthand.
pub fn get(addr: SocketAddr, path: &str) -> Reply {
    http(addr, "GET", path, b"")
}

/// POST shorthand.
pub fn post(addr: SocketAddr, path: &str, body: &str) -> Reply {
    http(addr, "POST", path, body.as_bytes())
}

/// A key/value pair.
pub fn kv(key: &str, value: &str) -> KeyStringValuePair {
    KeyStringValuePair { key: key.to_owned(), value: value.to_owned() }
}

/// A span of the given type (0 entry, 1 exit, 2 local).
pub fn span(id: i32, parent: i32, kind: i32, op: &str, start: i64, end: i64) -> SpanObject {
    SpanObject {
        span_id: id,
        parent_span_id: parent,
        start_time: start,
        end_time: end,
        operation_name: op.to_owned(),
        span_type: kind,
        span_layer: 3,
        component_id: 7000,
        ..SpanObject::default()
    }
}

/// A segment of `service` with the given spans.
pub fn segment(trace: &str, id: &str, service: &str, spans: Vec<SpanObject>) -> SegmentObject {
    SegmentObject {
        trace_id: trace.to_owned(),
        trace_segment_id: id.to_owned(),
        spans,
        service: service.to_owned(),
        service_instance: format!("{service}-instance"),
        is_size_limited: false,
    }
}

/// A cross-process reference to `parent`'s span `span_id`.
pub fn reference(parent: &SegmentObject, span_id: i32, endpoint: &str) -> SegmentReference {
    SegmentReference {
        ref_type: 0,
        trace_id: parent.trace_id.clone(),
        parent_trace_segment_id: parent.trace_segment_id.clone(),
        parent_span_id: span_id,
        parent_service: parent.service.clone(),
        parent_service_instance: parent.service_instance.clone(),
        parent_endpoint: endpoint.to_owned(),
        network_address_used_at_peer: "provider:8080".to_owned(),
    }
}
