//! Record batches, magic v2 (Kafka 0.11+), uncompressed: what a Produce request carries
//! for one partition.
//!
//! Layout: baseOffset i64, batchLength i32, partitionLeaderEpoch i32, magic i8, crc u32,
//! then the checksummed part: attributes i16, lastOffsetDelta i32, baseTimestamp i64,
//! maxTimestamp i64, producerId i64, producerEpoch i16, baseSequence i32, count i32 and the
//! records, each a varint length, attributes i8, varlong timestamp delta, varint offset
//! delta, key and value as varint length (-1 for null) plus bytes, and a header count.

use super::crc32c::crc32c;
use super::wire::{len_i32, Writer};

/// Bytes of a batch before its first record.
pub const BATCH_OVERHEAD: usize = 61;
/// Offset of the CRC field, and of the part it covers.
const CRC_AT: usize = 17;
const CHECKSUMMED_FROM: usize = 21;
/// Offset of the batchLength field; the length counts the bytes after it.
const LENGTH_AT: usize = 8;

/// One record: an optional key and a value, both opaque bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub key: Option<Vec<u8>>,
    pub value: Vec<u8>,
}

impl Record {
    /// An upper bound of its encoded size inside a batch (varints at their widest).
    pub fn size_bound(&self) -> usize {
        // length 5, attributes 1, timestamp delta 10, offset delta 5, key 5+n, value 5+n, headers 1.
        32 + self.key.as_ref().map_or(0, Vec::len) + self.value.len()
    }
}

/// Encodes `records` as one batch created at `timestamp_ms`.
pub fn encode_batch(records: &[Record], timestamp_ms: i64) -> Vec<u8> {
    let mut w =
        Writer { buf: Vec::with_capacity(BATCH_OVERHEAD + records.iter().map(Record::size_bound).sum::<usize>()) };
    w.i64(0); // baseOffset: the broker assigns offsets
    w.i32(0); // batchLength, filled in below
    w.i32(-1); // partitionLeaderEpoch: set by the broker
    w.i8(2); // magic
    w.i32(0); // crc, filled in below
    w.i16(0); // attributes: no compression, create time, not transactional
    w.i32(len_i32(records.len().saturating_sub(1))); // lastOffsetDelta
    w.i64(timestamp_ms); // baseTimestamp
    w.i64(timestamp_ms); // maxTimestamp
    w.i64(-1); // producerId: not idempotent
    w.i16(-1); // producerEpoch
    w.i32(-1); // baseSequence
    w.i32(len_i32(records.len()));
    let mut body = Writer::default();
    for (offset_delta, record) in records.iter().enumerate() {
        body.buf.clear();
        body.i8(0); // attributes
        body.varlong(0); // timestampDelta: every record has the batch's time
        body.varint(len_i32(offset_delta));
        match &record.key {
            Some(key) => {
                body.varint(len_i32(key.len()));
                body.buf.extend_from_slice(key);
            }
            None => body.varint(-1),
        }
        body.varint(len_i32(record.value.len()));
        body.buf.extend_from_slice(&record.value);
        body.varint(0); // no headers
        w.varint(len_i32(body.buf.len()));
        w.buf.extend_from_slice(&body.buf);
    }
    let length = len_i32(w.buf.len() - LENGTH_AT - 4);
    w.buf[LENGTH_AT..LENGTH_AT + 4].copy_from_slice(&length.to_be_bytes());
    let crc = crc32c(&w.buf[CHECKSUMMED_FROM..]);
    w.buf[CRC_AT..CRC_AT + 4].copy_from_slice(&crc.to_be_bytes());
    w.buf
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_keyed_record_is_laid_out_as_kafka_expects() {
        let records = [Record { key: Some(b"k".to_vec()), value: b"val".to_vec() }];
        let batch = encode_batch(&records, 0x0102_0304_0506);
        let record: [u8; 12] = [
            10 << 1, // length of what follows: 10 (zig-zag)
            0,       // attributes
            0,       // timestamp delta 0
            0,       // offset delta 0
            1 << 1,  // key length 1
            b'k',
            3 << 1, // value length 3
            b'v',
            b'a',
            b'l',
            0, // headers
            0, // (placeholder, trimmed below)
        ];
        let mut expected: Vec<u8> = Vec::new();
        expected.extend_from_slice(&0i64.to_be_bytes()); // baseOffset
        expected.extend_from_slice(&(49 + 11i32).to_be_bytes()); // batchLength
        expected.extend_from_slice(&(-1i32).to_be_bytes()); // partitionLeaderEpoch
        expected.push(2); // magic
        expected.extend_from_slice(&[0, 0, 0, 0]); // crc, checked separately
        expected.extend_from_slice(&0i16.to_be_bytes()); // attributes
        expected.extend_from_slice(&0i32.to_be_bytes()); // lastOffsetDelta
        expected.extend_from_slice(&0x0102_0304_0506i64.to_be_bytes()); // baseTimestamp
        expected.extend_from_slice(&0x0102_0304_0506i64.to_be_bytes()); // maxTimestamp
        expected.extend_from_slice(&(-1i64).to_be_bytes()); // producerId
        expected.extend_from_slice(&(-1i16).to_be_bytes()); // producerEpoch
        expected.extend_from_slice(&(-1i32).to_be_bytes()); // baseSequence
        expected.extend_from_slice(&1i32.to_be_bytes()); // record count
        expected.extend_from_slice(&record[..11]);
        assert_eq!(batch.len(), BATCH_OVERHEAD + 11);
        let mut without_crc = batch.clone();
        without_crc[CRC_AT..CRC_AT + 4].fill(0);
        assert_eq!(without_crc, expected);
        let crc = u32::from_be_bytes(batch[CRC_AT..CRC_AT + 4].try_into().unwrap());
        assert_eq!(crc, crc32c(&expected[CHECKSUMMED_FROM..]));
        assert!(records[0].size_bound() >= 11);
    }

    #[test]
    fn null_keys_and_offsets_count_up() {
        let records =
            [Record { key: None, value: b"a".to_vec() }, Record { key: Some(Vec::new()), value: b"b".to_vec() }];
        let batch = encode_batch(&records, 7);
        // lastOffsetDelta 1, count 2.
        assert_eq!(&batch[23..27], &1i32.to_be_bytes());
        assert_eq!(&batch[57..61], &2i32.to_be_bytes());
        // First record: null key (varint -1 = 0x01); second: offset delta 1, empty key.
        assert_eq!(&batch[61..], &[7 << 1, 0, 0, 0, 0x01, 2, b'a', 0, 7 << 1, 0, 0, 2, 0, 2, b'b', 0]);
    }
}
