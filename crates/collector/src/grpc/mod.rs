//! gRPC receivers for every service an agent calls, one file per service.
//!
//! All of them share one [`Receivers`] value that writes into the store. Every call answers
//! with an empty `Commands`, except `getProfileTaskCommands`, which hands out profile tasks.

mod cds;
mod event;
pub mod incoming;
mod log;
mod management;
mod meter;
mod profile;
mod raw_codec;
mod trace;

use std::sync::Arc;

use sw_proto::v3::configuration_discovery_service_server::ConfigurationDiscoveryServiceServer;
use sw_proto::v3::event_service_server::EventServiceServer;
use sw_proto::v3::log_report_service_server::LogReportServiceServer;
use sw_proto::v3::management_service_server::ManagementServiceServer;
use sw_proto::v3::meter_report_service_server::MeterReportServiceServer;
use sw_proto::v3::profile_task_server::ProfileTaskServer;
use sw_proto::v3::Commands;
use tonic::service::Routes;
use tonic::{Code, Response, Status, Streaming};

use crate::store::{Kind, Store};

/// Largest message accepted from an agent; matches gRPC's usual default.
pub const MAX_MESSAGE_BYTES: usize = 4 * 1024 * 1024;

/// The receivers' shared state.
#[derive(Debug, Clone)]
pub struct Receivers {
    store: Arc<Store>,
}

impl Receivers {
    /// Receivers that record into `store`.
    pub fn new(store: Arc<Store>) -> Self {
        Self { store }
    }

    /// Reads a client stream to its end, handing each message to `each`. A broken or
    /// malformed stream is counted as rejected for `kind` and its status returned; the
    /// messages before the fault stay recorded, as they would at OAP.
    async fn drain<T>(
        &self,
        mut stream: Streaming<T>,
        kind: Kind,
        mut each: impl FnMut(T),
    ) -> Result<Response<Commands>, Status> {
        loop {
            match stream.message().await {
                Ok(Some(message)) => each(message),
                Ok(None) => return Ok(empty()),
                Err(status) => return Err(self.stream_failed(kind, status)),
            }
        }
    }

    /// Counts a stream that failed with malformed data as rejected, logs why, and hands the
    /// status back. A stream the agent abandoned (cancelled, connection closed) is not bad
    /// data, so not counted.
    fn stream_failed(&self, kind: Kind, status: Status) -> Status {
        if is_malformed(&status) {
            self.store.reject(kind);
            ::log::warn!("{kind:?} stream rejected: {}", status.message());
        } else {
            ::log::debug!("{kind:?} stream ended early: {}", status.message());
        }
        status
    }
}

/// Whether a stream error means the client sent bad data (undecodable or oversized
/// messages), as opposed to the client or the connection going away.
fn is_malformed(status: &Status) -> bool {
    matches!(status.code(), Code::Internal | Code::OutOfRange | Code::InvalidArgument | Code::ResourceExhausted)
}

/// The reply to every report: no commands.
fn empty() -> Response<Commands> {
    Response::new(Commands::default())
}

/// Every gRPC service of the collector, ready to serve.
pub fn routes(store: Arc<Store>) -> Routes {
    let r = Receivers::new(store);
    Routes::new(trace::TraceService(r.clone()))
        .add_service(ManagementServiceServer::new(r.clone()).max_decoding_message_size(MAX_MESSAGE_BYTES))
        .add_service(ProfileTaskServer::new(r.clone()).max_decoding_message_size(MAX_MESSAGE_BYTES))
        .add_service(LogReportServiceServer::new(r.clone()).max_decoding_message_size(MAX_MESSAGE_BYTES))
        .add_service(MeterReportServiceServer::new(r.clone()).max_decoding_message_size(MAX_MESSAGE_BYTES))
        .add_service(ConfigurationDiscoveryServiceServer::new(r.clone()).max_decoding_message_size(MAX_MESSAGE_BYTES))
        .add_service(EventServiceServer::new(r).max_decoding_message_size(MAX_MESSAGE_BYTES))
}
