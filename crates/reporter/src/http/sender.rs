//! Sends finished segments as JSON batches to `POST /v3/segments`.
//!
//! A batch starts with the first waiting segment and takes what arrives within the stream
//! idle window (at most [`MAX_BATCH`] segments or about [`MAX_BATCH_BYTES`]), or less when a
//! flush finds the queue empty. The Python agent posts each segment alone to `/v3/segment`;
//! one request per batch costs OAP and the application far less. A failed request loses
//! only its batch (counted); the loop then backs off.

use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;

use sw_core::encoded::EncodedSegment;
use tokio::sync::mpsc::error::TryRecvError;
use tokio::sync::{mpsc, Notify};
use tokio::time::{sleep, Instant};

use super::client::HttpClient;
use super::json::SegmentArray;
use crate::backoff::Backoff;
use crate::outage::OutageLog;
use crate::probe::Gate;
use crate::segments::{wait_for_work, FlushWaiter, TICK};
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
    queue: mpsc::Receiver<EncodedSegment>,
    flushes: mpsc::UnboundedReceiver<FlushWaiter>,
    wake: Arc<Notify>,
    waiters: Vec<FlushWaiter>,
    /// Logs a backend outage once at its start and once at its end.
    outage: OutageLog,
    /// Keeps segments queued while the backend does not accept connections.
    gate: Gate,
}

impl SegmentSender {
    pub fn new(
        client: HttpClient,
        config: ReporterConfig,
        counters: Arc<Counters>,
        queue: mpsc::Receiver<EncodedSegment>,
        flushes: mpsc::UnboundedReceiver<FlushWaiter>,
        wake: Arc<Notify>,
        gate: Gate,
    ) -> Self {
        let outage = OutageLog::default();
        Self { client, config, counters, queue, flushes, wake, waiters: Vec::new(), outage, gate }
    }

    /// Runs until every producer is gone and the queue is drained.
    pub async fn run(mut self) {
        let mut backoff = Backoff::new();
        loop {
            wait_for_work(&self.wake, &mut self.flushes, &mut self.waiters, TICK).await;
            if self.queue.is_empty() {
                if self.queue.is_closed() {
                    break;
                }
                self.answer_flushes_if_drained();
                continue;
            }
            if !self.gate.open("HTTP", &self.config.backend, &mut self.outage, &self.counters).await {
                // Nothing can be sent now: a flush waiting for it fails at once.
                self.waiters.clear();
                continue;
            }
            let first = match self.queue.try_recv() {
                Ok(segment) => segment,
                Err(TryRecvError::Empty) => {
                    self.answer_flushes_if_drained();
                    continue;
                }
                Err(TryRecvError::Disconnected) => break,
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
                    self.gate.send_failed();
                    self.counters.send_errors.fetch_add(1, Relaxed);
                    self.counters.segments_lost_send_error.fetch_add(count, Relaxed);
                    // As with gRPC: what the flush waited for was lost, and dropping the
                    // waiters tells them so at once (a flush answers true only when sent).
                    self.waiters.clear();
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
    async fn collect(&mut self, first: EncodedSegment) -> (String, u64) {
        let window = self.config.stream_idle.min(self.config.stream_max_age);
        let deadline = Instant::now() + window;
        let mut batch = SegmentArray::new();
        push(&mut batch, &first);
        while batch.count() < MAX_BATCH && batch.bytes() < MAX_BATCH_BYTES {
            if !self.waiters.is_empty() && self.queue.is_empty() {
                break;
            }
            match self.queue.try_recv() {
                Ok(segment) => push(&mut batch, &segment),
                Err(TryRecvError::Empty) => {
                    let left = deadline.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        break;
                    }
                    wait_for_work(&self.wake, &mut self.flushes, &mut self.waiters, left).await;
                }
                Err(TryRecvError::Disconnected) => break,
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

/// Adds a queued segment to the JSON batch. The bytes were encoded from a `SegmentObject`
/// in this process, so decoding them cannot fail short of a bug; such a segment is
/// logged and left out rather than sent half-formed.
fn push(batch: &mut SegmentArray, segment: &EncodedSegment) {
    match segment.decode() {
        Ok(decoded) => batch.push(&decoded),
        Err(error) => log::error!("skipping segment {} that does not decode: {error}", segment.segment_id()),
    }
}
