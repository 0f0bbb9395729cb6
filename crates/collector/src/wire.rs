//! A walk over the top-level fields of one protobuf message, without decoding them.
//!
//! The gRPC segment receiver keeps segments as the bytes they arrived in and decodes them only
//! when something reads them. This walk is what it does instead at ingest: it proves the outer
//! framing sound (so garbage is refused on arrival, as a full decode would) and counts spans,
//! at a small fraction of a decode's cost.

use thiserror::Error;

/// Why a message's outer framing is unsound.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum Malformed {
    /// A varint ran past the end or past ten bytes.
    #[error("truncated or overlong varint at byte {0}")]
    Varint(usize),
    /// A field number of 0, or a wire type that does not exist (or the deprecated groups).
    #[error("invalid field key {key:#x} at byte {at}")]
    Key {
        /// The key as read.
        key: u64,
        /// Its offset in the message.
        at: usize,
    },
    /// A length-delimited or fixed-size value runs past the end of the message.
    #[error("field {field} runs past the end of the message")]
    Truncated {
        /// The field number.
        field: u32,
    },
}

/// One top-level field: its number and, for length-delimited fields, its bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field<'a> {
    /// The field number.
    pub number: u32,
    /// The payload of a length-delimited field (strings, bytes, messages, packed repeats);
    /// `None` for varint and fixed-size fields.
    pub bytes: Option<&'a [u8]>,
}

/// The top-level fields of `message`, in wire order; stops after the first fault.
pub fn fields(message: &[u8]) -> Fields<'_> {
    Fields { message, at: 0, failed: false }
}

/// Iterator returned by [`fields`].
#[derive(Debug, Clone)]
pub struct Fields<'a> {
    message: &'a [u8],
    at: usize,
    failed: bool,
}

impl<'a> Fields<'a> {
    fn varint(&mut self) -> Result<u64, Malformed> {
        let start = self.at;
        let mut value: u64 = 0;
        for shift in 0..10 {
            let Some(&byte) = self.message.get(self.at) else { break };
            self.at += 1;
            value |= u64::from(byte & 0x7f) << (7 * shift);
            if byte < 0x80 {
                return Ok(value);
            }
        }
        Err(Malformed::Varint(start))
    }

    fn skip(&mut self, len: u64, field: u32) -> Result<&'a [u8], Malformed> {
        let end = usize::try_from(len)
            .ok()
            .and_then(|len| self.at.checked_add(len))
            .filter(|&end| end <= self.message.len())
            .ok_or(Malformed::Truncated { field })?;
        let bytes = &self.message[self.at..end];
        self.at = end;
        Ok(bytes)
    }

    fn field(&mut self) -> Result<Field<'a>, Malformed> {
        let at = self.at;
        let key = self.varint()?;
        let number = u32::try_from(key >> 3).ok().filter(|&n| n != 0 && n < (1 << 29));
        let Some(number) = number else { return Err(Malformed::Key { key, at }) };
        let bytes = match key & 7 {
            0 => {
                self.varint()?;
                None
            }
            1 => {
                self.skip(8, number)?;
                None
            }
            2 => {
                let len = self.varint()?;
                Some(self.skip(len, number)?)
            }
            5 => {
                self.skip(4, number)?;
                None
            }
            _ => return Err(Malformed::Key { key, at }),
        };
        Ok(Field { number, bytes })
    }
}

impl<'a> Iterator for Fields<'a> {
    type Item = Result<Field<'a>, Malformed>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.at >= self.message.len() {
            return None;
        }
        let field = self.field();
        self.failed = field.is_err();
        Some(field)
    }
}

/// How many times length-delimited field `number` occurs at the top level of `message`
/// (for a `SegmentObject`, field 3 counts its spans), or why the message is malformed.
pub fn count_messages(message: &[u8], number: u32) -> Result<usize, Malformed> {
    let mut count = 0;
    for field in fields(message) {
        let field = field?;
        count += usize::from(field.number == number && field.bytes.is_some());
    }
    Ok(count)
}

/// What the receiver learns about an encoded `SegmentObject` before keeping it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SegmentShape {
    /// Spans in the segment.
    pub spans: usize,
    /// An upper bound of the bytes the segment holds once decoded (see [`crate::held`]):
    /// every string at its full payload length, every repeated field at the capacity a
    /// vector reaches by pushing that many items.
    pub held_bound: usize,
}

/// The capacity a string decoded from `len` bytes gets: the allocator's minimum of 8 for
/// a non-empty one.
fn string_bound(len: usize) -> usize {
    if len == 0 {
        0
    } else {
        len.max(8)
    }
}

/// The capacity a `Vec` reaches after `n` pushes, times the item size.
fn vec_bound(n: usize, item: usize) -> usize {
    if n == 0 {
        0
    } else {
        n.max(4).next_power_of_two().saturating_mul(item)
    }
}

/// Walks a segment two levels deep (spans, and their refs, tags and logs), checking the
/// framing of each and bounding the decoded size without decoding.
pub fn segment_shape(segment: &[u8]) -> Result<SegmentShape, Malformed> {
    use std::mem::size_of;
    use sw_proto::v3::{KeyStringValuePair, SegmentObject, SegmentReference, SpanObject};

    let mut spans = 0usize;
    let mut heap = 0usize;
    for field in fields(segment) {
        let Field { number, bytes } = field?;
        let Some(bytes) = bytes else { continue };
        if number == 3 {
            spans += 1;
            let (mut refs, mut tags, mut logs) = (0usize, 0usize, 0usize);
            for field in fields(bytes) {
                let Field { number, bytes } = field?;
                let Some(bytes) = bytes else { continue };
                // Strings inside refs, tags and logs are no longer than the whole entry;
                // a ref holds up to six of them, a tag two.
                heap = heap.saturating_add(match number {
                    5 => bytes.len() + 6 * 8,
                    12 => bytes.len() + 2 * 8,
                    _ => string_bound(bytes.len()),
                });
                match number {
                    5 => refs += 1,
                    12 => tags += 1,
                    13 => {
                        logs += 1;
                        // A log's data pairs: each a KeyStringValuePair of its own.
                        let data = count_messages(bytes, 2)?;
                        heap = heap
                            .saturating_add(vec_bound(data, size_of::<KeyStringValuePair>()))
                            .saturating_add(data * 2 * 8);
                    }
                    _ => {}
                }
            }
            heap = heap
                .saturating_add(vec_bound(refs, size_of::<SegmentReference>()))
                .saturating_add(vec_bound(tags, size_of::<KeyStringValuePair>()))
                .saturating_add(vec_bound(logs, size_of::<sw_proto::v3::Log>()));
        } else {
            heap = heap.saturating_add(string_bound(bytes.len()));
        }
    }
    heap = heap.saturating_add(vec_bound(spans, size_of::<SpanObject>()));
    Ok(SegmentShape { spans, held_bound: size_of::<SegmentObject>().saturating_add(heap) })
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost::Message;
    use sw_proto::v3::{SegmentCollection, SegmentObject, SpanObject};

    fn segment(spans: usize) -> SegmentObject {
        SegmentObject {
            trace_id: "t".into(),
            trace_segment_id: "s".into(),
            spans: vec![SpanObject { operation_name: "op".into(), span_id: 1, ..SpanObject::default() }; spans],
            service: "svc".into(),
            service_instance: "inst".into(),
            is_size_limited: true,
        }
    }

    #[test]
    fn counts_spans_of_real_segments() {
        for n in [0, 1, 7, 300] {
            assert_eq!(count_messages(&segment(n).encode_to_vec(), 3), Ok(n));
        }
    }

    #[test]
    fn yields_every_field_with_its_payload() {
        let bytes = segment(1).encode_to_vec();
        let all: Vec<Field<'_>> = fields(&bytes).collect::<Result<_, _>>().expect("well formed");
        let numbers: Vec<u32> = all.iter().map(|f| f.number).collect();
        assert_eq!(numbers, [1, 2, 3, 4, 5, 6]);
        assert_eq!(all[3].bytes, Some(&b"svc"[..]));
        assert_eq!(all[5].bytes, None, "a bool is a varint");
    }

    #[test]
    fn collection_entries_are_whole_segments() {
        let collection = SegmentCollection { segments: vec![segment(2), segment(3)] };
        let bytes = collection.encode_to_vec();
        let entries: Vec<&[u8]> = fields(&bytes).map(|f| f.expect("well formed").bytes.expect("message")).collect();
        let decoded: Vec<SegmentObject> =
            entries.iter().map(|e| SegmentObject::decode(*e).expect("a segment")).collect();
        assert_eq!(decoded, collection.segments);
    }

    #[test]
    fn refuses_broken_framing() {
        assert_eq!(count_messages(&[0xff, 0xff, 0xff, 0xff, 0x0f], 3), Err(Malformed::Key { key: 0xffff_ffff, at: 0 }));
        assert_eq!(count_messages(&[0x0a, 0x7f, b'x'], 3), Err(Malformed::Truncated { field: 1 }));
        assert_eq!(count_messages(&[0x08], 3), Err(Malformed::Varint(1)));
        let overlong = [&[0x08][..], &[0x80; 10], &[0x01]].concat();
        assert_eq!(count_messages(&overlong, 3), Err(Malformed::Varint(1)));
        assert_eq!(count_messages(&[0x00, 0x01], 3), Err(Malformed::Key { key: 0, at: 0 }));
        assert_eq!(count_messages(&[0x0b], 3), Err(Malformed::Key { key: 0x0b, at: 0 }), "groups are refused");
        assert_eq!(count_messages(&[0x09, 1, 2, 3], 3), Err(Malformed::Truncated { field: 1 }));
        let huge_length = [0x0a, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f];
        assert_eq!(count_messages(&huge_length, 3), Err(Malformed::Truncated { field: 1 }));
    }

    #[test]
    fn never_panics_on_any_prefix_or_byte_flip() {
        let bytes = segment(3).encode_to_vec();
        for end in 0..bytes.len() {
            let _ = count_messages(&bytes[..end], 3);
        }
        for i in 0..bytes.len() {
            for flip in [0x01u8, 0x80, 0xff] {
                let mut copy = bytes.clone();
                copy[i] ^= flip;
                let _ = count_messages(&copy, 3);
            }
        }
    }

    #[test]
    fn segment_shape_bounds_the_decoded_size() {
        for spans in [0, 1, 3, 1000] {
            let mut seg = segment(spans);
            for span in &mut seg.spans {
                span.tags = vec![sw_proto::v3::KeyStringValuePair { key: "k".into(), value: "v".into() }; 5];
                span.logs = vec![sw_proto::v3::Log { time: 1, data: vec![Default::default(); 3] }];
                span.refs = vec![Default::default()];
            }
            let bytes = seg.encode_to_vec();
            let shape = segment_shape(&bytes).expect("well formed");
            assert_eq!(shape.spans, spans);
            let decoded = SegmentObject::decode(bytes.as_slice()).expect("valid");
            let held = crate::held::held(&decoded);
            assert!(shape.held_bound >= held, "{spans} spans: bound {} < held {held}", shape.held_bound);
            assert!(shape.held_bound <= 3 * held, "{spans} spans: bound {} far above held {held}", shape.held_bound);
        }
    }

    #[test]
    fn segment_shape_refuses_broken_spans() {
        // Sound outer framing (field 3, 2 bytes), but the span inside has wire type 7.
        assert!(segment_shape(&[0x1a, 0x02, 0x0f, 0x00]).is_err());
    }
}
