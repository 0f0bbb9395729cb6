//! Instance registration, liveness and the agent's own meters over Kafka, as the Python
//! agent sends them: `InstanceProperties` keyed `register-<instance>` and `InstancePingPkg`
//! keyed `<instance>` to the management topic (OAP tells them apart by that key prefix), on
//! the gRPC cadence; one `MeterDataCollection` per period keyed `<instance>` to the meter topic.

use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;

use prost::Message;
use sw_proto::v3::{InstancePingPkg, InstanceProperties, MeterDataCollection};
use tokio::sync::watch;
use tokio::time::sleep;

use super::producer::Producer;
use super::records::Record;
use crate::management::ManagementLink;
use crate::{Counters, ReporterConfig};

/// Key prefix of instance-property records (upstream's `topic_key_register`).
pub const REGISTER_KEY_PREFIX: &str = "register-";

/// The management topic, with upstream's record keys.
pub(crate) struct KafkaManagement {
    pub producer: Producer,
    pub topic: String,
    pub instance: String,
}

impl ManagementLink for KafkaManagement {
    async fn report_properties(&mut self, properties: InstanceProperties) -> Result<(), String> {
        let key = format!("{REGISTER_KEY_PREFIX}{}", self.instance);
        send_one(&mut self.producer, &self.topic, key, properties.encode_to_vec()).await
    }

    async fn keep_alive(&mut self, ping: InstancePingPkg) -> Result<(), String> {
        send_one(&mut self.producer, &self.topic, self.instance.clone(), ping.encode_to_vec()).await
    }
}

/// Sends the reporter's counters every `meter_period`, starting one period after start.
pub async fn report_meters(
    mut producer: Producer,
    config: ReporterConfig,
    counters: Arc<Counters>,
    mut stop: watch::Receiver<bool>,
) {
    let mut collector = crate::meters::MeterCollector::default();
    collector.prime();
    loop {
        tokio::select! {
            () = sleep(config.meter_period) => {}
            _ = stop.changed() => return,
        }
        let collection =
            MeterDataCollection { meter_data: collector.collect(&config, &counters, crate::meters::now_ms()) };
        let topic = &config.kafka.topics.meter;
        if let Err(error) = send_one(&mut producer, topic, config.instance.clone(), collection.encode_to_vec()).await {
            counters.send_errors.fetch_add(1, Relaxed);
            // The segment sender reports outages once; this one stays quiet.
            log::debug!("sending meters to Kafka topic {topic} failed: {error}");
        }
    }
}

/// One record; `Err` unless it was delivered.
async fn send_one(producer: &mut Producer, topic: &str, key: String, value: Vec<u8>) -> Result<(), String> {
    let delivery = producer.send(topic, vec![Record { key: Some(key.into_bytes()), value }]).await;
    match delivery.error.filter(|_| delivery.delivered == 0) {
        None => Ok(()),
        Some(error) => Err(error.to_string()),
    }
}
