//! Dynamic configuration the collector hands to agents, as OAP's configuration discovery
//! does: per service a set of key/value settings with a UUID that changes whenever the set
//! changes. Agents poll with the UUID they last applied and get a
//! `ConfigurationDiscoveryCommand` only when theirs is out of date.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Mutex;

use sw_proto::v3::{Command, Commands, KeyStringValuePair};

/// The command name OAP uses for configuration discovery.
pub const COMMAND: &str = "ConfigurationDiscoveryCommand";

/// One service's settings and the UUID of that set.
pub type Versioned = (String, BTreeMap<String, String>);

/// Settings per service, each set with its UUID.
#[derive(Debug, Default)]
pub struct DynamicConfigs {
    services: Mutex<HashMap<String, Versioned>>,
    serial: AtomicU64,
}

impl DynamicConfigs {
    /// Replaces the settings of `service` (an empty map removes them all) and returns the new UUID.
    pub fn set(&self, service: &str, settings: BTreeMap<String, String>) -> String {
        let uuid = format!("{:x}-{}", crate::now_ms(), self.serial.fetch_add(1, Relaxed));
        self.services
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(service.to_owned(), (uuid.clone(), settings));
        uuid
    }

    /// The current settings of every service.
    pub fn all(&self) -> BTreeMap<String, Versioned> {
        let services = self.services.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        services.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
    }

    /// What `fetchConfigurations` answers an agent of `service` that last applied `uuid`.
    pub fn sync(&self, service: &str, uuid: &str) -> Commands {
        let services = self.services.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let Some((current, settings)) = services.get(service) else { return Commands::default() };
        if current == uuid {
            return Commands::default();
        }
        let pair = |key: &str, value: &str| KeyStringValuePair { key: key.to_owned(), value: value.to_owned() };
        let mut args =
            vec![pair("SerialNumber", &format!("cds-{}", self.serial.fetch_add(1, Relaxed))), pair("UUID", current)];
        args.extend(settings.iter().map(|(k, v)| pair(k, v)));
        Commands { commands: vec![Command { command: COMMAND.to_owned(), args }] }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agents_get_the_settings_until_they_hold_the_current_uuid() {
        let configs = DynamicConfigs::default();
        assert!(configs.sync("svc", "").commands.is_empty());
        let uuid = configs.set("svc", BTreeMap::from([("agent.sample_n_per_3_secs".to_owned(), "2".to_owned())]));
        let commands = configs.sync("svc", "");
        let args: Vec<(&str, &str)> =
            commands.commands[0].args.iter().map(|a| (a.key.as_str(), a.value.as_str())).collect();
        assert_eq!(commands.commands[0].command, COMMAND);
        assert_eq!(args[1], ("UUID", uuid.as_str()));
        assert_eq!(args[2], ("agent.sample_n_per_3_secs", "2"));
        assert!(configs.sync("svc", &uuid).commands.is_empty());
        assert!(configs.sync("other", "").commands.is_empty());
        let newer = configs.set("svc", BTreeMap::new());
        assert_ne!(newer, uuid);
        assert_eq!(configs.sync("svc", &uuid).commands[0].args.len(), 2);
    }
}
