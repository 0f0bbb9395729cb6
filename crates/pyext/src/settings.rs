//! Settings the request path needs, read once from the Python configuration.

use pyo3::prelude::*;
use pyo3::types::PyDict;
use sw_core::ignore::IgnoreRules;
use sw_core::sampler::Sampler;
use sw_core::segment::DEFAULT_SPAN_LIMIT;

use crate::error::AgentError;
use crate::profiling::ProfilerHandle;

/// Upstream's default suffix list, used before `start()` is called.
const DEFAULT_IGNORE_SUFFIX: &str = ".jpg,.jpeg,.js,.css,.png,.bmp,.gif,.ico,.mp3,.mp4,.html,.svg";

/// Immutable per-start settings shared by every context created under them.
#[derive(Debug)]
pub struct Settings {
    pub service: String,
    pub instance: String,
    pub ignore: IgnoreRules,
    pub sampler: Sampler,
    pub span_limit: usize,
    pub correlation_max_elements: usize,
    pub correlation_max_value_len: usize,
    /// `plugin_http_ignore_method`, upper-cased: HTTP requests with these methods are not traced.
    pub http_ignore_methods: Vec<String>,
    /// The trace profiler, when `agent_profile_active`.
    pub profiler: Option<std::sync::Arc<ProfilerHandle>>,
    /// False when dynamic configuration turned tracing off (`agent.active=false`).
    pub tracing_enabled: bool,
    /// Dynamic configuration waiting to be applied, from the running reporter.
    pub updates: Option<std::sync::Arc<sw_reporter::ConfigUpdates>>,
    /// The locally configured values that dynamic configuration may override.
    pub local: LocalValues,
}

/// What the agent was started with, restored when the backend drops an override.
#[derive(Debug, Clone, Default)]
pub struct LocalValues {
    pub ignore_path: String,
    pub ignore_suffix: String,
    pub sample_n_per_3_secs: i64,
    pub span_limit: usize,
}

impl Settings {
    /// These settings with the backend's dynamic configuration applied over the local
    /// values (a key the backend no longer sends goes back to its local value).
    pub fn with_dynamic(&self, dynamic: &[(String, String)]) -> Settings {
        let get = |key: &str| dynamic.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v.trim());
        let local = &self.local;
        let parsed = |key: &str, fallback: i64| -> i64 {
            match get(key).map(str::parse::<i64>) {
                Some(Ok(value)) => value,
                Some(Err(_)) => {
                    log::warn!("ignoring dynamic configuration {key}: not a number");
                    fallback
                }
                None => fallback,
            }
        };
        let ignore_path = get("agent.trace.ignore_path").unwrap_or(&local.ignore_path);
        let ignore_suffix = get("agent.ignore_suffix").unwrap_or(&local.ignore_suffix);
        let span_limit = parsed("agent.span_limit_per_segment", local.span_limit as i64);
        Settings {
            service: self.service.clone(),
            instance: self.instance.clone(),
            ignore: IgnoreRules::new(ignore_path, ignore_suffix),
            sampler: Sampler::new(parsed("agent.sample_n_per_3_secs", local.sample_n_per_3_secs)),
            span_limit: usize::try_from(span_limit).unwrap_or(local.span_limit).max(1),
            correlation_max_elements: self.correlation_max_elements,
            correlation_max_value_len: self.correlation_max_value_len,
            http_ignore_methods: self.http_ignore_methods.clone(),
            profiler: self.profiler.clone(),
            tracing_enabled: !get("agent.active").is_some_and(|v| v.eq_ignore_ascii_case("false")),
            updates: self.updates.clone(),
            local: self.local.clone(),
        }
    }
}

impl Settings {
    /// True when requests with HTTP `method` must not be traced (case-insensitive, as
    /// upstream's `config.ignore_http_method_check`).
    pub fn ignores_http_method(&self, method: &str) -> bool {
        self.http_ignore_methods.iter().any(|m| m.eq_ignore_ascii_case(method))
    }
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            service: "Python Service Name".into(),
            instance: String::new(),
            ignore: IgnoreRules::new("", DEFAULT_IGNORE_SUFFIX),
            sampler: Sampler::new(0),
            span_limit: DEFAULT_SPAN_LIMIT,
            correlation_max_elements: 3,
            correlation_max_value_len: 128,
            http_ignore_methods: Vec::new(),
            profiler: None,
            tracing_enabled: true,
            updates: None,
            local: LocalValues::default(),
        }
    }
}

/// Reads one option from the config snapshot, naming the option when it has the wrong type.
pub fn option<'py, T: FromPyObject<'py>>(config: &Bound<'py, PyDict>, name: &str, default: T) -> Result<T, AgentError> {
    match config.get_item(name) {
        Ok(Some(value)) if !value.is_none() => {
            value.extract().map_err(|e| AgentError::Config { option: name.to_owned(), reason: e.to_string() })
        }
        _ => Ok(default),
    }
}

/// Reads a non-negative integer option.
pub fn count(config: &Bound<'_, PyDict>, name: &str, default: i64) -> Result<usize, AgentError> {
    let value: i64 = option(config, name, default)?;
    usize::try_from(value).map_err(|_| AgentError::Config {
        option: name.to_owned(),
        reason: format!("must not be negative, got {value}"),
    })
}

impl Settings {
    /// Builds the settings from `config.snapshot()`.
    pub fn from_config(config: &Bound<'_, PyDict>) -> Result<Self, AgentError> {
        let sample: i64 = option(config, "sample_n_per_3_secs", 0)?;
        let local = LocalValues {
            ignore_path: option(config, "agent_trace_ignore_path", String::new())?,
            ignore_suffix: option(config, "agent_ignore_suffix", DEFAULT_IGNORE_SUFFIX.to_owned())?,
            sample_n_per_3_secs: sample,
            span_limit: count(config, "agent_span_limit", 300)?.max(1),
        };
        Ok(Self {
            service: option(config, "agent_name", "Python Service Name".to_owned())?,
            instance: option(config, "agent_instance_name", String::new())?,
            ignore: IgnoreRules::new(&local.ignore_path, &local.ignore_suffix),
            sampler: Sampler::new(sample),
            span_limit: local.span_limit,
            correlation_max_elements: count(config, "correlation_element_max_number", 3)?,
            correlation_max_value_len: count(config, "correlation_value_max_length", 128)?,
            http_ignore_methods: option(config, "plugin_http_ignore_method", String::new())?
                .split(',')
                .map(|m| m.trim().to_uppercase())
                .filter(|m| !m.is_empty())
                .collect(),
            profiler: None,
            tracing_enabled: true,
            updates: None,
            local,
        })
    }
}
