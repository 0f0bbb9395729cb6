//! `ConfigurationDiscoveryService`: the local collector has no dynamic configuration, so
//! every sync answers "nothing changed" (empty `Commands`), as OAP does when the UUID matches.

use sw_proto::v3::configuration_discovery_service_server::ConfigurationDiscoveryService;
use sw_proto::v3::{Commands, ConfigurationSyncRequest};
use tonic::{Request, Response, Status};

use super::{empty, Receivers};

#[tonic::async_trait]
impl ConfigurationDiscoveryService for Receivers {
    async fn fetch_configurations(
        &self,
        _request: Request<ConfigurationSyncRequest>,
    ) -> Result<Response<Commands>, Status> {
        Ok(empty())
    }
}
