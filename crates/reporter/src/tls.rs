//! TLS client settings shared by the HTTP and Kafka transports (gRPC has tonic's own).

use std::path::Path;
use std::sync::Arc;

use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::CertificateDer;
use tokio_rustls::rustls::{ClientConfig, RootCertStore};

use crate::ReporterError;

/// A client configuration trusting the system's root certificates (or `SSL_CERT_FILE` /
/// `SSL_CERT_DIR`), or only those in `ca_file` when given; loaded at start, so a missing
/// trust store fails then and not on the first send.
pub fn client_config(ca_file: Option<&Path>, alpn: &[&[u8]]) -> Result<Arc<ClientConfig>, ReporterError> {
    let mut roots = RootCertStore::empty();
    let added = match ca_file {
        Some(path) => {
            let certs = CertificateDer::pem_file_iter(path)
                .and_then(Iterator::collect::<Result<Vec<_>, _>>)
                .map_err(|e| ReporterError::Tls(format!("cannot read CA certificates from {}: {e}", path.display())))?;
            roots.add_parsable_certificates(certs).0
        }
        None => {
            let found = rustls_native_certs::load_native_certs();
            for error in &found.errors {
                log::debug!("while loading root certificates: {error}");
            }
            roots.add_parsable_certificates(found.certs).0
        }
    };
    if added == 0 {
        return Err(ReporterError::Tls("no trusted root certificates found".into()));
    }
    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| ReporterError::Tls(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    Ok(Arc::new(config))
}
