//! `MeterReportService`: meter values. Service, instance and timestamp may be set only on
//! the first element of a stream (or of a batch); later elements inherit them.

use sw_proto::v3::meter_report_service_server::MeterReportService;
use sw_proto::v3::{Commands, MeterData, MeterDataCollection};
use tonic::{Request, Response, Status, Streaming};

use super::Receivers;
use crate::store::{Kind, Store};

/// What later elements of a stream inherit from earlier ones.
#[derive(Default)]
struct CarryOver {
    service: String,
    instance: String,
    timestamp: i64,
}

impl CarryOver {
    /// Fills what `meter` omits from earlier elements, remembers what it sets, and stores it.
    fn record(&mut self, store: &Store, mut meter: MeterData) {
        if meter.service.is_empty() {
            meter.service.clone_from(&self.service);
        } else {
            self.service.clone_from(&meter.service);
        }
        if meter.service_instance.is_empty() {
            meter.service_instance.clone_from(&self.instance);
        } else {
            self.instance.clone_from(&meter.service_instance);
        }
        if meter.timestamp == 0 {
            meter.timestamp = self.timestamp;
        } else {
            self.timestamp = meter.timestamp;
        }
        store.add_meter(meter.service.clone(), meter);
    }
}

#[tonic::async_trait]
impl MeterReportService for Receivers {
    async fn collect(&self, request: Request<Streaming<MeterData>>) -> Result<Response<Commands>, Status> {
        let mut carry = CarryOver::default();
        self.drain(request.into_inner(), Kind::Meter, |meter| {
            carry.record(&self.store, meter);
        })
        .await
    }

    async fn collect_batch(
        &self,
        request: Request<Streaming<MeterDataCollection>>,
    ) -> Result<Response<Commands>, Status> {
        self.drain(request.into_inner(), Kind::Meter, |batch| {
            // Each batch is complete in itself.
            let mut carry = CarryOver::default();
            for meter in batch.meter_data {
                carry.record(&self.store, meter);
            }
        })
        .await
    }
}
