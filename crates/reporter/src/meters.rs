//! Self-observability: the reporter's own counters (queued, sent, dropped per kind, send
//! errors, ...) reported as meters every `meter_period` through `MeterReportService.collect`,
//! so an agent that drops data says so in the backend, not only in its log.

use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;

use sw_proto::v3::meter_data::Metric;
use sw_proto::v3::meter_report_service_client::MeterReportServiceClient;
use sw_proto::v3::{MeterData, MeterSingleValue};
use tokio::sync::watch;
use tokio::time::sleep;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

use crate::channel::Auth;
use crate::{Counters, ReporterConfig};

pub type Client = MeterReportServiceClient<InterceptedService<Channel, Auth>>;

/// Prefix of every self-observability meter name.
pub const PREFIX: &str = "skywalking_agent_";

/// One period's meters: every counter as a single value, each message carrying service,
/// instance and time (as the Python agent sends meters).
pub fn meters(config: &ReporterConfig, counters: &Counters, now_ms: i64) -> Vec<MeterData> {
    counters
        .snapshot()
        .pairs()
        .iter()
        .map(|(name, value)| MeterData {
            metric: Some(Metric::SingleValue(MeterSingleValue {
                name: format!("{PREFIX}{name}"),
                labels: Vec::new(),
                #[allow(clippy::cast_precision_loss)] // counters stay far below 2^52
                value: *value as f64,
            })),
            service: config.service.clone(),
            service_instance: config.instance.clone(),
            timestamp: now_ms,
        })
        .collect()
}

/// Milliseconds since the Unix epoch (0 if the clock is before it).
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Sends the counters every `meter_period`, starting one period after start.
pub async fn run(mut client: Client, config: ReporterConfig, counters: Arc<Counters>, mut stop: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            () = sleep(config.meter_period) => {}
            _ = stop.changed() => return,
        }
        let batch = meters(&config, &counters, now_ms());
        let mut request = tonic::Request::new(tokio_stream::iter(batch));
        request.set_timeout(config.call_timeout);
        if let Err(status) = client.collect(request).await {
            counters.send_errors.fetch_add(1, Relaxed);
            log::debug!("reporting the agent's own meters to {} failed: {}", config.backend, status.message());
        }
    }
}
