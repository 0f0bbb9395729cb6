//! The ids of the active span, for log records: the one place the log reporter reads the
//! tracing state (which lives in `context.rs` and `span.rs`).

use pyo3::prelude::*;

use crate::active;

/// Trace id, segment id, span id and primary endpoint of the span active in the current
/// context; `None` outside a span or inside one that records nothing (ignored, unsampled).
pub struct ActiveIds {
    pub trace_id: String,
    pub segment_id: String,
    pub span_id: i32,
    pub endpoint: String,
}

pub fn active_ids(py: Python<'_>) -> Option<ActiveIds> {
    // A task may outlive the span it was created under: the innermost running span counts.
    let mut node = active::get(py)?;
    for _ in 0..256 {
        let prev = {
            let span = node.try_borrow().ok()?;
            if !span.state.finished {
                break;
            }
            span.prev.as_ref()?.clone_ref(py).into_bound(py)
        };
        node = prev;
    }
    let span = node.try_borrow().ok()?;
    if span.state.noop || span.state.finished {
        return None;
    }
    let context = span.context.bind(py).try_borrow().ok()?;
    let (trace_id, segment_id) = context.core.id_refs();
    if trace_id.is_empty() {
        return None;
    }
    Some(ActiveIds {
        trace_id: trace_id.to_owned(),
        segment_id: segment_id.to_owned(),
        span_id: span.state.data.span_id,
        endpoint: context.core.primary_endpoint().unwrap_or_default().to_owned(),
    })
}
