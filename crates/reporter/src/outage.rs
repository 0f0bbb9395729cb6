//! Logging of a backend outage: one warning when it starts, debug lines while it lasts,
//! one line with what was lost when it ends, so a long outage does not flood the
//! application's log. Shared by the gRPC and HTTP segment senders.

use std::fmt::Display;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use crate::Counters;

/// What a sender remembers during an outage.
#[derive(Debug, Default)]
pub struct OutageLog {
    current: Option<Outage>,
}

#[derive(Debug)]
struct Outage {
    failures: u64,
    lost_before: u64,
    dropped_before: u64,
    skipped_before: u64,
}

impl OutageLog {
    /// A send to `backend` over `transport` failed with `error`; the next try is in `wait`.
    pub fn failed(&mut self, transport: &str, backend: &str, error: &dyn Display, wait: Duration, counters: &Counters) {
        match &mut self.current {
            Some(outage) => {
                outage.failures += 1;
                log::debug!("still cannot report segments over {transport} to {backend}: {error}; retry in {wait:.1?}");
            }
            None => {
                log::warn!(
                    "cannot report segments over {transport} to {backend}: {error}; retrying with backoff, segments \
                     that do not fit the queue are dropped and counted"
                );
                self.current = Some(Outage {
                    failures: 1,
                    lost_before: counters.segments_lost_send_error.load(Relaxed),
                    dropped_before: counters.segments_dropped_queue_full.load(Relaxed),
                    skipped_before: counters.spans_dropped_queue_full.load(Relaxed),
                });
            }
        }
    }

    /// A send succeeded: ends an outage, if one was going on, with a summary line.
    pub fn recovered(&mut self, transport: &str, backend: &str, counters: &Counters) {
        if let Some(outage) = self.current.take() {
            let lost = counters.segments_lost_send_error.load(Relaxed) - outage.lost_before;
            let dropped = counters.segments_dropped_queue_full.load(Relaxed) - outage.dropped_before;
            let skipped = counters.spans_dropped_queue_full.load(Relaxed) - outage.skipped_before;
            log::info!(
                "reporting segments over {transport} to {backend} again after {} failed attempts; {lost} segments \
                 lost with failed sends, {dropped} dropped at the full queue, {skipped} spans not recorded while \
                 the queue was full",
                outage.failures
            );
        }
    }
}
