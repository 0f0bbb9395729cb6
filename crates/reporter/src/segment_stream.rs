//! `TraceSegmentReportService.collect` for segments that are already encoded.
//!
//! The generated client takes `SegmentObject`s and encodes them on the reporter thread;
//! segments arrive here as bytes (encoded where they finished, see
//! `sw_core::encoded`), so this client writes those bytes as the gRPC messages unchanged.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{BufMut, Bytes};
use sw_proto::v3::Commands;
use tokio::sync::mpsc;
use tokio_stream::Stream;
use tonic::codec::{Codec, EncodeBuf, Encoder};
use tonic::codegen::http::uri::PathAndQuery;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;
use tonic::{GrpcMethod, Status};
use tonic_prost::ProstCodec;

use crate::channel::Auth;
use crate::segment_queue::Segments;

const SERVICE: &str = "skywalking.v3.TraceSegmentReportService";
const PATH: &str = "/skywalking.v3.TraceSegmentReportService/collect";

/// A client of the segment stream, on the reporter's shared channel.
#[derive(Clone)]
pub struct SegmentStreamClient(tonic::client::Grpc<InterceptedService<Channel, Auth>>);

impl SegmentStreamClient {
    pub fn new(channel: Channel, auth: Auth) -> Self {
        Self(tonic::client::Grpc::new(InterceptedService::new(channel, auth)))
    }

    /// Opens a `collect` stream carrying `segments`; resolves when the backend answers.
    pub async fn collect(
        &mut self,
        mut request: tonic::Request<impl Stream<Item = Bytes> + Send + 'static>,
    ) -> Result<tonic::Response<Commands>, Status> {
        self.0.ready().await.map_err(|e| Status::unknown(format!("service was not ready: {e}")))?;
        request.extensions_mut().insert(GrpcMethod::new(SERVICE, "collect"));
        self.0.client_streaming(request, PathAndQuery::from_static(PATH), EncodedCodec).await
    }
}

/// Writes encoded segments as they are; reads the `Commands` answer with prost.
struct EncodedCodec;

impl Codec for EncodedCodec {
    type Encode = Bytes;
    type Decode = Commands;
    type Encoder = EncodedWriter;
    type Decoder = <ProstCodec<Commands, Commands> as Codec>::Decoder;

    fn encoder(&mut self) -> Self::Encoder {
        EncodedWriter
    }

    fn decoder(&mut self) -> Self::Decoder {
        ProstCodec::<Commands, Commands>::default().decoder()
    }
}

struct EncodedWriter;

impl Encoder for EncodedWriter {
    type Item = Bytes;
    type Error = Status;

    fn encode(&mut self, item: Bytes, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        dst.put_slice(&item);
        Ok(())
    }
}

/// The stream of a `collect` call: batches come from the sender through a channel, one
/// channel operation per batch, and go out segment by segment (one gRPC message each).
pub struct SegmentFrames {
    batches: mpsc::Receiver<Segments>,
    current: Segments,
}

impl SegmentFrames {
    pub fn new(batches: mpsc::Receiver<Segments>) -> Self {
        Self { batches, current: Segments::default() }
    }
}

impl Stream for SegmentFrames {
    type Item = Bytes;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Bytes>> {
        let this = self.get_mut();
        loop {
            if let Some(segment) = this.current.next() {
                return Poll::Ready(Some(segment));
            }
            match this.batches.poll_recv(cx) {
                Poll::Ready(Some(batch)) => this.current = batch,
                Poll::Ready(None) => return Poll::Ready(None),
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}
