//! Instance registration and liveness: `reportInstanceProperties` on the first heartbeat
//! and every `factor`-th after it, `keepAlive` on every heartbeat (upstream's cadence).

use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;

use sw_proto::v3::management_service_client::ManagementServiceClient;
use sw_proto::v3::{InstancePingPkg, InstanceProperties, KeyStringValuePair};
use tokio::sync::watch;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

use crate::channel::Auth;
use crate::{Counters, ReporterConfig};

pub type Client = ManagementServiceClient<InterceptedService<Channel, Auth>>;

pub async fn run(mut client: Client, config: ReporterConfig, counters: Arc<Counters>, mut stop: watch::Receiver<bool>) {
    let factor = u64::from(config.properties_report_period_factor.max(1));
    let mut beat: u64 = 0;
    let mut properties_due = true;
    loop {
        if properties_due || beat.is_multiple_of(factor) {
            properties_due = !report_properties(&mut client, &config, &counters).await;
        }
        keep_alive(&mut client, &config, &counters).await;
        beat += 1;
        tokio::select! {
            () = tokio::time::sleep(config.heartbeat_period) => {}
            _ = stop.changed() => return,
        }
    }
}

/// Upstream's instance properties with `Process No.` read now (a forked child reports its own pid).
pub(crate) fn properties(config: &ReporterConfig) -> Vec<KeyStringValuePair> {
    let mut pairs: Vec<KeyStringValuePair> = config
        .properties
        .iter()
        .map(|(key, value)| KeyStringValuePair { key: key.clone(), value: value.clone() })
        .collect();
    // The pid is read now, not at configuration time, so a forked child reports its own.
    let pid = KeyStringValuePair { key: "Process No.".into(), value: std::process::id().to_string() };
    match pairs.iter_mut().find(|p| p.key == "Process No.") {
        Some(existing) => *existing = pid,
        None => {
            let at = pairs.iter().position(|p| p.key == "OS Name").map_or(pairs.len().min(1), |i| i + 1);
            pairs.insert(at, pid);
        }
    }
    pairs
}

async fn report_properties(client: &mut Client, config: &ReporterConfig, counters: &Counters) -> bool {
    let mut request = tonic::Request::new(InstanceProperties {
        service: config.service.clone(),
        service_instance: config.instance.clone(),
        properties: properties(config),
        layer: String::new(),
    });
    request.set_timeout(config.call_timeout);
    match client.report_instance_properties(request).await {
        Ok(_) => {
            counters.properties_reported.fetch_add(1, Relaxed);
            true
        }
        Err(status) => {
            counters.send_errors.fetch_add(1, Relaxed);
            // The segment stream reports outages once; this one stays quiet.
            log::debug!("failed to report instance properties to {}: {}", config.backend, status.message());
            false
        }
    }
}

async fn keep_alive(client: &mut Client, config: &ReporterConfig, counters: &Counters) {
    let mut request = tonic::Request::new(InstancePingPkg {
        service: config.service.clone(),
        service_instance: config.instance.clone(),
        layer: String::new(),
    });
    request.set_timeout(config.call_timeout);
    match client.keep_alive(request).await {
        Ok(_) => {
            counters.heartbeats.fetch_add(1, Relaxed);
        }
        Err(status) => {
            counters.send_errors.fetch_add(1, Relaxed);
            log::debug!("keepAlive to {} failed: {}", config.backend, status.message());
        }
    }
}
