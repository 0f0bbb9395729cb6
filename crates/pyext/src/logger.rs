//! The native side's own log lines go to stderr, formatted like the Python agent's, at
//! the level of `agent_logging_level`. They never call into Python: the reporter thread
//! must not take the GIL (it may run during interpreter shutdown or after a fork).

use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

use log::{Level, LevelFilter, Log, Metadata, Record};

static LEVEL: AtomicUsize = AtomicUsize::new(LevelFilter::Info as usize);

struct StderrLogger;

impl Log for StderrLogger {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.level() as usize <= LEVEL.load(Relaxed)
    }

    fn log(&self, record: &Record<'_>) {
        if self.enabled(record.metadata()) {
            let level = match record.level() {
                Level::Error => "ERROR",
                Level::Warn => "WARNING",
                Level::Info => "INFO",
                Level::Debug | Level::Trace => "DEBUG",
            };
            let _ = writeln!(std::io::stderr(), "skywalking [{}] [{level}] {}", std::process::id(), record.args());
        }
    }

    fn flush(&self) {}
}

static LOGGER: StderrLogger = StderrLogger;

/// Installs the logger (once) and sets its level from a Python logging level name.
pub fn init(level_name: &str) {
    let filter = match level_name.trim().to_ascii_uppercase().as_str() {
        "DEBUG" | "NOTSET" => LevelFilter::Debug,
        "WARNING" | "WARN" => LevelFilter::Warn,
        "ERROR" | "CRITICAL" | "FATAL" => LevelFilter::Error,
        "OFF" => LevelFilter::Off,
        _ => LevelFilter::Info,
    };
    LEVEL.store(filter as usize, Relaxed);
    let _ = log::set_logger(&LOGGER);
    log::set_max_level(LevelFilter::Trace);
}
