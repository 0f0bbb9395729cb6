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
mod target;

use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::thread::JoinHandle;

use sw_proto::v3::{SegmentObject, ThreadSnapshot};
use tokio::runtime::Runtime;
use tokio::sync::{mpsc, watch};

use crate::segments::FlushWaiter;
use crate::{Counters, ReporterConfig, ReporterError};

/// The receiving ends of the reporter's queues.
pub struct Queues {
    pub segments: mpsc::Receiver<SegmentObject>,
    pub flushes: mpsc::UnboundedReceiver<FlushWaiter>,
    pub snapshots: mpsc::Receiver<ThreadSnapshot>,
    pub finishes: mpsc::UnboundedReceiver<String>,
}

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
            let management = tokio::spawn(management::run(
                client::HttpClient::new(connector.clone(), timeout),
                config.clone(),
                counters.clone(),
                stop,
            ));
            let profiling = tokio::spawn(discard_profiling(queues.snapshots, queues.finishes, counters.clone()));
            let client = client::HttpClient::new(connector, timeout);
            sender::SegmentSender::new(client, config, counters, queues.segments, queues.flushes).run().await;
            management.abort();
            profiling.abort();
        });
    })?;
    Ok(thread)
}

/// Empties the profiling queues so producers never see them full for long; each snapshot
/// counts as lost, and the first one is worth a warning.
async fn discard_profiling(
    mut snapshots: mpsc::Receiver<ThreadSnapshot>,
    mut finishes: mpsc::UnboundedReceiver<String>,
    counters: Arc<Counters>,
) {
    let mut warned = false;
    loop {
        tokio::select! {
            Some(_) = snapshots.recv() => {
                counters.snapshots_lost_send_error.fetch_add(1, Relaxed);
                if !warned {
                    log::warn!("profile snapshots cannot be sent with agent_protocol=http; they are dropped and counted");
                    warned = true;
                }
            }
            Some(task_id) = finishes.recv() => {
                log::debug!("profile task {task_id} finished; not reported (no HTTP endpoint)");
            }
            else => return,
        }
    }
}
