//! Log records as a JSON array to `POST /v3/logs`, one request per batch (as upstream).

use sw_proto::v3::LogData;

use super::client::HttpClient;
use crate::logs::LogLink;

pub(crate) struct HttpLogs(pub HttpClient);

impl LogLink for HttpLogs {
    fn name(&self) -> &'static str {
        "HTTP"
    }

    async fn send(&mut self, batch: Vec<LogData>) -> Result<(), String> {
        self.0.post("/v3/logs", super::json::logs(&batch)).await.map_err(|e| e.to_string())
    }
}
