//! `agent_protocol=kafka`: records to Kafka topics, as the Python agent produces them, for
//! OAP's Kafka fetcher.
//!
//! | topic (default)          | key                    | value                 |
//! |--------------------------|------------------------|-----------------------|
//! | `skywalking-segments`    | segment id             | `SegmentObject`       |
//! | `skywalking-managements` | `register-<instance>`  | `InstanceProperties`  |
//! | `skywalking-managements` | `<instance>`           | `InstancePingPkg`     |
//! | `skywalking-meters`      | `<instance>`           | `MeterDataCollection` |
//!
//! The producer is written here, small and without a C library: bootstrap, metadata,
//! record batches v2 (uncompressed), murmur2 partitioning as kafka-python's, acks,
//! retries, TLS and SASL PLAIN. Profiling and dynamic configuration are gRPC services,
//! so, as with the Python agent, they are not available: snapshots are dropped and counted.
//! Each task owns its producer (and so its connections), as upstream has one
//! `KafkaProducer` per client.

mod config;
mod connection;
mod crc32c;
mod error;
mod logs;
mod management;
mod partitioner;
mod producer;
mod protocol;
mod records;
mod sender;
mod wire;

use std::sync::Arc;
use std::thread::JoinHandle;

use tokio::runtime::Runtime;
use tokio::sync::watch;

pub use config::{Acks, KafkaConfig, KafkaTopics, SaslPlain, SecurityProtocol, ENV_PREFIX};

use crate::inbox::{Link, SegmentInbox};
use crate::{Counters, Queues, ReporterConfig, ReporterError};

/// Prepares the connections' TLS settings, then starts the reporter thread running the
/// Kafka senders on `runtime`.
pub fn spawn(
    runtime: Runtime,
    config: ReporterConfig,
    counters: Arc<Counters>,
    queues: Queues,
    stop: watch::Receiver<bool>,
) -> Result<JoinHandle<()>, ReporterError> {
    let connector = connection::Connector::new(Arc::new(config.kafka.clone()))?;
    log::debug!(
        "reporting over Kafka to {} (segments to {}, management to {}, meters to {}); dynamic configuration \
         is a gRPC service and is not polled over Kafka",
        config.kafka.bootstrap_servers.join(","),
        config.kafka.topics.segment,
        config.kafka.topics.management,
        config.kafka.topics.meter,
    );
    let thread = std::thread::Builder::new().name("skywalking-reporter".into()).spawn(move || {
        runtime.block_on(async move {
            let producer = || producer::Producer::new(connector.clone());
            let mut tasks = vec![
                tokio::spawn(crate::management::run(
                    management::KafkaManagement {
                        producer: producer(),
                        topic: config.kafka.topics.management.clone(),
                        instance: config.instance.clone(),
                    },
                    config.clone(),
                    counters.clone(),
                    stop.clone(),
                )),
                tokio::spawn(crate::profile::discard(queues.snapshots, queues.finishes, counters.clone(), "kafka")),
            ];
            if config.meters_active {
                tasks.push(tokio::spawn(management::report_meters(producer(), config.clone(), counters.clone(), stop)));
            }
            let logs = crate::Queues::log_sender(
                queues.logs,
                queues.log_flushes,
                logs::KafkaLogs { producer: producer(), topic: config.kafka.topics.log.clone() },
                config.kafka.bootstrap_servers.clone(),
                &config,
                &counters,
            )
            .map(|sender| tokio::spawn(sender.run()));
            let brokers = config.kafka.bootstrap_servers.clone();
            let link = Link::new("Kafka", brokers.join(","), brokers, config.kafka.request_timeout, counters);
            let inbox = SegmentInbox::new(queues.segments, queues.flushes);
            let sender = sender::SegmentSender::new(producer(), config, inbox, link);
            sender.run().await;
            if let Some(logs) = logs {
                let _ = logs.await;
            }
            for task in tasks {
                task.abort();
            }
        });
    })?;
    Ok(thread)
}
