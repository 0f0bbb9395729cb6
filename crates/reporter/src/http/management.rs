//! Instance registration and liveness over HTTP: OAP's JSON management endpoints, on the
//! shared cadence (`crate::management`).

use sw_proto::v3::{InstancePingPkg, InstanceProperties};

use super::client::HttpClient;
use super::json;
use crate::management::ManagementLink;

const PROPERTIES_PATH: &str = "/v3/management/reportProperties";
const KEEP_ALIVE_PATH: &str = "/v3/management/keepAlive";

impl ManagementLink for HttpClient {
    async fn report_properties(&mut self, properties: InstanceProperties) -> Result<(), String> {
        self.post(PROPERTIES_PATH, json::instance_properties(&properties)).await.map_err(|e| e.to_string())
    }

    async fn keep_alive(&mut self, ping: InstancePingPkg) -> Result<(), String> {
        self.post(KEEP_ALIVE_PATH, json::ping(&ping)).await.map_err(|e| e.to_string())
    }
}
