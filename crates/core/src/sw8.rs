//! The `sw8` cross-process propagation header (SkyWalking v3 format).
//!
//! `1-<b64 traceId>-<b64 segmentId>-<spanId>-<b64 service>-<b64 instance>-<b64 endpoint>-<b64 peer>`,
//! standard base64 with `=` padding over UTF-8. Dashes cannot appear inside base64, so
//! splitting on `-` is unambiguous.

use thiserror::Error;

/// Header name, as sent and as looked up (frameworks fold case on lookup).
pub const HEADER: &str = "sw8";

/// What a not-traced span injects: flag `1` and seven empty fields. Upstream's agent treats
/// this set-but-invalid value as "the caller decided not to trace", and so do we.
pub const NOOP_SW8: &str = "1-------";

/// Longest header accepted; longer values are malformed without being decoded.
pub const MAX_HEADER_LEN: usize = 4096;

/// Number of dash-separated parts in a `sw8` value.
const PARTS: usize = 8;

/// Names of the eight parts, indexed like the parts, used in error messages.
const FIELD_NAMES: [&str; PARTS] = [
    "sample flag",
    "trace id",
    "parent segment id",
    "parent span id",
    "parent service",
    "parent service instance",
    "parent endpoint",
    "address used at client",
];

/// The decoded contents of an `sw8` header.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Sw8 {
    /// The sample flag; upstream writes `1` and ignores it on read.
    pub sampled: bool,
    /// Trace id the callee joins.
    pub trace_id: String,
    /// Segment id of the caller's segment.
    pub parent_segment_id: String,
    /// Span id of the caller's exit span (non-negative).
    pub parent_span_id: i32,
    /// Caller's service name.
    pub parent_service: String,
    /// Caller's service instance name.
    pub parent_service_instance: String,
    /// Caller's endpoint (upstream Python puts the exit span's own operation name here).
    pub parent_endpoint: String,
    /// The peer address the caller used to reach this service.
    pub address_used_at_client: String,
}

/// Why an `sw8` value could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum Sw8Error {
    /// The value is longer than [`MAX_HEADER_LEN`] bytes.
    #[error("sw8 header is {len} bytes, longer than the {MAX_HEADER_LEN}-byte limit")]
    TooLong {
        /// Length of the (untrimmed) value in bytes.
        len: usize,
    },
    /// The value does not have exactly 8 dash-separated parts.
    #[error("sw8 header has {found} dash-separated parts, expected 8")]
    PartCount {
        /// Number of parts found (counting stops at 9).
        found: usize,
    },
    /// A field is not valid padded standard base64.
    #[error("sw8 field {index} ({}) is not valid base64", FIELD_NAMES[*index])]
    Base64 {
        /// 0-based part index.
        index: usize,
    },
    /// A field decodes to bytes that are not UTF-8.
    #[error("sw8 field {index} ({}) is not valid UTF-8", FIELD_NAMES[*index])]
    Utf8 {
        /// 0-based part index.
        index: usize,
    },
    /// The parent span id is not a non-negative decimal that fits in an `i32`.
    #[error("sw8 parent span id is not a non-negative 32-bit decimal number")]
    SpanId,
    /// A required field is empty after decoding.
    #[error("sw8 field {index} ({}) is empty", FIELD_NAMES[*index])]
    EmptyField {
        /// 0-based part index.
        index: usize,
    },
}

/// The outcome of reading an incoming `sw8` header, as the entry-span code needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Incoming {
    /// No header, or only whitespace: start a new trace.
    Absent,
    /// A valid header: continue the caller's trace.
    Valid(Sw8),
    /// Exactly [`NOOP_SW8`]: the caller was not traced, so neither is this request.
    Suppressed,
    /// Anything else that does not decode. We start a new trace (upstream drops the request
    /// from tracing instead, because it treats every invalid value as suppressed).
    Malformed(Sw8Error),
}

/// The fields of an outgoing `sw8` value, borrowed from where they are kept (the span, its
/// context, the agent's settings), so that writing a header copies each once.
#[derive(Debug, Clone, Copy)]
pub struct Sw8Ref<'a> {
    pub sampled: bool,
    pub trace_id: &'a str,
    pub parent_segment_id: &'a str,
    pub parent_span_id: i32,
    pub parent_service: &'a str,
    pub parent_service_instance: &'a str,
    pub parent_endpoint: &'a str,
    pub address_used_at_client: &'a str,
}

/// Encode a header value. A negative `parent_span_id` would add a dash and make the value
/// undecodable; span ids are never negative.
pub fn encode(sw8: &Sw8) -> String {
    encode_ref(&Sw8Ref {
        sampled: sw8.sampled,
        trace_id: &sw8.trace_id,
        parent_segment_id: &sw8.parent_segment_id,
        parent_span_id: sw8.parent_span_id,
        parent_service: &sw8.parent_service,
        parent_service_instance: &sw8.parent_service_instance,
        parent_endpoint: &sw8.parent_endpoint,
        address_used_at_client: &sw8.address_used_at_client,
    })
}

/// [`encode`] from borrowed fields.
pub fn encode_ref(sw8: &Sw8Ref<'_>) -> String {
    encode_with_origin(sw8, None)
}

/// A process's service and instance fields of `sw8`, encoded once: every header a process
/// sends carries the same two, and encoding them was about a third of the work of a header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodedOrigin {
    service: String,
    instance: String,
    /// `<base64 service>-<base64 instance>`.
    encoded: String,
}

impl EncodedOrigin {
    pub fn new(service: &str, instance: &str) -> Self {
        let mut encoded = Vec::with_capacity(1 + b64::encoded_len(service.len()) + b64::encoded_len(instance.len()));
        b64::encode_bytes(service.as_bytes(), &mut encoded);
        encoded.push(b'-');
        b64::encode_bytes(instance.as_bytes(), &mut encoded);
        let encoded = String::from_utf8(encoded).unwrap_or_default(); // base64 and a dash
        Self { service: service.to_owned(), instance: instance.to_owned(), encoded }
    }

    /// True when this is the encoding of `service` and `instance`.
    pub fn is_of(&self, service: &str, instance: &str) -> bool {
        self.service == service && self.instance == instance
    }
}

/// [`encode_ref`], with the service and instance fields taken from `origin` when it holds
/// the encoding of `sw8`'s own (else encoded here).
pub fn encode_with_origin(sw8: &Sw8Ref<'_>, origin: Option<&EncodedOrigin>) -> String {
    let origin = origin.filter(|o| o.is_of(sw8.parent_service, sw8.parent_service_instance));
    let own = [sw8.trace_id, sw8.parent_segment_id, sw8.parent_endpoint, sw8.address_used_at_client];
    let middle = match origin {
        Some(origin) => origin.encoded.len(),
        None => 1 + b64::encoded_len(sw8.parent_service.len()) + b64::encoded_len(sw8.parent_service_instance.len()),
    };
    let capacity = 16 + middle + own.iter().map(|f| b64::encoded_len(f.len())).sum::<usize>();
    // Bytes, made a String once at the end: checking UTF-8 after each field cost more than
    // the encoding.
    let mut out = Vec::with_capacity(capacity);
    out.push(if sw8.sampled { b'1' } else { b'0' });
    for field in [sw8.trace_id, sw8.parent_segment_id] {
        out.push(b'-');
        b64::encode_bytes(field.as_bytes(), &mut out);
    }
    out.push(b'-');
    out.extend_from_slice(itoa::Buffer::new().format(sw8.parent_span_id).as_bytes());
    out.push(b'-');
    match origin {
        Some(origin) => out.extend_from_slice(origin.encoded.as_bytes()),
        None => {
            b64::encode_bytes(sw8.parent_service.as_bytes(), &mut out);
            out.push(b'-');
            b64::encode_bytes(sw8.parent_service_instance.as_bytes(), &mut out);
        }
    }
    for field in [sw8.parent_endpoint, sw8.address_used_at_client] {
        out.push(b'-');
        b64::encode_bytes(field.as_bytes(), &mut out);
    }
    // Digits, dashes and base64 only.
    String::from_utf8(out).unwrap_or_default()
}

/// Decode a header value strictly: 8 parts, all six strings non-empty, span id a valid `i32`.
/// Surrounding whitespace is ignored; the sample flag is read but never rejected.
pub fn decode(value: &str) -> Result<Sw8, Sw8Error> {
    if value.len() > MAX_HEADER_LEN {
        return Err(Sw8Error::TooLong { len: value.len() });
    }
    let value = value.trim();
    let mut parts = [""; PARTS];
    let mut found = 0;
    for part in value.split('-') {
        if found == PARTS {
            return Err(Sw8Error::PartCount { found: PARTS + 1 });
        }
        parts[found] = part;
        found += 1;
    }
    if found != PARTS {
        return Err(Sw8Error::PartCount { found });
    }
    Ok(Sw8 {
        sampled: parts[0] == "1",
        trace_id: text_field(&parts, 1)?,
        parent_segment_id: text_field(&parts, 2)?,
        parent_span_id: span_id(parts[3])?,
        parent_service: text_field(&parts, 4)?,
        parent_service_instance: text_field(&parts, 5)?,
        parent_endpoint: text_field(&parts, 6)?,
        address_used_at_client: text_field(&parts, 7)?,
    })
}

/// Classify an incoming header value (pass `""` when the header is missing).
pub fn decode_header(value: &str) -> Incoming {
    if value.len() > MAX_HEADER_LEN {
        return Incoming::Malformed(Sw8Error::TooLong { len: value.len() });
    }
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Incoming::Absent;
    }
    if trimmed == NOOP_SW8 {
        return Incoming::Suppressed;
    }
    match decode(trimmed) {
        Ok(sw8) => Incoming::Valid(sw8),
        Err(err) => Incoming::Malformed(err),
    }
}

fn text_field(parts: &[&str; PARTS], index: usize) -> Result<String, Sw8Error> {
    let bytes = b64::decode(parts[index]).ok_or(Sw8Error::Base64 { index })?;
    let text = String::from_utf8(bytes).map_err(|_| Sw8Error::Utf8 { index })?;
    if text.is_empty() {
        return Err(Sw8Error::EmptyField { index });
    }
    Ok(text)
}

/// Upstream accepts what `str.isnumeric()` accepts; we take ASCII digits only (no sign,
/// which could not survive the dash split anyway) and require the value to fit an `i32`.
fn span_id(part: &str) -> Result<i32, Sw8Error> {
    if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Sw8Error::SpanId);
    }
    part.parse::<i32>().map_err(|_| Sw8Error::SpanId)
}

/// Standard base64 (RFC 4648 alphabet, `=` padding), shared with the correlation header.
pub(crate) mod b64 {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

    /// Maps an ASCII byte to its 6-bit value, or 0xff when it is not in the alphabet.
    const DECODE: [u8; 256] = {
        let mut table = [0xffu8; 256];
        let mut i = 0;
        while i < 64 {
            table[ALPHABET[i] as usize] = i as u8;
            i += 1;
        }
        table
    };

    /// Length of the padded encoding of `n` bytes.
    pub(crate) fn encoded_len(n: usize) -> usize {
        n.div_ceil(3) * 4
    }

    /// Append the padded encoding of `input` to `out`.
    pub(crate) fn encode_bytes(input: &[u8], bytes: &mut Vec<u8>) {
        // Four bytes at a time: `String::push` checks capacity and UTF-8 width per
        // character, which made this a few thousand instructions per `sw8` header.
        bytes.reserve(encoded_len(input.len()));
        let sextet = |n: u32, shift: u32| ALPHABET[(n >> shift) as usize & 63];
        let mut chunks = input.chunks_exact(3);
        for chunk in &mut chunks {
            let n = (u32::from(chunk[0]) << 16) | (u32::from(chunk[1]) << 8) | u32::from(chunk[2]);
            bytes.extend_from_slice(&[sextet(n, 18), sextet(n, 12), sextet(n, 6), sextet(n, 0)]);
        }
        match *chunks.remainder() {
            [b0] => {
                let n = u32::from(b0) << 16;
                bytes.extend_from_slice(&[sextet(n, 18), sextet(n, 12), b'=', b'=']);
            }
            [b0, b1] => {
                let n = (u32::from(b0) << 16) | (u32::from(b1) << 8);
                bytes.extend_from_slice(&[sextet(n, 18), sextet(n, 12), sextet(n, 6), b'=']);
            }
            _ => {}
        }
    }

    /// The padded encoding of `input` as a new string.
    #[cfg(test)]
    pub(crate) fn encode(input: &[u8]) -> String {
        let mut out = Vec::new();
        encode_bytes(input, &mut out);
        String::from_utf8(out).expect("base64 is ASCII")
    }

    /// Decode padded standard base64; `None` on a wrong length, a foreign character or
    /// misplaced padding. Like Python's decoder, unused low bits of the last character
    /// are not required to be zero.
    pub(crate) fn decode(input: &str) -> Option<Vec<u8>> {
        let bytes = input.as_bytes();
        // (Not `is_multiple_of`: the workspace MSRV, 1.85, predates it.)
        if bytes.len() & 3 != 0 {
            return None;
        }
        let mut out = Vec::with_capacity(bytes.len() / 4 * 3);
        let quads = bytes.len() / 4;
        for (q, quad) in bytes.chunks_exact(4).enumerate() {
            let last = q + 1 == quads;
            let pad = match (quad[2], quad[3]) {
                (b'=', b'=') if last => 2,
                (_, b'=') if last => 1,
                _ => 0,
            };
            let mut n = 0u32;
            for &c in &quad[..4 - pad] {
                let v = DECODE[c as usize];
                if v == 0xff {
                    return None;
                }
                n = (n << 6) | u32::from(v);
            }
            n <<= 6 * pad as u32;
            out.push((n >> 16) as u8);
            if pad < 2 {
                out.push((n >> 8) as u8);
            }
            if pad < 1 {
                out.push(n as u8);
            }
        }
        Some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Sw8 {
        Sw8 {
            sampled: true,
            trace_id: "a1b2c3".into(),
            parent_segment_id: "seg".into(),
            parent_span_id: 3,
            parent_service: "svc".into(),
            parent_service_instance: "inst".into(),
            parent_endpoint: "/users".into(),
            address_used_at_client: "host:8080".into(),
        }
    }

    #[test]
    fn b64_matches_rfc4648_vectors() {
        let vectors = [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ];
        for (plain, encoded) in vectors {
            assert_eq!(b64::encode(plain.as_bytes()), encoded);
            assert_eq!(b64::decode(encoded).as_deref(), Some(plain.as_bytes()));
        }
        // Both extra alphabet characters of the standard (not URL-safe) alphabet.
        assert_eq!(b64::encode(&[0xfb, 0xff]), "+/8=");
        assert_eq!(b64::decode("+/8="), Some(vec![0xfb, 0xff]));
    }

    #[test]
    fn b64_appends_after_what_the_buffer_holds_and_round_trips_every_length() {
        let input: Vec<u8> = (0..=255u8).rev().cycle().take(200).collect();
        for len in 0..input.len() {
            let mut out = b"1-".to_vec();
            b64::encode_bytes(&input[..len], &mut out);
            assert_eq!(&out[..2], b"1-");
            assert_eq!(out.len(), 2 + b64::encoded_len(len));
            let text = std::str::from_utf8(&out[2..]).expect("ASCII");
            assert_eq!(b64::decode(text).as_deref(), Some(&input[..len]), "length {len}");
        }
    }

    #[test]
    fn b64_rejects_bad_input() {
        for bad in ["Zg", "Zg=", "Z===", "Zm9v=", "=Zg=", "Zg==Zg==", "Zm9-", "Zm 9", "Zm9_"] {
            assert_eq!(b64::decode(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn an_encoded_origin_gives_the_same_header_and_is_ignored_for_another_origin() {
        let v = sample();
        let fields = Sw8Ref {
            sampled: v.sampled,
            trace_id: &v.trace_id,
            parent_segment_id: &v.parent_segment_id,
            parent_span_id: v.parent_span_id,
            parent_service: &v.parent_service,
            parent_service_instance: &v.parent_service_instance,
            parent_endpoint: &v.parent_endpoint,
            address_used_at_client: &v.address_used_at_client,
        };
        let origin = EncodedOrigin::new(&v.parent_service, &v.parent_service_instance);
        assert_eq!(encode_with_origin(&fields, Some(&origin)), encode(&v));
        let other = EncodedOrigin::new("other", &v.parent_service_instance);
        assert_eq!(encode_with_origin(&fields, Some(&other)), encode(&v));
        let empty = Sw8Ref { parent_service: "", parent_service_instance: "", ..fields };
        assert_eq!(encode_with_origin(&empty, Some(&EncodedOrigin::new("", ""))), encode_ref(&empty));
    }

    #[test]
    fn encodes_upstream_layout() {
        assert_eq!(encode(&sample()), "1-YTFiMmMz-c2Vn-3-c3Zj-aW5zdA==-L3VzZXJz-aG9zdDo4MDgw");
        let unsampled = Sw8 { sampled: false, ..sample() };
        assert!(encode(&unsampled).starts_with("0-"));
    }

    #[test]
    fn empty_fields_encode_to_empty_parts() {
        let empty = Sw8 { sampled: true, ..Sw8::default() };
        assert_eq!(encode(&empty), "1---0----");
        assert_eq!(decode("1---0----"), Err(Sw8Error::EmptyField { index: 1 }));
    }

    #[test]
    fn round_trips() {
        let value = encode(&sample());
        assert_eq!(decode(&value), Ok(sample()));
        assert_eq!(decode_header(&value), Incoming::Valid(sample()));
    }

    #[test]
    fn decodes_a_header_from_another_agent() {
        // Encoded by hand: trace "t", segment "s", span 0, service "S", instance "I",
        // endpoint "E", peer "p".
        let got = decode("1-dA==-cw==-0-Uw==-SQ==-RQ==-cA==").expect("valid");
        assert_eq!(got.trace_id, "t");
        assert_eq!(got.parent_segment_id, "s");
        assert_eq!(got.parent_span_id, 0);
        assert_eq!(got.parent_service, "S");
        assert_eq!(got.parent_service_instance, "I");
        assert_eq!(got.parent_endpoint, "E");
        assert_eq!(got.address_used_at_client, "p");
        assert!(got.sampled);
    }

    #[test]
    fn sample_flag_is_read_not_validated() {
        let zero = encode(&sample()).replacen('1', "0", 1);
        assert!(!decode(&zero).expect("valid").sampled);
        let odd = encode(&sample()).replacen('1', "x", 1);
        assert!(!decode(&odd).expect("flag is not validated").sampled);
    }

    #[test]
    fn trims_surrounding_whitespace() {
        let value = format!(" \t{}\r\n", encode(&sample()));
        assert_eq!(decode(&value), Ok(sample()));
        assert_eq!(decode_header(&value), Incoming::Valid(sample()));
    }

    #[test]
    fn wrong_part_count() {
        assert_eq!(decode("1-a-b"), Err(Sw8Error::PartCount { found: 3 }));
        assert_eq!(decode(""), Err(Sw8Error::PartCount { found: 1 }));
        let nine = format!("{}-cA==", encode(&sample()));
        assert_eq!(decode(&nine), Err(Sw8Error::PartCount { found: 9 }));
    }

    #[test]
    fn names_the_bad_base64_field() {
        let mut parts: Vec<String> = encode(&sample()).split('-').map(String::from).collect();
        parts[5] = "not base64!".into();
        assert_eq!(decode(&parts.join("-")), Err(Sw8Error::Base64 { index: 5 }));
        let msg = Sw8Error::Base64 { index: 5 }.to_string();
        assert!(msg.contains("parent service instance"), "{msg}");
    }

    #[test]
    fn rejects_non_utf8_field() {
        let mut parts: Vec<String> = encode(&sample()).split('-').map(String::from).collect();
        parts[6] = b64::encode(&[0xff, 0xfe]);
        assert_eq!(decode(&parts.join("-")), Err(Sw8Error::Utf8 { index: 6 }));
    }

    #[test]
    fn rejects_bad_span_ids() {
        for bad in ["", "x", "+1", "1.0", "2147483648", "٣", " 1"] {
            let mut parts: Vec<String> = encode(&sample()).split('-').map(String::from).collect();
            parts[3] = bad.into();
            assert_eq!(decode(&parts.join("-")), Err(Sw8Error::SpanId), "{bad:?}");
        }
        let mut parts: Vec<String> = encode(&sample()).split('-').map(String::from).collect();
        parts[3] = "2147483647".into();
        assert_eq!(decode(&parts.join("-")).map(|s| s.parent_span_id), Ok(i32::MAX));
        parts[3] = "007".into();
        assert_eq!(decode(&parts.join("-")).map(|s| s.parent_span_id), Ok(7));
    }

    #[test]
    fn every_string_field_is_required() {
        for index in [1, 2, 4, 5, 6, 7] {
            let mut parts: Vec<String> = encode(&sample()).split('-').map(String::from).collect();
            parts[index] = String::new();
            assert_eq!(decode(&parts.join("-")), Err(Sw8Error::EmptyField { index }), "field {index}");
        }
    }

    #[test]
    fn noop_marker_is_suppressed_not_malformed() {
        assert_eq!(decode_header(NOOP_SW8), Incoming::Suppressed);
        assert_eq!(decode_header("  1-------  "), Incoming::Suppressed);
        assert_eq!(decode(NOOP_SW8), Err(Sw8Error::EmptyField { index: 1 }));
        // Only the exact marker suppresses; other invalid values are malformed.
        assert!(matches!(decode_header("0-------"), Incoming::Malformed(_)));
        assert!(matches!(decode_header("garbage"), Incoming::Malformed(_)));
    }

    #[test]
    fn blank_is_absent() {
        assert_eq!(decode_header(""), Incoming::Absent);
        assert_eq!(decode_header(" \t\r\n"), Incoming::Absent);
    }

    #[test]
    fn oversized_is_malformed_without_decoding() {
        let long = "a".repeat(MAX_HEADER_LEN + 1);
        assert_eq!(decode_header(&long), Incoming::Malformed(Sw8Error::TooLong { len: MAX_HEADER_LEN + 1 }));
        assert_eq!(decode(&long), Err(Sw8Error::TooLong { len: MAX_HEADER_LEN + 1 }));
        // Right at the limit it is decoded (and here rejected for its shape).
        let at_limit = "a".repeat(MAX_HEADER_LEN);
        assert_eq!(decode(&at_limit), Err(Sw8Error::PartCount { found: 1 }));
    }
}
