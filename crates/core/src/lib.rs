//! The tracing core of skywalking-rs: ids, header codecs, sampling, ignore rules, the
//! segment model and the rules of a trace (`trace_context`). Plain Rust: nothing here knows about Python or the network.

pub mod correlation;
pub mod encoded;
pub mod exit_tags;
pub mod http_url;
pub mod ids;
pub mod ignore;
pub mod meter;
pub mod open_segments;
pub mod sampler;
pub mod segment;
pub mod span;
pub mod span_data;
mod span_encoding;
pub mod span_kind;
pub mod sw8;
pub mod tags;
pub mod text;
pub mod trace_context;
