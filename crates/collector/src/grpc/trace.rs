//! `TraceSegmentReportService`, served by hand instead of through the generated server so
//! that segments stay the bytes they arrived in: the store checks their framing and decodes
//! them only when read (see `segment_ring`), so ingest is a copy and a framing walk instead of
//! a full decode.

use std::convert::Infallible;
use std::task::{Context, Poll};

use bytes::Bytes;
use sw_proto::v3::Commands;
use tonic::body::Body;
use tonic::codegen::{http, Body as HttpBody, BoxFuture, Service, StdError};
use tonic::server::{ClientStreamingService, Grpc, NamedService, UnaryService};
use tonic::{Code, Request, Response, Status, Streaming};

use super::raw_codec::RawCodec;
use super::{empty, Receivers, MAX_MESSAGE_BYTES};
use crate::store::Kind;
use crate::wire::{self, Malformed};

const COLLECT: &str = "/skywalking.v3.TraceSegmentReportService/collect";
const COLLECT_IN_SYNC: &str = "/skywalking.v3.TraceSegmentReportService/collectInSync";
/// `SegmentCollection.segments`.
const COLLECTION_SEGMENTS_FIELD: u32 = 1;

/// The segment receiver, ready to add to the collector's routes.
#[derive(Debug, Clone)]
pub struct TraceService(pub Receivers);

impl NamedService for TraceService {
    const NAME: &'static str = "skywalking.v3.TraceSegmentReportService";
}

impl<B> Service<http::Request<B>> for TraceService
where
    B: HttpBody + Send + 'static,
    B::Error: Into<StdError> + Send + 'static,
{
    type Response = http::Response<Body>;
    type Error = Infallible;
    type Future = BoxFuture<Self::Response, Self::Error>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let receivers = self.0.clone();
        let grpc = || Grpc::new(RawCodec).apply_max_message_size_config(Some(MAX_MESSAGE_BYTES), None);
        match request.uri().path() {
            COLLECT => Box::pin(async move { Ok(grpc().client_streaming(Collect(receivers), request).await) }),
            COLLECT_IN_SYNC => Box::pin(async move { Ok(grpc().unary(CollectInSync(receivers), request).await) }),
            _ => Box::pin(async { Ok(Status::unimplemented("no such method").into_http()) }),
        }
    }
}

/// `collect`: a client stream of segments.
struct Collect(Receivers);

impl ClientStreamingService<Bytes> for Collect {
    type Response = Commands;
    type Future = BoxFuture<Response<Commands>, Status>;

    fn call(&mut self, request: Request<Streaming<Bytes>>) -> Self::Future {
        let receivers = self.0.clone();
        Box::pin(async move {
            let mut stream = request.into_inner();
            loop {
                match stream.message().await {
                    // A broken segment ends the stream, as a decode error would; those before it stay.
                    Ok(Some(segment)) => receivers.store.add_grpc_segment(segment).map_err(|f| receivers.refuse(f))?,
                    Ok(None) => return Ok(empty()),
                    Err(status) => return Err(receivers.stream_failed(Kind::Segment, status)),
                }
            }
        })
    }
}

/// `collectInSync`: a batch of segments in one `SegmentCollection`.
struct CollectInSync(Receivers);

impl UnaryService<Bytes> for CollectInSync {
    type Response = Commands;
    type Future = BoxFuture<Response<Commands>, Status>;

    fn call(&mut self, request: Request<Bytes>) -> Self::Future {
        let receivers = self.0.clone();
        Box::pin(async move {
            let collection = request.into_inner();
            for field in wire::fields(&collection) {
                let field = field.map_err(|fault| receivers.refuse(fault))?;
                if let (COLLECTION_SEGMENTS_FIELD, Some(segment)) = (field.number, field.bytes) {
                    // A copy: a slice would pin the whole collection for as long as one
                    // of its segments is held.
                    let segment = Bytes::copy_from_slice(segment);
                    receivers.store.add_grpc_segment(segment).map_err(|fault| receivers.refuse(fault))?;
                }
            }
            Ok(empty())
        })
    }
}

impl Receivers {
    /// Counts a malformed segment message and says why, as the decode error it replaces would.
    fn refuse(&self, fault: Malformed) -> Status {
        self.store.reject(Kind::Segment);
        log::warn!("segment refused: {fault}");
        Status::new(Code::InvalidArgument, format!("malformed segment: {fault}"))
    }
}
