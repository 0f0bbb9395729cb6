//! A finished segment in its wire form: the bytes of a `SegmentObject`.
//!
//! Segments are encoded on the thread that finished them, so the many small allocations
//! of a segment (ids, names, tags) are freed where they were made, and what crosses to the
//! reporter thread is one buffer: cheaper for both threads, and a queued segment takes a
//! few hundred bytes instead of a tree of objects. gRPC and Kafka send these bytes as they
//! are; the HTTP reporter decodes them to write JSON.

use std::ops::Range;

use prost::bytes::BufMut;
use prost::encoding::{encode_key, encode_varint, WireType};
use prost::{DecodeError, Message};
use sw_proto::v3::{SegmentObject, SpanObject};

/// Field numbers of `SegmentObject` (`proto/language-agent/Tracing.proto`).
const TRACE_ID: u32 = 1;
const TRACE_SEGMENT_ID: u32 = 2;
const SPANS: u32 = 3;
const SERVICE: u32 = 4;
const SERVICE_INSTANCE: u32 = 5;
const IS_SIZE_LIMITED: u32 = 6;
/// Key, length and 32 characters of an id field.
const ID_FIELD: usize = 34;

/// The encoded bytes of one `SegmentObject`, and where its segment id lies in them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodedSegment {
    bytes: Vec<u8>,
    segment_id: Range<usize>,
}

/// The parts of a segment, borrowed, in field order.
pub struct SegmentParts<'a> {
    pub trace_id: &'a str,
    pub segment_id: &'a str,
    pub spans: &'a [SpanObject],
    /// One more span after `spans` (the one whose end finished the segment).
    pub last: Option<&'a SpanObject>,
    pub service: &'a str,
    pub service_instance: &'a str,
    pub is_size_limited: bool,
}

impl EncodedSegment {
    /// Encodes exactly as prost encodes the same `SegmentObject` (empty fields omitted),
    /// without building one.
    #[must_use]
    pub fn encode(parts: &SegmentParts<'_>) -> Self {
        // Sized by an estimate, not by `encoded_len`: prost measures every span again as it
        // writes its length prefix, and measuring twice costs more than a rare regrowth.
        let count = parts.spans.len() + usize::from(parts.last.is_some());
        let estimate = 2 * ID_FIELD + parts.service.len() + parts.service_instance.len() + 256 * count;
        let mut bytes = Vec::with_capacity(estimate);
        put_str(TRACE_ID, parts.trace_id, &mut bytes);
        let id_end = {
            put_str(TRACE_SEGMENT_ID, parts.segment_id, &mut bytes);
            bytes.len()
        };
        let segment_id = id_end - parts.segment_id.len()..id_end;
        for span in parts.spans.iter().chain(parts.last) {
            crate::span_encoding::put_span_field(SPANS, span, &mut bytes);
        }
        put_str(SERVICE, parts.service, &mut bytes);
        put_str(SERVICE_INSTANCE, parts.service_instance, &mut bytes);
        if parts.is_size_limited {
            encode_key(IS_SIZE_LIMITED, WireType::Varint, &mut bytes);
            bytes.put_u8(1);
        }
        Self { bytes, segment_id }
    }

    /// The `SegmentObject` bytes, ready for a gRPC message or a Kafka record value.
    #[must_use]
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The bytes, without copying them.
    #[must_use]
    pub fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }

    /// The segment id (the Kafka record key).
    #[must_use]
    pub fn segment_id(&self) -> &str {
        // The range was written from a `&str`, so it is valid UTF-8 on char boundaries.
        self.bytes.get(self.segment_id.clone()).and_then(|id| std::str::from_utf8(id).ok()).unwrap_or_default()
    }

    /// Back to the message, for transports that need its fields (HTTP JSON).
    pub fn decode(&self) -> Result<SegmentObject, DecodeError> {
        SegmentObject::decode(self.bytes.as_slice())
    }
}

impl From<&SegmentObject> for EncodedSegment {
    fn from(segment: &SegmentObject) -> Self {
        Self::encode(&SegmentParts {
            trace_id: &segment.trace_id,
            segment_id: &segment.trace_segment_id,
            spans: &segment.spans,
            last: None,
            service: &segment.service,
            service_instance: &segment.service_instance,
            is_size_limited: segment.is_size_limited,
        })
    }
}

impl From<SegmentObject> for EncodedSegment {
    fn from(segment: SegmentObject) -> Self {
        Self::from(&segment)
    }
}

/// A proto3 string field; empty strings are the default and, as prost does, not written.
fn put_str(tag: u32, value: &str, buf: &mut Vec<u8>) {
    if value.is_empty() {
        return;
    }
    encode_key(tag, WireType::LengthDelimited, buf);
    encode_varint(value.len() as u64, buf);
    buf.put_slice(value.as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;
    use sw_proto::v3::KeyStringValuePair;

    fn sample(limited: bool, instance: &str) -> SegmentObject {
        SegmentObject {
            trace_id: "0123456789abcdef0123456789abcdef".into(),
            trace_segment_id: "fedcba9876543210fedcba9876543210".into(),
            spans: vec![
                SpanObject { span_id: 1, parent_span_id: 0, operation_name: "child".into(), ..Default::default() },
                SpanObject {
                    span_id: 0,
                    parent_span_id: -1,
                    operation_name: "/users/é".into(),
                    tags: vec![KeyStringValuePair { key: "http.method".into(), value: "GET".into() }],
                    ..Default::default()
                },
            ],
            service: "svc".into(),
            service_instance: instance.into(),
            is_size_limited: limited,
        }
    }

    #[test]
    fn bytes_are_what_prost_writes_for_the_same_message() {
        for (limited, instance) in [(false, "inst"), (true, "inst"), (false, ""), (true, &*"i".repeat(300))] {
            let mut proto = sample(limited, instance);
            // Spans whose length prefix takes one, two and three bytes.
            proto.spans.push(SpanObject { operation_name: "m".repeat(200), ..Default::default() });
            proto.spans.push(SpanObject { peer: "p".repeat(20_000), ..Default::default() });
            let encoded = EncodedSegment::from(&proto);
            assert_eq!(encoded.bytes(), proto.encode_to_vec().as_slice());
            assert_eq!(encoded.decode().unwrap(), proto);
        }
    }

    #[test]
    fn segment_id_is_found_in_the_bytes() {
        let encoded = EncodedSegment::from(sample(false, "inst"));
        assert_eq!(encoded.segment_id(), "fedcba9876543210fedcba9876543210");
        let empty = EncodedSegment::from(SegmentObject { trace_id: "t".into(), ..Default::default() });
        assert_eq!(empty.segment_id(), "");
        let long = "x".repeat(200);
        let odd = EncodedSegment::from(SegmentObject { trace_segment_id: long.clone(), ..Default::default() });
        assert_eq!(odd.segment_id(), long);
    }
}
