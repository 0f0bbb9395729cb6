//! The requests this producer sends and the parts of their responses it reads:
//! ApiVersions v0, Metadata v1-v8, Produce v3-v8, SaslHandshake v1 and SaslAuthenticate v0,
//! all non-flexible (request header v1, response header v0).

use super::error::KafkaError;
use super::wire::{Reader, Writer};

pub const PRODUCE: i16 = 0;
pub const METADATA: i16 = 3;
pub const SASL_HANDSHAKE: i16 = 17;
pub const API_VERSIONS: i16 = 18;
pub const SASL_AUTHENTICATE: i16 = 36;

/// Versions this client speaks: `(api, min, max)`. Produce starts at v3 (record batches),
/// and both stop before their first flexible version.
pub const PRODUCE_VERSIONS: (i16, i16) = (3, 8);
pub const METADATA_VERSIONS: (i16, i16) = (1, 8);

/// Request header v1 followed by `body`, framed with its size.
pub fn frame(api_key: i16, version: i16, correlation_id: i32, client_id: &str, body: &[u8]) -> Vec<u8> {
    let mut w = Writer { buf: Vec::with_capacity(body.len() + 14 + client_id.len() + 4) };
    w.i32(0); // size, filled in below
    w.i16(api_key);
    w.i16(version);
    w.i32(correlation_id);
    w.nullable_string(Some(client_id));
    w.buf.extend_from_slice(body);
    let size = super::wire::len_i32(w.buf.len() - 4);
    w.buf[..4].copy_from_slice(&size.to_be_bytes());
    w.buf
}

/// ApiVersions v0: `(api_key, min, max)` for every API the broker offers.
pub fn parse_api_versions(body: &[u8]) -> Result<Vec<(i16, i16, i16)>, KafkaError> {
    let mut r = Reader::new(body);
    let code = r.i16()?;
    if code != 0 {
        return Err(KafkaError::Broker { code });
    }
    let count = r.array_len()?;
    (0..count).map(|_| Ok((r.i16()?, r.i16()?, r.i16()?))).collect()
}

/// The highest version of `api` both sides speak.
pub fn choose_version(
    offered: &[(i16, i16, i16)],
    api: i16,
    name: &'static str,
    (min, max): (i16, i16),
) -> Result<i16, KafkaError> {
    offered
        .iter()
        .find(|(key, _, _)| *key == api)
        .and_then(|&(_, broker_min, broker_max)| {
            let version = broker_max.min(max);
            (version >= broker_min.max(min)).then_some(version)
        })
        .ok_or(KafkaError::Unsupported { api: name, min, max })
}

/// A Metadata request for `topics`, letting the broker create missing ones (as
/// kafka-python's producer does, so a fresh cluster with auto-creation just works).
pub fn metadata_request(version: i16, topics: &[&str]) -> Vec<u8> {
    let mut w = Writer::default();
    w.array_len(topics.len());
    for topic in topics {
        w.string(topic);
    }
    if version >= 4 {
        w.bool(true); // allow_auto_topic_creation
    }
    if version >= 8 {
        w.bool(false); // include_cluster_authorized_operations
        w.bool(false); // include_topic_authorized_operations
    }
    w.buf
}

/// What a Metadata response says about brokers and partitions.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Metadata {
    /// `(node_id, host, port)`.
    pub brokers: Vec<(i32, String, i32)>,
    pub topics: Vec<TopicMetadata>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TopicMetadata {
    pub error_code: i16,
    pub name: String,
    /// `(partition, leader node or -1, error code)`.
    pub partitions: Vec<(i32, i32, i16)>,
}

pub fn parse_metadata(version: i16, body: &[u8]) -> Result<Metadata, KafkaError> {
    let mut r = Reader::new(body);
    if version >= 3 {
        r.i32()?; // throttle_time_ms
    }
    let mut metadata = Metadata::default();
    for _ in 0..r.array_len()? {
        let node = r.i32()?;
        let host = r.string()?;
        let port = r.i32()?;
        r.nullable_string()?; // rack
        metadata.brokers.push((node, host, port));
    }
    if version >= 2 {
        r.nullable_string()?; // cluster_id
    }
    r.i32()?; // controller_id
    for _ in 0..r.array_len()? {
        let error_code = r.i16()?;
        let name = r.string()?;
        r.i8()?; // is_internal
        let mut partitions = Vec::new();
        for _ in 0..r.array_len()? {
            let error = r.i16()?;
            let index = r.i32()?;
            let leader = r.i32()?;
            if version >= 7 {
                r.i32()?; // leader_epoch
            }
            r.skip_i32_array()?; // replicas
            r.skip_i32_array()?; // isr
            if version >= 5 {
                r.skip_i32_array()?; // offline replicas
            }
            partitions.push((index, leader, error));
        }
        if version >= 8 {
            r.i32()?; // topic_authorized_operations
        }
        metadata.topics.push(TopicMetadata { error_code, name, partitions });
    }
    Ok(metadata)
}

/// A Produce request: `batches` holds one encoded record batch per partition.
pub fn produce_request(acks: i16, timeout_ms: i32, topic: &str, batches: &[(i32, Vec<u8>)]) -> Vec<u8> {
    let mut w = Writer { buf: Vec::with_capacity(batches.iter().map(|(_, b)| b.len() + 8).sum::<usize>() + 64) };
    w.nullable_string(None); // transactional_id
    w.i16(acks);
    w.i32(timeout_ms);
    w.array_len(1);
    w.string(topic);
    w.array_len(batches.len());
    for (partition, batch) in batches {
        w.i32(*partition);
        w.bytes(Some(batch));
    }
    w.buf
}

/// `(partition, error_code)` for every partition of a Produce response.
pub fn parse_produce(version: i16, body: &[u8]) -> Result<Vec<(i32, i16)>, KafkaError> {
    let mut r = Reader::new(body);
    let mut results = Vec::new();
    for _ in 0..r.array_len()? {
        r.string()?; // topic
        for _ in 0..r.array_len()? {
            let partition = r.i32()?;
            let code = r.i16()?;
            r.i64()?; // base_offset
            r.i64()?; // log_append_time_ms (v2+)
            if version >= 5 {
                r.i64()?; // log_start_offset
            }
            if version >= 8 {
                for _ in 0..r.array_len()? {
                    r.i32()?; // batch_index
                    r.nullable_string()?; // batch_index_error_message
                }
                r.nullable_string()?; // error_message
            }
            results.push((partition, code));
        }
    }
    Ok(results)
}

pub fn sasl_handshake_request(mechanism: &str) -> Vec<u8> {
    let mut w = Writer::default();
    w.string(mechanism);
    w.buf
}

/// SaslHandshake v1: Ok, or the mechanisms the broker would accept.
pub fn parse_sasl_handshake(body: &[u8]) -> Result<(), KafkaError> {
    let mut r = Reader::new(body);
    let code = r.i16()?;
    if code == 0 {
        return Ok(());
    }
    let enabled: Vec<String> = (0..r.array_len()?).map(|_| r.string()).collect::<Result<_, _>>()?;
    Err(KafkaError::Sasl(format!("mechanism not enabled on the broker (it offers {})", enabled.join(", "))))
}

/// SASL PLAIN's single message (RFC 4616): no authorization id, user, password.
pub fn sasl_authenticate_plain(username: &str, password: &str) -> Vec<u8> {
    let token = format!("\0{username}\0{password}");
    let mut w = Writer::default();
    w.bytes(Some(token.as_bytes()));
    w.buf
}

pub fn parse_sasl_authenticate(body: &[u8]) -> Result<(), KafkaError> {
    let mut r = Reader::new(body);
    let code = r.i16()?;
    let message = r.nullable_string()?;
    if code == 0 {
        Ok(())
    } else {
        Err(KafkaError::Sasl(message.unwrap_or_else(|| super::error::error_name(code).to_owned())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_header_carries_api_version_correlation_and_client() {
        let framed = frame(METADATA, 5, 7, "sw", &[0xAB]);
        assert_eq!(framed, [0, 0, 0, 13, 0, 3, 0, 5, 0, 0, 0, 7, 0, 2, b's', b'w', 0xAB]);
    }

    #[test]
    fn versions_are_the_highest_both_speak() {
        let offered = [(PRODUCE, 0, 5), (METADATA, 0, 12), (API_VERSIONS, 0, 3)];
        assert_eq!(choose_version(&offered, PRODUCE, "Produce", PRODUCE_VERSIONS).unwrap(), 5);
        assert_eq!(choose_version(&offered, METADATA, "Metadata", METADATA_VERSIONS).unwrap(), 8);
        assert!(choose_version(&[(PRODUCE, 0, 2)], PRODUCE, "Produce", PRODUCE_VERSIONS).is_err());
        assert!(choose_version(&offered, SASL_HANDSHAKE, "SaslHandshake", (1, 1)).is_err());
    }

    fn metadata_v5_body() -> Vec<u8> {
        let mut w = Writer::default();
        w.i32(0); // throttle
        w.array_len(1);
        w.i32(1);
        w.string("localhost");
        w.i32(9092);
        w.nullable_string(None);
        w.nullable_string(Some("cluster"));
        w.i32(1); // controller
        w.array_len(1);
        w.i16(0);
        w.string("skywalking-segments");
        w.i8(0);
        w.array_len(2);
        for partition in 0..2 {
            w.i16(0);
            w.i32(partition);
            w.i32(1);
            w.array_len(1);
            w.i32(1);
            w.array_len(1);
            w.i32(1);
            w.array_len(0);
        }
        w.buf
    }

    #[test]
    fn metadata_lists_brokers_and_leaders() {
        let metadata = parse_metadata(5, &metadata_v5_body()).unwrap();
        assert_eq!(metadata.brokers, [(1, "localhost".to_owned(), 9092)]);
        assert_eq!(metadata.topics[0].name, "skywalking-segments");
        assert_eq!(metadata.topics[0].partitions, [(0, 1, 0), (1, 1, 0)]);
        assert!(parse_metadata(5, &metadata_v5_body()[..20]).is_err());
    }

    #[test]
    fn produce_results_are_read_per_partition() {
        let mut w = Writer::default();
        w.array_len(1);
        w.string("t");
        w.array_len(2);
        for (partition, code) in [(0, 0i16), (1, 6)] {
            w.i32(partition);
            w.i16(code);
            w.i64(42);
            w.i64(-1);
            w.i64(0);
            w.array_len(0);
            w.nullable_string(None);
        }
        w.i32(0); // throttle
        assert_eq!(parse_produce(8, &w.buf).unwrap(), [(0, 0), (1, 6)]);
    }

    #[test]
    fn a_produce_request_carries_acks_timeout_and_batches() {
        let body = produce_request(-1, 30_000, "t", &[(3, vec![9, 9])]);
        assert_eq!(
            body,
            [
                0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0x75, 0x30, 0, 0, 0, 1, 0, 1, b't', 0, 0, 0, 1, 0, 0, 0, 3, 0, 0, 0, 2,
                9, 9
            ]
        );
        assert_eq!(sasl_authenticate_plain("u", "p"), [0, 0, 0, 4, 0, b'u', 0, b'p']);
    }
}
