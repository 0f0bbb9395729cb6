//! Database and cache exit spans in one native call each (`plugins/_db.py`, and the
//! plugins of the busiest drivers directly): the active context, the span, its layer and
//! tags (which and in what order: `sw_core::exit_tags`), and its start, for the `with` the
//! caller runs on it. A traced query or cache command thus costs one call into `_core` to
//! open and one (`__exit__`) to close.
//!
//! `tag_exit_span` records the layer and tags of a span opened otherwise.

use pyo3::prelude::*;
use pyo3::types::{PyByteArray, PyBytes, PyString, PyTuple};
use sw_core::exit_tags::{self, ExitTag};
use sw_core::segment::set_tag;
use sw_core::span_kind::Kind;
use sw_core::text::decode_utf8_or_latin1;
use sw_core::trace_context::Opening;
use sw_proto::v3::SpanLayer;

use crate::context;
use crate::guard::{guard_helper, Arg, Take};
use crate::span::{self, Span};

/// `_core.db_exit_span(op, peer, component, db_type, instance=None, statement=None,
/// parameters=None, statement_max_length=0, layer=Database)`: a database call's exit span,
/// opened in the active context, tagged (`sw_core::exit_tags::database`) and started for
/// the `with` (or `__enter__()`) that must follow. Values may be text, bytes (decoded:
/// UTF-8, else Latin-1) or anything `str()` accepts. Never raises: a failure is reported
/// once (`_common.failed`) and gives a `NoopSpan`, not started.
#[pyfunction]
#[pyo3(signature = (
    op, peer, component, db_type, instance = None, statement = None, parameters = None,
    statement_max_length = Arg::ok(0), layer = Arg::ok(SpanLayer::Database as i32)
))]
#[allow(clippy::too_many_arguments)]
pub fn db_exit_span<'py>(
    py: Python<'py>,
    op: Arg<String>,
    peer: Arg<String>,
    component: Arg<i32>,
    db_type: &Bound<'py, PyAny>,
    instance: Option<&Bound<'py, PyAny>>,
    statement: Option<&Bound<'py, PyAny>>,
    parameters: Option<&Bound<'py, PyAny>>,
    statement_max_length: Arg<i64>,
    layer: Arg<i32>,
) -> PyResult<Bound<'py, Span>> {
    guard_helper(
        py,
        "db_exit_span",
        || context::noop_span(py, Kind::Exit, String::new()),
        || {
            let (op, peer, component) = (op.take("op")?, peer.take("peer")?, component.take("component")?);
            let max_length = usize::try_from(statement_max_length.take("statement_max_length")?).unwrap_or(0);
            let layer = layer.take("layer")?;
            open_exit(py, op, peer, component, layer, || {
                Ok(exit_tags::database(
                    text(db_type)?,
                    optional_text(instance)?,
                    optional_text(statement)?,
                    optional_text(parameters)?,
                    max_length,
                ))
            })
        },
    )
}

/// `_core.cache_exit_span(op, peer, component, cmd, key=None, cache_op=None,
/// cache_type='Redis', db_instance=None)`: a cache command's exit span, layer Cache, as
/// `db_exit_span` makes a database call's. Tagged as upstream's redis plugin does
/// (`cache.*`), or with `db_instance` as its aioredis plugin does (`db.*`).
#[pyfunction]
#[pyo3(signature = (op, peer, component, cmd, key = None, cache_op = None, cache_type = None, db_instance = None))]
#[allow(clippy::too_many_arguments)]
pub fn cache_exit_span<'py>(
    py: Python<'py>,
    op: Arg<String>,
    peer: Arg<String>,
    component: Arg<i32>,
    cmd: &Bound<'py, PyAny>,
    key: Option<&Bound<'py, PyAny>>,
    cache_op: Option<&Bound<'py, PyAny>>,
    cache_type: Option<&Bound<'py, PyAny>>,
    db_instance: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, Span>> {
    guard_helper(
        py,
        "cache_exit_span",
        || context::noop_span(py, Kind::Exit, String::new()),
        || {
            let (op, peer, component) = (op.take("op")?, peer.take("peer")?, component.take("component")?);
            open_exit(py, op, peer, component, SpanLayer::Cache as i32, || {
                let cache_type = optional_text(cache_type)?.unwrap_or_else(|| "Redis".to_owned());
                Ok(match optional_text(db_instance)? {
                    Some(instance) => exit_tags::cache_as_database(cache_type, instance, text(cmd)?),
                    None => exit_tags::cache(cache_type, optional_text(key)?, text(cmd)?, optional_text(cache_op)?),
                })
            })
        },
    )
}

/// Opens an exit span in the active context (as `get_context().new_exit_span(op, peer,
/// component)`), records `layer` and the tags `tags` gives (not asked of a no-op span), and
/// starts it ahead of the caller's `with`.
fn open_exit<'py>(
    py: Python<'py>,
    op: String,
    peer: String,
    component: i32,
    layer: i32,
    tags: impl FnOnce() -> PyResult<[ExitTag; 4]>,
) -> PyResult<Bound<'py, Span>> {
    let span =
        context::open_in_active(py, Opening { peer, component: Some(component), ..Opening::plain(Kind::Exit, op) })?;
    if !span.try_borrow()?.state.noop {
        let tags = tags()?;
        exit_tags::record(&mut span.try_borrow_mut()?.state, layer, tags);
    }
    span::start_ahead(&span)?;
    Ok(span)
}

/// The text of an optional value: `None` for a missing one or Python's None.
fn optional_text(value: Option<&Bound<'_, PyAny>>) -> PyResult<Option<String>> {
    match value {
        Some(value) if !value.is_none() => text(value).map(Some),
        _ => Ok(None),
    }
}

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
    record_tags(span.downcast::<Span>()?, layer, tags)
}

/// [`tag_exit_span`] for a span known to be one.
pub(crate) fn record_tags(span: &Bound<'_, Span>, layer: i32, tags: &Bound<'_, PyTuple>) -> PyResult<()> {
    if span.borrow().state.noop {
        return Ok(());
    }
    let mut pairs = Vec::with_capacity(tags.len() / 2);
    let mut items = tags.iter();
    while let (Some(key), Some(value)) = (items.next(), items.next()) {
        pairs.push((sw_core::tags::key(key.downcast::<PyString>()?.to_str()?), text(&value)?));
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
