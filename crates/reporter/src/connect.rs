//! Opening a connection to a backend or broker: TCP, then TLS when asked for. The HTTP
//! reporter and the Kafka producer both open their connections here, so a refused
//! connection or a failed handshake reads the same in every log line.

use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_rustls::rustls::pki_types::ServerName;
use tokio_rustls::TlsConnector;

/// Why a connection could not be opened; `Display` is one line.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// No TCP connection.
    #[error("cannot connect to {address}: {source}")]
    Tcp {
        /// `host:port`.
        address: String,
        /// The operating system's reason.
        source: std::io::Error,
    },
    /// The TLS handshake failed (certificate not trusted, wrong name, no common protocol).
    #[error("TLS handshake with {host} failed: {source}")]
    Tls {
        /// The server name checked against the certificate.
        host: String,
        /// rustls's reason.
        source: std::io::Error,
    },
}

/// A TCP connection to `host:port`, with Nagle's algorithm off: requests are written
/// whole, and waiting for more bytes only adds latency.
pub async fn tcp(host: &str, port: u16) -> Result<TcpStream, ConnectError> {
    let stream = TcpStream::connect((host, port))
        .await
        .map_err(|source| ConnectError::Tcp { address: format!("{host}:{port}"), source })?;
    let _ = stream.set_nodelay(true);
    Ok(stream)
}

/// TLS over `tcp`, the server's certificate checked for `host`.
pub async fn tls(connector: &TlsConnector, host: &str, tcp: TcpStream) -> Result<TlsStream<TcpStream>, ConnectError> {
    let tls_error = |source| ConnectError::Tls { host: host.to_owned(), source };
    let name = ServerName::try_from(host.to_owned())
        .map_err(|e| tls_error(std::io::Error::new(std::io::ErrorKind::InvalidInput, e)))?;
    connector.connect(name, tcp).await.map_err(tls_error)
}
