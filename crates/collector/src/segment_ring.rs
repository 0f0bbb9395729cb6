//! The segment ring: segments from gRPC wait as the bytes they arrived in and are decoded
//! only when something reads the store.
//!
//! Ingest is the hot path (an agent under load sends hundreds of thousands of segments a
//! second, and on a small machine the collector shares a core with it); reads are rare (a
//! query, `/dataValidate`, the web page). Decoding at read time costs the same per segment
//! but only for what is still held, and the ingest path is a copy plus a framing walk.

use std::collections::VecDeque;

use bytes::Bytes;
use prost::Message;
use sw_proto::v3::SegmentObject;

use crate::ring::Ring;
use crate::store::KindStats;

/// Segments, bounded in count and bytes over both the decoded and the still-encoded ones.
#[derive(Debug)]
pub(crate) struct SegmentRing {
    decoded: Ring<SegmentObject>,
    /// Received since the last read, oldest first; always newer than everything decoded.
    encoded: VecDeque<Bytes>,
    encoded_bytes: usize,
}

impl SegmentRing {
    pub(crate) fn new(cap: usize, max_bytes: usize) -> Self {
        Self { decoded: Ring::new(cap, max_bytes), encoded: VecDeque::new(), encoded_bytes: 0 }
    }

    /// Keeps an encoded segment whose framing was checked, evicting the oldest as needed.
    pub(crate) fn push_encoded(&mut self, segment: Bytes) {
        let size = segment.len();
        let ring = &mut self.decoded;
        ring.stats.received += 1;
        if ring.cap == 0 || size > ring.max_bytes {
            ring.stats.evicted += 1;
            return;
        }
        while ring.items.len() + self.encoded.len() >= ring.cap
            || ring.bytes + self.encoded_bytes + size > ring.max_bytes
        {
            // Decoded segments are the older ones, so they go first.
            if !ring.evict_oldest() {
                let Some(oldest) = self.encoded.pop_front() else { break };
                self.encoded_bytes -= oldest.len();
                ring.stats.evicted += 1;
            }
        }
        self.encoded_bytes += size;
        self.encoded.push_back(segment);
    }

    /// Keeps a decoded segment (from the HTTP receiver), after the encoded ones before it.
    pub(crate) fn push(&mut self, segment: SegmentObject, size: usize) {
        self.decode_pending();
        self.decoded.push(segment, size);
    }

    /// Counts a segment received but deliberately not kept.
    pub(crate) fn ignore(&mut self) {
        self.decoded.ignore();
    }

    /// The counters, for the store to count a stream or request refused as malformed.
    pub(crate) fn stats_mut(&mut self) -> &mut KindStats {
        &mut self.decoded.stats
    }

    /// Decodes everything still encoded. A segment whose framing was sound but whose content
    /// is not (a broken span inside) is dropped here, counted as rejected and logged.
    pub(crate) fn decode_pending(&mut self) {
        for encoded in self.encoded.drain(..) {
            match SegmentObject::decode(encoded.as_ref()) {
                Ok(segment) => self.decoded.keep(segment, encoded.len()),
                Err(error) => {
                    self.decoded.stats.rejected += 1;
                    log::warn!("segment dropped: its content does not decode: {error}");
                }
            }
        }
        self.encoded_bytes = 0;
    }

    /// The segments, oldest first; call [`Self::decode_pending`] first or miss the newest.
    pub(crate) fn decoded(&self) -> &VecDeque<SegmentObject> {
        &self.decoded.items
    }

    /// Replaces the contents with `segments` (restored from disk) and zeroes the counters.
    pub(crate) fn refill(&mut self, segments: Vec<SegmentObject>) {
        self.clear();
        for segment in segments {
            let size = segment.encoded_len();
            self.decoded.push(segment, size);
        }
        self.decoded.stats = KindStats::default();
    }

    pub(crate) fn clear(&mut self) {
        self.decoded.clear();
        self.encoded.clear();
        self.encoded_bytes = 0;
    }

    /// The counters; `stored` includes segments not decoded yet.
    pub(crate) fn snapshot_stats(&self) -> KindStats {
        KindStats { stored: (self.decoded.items.len() + self.encoded.len()) as u64, ..self.decoded.stats }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sw_proto::v3::SpanObject;

    fn encoded(id: &str) -> Bytes {
        SegmentObject { trace_segment_id: id.into(), spans: vec![SpanObject::default()], ..SegmentObject::default() }
            .encode_to_vec()
            .into()
    }

    fn ids(ring: &mut SegmentRing) -> Vec<String> {
        ring.decode_pending();
        ring.decoded().iter().map(|s| s.trace_segment_id.clone()).collect()
    }

    #[test]
    fn order_and_eviction_span_decoded_and_encoded_segments() {
        let mut ring = SegmentRing::new(3, usize::MAX);
        ring.push_encoded(encoded("a"));
        ring.push_encoded(encoded("b"));
        assert_eq!(ids(&mut ring), ["a", "b"]);
        ring.push_encoded(encoded("c"));
        ring.push_encoded(encoded("d")); // evicts decoded "a"
        ring.push_encoded(encoded("e")); // evicts decoded "b"
        ring.push_encoded(encoded("f")); // evicts encoded "c"
        let stats = ring.snapshot_stats();
        assert_eq!((stats.received, stats.stored, stats.evicted), (6, 3, 3));
        assert_eq!(ids(&mut ring), ["d", "e", "f"]);
    }

    #[test]
    fn byte_budget_counts_encoded_segments() {
        let one = encoded("a").len();
        let mut ring = SegmentRing::new(100, 2 * one);
        for id in ["a", "b", "c"] {
            ring.push_encoded(encoded(id));
        }
        assert_eq!(ids(&mut ring), ["b", "c"]);
        ring.push_encoded(Bytes::from(vec![0; 3 * one]));
        assert_eq!(ring.snapshot_stats().evicted, 2, "too big for the whole budget: dropped, nothing else lost");
    }

    #[test]
    fn http_segments_keep_their_place_after_encoded_ones() {
        let mut ring = SegmentRing::new(10, usize::MAX);
        ring.push_encoded(encoded("grpc"));
        ring.push(SegmentObject { trace_segment_id: "http".into(), ..SegmentObject::default() }, 10);
        assert_eq!(ids(&mut ring), ["grpc", "http"]);
    }

    #[test]
    fn undecodable_content_is_dropped_and_counted_at_read() {
        let mut ring = SegmentRing::new(10, usize::MAX);
        // Sound framing (field 3, 2 bytes), but the span inside has wire type 7.
        ring.push_encoded(Bytes::from_static(&[0x1a, 0x02, 0x0f, 0x00]));
        ring.push_encoded(encoded("ok"));
        assert_eq!(ring.snapshot_stats().stored, 2);
        assert_eq!(ids(&mut ring), ["ok"]);
        let stats = ring.snapshot_stats();
        assert_eq!((stats.received, stats.stored, stats.rejected), (2, 1, 1));
    }
}
