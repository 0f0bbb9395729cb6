//! `ConfigurationDiscoveryService`: hands out the settings set with `POST /api/configurations`
//! to agents whose UUID is out of date; "nothing changed" is an empty `Commands`, as OAP answers.

use sw_proto::v3::configuration_discovery_service_server::ConfigurationDiscoveryService;
use sw_proto::v3::{Commands, ConfigurationSyncRequest};
use tonic::{Request, Response, Status};

use super::Receivers;

#[tonic::async_trait]
impl ConfigurationDiscoveryService for Receivers {
    async fn fetch_configurations(
        &self,
        request: Request<ConfigurationSyncRequest>,
    ) -> Result<Response<Commands>, Status> {
        let sync = request.into_inner();
        Ok(Response::new(self.store.configs.sync(&sync.service, &sync.uuid)))
    }
}
