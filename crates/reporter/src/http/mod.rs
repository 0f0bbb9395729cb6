//! `agent_protocol=http`: OAP's JSON endpoints instead of gRPC.
//!
//! Segments go in batches to `POST /v3/segments`; instance properties and keepAlive to
//! `/v3/management/*` on the gRPC cadence. OAP has no HTTP endpoint for profiling, so, as
//! with the Python agent, profile tasks are not polled and snapshots are dropped (counted as
//! lost). Queues, counters, flush and shutdown behave as with gRPC.

mod client;
mod json;
mod management;
mod sender;
pub(crate) mod target;

use std::sync::Arc;
use std::thread::JoinHandle;

use tokio::runtime::Runtime;
use tokio::sync::watch;

use crate::inbox::{Link, SegmentInbox};
use crate::{Counters, Queues, ReporterConfig, ReporterError};

/// Checks the backend address (and loads TLS roots for HTTPS), then starts the reporter
/// thread running the HTTP senders on `runtime`.
pub fn spawn(
    runtime: Runtime,
    config: ReporterConfig,
    counters: Arc<Counters>,
    queues: Queues,
    stop: watch::Receiver<bool>,
    profiling_requested: bool,
) -> Result<JoinHandle<()>, ReporterError> {
    let target = target::parse(&config.backend, config.force_tls)
        .map_err(|reason| ReporterError::InvalidBackend { address: config.backend.clone(), reason })?;
    let connector = client::Connector::new(target)?;
    log::debug!("reporting over HTTP to {}", connector.target().url());
    if profiling_requested && config.profile_active {
        log::warn!("profiling is not available with agent_protocol=http (OAP has no HTTP endpoint for it)");
    }
    let thread = std::thread::Builder::new().name("skywalking-reporter".into()).spawn(move || {
        runtime.block_on(async move {
            let timeout = config.call_timeout;
            let management = tokio::spawn(crate::management::run(
                client::HttpClient::new(connector.clone(), timeout),
                config.clone(),
                counters.clone(),
                stop,
            ));
            let profiling =
                tokio::spawn(crate::profile::discard(queues.snapshots, queues.finishes, counters.clone(), "http"));
            let address = connector.target().socket_address();
            let link = Link::new("HTTP", config.backend.clone(), vec![address], timeout, counters);
            let inbox = SegmentInbox::new(queues.segments, queues.flushes);
            let client = client::HttpClient::new(connector, timeout);
            let sender = sender::SegmentSender::new(client, config, inbox, link);
            sender.run().await;
            management.abort();
            profiling.abort();
        });
    })?;
    Ok(thread)
}
