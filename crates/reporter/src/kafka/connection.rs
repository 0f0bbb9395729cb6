//! One connection to one broker: TCP (or TLS), the API version handshake, SASL PLAIN, and
//! request/response exchanges, one at a time, each under the `request_timeout_ms` deadline.
//!
//! A connection that failed or timed out mid-exchange is in an unknown state; its owner
//! drops it and connects again when it next needs the broker.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::time::Instant;
use tokio_rustls::TlsConnector;

use super::config::KafkaConfig;
use super::error::KafkaError;
use super::protocol::{self, API_VERSIONS, METADATA, PRODUCE, SASL_AUTHENTICATE, SASL_HANDSHAKE};
use crate::ReporterError;

/// Largest response accepted; a producer's responses are tiny, so more means garbage.
const MAX_RESPONSE_BYTES: usize = 16 * 1024 * 1024;

trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// Opens connections with the producer's settings; cheap to clone.
#[derive(Clone)]
pub struct Connector {
    config: Arc<KafkaConfig>,
    tls: Option<TlsConnector>,
}

impl std::fmt::Debug for Connector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connector").field("tls", &self.tls.is_some()).finish_non_exhaustive()
    }
}

impl Connector {
    /// Loads the TLS trust store now when `security_protocol` needs TLS.
    pub fn new(config: Arc<KafkaConfig>) -> Result<Self, ReporterError> {
        let tls = if config.security_protocol.tls() {
            Some(TlsConnector::from(crate::tls::client_config(config.ssl_cafile.as_deref(), &[])?))
        } else {
            None
        };
        Ok(Self { config, tls })
    }

    pub fn config(&self) -> &KafkaConfig {
        &self.config
    }

    /// Connects to `address` (`host:port`) and negotiates versions (and SASL), within the
    /// request deadline.
    pub async fn connect(&self, address: &str) -> Result<Connection, KafkaError> {
        let timeout = self.config.request_timeout;
        deadline(address, timeout, self.open(address)).await
    }

    async fn open(&self, address: &str) -> Result<Connection, KafkaError> {
        let (host, port) = split_address(address);
        let tcp = crate::connect::tcp(host, port).await?;
        let stream: Box<dyn Io> = match &self.tls {
            None => Box::new(tcp),
            Some(connector) => Box::new(crate::connect::tls(connector, host, tcp).await?),
        };
        let mut connection = Connection {
            address: address.to_owned(),
            client_id: self.config.client_id.clone(),
            stream,
            correlation_id: 0,
            produce_version: 0,
            metadata_version: 0,
            last_used: Instant::now(),
        };
        let offered = protocol::parse_api_versions(&connection.exchange(API_VERSIONS, 0, &[]).await?)?;
        connection.produce_version =
            protocol::choose_version(&offered, PRODUCE, "Produce", protocol::PRODUCE_VERSIONS)?;
        connection.metadata_version =
            protocol::choose_version(&offered, METADATA, "Metadata", protocol::METADATA_VERSIONS)?;
        if let Some(sasl) = self.config.sasl_plain.as_ref().filter(|_| self.config.security_protocol.sasl()) {
            protocol::choose_version(&offered, SASL_HANDSHAKE, "SaslHandshake", (1, 1))?;
            protocol::choose_version(&offered, SASL_AUTHENTICATE, "SaslAuthenticate", (0, 0))?;
            let handshake = connection.exchange(SASL_HANDSHAKE, 1, &protocol::sasl_handshake_request("PLAIN")).await?;
            protocol::parse_sasl_handshake(&handshake)?;
            let token = protocol::sasl_authenticate_plain(&sasl.username, &sasl.password);
            protocol::parse_sasl_authenticate(&connection.exchange(SASL_AUTHENTICATE, 0, &token).await?)?;
        }
        Ok(connection)
    }
}

/// `host:port`, `[v6]:port` or a bare host (Kafka's port 9092).
fn split_address(address: &str) -> (&str, u16) {
    let (host, port) = match address.rsplit_once(':') {
        Some((host, port)) if !host.ends_with(':') => (host, port.parse().unwrap_or(9092)),
        _ => (address, 9092),
    };
    (host.trim_start_matches('[').trim_end_matches(']'), port)
}

async fn deadline<T>(
    address: &str,
    timeout: Duration,
    work: impl Future<Output = Result<T, KafkaError>>,
) -> Result<T, KafkaError> {
    tokio::time::timeout(timeout, work)
        .await
        .unwrap_or_else(|_| Err(KafkaError::Timeout { address: address.to_owned(), timeout }))
}

/// An open, negotiated connection.
pub struct Connection {
    address: String,
    client_id: String,
    stream: Box<dyn Io>,
    correlation_id: i32,
    /// The Produce and Metadata versions both sides speak.
    pub produce_version: i16,
    pub metadata_version: i16,
    last_used: Instant,
}

impl Connection {
    /// How long the connection has gone unused.
    pub fn idle(&self) -> Duration {
        self.last_used.elapsed()
    }

    /// Sends a request and returns the response body, within `timeout`.
    pub async fn call(
        &mut self,
        api: i16,
        version: i16,
        body: &[u8],
        timeout: Duration,
    ) -> Result<Vec<u8>, KafkaError> {
        let address = self.address.clone();
        deadline(&address, timeout, self.exchange(api, version, body)).await
    }

    /// Sends a request the broker does not answer (Produce with `acks=0`), within `timeout`.
    pub async fn send_only(
        &mut self,
        api: i16,
        version: i16,
        body: &[u8],
        timeout: Duration,
    ) -> Result<(), KafkaError> {
        let address = self.address.clone();
        deadline(&address, timeout, self.write(api, version, body)).await.map(|_| ())
    }

    async fn write(&mut self, api: i16, version: i16, body: &[u8]) -> Result<i32, KafkaError> {
        self.correlation_id = self.correlation_id.wrapping_add(1);
        let request = protocol::frame(api, version, self.correlation_id, &self.client_id, body);
        self.stream.write_all(&request).await.map_err(|e| self.io_error(e))?;
        self.stream.flush().await.map_err(|e| self.io_error(e))?;
        self.last_used = Instant::now();
        Ok(self.correlation_id)
    }

    async fn exchange(&mut self, api: i16, version: i16, body: &[u8]) -> Result<Vec<u8>, KafkaError> {
        let correlation_id = self.write(api, version, body).await?;
        let size = self.stream.read_i32().await.map_err(|e| self.io_error(e))?;
        let size = usize::try_from(size).unwrap_or(0);
        if !(4..=MAX_RESPONSE_BYTES).contains(&size) {
            return Err(KafkaError::Malformed("response size out of range"));
        }
        let mut response = vec![0u8; size];
        self.stream.read_exact(&mut response).await.map_err(|e| self.io_error(e))?;
        if response[..4] != correlation_id.to_be_bytes() {
            return Err(KafkaError::Malformed("response to another request"));
        }
        self.last_used = Instant::now();
        response.drain(..4);
        Ok(response)
    }

    fn io_error(&self, source: std::io::Error) -> KafkaError {
        KafkaError::Io { address: self.address.clone(), source }
    }
}

#[cfg(test)]
mod tests {
    use super::split_address;

    #[test]
    fn addresses_split_into_host_and_port() {
        assert_eq!(split_address("kafka:9093"), ("kafka", 9093));
        assert_eq!(split_address("kafka"), ("kafka", 9092));
        assert_eq!(split_address("[::1]:9094"), ("::1", 9094));
        assert_eq!(split_address("127.0.0.1:x"), ("127.0.0.1", 9092));
    }
}
