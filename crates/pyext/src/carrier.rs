//! Header values in and out: reading a Python `Carrier`, building one for `inject()`,
//! and decoding helpers the Python `Carrier` class uses for its compatibility properties.

use pyo3::prelude::*;
use pyo3::pybacked::PyBackedStr;
use pyo3::sync::GILOnceCell;
use pyo3::types::PyTuple;
use pyo3::{intern, IntoPyObjectExt};
use sw_core::sw8::{self, Incoming};

use crate::guard::{guard, site, Arg, Take};

static MAKE_CARRIER: GILOnceCell<Py<PyAny>> = GILOnceCell::new();

/// Builds a `skywalking.trace.carrier.Carrier` holding the two outgoing header values.
pub fn make_carrier(py: Python<'_>, sw8: String, correlation: String) -> PyResult<PyObject> {
    let make = MAKE_CARRIER
        .get_or_try_init(py, || py.import("skywalking.trace.carrier")?.getattr("_from_headers").map(Bound::unbind))?;
    make.call1(py, (sw8, correlation))
}

/// The raw `sw8` and `sw8-correlation` values a Carrier holds (empty when unset).
pub fn read_carrier(carrier: &Bound<'_, PyAny>) -> (String, String) {
    let py = carrier.py();
    let sw8 = carrier
        .getattr(intern!(py, "val"))
        .and_then(|v| v.extract::<Option<String>>())
        .ok()
        .flatten()
        .unwrap_or_default();
    let correlation = carrier
        .getattr(intern!(py, "correlation_carrier"))
        .and_then(|c| c.getattr(intern!(py, "val")))
        .and_then(|v| v.extract::<Option<String>>())
        .ok()
        .flatten()
        .unwrap_or_default();
    (sw8, correlation)
}

/// Decodes an `sw8` value: `None` when absent or malformed, `"suppressed"` for upstream's
/// not-traced marker, else the tuple (trace_id, segment_id, span_id, service, instance,
/// endpoint, client_address).
#[pyfunction]
pub fn decode_sw8(py: Python<'_>, value: Arg<PyBackedStr>) -> PyResult<PyObject> {
    guard(site!("decode_sw8"), || Ok(py.None()), || sw8_fields(py, &value.take("value")?))
}

fn sw8_fields(py: Python<'_>, value: &str) -> PyResult<PyObject> {
    match sw8::decode_header(value) {
        Incoming::Valid(s) => PyTuple::new(
            py,
            [
                s.trace_id.into_py_any(py)?,
                s.parent_segment_id.into_py_any(py)?,
                s.parent_span_id.into_py_any(py)?,
                s.parent_service.into_py_any(py)?,
                s.parent_service_instance.into_py_any(py)?,
                s.parent_endpoint.into_py_any(py)?,
                s.address_used_at_client.into_py_any(py)?,
            ],
        )?
        .into_py_any(py),
        Incoming::Suppressed => "suppressed".into_py_any(py),
        Incoming::Absent | Incoming::Malformed(_) => Ok(py.None()),
    }
}

/// Decodes an `sw8-correlation` value into key/value pairs with the given limits.
#[pyfunction]
#[pyo3(
    signature = (value, max_elements = Arg::ok(3), max_value_len = Arg::ok(128)),
    text_signature = "(value, max_elements=3, max_value_len=128)"
)]
pub fn decode_correlation(
    value: Arg<PyBackedStr>,
    max_elements: Arg<usize>,
    max_value_len: Arg<usize>,
) -> PyResult<Vec<(String, String)>> {
    guard(
        site!("decode_correlation"),
        || Ok(Vec::new()),
        || {
            let (value, max_elements) = (value.take("value")?, max_elements.take("max_elements")?);
            Ok(sw_core::correlation::decode(&value, max_elements, max_value_len.take("max_value_len")?))
        },
    )
}
