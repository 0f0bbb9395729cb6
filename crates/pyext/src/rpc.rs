//! RPC client exit spans in one native call (sw_grpc): the active context, the span, its
//! layer and tags, its start, and the trace headers the call carries in its metadata.
//! Opened as five calls (`get_context`, `new_exit_span`, `tag_exit_span`, `inject_headers`,
//! `start`), each paid its own way into `_core` and out on every gRPC call; on a busy host
//! much of what a request path costs is the distinct code it runs, not its instructions
//! (docs/Benchmarks.md, W6).

use pyo3::prelude::*;
use pyo3::types::PyTuple;
use sw_core::span_kind::Kind;
use sw_core::trace_context::Opening;

use crate::context;
use crate::db::record_tags;
use crate::guard::{guard_helper, Arg, Take};
use crate::span::{self, Span};

/// The pairs [`rpc_exit_span`] returns: `(name, value)` of each trace header to send.
type HeaderPairs = Vec<(&'static str, String)>;

/// `_core.rpc_exit_span(op, peer, component, layer, tags)`: ``(span, [(name, value), ...])``,
/// the call's exit span opened in the active context (as `get_context().new_exit_span`),
/// with `layer` and the text tags `tags` (a flat tuple ``(key, value, key, value, ...)``),
/// started ahead of the caller's `with` (or `start()`), and the trace headers to send as
/// `Span.inject_headers()` gives them (a no-op span's suppressing `sw8` included). Never
/// raises: a failure is reported once (`_common.failed`) and gives a `NoopSpan`, not
/// started, and no headers.
#[pyfunction]
pub fn rpc_exit_span<'py>(
    py: Python<'py>,
    op: Arg<String>,
    peer: Arg<String>,
    component: Arg<i32>,
    layer: Arg<i32>,
    tags: Arg<Bound<'py, PyTuple>>,
) -> PyResult<(Bound<'py, Span>, HeaderPairs)> {
    guard_helper(
        py,
        "rpc_exit_span",
        || Ok((context::noop_span(py, Kind::Exit, String::new())?, Vec::new())),
        || {
            let (op, peer, component) = (op.take("op")?, peer.take("peer")?, component.take("component")?);
            let (layer, tags) = (layer.take("layer")?, tags.take("tags")?);
            let span = context::open_in_active(
                py,
                Opening { peer, component: Some(component), ..Opening::plain(Kind::Exit, op) },
            )?;
            record_tags(&span, layer, &tags)?;
            // An exit span opened under another exit span is that one's own (a no-op or
            // the outer span): its headers are the ones that go, as inject_headers' would.
            let pairs = span::header_pairs(&span)?.unwrap_or_default();
            span::start_ahead(&span)?;
            Ok((span, pairs))
        },
    )
}
