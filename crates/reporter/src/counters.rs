//! The reporter's own counters: what was queued, sent, dropped, and how often sending failed.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// Monotonic counters, shared between the application threads and the reporter thread.
#[derive(Debug, Default)]
pub struct Counters {
    /// Segments accepted into the queue.
    pub segments_queued: AtomicU64,
    /// Segments the backend acknowledged (their stream completed successfully).
    pub segments_sent: AtomicU64,
    /// Segments dropped because the queue was full.
    pub segments_dropped_queue_full: AtomicU64,
    /// Segments lost because the stream carrying them failed.
    pub segments_lost_send_error: AtomicU64,
    /// Spans that became no-ops because the segment queue was full (upstream's rule).
    pub spans_dropped_queue_full: AtomicU64,
    /// Failed gRPC calls of any kind.
    pub send_errors: AtomicU64,
    /// Successful keepAlive calls.
    pub heartbeats: AtomicU64,
    /// Successful instance-property reports.
    pub properties_reported: AtomicU64,
    /// Profile snapshots the backend acknowledged.
    pub snapshots_sent: AtomicU64,
    /// Profile snapshots dropped because their queue was full.
    pub snapshots_dropped_queue_full: AtomicU64,
    /// Profile snapshots lost with a failed stream.
    pub snapshots_lost_send_error: AtomicU64,
    /// Log records accepted into the queue.
    pub logs_queued: AtomicU64,
    /// Log records the backend acknowledged.
    pub logs_sent: AtomicU64,
    /// Log records dropped because the queue was full.
    pub logs_dropped_queue_full: AtomicU64,
    /// Log records lost with a failed send.
    pub logs_lost_send_error: AtomicU64,
    /// Meter values left out of a report because it held `agent_meter_reporter_max_buffer_size`.
    pub meters_dropped_queue_full: AtomicU64,
}

/// A point-in-time copy of [`Counters`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[allow(missing_docs)]
pub struct CountersSnapshot {
    pub segments_queued: u64,
    pub segments_sent: u64,
    pub segments_dropped_queue_full: u64,
    pub segments_lost_send_error: u64,
    pub spans_dropped_queue_full: u64,
    pub send_errors: u64,
    pub heartbeats: u64,
    pub properties_reported: u64,
    pub snapshots_sent: u64,
    pub snapshots_dropped_queue_full: u64,
    pub snapshots_lost_send_error: u64,
    pub logs_queued: u64,
    pub logs_sent: u64,
    pub logs_dropped_queue_full: u64,
    pub logs_lost_send_error: u64,
    pub meters_dropped_queue_full: u64,
}

impl Counters {
    /// Reads every counter.
    #[must_use]
    pub fn snapshot(&self) -> CountersSnapshot {
        CountersSnapshot {
            segments_queued: self.segments_queued.load(Relaxed),
            segments_sent: self.segments_sent.load(Relaxed),
            segments_dropped_queue_full: self.segments_dropped_queue_full.load(Relaxed),
            segments_lost_send_error: self.segments_lost_send_error.load(Relaxed),
            spans_dropped_queue_full: self.spans_dropped_queue_full.load(Relaxed),
            send_errors: self.send_errors.load(Relaxed),
            heartbeats: self.heartbeats.load(Relaxed),
            properties_reported: self.properties_reported.load(Relaxed),
            snapshots_sent: self.snapshots_sent.load(Relaxed),
            snapshots_dropped_queue_full: self.snapshots_dropped_queue_full.load(Relaxed),
            snapshots_lost_send_error: self.snapshots_lost_send_error.load(Relaxed),
            logs_queued: self.logs_queued.load(Relaxed),
            logs_sent: self.logs_sent.load(Relaxed),
            logs_dropped_queue_full: self.logs_dropped_queue_full.load(Relaxed),
            logs_lost_send_error: self.logs_lost_send_error.load(Relaxed),
            meters_dropped_queue_full: self.meters_dropped_queue_full.load(Relaxed),
        }
    }
}

impl CountersSnapshot {
    /// Name/value pairs, for Python and for self-observability meters.
    #[must_use]
    pub fn pairs(&self) -> [(&'static str, u64); 16] {
        [
            ("segments_queued", self.segments_queued),
            ("segments_sent", self.segments_sent),
            ("segments_dropped_queue_full", self.segments_dropped_queue_full),
            ("segments_lost_send_error", self.segments_lost_send_error),
            ("spans_dropped_queue_full", self.spans_dropped_queue_full),
            ("send_errors", self.send_errors),
            ("heartbeats", self.heartbeats),
            ("properties_reported", self.properties_reported),
            ("snapshots_sent", self.snapshots_sent),
            ("snapshots_dropped_queue_full", self.snapshots_dropped_queue_full),
            ("snapshots_lost_send_error", self.snapshots_lost_send_error),
            ("logs_queued", self.logs_queued),
            ("logs_sent", self.logs_sent),
            ("logs_dropped_queue_full", self.logs_dropped_queue_full),
            ("logs_lost_send_error", self.logs_lost_send_error),
            ("meters_dropped_queue_full", self.meters_dropped_queue_full),
        ]
    }
}
