//! The options the native core acts on, read from `config.snapshot()` in one step.
//!
//! Every option is declared with its default in `skywalking/config.py`; Python validates
//! the values and hands over the complete mapping. This side keeps no defaults: a key that
//! is missing or has the wrong type is an error that names it, so an option cannot be
//! forgotten on one side. The list below is the only way the core reads an option, and
//! `_core.CONFIG_OPTIONS` publishes it for the test that compares both sides.

use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::error::AgentError;

/// Declares [`Options`] (one field per option, named as in `config.py`) and
/// [`Options::NAMES`] from one list, so the two cannot drift apart.
macro_rules! options {
    ($($(#[$doc:meta])* $name:ident: $ty:ty,)*) => {
        /// The options the core reads, each as `config.snapshot()` gives it.
        #[derive(Debug, Clone)]
        pub struct Options {
            $($(#[$doc])* pub $name: $ty,)*
        }

        impl Options {
            /// Names of the options read here, in declaration order.
            pub const NAMES: &'static [&'static str] = &[$(stringify!($name)),*];

            /// Reads every option; the first one missing or mistyped is the error.
            pub fn from_mapping(config: &Bound<'_, PyDict>) -> Result<Self, AgentError> {
                let options = Self { $($name: required(config, stringify!($name))?,)* };
                options.check()?;
                Ok(options)
            }
        }
    };
}

options! {
    agent_collector_backend_services: String,
    /// One of `grpc`, `http`, `kafka` (`config.py` checks it).
    agent_protocol: String,
    /// With the namespace suffix applied by `config.finalize_name()`.
    agent_name: String,
    agent_instance_name: String,
    kafka_bootstrap_servers: String,
    kafka_topic_management: String,
    kafka_topic_segment: String,
    kafka_topic_log: String,
    kafka_topic_meter: String,
    agent_force_tls: bool,
    agent_authentication: String,
    agent_logging_level: String,
    /// Seconds.
    agent_collector_heartbeat_period: u64,
    agent_collector_properties_report_period_factor: u32,
    /// Seconds a segment stream waits for the next segment.
    agent_queue_timeout: u64,
    agent_trace_reporter_max_buffer_size: usize,
    agent_trace_ignore_path: String,
    agent_ignore_suffix: String,
    correlation_element_max_number: usize,
    correlation_value_max_length: usize,
    agent_span_limit: usize,
    agent_profile_active: bool,
    /// Seconds.
    agent_collector_get_profile_task_interval: u64,
    agent_profile_max_parallel: usize,
    /// Minutes one segment may be profiled.
    agent_profile_duration: u64,
    agent_profile_dump_max_stack_depth: usize,
    agent_profile_snapshot_transport_buffer_size: usize,
    agent_meter_reporter_active: bool,
    /// Seconds.
    agent_meter_reporter_period: u64,
    /// Comma-separated, already upper-cased.
    plugin_http_ignore_method: String,
    sample_n_per_3_secs: i64,
}

impl Options {
    /// Values `config.py` bounds away from zero; zero here means its bounds were skipped.
    fn check(&self) -> Result<(), AgentError> {
        let positive: [(&str, u64); 11] = [
            ("agent_collector_heartbeat_period", self.agent_collector_heartbeat_period),
            (
                "agent_collector_properties_report_period_factor",
                self.agent_collector_properties_report_period_factor.into(),
            ),
            ("agent_queue_timeout", self.agent_queue_timeout),
            ("agent_trace_reporter_max_buffer_size", to_u64(self.agent_trace_reporter_max_buffer_size)),
            ("agent_span_limit", to_u64(self.agent_span_limit)),
            ("agent_collector_get_profile_task_interval", self.agent_collector_get_profile_task_interval),
            ("agent_profile_max_parallel", to_u64(self.agent_profile_max_parallel)),
            ("agent_profile_duration", self.agent_profile_duration),
            ("agent_profile_dump_max_stack_depth", to_u64(self.agent_profile_dump_max_stack_depth)),
            ("agent_profile_snapshot_transport_buffer_size", to_u64(self.agent_profile_snapshot_transport_buffer_size)),
            ("agent_meter_reporter_period", self.agent_meter_reporter_period),
        ];
        match positive.iter().find(|(_, value)| *value == 0) {
            Some((option, _)) => {
                Err(AgentError::Config { option: (*option).to_owned(), reason: "must be at least 1, got 0".into() })
            }
            None => Ok(()),
        }
    }
}

fn to_u64(value: usize) -> u64 {
    u64::try_from(value).unwrap_or(u64::MAX)
}

/// One value of the mapping, which must be there and have the type `T`.
pub fn required<'py, T: FromPyObject<'py>>(config: &Bound<'py, PyDict>, name: &str) -> Result<T, AgentError> {
    let value = config
        .get_item(name)
        .map_err(|e| AgentError::Config { option: name.to_owned(), reason: e.to_string() })?
        .ok_or_else(|| AgentError::MissingOption(name.to_owned()))?;
    value.extract().map_err(|e| AgentError::Config {
        option: name.to_owned(),
        reason: format!("{e} (got {})", value.repr().map_or_else(|_| "?".into(), |r| r.to_string())),
    })
}
