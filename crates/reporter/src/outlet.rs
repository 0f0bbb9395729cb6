//! A handle for the profiler's thread to send snapshots and task finishes through the
//! reporter without going through the agent's global state (which a thread that does not
//! hold the GIL must never lock: a fork at that moment would leave the lock held in the child).

use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;

use sw_proto::v3::ThreadSnapshot;
use tokio::sync::mpsc;

use crate::Counters;

/// Cheap to clone; sends never block.
#[derive(Debug, Clone)]
pub struct ProfileOutlet {
    pub(crate) snapshots: mpsc::Sender<ThreadSnapshot>,
    pub(crate) finishes: mpsc::UnboundedSender<String>,
    pub(crate) counters: Arc<Counters>,
}

impl ProfileOutlet {
    /// Queues a snapshot; false (and counted) when the queue is full.
    pub fn snapshot(&self, snapshot: ThreadSnapshot) -> bool {
        let queued = self.snapshots.try_send(snapshot).is_ok();
        if !queued {
            self.counters.snapshots_dropped_queue_full.fetch_add(1, Relaxed);
        }
        queued
    }

    /// Reports that a task ended.
    pub fn task_finished(&self, task_id: String) {
        let _ = self.finishes.send(task_id);
    }
}
