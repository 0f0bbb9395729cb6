//! `ManagementService`: instance properties and keepAlive pings.

use sw_proto::v3::management_service_server::ManagementService;
use sw_proto::v3::{Commands, InstancePingPkg, InstanceProperties};
use tonic::{Request, Response, Status};

use super::{empty, Receivers};
use crate::now_ms;
use crate::store::TooLarge;

fn too_large(e: TooLarge) -> Status {
    Status::invalid_argument(e.to_string())
}

#[tonic::async_trait]
impl ManagementService for Receivers {
    async fn report_instance_properties(
        &self,
        request: Request<InstanceProperties>,
    ) -> Result<Response<Commands>, Status> {
        self.store.report_properties(request.into_inner(), now_ms()).map_err(too_large)?;
        Ok(empty())
    }

    async fn keep_alive(&self, request: Request<InstancePingPkg>) -> Result<Response<Commands>, Status> {
        self.store.keep_alive(request.into_inner(), now_ms()).map_err(too_large)?;
        Ok(empty())
    }
}
