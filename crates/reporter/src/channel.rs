//! The gRPC channel to the backend: lazy (the first call connects, and tonic reconnects
//! by itself after a failure), optionally TLS, and with the `authentication` metadata.

use std::time::Duration;

use tonic::metadata::AsciiMetadataValue;
use tonic::service::Interceptor;
use tonic::transport::{Channel, ClientTlsConfig, Endpoint};

use crate::{ReporterConfig, ReporterError};

/// Adds `authentication: <token>` to every call when a token is configured.
#[derive(Clone, Debug)]
pub struct Auth(Option<AsciiMetadataValue>);

impl Interceptor for Auth {
    fn call(&mut self, mut request: tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status> {
        if let Some(token) = &self.0 {
            request.metadata_mut().insert("authentication", token.clone());
        }
        Ok(request)
    }
}

/// Builds the lazily-connecting channel and the auth interceptor.
/// The `host:port` the reporter talks to: upstream accepts a comma-separated list and
/// uses its first address.
pub fn first_address(backend: &str) -> String {
    let address = backend.trim().trim_end_matches('/');
    address.split(',').next().unwrap_or_default().trim().to_owned()
}

pub fn connect(config: &ReporterConfig) -> Result<(Channel, Auth), ReporterError> {
    let scheme = if config.force_tls { "https" } else { "http" };
    let address = config.backend.trim().trim_end_matches('/');
    let invalid = |reason: String| ReporterError::InvalidBackend { address: config.backend.clone(), reason };
    let first = first_address(address);
    let mut endpoint = Endpoint::from_shared(format!("{scheme}://{first}"))
        .map_err(|e| invalid(e.to_string()))?
        .connect_timeout(Duration::from_secs(5))
        .tcp_nodelay(true)
        .keep_alive_while_idle(false)
        .http2_keep_alive_interval(Duration::from_secs(30))
        .keep_alive_timeout(Duration::from_secs(10));
    if config.force_tls {
        endpoint = endpoint
            .tls_config(ClientTlsConfig::new().with_native_roots())
            .map_err(|e| ReporterError::Tls(e.to_string()))?;
    }
    let token = match config.authentication.as_deref().filter(|t| !t.is_empty()) {
        Some(token) => Some(
            AsciiMetadataValue::try_from(token)
                .map_err(|_| invalid("authentication token must be printable ASCII".into()))?,
        ),
        None => None,
    };
    Ok((endpoint.connect_lazy(), Auth(token)))
}
