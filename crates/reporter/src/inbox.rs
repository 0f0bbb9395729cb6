//! What the three segment senders (gRPC, HTTP, Kafka) share: taking segments out of the
//! queue, answering flushes, and the state of the link to the backend.
//!
//! The senders differ only in how they send a batch. Each asks [`SegmentInbox::next`] for
//! what waits (which waits for work and, during an outage, for the backend to accept
//! connections), adds what [`SegmentInbox::next_within`] gives within its batching window
//! ([`SegmentInbox::gather`] for senders whose batches have a size limit), sends, and
//! reports the outcome with [`SegmentInbox::delivered`] or [`SegmentInbox::lost`].

use std::fmt::Display;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::mpsc;
use tokio::time::{sleep, Instant};

use crate::backoff::Backoff;
use crate::outage::OutageLog;
use crate::probe::Gate;
use crate::segment_queue::{SegmentQueue, Segments};
use crate::segments::{wait_for_work, FlushWaiter, TICK};
use crate::Counters;

/// The receiving side of the segment queue, with the flushes waiting on it.
pub struct SegmentInbox {
    queue: Arc<SegmentQueue>,
    /// Segments taken from the queue that did not fit the last batch.
    carry: Segments,
    flushes: mpsc::UnboundedReceiver<FlushWaiter>,
    /// Flushes waiting until what was queued before them is sent.
    waiters: Vec<FlushWaiter>,
}

impl SegmentInbox {
    pub fn new(queue: Arc<SegmentQueue>, flushes: mpsc::UnboundedReceiver<FlushWaiter>) -> Self {
        Self { queue, carry: Segments::default(), flushes, waiters: Vec::new() }
    }

    /// The segments of the next batch (all that wait), once the link accepts connections;
    /// `None` when the producers are gone and the queue is drained (every flush is answered).
    ///
    /// The loop does not wake for each segment: it wakes every [`TICK`], when the queue
    /// passes the producers' wake threshold, or for a flush. One wake-up and one send then
    /// carry many segments, which keeps the reporter's cost per request small.
    pub async fn next(&mut self, link: &mut Link) -> Option<Segments> {
        loop {
            if self.carry.is_empty() {
                self.wait(TICK).await;
            }
            if self.is_empty() {
                if self.queue.is_closed() {
                    break;
                }
                self.answer_flushes_if_drained();
                continue;
            }
            if !link.accepts_connections().await {
                // Nothing can be sent now: a flush waiting for it fails at once.
                self.waiters.clear();
                continue;
            }
            if let Some(segments) = self.try_recv() {
                return Some(segments);
            }
        }
        for waiter in self.waiters.drain(..) {
            let _ = waiter.send(());
        }
        None
    }

    /// Segments already queued or arriving before `deadline`; `None` at the deadline, or
    /// at once when the queue is empty and a flush waits (the batch should go now).
    pub async fn next_within(&mut self, deadline: Instant) -> Option<Segments> {
        loop {
            if let Some(segments) = self.try_recv() {
                return Some(segments);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if self.queue.is_closed() || self.flush_pending() || left.is_zero() {
                return None;
            }
            self.wait(left).await;
        }
    }

    /// The segments already queued, without waiting.
    pub fn try_recv(&mut self) -> Option<Segments> {
        if !self.carry.is_empty() {
            return Some(std::mem::take(&mut self.carry));
        }
        Some(self.queue.take()).filter(|segments| !segments.is_empty())
    }

    /// Hands `add` the segments of `first`, then of what arrives before `deadline`, until
    /// `add` answers that the batch is full; what is left goes first into the next batch.
    pub async fn gather(&mut self, first: Segments, deadline: Instant, mut add: impl FnMut(Bytes) -> bool) {
        let mut segments = first;
        loop {
            while let Some(segment) = segments.next() {
                if !add(segment) {
                    self.carry = segments;
                    return;
                }
            }
            match self.next_within(deadline).await {
                Some(more) => segments = more,
                None => return,
            }
        }
    }

    /// True while a flush waits for the queue to be sent.
    pub fn flush_pending(&self) -> bool {
        !self.waiters.is_empty()
    }

    /// Waits for work: a tick (at most `limit`), producers' wake-up, or a flush.
    pub async fn wait(&mut self, limit: Duration) {
        wait_for_work(self.queue.wake(), &mut self.flushes, &mut self.waiters, limit).await;
    }

    /// A batch arrived: the link is up, and flushes are answered once the queue is empty.
    pub fn delivered(&mut self, link: &mut Link) {
        link.recovered();
        self.answer_flushes_if_drained();
    }

    /// A batch was lost with `error`: what a flush waited for went with it, so waiting
    /// flushes are answered "not sent" at once; then the link backs off.
    pub async fn lost(&mut self, link: &mut Link, error: &dyn Display) {
        self.waiters.clear();
        link.failed(error).await;
    }

    fn is_empty(&self) -> bool {
        self.carry.is_empty() && self.queue.is_empty()
    }

    fn answer_flushes_if_drained(&mut self) {
        if self.is_empty() {
            for waiter in self.waiters.drain(..) {
                let _ = waiter.send(());
            }
        }
    }
}

/// The state of one sender's link to its backend: the probe gate, the backoff after a
/// failed send, and the outage log (one line when an outage starts, one when it ends).
pub struct Link {
    /// "gRPC", "HTTP" or "Kafka", for log lines.
    transport: &'static str,
    /// The backend or brokers, for log lines.
    target: String,
    counters: Arc<Counters>,
    gate: Gate,
    backoff: Backoff,
    outage: OutageLog,
}

impl Link {
    /// A link to `target`, probed at `addresses` (`host:port`) with connects of at most
    /// `probe_limit`.
    pub fn new(
        transport: &'static str,
        target: String,
        addresses: Vec<String>,
        probe_limit: Duration,
        counters: Arc<Counters>,
    ) -> Self {
        let gate = Gate::new(addresses, probe_limit);
        Self { transport, target, counters, gate, backoff: Backoff::new(), outage: OutageLog::default() }
    }

    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    async fn accepts_connections(&mut self) -> bool {
        self.gate.open(self.transport, &self.target, &mut self.outage, &self.counters).await
    }

    fn recovered(&mut self) {
        self.backoff.reset();
        self.outage.recovered(self.transport, &self.target, &self.counters);
    }

    /// Counts and logs a failed send, probes before the next one, and waits the backoff.
    async fn failed(&mut self, error: &dyn Display) {
        self.gate.send_failed();
        self.counters.send_errors.fetch_add(1, Relaxed);
        let wait = self.backoff.next_wait();
        self.outage.failed(self.transport, &self.target, error, wait, &self.counters);
        sleep(wait).await;
    }
}
