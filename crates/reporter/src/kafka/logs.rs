//! Log records to the log topic, one `LogData` per record keyed by its segment id (empty
//! outside a trace), as the Python agent produces them.

use prost::Message;
use sw_proto::v3::LogData;

use super::producer::Producer;
use super::records::Record;
use crate::logs::LogLink;

pub(crate) struct KafkaLogs {
    pub producer: Producer,
    pub topic: String,
}

impl LogLink for KafkaLogs {
    fn name(&self) -> &'static str {
        "Kafka"
    }

    async fn send(&mut self, batch: Vec<LogData>) -> Result<(), String> {
        let records = batch
            .iter()
            .map(|log| {
                let key = log.trace_context.as_ref().map(|c| c.trace_segment_id.clone()).unwrap_or_default();
                Record { key: Some(key.into_bytes()), value: log.encode_to_vec() }
            })
            .collect();
        let delivery = self.producer.send(&self.topic, records).await;
        match delivery.error.filter(|_| delivery.lost > 0) {
            None => Ok(()),
            Some(error) => Err(error.to_string()),
        }
    }
}
