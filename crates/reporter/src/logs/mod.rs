//! The log reporter's native half: records captured on the application thread wait in a
//! bounded queue ([`LogQueue`]); the reporter thread formats them (layout, safe mode),
//! builds `LogData` and sends batches over the configured transport ([`LogLink`]). A full
//! queue drops the record and counts it, like segments.

mod layout;
mod queue;
mod safe_mode;
mod time;

use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;

use sw_proto::v3::log_report_service_client::LogReportServiceClient;
use sw_proto::v3::{log_data_body, KeyStringValuePair, LogData, LogDataBody, LogTags, TextLog, TraceContext};
use tokio::sync::mpsc;
use tokio::time::sleep;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

pub use layout::{Layout, Value};
pub use queue::LogQueue;
pub use safe_mode::strip_credentials;

use crate::backoff::Backoff;
use crate::channel::Auth;
use crate::segments::{wait_for_work, FlushWaiter, TICK};
use crate::Counters;

/// Most records in one stream, request or produce call.
pub const MAX_BATCH: usize = 500;

/// What the log reporter needs from the configuration.
#[derive(Debug, Clone)]
pub struct LogConfig {
    /// `agent_log_reporter_active`.
    pub active: bool,
    /// `agent_log_reporter_max_buffer_size`.
    pub queue_size: usize,
    /// `agent_log_reporter_layout`, parsed.
    pub layout: Arc<Layout>,
    /// `agent_log_reporter_safe_mode`.
    pub safe_mode: bool,
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            active: true,
            queue_size: 10_000,
            layout: Arc::new(Layout::parse("%(asctime)s [%(threadName)s] %(levelname)s %(name)s - %(message)s")),
            safe_mode: false,
        }
    }
}

/// The text of a record, as far as the application thread prepared it.
#[derive(Debug, Clone, PartialEq)]
pub enum LogText {
    /// Final text (before safe mode).
    Plain(String),
    /// The layout's field values (in [`Layout::fields`] order), then text to append
    /// (`\n` + traceback or stack), rendered on the reporter thread.
    Layout { values: Vec<Value>, suffix: String },
}

/// One log record as the application thread captured it.
#[derive(Debug, Clone, PartialEq)]
pub struct LogRecord {
    /// `record.created`, seconds since the epoch.
    pub created: f64,
    pub text: LogText,
    /// Tags after `level`, `logger`, `thread` (`argument.N`, `exception`).
    pub level: String,
    pub logger: String,
    pub thread: String,
    pub tags: Vec<(String, String)>,
    /// (trace id, segment id, span id) of the active span.
    pub trace: Option<(String, String, i32)>,
    /// The primary endpoint of the active segment; empty outside a span.
    pub endpoint: String,
}

impl LogRecord {
    /// The record as it goes on the wire, for `service`/`instance`.
    #[must_use]
    pub fn into_log_data(self, config: &LogConfig, service: &str, instance: &str) -> LogData {
        let filter = |text: String| {
            if config.safe_mode {
                strip_credentials(&text).into_owned()
            } else {
                text
            }
        };
        let text = match self.text {
            LogText::Plain(text) => text,
            LogText::Layout { values, suffix } => {
                let mut text = config.layout.format(&values, self.created);
                text.push_str(&suffix);
                text
            }
        };
        let pair = |key: &str, value: String| KeyStringValuePair { key: key.to_owned(), value };
        let mut tags = Vec::with_capacity(3 + self.tags.len());
        tags.push(pair("level", self.level));
        tags.push(pair("logger", self.logger));
        tags.push(pair("thread", self.thread));
        for (key, value) in self.tags {
            let value = if key == "exception" { filter(value) } else { value };
            tags.push(KeyStringValuePair { key, value });
        }
        #[allow(clippy::cast_possible_truncation)]
        let timestamp = (self.created * 1000.0).round() as i64;
        LogData {
            timestamp,
            service: service.to_owned(),
            service_instance: instance.to_owned(),
            endpoint: self.endpoint,
            body: Some(LogDataBody {
                r#type: "text".into(),
                content: Some(log_data_body::Content::Text(TextLog { text: filter(text) })),
            }),
            trace_context: self.trace.map(|(trace_id, trace_segment_id, span_id)| TraceContext {
                trace_id,
                trace_segment_id,
                span_id,
            }),
            tags: Some(LogTags { data: tags }),
            layer: String::new(),
        }
    }
}

/// How one transport sends a batch of log records.
pub(crate) trait LogLink {
    /// "gRPC", "HTTP" or "Kafka", for log lines.
    fn name(&self) -> &'static str;
    async fn send(&mut self, batch: Vec<LogData>) -> Result<(), String>;
}

pub type Client = LogReportServiceClient<InterceptedService<Channel, Auth>>;

/// `LogReportService.collect`: one client stream per batch.
pub(crate) struct GrpcLogs {
    pub client: Client,
    pub call_timeout: std::time::Duration,
}

impl LogLink for GrpcLogs {
    fn name(&self) -> &'static str {
        "gRPC"
    }

    async fn send(&mut self, batch: Vec<LogData>) -> Result<(), String> {
        let mut request = tonic::Request::new(tokio_stream::iter(batch));
        request.set_timeout(self.call_timeout);
        self.client.collect(request).await.map(|_| ()).map_err(|status| status.message().to_owned())
    }
}

/// What the log sender owns.
pub(crate) struct LogSender<L> {
    pub link: L,
    /// `host:port`s probed (a TCP connect) before records leave the queue while the backend
    /// is not known to be there: during an outage they stay queued instead of being lost.
    pub probe: Vec<String>,
    pub probe_limit: std::time::Duration,
    pub queue: Arc<LogQueue>,
    pub config: LogConfig,
    pub service: String,
    pub instance: String,
    pub counters: Arc<Counters>,
    pub flushes: mpsc::UnboundedReceiver<FlushWaiter>,
}

impl<L: LogLink> LogSender<L> {
    /// Sends what is queued every tick (or when woken) until the queue is closed and empty.
    pub async fn run(mut self) {
        let mut waiters: Vec<FlushWaiter> = Vec::new();
        let mut backoff = Backoff::new();
        let mut failing = false;
        let mut reachable = false;
        loop {
            if self.queue.is_empty() {
                for waiter in waiters.drain(..) {
                    let _ = waiter.send(());
                }
                if self.queue.is_closed() {
                    return;
                }
                wait_for_work(self.queue.wake(), &mut self.flushes, &mut waiters, TICK).await;
                continue;
            }
            if !reachable {
                match crate::probe::reachable(&self.probe, self.probe_limit).await {
                    Ok(()) => reachable = true,
                    Err(error) => {
                        if !failing {
                            failing = true;
                            log::warn!("cannot report logs over {}: {error}", self.link.name());
                        }
                        // What waits stays queued; a flush cannot be answered "sent".
                        waiters.clear();
                        if self.queue.is_closed() {
                            return;
                        }
                        sleep(crate::probe::interval()).await;
                        continue;
                    }
                }
            }
            let records = self.queue.take();
            let mut records = records.into_iter().peekable();
            while records.peek().is_some() {
                let batch: Vec<LogData> = records
                    .by_ref()
                    .take(MAX_BATCH)
                    .map(|r| r.into_log_data(&self.config, &self.service, &self.instance))
                    .collect();
                let count = batch.len() as u64;
                match self.link.send(batch).await {
                    Ok(()) => {
                        self.counters.logs_sent.fetch_add(count, Relaxed);
                        backoff.reset();
                        if failing {
                            failing = false;
                            log::info!("reporting logs over {} works again", self.link.name());
                        }
                    }
                    Err(error) => {
                        self.counters.logs_lost_send_error.fetch_add(count, Relaxed);
                        self.counters.send_errors.fetch_add(1, Relaxed);
                        if !failing {
                            failing = true;
                            log::warn!("reporting logs over {} failed: {error}", self.link.name());
                        }
                        // What a flush waited for is gone: answer "not sent" at once.
                        waiters.clear();
                        reachable = false;
                        sleep(backoff.next_wait()).await;
                    }
                }
            }
        }
    }
}
