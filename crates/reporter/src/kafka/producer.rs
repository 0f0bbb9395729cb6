//! A minimal Kafka producer: bootstrap, metadata (partitions and their leaders), one
//! connection per broker, and Produce requests of record batches, retried on the errors
//! that a metadata refresh can cure.
//!
//! It is driven by one task at a time (`&mut self`), as each reporting task owns its own
//! producer, like the Python agent's one `KafkaProducer` per client.

use std::collections::HashMap;

use rand::Rng;
use tokio::time::Instant;

use super::config::{Acks, KafkaConfig};
use super::connection::{Connection, Connector};
use super::error::KafkaError;
use super::partitioner::partition_index;
use super::protocol::{self, METADATA, PRODUCE};
use super::records::{encode_batch, Record, BATCH_OVERHEAD};

/// What became of the records handed to [`Producer::send`].
#[derive(Debug, Default)]
pub struct Delivery {
    pub delivered: u64,
    pub lost: u64,
    /// Why records were lost (the last error seen).
    pub error: Option<KafkaError>,
}

/// Partitions of one topic, sorted by id: `(partition, leader node or -1)`.
type Partitions = Vec<(i32, i32)>;

#[derive(Debug, Default)]
struct Cluster {
    brokers: HashMap<i32, String>,
    topics: HashMap<String, Partitions>,
    fetched: Option<Instant>,
}

pub struct Producer {
    connector: Connector,
    cluster: Cluster,
    connections: HashMap<i32, Connection>,
    /// Round-robin counter for unkeyed records.
    next_partition: usize,
    /// A refresh is due before the next produce (after an error that may mean moved leaders).
    stale: bool,
}

impl Producer {
    pub fn new(connector: Connector) -> Self {
        Self { connector, cluster: Cluster::default(), connections: HashMap::new(), next_partition: 0, stale: true }
    }

    fn config(&self) -> &KafkaConfig {
        self.connector.config()
    }

    /// Sends `records` to `topic`, retrying what failed with a retriable error up to
    /// `retries` times (after `retry_backoff_ms` with jitter and a metadata refresh).
    pub async fn send(&mut self, topic: &str, records: Vec<Record>) -> Delivery {
        let mut delivery = Delivery::default();
        let max = self.config().max_request_size;
        let mut pending: Vec<Record> = Vec::with_capacity(records.len());
        for record in records {
            let size = BATCH_OVERHEAD + record.size_bound() + topic.len() + 64;
            if size > max {
                delivery.lost += 1;
                delivery.error = Some(KafkaError::RecordTooLarge { size, max });
            } else {
                pending.push(record);
            }
        }
        let mut attempt = 0;
        while !pending.is_empty() {
            let retry = match self.partitions(topic).await {
                Ok(partitions) => self.produce(topic, &partitions, pending, &mut delivery).await,
                Err(error) => {
                    let retry = if error.is_retriable() {
                        pending
                    } else {
                        delivery.lost += pending.len() as u64;
                        Vec::new()
                    };
                    delivery.error = Some(error);
                    retry
                }
            };
            pending = retry;
            if pending.is_empty() {
                break;
            }
            if attempt >= self.config().retries {
                delivery.lost += pending.len() as u64;
                break;
            }
            attempt += 1;
            self.stale = true;
            let backoff = self.config().retry_backoff.mul_f64(rand::rng().random_range(0.8..1.2));
            tokio::time::sleep(backoff).await;
        }
        delivery
    }

    /// Sends every record once; returns those that failed with a retriable error.
    async fn produce(
        &mut self,
        topic: &str,
        partitions: &Partitions,
        records: Vec<Record>,
        delivery: &mut Delivery,
    ) -> Vec<Record> {
        // Records per partition, then partitions per leader.
        let mut by_partition: Vec<Vec<Record>> = vec![Vec::new(); partitions.len()];
        for record in records {
            let index = partition_index(record.key.as_deref(), partitions.len(), &mut self.next_partition);
            by_partition[index].push(record);
        }
        let mut retry = Vec::new();
        let mut by_leader: HashMap<i32, Vec<(i32, Vec<Record>)>> = HashMap::new();
        for (records, &(partition, leader)) in by_partition.into_iter().zip(partitions) {
            if records.is_empty() {
                continue;
            }
            if leader < 0 {
                delivery.error = Some(KafkaError::NoLeader(topic.to_owned()));
                self.stale = true;
                retry.extend(records);
            } else {
                by_leader.entry(leader).or_default().push((partition, records));
            }
        }
        for (leader, partitions) in by_leader {
            for request in self.requests(partitions) {
                let count: usize = request.iter().map(|(_, records)| records.len()).sum();
                match self.produce_to(leader, topic, &request).await {
                    Ok(results) => {
                        for (partition, records) in request {
                            match results.iter().find(|(p, _)| *p == partition).map_or(0, |(_, code)| *code) {
                                0 => delivery.delivered += records.len() as u64,
                                code => {
                                    let error = KafkaError::Broker { code };
                                    if error.is_retriable() {
                                        self.stale = true;
                                        retry.extend(records);
                                    } else {
                                        delivery.lost += records.len() as u64;
                                    }
                                    delivery.error = Some(error);
                                }
                            }
                        }
                    }
                    Err(error) => {
                        log::debug!("producing {count} records to {topic} failed: {error}");
                        self.stale = true;
                        let records = request.into_iter().flat_map(|(_, records)| records).collect();
                        if error.is_retriable() {
                            retry.extend::<Vec<Record>>(records);
                        } else {
                            delivery.lost += records.len() as u64;
                        }
                        delivery.error = Some(error);
                    }
                }
            }
        }
        retry
    }

    /// Splits one leader's records into requests: at most one batch per partition per
    /// request (what brokers accept), batches up to `batch_size`, requests up to
    /// `max_request_size` (always at least one record).
    fn requests(&self, partitions: Vec<(i32, Vec<Record>)>) -> Vec<Vec<(i32, Vec<Record>)>> {
        let (batch_size, max_request) = (self.config().batch_size, self.config().max_request_size);
        let mut batches: Vec<Vec<(i32, Vec<Record>, usize)>> = Vec::new(); // per partition, in order
        for (partition, records) in partitions {
            let mut list: Vec<(i32, Vec<Record>, usize)> = Vec::new();
            for record in records {
                let size = record.size_bound();
                match list.last_mut() {
                    Some((_, batch, bytes)) if *bytes + size <= batch_size => {
                        *bytes += size;
                        batch.push(record);
                    }
                    _ => list.push((partition, vec![record], BATCH_OVERHEAD + size)),
                }
            }
            list.reverse(); // popped from the end, in order
            batches.push(list);
        }
        let mut requests = Vec::new();
        while batches.iter().any(|list| !list.is_empty()) {
            let mut request = Vec::new();
            let mut bytes = 64;
            for list in &mut batches {
                let fits = list.last().is_some_and(|(_, _, size)| request.is_empty() || bytes + size <= max_request);
                if fits {
                    if let Some((partition, records, size)) = list.pop() {
                        bytes += size;
                        request.push((partition, records));
                    }
                }
            }
            requests.push(request);
        }
        requests
    }

    /// One Produce request to `leader`; `(partition, error_code)` per partition.
    async fn produce_to(
        &mut self,
        leader: i32,
        topic: &str,
        request: &[(i32, Vec<Record>)],
    ) -> Result<Vec<(i32, i16)>, KafkaError> {
        let now = crate::meters::now_ms();
        let batches: Vec<(i32, Vec<u8>)> =
            request.iter().map(|(partition, records)| (*partition, encode_batch(records, now))).collect();
        let config = self.connector.config();
        let (acks, timeout) = (config.acks, config.request_timeout);
        let timeout_ms = i32::try_from(timeout.as_millis()).unwrap_or(i32::MAX);
        let body = protocol::produce_request(acks.wire(), timeout_ms, topic, &batches);
        let mut connection = self.connection(leader).await?;
        let version = connection.produce_version;
        let result = if acks == Acks::None {
            connection.send_only(PRODUCE, version, &body, timeout).await.map(|()| Vec::new())
        } else {
            match connection.call(PRODUCE, version, &body, timeout).await {
                Ok(response) => protocol::parse_produce(version, &response),
                Err(error) => Err(error),
            }
        };
        if result.is_ok() {
            self.connections.insert(leader, connection);
        }
        result
    }

    /// The open connection to broker `node` (taken out; put back after a good exchange).
    async fn connection(&mut self, node: i32) -> Result<Connection, KafkaError> {
        let max_idle = self.config().connections_max_idle;
        if let Some(connection) = self.connections.remove(&node).filter(|c| c.idle() < max_idle) {
            return Ok(connection);
        }
        let address =
            self.cluster.brokers.get(&node).cloned().ok_or(KafkaError::Malformed("leader not in metadata"))?;
        self.connector.connect(&address).await
    }

    /// The topic's partitions, from metadata fetched when missing, stale or too old.
    async fn partitions(&mut self, topic: &str) -> Result<Partitions, KafkaError> {
        let too_old = self.cluster.fetched.is_none_or(|at| at.elapsed() >= self.config().metadata_max_age);
        let known = self.cluster.topics.get(topic).is_some_and(|p| !p.is_empty());
        if self.stale || too_old || !known {
            self.refresh(topic).await?;
        }
        match self.cluster.topics.get(topic) {
            Some(partitions) if !partitions.is_empty() => Ok(partitions.clone()),
            _ => Err(KafkaError::NoLeader(topic.to_owned())),
        }
    }

    /// Fetches metadata for `topic` (and the topics already known) from a known broker,
    /// or from the bootstrap servers.
    async fn refresh(&mut self, topic: &str) -> Result<(), KafkaError> {
        let mut topics: Vec<String> = self.cluster.topics.keys().cloned().collect();
        if !topics.iter().any(|t| t == topic) {
            topics.push(topic.to_owned());
        }
        let topic_refs: Vec<&str> = topics.iter().map(String::as_str).collect();
        let mut candidates: Vec<(Option<i32>, String)> =
            self.connections.keys().map(|node| (Some(*node), String::new())).collect();
        candidates.extend(self.config().bootstrap_servers.iter().map(|address| (None, address.clone())));
        let mut last_error = KafkaError::Malformed("no bootstrap servers configured");
        for (node, address) in candidates {
            let connection = match node {
                Some(node) => self.connections.remove(&node).ok_or(KafkaError::Malformed("connection vanished")),
                None => self.connector.connect(&address).await,
            };
            let mut connection = match connection {
                Ok(connection) => connection,
                Err(error) => {
                    last_error = error;
                    continue;
                }
            };
            let version = connection.metadata_version;
            let body = protocol::metadata_request(version, &topic_refs);
            let timeout = self.config().request_timeout;
            match connection.call(METADATA, version, &body, timeout).await {
                Ok(response) => {
                    let metadata = protocol::parse_metadata(version, &response)?;
                    self.apply(metadata);
                    // A bootstrap connection to a broker of the cluster is kept as that broker's.
                    let node = node.or_else(|| {
                        self.cluster.brokers.iter().find(|(_, broker)| **broker == address).map(|(node, _)| *node)
                    });
                    if let Some(node) = node {
                        self.connections.entry(node).or_insert(connection);
                    }
                    return Ok(());
                }
                Err(error) => last_error = error,
            }
        }
        Err(last_error)
    }

    fn apply(&mut self, metadata: protocol::Metadata) {
        self.cluster.brokers =
            metadata.brokers.into_iter().map(|(node, host, port)| (node, format!("{host}:{port}"))).collect();
        for topic in metadata.topics {
            let mut partitions: Partitions = topic
                .partitions
                .iter()
                .map(|&(partition, leader, code)| (partition, if code == 0 || code == 9 { leader } else { -1 }))
                .collect();
            partitions.sort_unstable();
            if topic.error_code != 0 {
                log::debug!("metadata of topic {}: {}", topic.name, KafkaError::Broker { code: topic.error_code });
            }
            self.cluster.topics.insert(topic.name, partitions);
        }
        // Connections to brokers that left the cluster are closed.
        let brokers = &self.cluster.brokers;
        self.connections.retain(|node, _| brokers.contains_key(node));
        self.cluster.fetched = Some(Instant::now());
        self.stale = false;
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
    use std::sync::Arc;

    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    use super::*;
    use crate::kafka::wire::Writer;

    fn producer(config: KafkaConfig) -> Producer {
        Producer::new(Connector::new(Arc::new(config)).unwrap())
    }

    fn records(n: usize, value_len: usize) -> Vec<Record> {
        (0..n).map(|i| Record { key: Some(format!("k{i}").into_bytes()), value: vec![b'x'; value_len] }).collect()
    }

    #[test]
    fn requests_hold_one_batch_per_partition_within_the_size_limits() {
        let producer = producer(KafkaConfig { batch_size: 400, max_request_size: 800, ..KafkaConfig::default() });
        // 100-byte values: 134 bytes per record with the batch overhead of 61, so two per batch, and
        // two batches per request.
        let requests = producer.requests(vec![(0, records(5, 100)), (1, records(2, 100))]);
        let shape: Vec<Vec<(i32, usize)>> =
            requests.iter().map(|r| r.iter().map(|(p, records)| (*p, records.len())).collect()).collect();
        assert_eq!(shape, [vec![(0, 2), (1, 2)], vec![(0, 2)], vec![(0, 1)]]);
        // Records keep their order within a partition.
        assert_eq!(requests[1][0].1[0].key.as_deref(), Some(&b"k2"[..]));
    }

    /// A broker that answers ApiVersions and Metadata (two partitions, itself as leader) and
    /// fails the first Produce with NOT_LEADER_OR_FOLLOWER.
    async fn flaky_broker(produces: Arc<AtomicUsize>, metadata: Arc<AtomicUsize>) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap().to_string();
        let port = i32::from(listener.local_addr().unwrap().port());
        tokio::spawn(async move {
            loop {
                let (mut socket, _) = listener.accept().await.unwrap();
                let (produces, metadata) = (produces.clone(), metadata.clone());
                tokio::spawn(async move {
                    while let Ok(size) = socket.read_i32().await {
                        let mut request = vec![0u8; usize::try_from(size).unwrap()];
                        socket.read_exact(&mut request).await.unwrap();
                        let api = i16::from_be_bytes([request[0], request[1]]);
                        let mut w = Writer::default();
                        w.buf.extend_from_slice(&request[4..8]); // correlation id
                        match api {
                            protocol::API_VERSIONS => {
                                w.i16(0);
                                w.array_len(2);
                                for (key, max) in [(PRODUCE, 3), (METADATA, 1)] {
                                    w.i16(key);
                                    w.i16(0);
                                    w.i16(max);
                                }
                            }
                            METADATA => {
                                metadata.fetch_add(1, Relaxed);
                                w.array_len(1);
                                w.i32(7);
                                w.string("127.0.0.1");
                                w.i32(port);
                                w.nullable_string(None);
                                w.i32(7); // controller
                                w.array_len(1);
                                w.i16(0);
                                w.string("t");
                                w.i8(0);
                                w.array_len(2);
                                for partition in 0..2 {
                                    w.i16(0);
                                    w.i32(partition);
                                    w.i32(7);
                                    w.array_len(0);
                                    w.array_len(0);
                                }
                            }
                            _ => {
                                let code = if produces.fetch_add(1, Relaxed) == 0 { 6 } else { 0 };
                                w.array_len(1);
                                w.string("t");
                                w.array_len(2);
                                for partition in 0..2 {
                                    w.i32(partition);
                                    w.i16(code);
                                    w.i64(0);
                                    w.i64(-1);
                                }
                                w.i32(0); // throttle
                            }
                        }
                        let mut framed = Writer::default();
                        framed.array_len(w.buf.len());
                        framed.buf.extend_from_slice(&w.buf);
                        socket.write_all(&framed.buf).await.unwrap();
                    }
                });
            }
        });
        address
    }

    #[tokio::test]
    async fn a_moved_leader_is_retried_after_a_metadata_refresh() {
        let (produces, metadata) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let address = flaky_broker(produces.clone(), metadata.clone()).await;
        let config = KafkaConfig { bootstrap_servers: vec![address], ..KafkaConfig::default() };
        let delivery = producer(config.clone()).send("t", records(4, 10)).await;
        assert_eq!((delivery.delivered, delivery.lost), (4, 0), "{:?}", delivery.error);
        assert_eq!(produces.load(Relaxed), 2);
        assert_eq!(metadata.load(Relaxed), 2);

        produces.store(0, Relaxed);
        let delivery = producer(KafkaConfig { retries: 0, ..config }).send("t", records(4, 10)).await;
        assert_eq!((delivery.delivered, delivery.lost), (0, 4));
        assert!(matches!(delivery.error, Some(KafkaError::Broker { code: 6 })));
    }

    #[tokio::test]
    async fn no_broker_loses_the_records_after_the_retries() {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let config = KafkaConfig {
            bootstrap_servers: vec![format!("127.0.0.1:{port}")],
            retry_backoff: std::time::Duration::from_millis(1),
            ..KafkaConfig::default()
        };
        let delivery = producer(config).send("t", records(3, 10)).await;
        assert_eq!((delivery.delivered, delivery.lost), (0, 3));
        assert!(matches!(delivery.error, Some(KafkaError::Connect { .. })), "{:?}", delivery.error);
    }
}
