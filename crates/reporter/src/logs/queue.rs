//! The bounded queue of captured log records between the application threads and the
//! reporter thread. Producers push under a mutex that the sender takes once per batch; the
//! sender is woken early only once a batch worth sending waits, never for each record
//! (a wake-up costs the reporter thread more than a record).

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::Relaxed};
use std::sync::{Mutex, PoisonError};

use tokio::sync::Notify;

use super::LogRecord;

#[derive(Debug)]
pub struct LogQueue {
    pending: Mutex<Vec<LogRecord>>,
    capacity: usize,
    len: AtomicUsize,
    closed: AtomicBool,
    wake: Notify,
    wake_threshold: usize,
}

impl LogQueue {
    #[must_use]
    pub fn new(capacity: usize) -> Self {
        let capacity = capacity.max(1);
        Self {
            pending: Mutex::new(Vec::new()),
            capacity,
            len: AtomicUsize::new(0),
            closed: AtomicBool::new(false),
            wake: Notify::new(),
            wake_threshold: (capacity / 4).clamp(1, 512),
        }
    }

    /// Queues `record`; false (the record dropped) when the queue is full.
    pub fn push(&self, record: LogRecord) -> bool {
        let mut pending = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
        if pending.len() >= self.capacity {
            return false;
        }
        pending.push(record);
        let len = pending.len();
        self.len.store(len, Relaxed);
        drop(pending);
        if len == self.wake_threshold {
            self.wake.notify_one();
        }
        true
    }

    /// Everything queued, oldest first.
    pub fn take(&self) -> Vec<LogRecord> {
        if self.len.load(Relaxed) == 0 {
            return Vec::new();
        }
        let mut pending = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
        self.len.store(0, Relaxed);
        std::mem::take(&mut *pending)
    }

    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len.load(Relaxed) == 0
    }

    pub fn close(&self) {
        self.closed.store(true, Relaxed);
        self.wake.notify_one();
    }

    #[must_use]
    pub fn is_closed(&self) -> bool {
        self.closed.load(Relaxed)
    }

    pub fn wake(&self) -> &Notify {
        &self.wake
    }
}
