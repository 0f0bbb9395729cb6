//! Sends finished segments as JSON batches to `POST /v3/segments`.
//!
//! A batch starts with the first waiting segment and takes what arrives within the stream
//! idle window (at most [`MAX_BATCH`] segments or about [`MAX_BATCH_BYTES`]), or less when a
//! flush finds the queue empty. The Python agent posts each segment alone to `/v3/segment`;
//! one request per batch costs OAP and the application far less. A failed request loses
//! only its batch (counted); the loop then backs off.

use std::sync::atomic::Ordering::Relaxed;

use bytes::Bytes;
use prost::Message;
use sw_proto::v3::SegmentObject;
use tokio::time::Instant;

use super::client::HttpClient;
use super::json::SegmentArray;
use crate::inbox::{Link, SegmentInbox};
use crate::segment_queue::Segments;
use crate::ReporterConfig;

/// Most segments in one request.
pub const MAX_BATCH: usize = 100;
/// A batch stops growing once its body is this large (OAP's HTTP server limits bodies).
pub const MAX_BATCH_BYTES: usize = 2 * 1024 * 1024;
const PATH: &str = "/v3/segments";

pub struct SegmentSender {
    client: HttpClient,
    config: ReporterConfig,
    inbox: SegmentInbox,
    link: Link,
}

impl SegmentSender {
    pub fn new(client: HttpClient, config: ReporterConfig, inbox: SegmentInbox, link: Link) -> Self {
        Self { client, config, inbox, link }
    }

    /// Runs until every producer is gone and the queue is drained.
    pub async fn run(mut self) {
        while let Some(first) = self.inbox.next(&mut self.link).await {
            let (body, count) = self.collect(first).await;
            match self.client.post(PATH, body).await {
                Ok(()) => {
                    self.link.counters().segments_sent.fetch_add(count, Relaxed);
                    self.inbox.delivered(&mut self.link);
                }
                Err(error) => {
                    self.link.counters().segments_lost_send_error.fetch_add(count, Relaxed);
                    self.inbox.lost(&mut self.link, &error).await;
                }
            }
        }
    }

    /// Encodes `first` and what follows it within the window into one request body.
    async fn collect(&mut self, first: Segments) -> (String, u64) {
        let deadline = Instant::now() + self.config.stream_idle.min(self.config.stream_max_age);
        let mut batch = SegmentArray::new();
        self.inbox
            .gather(first, deadline, |segment| {
                push(&mut batch, &segment);
                batch.count() < MAX_BATCH && batch.bytes() < MAX_BATCH_BYTES
            })
            .await;
        let count = batch.count() as u64;
        (batch.finish(), count)
    }
}

/// Adds a queued segment to the JSON batch. The bytes were encoded from a `SegmentObject`
/// in this process, so decoding them cannot fail short of a bug; such a segment is
/// logged and left out rather than sent half-formed.
fn push(batch: &mut SegmentArray, segment: &Bytes) {
    match SegmentObject::decode(segment.as_ref()) {
        Ok(decoded) => batch.push(&decoded),
        Err(error) => {
            let id = sw_core::encoded::segment_id_of(segment);
            log::error!("skipping segment {id} that does not decode: {error}");
        }
    }
}
