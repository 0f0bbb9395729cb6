//! What the reporter needs to know, taken once from the agent's configuration.

use std::time::Duration;

use crate::KafkaConfig;

/// How the reporter talks to the backend (`agent_protocol`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Protocol {
    /// gRPC (OAP port 11800): segments, management and profiling.
    #[default]
    Grpc,
    /// OAP's HTTP JSON endpoints (port 12800): segments and management; no profiling.
    Http,
    /// Records to Kafka topics for OAP's Kafka fetcher: segments, management and meters;
    /// no profiling, no dynamic configuration.
    Kafka,
}

/// Settings of one reporter instance (one per process; re-created after fork). There is
/// no `Default`: the agent's defaults live in `skywalking/config.py` only, and the agent
/// sets every field from its options.
#[derive(Debug, Clone)]
pub struct ReporterConfig {
    /// `host:port` of the OAP (or local collector) endpoint of `protocol`; for HTTP also
    /// `http://host:port`, `https://host:port`, with an optional path prefix or trailing `/`.
    pub backend: String,
    /// Transport to the backend.
    pub protocol: Protocol,
    /// Service name as reported (namespace suffix already applied).
    pub service: String,
    /// Service instance name.
    pub instance: String,
    /// Value of the `authentication` gRPC metadata, if any.
    pub authentication: Option<String>,
    /// Use TLS with the system's root certificates.
    pub force_tls: bool,
    /// Interval between keepAlive calls.
    pub heartbeat_period: Duration,
    /// Instance properties are re-sent every this many heartbeats.
    pub properties_report_period_factor: u32,
    /// Instance properties (without `Process No.`, which is read at send time so a forked
    /// child reports its own pid).
    pub properties: Vec<(String, String)>,
    /// Capacity of the segment queue; a full queue drops segments.
    pub segment_queue_size: usize,
    /// A segment stream is closed after this long without a new segment
    /// (`agent_queue_timeout`).
    pub stream_idle: Duration,
    /// A segment stream is closed after this long even when busy, so the backend sees
    /// steady progress and a broken stream loses little.
    pub stream_max_age: Duration,
    /// Deadline of unary calls (management, profile queries); [`CALL_TIMEOUT`] in the agent.
    pub call_timeout: Duration,
    /// Poll the backend for profile tasks (needs a command handler at start).
    pub profile_active: bool,
    /// Interval between profile task polls.
    pub profile_poll_interval: Duration,
    /// Capacity of the snapshot queue; a full queue drops snapshots.
    pub snapshot_queue_size: usize,
    /// Report the reporter's own counters as meters (`agent_meter_reporter_active`).
    pub meters_active: bool,
    /// Interval between meter reports (`agent_meter_reporter_period`).
    pub meter_period: Duration,
    /// Brokers, topics and producer settings of `agent_protocol=kafka`.
    pub kafka: KafkaConfig,
}

/// How long a busy segment stream stays open before it is closed and a new one opened;
/// fixed, not an option.
pub const STREAM_MAX_AGE: Duration = Duration::from_secs(30);
/// Deadline of unary calls (management, profile queries); fixed, not an option.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(10);

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A complete configuration for unit tests (test values, not the agent's defaults).
    pub(crate) fn fixture() -> ReporterConfig {
        ReporterConfig {
            backend: "127.0.0.1:11800".into(),
            protocol: Protocol::Grpc,
            service: "unit-test".into(),
            instance: "instance".into(),
            authentication: None,
            force_tls: false,
            heartbeat_period: Duration::from_secs(30),
            properties_report_period_factor: 10,
            properties: Vec::new(),
            segment_queue_size: 100,
            stream_idle: Duration::from_secs(1),
            stream_max_age: STREAM_MAX_AGE,
            call_timeout: CALL_TIMEOUT,
            profile_active: true,
            profile_poll_interval: Duration::from_secs(20),
            snapshot_queue_size: 50,
            meters_active: true,
            meter_period: Duration::from_secs(20),
            kafka: KafkaConfig::default(),
        }
    }
}
