//! The handle the application side holds: non-blocking enqueue, bounded flush, shutdown.

use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use sw_proto::v3::{SegmentObject, ThreadSnapshot};
use tokio::sync::{mpsc, watch};

use crate::logs::{LogQueue, LogRecord};
use crate::segment_queue::{Refused, SegmentQueue};
use crate::segments::{self, FlushWaiter};
use crate::{
    grpc, http, kafka, CommandHandler, ConfigUpdates, Counters, CountersSnapshot, Protocol, ReporterConfig,
    ReporterError,
};

/// Requests flushes of a reporter; cheap to clone, holds no lock while waiting.
#[derive(Debug, Clone)]
pub struct FlushHandle {
    segments: mpsc::UnboundedSender<FlushWaiter>,
    logs: mpsc::UnboundedSender<FlushWaiter>,
}

impl FlushHandle {
    /// Blocks until what was queued before this call (segments and log records) has been
    /// sent, or `timeout` passes.
    #[must_use]
    pub fn flush(&self, timeout: Duration) -> bool {
        let deadline = std::time::Instant::now() + timeout;
        let (segments_done, segments_wait) = std::sync::mpsc::channel();
        let (logs_done, logs_wait) = std::sync::mpsc::channel();
        if self.segments.send(segments_done).is_err() {
            return false;
        }
        // No log sender (log reporter off) answers at once: its end is dropped.
        let logs_sent = self.logs.send(logs_done).is_ok();
        let left = || deadline.saturating_duration_since(std::time::Instant::now());
        let segments = segments_wait.recv_timeout(left()).is_ok();
        let logs =
            !logs_sent || !matches!(logs_wait.recv_timeout(left()), Err(std::sync::mpsc::RecvTimeoutError::Timeout));
        segments && logs
    }
}

/// A running reporter: one background thread with its own tokio runtime.
#[derive(Debug)]
pub struct Reporter {
    segments: Arc<SegmentQueue>,
    logs: Option<Arc<LogQueue>>,
    flushes: mpsc::UnboundedSender<FlushWaiter>,
    log_flushes: mpsc::UnboundedSender<FlushWaiter>,
    snapshots: mpsc::Sender<ThreadSnapshot>,
    finishes: mpsc::UnboundedSender<String>,
    stop: watch::Sender<bool>,
    counters: Arc<Counters>,
    updates: Arc<ConfigUpdates>,
    thread: Option<JoinHandle<()>>,
}

impl Reporter {
    /// Starts the reporter thread. Connecting happens lazily on the first call, so a
    /// backend that is down at start costs nothing but the data that cannot be sent.
    pub fn start(config: ReporterConfig) -> Result<Self, ReporterError> {
        Self::start_with(config, None)
    }

    /// Starts the reporter; with a handler (and `profile_active`), it also polls for
    /// profile tasks and hands the commands to it.
    pub fn start_with(config: ReporterConfig, handler: Option<Arc<dyn CommandHandler>>) -> Result<Self, ReporterError> {
        let capacity = config.segment_queue_size.max(1);
        let segments = Arc::new(SegmentQueue::new(capacity, segments::wake_threshold(capacity)));
        let (snapshots, snapshot_queue) = mpsc::channel(config.snapshot_queue_size.max(1));
        let (finishes, finish_queue) = mpsc::unbounded_channel();
        let (flushes, flush_queue) = mpsc::unbounded_channel();
        let (log_flushes, log_flush_queue) = mpsc::unbounded_channel();
        let logs = config.logs.active.then(|| Arc::new(LogQueue::new(config.logs.queue_size)));
        let (stop, stopped) = watch::channel(false);
        let counters = Arc::new(Counters::default());
        let updates = Arc::new(ConfigUpdates::default());
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        let queues = Queues {
            segments: segments.clone(),
            flushes: flush_queue,
            snapshots: snapshot_queue,
            finishes: finish_queue,
            logs: logs.clone(),
            log_flushes: log_flush_queue,
        };
        let thread = match config.protocol {
            Protocol::Http => http::spawn(runtime, config, counters.clone(), queues, stopped, handler.is_some())?,
            Protocol::Kafka => kafka::spawn(runtime, config, counters.clone(), queues, stopped)?,
            Protocol::Grpc => {
                let shared = grpc::Shared { counters: counters.clone(), updates: updates.clone() };
                grpc::spawn(runtime, config, shared, queues, stopped, handler)?
            }
        };
        Ok(Self {
            segments,
            logs,
            flushes,
            log_flushes,
            snapshots,
            finishes,
            stop,
            counters,
            updates,
            thread: Some(thread),
        })
    }

    /// Dynamic configuration received from the backend, for the agent to apply.
    #[must_use]
    pub fn config_updates(&self) -> Arc<ConfigUpdates> {
        self.updates.clone()
    }

    /// Queues the segment that `encode` appends to the buffer it is given (its
    /// `SegmentObject` bytes, see `sw_core::encoded`) without blocking. Returns false (and
    /// counts the drop) when the queue is full.
    pub fn report_encoded(&self, encode: impl FnOnce(&mut Vec<u8>)) -> bool {
        match self.segments.push_with(encode) {
            Ok(()) => {
                self.counters.segments_queued.fetch_add(1, Relaxed);
                true
            }
            Err(Refused::Full) => {
                self.counters.segments_dropped_queue_full.fetch_add(1, Relaxed);
                false
            }
            Err(Refused::TooLarge) => {
                log::error!("a segment larger than 4 GiB cannot be sent; dropped");
                self.counters.segments_dropped_queue_full.fetch_add(1, Relaxed);
                false
            }
        }
    }

    /// Queues `segment` (encoded here) without blocking; false (counted) when the queue is full.
    pub fn report_segment(&self, segment: SegmentObject) -> bool {
        self.report_encoded(|buf| sw_core::encoded::encode_message(&segment, buf))
    }

    /// Queues a captured log record without blocking; false (counted) when the queue is
    /// full or the log reporter is off.
    pub fn report_log(&self, record: LogRecord) -> bool {
        let Some(queue) = &self.logs else { return false };
        if queue.push(record) {
            self.counters.logs_queued.fetch_add(1, Relaxed);
            true
        } else {
            self.counters.logs_dropped_queue_full.fetch_add(1, Relaxed);
            false
        }
    }

    /// Queues a profile snapshot without blocking; false (counted) when the queue is full.
    pub fn report_snapshot(&self, snapshot: ThreadSnapshot) -> bool {
        self.profile_outlet().snapshot(snapshot)
    }

    /// Reports that a profile task ended (sent in the background, retried a few times).
    pub fn report_task_finish(&self, task_id: String) {
        self.profile_outlet().task_finished(task_id);
    }

    /// A handle for another thread to send profiling data through this reporter.
    #[must_use]
    pub fn profile_outlet(&self) -> crate::ProfileOutlet {
        crate::ProfileOutlet {
            snapshots: self.snapshots.clone(),
            finishes: self.finishes.clone(),
            counters: self.counters.clone(),
        }
    }

    /// True while the segment queue has no free slot (new spans then become no-ops).
    #[must_use]
    pub fn is_segment_queue_full(&self) -> bool {
        self.segments.is_full()
    }

    /// True (and counted) when a new span must become a no-op because the queue is full.
    #[must_use]
    pub fn skip_span_if_queue_full(&self) -> bool {
        let full = self.is_segment_queue_full();
        if full {
            self.counters.spans_dropped_queue_full.fetch_add(1, Relaxed);
        }
        full
    }

    /// Blocks until what was queued before this call has been sent, or `timeout` passes.
    /// Returns whether everything was sent in time.
    #[must_use]
    pub fn flush(&self, timeout: Duration) -> bool {
        self.flush_handle().flush(timeout)
    }

    /// A handle that can wait for a flush without borrowing the reporter.
    #[must_use]
    pub fn flush_handle(&self) -> FlushHandle {
        FlushHandle { segments: self.flushes.clone(), logs: self.log_flushes.clone() }
    }

    /// Flushes within `timeout`, then stops the background thread.
    pub fn shutdown(mut self, timeout: Duration) -> bool {
        let flushed = self.flush(timeout);
        let _ = self.stop.send(true);
        if let Some(logs) = &self.logs {
            logs.close();
        }
        self.segments.close();
        if flushed {
            if let Some(thread) = self.thread.take() {
                let _ = thread.join();
            }
        }
        flushed
    }

    /// The reporter's counters.
    #[must_use]
    pub fn counters(&self) -> CountersSnapshot {
        self.counters.snapshot()
    }

    /// Abandons this reporter in a forked child, where its thread does not exist: nothing
    /// of it may run (its locks and channels may be mid-operation), so it is leaked.
    pub fn abandon_after_fork(self) {
        std::mem::forget(self);
    }
}

impl Drop for Reporter {
    /// A reporter dropped without `shutdown` still ends its thread once the queue is sent.
    fn drop(&mut self) {
        if let Some(logs) = &self.logs {
            logs.close();
        }
        self.segments.close();
    }
}

/// The receiving ends of the reporter's queues, handed to the transport's tasks.
pub(crate) struct Queues {
    pub segments: Arc<SegmentQueue>,
    pub flushes: mpsc::UnboundedReceiver<FlushWaiter>,
    pub snapshots: mpsc::Receiver<ThreadSnapshot>,
    pub finishes: mpsc::UnboundedReceiver<String>,
    /// The log queue, when the log reporter is on.
    pub logs: Option<Arc<LogQueue>>,
    pub log_flushes: mpsc::UnboundedReceiver<FlushWaiter>,
}

impl Queues {
    /// The log sender over `link`, when the log reporter is on.
    pub(crate) fn log_sender<L: crate::logs::LogLink>(
        logs: Option<Arc<LogQueue>>,
        log_flushes: mpsc::UnboundedReceiver<FlushWaiter>,
        link: L,
        probe: Vec<String>,
        config: &ReporterConfig,
        counters: &Arc<Counters>,
    ) -> Option<crate::logs::LogSender<L>> {
        Some(crate::logs::LogSender {
            link,
            probe,
            probe_limit: config.call_timeout,
            queue: logs?,
            config: config.logs.clone(),
            service: config.service.clone(),
            instance: config.instance.clone(),
            counters: counters.clone(),
            flushes: log_flushes,
        })
    }
}
