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

/// Services that may have settings at once.
pub const MAX_SERVICES: usize = 1_000;
/// Bytes of one service's settings (its name, keys and values).
pub const MAX_SET_BYTES: usize = 64 * 1024;

/// Why settings were refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// The set is larger than [`MAX_SET_BYTES`].
    #[error("the settings of one service must be at most {MAX_SET_BYTES} bytes (name, keys and values), not {0}")]
    TooLarge(usize),
    /// [`MAX_SERVICES`] services have settings already.
    #[error("at most {MAX_SERVICES} services may have settings")]
    TooManyServices,
}

/// One service's settings and the UUID of that set.
pub type Versioned = (String, BTreeMap<String, String>);

/// Settings per service, each set with its UUID.
#[derive(Debug, Default)]
pub struct DynamicConfigs {
    services: Mutex<HashMap<String, Versioned>>,
    serial: AtomicU64,
}

impl DynamicConfigs {
    /// Replaces the settings of `service` (an empty map removes them all) and returns the new
    /// UUID. Refused when the set is too large or it would add a service over the limit.
    pub fn set(&self, service: &str, settings: BTreeMap<String, String>) -> Result<String, ConfigError> {
        let size = service.len() + settings.iter().map(|(k, v)| k.len() + v.len()).sum::<usize>();
        if size > MAX_SET_BYTES {
            return Err(ConfigError::TooLarge(size));
        }
        let uuid = format!("{:x}-{}", crate::now_ms(), self.serial.fetch_add(1, Relaxed));
        let mut services = self.services.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if !services.contains_key(service) && services.len() >= MAX_SERVICES {
            return Err(ConfigError::TooManyServices);
        }
        services.insert(service.to_owned(), (uuid.clone(), settings));
        Ok(uuid)
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
        let uuid = configs
            .set("svc", BTreeMap::from([("agent.sample_n_per_3_secs".to_owned(), "2".to_owned())]))
            .expect("small");
        let commands = configs.sync("svc", "");
        let args: Vec<(&str, &str)> =
            commands.commands[0].args.iter().map(|a| (a.key.as_str(), a.value.as_str())).collect();
        assert_eq!(commands.commands[0].command, COMMAND);
        assert_eq!(args[1], ("UUID", uuid.as_str()));
        assert_eq!(args[2], ("agent.sample_n_per_3_secs", "2"));
        assert!(configs.sync("svc", &uuid).commands.is_empty());
        assert!(configs.sync("other", "").commands.is_empty());
        let newer = configs.set("svc", BTreeMap::new()).expect("small");
        assert_ne!(newer, uuid);
        assert_eq!(configs.sync("svc", &uuid).commands[0].args.len(), 2);
    }

    #[test]
    fn sets_and_services_are_limited_in_size() {
        let configs = DynamicConfigs::default();
        let big = BTreeMap::from([("k".to_owned(), "v".repeat(MAX_SET_BYTES))]);
        assert!(matches!(configs.set("svc", big), Err(ConfigError::TooLarge(_))));
        let one = || BTreeMap::from([("k".to_owned(), "v".to_owned())]);
        for i in 0..MAX_SERVICES {
            configs.set(&format!("s{i}"), one()).expect("room");
        }
        assert_eq!(configs.set("one-more", one()), Err(ConfigError::TooManyServices));
        configs.set("s0", BTreeMap::new()).expect("a known service may always change");
        assert_eq!(configs.all().len(), MAX_SERVICES);
    }
}
