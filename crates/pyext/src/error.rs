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
    /// The configuration mapping lacks an option the core reads: `config.py` and
    /// `options.rs` disagree, or `_core.start()` was called with a hand-made mapping.
    #[error("configuration option {0} is missing from the mapping handed to the native core (pass config.snapshot())")]
    MissingOption(String),
    /// The reporter could not start.
    #[error(transparent)]
    Reporter(#[from] sw_reporter::ReporterError),
}

impl From<AgentError> for PyErr {
    /// The one place an agent error becomes a Python exception; it is logged here too, so
    /// that a start that fails under `sw-python run` leaves a clear line on stderr.
    fn from(error: AgentError) -> Self {
        log::error!("skywalking agent not started: {error}");
        match error {
            AgentError::Config { .. } | AgentError::MissingOption(_) => PyValueError::new_err(error.to_string()),
            AgentError::Reporter(_) => PyRuntimeError::new_err(error.to_string()),
        }
    }
}
