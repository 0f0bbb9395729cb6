//! The local SkyWalking collector: a backend on loopback that speaks the agent protocol.
//!
//! It receives everything an agent sends (segments, instance properties and pings, profile
//! snapshots and task finishes, logs, meters, events) over gRPC and over SkyWalking's HTTP
//! JSON endpoints, keeps it in a bounded store, hands out profile tasks, and answers the
//! mock collector's `/receiveData` and `/dataValidate` plus a JSON query API.
//!
//! ```no_run
//! let handle = sw_collector::start(sw_collector::CollectorConfig::ephemeral())?;
//! println!("gRPC on {}, HTTP on {}", handle.grpc_addr(), handle.http_addr());
//! handle.shutdown()?;
//! # Ok::<(), sw_collector::CollectorError>(())
//! ```

pub mod cli;
pub mod config;
pub mod dynamic_config;
pub mod grpc;
pub mod held;
mod http;
pub mod idle_io;
pub mod json;
pub mod json_limits;
pub mod logger;
pub mod meter_series;
pub mod persist;
pub mod profile_tasks;
pub mod query;
mod ring;
mod segment_ring;
mod server;
pub mod store;
pub mod validate;
pub mod wire;

pub use config::{CollectorConfig, StoreLimits};
pub use server::{bind, run_blocking, start, BoundCollector, CollectorHandle};
pub use store::{Stats, Store};

use std::net::SocketAddr;
use std::path::PathBuf;

/// Why the collector could not start or stopped with a failure.
#[derive(Debug, thiserror::Error)]
pub enum CollectorError {
    /// The gRPC address could not be bound (in use, not local, no permission).
    #[error("cannot listen for gRPC on {addr}: {source}")]
    BindGrpc {
        /// The address asked for.
        addr: SocketAddr,
        /// The operating system's reason.
        source: std::io::Error,
    },
    /// The HTTP address could not be bound.
    #[error("cannot listen for HTTP on {addr}: {source}")]
    BindHttp {
        /// The address asked for.
        addr: SocketAddr,
        /// The operating system's reason.
        source: std::io::Error,
    },
    /// The async runtime or its thread could not be created.
    #[error("cannot start the collector runtime: {0}")]
    Runtime(std::io::Error),
    /// The persistence file exists but could not be read.
    #[error("cannot load {path}: {source}")]
    Load {
        /// The persistence file.
        path: PathBuf,
        /// What was wrong with it.
        source: persist::PersistError,
    },
    /// The gRPC server stopped with an error.
    #[error("gRPC server failed: {0}")]
    Grpc(#[from] tonic::transport::Error),
    /// The HTTP server stopped with an error.
    #[error("HTTP server failed: {0}")]
    Http(std::io::Error),
    /// The collector thread panicked (a bug; the panic message went to stderr).
    #[error("collector thread panicked")]
    Panicked,
}

/// Milliseconds since the Unix epoch, the time unit of the whole protocol.
pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}
