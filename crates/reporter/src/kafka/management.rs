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
use crate::{Counters, ReporterConfig};

/// Key prefix of instance-property records (upstream's `topic_key_register`).
pub const REGISTER_KEY_PREFIX: &str = "register-";

pub async fn run(
    mut producer: Producer,
    config: ReporterConfig,
    counters: Arc<Counters>,
    mut stop: watch::Receiver<bool>,
) {
    let factor = u64::from(config.properties_report_period_factor.max(1));
    let mut beat: u64 = 0;
    let mut properties_due = true;
    loop {
        if properties_due || beat.is_multiple_of(factor) {
            properties_due = !report_properties(&mut producer, &config, &counters).await;
        }
        keep_alive(&mut producer, &config, &counters).await;
        beat += 1;
        tokio::select! {
            () = sleep(config.heartbeat_period) => {}
            _ = stop.changed() => return,
        }
    }
}

async fn report_properties(producer: &mut Producer, config: &ReporterConfig, counters: &Counters) -> bool {
    let properties = InstanceProperties {
        service: config.service.clone(),
        service_instance: config.instance.clone(),
        properties: crate::management::properties(config),
        layer: String::new(),
    };
    let key = format!("{REGISTER_KEY_PREFIX}{}", config.instance);
    let topic = &config.kafka.topics.management;
    let sent = send_one(producer, topic, key, properties.encode_to_vec(), counters, "instance properties").await;
    if sent {
        counters.properties_reported.fetch_add(1, Relaxed);
    }
    sent
}

async fn keep_alive(producer: &mut Producer, config: &ReporterConfig, counters: &Counters) {
    let ping = InstancePingPkg {
        service: config.service.clone(),
        service_instance: config.instance.clone(),
        layer: String::new(),
    };
    let topic = &config.kafka.topics.management;
    if send_one(producer, topic, config.instance.clone(), ping.encode_to_vec(), counters, "keepAlive").await {
        counters.heartbeats.fetch_add(1, Relaxed);
    }
}

/// Sends the reporter's counters every `meter_period`, starting one period after start.
pub async fn report_meters(
    mut producer: Producer,
    config: ReporterConfig,
    counters: Arc<Counters>,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            () = sleep(config.meter_period) => {}
            _ = stop.changed() => return,
        }
        let collection =
            MeterDataCollection { meter_data: crate::meters::meters(&config, &counters, crate::meters::now_ms()) };
        let topic = &config.kafka.topics.meter;
        send_one(&mut producer, topic, config.instance.clone(), collection.encode_to_vec(), &counters, "meters").await;
    }
}

async fn send_one(
    producer: &mut Producer,
    topic: &str,
    key: String,
    value: Vec<u8>,
    counters: &Counters,
    what: &str,
) -> bool {
    let delivery = producer.send(topic, vec![Record { key: Some(key.into_bytes()), value }]).await;
    match delivery.error.filter(|_| delivery.delivered == 0) {
        None => true,
        Some(error) => {
            counters.send_errors.fetch_add(1, Relaxed);
            // The segment sender reports outages once; this one stays quiet.
            log::debug!("sending {what} to Kafka topic {topic} failed: {error}");
            false
        }
    }
}
