//! `LogReportService`: log records, kept with the service each one names (as the mock
//! collector does, without OAP's carry-over from the first element).

use sw_proto::v3::log_report_service_server::LogReportService;
use sw_proto::v3::{Commands, LogData};
use tonic::{Request, Response, Status, Streaming};

use super::Receivers;
use crate::store::Kind;

#[tonic::async_trait]
impl LogReportService for Receivers {
    async fn collect(&self, request: Request<Streaming<LogData>>) -> Result<Response<Commands>, Status> {
        self.drain(request.into_inner(), Kind::Log, |log| self.store.add_log(log)).await
    }
}
