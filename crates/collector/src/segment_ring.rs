//! The segment ring: segments from gRPC wait as the bytes they arrived in and are decoded
//! only when something reads the store, and that decoding happens outside the store's lock.
//!
//! Ingest is the hot path (an agent under load sends hundreds of thousands of segments a
//! second, and on a small machine the collector shares a core with it); reads are rare (a
//! query, `/dataValidate`, the web page). Decoding at read time costs the same per segment
//! but only for what is still held, and the ingest path is a copy plus a framing walk.
//!
//! The byte budget counts what a segment holds once decoded (see [`crate::held`]), charged
//! on arrival from a bound computed by the framing walk, so a segment never holds more after
//! its decoding than the budget allowed for it before.
//!
//! Order, oldest first: decoded segments, then those taken out to be decoded ("in flight",
//! decoded by a reader without the lock), then pending ones. Eviction takes the oldest of
//! whichever comes first; an in-flight segment that is evicted is remembered as a count and
//! skipped when its decoded value comes back.

use std::collections::VecDeque;

use bytes::Bytes;
use prost::Message;
use sw_proto::v3::SegmentObject;

use crate::held::held;
use crate::ring::Ring;
use crate::store::KindStats;

/// A segment waiting for the next read.
#[derive(Debug)]
pub(crate) enum Pending {
    /// From gRPC, still encoded.
    Encoded(Bytes),
    /// From HTTP, decoded on arrival; queued to keep its place after earlier gRPC segments.
    Decoded(SegmentObject),
}

/// Segments taken out of the ring to be decoded without the lock; hand them back to
/// [`SegmentRing::merge`].
#[derive(Debug)]
pub(crate) struct Batch {
    pub(crate) items: Vec<Pending>,
    epoch: u64,
}

impl Batch {
    /// Decodes every item; call without holding the store's lock.
    pub(crate) fn decode(self) -> Decoded {
        let items = self
            .items
            .into_iter()
            .map(|item| match item {
                Pending::Encoded(bytes) => SegmentObject::decode(bytes.as_ref()),
                Pending::Decoded(segment) => Ok(segment),
            })
            .collect();
        Decoded { items, epoch: self.epoch }
    }
}

/// The outcome of [`Batch::decode`].
#[derive(Debug)]
pub(crate) struct Decoded {
    items: Vec<Result<SegmentObject, prost::DecodeError>>,
    epoch: u64,
}

/// Segments, bounded in count and in bytes held, over decoded, in-flight and pending ones.
#[derive(Debug)]
pub(crate) struct SegmentRing {
    decoded: Ring<SegmentObject>,
    /// Bytes charged for each in-flight segment not evicted, oldest first.
    in_flight: VecDeque<usize>,
    in_flight_bytes: usize,
    /// In-flight segments evicted while being decoded (always the oldest of the batch).
    in_flight_evicted: usize,
    /// Received since the last read, oldest first, with the bytes charged for each.
    pending: VecDeque<(Pending, usize)>,
    pending_bytes: usize,
    /// Bumped by `clear`, so that a batch taken before a reset is not merged after it.
    epoch: u64,
}

impl SegmentRing {
    pub(crate) fn new(cap: usize, max_bytes: usize) -> Self {
        Self {
            decoded: Ring::new(cap, max_bytes),
            in_flight: VecDeque::new(),
            in_flight_bytes: 0,
            in_flight_evicted: 0,
            pending: VecDeque::new(),
            pending_bytes: 0,
            epoch: 0,
        }
    }

    fn len(&self) -> usize {
        self.decoded.items.len() + self.in_flight.len() + self.pending.len()
    }

    fn bytes(&self) -> usize {
        self.decoded.bytes + self.in_flight_bytes + self.pending_bytes
    }

    /// Evicts the oldest segment of all; false when there is none.
    fn evict_oldest(&mut self) -> bool {
        if self.decoded.evict_oldest() {
            return true;
        }
        if let Some(size) = self.in_flight.pop_front() {
            self.in_flight_bytes -= size;
            self.in_flight_evicted += 1;
        } else if let Some((_, size)) = self.pending.pop_front() {
            self.pending_bytes -= size;
        } else {
            return false;
        }
        self.decoded.stats.evicted += 1;
        true
    }

    /// Queues a segment charged `size` bytes, evicting the oldest as needed.
    fn push_pending(&mut self, segment: Pending, size: usize) {
        self.decoded.stats.received += 1;
        if self.decoded.cap == 0 || size > self.decoded.max_bytes {
            self.decoded.stats.evicted += 1;
            return;
        }
        while self.len() >= self.decoded.cap || self.bytes() + size > self.decoded.max_bytes {
            if !self.evict_oldest() {
                break;
            }
        }
        self.pending_bytes += size;
        self.pending.push_back((segment, size));
    }

    /// Keeps an encoded segment whose framing was checked; `held_bound` bounds what it will
    /// hold once decoded.
    pub(crate) fn push_encoded(&mut self, segment: Bytes, held_bound: usize) {
        // Charged at least its wire size: that is what it holds until decoded.
        let size = held_bound.max(segment.len());
        self.push_pending(Pending::Encoded(segment), size);
    }

    /// Keeps a decoded segment (from the HTTP receiver), after the encoded ones before it.
    pub(crate) fn push(&mut self, segment: SegmentObject) {
        let size = held(&segment);
        self.push_pending(Pending::Decoded(segment), size);
    }

    /// Counts a segment received but deliberately not kept.
    pub(crate) fn ignore(&mut self) {
        self.decoded.ignore();
    }

    /// The counters, for the store to count a stream or request refused as malformed.
    pub(crate) fn stats_mut(&mut self) -> &mut KindStats {
        &mut self.decoded.stats
    }

    /// Takes every pending segment out for decoding; `None` when there is nothing to decode
    /// (or another batch is still in flight: one decoder at a time).
    pub(crate) fn take_pending(&mut self) -> Option<Batch> {
        if self.pending.is_empty() || !self.in_flight.is_empty() || self.in_flight_evicted != 0 {
            return None;
        }
        let mut items = Vec::with_capacity(self.pending.len());
        for (segment, size) in self.pending.drain(..) {
            self.in_flight.push_back(size);
            items.push(segment);
        }
        self.in_flight_bytes = self.pending_bytes;
        self.pending_bytes = 0;
        Some(Batch { items, epoch: self.epoch })
    }

    /// Puts a decoded batch back in its place. A segment whose framing was sound but whose
    /// content is not (a broken span inside) is dropped here, counted as rejected and logged:
    /// the agent was told it was accepted, so this line is the only trace of it.
    pub(crate) fn merge(&mut self, batch: Decoded) {
        if batch.epoch != self.epoch {
            return; // reset while decoding: everything in the batch is gone already
        }
        let skip = std::mem::take(&mut self.in_flight_evicted);
        for result in batch.items.into_iter().skip(skip) {
            let Some(charged) = self.in_flight.pop_front() else { break };
            self.in_flight_bytes -= charged;
            match result {
                Ok(segment) => {
                    let size = held(&segment);
                    self.decoded.keep(segment, size);
                }
                Err(error) => {
                    self.decoded.stats.rejected += 1;
                    log::warn!("segment dropped after it was accepted over gRPC: its content does not decode: {error}");
                }
            }
        }
        // The bound is an estimate: should a decoded segment hold more than it was charged,
        // the budget still holds.
        while self.bytes() > self.decoded.max_bytes && self.decoded.evict_oldest() {}
    }

    /// Decodes everything pending in place (for callers that hold the ring alone).
    #[cfg(test)]
    pub(crate) fn decode_pending(&mut self) {
        if let Some(batch) = self.take_pending() {
            self.merge(batch.decode());
        }
    }

    /// The decoded segments, oldest first (without those still pending or in flight).
    pub(crate) fn decoded(&self) -> &VecDeque<SegmentObject> {
        &self.decoded.items
    }

    /// Replaces the contents with `segments` (restored from disk) and zeroes the counters.
    pub(crate) fn refill(&mut self, segments: Vec<SegmentObject>) {
        self.clear();
        for segment in segments {
            let size = held(&segment);
            self.decoded.push(segment, size);
        }
        self.decoded.stats = KindStats::default();
    }

    pub(crate) fn clear(&mut self) {
        self.decoded.clear();
        self.in_flight.clear();
        self.in_flight_bytes = 0;
        self.in_flight_evicted = 0;
        self.pending.clear();
        self.pending_bytes = 0;
        self.epoch += 1;
    }

    /// The counters; `stored` includes segments not decoded yet.
    pub(crate) fn snapshot_stats(&self) -> KindStats {
        KindStats { stored: self.len() as u64, ..self.decoded.stats }
    }

    /// Bytes held (decoded size, or the bound charged for those not decoded yet).
    #[cfg(test)]
    pub(crate) fn held_bytes(&self) -> usize {
        self.bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sw_proto::v3::SpanObject;

    fn segment(id: &str) -> SegmentObject {
        SegmentObject { trace_segment_id: id.into(), spans: vec![SpanObject::default()], ..SegmentObject::default() }
    }

    fn encoded(id: &str) -> Bytes {
        segment(id).encode_to_vec().into()
    }

    fn push(ring: &mut SegmentRing, id: &str) {
        let bytes = encoded(id);
        let bound = crate::wire::segment_shape(&bytes).expect("well formed").held_bound;
        ring.push_encoded(bytes, bound);
    }

    fn ids(ring: &mut SegmentRing) -> Vec<String> {
        ring.decode_pending();
        ring.decoded().iter().map(|s| s.trace_segment_id.clone()).collect()
    }

    #[test]
    fn order_and_eviction_span_decoded_and_encoded_segments() {
        let mut ring = SegmentRing::new(3, usize::MAX);
        push(&mut ring, "a");
        push(&mut ring, "b");
        assert_eq!(ids(&mut ring), ["a", "b"]);
        push(&mut ring, "c");
        push(&mut ring, "d"); // evicts decoded "a"
        push(&mut ring, "e"); // evicts decoded "b"
        push(&mut ring, "f"); // evicts encoded "c"
        let stats = ring.snapshot_stats();
        assert_eq!((stats.received, stats.stored, stats.evicted), (6, 3, 3));
        assert_eq!(ids(&mut ring), ["d", "e", "f"]);
    }

    #[test]
    fn byte_budget_counts_decoded_size() {
        let bound = crate::wire::segment_shape(&encoded("a")).expect("well formed").held_bound;
        assert!(bound >= held(&segment("a")));
        let budget = 2 * bound + bound / 2;
        let mut ring = SegmentRing::new(100, budget);
        for id in ["a", "b", "c"] {
            push(&mut ring, id);
            assert!(ring.held_bytes() <= budget);
        }
        assert_eq!(ids(&mut ring), ["b", "c"]);
        let decoded = held(&SegmentObject::decode(encoded("a").as_ref()).expect("valid"));
        assert_eq!(ring.held_bytes(), 2 * decoded, "charged the exact size once decoded");
    }

    #[test]
    fn http_segments_keep_their_place_after_encoded_ones() {
        let mut ring = SegmentRing::new(10, usize::MAX);
        push(&mut ring, "grpc");
        ring.push(SegmentObject { trace_segment_id: "http".into(), ..SegmentObject::default() });
        assert_eq!(ids(&mut ring), ["grpc", "http"]);
    }

    #[test]
    fn undecodable_content_is_dropped_and_counted_at_read() {
        let mut ring = SegmentRing::new(10, usize::MAX);
        // Sound framing (field 3, 2 bytes), but the span inside has wire type 7.
        ring.push_encoded(Bytes::from_static(&[0x1a, 0x02, 0x0f, 0x00]), 200);
        push(&mut ring, "ok");
        assert_eq!(ring.snapshot_stats().stored, 2);
        assert_eq!(ids(&mut ring), ["ok"]);
        let stats = ring.snapshot_stats();
        assert_eq!((stats.received, stats.stored, stats.rejected), (2, 1, 1));
    }

    #[test]
    fn segments_evicted_while_in_flight_are_skipped_at_merge() {
        let mut ring = SegmentRing::new(2, usize::MAX);
        push(&mut ring, "a");
        push(&mut ring, "b");
        let batch = ring.take_pending().expect("pending");
        push(&mut ring, "c"); // evicts in-flight "a"
        assert!(ring.take_pending().is_none(), "one batch at a time");
        ring.merge(batch.decode());
        assert_eq!(ids(&mut ring), ["b", "c"]);
        assert_eq!(ring.snapshot_stats().evicted, 1);
    }

    #[test]
    fn a_batch_taken_before_a_reset_is_discarded() {
        let mut ring = SegmentRing::new(5, usize::MAX);
        push(&mut ring, "old");
        let batch = ring.take_pending().expect("pending");
        ring.clear();
        push(&mut ring, "new");
        ring.merge(batch.decode());
        assert_eq!(ids(&mut ring), ["new"]);
    }
}
