//! A gRPC codec that hands each received message over as its bytes, unparsed, and writes the
//! `Commands` answer with prost. The segment receiver uses it to keep segments encoded.

use bytes::{Buf, Bytes};
use prost::Message;
use sw_proto::v3::Commands;
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::Status;

/// Receives raw message bytes; answers `Commands`.
#[derive(Debug, Default)]
pub struct RawCodec;

impl Codec for RawCodec {
    type Encode = Commands;
    type Decode = Bytes;
    type Encoder = CommandsEncoder;
    type Decoder = RawDecoder;

    fn encoder(&mut self) -> Self::Encoder {
        CommandsEncoder
    }

    fn decoder(&mut self) -> Self::Decoder {
        RawDecoder
    }
}

/// Encodes the answer with prost.
#[derive(Debug)]
pub struct CommandsEncoder;

impl Encoder for CommandsEncoder {
    type Item = Commands;
    type Error = Status;

    fn encode(&mut self, item: Commands, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        item.encode(dst).map_err(|e| Status::internal(format!("cannot encode the reply: {e}")))
    }
}

/// Copies each message out of the receive buffer.
#[derive(Debug)]
pub struct RawDecoder;

impl Decoder for RawDecoder {
    type Item = Bytes;
    type Error = Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Bytes>, Status> {
        // A copy, not `copy_to_bytes`: that would share the stream's receive buffer, and one
        // small message kept for hours would pin a buffer sized for the largest one.
        let mut copy = Vec::with_capacity(src.remaining());
        while src.has_remaining() {
            let chunk = src.chunk();
            copy.extend_from_slice(chunk);
            let read = chunk.len();
            src.advance(read);
        }
        Ok(Some(copy.into()))
    }
}
