//! The tracing core of skywalking-rs: ids, header codecs, sampling, ignore rules and the
//! segment model. Plain Rust: nothing here knows about Python or the network.

pub mod correlation;
pub mod encoded;
pub mod http_url;
pub mod ids;
pub mod ignore;
pub mod sampler;
pub mod segment;
mod span_encoding;
pub mod sw8;
pub mod text;
