//! The background reporter of skywalking-rs.
//!
//! One OS thread runs a single-threaded tokio runtime. The application threads only ever
//! `try_send` into bounded queues (never blocking, dropping and counting when full); the
//! runtime encodes, sends (gRPC streams, HTTP JSON batches or Kafka records) and retries. Nothing here
//! knows about Python.

mod address;
mod backoff;
mod cds;
mod channel;
mod config;
mod connect;
mod counters;
mod error;
mod grpc;
mod http;
mod inbox;
mod kafka;
mod management;
mod meters;
mod outage;
mod outlet;
mod probe;
mod profile;
mod reporter;
mod segment_queue;
mod segment_stream;
mod segments;
mod tls;

pub use address::check_addresses;
pub use cds::ConfigUpdates;
pub use config::{Protocol, ReporterConfig, CALL_TIMEOUT, STREAM_MAX_AGE};
pub use counters::{Counters, CountersSnapshot};
pub use error::ReporterError;
pub use kafka::{Acks, KafkaConfig, KafkaTopics, SaslPlain, SecurityProtocol, ENV_PREFIX as KAFKA_ENV_PREFIX};
pub use outlet::ProfileOutlet;
pub use profile::CommandHandler;
use reporter::Queues;
pub use reporter::{FlushHandle, Reporter};
