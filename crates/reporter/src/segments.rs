//! Streams finished segments to `TraceSegmentReportService.collect`.
//!
//! A stream opens when a segment is waiting and closes when the queue has been idle for
//! `stream_idle`, when it is `stream_max_age` old, or when a flush finds the queue empty.
//! A failed stream loses only what it carried (counted); the loop then backs off.

use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;

use sw_core::encoded::EncodedSegment;
use tokio::sync::mpsc::error::TryRecvError;
use tokio::sync::{mpsc, Notify};
use tokio::time::{sleep, Instant};
use tokio_stream::wrappers::ReceiverStream;

use crate::backoff::Backoff;
use crate::outage::OutageLog;
use crate::probe::Gate;
use crate::segment_stream::SegmentStreamClient;
use crate::{Counters, ReporterConfig};

/// How often the sender looks at the queue when producers did not wake it.
pub const TICK: std::time::Duration = std::time::Duration::from_millis(50);

/// Producers wake the sender early once this many segments wait (or a quarter of the queue).
pub fn wake_threshold(capacity: usize) -> usize {
    (capacity / 4).clamp(1, 512)
}

/// A caller waiting until everything queued before its request has been sent.
pub type FlushWaiter = std::sync::mpsc::Sender<()>;

/// How every transport's sender waits for work: until a [`TICK`] passes (at most
/// `limit`), producers wake it (a batch worth sending waits), or a flush is requested.
/// Waiting on the queue itself would wake the reporter thread for every segment.
pub async fn wait_for_work(
    wake: &Notify,
    flushes: &mut mpsc::UnboundedReceiver<FlushWaiter>,
    waiters: &mut Vec<FlushWaiter>,
    limit: std::time::Duration,
) {
    tokio::select! {
        () = sleep(TICK.min(limit)) => {}
        () = wake.notified() => {}
        Some(waiter) = flushes.recv() => waiters.push(waiter),
    }
}

pub struct SegmentSender {
    pub client: SegmentStreamClient,
    pub config: ReporterConfig,
    pub counters: Arc<Counters>,
    pub queue: mpsc::Receiver<EncodedSegment>,
    pub flushes: mpsc::UnboundedReceiver<FlushWaiter>,
    /// Woken by producers when the queue passes the wake threshold.
    pub wake: Arc<Notify>,
    waiters: Vec<FlushWaiter>,
    /// Logs a backend outage once at its start and once at its end.
    outage: OutageLog,
    /// Keeps segments queued while the backend does not accept connections.
    gate: Gate,
}

impl SegmentSender {
    pub fn new(
        client: SegmentStreamClient,
        config: ReporterConfig,
        counters: Arc<Counters>,
        queue: mpsc::Receiver<EncodedSegment>,
        flushes: mpsc::UnboundedReceiver<FlushWaiter>,
        wake: Arc<Notify>,
    ) -> Self {
        let gate = Gate::new(vec![crate::channel::first_address(&config.backend)], config.call_timeout);
        let outage = OutageLog::default();
        Self { client, config, counters, queue, flushes, wake, waiters: Vec::new(), outage, gate }
    }

    /// Runs until every producer is gone and the queue is drained.
    ///
    /// The loop does not wake for each segment: it wakes every [`TICK`], when the queue
    /// passes the producer's wake threshold, or for a flush, and then sends everything
    /// queued. One wake-up and one write carry many segments, which is what keeps the
    /// reporter's cost per request small.
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
            if !self.gate.open("gRPC", &self.config.backend, &mut self.outage, &self.counters).await {
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
            match self.send_stream(first).await {
                Ok(()) => {
                    backoff.reset();
                    self.outage.recovered("gRPC", &self.config.backend, &self.counters);
                    self.answer_flushes_if_drained();
                }
                Err(status) => {
                    self.gate.send_failed();
                    self.counters.send_errors.fetch_add(1, Relaxed);
                    let wait = backoff.next_wait();
                    self.outage.failed("gRPC", &self.config.backend, &status, wait, &self.counters);
                    // What the flush waited for was lost with the stream: dropping the
                    // waiters tells them so at once (a flush answers true only when sent).
                    self.waiters.clear();
                    sleep(wait).await;
                }
            }
        }
        for waiter in self.waiters.drain(..) {
            let _ = waiter.send(());
        }
    }

    fn answer_flushes_if_drained(&mut self) {
        if self.queue.is_empty() {
            for waiter in self.waiters.drain(..) {
                let _ = waiter.send(());
            }
        }
    }

    /// Sends `first` and whatever follows it in one client stream, batch by batch.
    async fn send_stream(&mut self, first: EncodedSegment) -> Result<(), tonic::Status> {
        let (tx, rx) = mpsc::channel::<EncodedSegment>(256);
        let started = Instant::now();
        let max_age = self.config.stream_max_age;
        let idle = self.config.stream_idle;
        let mut request = tonic::Request::new(ReceiverStream::new(rx));
        // The deadline covers the whole stream, plus time for the backend to answer.
        request.set_timeout(max_age + self.config.call_timeout);
        let mut sent: u64 = 0;
        let queue = &mut self.queue;
        let flushes = &mut self.flushes;
        let waiters = &mut self.waiters;
        let wake = self.wake.clone();
        let call = self.client.collect(request);
        let feed = async {
            let mut next = Some(first);
            let mut last_item = Instant::now();
            'stream: while started.elapsed() < max_age {
                // Send everything queued now.
                while let Some(segment) = next.take().or_else(|| queue.try_recv().ok()) {
                    sent += 1;
                    if tx.send(segment).await.is_err() {
                        // The call ended (failed); what it carried is lost with it.
                        break 'stream;
                    }
                    last_item = Instant::now();
                }
                if !waiters.is_empty() {
                    break; // a flush: close the stream so the backend acknowledges it
                }
                let idle_left = idle.saturating_sub(last_item.elapsed());
                if idle_left.is_zero() {
                    break;
                }
                wait_for_work(&wake, flushes, waiters, idle_left).await;
            }
            drop(tx);
        };
        let (result, ()) = tokio::join!(call, feed);
        match result {
            Ok(_) => {
                self.counters.segments_sent.fetch_add(sent, Relaxed);
                Ok(())
            }
            Err(status) => {
                self.counters.segments_lost_send_error.fetch_add(sent, Relaxed);
                Err(status)
            }
        }
    }
}
