//! The tags of database and cache exit spans, recorded in one call (`plugins/_db.py`): a
//! query's span gets its layer and four or five tags, and one call instead of six keeps the
//! agent's share of a traced query small.

use pyo3::prelude::*;
use pyo3::types::{PyByteArray, PyBytes, PyString, PyTuple};
use sw_core::segment::set_tag;
use sw_core::text::decode_utf8_or_latin1;

use crate::span::Span;

/// The tag that upstream appends rather than replaces (`TagDbSqlParameters.overridable`).
const SQL_PARAMETERS: &str = "db.sql.parameters";

/// Sets `span`'s layer and records `tags`, a flat tuple ``(key, value, key, value, ...)``.
/// A value may be text, bytes (decoded: UTF-8, else Latin-1) or anything `str()` accepts.
/// Does nothing on a no-op span.
///
/// Not guarded, unlike the other request-path functions: it is a part of `_db`'s helpers,
/// which call it inside their own `try` and answer a failure (a statement whose `str()`
/// raises, a wrong type) with a `NoopSpan` and one warning, the rule of every helper.
#[pyfunction]
pub fn tag_exit_span(span: &Bound<'_, PyAny>, layer: i32, tags: &Bound<'_, PyTuple>) -> PyResult<()> {
    let span = span.downcast::<Span>()?;
    if span.borrow().state.noop {
        return Ok(());
    }
    let mut pairs = Vec::with_capacity(tags.len() / 2);
    let mut items = tags.iter();
    while let (Some(key), Some(value)) = (items.next(), items.next()) {
        pairs.push((key.downcast::<PyString>()?.to_str()?.to_owned(), text(&value)?));
    }
    let mut span = span.try_borrow_mut()?;
    span.state.data.span_layer = layer;
    for (key, value) in pairs {
        let overridable = key != SQL_PARAMETERS;
        set_tag(&mut span.state.data, key, value, overridable);
    }
    Ok(())
}

fn text(value: &Bound<'_, PyAny>) -> PyResult<String> {
    if let Ok(text) = value.downcast_exact::<PyString>() {
        return Ok(text.to_str()?.to_owned());
    }
    if let Ok(bytes) = value.downcast::<PyBytes>() {
        return Ok(decode_utf8_or_latin1(bytes.as_bytes()));
    }
    if let Ok(bytes) = value.downcast::<PyByteArray>() {
        return Ok(decode_utf8_or_latin1(&bytes.to_vec()));
    }
    Ok(value.str()?.to_str()?.to_owned())
}
