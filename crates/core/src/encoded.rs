//! A finished segment in its wire form: the bytes of a `SegmentObject`.
//!
//! Segments are encoded on the thread that finished them, straight into the reporter's
//! queue (see `sw_reporter`'s segment queue): the many small allocations of a segment (ids,
//! names, tags) are freed where they were made, nothing is allocated per segment to carry
//! it across threads, and a queued segment takes a few hundred bytes instead of a tree of
//! objects. gRPC and Kafka send these bytes as they are; the HTTP reporter decodes them to
//! write JSON.

use prost::bytes::BufMut;
use prost::encoding::{decode_varint, encode_key, WireType};
use prost::Message;
use sw_proto::v3::SegmentObject;

use crate::span_data::SpanData;

/// Field numbers of `SegmentObject` (`proto/language-agent/Tracing.proto`).
const TRACE_ID: u32 = 1;
const TRACE_SEGMENT_ID: u32 = 2;
const SPANS: u32 = 3;
const SERVICE: u32 = 4;
const SERVICE_INSTANCE: u32 = 5;
const IS_SIZE_LIMITED: u32 = 6;
/// Key, length and 32 characters of an id field.
const ID_FIELD: usize = 34;

/// The parts of a segment, borrowed, in field order.
pub struct SegmentParts<'a> {
    pub trace_id: &'a str,
    pub segment_id: &'a str,
    /// The spans finished before the last, already encoded as `spans` fields
    /// ([`put_archived_span`]), in finish order.
    pub spans: &'a [u8],
    /// One more span after `spans` (the one whose end finished the segment).
    pub last: Option<&'a SpanData>,
    pub service: &'a str,
    pub service_instance: &'a str,
    pub is_size_limited: bool,
}

/// Appends the bytes of the `SegmentObject` made of `parts` to `buf`, exactly as prost
/// encodes the same message (empty fields omitted), without building one.
pub fn encode_segment(parts: &SegmentParts<'_>, buf: &mut Vec<u8>) {
    // Sized by an estimate, not by `encoded_len`: prost measures every span again as it
    // writes its length prefix, and measuring twice costs more than a rare regrowth.
    let last = if parts.last.is_some() { 256 } else { 0 };
    buf.reserve(2 * ID_FIELD + parts.service.len() + parts.service_instance.len() + parts.spans.len() + last);
    crate::span_encoding::string(TRACE_ID, parts.trace_id, buf);
    crate::span_encoding::string(TRACE_SEGMENT_ID, parts.segment_id, buf);
    // The ids come first but may change until the segment ends (a joined trace), so the
    // spans finished earlier were encoded apart and are copied in here.
    buf.extend_from_slice(parts.spans);
    if let Some(span) = parts.last {
        crate::span_encoding::put_span_field(SPANS, span, buf);
    }
    crate::span_encoding::string(SERVICE, parts.service, buf);
    crate::span_encoding::string(SERVICE_INSTANCE, parts.service_instance, buf);
    if parts.is_size_limited {
        encode_key(IS_SIZE_LIMITED, WireType::Varint, buf);
        buf.put_u8(1);
    }
}

/// Appends `span` to `buf` as one `spans` field of a `SegmentObject`: a span finished
/// before its segment, for [`SegmentParts::spans`].
pub fn put_archived_span(span: &SpanData, buf: &mut Vec<u8>) {
    crate::span_encoding::put_span_field(SPANS, span, buf);
}

/// Appends the bytes of `segment`, a segment made elsewhere than on the request path, to
/// `buf` (prost's encoding, which [`encode_segment`] matches byte for byte).
pub fn encode_message(segment: &SegmentObject, buf: &mut Vec<u8>) {
    segment.encode_raw(buf);
}

/// The segment id in the bytes of an encoded `SegmentObject` (the Kafka record key), or ""
/// when there is none. [`encode_segment`] writes the trace id and the segment id first, so
/// only those few bytes are read.
#[must_use]
pub fn segment_id_of(mut bytes: &[u8]) -> &str {
    while !bytes.is_empty() {
        let Ok(key) = decode_varint(&mut bytes) else { return "" };
        let field = key >> 3;
        if key & 7 != WireType::LengthDelimited as u64 || field > u64::from(TRACE_SEGMENT_ID) {
            return "";
        }
        let Ok(len) = decode_varint(&mut bytes) else { return "" };
        let Some((value, rest)) = usize::try_from(len).ok().and_then(|len| bytes.split_at_checked(len)) else {
            return "";
        };
        if field == u64::from(TRACE_SEGMENT_ID) {
            return std::str::from_utf8(value).unwrap_or_default();
        }
        bytes = rest;
    }
    ""
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use super::*;
    use crate::span_data::Tag;

    const TRACE: &str = "0123456789abcdef0123456789abcdef";
    const SEGMENT: &str = "fedcba9876543210fedcba9876543210";

    fn spans() -> Vec<SpanData> {
        vec![
            SpanData { span_id: 1, parent_span_id: 0, operation_name: "child".into(), ..Default::default() },
            SpanData {
                span_id: 2,
                parent_span_id: 0,
                tags: vec![
                    Tag { key: Cow::Borrowed(crate::tags::CACHE_TYPE), value: "Redis".into() },
                    Tag { key: Cow::Owned("custom".into()), value: "v".into() },
                ],
                ..Default::default()
            },
            // Spans whose length prefix takes one, two and three bytes.
            SpanData { operation_name: "m".repeat(200), ..Default::default() },
            SpanData { peer: "p".repeat(20_000), ..Default::default() },
        ]
    }

    fn root() -> SpanData {
        SpanData {
            span_id: 0,
            parent_span_id: -1,
            operation_name: "/users/é".into(),
            tags: vec![Tag { key: Cow::Borrowed(crate::tags::HTTP_METHOD), value: "GET".into() }],
            ..Default::default()
        }
    }

    /// `spans` as [`Segment`](crate::segment::Segment) keeps them once finished.
    fn archived(spans: &[SpanData]) -> Vec<u8> {
        let mut buf = Vec::new();
        for span in spans {
            put_archived_span(span, &mut buf);
        }
        buf
    }

    fn parts<'a>(spans: &'a [u8], last: Option<&'a SpanData>, limited: bool, instance: &'a str) -> SegmentParts<'a> {
        SegmentParts {
            trace_id: TRACE,
            segment_id: SEGMENT,
            spans,
            last,
            service: "svc",
            service_instance: instance,
            is_size_limited: limited,
        }
    }

    /// The same segment as prost's message, with `spans` before the last.
    fn proto(parts: &SegmentParts<'_>, spans: &[SpanData]) -> SegmentObject {
        SegmentObject {
            trace_id: parts.trace_id.into(),
            trace_segment_id: parts.segment_id.into(),
            spans: spans.iter().chain(parts.last).map(SpanData::to_proto).collect(),
            service: parts.service.into(),
            service_instance: parts.service_instance.into(),
            is_size_limited: parts.is_size_limited,
        }
    }

    fn encoded(parts: &SegmentParts<'_>) -> Vec<u8> {
        let mut buf = Vec::new();
        encode_segment(parts, &mut buf);
        buf
    }

    #[test]
    fn bytes_are_what_prost_writes_for_the_same_message() {
        let (spans, root) = (spans(), root());
        for earlier in [&spans[..], &spans[..1], &[]] {
            let bytes = archived(earlier);
            for (limited, instance) in [(false, "inst"), (true, "inst"), (false, ""), (true, &*"i".repeat(300))] {
                for last in [None, Some(&root)] {
                    let parts = parts(&bytes, last, limited, instance);
                    let want = proto(&parts, earlier);
                    let bytes = encoded(&parts);
                    assert_eq!(bytes, want.encode_to_vec());
                    assert_eq!(SegmentObject::decode(bytes.as_slice()).unwrap(), want);
                }
            }
        }
    }

    #[test]
    fn appends_after_what_the_buffer_holds() {
        let (spans, root) = (spans(), root());
        let bytes = archived(&spans);
        let parts = parts(&bytes, Some(&root), false, "inst");
        let want = proto(&parts, &spans).encode_to_vec();
        let mut buf = b"head".to_vec();
        encode_segment(&parts, &mut buf);
        assert_eq!(&buf[..4], b"head");
        assert_eq!(&buf[4..], want.as_slice());
        let mut buf = b"head".to_vec();
        encode_message(&proto(&parts, &spans), &mut buf);
        assert_eq!(&buf[4..], want.as_slice());
    }

    fn encoded_message(segment: &SegmentObject) -> Vec<u8> {
        let mut buf = Vec::new();
        encode_message(segment, &mut buf);
        buf
    }

    #[test]
    fn segment_id_is_found_in_the_bytes() {
        let (bytes, root) = (archived(&spans()), root());
        assert_eq!(segment_id_of(&encoded(&parts(&bytes, Some(&root), false, "inst"))), SEGMENT);
        assert_eq!(segment_id_of(&encoded_message(&SegmentObject { trace_id: "t".into(), ..Default::default() })), "");
        let long = "x".repeat(200);
        let odd = SegmentObject { trace_segment_id: long.clone(), ..Default::default() };
        assert_eq!(segment_id_of(&encoded_message(&odd)), long);
    }

    #[test]
    fn segment_id_of_garbage_is_empty_not_a_panic() {
        for bytes in [&b""[..], b"\x0a", b"\x0a\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff", b"\x12\x05ab", b"\x08\x01"] {
            assert_eq!(segment_id_of(bytes), "");
        }
        assert_eq!(segment_id_of(b"\x12\x02\xff\xfe"), "", "an id that is not UTF-8");
    }
}
