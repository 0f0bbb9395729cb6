//! Instance registration and liveness over HTTP, on the gRPC cadence: instance properties
//! on the first heartbeat (and again until one succeeds) and every `factor`-th after it,
//! keepAlive on every heartbeat.

use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;

use sw_proto::v3::{InstancePingPkg, InstanceProperties};
use tokio::sync::watch;

use super::client::HttpClient;
use super::json;
use crate::{Counters, ReporterConfig};

const PROPERTIES_PATH: &str = "/v3/management/reportProperties";
const KEEP_ALIVE_PATH: &str = "/v3/management/keepAlive";

pub async fn run(
    mut client: HttpClient,
    config: ReporterConfig,
    counters: Arc<Counters>,
    mut stop: watch::Receiver<bool>,
) {
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

async fn report_properties(client: &mut HttpClient, config: &ReporterConfig, counters: &Counters) -> bool {
    let body = json::instance_properties(&InstanceProperties {
        service: config.service.clone(),
        service_instance: config.instance.clone(),
        properties: crate::management::properties(config),
        layer: String::new(),
    });
    match client.post(PROPERTIES_PATH, body).await {
        Ok(()) => {
            counters.properties_reported.fetch_add(1, Relaxed);
            true
        }
        Err(error) => {
            counters.send_errors.fetch_add(1, Relaxed);
            // The segment sender reports outages once; this one stays quiet.
            log::debug!("failed to report instance properties to {}: {error}", config.backend);
            false
        }
    }
}

async fn keep_alive(client: &mut HttpClient, config: &ReporterConfig, counters: &Counters) {
    let body = json::ping(&InstancePingPkg {
        service: config.service.clone(),
        service_instance: config.instance.clone(),
        layer: String::new(),
    });
    match client.post(KEEP_ALIVE_PATH, body).await {
        Ok(()) => {
            counters.heartbeats.fetch_add(1, Relaxed);
        }
        Err(error) => {
            counters.send_errors.fetch_add(1, Relaxed);
            log::debug!("keepAlive to {} failed: {error}", config.backend);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pid_follows_os_name_or_replaces_a_configured_one() {
        let pid = std::process::id().to_string();
        let config = ReporterConfig {
            properties: vec![("language".into(), "python".into()), ("OS Name".into(), "posix".into())],
            ..ReporterConfig::default()
        };
        let keys: Vec<String> = crate::management::properties(&config).into_iter().map(|p| p.key).collect();
        assert_eq!(keys, ["language", "OS Name", "Process No."]);
        let config = ReporterConfig { properties: vec![("Process No.".into(), "1".into())], ..config };
        assert_eq!(
            crate::management::properties(&config),
            vec![sw_proto::v3::KeyStringValuePair { key: "Process No.".into(), value: pid }]
        );
    }
}
