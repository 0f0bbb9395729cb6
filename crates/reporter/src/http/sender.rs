//! Sends finished segments as JSON batches to `POST /v3/segments`.
//!
//! A batch starts with the first waiting segment and takes what arrives within the stream
//! idle window (at most [`MAX_BATCH`] segments or about [`MAX_BATCH_BYTES`]), or less when a
//! flush finds the queue empty. The Python agent posts each segment alone to `/v3/segment`;
//! one request per batch costs OAP and the application far less. A failed request loses
//! only its batch (counted); the loop then backs off.

use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Duration;

use sw_proto::v3::SegmentObject;
use tokio::sync::mpsc;
use tokio::time::{sleep, timeout_at, Instant};

use super::client::{HttpClient, SendError};
use super::json::SegmentArray;
use crate::backoff::Backoff;
use crate::segments::FlushWaiter;
use crate::{Counters, ReporterConfig};

/// Most segments in one request.
pub const MAX_BATCH: usize = 100;
/// A batch stops growing once its body is this large (OAP's HTTP server limits bodies).
pub const MAX_BATCH_BYTES: usize = 2 * 1024 * 1024;
const PATH: &str = "/v3/segments";

pub struct SegmentSender {
    client: HttpClient,
    config: ReporterConfig,
    counters: Arc<Counters>,
    queue: mpsc::Receiver<SegmentObject>,
    flushes: mpsc::UnboundedReceiver<FlushWaiter>,
    waiters: Vec<FlushWaiter>,
    /// Set while the backend fails: one warning when it starts, one line when it ends.
    outage: Option<Outage>,
}

/// What the loop remembers during an outage, to log once at its start and once at its end.
struct Outage {
    failures: u64,
    lost_before: u64,
    dropped_before: u64,
}

impl SegmentSender {
    pub fn new(
        client: HttpClient,
        config: ReporterConfig,
        counters: Arc<Counters>,
        queue: mpsc::Receiver<SegmentObject>,
        flushes: mpsc::UnboundedReceiver<FlushWaiter>,
    ) -> Self {
        Self { client, config, counters, queue, flushes, waiters: Vec::new(), outage: None }
    }

    /// Runs until every producer is gone and the queue is drained.
    pub async fn run(mut self) {
        let mut backoff = Backoff::new();
        loop {
            let first = tokio::select! {
                segment = self.queue.recv() => match segment {
                    Some(segment) => segment,
                    None => break,
                },
                Some(waiter) = self.flushes.recv() => {
                    self.waiters.push(waiter);
                    self.answer_flushes_if_drained();
                    continue;
                }
            };
            let (body, count) = self.collect(first).await;
            match self.client.post(PATH, body).await {
                Ok(()) => {
                    self.counters.segments_sent.fetch_add(count, Relaxed);
                    backoff.reset();
                    self.end_outage();
                    self.answer_flushes_if_drained();
                }
                Err(error) => {
                    self.counters.send_errors.fetch_add(1, Relaxed);
                    self.counters.segments_lost_send_error.fetch_add(count, Relaxed);
                    // As with gRPC, flush waiters are answered only after a successful send;
                    // their own timeout ends the wait while the backend fails.
                    let wait = backoff.next_wait();
                    self.note_failure(&error, wait);
                    sleep(wait).await;
                }
            }
        }
        for waiter in self.waiters.drain(..) {
            let _ = waiter.send(());
        }
    }

    /// Encodes `first` and what follows it within the window into one request body.
    async fn collect(&mut self, first: SegmentObject) -> (String, u64) {
        let window = self.config.stream_idle.min(self.config.stream_max_age);
        let deadline = Instant::now() + window;
        let mut batch = SegmentArray::new();
        batch.push(&first);
        drop(first);
        while batch.count() < MAX_BATCH && batch.bytes() < MAX_BATCH_BYTES {
            if !self.waiters.is_empty() && self.queue.is_empty() {
                break;
            }
            let next = tokio::select! {
                next = timeout_at(deadline, self.queue.recv()) => next,
                Some(waiter) = self.flushes.recv() => {
                    self.waiters.push(waiter);
                    continue;
                }
            };
            match next {
                Ok(Some(segment)) => batch.push(&segment),
                // Window over, or every producer gone.
                Ok(None) | Err(_) => break,
            }
        }
        let count = batch.count() as u64;
        (batch.finish(), count)
    }

    fn answer_flushes_if_drained(&mut self) {
        if self.queue.is_empty() {
            for waiter in self.waiters.drain(..) {
                let _ = waiter.send(());
            }
        }
    }

    /// Logs the first failure of an outage as a warning and the rest at debug level, so a
    /// long outage does not flood the application's log.
    fn note_failure(&mut self, error: &SendError, wait: Duration) {
        let backend = &self.config.backend;
        match &mut self.outage {
            Some(outage) => {
                outage.failures += 1;
                log::debug!("still cannot report segments over HTTP to {backend}: {error}; retry in {wait:.1?}");
            }
            None => {
                log::warn!(
                    "cannot report segments over HTTP to {backend}: {error}; retrying with backoff, segments that do \
                     not fit the queue are dropped and counted"
                );
                self.outage = Some(Outage {
                    failures: 1,
                    lost_before: self.counters.segments_lost_send_error.load(Relaxed),
                    dropped_before: self.counters.segments_dropped_queue_full.load(Relaxed),
                });
            }
        }
    }

    fn end_outage(&mut self) {
        if let Some(outage) = self.outage.take() {
            let lost = self.counters.segments_lost_send_error.load(Relaxed) - outage.lost_before;
            let dropped = self.counters.segments_dropped_queue_full.load(Relaxed) - outage.dropped_before;
            log::info!(
                "reporting segments over HTTP to {} again after {} failed attempts; {lost} segments lost in failed \
                 requests, {dropped} dropped at the full queue",
                self.config.backend,
                outage.failures
            );
        }
    }
}
