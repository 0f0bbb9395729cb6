//! Why talking to Kafka failed; `Display` is one line, as it ends up in log messages.

use std::time::Duration;

/// A failed exchange with a broker, or a broker's error code.
#[derive(Debug, thiserror::Error)]
pub enum KafkaError {
    /// No connection (TCP or TLS).
    #[error(transparent)]
    Connect(#[from] crate::connect::ConnectError),
    /// The connection broke mid-exchange.
    #[error("connection to {address} failed: {source}")]
    Io {
        /// `host:port`.
        address: String,
        /// The operating system's reason.
        source: std::io::Error,
    },
    /// The deadline (`request_timeout_ms`) passed.
    #[error("no answer from {address} within {timeout:?}")]
    Timeout {
        /// `host:port`.
        address: String,
        /// The deadline.
        timeout: Duration,
    },
    /// The broker's answer could not be read.
    #[error("malformed answer from the broker: {0}")]
    Malformed(&'static str),
    /// The broker lacks an API this client needs at a version it speaks.
    #[error("the broker does not support {api} at versions {min}..={max}")]
    Unsupported {
        /// The API name.
        api: &'static str,
        /// The lowest version this client speaks.
        min: i16,
        /// The highest version this client speaks.
        max: i16,
    },
    /// SASL authentication was refused.
    #[error("SASL authentication failed: {0}")]
    Sasl(String),
    /// The broker answered with an error code.
    #[error("broker error {code} ({})", error_name(*code))]
    Broker {
        /// Kafka's error code.
        code: i16,
    },
    /// The topic has no partition with a leader (yet).
    #[error("no leader known for topic {0:?}")]
    NoLeader(String),
    /// A record is larger than `max_request_size`.
    #[error("a record of {size} bytes exceeds max_request_size ({max})")]
    RecordTooLarge {
        /// Its encoded size.
        size: usize,
        /// The configured limit.
        max: usize,
    },
}

impl KafkaError {
    /// True when trying again, after a metadata refresh, may succeed.
    pub fn is_retriable(&self) -> bool {
        match self {
            Self::Broker { code } => is_retriable_code(*code),
            Self::Malformed(_) | Self::Unsupported { .. } | Self::Sasl(_) | Self::RecordTooLarge { .. } => false,
            _ => true,
        }
    }
}

/// Kafka's retriable error codes among those a producer meets.
pub fn is_retriable_code(code: i16) -> bool {
    matches!(code, 3 | 5 | 6 | 7 | 13 | 14 | 15 | 19 | 20 | 56)
}

/// Names of the error codes a producer meets (Kafka's `Errors` enum).
pub fn error_name(code: i16) -> &'static str {
    match code {
        2 => "CORRUPT_MESSAGE",
        3 => "UNKNOWN_TOPIC_OR_PARTITION",
        5 => "LEADER_NOT_AVAILABLE",
        6 => "NOT_LEADER_OR_FOLLOWER",
        7 => "REQUEST_TIMED_OUT",
        10 => "MESSAGE_TOO_LARGE",
        13 => "NETWORK_EXCEPTION",
        14 => "COORDINATOR_LOAD_IN_PROGRESS",
        15 => "COORDINATOR_NOT_AVAILABLE",
        17 => "INVALID_TOPIC_EXCEPTION",
        18 => "RECORD_LIST_TOO_LARGE",
        19 => "NOT_ENOUGH_REPLICAS",
        20 => "NOT_ENOUGH_REPLICAS_AFTER_APPEND",
        21 => "INVALID_REQUIRED_ACKS",
        29 => "TOPIC_AUTHORIZATION_FAILED",
        31 => "CLUSTER_AUTHORIZATION_FAILED",
        33 => "UNSUPPORTED_SASL_MECHANISM",
        34 => "ILLEGAL_SASL_STATE",
        35 => "UNSUPPORTED_VERSION",
        56 => "KAFKA_STORAGE_ERROR",
        58 => "SASL_AUTHENTICATION_FAILED",
        87 => "INVALID_RECORD",
        _ => "see Kafka's protocol error codes",
    }
}
