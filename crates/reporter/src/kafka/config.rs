//! The Kafka producer's settings, translated from kafka-python `KafkaProducer` arguments.
//!
//! The Python agent passes every environment variable `SW_KAFKA_REPORTER_CONFIG_<key>` to
//! `KafkaProducer(<key>=<value>)` (numeric strings as ints, `True`/`False` as bools). Here
//! the same keys are read into typed settings; a key this producer does not implement is
//! reported once at start and ignored, never fatal.

use std::path::PathBuf;
use std::time::Duration;

/// The prefix of the pass-through environment variables.
pub const ENV_PREFIX: &str = "SW_KAFKA_REPORTER_CONFIG_";

/// Where each kind of data goes (namespace prefix already applied).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KafkaTopics {
    pub segment: String,
    pub management: String,
    pub meter: String,
    /// Carried for completeness: there is no log reporter yet.
    pub log: String,
}

/// Test topics (the agent's come from `skywalking/config.py`, whose defaults these match).
#[cfg(test)]
impl Default for KafkaTopics {
    fn default() -> Self {
        Self {
            segment: "skywalking-segments".into(),
            management: "skywalking-managements".into(),
            meter: "skywalking-meters".into(),
            log: "skywalking-logs".into(),
        }
    }
}

/// How many brokers must have a record before a produce succeeds (`acks`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Acks {
    /// `acks=0`: the broker does not answer; a record counts as sent once written.
    None,
    /// `acks=1`: the partition leader.
    Leader,
    /// `acks=all` / `-1`: every in-sync replica.
    All,
}

impl Acks {
    pub fn wire(self) -> i16 {
        match self {
            Self::None => 0,
            Self::Leader => 1,
            Self::All => -1,
        }
    }
}

/// `security_protocol`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecurityProtocol {
    Plaintext,
    Ssl,
    SaslPlaintext,
    SaslSsl,
}

impl SecurityProtocol {
    pub fn tls(self) -> bool {
        matches!(self, Self::Ssl | Self::SaslSsl)
    }

    pub fn sasl(self) -> bool {
        matches!(self, Self::SaslPlaintext | Self::SaslSsl)
    }
}

/// SASL PLAIN credentials.
#[derive(Clone, PartialEq, Eq)]
pub struct SaslPlain {
    pub username: String,
    pub password: String,
}

impl std::fmt::Debug for SaslPlain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SaslPlain").field("username", &self.username).finish_non_exhaustive()
    }
}

/// Settings of the Kafka producer (defaults as kafka-python's `KafkaProducer`, except the
/// client id, which names this agent, and `retries`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KafkaConfig {
    /// `host:port` of the brokers to bootstrap from (`kafka_bootstrap_servers`).
    pub bootstrap_servers: Vec<String>,
    pub topics: KafkaTopics,
    pub client_id: String,
    pub acks: Acks,
    /// Deadline of every exchange with a broker, connecting included.
    pub request_timeout: Duration,
    /// Further attempts of a produce that failed with a retriable error. kafka-python 2.0
    /// defaults to 0, 2.1+ to unlimited within its 2-minute delivery timeout; 3 cures moved
    /// leaders, and past them the segment sender's backoff takes over without holding a batch.
    pub retries: u32,
    pub retry_backoff: Duration,
    /// How long the segment sender waits for more records before sending a batch.
    pub linger: Duration,
    /// Upper bound of one partition's record batch, in bytes.
    pub batch_size: usize,
    /// Upper bound of one Produce request, in bytes.
    pub max_request_size: usize,
    /// Metadata older than this is fetched again before the next produce.
    pub metadata_max_age: Duration,
    /// A connection idle for longer is closed and opened again when next needed.
    pub connections_max_idle: Duration,
    pub security_protocol: SecurityProtocol,
    /// Credentials for `sasl_mechanism=PLAIN`.
    pub sasl_plain: Option<SaslPlain>,
    /// PEM file of CA certificates to trust instead of the system's (`ssl_cafile`).
    pub ssl_cafile: Option<PathBuf>,
}

/// Test settings: one broker on localhost and the test topics.
#[cfg(test)]
impl Default for KafkaConfig {
    fn default() -> Self {
        Self::with_kafka_python_defaults(vec!["localhost:9092".into()], KafkaTopics::default())
    }
}

impl KafkaConfig {
    /// The brokers and topics given (from the agent's options), and kafka-python's
    /// `KafkaProducer` defaults for everything else (not agent options).
    fn with_kafka_python_defaults(bootstrap_servers: Vec<String>, topics: KafkaTopics) -> Self {
        Self {
            bootstrap_servers,
            topics,
            client_id: "skywalking-rs".into(),
            acks: Acks::Leader,
            request_timeout: Duration::from_secs(30),
            retries: 3,
            retry_backoff: Duration::from_millis(100),
            linger: Duration::ZERO,
            batch_size: 16_384,
            max_request_size: 1_048_576,
            metadata_max_age: Duration::from_secs(300),
            connections_max_idle: Duration::from_secs(540),
            security_protocol: SecurityProtocol::Plaintext,
            sasl_plain: None,
            ssl_cafile: None,
        }
    }
}

impl KafkaConfig {
    /// Settings for `bootstrap_servers` (a comma list) and `topics`, with `pass_through`
    /// (`(key, value)` of every `SW_KAFKA_REPORTER_CONFIG_<key>`) applied. Returns the
    /// warnings to log: one line per key that is ignored, naming it.
    pub fn from_pass_through(
        bootstrap_servers: &str,
        topics: KafkaTopics,
        pass_through: &[(String, String)],
    ) -> (Self, Vec<String>) {
        let brokers = bootstrap_servers.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned);
        let mut config = Self::with_kafka_python_defaults(brokers.collect(), topics);
        let mut warnings = Vec::new();
        let mut sasl = SaslSettings::default();
        let mut sorted: Vec<&(String, String)> = pass_through.iter().collect();
        sorted.sort();
        for (key, value) in sorted {
            let value = value.trim();
            if let Err(why) = config.apply(&key.to_ascii_lowercase(), value, &mut sasl) {
                // A password is not repeated into the log.
                warnings.push(if key.to_ascii_lowercase().contains("password") {
                    format!("{ENV_PREFIX}{key} is ignored: {why}")
                } else {
                    format!("{ENV_PREFIX}{key}={value:?} is ignored: {why}")
                });
            }
        }
        let SaslSettings { mechanism: sasl_mechanism, username, password } = sasl;
        if config.security_protocol.sasl() {
            match (sasl_mechanism.as_deref(), username, password) {
                (Some(m), Some(username), Some(password)) if m.eq_ignore_ascii_case("PLAIN") => {
                    config.sasl_plain = Some(SaslPlain { username, password });
                }
                (Some(m), _, _) if !m.eq_ignore_ascii_case("PLAIN") => {}
                _ => warnings.push(format!(
                    "{ENV_PREFIX}security_protocol asks for SASL, but sasl_mechanism=PLAIN with sasl_plain_username and \
                     sasl_plain_password is not complete; connecting without authentication"
                )),
            }
        }
        (config, warnings)
    }

    /// Applies one kafka-python argument; the error says why it is ignored.
    fn apply(&mut self, key: &str, value: &str, sasl: &mut SaslSettings) -> Result<(), &'static str> {
        match key {
            "client_id" => self.client_id = value.to_owned(),
            "acks" => self.acks = parse_acks(value).ok_or("acks must be 0, 1, all or -1")?,
            "request_timeout_ms" => self.request_timeout = millis(value)?,
            "retry_backoff_ms" => self.retry_backoff = millis(value)?,
            "linger_ms" => self.linger = millis(value)?,
            "metadata_max_age_ms" => self.metadata_max_age = millis(value)?,
            "connections_max_idle_ms" => self.connections_max_idle = millis(value)?,
            "retries" => self.retries = value.parse().map_err(|_| NUM)?,
            "batch_size" => self.batch_size = value.parse().map_err(|_| NUM)?,
            "max_request_size" => self.max_request_size = value.parse().map_err(|_| NUM)?,
            "compression_type" if value.is_empty() || value.eq_ignore_ascii_case("none") => {}
            "compression_type" => return Err("records are sent uncompressed (compression is not implemented)"),
            "security_protocol" => {
                self.security_protocol =
                    parse_security_protocol(value).ok_or("use PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL")?;
            }
            "sasl_mechanism" => {
                sasl.mechanism = Some(value.to_owned());
                if !value.eq_ignore_ascii_case("PLAIN") {
                    return Err("only the PLAIN mechanism is implemented");
                }
            }
            "sasl_plain_username" => sasl.username = Some(value.to_owned()),
            "sasl_plain_password" => sasl.password = Some(value.to_owned()),
            "ssl_cafile" => self.ssl_cafile = Some(PathBuf::from(value)),
            "bootstrap_servers" => return Err("set SW_KAFKA_BOOTSTRAP_SERVERS instead"),
            _ => return Err("not supported by skywalking-rs's Kafka producer"),
        }
        Ok(())
    }
}

/// The SASL arguments, checked together once all are read.
#[derive(Default)]
struct SaslSettings {
    mechanism: Option<String>,
    username: Option<String>,
    password: Option<String>,
}

fn parse_acks(value: &str) -> Option<Acks> {
    match value.to_ascii_lowercase().as_str() {
        "0" => Some(Acks::None),
        "1" => Some(Acks::Leader),
        "-1" | "all" => Some(Acks::All),
        _ => None,
    }
}

fn parse_security_protocol(value: &str) -> Option<SecurityProtocol> {
    match value.to_ascii_uppercase().as_str() {
        "PLAINTEXT" => Some(SecurityProtocol::Plaintext),
        "SSL" => Some(SecurityProtocol::Ssl),
        "SASL_PLAINTEXT" => Some(SecurityProtocol::SaslPlaintext),
        "SASL_SSL" => Some(SecurityProtocol::SaslSsl),
        _ => None,
    }
}

const NUM: &str = "not a non-negative integer";

fn millis(value: &str) -> Result<Duration, &'static str> {
    value.parse::<u64>().map(Duration::from_millis).map_err(|_| NUM)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
        items.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn defaults_follow_kafka_python() {
        let (config, warnings) = KafkaConfig::from_pass_through("a:1, b:2,", KafkaTopics::default(), &[]);
        assert!(warnings.is_empty());
        assert_eq!(config.bootstrap_servers, ["a:1", "b:2"]);
        assert_eq!(config.acks, Acks::Leader);
        assert_eq!(config.batch_size, 16_384);
        assert_eq!(config.max_request_size, 1_048_576);
        assert_eq!(config.request_timeout, Duration::from_secs(30));
        assert_eq!(config.client_id, "skywalking-rs");
    }

    #[test]
    fn supported_keys_are_translated() {
        let (config, warnings) = KafkaConfig::from_pass_through(
            "k:9092",
            KafkaTopics::default(),
            &pairs(&[
                ("acks", "all"),
                ("linger_ms", "5"),
                ("request_timeout_ms", "1500"),
                ("retries", "3"),
                ("retry_backoff_ms", "20"),
                ("batch_size", "100"),
                ("max_request_size", "2000"),
                ("client_id", "my-client"),
                ("compression_type", "None"),
                ("metadata_max_age_ms", "1000"),
                ("connections_max_idle_ms", "2000"),
                ("security_protocol", "SASL_SSL"),
                ("sasl_mechanism", "PLAIN"),
                ("sasl_plain_username", "user"),
                ("sasl_plain_password", "secret"),
                ("ssl_cafile", "/ca.pem"),
            ]),
        );
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(config.acks, Acks::All);
        assert_eq!(config.linger, Duration::from_millis(5));
        assert_eq!(config.request_timeout, Duration::from_millis(1500));
        assert_eq!((config.retries, config.retry_backoff), (3, Duration::from_millis(20)));
        assert_eq!((config.batch_size, config.max_request_size), (100, 2000));
        assert_eq!(config.client_id, "my-client");
        assert_eq!(config.metadata_max_age, Duration::from_secs(1));
        assert_eq!(config.connections_max_idle, Duration::from_secs(2));
        assert_eq!(config.security_protocol, SecurityProtocol::SaslSsl);
        assert_eq!(config.sasl_plain, Some(SaslPlain { username: "user".into(), password: "secret".into() }));
        assert_eq!(config.ssl_cafile, Some(PathBuf::from("/ca.pem")));
        assert_eq!(
            KafkaConfig::from_pass_through("", KafkaTopics::default(), &pairs(&[("acks", "0")])).0.acks,
            Acks::None
        );
    }

    #[test]
    fn unsupported_keys_and_values_warn_once_each_and_change_nothing() {
        let (config, warnings) = KafkaConfig::from_pass_through(
            "k:9092",
            KafkaTopics::default(),
            &pairs(&[
                ("compression_type", "gzip"),
                ("bogus_key", "1"),
                ("acks", "two"),
                ("linger_ms", "-5"),
                ("sasl_mechanism", "SCRAM-SHA-256"),
            ]),
        );
        assert_eq!(warnings.len(), 5, "{warnings:?}");
        assert!(warnings.iter().any(|w| w.contains("SW_KAFKA_REPORTER_CONFIG_bogus_key")));
        assert!(warnings.iter().any(|w| w.contains("compression_type")));
        assert_eq!(config, KafkaConfig { bootstrap_servers: vec!["k:9092".into()], ..KafkaConfig::default() });
    }

    #[test]
    fn incomplete_sasl_settings_warn_without_the_password() {
        let (config, warnings) = KafkaConfig::from_pass_through(
            "k:9092",
            KafkaTopics::default(),
            &pairs(&[("security_protocol", "SASL_PLAINTEXT"), ("sasl_plain_password", "secret")]),
        );
        assert_eq!(config.sasl_plain, None);
        assert_eq!(warnings.len(), 1);
        assert!(!warnings[0].contains("secret"));
    }
}
