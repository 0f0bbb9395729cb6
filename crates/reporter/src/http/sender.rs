//! Sends finished segments as JSON batches to `POST /v3/segments`.
//!
//! A batch starts with the first waiting segment and takes what arrives within the stream
//! idle window (at most [`MAX_BATCH`] segments or about [`MAX_BATCH_BYTES`]), or less when a
//! flush finds the queue empty. The Python agent posts each segment alone to `/v3/segment`;
//! one request per batch costs OAP and the application far less. A failed request loses
//! only its batch (counted); the loop then backs off.

use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;

use sw_proto::v3::SegmentObject;
use tokio::sync::mpsc;
use tokio::time::{sleep, timeout_at, Instant};

use super::client::HttpClient;
use super::json::SegmentArray;
use crate::backoff::Backoff;
use crate::outage::OutageLog;
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
    /// Logs a backend outage once at its start and once at its end.
    outage: OutageLog,
}

impl SegmentSender {
    pub fn new(
        client: HttpClient,
        config: ReporterConfig,
        counters: Arc<Counters>,
        queue: mpsc::Receiver<SegmentObject>,
        flushes: mpsc::UnboundedReceiver<FlushWaiter>,
    ) -> Self {
        Self { client, config, counters, queue, flushes, waiters: Vec::new(), outage: OutageLog::default() }
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
                    self.outage.recovered("HTTP", &self.config.backend, &self.counters);
                    self.answer_flushes_if_drained();
                }
                Err(error) => {
                    self.counters.send_errors.fetch_add(1, Relaxed);
                    self.counters.segments_lost_send_error.fetch_add(count, Relaxed);
                    // As with gRPC, flush waiters are answered only after a successful send;
                    // their own timeout ends the wait while the backend fails.
                    let wait = backoff.next_wait();
                    self.outage.failed("HTTP", &self.config.backend, &error, wait, &self.counters);
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
}
