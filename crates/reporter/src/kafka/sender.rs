//! Sends finished segments as records of the segment topic, keyed by their segment id.
//!
//! A batch starts with the first waiting segment and takes what is already queued, plus
//! what arrives within `linger_ms` (kafka-python's batching knob), up to about
//! `max_request_size` bytes; the producer splits it by partition and `batch_size`. What a
//! failed send loses is counted, and the loop backs off; outages are logged once. While
//! no bootstrap server accepts connections, segments stay queued (`probe`).

use std::sync::atomic::Ordering::Relaxed;

use bytes::Bytes;
use tokio::time::Instant;

use super::producer::Producer;
use super::records::Record;
use crate::inbox::{Link, SegmentInbox};
use crate::segment_queue::Segments;
use crate::ReporterConfig;

/// Most segments in one batch, so one slow send does not hold too many.
pub const MAX_BATCH: usize = 500;

pub struct SegmentSender {
    producer: Producer,
    config: ReporterConfig,
    inbox: SegmentInbox,
    link: Link,
}

impl SegmentSender {
    pub fn new(producer: Producer, config: ReporterConfig, inbox: SegmentInbox, link: Link) -> Self {
        Self { producer, config, inbox, link }
    }

    /// Runs until every producer is gone and the queue is drained.
    pub async fn run(mut self) {
        while let Some(first) = self.inbox.next(&mut self.link).await {
            let records = self.collect(first).await;
            let topic = self.config.kafka.topics.segment.clone();
            let delivery = self.producer.send(&topic, records).await;
            let counters = self.link.counters();
            counters.segments_sent.fetch_add(delivery.delivered, Relaxed);
            counters.segments_lost_send_error.fetch_add(delivery.lost, Relaxed);
            match delivery.error.filter(|_| delivery.lost > 0) {
                None => self.inbox.delivered(&mut self.link),
                Some(error) => self.inbox.lost(&mut self.link, &error).await,
            }
        }
    }

    /// `first` and what follows it within `linger_ms`, as records.
    async fn collect(&mut self, first: Segments) -> Vec<Record> {
        let deadline = Instant::now() + self.config.kafka.linger;
        let max_bytes = self.config.kafka.max_request_size;
        let mut records = Vec::new();
        let mut bytes = 0;
        self.inbox
            .gather(first, deadline, |segment| {
                let record = record(&segment);
                bytes += record.size_bound();
                records.push(record);
                records.len() < MAX_BATCH && bytes < max_bytes
            })
            .await;
        records
    }
}

/// As the Python agent: key = the segment id, value = the `SegmentObject` bytes.
fn record(segment: &Bytes) -> Record {
    let key = Some(sw_core::encoded::segment_id_of(segment).as_bytes().to_vec());
    Record { key, value: segment.to_vec() }
}
