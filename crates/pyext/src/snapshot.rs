//! A captured position in a trace, carried to another thread (`@runnable`,
//! `continue_tracing()`) and continued there as a CrossThread reference.

use pyo3::prelude::*;

/// What `SpanContext.capture()` returns: `sw_core::trace_context::Snapshot`, readable.
#[pyclass(frozen, module = "skywalking._core")]
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub inner: sw_core::trace_context::Snapshot,
}

impl From<sw_core::trace_context::Snapshot> for Snapshot {
    fn from(inner: sw_core::trace_context::Snapshot) -> Self {
        Self { inner }
    }
}

#[pymethods]
impl Snapshot {
    #[getter]
    fn segment_id(&self) -> &str {
        &self.inner.segment_id
    }

    #[getter]
    fn span_id(&self) -> i32 {
        self.inner.span_id
    }

    #[getter]
    fn trace_id(&self) -> &str {
        &self.inner.trace_id
    }

    #[getter]
    fn endpoint(&self) -> &str {
        &self.inner.endpoint
    }

    #[getter]
    fn correlation(&self) -> Vec<(String, String)> {
        self.inner.correlation.clone()
    }

    /// True when the snapshot points at a real span of a real segment.
    pub fn is_valid(&self) -> bool {
        self.inner.is_valid()
    }

    fn __repr__(&self) -> String {
        let s = &self.inner;
        format!(
            "Snapshot(segment_id={:?}, span_id={}, trace_id={:?}, endpoint={:?})",
            s.segment_id, s.span_id, s.trace_id, s.endpoint
        )
    }
}
