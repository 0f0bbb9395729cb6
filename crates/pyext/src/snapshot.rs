//! A captured position in a trace, carried to another thread (`@runnable`,
//! `continue_tracing()`) and continued there as a CrossThread reference.

use pyo3::prelude::*;

/// What `SpanContext.capture()` returns.
#[pyclass(frozen, module = "skywalking._core")]
#[derive(Debug, Clone)]
pub struct Snapshot {
    #[pyo3(get)]
    pub segment_id: String,
    #[pyo3(get)]
    pub span_id: i32,
    #[pyo3(get)]
    pub trace_id: String,
    #[pyo3(get)]
    pub endpoint: String,
    #[pyo3(get)]
    pub correlation: Vec<(String, String)>,
}

#[pymethods]
impl Snapshot {
    /// True when the snapshot points at a real span of a real segment.
    pub fn is_valid(&self) -> bool {
        !self.segment_id.is_empty() && self.span_id >= 0 && !self.trace_id.is_empty()
    }

    fn __repr__(&self) -> String {
        format!(
            "Snapshot(segment_id={:?}, span_id={}, trace_id={:?}, endpoint={:?})",
            self.segment_id, self.span_id, self.trace_id, self.endpoint
        )
    }
}
