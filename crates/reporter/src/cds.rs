//! Dynamic configuration: polls `ConfigurationDiscoveryService.fetchConfigurations` with
//! the UUID last applied, and keeps the newest settings for the agent to pick up.
//!
//! The agent takes them on its own thread (with `try_lock`, never blocking): this thread
//! never touches the agent's state, and a fork while it holds the lock cannot leave a
//! locked lock where the child would wait on it.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use sw_proto::v3::configuration_discovery_service_client::ConfigurationDiscoveryServiceClient;
use sw_proto::v3::{Commands, ConfigurationSyncRequest};
use tokio::sync::watch;
use tokio::time::sleep;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

use crate::channel::Auth;
use crate::{Counters, ReporterConfig};

pub type Client = ConfigurationDiscoveryServiceClient<InterceptedService<Channel, Auth>>;

/// The command OAP sends when a service's dynamic configuration changed.
pub const COMMAND: &str = "ConfigurationDiscoveryCommand";

/// The newest settings received, waiting to be applied.
#[derive(Debug, Default)]
pub struct ConfigUpdates {
    pending: AtomicBool,
    latest: Mutex<Option<Vec<(String, String)>>>,
}

impl ConfigUpdates {
    /// True when settings arrived that were not taken yet (one atomic load).
    pub fn is_pending(&self) -> bool {
        self.pending.load(Ordering::Acquire)
    }

    /// Takes the newest settings: every key the backend sets now (keys it no longer sends
    /// go back to their local values). `None` when nothing new arrived or the lock is busy.
    pub fn take(&self) -> Option<Vec<(String, String)>> {
        if !self.is_pending() {
            return None;
        }
        let mut latest = self.latest.try_lock().ok()?;
        self.pending.store(false, Ordering::Release);
        latest.take()
    }

    fn offer(&self, settings: Vec<(String, String)>) {
        if let Ok(mut latest) = self.latest.lock() {
            *latest = Some(settings);
            self.pending.store(true, Ordering::Release);
        }
    }
}

/// The settings and UUID of a `ConfigurationDiscoveryCommand`, if `commands` holds one.
fn parse(commands: &Commands) -> Option<(String, Vec<(String, String)>)> {
    let command = commands.commands.iter().rev().find(|c| c.command == COMMAND)?;
    let uuid = command.args.iter().find(|a| a.key == "UUID")?.value.clone();
    let settings = command
        .args
        .iter()
        .filter(|a| a.key != "UUID" && a.key != "SerialNumber")
        .map(|a| (a.key.clone(), a.value.clone()))
        .collect();
    Some((uuid, settings))
}

/// Polls every `profile_poll_interval` (the same cadence as profile tasks), from the start.
pub async fn poll(
    mut client: Client,
    config: ReporterConfig,
    counters: Arc<Counters>,
    updates: Arc<ConfigUpdates>,
    mut stop: watch::Receiver<bool>,
) {
    let mut uuid = String::new();
    loop {
        let mut request =
            tonic::Request::new(ConfigurationSyncRequest { service: config.service.clone(), uuid: uuid.clone() });
        request.set_timeout(config.call_timeout);
        match client.fetch_configurations(request).await {
            Ok(response) => {
                if let Some((new_uuid, settings)) = parse(&response.into_inner()) {
                    if new_uuid != uuid {
                        log::info!("dynamic configuration {new_uuid} received: {settings:?}");
                        uuid = new_uuid;
                        updates.offer(settings);
                    }
                }
            }
            Err(status) => {
                counters.send_errors.fetch_add(1, Ordering::Relaxed);
                log::debug!("fetching dynamic configuration from {} failed: {}", config.backend, status.message());
            }
        }
        tokio::select! {
            () = sleep(config.profile_poll_interval) => {}
            _ = stop.changed() => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use sw_proto::v3::{Command, KeyStringValuePair};

    use super::*;

    fn pair(key: &str, value: &str) -> KeyStringValuePair {
        KeyStringValuePair { key: key.into(), value: value.into() }
    }

    #[test]
    fn reads_uuid_and_settings_and_hands_them_over_once() {
        let commands = Commands {
            commands: vec![Command {
                command: COMMAND.into(),
                args: vec![pair("SerialNumber", "1"), pair("UUID", "u1"), pair("agent.sample_n_per_3_secs", "5")],
            }],
        };
        let (uuid, settings) = parse(&commands).unwrap();
        assert_eq!(uuid, "u1");
        assert_eq!(settings, vec![("agent.sample_n_per_3_secs".to_owned(), "5".to_owned())]);
        let updates = ConfigUpdates::default();
        assert!(updates.take().is_none());
        updates.offer(settings.clone());
        assert!(updates.is_pending());
        assert_eq!(updates.take(), Some(settings));
        assert!(!updates.is_pending() && updates.take().is_none());
        assert!(parse(&Commands::default()).is_none());
    }
}
