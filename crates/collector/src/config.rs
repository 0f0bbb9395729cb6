//! Collector configuration: listen addresses, store limits, persistence file.

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::path::PathBuf;

/// Default gRPC address: the port agents report to by default, on loopback only.
pub const DEFAULT_GRPC_ADDR: SocketAddr = SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 11800));
/// Default HTTP address: OAP's HTTP port, on loopback only.
pub const DEFAULT_HTTP_ADDR: SocketAddr = SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 12800));

/// Default of `--max-streams`: gRPC calls open at once on one connection. An agent uses a
/// handful (one stream per kind of data, keepAlive, command polling); each open call costs
/// the collector a task and buffers, which a client opening thousands on one connection
/// would otherwise multiply (40,000 took 270 MB that was not given back).
pub const DEFAULT_MAX_STREAMS_PER_CONNECTION: u32 = 64;

/// Default of `--max-mib`: MiB held per kind of data.
pub const DEFAULT_MIB_PER_KIND: usize = 64;

/// How much the in-memory store keeps of each kind; the oldest items are evicted first.
///
/// A limit of 0 keeps nothing of that kind (everything received is counted and evicted at once).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoreLimits {
    /// Trace segments kept.
    pub max_segments: usize,
    /// Log records kept.
    pub max_logs: usize,
    /// Meter values kept (every reported value, not only distinct meters).
    pub max_meters: usize,
    /// Profile thread snapshots kept, over all tasks.
    pub max_snapshots: usize,
    /// Bytes each of segments, logs, meters, snapshots and events may hold in memory,
    /// counted as decoded (see [`crate::held`]).
    pub max_bytes_per_kind: usize,
}

impl Default for StoreLimits {
    /// Enough for a test suite or an afternoon of trying the agent, small enough for a laptop:
    /// a typical segment is a few kilobytes.
    fn default() -> Self {
        Self {
            max_segments: 20_000,
            max_logs: 20_000,
            max_meters: 20_000,
            max_snapshots: 50_000,
            max_bytes_per_kind: DEFAULT_MIB_PER_KIND * 1024 * 1024,
        }
    }
}

/// Everything [`crate::start`] needs to run a collector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CollectorConfig {
    /// Where the gRPC receivers listen; port 0 picks a free port.
    pub grpc_addr: SocketAddr,
    /// Where the HTTP API (mock-collector endpoints, agent JSON endpoints, query API) listens;
    /// port 0 picks a free port.
    pub http_addr: SocketAddr,
    /// Bounds of the in-memory store.
    pub limits: StoreLimits,
    /// When set, the store is loaded from this file at start and written back to it
    /// periodically and at shutdown.
    pub persist_path: Option<PathBuf>,
    /// Host names HTTP requests may address besides IP addresses and `localhost`
    /// (`--allow-host`; `*` allows any).
    pub allowed_hosts: Vec<String>,
    /// Connections open at once, per protocol; `None` derives it from the open-files limit.
    pub max_connections: Option<usize>,
    /// gRPC calls open at once on one connection (`--max-streams`): advertised as HTTP/2's
    /// `SETTINGS_MAX_CONCURRENT_STREAMS`, so a stream over it is refused (`REFUSED_STREAM`),
    /// and the calls of one connection served at once (more wait their turn).
    pub max_streams_per_connection: u32,
}

impl Default for CollectorConfig {
    fn default() -> Self {
        Self {
            grpc_addr: DEFAULT_GRPC_ADDR,
            http_addr: DEFAULT_HTTP_ADDR,
            limits: StoreLimits::default(),
            persist_path: None,
            allowed_hosts: Vec::new(),
            max_connections: None,
            max_streams_per_connection: DEFAULT_MAX_STREAMS_PER_CONNECTION,
        }
    }
}

impl CollectorConfig {
    /// A configuration for tests: both servers on loopback with OS-chosen ports.
    pub fn ephemeral() -> Self {
        let any = SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 0));
        Self { grpc_addr: any, http_addr: any, ..Self::default() }
    }
}
