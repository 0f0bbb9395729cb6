//! Errors raised to Python, all at configuration time.

use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::PyErr;

/// What can go wrong while configuring or starting the agent.
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    /// A configuration value has the wrong type or range.
    #[error("invalid configuration option {option}: {reason}")]
    Config {
        /// The option name as in `skywalking.config`.
        option: String,
        /// Why it was rejected.
        reason: String,
    },
    /// The reporter could not start.
    #[error(transparent)]
    Reporter(#[from] sw_reporter::ReporterError),
}

impl From<AgentError> for PyErr {
    fn from(error: AgentError) -> Self {
        match error {
            AgentError::Config { .. } => PyValueError::new_err(error.to_string()),
            AgentError::Reporter(_) => PyRuntimeError::new_err(error.to_string()),
        }
    }
}
