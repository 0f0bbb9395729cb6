//! Settings the request path needs, taken from the options in `config.snapshot()`.

use sw_core::ignore::IgnoreRules;
use sw_core::sampler::Sampler;
use sw_core::sw8::EncodedOrigin;

use crate::options::Options;
use crate::profiling::ProfilerHandle;

/// Immutable per-start settings shared by every context created under them.
#[derive(Debug)]
pub struct Settings {
    pub service: String,
    pub instance: String,
    /// `service` and `instance` as `sw8` fields, encoded once for every header sent.
    pub sw8_origin: EncodedOrigin,
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
            sw8_origin: self.sw8_origin.clone(),
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

/// [`Settings::unconfigured`]: no option values (those come from `config.py` only).
impl Default for Settings {
    fn default() -> Self {
        Self::unconfigured()
    }
}

impl Settings {
    /// What the agent holds before `_core` is imported completely: no option read yet, so
    /// tracing is off. The module's initialisation replaces it with
    /// [`Settings::from_options`] of the current `config.snapshot()`, and `start()` again.
    pub fn unconfigured() -> Self {
        Self {
            service: String::new(),
            instance: String::new(),
            sw8_origin: EncodedOrigin::new("", ""),
            ignore: IgnoreRules::new("", ""),
            sampler: Sampler::new(0),
            span_limit: 1,
            correlation_max_elements: 0,
            correlation_max_value_len: 0,
            http_ignore_methods: Vec::new(),
            profiler: None,
            tracing_enabled: false,
            updates: None,
            local: LocalValues::default(),
        }
    }

    /// The settings of the options read from `config.snapshot()`.
    pub fn from_options(options: &Options) -> Self {
        let local = LocalValues {
            ignore_path: options.agent_trace_ignore_path.clone(),
            ignore_suffix: options.agent_ignore_suffix.clone(),
            sample_n_per_3_secs: options.sample_n_per_3_secs,
            span_limit: options.agent_span_limit,
        };
        Self {
            service: options.agent_name.clone(),
            instance: options.agent_instance_name.clone(),
            sw8_origin: EncodedOrigin::new(&options.agent_name, &options.agent_instance_name),
            ignore: IgnoreRules::new(&local.ignore_path, &local.ignore_suffix),
            sampler: Sampler::new(local.sample_n_per_3_secs),
            span_limit: local.span_limit,
            correlation_max_elements: options.correlation_element_max_number,
            correlation_max_value_len: options.correlation_value_max_length,
            http_ignore_methods: options
                .plugin_http_ignore_method
                .split(',')
                .map(|m| m.trim().to_uppercase())
                .filter(|m| !m.is_empty())
                .collect(),
            profiler: None,
            tracing_enabled: true,
            updates: None,
            local,
        }
    }
}
