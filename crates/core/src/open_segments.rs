//! How many segments of this process are open (begun, and neither reported nor dropped), so
//! that stopping the agent can wait, briefly, for threads that are finishing a request.
//!
//! At exit a server's daemon thread may have answered its last request without having closed
//! its entry span yet. Flushing the queue does not wait for it (its segment is not queued
//! yet), so the reporter would be gone when the span closes, and the request lost. Stopping
//! therefore waits until the segments open when it began have ended.
//!
//! Only those: a busy server keeps opening new ones, which must not hold the exit back. Each
//! segment counts in the bucket of the generation it began in; [`OpenCounts::begin_wait`]
//! starts a new generation and hands back the old one's bucket to watch.

use std::sync::atomic::{AtomicUsize, Ordering::Relaxed, Ordering::SeqCst};
use std::time::{Duration, Instant};

/// How often a wait looks at the count.
const POLL: Duration = Duration::from_millis(1);

/// The process's counts, which every [`crate::segment::Segment`] joins.
pub static PROCESS: OpenCounts = OpenCounts::new();

#[derive(Debug)]
pub struct OpenCounts {
    generation: AtomicUsize,
    open: [AtomicUsize; 2],
}

impl OpenCounts {
    #[must_use]
    pub const fn new() -> Self {
        Self { generation: AtomicUsize::new(0), open: [AtomicUsize::new(0), AtomicUsize::new(0)] }
    }

    /// Counts a segment that begins now, until the returned token is dropped.
    #[must_use]
    pub fn open(&'static self) -> OpenSegment {
        let bucket = self.generation.load(Relaxed) & 1;
        self.open[bucket].fetch_add(1, SeqCst);
        OpenSegment { counts: self, bucket: bucket as u8 }
    }

    /// Starts a new generation and returns the one that was current, whose segments are to
    /// be waited for. A segment that begins while this runs counts in either; both are right
    /// to wait for. One stuck open two generations back counts with the newer ones of its
    /// bucket: a wait for it then lasts until the waiter gives up (see `_core.stop`).
    #[must_use]
    pub fn begin_wait(&'static self) -> OpenBefore {
        let old = self.generation.fetch_add(1, SeqCst) & 1;
        OpenBefore { counts: self, bucket: old }
    }

    /// In a forked child: the parent's other threads, and their segments, do not exist here.
    pub fn reset_after_fork(&self) {
        for bucket in &self.open {
            bucket.store(0, SeqCst);
        }
    }
}

impl Default for OpenCounts {
    fn default() -> Self {
        Self::new()
    }
}

/// Held by an open segment: counted from its creation until it is dropped (which a reported
/// segment is right after being queued).
#[derive(Debug)]
pub struct OpenSegment {
    counts: &'static OpenCounts,
    bucket: u8,
}

impl Drop for OpenSegment {
    fn drop(&mut self) {
        // Never below zero: after a fork the count starts again while the forking thread's
        // own segments live on.
        let _ = self.counts.open[usize::from(self.bucket)].fetch_update(SeqCst, SeqCst, |n| n.checked_sub(1));
    }
}

/// The segments that were open when a wait began.
#[derive(Debug, Clone, Copy)]
pub struct OpenBefore {
    counts: &'static OpenCounts,
    bucket: usize,
}

impl OpenBefore {
    /// How many of them are still open.
    #[must_use]
    pub fn count(self) -> usize {
        self.counts.open[self.bucket].load(SeqCst)
    }

    /// Waits until they have all ended; or until none has ended for `quiet` (a thread that
    /// stays inside a long span: not waited for); or `limit` has passed. True when none is
    /// left open. Blocks the calling thread: release the GIL around it.
    #[must_use]
    pub fn wait(self, limit: Duration, quiet: Duration) -> bool {
        let start = Instant::now();
        let mut open = self.count();
        let mut last_change = start;
        while open > 0 {
            let now = Instant::now();
            if now.duration_since(last_change) >= quiet || now.duration_since(start) >= limit {
                return false;
            }
            std::thread::sleep(POLL);
            let now_open = self.count();
            if now_open != open {
                open = now_open;
                last_change = Instant::now();
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wait_watches_the_segments_open_when_it_began_only() {
        static COUNTS: OpenCounts = OpenCounts::new();
        let before = COUNTS.open();
        let also_before = COUNTS.open();
        let watched = COUNTS.begin_wait();
        assert_eq!(watched.count(), 2);
        let after = COUNTS.open();
        assert_eq!(watched.count(), 2, "a segment begun later is not waited for");
        drop(before);
        assert_eq!(watched.count(), 1);
        drop(also_before);
        assert_eq!(watched.count(), 0);
        let next = COUNTS.begin_wait();
        assert_eq!(next.count(), 1, "the next wait watches the later one");
        drop(after);
        assert_eq!(next.count(), 0);
    }

    #[test]
    fn a_wait_ends_when_the_segments_end_or_stay_open_too_long() {
        static COUNTS: OpenCounts = OpenCounts::new();
        let quick = COUNTS.open();
        let watched = COUNTS.begin_wait();
        let closer = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(30));
            drop(quick);
        });
        assert!(watched.wait(Duration::from_secs(5), Duration::from_secs(1)), "the segment ended");
        closer.join().unwrap();

        let _stuck = COUNTS.open();
        let watched = COUNTS.begin_wait();
        let started = Instant::now();
        assert!(!watched.wait(Duration::from_secs(5), Duration::from_millis(50)));
        let waited = started.elapsed();
        assert!(waited >= Duration::from_millis(50) && waited < Duration::from_secs(2), "{waited:?}");
        let started = Instant::now();
        assert!(!watched.wait(Duration::from_millis(20), Duration::from_secs(5)));
        assert!(started.elapsed() < Duration::from_secs(2));
    }

    #[test]
    fn a_count_never_goes_below_zero_after_a_fork() {
        static COUNTS: OpenCounts = OpenCounts::new();
        let survivor = COUNTS.open();
        COUNTS.reset_after_fork();
        let new = COUNTS.open();
        drop(survivor);
        drop(new);
        assert_eq!(COUNTS.begin_wait().count(), 0);
        assert_eq!(COUNTS.begin_wait().count(), 0);
    }
}
