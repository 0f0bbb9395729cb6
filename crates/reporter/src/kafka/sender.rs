//! Sends finished segments as records of the segment topic, keyed by their segment id.
//!
//! A batch starts with the first waiting segment and takes what is already queued, plus
//! what arrives within `linger_ms` (kafka-python's batching knob), up to about
//! `max_request_size` bytes; the producer splits it by partition and `batch_size`. What a
//! failed send loses is counted, and the loop backs off; outages are logged once.

use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;

use sw_core::encoded::EncodedSegment;
use tokio::sync::mpsc::error::TryRecvError;
use tokio::sync::{mpsc, Notify};
use tokio::time::{sleep, Instant};

use super::producer::Producer;
use super::records::Record;
use crate::backoff::Backoff;
use crate::outage::OutageLog;
use crate::segments::{wait_for_work, FlushWaiter, TICK};
use crate::{Counters, ReporterConfig};

/// Most segments in one batch, so one slow send does not hold too many.
pub const MAX_BATCH: usize = 500;

pub struct SegmentSender {
    producer: Producer,
    config: ReporterConfig,
    counters: Arc<Counters>,
    queue: mpsc::Receiver<EncodedSegment>,
    flushes: mpsc::UnboundedReceiver<FlushWaiter>,
    wake: Arc<Notify>,
    waiters: Vec<FlushWaiter>,
    /// Logs a broker outage once at its start and once at its end.
    outage: OutageLog,
    /// The bootstrap servers, for log lines.
    brokers: String,
}

impl SegmentSender {
    pub fn new(
        producer: Producer,
        config: ReporterConfig,
        counters: Arc<Counters>,
        queue: mpsc::Receiver<EncodedSegment>,
        flushes: mpsc::UnboundedReceiver<FlushWaiter>,
        wake: Arc<Notify>,
    ) -> Self {
        let brokers = config.kafka.bootstrap_servers.join(",");
        let outage = OutageLog::default();
        Self { producer, config, counters, queue, flushes, wake, waiters: Vec::new(), outage, brokers }
    }

    /// Runs until every producer is gone and the queue is drained.
    pub async fn run(mut self) {
        let mut backoff = Backoff::new();
        loop {
            wait_for_work(&self.wake, &mut self.flushes, &mut self.waiters, TICK).await;
            let first = match self.queue.try_recv() {
                Ok(segment) => segment,
                Err(TryRecvError::Empty) => {
                    self.answer_flushes_if_drained();
                    continue;
                }
                Err(TryRecvError::Disconnected) => break,
            };
            let records = self.collect(first).await;
            let topic = self.config.kafka.topics.segment.clone();
            let delivery = self.producer.send(&topic, records).await;
            self.counters.segments_sent.fetch_add(delivery.delivered, Relaxed);
            self.counters.segments_lost_send_error.fetch_add(delivery.lost, Relaxed);
            match delivery.error.filter(|_| delivery.lost > 0) {
                None => {
                    backoff.reset();
                    self.outage.recovered("Kafka", &self.brokers, &self.counters);
                    self.answer_flushes_if_drained();
                }
                Some(error) => {
                    self.counters.send_errors.fetch_add(1, Relaxed);
                    // As with gRPC: what the flush waited for was lost, and dropping the
                    // waiters tells them so at once (a flush answers true only when sent).
                    self.waiters.clear();
                    let wait = backoff.next_wait();
                    self.outage.failed("Kafka", &self.brokers, &error, wait, &self.counters);
                    sleep(wait).await;
                }
            }
        }
        for waiter in self.waiters.drain(..) {
            let _ = waiter.send(());
        }
    }

    /// `first` and what follows it within `linger_ms`, as records.
    async fn collect(&mut self, first: EncodedSegment) -> Vec<Record> {
        let deadline = Instant::now() + self.config.kafka.linger;
        let max_bytes = self.config.kafka.max_request_size;
        let mut records = vec![record(first)];
        let mut bytes = records[0].size_bound();
        while records.len() < MAX_BATCH && bytes < max_bytes {
            let segment = match self.queue.try_recv() {
                Ok(segment) => segment,
                Err(TryRecvError::Disconnected) => break,
                Err(TryRecvError::Empty) => {
                    let left = deadline.saturating_duration_since(Instant::now());
                    if !self.waiters.is_empty() || left.is_zero() {
                        break;
                    }
                    wait_for_work(&self.wake, &mut self.flushes, &mut self.waiters, left).await;
                    continue;
                }
            };
            let record = record(segment);
            bytes += record.size_bound();
            records.push(record);
        }
        records
    }

    fn answer_flushes_if_drained(&mut self) {
        if self.queue.is_empty() {
            for waiter in self.waiters.drain(..) {
                let _ = waiter.send(());
            }
        }
    }
}

/// As the Python agent: key = the segment id, value = the `SegmentObject` bytes.
fn record(segment: EncodedSegment) -> Record {
    let key = Some(segment.segment_id().as_bytes().to_vec());
    Record { key, value: segment.into_bytes() }
}
