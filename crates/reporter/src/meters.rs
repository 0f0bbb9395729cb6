//! Meters, reported every `meter_period` through `MeterReportService.collect` (gRPC) or as one
//! `MeterDataCollection` record (Kafka): the reporter's own counters (queued, sent, dropped
//! per kind, send errors, ...), so an agent that drops data says so in the backend, the
//! `instance_pvm_*` meters read from /proc ([`Pvm`]), and what the [`MeterSource`]s give (the
//! application's counters, gauges and histograms, the GC meters).

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
use crate::pvm::Pvm;
use crate::{Counters, ReporterConfig};

pub type Client = MeterReportServiceClient<InterceptedService<Channel, Auth>>;

/// Prefix of every self-observability meter name.
pub const PREFIX: &str = "skywalking_agent_";

/// Meters from outside the reporter; `collect` runs on the reporter thread every period,
/// so it must not block (and must not take the GIL).
pub trait MeterSource: Send + Sync + std::fmt::Debug {
    /// Appends this period's values (service, instance and time are filled in afterwards).
    fn collect(&self, out: &mut Vec<MeterData>);
}

/// A single value without labels.
#[must_use]
pub fn single(name: String, value: f64) -> MeterData {
    MeterData {
        metric: Some(Metric::SingleValue(MeterSingleValue { name, labels: Vec::new(), value })),
        ..MeterData::default()
    }
}

/// Builds each period's meters; keeps what the CPU meters measure between periods.
#[derive(Debug, Default)]
pub struct MeterCollector {
    pvm: Pvm,
}

impl MeterCollector {
    /// Takes the CPU meters' first reading, so the first report covers a whole period.
    pub fn prime(&mut self) {
        let _ = self.pvm.collect();
    }

    /// One period's meters, each message carrying service, instance and time (as the
    /// Python agent sends them); at most `meter_queue_size`, the rest counted as dropped.
    pub fn collect(&mut self, config: &ReporterConfig, counters: &Counters, now_ms: i64) -> Vec<MeterData> {
        let mut out = Vec::new();
        for source in &config.meter_sources {
            source.collect(&mut out);
        }
        if config.pvm_active {
            out.extend(self.pvm.collect().into_iter().map(|(name, value)| single(name.to_owned(), value)));
        }
        #[allow(clippy::cast_precision_loss)] // counters stay far below 2^52
        out.extend(
            counters.snapshot().pairs().iter().map(|(name, value)| single(format!("{PREFIX}{name}"), *value as f64)),
        );
        let limit = config.meter_queue_size.max(1);
        if out.len() > limit {
            counters.meters_dropped_queue_full.fetch_add((out.len() - limit) as u64, Relaxed);
            out.truncate(limit);
        }
        for meter in &mut out {
            meter.service.clone_from(&config.service);
            meter.service_instance.clone_from(&config.instance);
            meter.timestamp = now_ms;
        }
        out
    }
}

/// Milliseconds since the Unix epoch (0 if the clock is before it).
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Sends the meters every `meter_period`, starting one period after start.
pub async fn run(mut client: Client, config: ReporterConfig, counters: Arc<Counters>, mut stop: watch::Receiver<bool>) {
    let mut collector = MeterCollector::default();
    collector.prime();
    loop {
        tokio::select! {
            () = sleep(config.meter_period) => {}
            _ = stop.changed() => return,
        }
        let batch = collector.collect(&config, &counters, now_ms());
        let mut request = tonic::Request::new(tokio_stream::iter(batch));
        request.set_timeout(config.call_timeout);
        if let Err(status) = client.collect(request).await {
            counters.send_errors.fetch_add(1, Relaxed);
            log::debug!("reporting meters to {} failed: {}", config.backend, status.message());
        }
    }
}
