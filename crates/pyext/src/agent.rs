//! The process-wide agent: current settings and the running reporter.
//!
//! Every access happens with the GIL held and no lock is held across a GIL release, so a
//! fork (which CPython performs holding the GIL) never inherits a held lock. The reporter
//! and profiler threads never touch this state.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, LazyLock, PoisonError, RwLock};
use std::time::Duration;

use pyo3::prelude::*;
use pyo3::types::PyDict;
use sw_reporter::{KafkaConfig, KafkaTopics, Protocol, Reporter, ReporterConfig, KAFKA_ENV_PREFIX};

use crate::error::AgentError;
use crate::logger;
use crate::options::{required, Options};
use crate::profiling::{Commands2Profiler, ProfilerHandle};
use crate::settings::Settings;

/// What `start()` set up.
#[derive(Debug, Default)]
pub struct Agent {
    pub settings: Arc<Settings>,
    reporter: Option<Reporter>,
    reporter_config: Option<ReporterConfig>,
    profiler_config: Option<sw_profiler::ProfilerConfig>,
}

static AGENT: LazyLock<RwLock<Agent>> = LazyLock::new(|| RwLock::new(Agent::default()));

/// Segments finished while no reporter was running (before `start()` or after `stop()`).
static DROPPED_NOT_STARTED: AtomicU64 = AtomicU64::new(0);

/// The settings new contexts are created with; applies dynamic configuration that
/// arrived since the last call (checked with one atomic load).
pub fn settings() -> Arc<Settings> {
    let settings = AGENT.read().unwrap_or_else(PoisonError::into_inner).settings.clone();
    let Some(dynamic) = settings.updates.as_ref().and_then(|u| u.take()) else { return settings };
    let updated = Arc::new(settings.with_dynamic(&dynamic));
    let mut agent = AGENT.write().unwrap_or_else(PoisonError::into_inner);
    if Arc::ptr_eq(&agent.settings, &settings) {
        agent.settings = updated.clone();
    }
    updated
}

/// Hands a finished segment to the reporter without blocking: `encode` appends its bytes
/// to the reporter's queue (see `sw_core::encoded`).
pub fn report(encode: impl FnOnce(&mut Vec<u8>)) {
    let agent = AGENT.read().unwrap_or_else(PoisonError::into_inner);
    match &agent.reporter {
        Some(reporter) => {
            reporter.report_encoded(encode);
        }
        None => {
            DROPPED_NOT_STARTED.fetch_add(1, Relaxed);
        }
    }
}

/// Hands a captured log record to the reporter without blocking (dropped and counted
/// when its queue is full; dropped when no reporter runs).
pub fn report_log(record: sw_reporter::LogRecord) {
    let agent = AGENT.read().unwrap_or_else(PoisonError::into_inner);
    if let Some(reporter) = &agent.reporter {
        reporter.report_log(record);
    }
}

/// True when the segment queue is full: new spans become no-ops, as upstream does.
pub fn queue_full() -> bool {
    let agent = AGENT.read().unwrap_or_else(PoisonError::into_inner);
    agent.reporter.as_ref().is_some_and(Reporter::skip_span_if_queue_full)
}

/// `agent_protocol`: gRPC, OAP's HTTP JSON endpoints, or Kafka (`config.py` lets no
/// other value through). Profiling needs gRPC (as upstream, where HTTP and Kafka turn it off).
fn protocol(options: &Options) -> Result<Protocol, AgentError> {
    match options.agent_protocol.as_str() {
        "http" => Ok(Protocol::Http),
        "grpc" => Ok(Protocol::Grpc),
        "kafka" => Ok(Protocol::Kafka),
        other => Err(AgentError::Config {
            option: "agent_protocol".into(),
            reason: format!("{other:?} is not one of grpc, http, kafka"),
        }),
    }
}

fn seconds_of(value: u64) -> Duration {
    Duration::from_secs(value)
}

/// Every field from an option or from the reporter's own fixed timing, none from a
/// default: a field added to `ReporterConfig` does not compile until it is set here.
fn reporter_config(
    options: &Options,
    properties: Vec<(String, String)>,
    settings: &Settings,
) -> Result<ReporterConfig, AgentError> {
    let protocol = protocol(options)?;
    Ok(ReporterConfig {
        backend: options.agent_collector_backend_services.clone(),
        protocol,
        service: settings.service.clone(),
        instance: settings.instance.clone(),
        authentication: Some(options.agent_authentication.clone()).filter(|a| !a.is_empty()),
        force_tls: options.agent_force_tls,
        heartbeat_period: seconds_of(options.agent_collector_heartbeat_period),
        properties_report_period_factor: options.agent_collector_properties_report_period_factor,
        properties,
        segment_queue_size: options.agent_trace_reporter_max_buffer_size,
        stream_idle: seconds_of(options.agent_queue_timeout),
        stream_max_age: sw_reporter::STREAM_MAX_AGE,
        call_timeout: sw_reporter::CALL_TIMEOUT,
        profile_active: protocol == Protocol::Grpc && options.agent_profile_active,
        profile_poll_interval: seconds_of(options.agent_collector_get_profile_task_interval),
        snapshot_queue_size: options.agent_profile_snapshot_transport_buffer_size,
        meters_active: options.agent_meter_reporter_active,
        meter_period: seconds_of(options.agent_meter_reporter_period),
        kafka: kafka_config(options, protocol),
        logs: sw_reporter::LogConfig {
            active: options.agent_log_reporter_active,
            queue_size: options.agent_log_reporter_max_buffer_size,
            // The hook's parsed layout when the log reporter is installed, else the option's.
            layout: crate::logs::layout()
                .unwrap_or_else(|| Arc::new(sw_reporter::Layout::parse(&options.agent_log_reporter_layout))),
            safe_mode: options.agent_log_reporter_safe_mode,
        },
        pvm_active: options.agent_pvm_meter_reporter_active,
        meter_queue_size: options.agent_meter_reporter_max_buffer_size,
        meter_sources: crate::meters::sources(options.agent_pvm_meter_reporter_active),
    })
}

/// The Kafka producer's settings: brokers and topics from the options (topics already
/// carry `kafka_namespace`, applied by `config.finalize_name()` as upstream), producer
/// arguments from the `SW_KAFKA_REPORTER_CONFIG_<key>` environment variables, read here as
/// the Python agent reads them when its Kafka client module loads. Keys that cannot be
/// honoured are logged once, here, and not again after a fork.
fn kafka_config(options: &Options, protocol: Protocol) -> KafkaConfig {
    let topics = KafkaTopics {
        segment: options.kafka_topic_segment.clone(),
        management: options.kafka_topic_management.clone(),
        meter: options.kafka_topic_meter.clone(),
        log: options.kafka_topic_log.clone(),
    };
    let pass_through: Vec<(String, String)> = std::env::vars_os()
        .filter_map(|(key, value)| {
            let key = key.into_string().ok()?;
            let name = key.strip_prefix(KAFKA_ENV_PREFIX)?.to_owned();
            Some((name, value.into_string().ok()?))
        })
        .collect();
    let (kafka, warnings) = KafkaConfig::from_pass_through(&options.kafka_bootstrap_servers, topics, &pass_through);
    if protocol == Protocol::Kafka {
        for warning in warnings {
            log::warn!("{warning}");
        }
    }
    kafka
}

fn profiler_config(options: &Options) -> sw_profiler::ProfilerConfig {
    sw_profiler::ProfilerConfig {
        max_parallel: options.agent_profile_max_parallel,
        max_stack_depth: options.agent_profile_dump_max_stack_depth,
        snapshot_queue_size: options.agent_profile_snapshot_transport_buffer_size,
        max_segment_duration: Duration::from_secs(options.agent_profile_duration.saturating_mul(60)),
    }
}

/// Starts the reporter, and the profiler when profiling is on; returns the settings that
/// carry the profiler for the request path.
fn launch(
    settings: Settings,
    reporter_config: &ReporterConfig,
    profiler_config: Option<&sw_profiler::ProfilerConfig>,
) -> Result<(Settings, Reporter), AgentError> {
    let Some(profiler_config) = profiler_config else {
        let reporter = Reporter::start(reporter_config.clone())?;
        return Ok((Settings { updates: Some(reporter.config_updates()), ..settings }, reporter));
    };
    let handler = Arc::new(Commands2Profiler::default());
    let reporter = Reporter::start_with(reporter_config.clone(), Some(handler.clone()))?;
    let handle = ProfilerHandle::start(profiler_config.clone(), reporter.profile_outlet())
        .map_err(|e| AgentError::Reporter(sw_reporter::ReporterError::Thread(e)))?;
    let _ = handler.0.set(handle.profiler.clone());
    Ok((Settings { profiler: Some(handle), updates: Some(reporter.config_updates()), ..settings }, reporter))
}

/// Applies the configuration and starts the reporter (replacing one already running).
/// `config` is `config.snapshot()` plus `_instance_properties`, complete: a missing or
/// mistyped option is an error (logged, then raised as `ValueError`). A backend address
/// that cannot work is a warning; the application runs on without reporting.
#[pyfunction]
pub fn start(py: Python<'_>, config: &Bound<'_, PyDict>) -> PyResult<()> {
    crate::exit_gate::reopen();
    // Until the level is known, errors about the mapping itself are shown.
    logger::init("INFO");
    let options = Options::from_mapping(config)?;
    logger::init(&options.agent_logging_level);
    let properties: Vec<(String, String)> = required(config, "_instance_properties")?;
    let settings = Settings::from_options(&options);
    let reporter_config = reporter_config(&options, properties, &settings)?;
    let problems = sw_reporter::check_addresses(&reporter_config);
    for problem in &problems {
        log::warn!("{problem}; the application runs on, but nothing can be reported until the address is fixed");
    }
    let profiler_config = reporter_config.profile_active.then(|| profiler_config(&options));
    let (settings, reporter) = match launch(clone_settings(&settings), &reporter_config, profiler_config.as_ref()) {
        Ok((settings, reporter)) => (settings, Some(reporter)),
        Err(AgentError::Reporter(error @ sw_reporter::ReporterError::InvalidBackend { .. })) => {
            // The transport refuses the address: tracing goes on, finished segments are
            // dropped and counted as for an agent that is not started.
            if problems.is_empty() {
                log::warn!("{error}; the application runs on, but nothing can be reported until the address is fixed");
            }
            (settings, None)
        }
        Err(error) => return Err(error.into()),
    };
    let settings = Arc::new(settings);
    crate::meters::started(reporter_config.meter_period);
    let destination = match reporter_config.protocol {
        Protocol::Kafka => format!("Kafka at {}", reporter_config.kafka.bootstrap_servers.join(",")),
        _ => reporter_config.backend.clone(),
    };
    let reporting = if reporter.is_some() { "reporting to" } else { "NOT reporting: cannot use" };
    log::info!(
        "skywalking agent started: service {:?}, instance {:?}, {reporting} {destination}",
        settings.service,
        settings.instance,
    );
    let (previous, previous_settings) = {
        let mut agent = AGENT.write().unwrap_or_else(PoisonError::into_inner);
        let previous_settings = std::mem::replace(&mut agent.settings, settings);
        agent.reporter_config = Some(reporter_config);
        agent.profiler_config = profiler_config;
        (std::mem::replace(&mut agent.reporter, reporter), previous_settings)
    };
    if let Some(profiler) = &previous_settings.profiler {
        profiler.stop(py);
    }
    if let Some(previous) = previous {
        py.allow_threads(|| previous.shutdown(Duration::from_secs(1)));
    }
    Ok(())
}

/// Called when `_core` is imported: spans made before `agent.start()` follow the current
/// options (`config.snapshot()`, not finalized yet), read through the same [`Options`].
pub fn configure_before_start(py: Python<'_>) -> PyResult<()> {
    let snapshot = py.import("skywalking.config")?.call_method0("snapshot")?;
    let options = Options::from_mapping(snapshot.downcast::<PyDict>()?)?;
    let mut agent = AGENT.write().unwrap_or_else(PoisonError::into_inner);
    if agent.reporter.is_none() {
        agent.settings = Arc::new(Settings::from_options(&options));
    }
    Ok(())
}

/// How long stopping waits for open segments when none of them ends: a thread inside a long
/// span (a stream, a worker's loop) does not hold the exit back for longer.
const EXIT_QUIET: Duration = Duration::from_millis(100);

/// Flushes what is queued within `timeout` seconds and stops the reporter.
/// Returns whether everything was sent.
#[pyfunction]
#[pyo3(signature = (timeout = 5.0))]
pub fn stop(py: Python<'_>, timeout: f64) -> bool {
    // The bulk is sent first while other threads still run, as at SIGTERM: at exit, a daemon
    // thread that has answered its request but not yet closed its span gets the GIL meanwhile
    // and queues the segment, instead of finding the reporter already gone.
    let started = std::time::Instant::now();
    flush(py, timeout);
    // A thread may still be about to close the last span of a segment (flushing does not
    // wait for what is not queued yet): the segments open now are waited for, briefly.
    if AGENT.read().unwrap_or_else(PoisonError::into_inner).reporter.is_some() {
        let open = sw_core::open_segments::PROCESS.begin_wait();
        let limit = seconds(timeout - started.elapsed().as_secs_f64());
        if !py.allow_threads(|| open.wait(limit, EXIT_QUIET)) {
            log::debug!("stopping: a segment was still open (a thread inside a span)");
        }
    }
    let timeout = (timeout - started.elapsed().as_secs_f64()).max(0.1);
    let (reporter, profiler) = {
        let mut agent = AGENT.write().unwrap_or_else(PoisonError::into_inner);
        (agent.reporter.take(), agent.settings.profiler.clone())
    };
    if let Some(profiler) = profiler {
        profiler.stop(py);
    }
    crate::meters::stopped();
    match reporter {
        Some(reporter) => py.allow_threads(|| reporter.shutdown(seconds(timeout))),
        None => true,
    }
}

/// Waits until what is queued has been sent, at most `timeout` seconds.
#[pyfunction]
#[pyo3(signature = (timeout = 5.0))]
pub fn flush(py: Python<'_>, timeout: f64) -> bool {
    // No lock may be held while the GIL is released (a fork then would inherit it), so
    // only a handle to the flush channel is taken.
    let handle = AGENT.read().unwrap_or_else(PoisonError::into_inner).reporter.as_ref().map(Reporter::flush_handle);
    match handle {
        Some(handle) => py.allow_threads(|| handle.flush(seconds(timeout))),
        None => true,
    }
}

/// The last step of the agent's SIGTERM handler: sends what is still queued while holding
/// the GIL, so that no Python thread can finish another request meanwhile (its segment
/// would come too late), then ends the process by SIGTERM with the default action, without
/// running Python code in between (where the GIL could pass to another thread).
#[pyfunction]
#[pyo3(signature = (timeout = 5.0))]
pub fn terminate_after_flush(py: Python<'_>, timeout: f64) -> PyResult<()> {
    let handle = AGENT.read().unwrap_or_else(PoisonError::into_inner).reporter.as_ref().map(Reporter::flush_handle);
    if let Some(handle) = handle {
        // The reporter thread never takes the GIL, so holding it here cannot stall the flush.
        if !handle.flush(seconds(timeout)) {
            log::warn!("SIGTERM: stopped before everything queued was sent (agent_exit_flush_timeout)");
        }
    }
    let signal = py.import("signal")?;
    let sigterm = signal.getattr("SIGTERM")?;
    signal.call_method1("signal", (&sigterm, signal.getattr("SIG_DFL")?))?;
    py.import("os")?.call_method1("kill", (std::process::id(), &sigterm))?;
    Ok(())
}

fn seconds(value: f64) -> Duration {
    Duration::try_from_secs_f64(value.max(0.0)).unwrap_or(Duration::from_secs(5))
}

/// Called in a forked child: the parent's reporter thread does not exist here, so its
/// handle is abandoned and a new reporter starts (under `instance_name` if given).
#[pyfunction]
#[pyo3(signature = (instance_name = None))]
pub fn after_fork_in_child(instance_name: Option<String>) -> PyResult<()> {
    crate::exit_gate::after_fork_in_child();
    sw_core::open_segments::PROCESS.reset_after_fork();
    let mut agent = AGENT.write().unwrap_or_else(PoisonError::into_inner);
    if let Some(old) = agent.reporter.take() {
        old.abandon_after_fork();
    }
    if let Some(old) = agent.settings.profiler.clone() {
        ProfilerHandle::abandon_after_fork(old);
    }
    let Some(mut config) = agent.reporter_config.clone() else { return Ok(()) };
    let mut settings = clone_settings(&agent.settings);
    if let Some(name) = instance_name {
        settings.instance.clone_from(&name);
        config.instance = name;
    }
    let (settings, reporter) = match launch(clone_settings(&settings), &config, agent.profiler_config.as_ref()) {
        Ok((settings, reporter)) => (settings, Some(reporter)),
        // Warned about in the parent at start.
        Err(AgentError::Reporter(sw_reporter::ReporterError::InvalidBackend { .. })) => (settings, None),
        Err(error) => return Err(error.into()),
    };
    crate::meters::started(config.meter_period);
    agent.settings = Arc::new(settings);
    agent.reporter = reporter;
    agent.reporter_config = Some(config);
    Ok(())
}

fn clone_settings(settings: &Settings) -> Settings {
    Settings {
        service: settings.service.clone(),
        instance: settings.instance.clone(),
        sw8_origin: settings.sw8_origin.clone(),
        ignore: settings.ignore.clone(),
        sampler: sw_core::sampler::Sampler::new(settings.sampler.rate()),
        span_limit: settings.span_limit,
        correlation_max_elements: settings.correlation_max_elements,
        correlation_max_value_len: settings.correlation_max_value_len,
        http_ignore_methods: settings.http_ignore_methods.clone(),
        profiler: None,
        tracing_enabled: settings.tracing_enabled,
        updates: None,
        local: settings.local.clone(),
    }
}

/// True while a reporter is running in this process.
#[pyfunction]
pub fn is_started() -> bool {
    AGENT.read().unwrap_or_else(PoisonError::into_inner).reporter.is_some()
}

/// The agent's own counters: queued, sent, dropped, errors.
#[pyfunction]
pub fn stats(py: Python<'_>) -> PyResult<Bound<'_, PyDict>> {
    let dict = PyDict::new(py);
    let agent = AGENT.read().unwrap_or_else(PoisonError::into_inner);
    let counters = agent.reporter.as_ref().map(Reporter::counters).unwrap_or_default();
    for (name, value) in counters.pairs() {
        dict.set_item(name, value)?;
    }
    dict.set_item("segments_dropped_not_started", DROPPED_NOT_STARTED.load(Relaxed))?;
    dict.set_item("spans_over_limit", sw_core::trace_context::spans_over_limit())?;
    if let Some(profiler) = &agent.settings.profiler {
        let p = profiler.profiler.stats();
        dict.set_item("profile_tasks_accepted", p.tasks_accepted)?;
        dict.set_item("profile_tasks_rejected", p.tasks_rejected)?;
        dict.set_item("profile_tasks_finished", p.tasks_finished)?;
        dict.set_item("profile_segments_profiled", p.segments_profiled)?;
        dict.set_item("profile_snapshots_taken", p.snapshots_sent)?;
        dict.set_item("profile_snapshots_dropped", p.snapshots_dropped)?;
        dict.set_item("profile_capture_failures", p.capture_failures)?;
    }
    Ok(dict)
}
