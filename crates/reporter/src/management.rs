//! Instance registration and liveness: `reportInstanceProperties` on the first heartbeat
//! (and again until one succeeds) and every `factor`-th after it, `keepAlive` on every
//! heartbeat (upstream's cadence). The cadence and the counters are the same for every
//! transport; each transport says only how it sends the two messages ([`ManagementLink`]).

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

/// How one transport sends the management messages. Failures are logged at debug level
/// by the transport (the segment sender reports outages, once) and returned as `Err`.
pub(crate) trait ManagementLink {
    async fn report_properties(&mut self, properties: InstanceProperties) -> Result<(), String>;
    async fn keep_alive(&mut self, ping: InstancePingPkg) -> Result<(), String>;
}

/// Runs the heartbeat until `stop` changes.
pub(crate) async fn run(
    mut link: impl ManagementLink,
    config: ReporterConfig,
    counters: Arc<Counters>,
    mut stop: watch::Receiver<bool>,
) {
    let factor = u64::from(config.properties_report_period_factor.max(1));
    let mut beat: u64 = 0;
    let mut properties_due = true;
    loop {
        if properties_due || beat.is_multiple_of(factor) {
            let properties = InstanceProperties {
                service: config.service.clone(),
                service_instance: config.instance.clone(),
                properties: properties(&config),
                layer: String::new(),
            };
            let sent = link.report_properties(properties).await;
            count(&counters, &sent, &counters.properties_reported, "reporting instance properties", &config);
            properties_due = sent.is_err();
        }
        let ping = InstancePingPkg {
            service: config.service.clone(),
            service_instance: config.instance.clone(),
            layer: String::new(),
        };
        let sent = link.keep_alive(ping).await;
        count(&counters, &sent, &counters.heartbeats, "keepAlive", &config);
        beat += 1;
        tokio::select! {
            () = tokio::time::sleep(config.heartbeat_period) => {}
            _ = stop.changed() => return,
        }
    }
}

fn count(
    counters: &Counters,
    sent: &Result<(), String>,
    success: &std::sync::atomic::AtomicU64,
    what: &str,
    config: &ReporterConfig,
) {
    match sent {
        Ok(()) => {
            success.fetch_add(1, Relaxed);
        }
        Err(error) => {
            counters.send_errors.fetch_add(1, Relaxed);
            // The segment sender reports outages once; this one stays quiet.
            log::debug!("{what} to {} failed: {error}", config.backend);
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

/// gRPC: `ManagementService`, each call with the configured deadline.
pub(crate) struct GrpcManagement {
    pub client: Client,
    pub call_timeout: std::time::Duration,
}

impl ManagementLink for GrpcManagement {
    async fn report_properties(&mut self, properties: InstanceProperties) -> Result<(), String> {
        let mut request = tonic::Request::new(properties);
        request.set_timeout(self.call_timeout);
        self.client.report_instance_properties(request).await.map(drop).map_err(|s| s.message().to_owned())
    }

    async fn keep_alive(&mut self, ping: InstancePingPkg) -> Result<(), String> {
        let mut request = tonic::Request::new(ping);
        request.set_timeout(self.call_timeout);
        self.client.keep_alive(request).await.map(drop).map_err(|s| s.message().to_owned())
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
            ..crate::config::tests::fixture()
        };
        let keys: Vec<String> = properties(&config).into_iter().map(|p| p.key).collect();
        assert_eq!(keys, ["language", "OS Name", "Process No."]);
        let config = ReporterConfig { properties: vec![("Process No.".into(), "1".into())], ..config };
        assert_eq!(properties(&config), vec![KeyStringValuePair { key: "Process No.".into(), value: pid }]);
    }
}
