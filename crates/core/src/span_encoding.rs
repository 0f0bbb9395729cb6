//! A span ([`SpanData`]) written by hand, byte for byte as prost writes the same
//! `SpanData`, for the one message the agent encodes on every request's path. prost measures each nested message before
//! writing it (every field visited twice) and writes through generic buffer calls; here
//! the scalar fields, strings and tags go straight into the `Vec`, and a message's length
//! prefix is fixed up after its body is written. References and logs, rare, go to prost.

use prost::encoding::{encode_key, encode_varint, encoded_len_varint, message, WireType};

use crate::span_data::{SpanData, Tag};

/// Writes `span` as field `tag` of the enclosing message (a length-delimited field).
pub fn put_span_field(tag: u32, span: &SpanData, buf: &mut Vec<u8>) {
    key(tag, WireType::LengthDelimited, buf);
    let at = open_length(buf);
    put_span(span, buf);
    close_length(at, buf);
}

fn put_span(span: &SpanData, buf: &mut Vec<u8>) {
    int(1, i64::from(span.span_id), buf);
    int(2, i64::from(span.parent_span_id), buf);
    int(3, span.start_time, buf);
    int(4, span.end_time, buf);
    for reference in &span.refs {
        message::encode(5, reference, buf);
    }
    string(6, &span.operation_name, buf);
    string(7, &span.peer, buf);
    int(8, i64::from(span.span_type), buf);
    int(9, i64::from(span.span_layer), buf);
    int(10, i64::from(span.component_id), buf);
    int(11, i64::from(span.is_error), buf);
    for tag in &span.tags {
        put_pair(12, tag, buf);
    }
    for log in &span.logs {
        message::encode(13, log, buf);
    }
    int(14, i64::from(span.skip_analysis), buf);
}

fn put_pair(tag: u32, pair: &Tag, buf: &mut Vec<u8>) {
    // Both fields are strings, so the length is known before writing (no prefix to fix up).
    key(tag, WireType::LengthDelimited, buf);
    varint((string_len(&pair.key) + string_len(&pair.value)) as u64, buf);
    string(1, &pair.key, buf);
    string(2, &pair.value, buf);
}

/// Bytes of a string field with a one-byte key, as [`string`] writes it.
fn string_len(value: &str) -> usize {
    if value.is_empty() {
        0
    } else {
        1 + encoded_len_varint(value.len() as u64) + value.len()
    }
}

/// An int32/int64/enum/bool field; zero is the default and, as in prost, not written.
/// Negative values are sign-extended to ten bytes, as protobuf requires for int32.
fn int(tag: u32, value: i64, buf: &mut Vec<u8>) {
    if value != 0 {
        key(tag, WireType::Varint, buf);
        varint(value as u64, buf);
    }
}

/// A proto3 string field; an empty string is the default and, as prost does, not written.
pub(crate) fn string(tag: u32, value: &str, buf: &mut Vec<u8>) {
    if !value.is_empty() {
        key(tag, WireType::LengthDelimited, buf);
        varint(value.len() as u64, buf);
        buf.extend_from_slice(value.as_bytes());
    }
}

fn key(tag: u32, wire_type: WireType, buf: &mut Vec<u8>) {
    // Every field number here is below 16: the key is one byte.
    if tag < 16 {
        buf.push((tag << 3) as u8 | wire_type as u8);
    } else {
        encode_key(tag, wire_type, buf);
    }
}

fn varint(mut value: u64, buf: &mut Vec<u8>) {
    if value < 0x80 {
        buf.push(value as u8);
        return;
    }
    // Built in registers and appended at once: a push per byte checks the capacity each time
    // (timestamps take six bytes).
    let mut bytes = [0u8; 10];
    let mut n = 0;
    while value >= 0x80 {
        bytes[n] = value as u8 | 0x80;
        value >>= 7;
        n += 1;
    }
    bytes[n] = value as u8;
    buf.extend_from_slice(&bytes[..=n]);
}

/// Leaves room for a two-byte length prefix; returns where it starts.
fn open_length(buf: &mut Vec<u8>) -> usize {
    buf.extend_from_slice(&[0, 0]);
    buf.len() - 2
}

/// Writes the length of what follows the room left at `at`, in as many bytes as prost
/// would (one below 128, two below 16384, more for larger messages, moved into place).
fn close_length(at: usize, buf: &mut Vec<u8>) {
    let len = buf.len() - at - 2;
    if len < 0x80 {
        buf[at] = len as u8;
        buf.remove(at + 1);
    } else if len < 0x4000 {
        buf[at] = (len & 0x7f) as u8 | 0x80;
        buf[at + 1] = (len >> 7) as u8;
    } else {
        let mut prefix = Vec::with_capacity(10);
        encode_varint(len as u64, &mut prefix);
        buf.splice(at..at + 2, prefix);
    }
}

/// What prost writes for the same span as a `SpanData` field, for the tests.
#[cfg(test)]
fn prost_span_field(tag: u32, span: &SpanData) -> Vec<u8> {
    let mut buf = Vec::new();
    message::encode(tag, &span.to_proto(), &mut buf);
    buf
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use super::*;
    use sw_proto::v3::{KeyStringValuePair, Log, SegmentReference};

    fn mine(span: &SpanData) -> Vec<u8> {
        let mut buf = vec![0xaa]; // something before, as in a real segment
        put_span_field(3, span, &mut buf);
        buf.remove(0);
        buf
    }

    fn pair(key: &str, value: &str) -> Tag {
        Tag { key: Cow::Owned(key.into()), value: value.into() }
    }

    fn log_pair(key: &str, value: &str) -> KeyStringValuePair {
        KeyStringValuePair { key: key.into(), value: value.into() }
    }

    #[test]
    fn same_bytes_as_prost() {
        let full = SpanData {
            span_id: 3,
            parent_span_id: -1,
            start_time: 1_764_200_000_123,
            end_time: 1_764_200_000_456,
            refs: vec![SegmentReference {
                ref_type: 1,
                trace_id: "t".into(),
                parent_span_id: -5,
                ..Default::default()
            }],
            operation_name: "/users/é".into(),
            peer: "127.0.0.1:8080".into(),
            span_type: 1,
            span_layer: 3,
            component_id: 7002,
            is_error: true,
            tags: vec![
                pair("http.method", "GET"),
                pair("", ""),
                pair("k", ""),
                // Keys borrowed from the constants, as the agent records most tags.
                Tag { key: Cow::Borrowed(crate::tags::DB_STATEMENT), value: "SELECT 1".into() },
                Tag { key: Cow::Borrowed(crate::tags::CACHE_KEY), value: String::new() },
            ],
            logs: vec![Log { time: 5, data: vec![log_pair("Traceback", "boom")] }],
            skip_analysis: true,
        };
        let cases = [
            SpanData::default(),
            SpanData { span_id: -1, parent_span_id: i32::MIN, start_time: -7, ..Default::default() },
            SpanData { span_id: i32::MAX, end_time: i64::MAX, component_id: -3, ..Default::default() },
            full.clone(),
            // Length prefixes of one, two and three bytes, for the span and for a tag.
            SpanData { operation_name: "x".repeat(100), ..Default::default() },
            SpanData { operation_name: "x".repeat(126), ..Default::default() },
            SpanData { operation_name: "x".repeat(300), ..Default::default() },
            SpanData { peer: "p".repeat(20_000), tags: vec![pair("big", &"v".repeat(17_000))], ..full },
            // Tag bodies just below and above the one- and two-byte length limits.
            SpanData { tags: vec![pair(&"k".repeat(123), ""), pair(&"k".repeat(124), "")], ..Default::default() },
            SpanData {
                tags: vec![pair("k", &"v".repeat(16_378)), pair("k", &"v".repeat(16_379))],
                ..Default::default()
            },
        ];
        for span in &cases {
            assert_eq!(mine(span), prost_span_field(3, span), "{span:?}");
        }
    }
}
