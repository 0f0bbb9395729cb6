//! Errors of the reporter; mapped to Python exceptions only at the PyO3 edge.

/// Why the reporter could not be started or could not send.
#[derive(Debug, thiserror::Error)]
pub enum ReporterError {
    /// The backend address is not a valid URI.
    #[error("invalid collector backend address {address:?}: {reason}")]
    InvalidBackend {
        /// What was configured.
        address: String,
        /// Why it was rejected.
        reason: String,
    },
    /// TLS could not be set up.
    #[error("TLS setup failed: {0}")]
    Tls(String),
    /// The reporter thread could not be spawned.
    #[error("could not start the reporter thread: {0}")]
    Thread(#[from] std::io::Error),
    /// A call to the backend failed.
    #[error("gRPC call {call} failed: {status}")]
    Call {
        /// Which RPC.
        call: &'static str,
        /// The gRPC status.
        status: Box<tonic::Status>,
    },
}
