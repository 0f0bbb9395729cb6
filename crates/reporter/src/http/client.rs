//! A small HTTP/1.1 client for OAP's JSON endpoints, on hyper's connection API.
//!
//! Each reporting task owns one client and so one connection (plain or TLS), kept alive
//! between requests and replaced when it breaks. Every request runs under one deadline that
//! covers connecting, the TLS handshake, sending and reading the answer.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::client::conn::http1::{self, SendRequest};
use hyper::header::{CONTENT_TYPE, HOST, USER_AGENT};
use hyper::Request;
use hyper_util::rt::TokioIo;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_rustls::rustls::pki_types::ServerName;
use tokio_rustls::TlsConnector;

use super::target::Target;
use crate::ReporterError;

/// OAP answers `{}`; anything longer is only read to keep the connection usable.
const MAX_RESPONSE_BYTES: usize = 64 * 1024;
/// A kept-alive connection idle for longer is not reused: OAP's HTTP server closes idle
/// connections after a while, and a request racing that close would be lost.
const MAX_IDLE: Duration = Duration::from_secs(15);
const AGENT: &str = concat!("skywalking-rs/", env!("CARGO_PKG_VERSION"));

/// Why a request failed; `Display` is one line.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// No connection (TCP or TLS).
    #[error(transparent)]
    Connect(#[from] crate::connect::ConnectError),
    /// The connection broke or the answer was not HTTP.
    #[error("HTTP exchange failed: {0}")]
    Http(String),
    /// The backend answered with a status other than 2xx.
    #[error("backend answered {status}: {body}")]
    Status {
        /// The HTTP status code.
        status: u16,
        /// The start of the answer's body.
        body: String,
    },
    /// The deadline passed.
    #[error("no answer within {0:?}")]
    Timeout(Duration),
}

impl From<hyper::Error> for SendError {
    fn from(e: hyper::Error) -> Self {
        // hyper's own message is terse ("connection error"); the cause says what happened.
        match std::error::Error::source(&e) {
            Some(cause) => Self::Http(format!("{e}: {cause}")),
            None => Self::Http(e.to_string()),
        }
    }
}

/// What every client of one reporter shares: the target and the TLS setup.
#[derive(Clone)]
pub struct Connector {
    target: Arc<Target>,
    tls: Option<TlsConnector>,
}

impl std::fmt::Debug for Connector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connector").field("target", &self.target).field("tls", &self.tls.is_some()).finish()
    }
}

impl Connector {
    /// Prepares connections to `target`; for HTTPS this loads the system's root certificates
    /// (or `SSL_CERT_FILE` / `SSL_CERT_DIR`), so a missing trust store fails at start.
    pub fn new(target: Target) -> Result<Self, ReporterError> {
        let tls = if target.tls {
            // Checked here so that a bad name fails at start, not at every connection.
            ServerName::try_from(target.host.clone()).map_err(|e| ReporterError::InvalidBackend {
                address: target.authority.clone(),
                reason: format!("not a valid TLS server name: {e}"),
            })?;
            Some(TlsConnector::from(crate::tls::client_config(None, &[b"http/1.1"])?))
        } else {
            None
        };
        Ok(Self { target: Arc::new(target), tls })
    }

    pub fn target(&self) -> &Target {
        &self.target
    }

    /// Opens a connection and starts hyper's task that drives it.
    async fn connect(&self) -> Result<Connection, SendError> {
        let tcp = crate::connect::tcp(&self.target.host, self.target.port).await?;
        match &self.tls {
            None => handshake(TokioIo::new(tcp)).await,
            Some(connector) => {
                handshake(TokioIo::new(crate::connect::tls(connector, &self.target.host, tcp).await?)).await
            }
        }
    }
}

async fn handshake<T>(io: T) -> Result<Connection, SendError>
where
    T: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let (sender, connection) = http1::handshake(io).await?;
    let task = tokio::spawn(async move {
        if let Err(e) = connection.await {
            log::debug!("HTTP connection to the backend ended: {e}");
        }
    });
    Ok(Connection { sender, task, idle_since: Instant::now() })
}

/// One open connection. Dropping it stops hyper's task, which closes the socket even when
/// a request is still waiting for a hung backend.
struct Connection {
    sender: SendRequest<Full<Bytes>>,
    task: JoinHandle<()>,
    idle_since: Instant,
}

impl Drop for Connection {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Posts JSON bodies to one backend.
pub struct HttpClient {
    connector: Connector,
    timeout: Duration,
    connection: Option<Connection>,
}

impl HttpClient {
    pub fn new(connector: Connector, timeout: Duration) -> Self {
        Self { connector, timeout, connection: None }
    }

    /// `POST {base}{path}` with a JSON body; Ok only for a 2xx answer within the deadline.
    pub async fn post(&mut self, path: &'static str, body: String) -> Result<(), SendError> {
        let result = tokio::time::timeout(self.timeout, self.exchange(path, Bytes::from(body))).await;
        // On failure the connection (taken out of `self` for the exchange) is already gone.
        result.unwrap_or(Err(SendError::Timeout(self.timeout)))
    }

    async fn exchange(&mut self, path: &'static str, body: Bytes) -> Result<(), SendError> {
        let target = self.connector.target();
        let request = Request::post(format!("{}{path}", target.base_path))
            .header(HOST, target.authority.as_str())
            .header(CONTENT_TYPE, "application/json")
            .header(USER_AGENT, AGENT)
            .body(Full::new(body))
            // The path was validated with the target; this is only a safety net.
            .map_err(|e| SendError::Http(format!("cannot build the request: {e}")))?;
        let kept = self.connection.take().filter(|c| c.idle_since.elapsed() < MAX_IDLE && !c.sender.is_closed());
        let reused = kept.is_some();
        let mut connection = match kept {
            Some(c) => c,
            None => self.connector.connect().await?,
        };
        let outcome = match connection.sender.ready().await {
            Ok(()) => connection.sender.try_send_request(request).await.map_err(|mut failed| {
                let unsent = failed.take_message();
                (SendError::from(failed.into_error()), unsent)
            }),
            Err(e) => Err((SendError::from(e), Some(request))),
        };
        let response = match outcome {
            Ok(response) => response,
            // A kept-alive connection closed before the request went out (the server's idle
            // timeout): nothing was sent, so a fresh connection may carry it.
            Err((_, Some(request))) if reused => {
                connection = self.connector.connect().await?;
                connection.sender.ready().await?;
                connection.sender.send_request(request).await?
            }
            Err((e, _)) => return Err(e),
        };
        let status = response.status();
        let answer = Limited::new(response.into_body(), MAX_RESPONSE_BYTES)
            .collect()
            .await
            .map_err(|e| SendError::Http(format!("reading the answer failed: {e}")))?
            .to_bytes();
        if !status.is_success() {
            // One line, short: it ends up in a log message.
            let text = String::from_utf8_lossy(&answer[..answer.len().min(200)]);
            let body = text.split_whitespace().collect::<Vec<_>>().join(" ");
            return Err(SendError::Status { status: status.as_u16(), body });
        }
        connection.idle_since = Instant::now();
        self.connection = Some(connection);
        Ok(())
    }
}
