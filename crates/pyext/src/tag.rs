//! `TagBase`, the native base of `skywalking.trace.tags.Tag`.
//!
//! A tag object is made on every traced call (`span.tag(TagHttpURL(url))`). Made by a
//! Python `__init__`, it costs a Python frame, about as much as the rest of `tag()`;
//! here its constructor turns the value into text once, kept as a Rust string that
//! `Span.tag` copies without an attribute lookup. The Python `Tag` keeps an `__init__` for
//! subclasses whose own `__init__` calls `super().__init__(val)`, and gives every other
//! subclass `object.__init__`, so that building one runs no Python code (see `tags.py`).

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyInt, PyString, PyTuple};

#[pyclass(subclass, module = "skywalking._core")]
pub struct TagBase {
    /// `str(val)` of the value the tag was made with.
    pub val: String,
}

#[pymethods]
impl TagBase {
    /// `Tag(val)`. Further arguments belong to a subclass's own `__init__`, which runs next.
    #[new]
    #[pyo3(signature = (*args, **_kwargs))]
    fn py_new(args: &Bound<'_, PyTuple>, _kwargs: Option<&Bound<'_, PyDict>>) -> Self {
        let val = match args.get_borrowed_item(0) {
            Ok(value) => value_text(&value),
            Err(_) => String::new(),
        };
        Self { val }
    }

    /// The value, always a str.
    #[getter]
    fn val(&self) -> &str {
        &self.val
    }

    /// Stores `str(value)`; None stores "" (as `span.tag` records a None value).
    #[setter]
    fn set_val(&mut self, value: &Bound<'_, PyAny>) {
        self.val = if value.is_none() { String::new() } else { value_text(value) };
    }
}

/// `str(val)` as a tag stores it: what `Tag.__init__` uses.
#[pyfunction]
pub fn tag_text(val: &Bound<'_, PyAny>) -> String {
    value_text(val)
}

/// `str(value)`, as upstream's `Tag.__init__`; a value whose `__str__` raises becomes
/// `<unprintable TYPE>` instead of taking the application's call down with it.
pub fn value_text(value: &Bound<'_, PyAny>) -> String {
    if let Ok(text) = value.downcast_exact::<PyString>() {
        return text.to_string_lossy().into_owned();
    }
    if value.is_exact_instance_of::<PyInt>() {
        // Status codes, counts, ids: written here, not through int.__str__ and a new str.
        if let Ok(number) = value.extract::<i64>() {
            return itoa::Buffer::new().format(number).to_owned();
        }
    }
    match value.str() {
        Ok(text) => text.to_string_lossy().into_owned(),
        Err(_) => {
            let type_name = value.get_type().name().map(|n| n.to_string()).unwrap_or_default();
            format!("<unprintable {type_name}>")
        }
    }
}
