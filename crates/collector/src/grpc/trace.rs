//! `TraceSegmentReportService`: segments, streamed or in one collection.

use sw_proto::v3::trace_segment_report_service_server::TraceSegmentReportService;
use sw_proto::v3::{Commands, SegmentCollection, SegmentObject};
use tonic::{Request, Response, Status, Streaming};

use super::{empty, Receivers};
use crate::store::Kind;

#[tonic::async_trait]
impl TraceSegmentReportService for Receivers {
    async fn collect(&self, request: Request<Streaming<SegmentObject>>) -> Result<Response<Commands>, Status> {
        self.drain(request.into_inner(), Kind::Segment, |segment| {
            self.store.add_grpc_segment(segment);
        })
        .await
    }

    async fn collect_in_sync(&self, request: Request<SegmentCollection>) -> Result<Response<Commands>, Status> {
        for segment in request.into_inner().segments {
            self.store.add_grpc_segment(segment);
        }
        Ok(empty())
    }
}
