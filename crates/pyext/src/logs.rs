//! `logging.Logger.handle`, intercepted (see `skywalking/log/__init__.py`): every record gets
//! the active trace's ids as attributes before the application's handlers see it, and
//! records at or above `agent_log_reporter_level` are captured for the log reporter.
//!
//! Only what needs the record happens here, on the application thread: reading the
//! attributes the layout prints, the message, and a traceback if there is one. Rendering
//! the layout, safe mode, encoding and sending happen on the reporter thread.

use std::sync::{Arc, PoisonError, RwLock};

use pyo3::exceptions::PyTypeError;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyFloat, PyInt, PyString};
use sw_reporter::{Layout, LogRecord, LogText, LogValue};

use crate::agent;
use crate::guard::{guard, site, Arg, Take};
use crate::trace_ids::{active_ids, ActiveIds};

/// The agent's own loggers, never reported (upstream's list).
const AGENT_LOGGERS: [&str; 3] = ["skywalking", "skywalking-cli", "skywalking-loader"];
/// `%(tid)s` outside a trace.
const NO_TRACE: &str = "N/A";

/// Where a layout field's value comes from.
enum Source {
    /// Rendered from `created` on the reporter thread.
    Asctime,
    Message,
    Tid,
    Attribute(Py<PyString>),
}

/// How records are captured, set by `install_log_hook` at start.
struct Capture {
    original: Py<PyAny>,
    report: bool,
    threshold: i64,
    ignore_filter: bool,
    formatted: bool,
    layout: Arc<Layout>,
    sources: Vec<Source>,
    /// `format_exception(exc_info) -> str`, honouring `agent_cause_exception_depth`.
    format_exception: Py<PyAny>,
}

static CAPTURE: RwLock<Option<Arc<Capture>>> = RwLock::new(None);

fn capture() -> Option<Arc<Capture>> {
    CAPTURE.read().unwrap_or_else(PoisonError::into_inner).clone()
}

/// Sets how `handle_log` works: `original` is `Logger.handle` as it was before.
#[pyfunction]
#[pyo3(signature = (original, report, threshold, ignore_filter, formatted, layout, format_exception))]
#[allow(clippy::too_many_arguments, clippy::needless_pass_by_value)]
pub fn install_log_hook(
    py: Python<'_>,
    original: Py<PyAny>,
    report: bool,
    threshold: i64,
    ignore_filter: bool,
    formatted: bool,
    layout: &str,
    format_exception: Py<PyAny>,
) -> PyResult<()> {
    if !format_exception.bind(py).is_callable() || !original.bind(py).is_callable() {
        return Err(PyTypeError::new_err("original and format_exception must be callable"));
    }
    let layout = Arc::new(Layout::parse(layout));
    let sources = layout
        .fields()
        .iter()
        .map(|name| match name.as_str() {
            "asctime" => Source::Asctime,
            "message" => Source::Message,
            "tid" => Source::Tid,
            other => Source::Attribute(PyString::intern(py, other).unbind()),
        })
        .collect();
    let capture = Capture { original, report, threshold, ignore_filter, formatted, layout, sources, format_exception };
    *CAPTURE.write().unwrap_or_else(PoisonError::into_inner) = Some(Arc::new(capture));
    Ok(())
}

/// The parsed layout the reporter renders (the one `install_log_hook` was given).
pub fn layout() -> Option<Arc<Layout>> {
    capture().map(|c| c.layout.clone())
}

/// `Logger.handle(self, record)`: sets `tid`, `sw_trace_id`, `sw_segment_id` and
/// `sw_span_id` on the record, runs the original `handle`, then captures the record for the
/// log reporter. Only the original handler's own exceptions reach the caller.
#[pyfunction]
pub fn handle_log<'py>(
    py: Python<'py>,
    logger: &Bound<'py, PyAny>,
    record: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    let Some(capture) = capture() else {
        return Err(PyTypeError::new_err("the log hook is not installed"));
    };
    // The application's own logging runs below this frame: counted, so that the exit handler
    // waits for it (see `exit_gate`). Once that gate is closed (the hook is removed just
    // before), a straggler still logs, untraced.
    let Some(_pass) = crate::exit_gate::enter() else {
        return capture.original.bind(py).call1((logger, record));
    };
    let ids = active_ids(py);
    if let Err(error) = annotate(py, record, ids.as_ref()) {
        log::debug!("could not add trace ids to a log record: {error}");
    }
    let result = capture.original.bind(py).call1((logger, record))?;
    if capture.report {
        if let Err(error) = report(py, &capture, logger, record, ids) {
            log::debug!("could not capture a log record for the log reporter: {error}");
        }
    }
    Ok(result)
}

fn annotate(py: Python<'_>, record: &Bound<'_, PyAny>, ids: Option<&ActiveIds>) -> PyResult<()> {
    match ids {
        Some(ids) => {
            let trace_id = PyString::new(py, &ids.trace_id);
            record.setattr(intern!(py, "tid"), &trace_id)?;
            record.setattr(intern!(py, "sw_trace_id"), trace_id)?;
            record.setattr(intern!(py, "sw_segment_id"), &ids.segment_id)?;
            record.setattr(intern!(py, "sw_span_id"), ids.span_id)?;
        }
        None => {
            record.setattr(intern!(py, "tid"), intern!(py, NO_TRACE))?;
            let empty = intern!(py, "");
            record.setattr(intern!(py, "sw_trace_id"), empty)?;
            record.setattr(intern!(py, "sw_segment_id"), empty)?;
            record.setattr(intern!(py, "sw_span_id"), -1)?;
        }
    }
    Ok(())
}

fn text(value: &Bound<'_, PyAny>) -> PyResult<String> {
    match value.downcast::<PyString>() {
        Ok(s) => Ok(s.to_str()?.to_owned()),
        Err(_) => Ok(value.str()?.to_str()?.to_owned()),
    }
}

fn report(
    py: Python<'_>,
    capture: &Capture,
    logger: &Bound<'_, PyAny>,
    record: &Bound<'_, PyAny>,
    ids: Option<ActiveIds>,
) -> PyResult<()> {
    let level_no: i64 = record.getattr(intern!(py, "levelno"))?.extract().unwrap_or(0);
    if level_no < capture.threshold || logger.getattr(intern!(py, "disabled"))?.is_truthy()? {
        return Ok(());
    }
    let name = text(&record.getattr(intern!(py, "name"))?)?;
    if AGENT_LOGGERS.contains(&name.as_str()) {
        return Ok(());
    }
    if !capture.ignore_filter && !logger.getattr(intern!(py, "filters"))?.is_empty().unwrap_or(true) {
        let passed = logger.call_method1(intern!(py, "filter"), (record,))?;
        if !passed.is_truthy()? {
            return Ok(());
        }
    }
    let created: f64 = record.getattr(intern!(py, "created"))?.extract().unwrap_or(0.0);
    let exc_info = record.getattr(intern!(py, "exc_info"))?;
    let has_exception = exc_info.is_truthy()?;
    // Without the final newline (upstream keeps it; SkyWalking's UI shows it as a blank line).
    let traceback = || -> PyResult<String> {
        let text = text(&capture.format_exception.bind(py).call1((&exc_info,))?)?;
        Ok(text.trim_end_matches('\n').to_owned())
    };
    let mut tags = Vec::new();
    let log_text = if capture.formatted && !capture.layout.is_empty() {
        let mut values = Vec::with_capacity(capture.sources.len());
        for source in &capture.sources {
            values.push(match source {
                Source::Asctime => LogValue::Missing,
                Source::Message => LogValue::Str(message(py, record)?),
                Source::Tid => LogValue::Str(ids.as_ref().map_or(NO_TRACE.to_owned(), |i| i.trace_id.clone())),
                Source::Attribute(attribute) => match record.getattr(attribute.bind(py)) {
                    Ok(value) => value_of(&value)?,
                    Err(_) => LogValue::Missing,
                },
            });
        }
        // As logging.Formatter.format: the traceback, then the stack, each after a newline.
        let mut suffix = String::new();
        if has_exception {
            suffix.push('\n');
            suffix.push_str(&traceback()?);
        }
        let stack = record.getattr(intern!(py, "stack_info"))?;
        if stack.is_truthy()? {
            suffix.push('\n');
            suffix.push_str(&text(&stack)?);
        }
        LogText::Layout { values, suffix }
    } else if capture.formatted {
        let mut text = message(py, record)?;
        if has_exception {
            text.push('\n');
            text.push_str(&traceback()?);
        }
        LogText::Plain(text)
    } else {
        let args = record.getattr(intern!(py, "args"))?;
        if args.is_truthy()? {
            for (n, arg) in args.try_iter()?.enumerate() {
                tags.push((format!("argument.{n}"), text(&arg?)?));
            }
        }
        if has_exception {
            tags.push(("exception".to_owned(), traceback()?));
        }
        LogText::Plain(text(&record.getattr(intern!(py, "msg"))?)?)
    };
    let thread = record.getattr(intern!(py, "threadName"))?;
    let level = text(&record.getattr(intern!(py, "levelname"))?)?;
    let (trace, endpoint) = match ids {
        Some(ids) => (Some((ids.trace_id, ids.segment_id, ids.span_id)), ids.endpoint),
        None => (None, String::new()),
    };
    agent::report_log(LogRecord {
        created,
        text: log_text,
        level,
        logger: name,
        thread: text(&thread)?,
        tags,
        trace,
        endpoint,
    });
    Ok(())
}

/// `record.getMessage()`, or the `message` a formatter of the application's handlers
/// already stored on the record (the same text, without formatting it again).
fn message(py: Python<'_>, record: &Bound<'_, PyAny>) -> PyResult<String> {
    if let Ok(dict) = record.getattr(intern!(py, "__dict__")) {
        if let Ok(dict) = dict.downcast::<PyDict>() {
            if let Some(message) = dict.get_item(intern!(py, "message"))? {
                if let Ok(message) = message.downcast::<PyString>() {
                    return Ok(message.to_str()?.to_owned());
                }
            }
        }
    }
    text(&record.call_method0(intern!(py, "getMessage"))?)
}

fn value_of(value: &Bound<'_, PyAny>) -> PyResult<LogValue> {
    if let Ok(s) = value.downcast::<PyString>() {
        return Ok(LogValue::Str(s.to_str()?.to_owned()));
    }
    if value.is_instance_of::<PyInt>() {
        if let Ok(i) = value.extract::<i64>() {
            return Ok(LogValue::Int(i));
        }
    }
    if value.is_instance_of::<PyFloat>() {
        return Ok(LogValue::Float(value.extract()?));
    }
    Ok(LogValue::Str(value.str()?.to_str()?.to_owned()))
}

/// A record from another logging library (loguru): its text and tags are final; the trace
/// context is the active span's.
#[pyfunction]
#[pyo3(signature = (created, text, level, logger, thread, tags = None))]
pub fn report_log_record(
    py: Python<'_>,
    created: Arg<f64>,
    text: Arg<String>,
    level: Arg<String>,
    logger: Arg<String>,
    thread: Arg<String>,
    tags: Option<Arg<Vec<(String, String)>>>,
) -> PyResult<()> {
    guard(
        site!("report_log_record"),
        || Ok(()),
        || {
            let (created, text, level) = (created.take("created")?, text.take("text")?, level.take("level")?);
            let (logger, thread, tags) = (logger.take("logger")?, thread.take("thread")?, tags.take("tags")?);
            report_other(py, created, LogText::Plain(text), level, logger, thread, tags);
            Ok(())
        },
    )
}

fn report_other(
    py: Python<'_>,
    created: f64,
    text: LogText,
    level: String,
    logger: String,
    thread: String,
    tags: Option<Vec<(String, String)>>,
) {
    let (trace, endpoint) = match active_ids(py) {
        Some(ids) => (Some((ids.trace_id, ids.segment_id, ids.span_id)), ids.endpoint),
        None => (None, String::new()),
    };
    agent::report_log(LogRecord {
        created,
        text,
        level,
        logger,
        thread,
        tags: tags.unwrap_or_default(),
        trace,
        endpoint,
    });
}

/// The active trace's ids as `(trace id, segment id, span id)`, or `None` outside a trace:
/// for logging libraries that do not go through `logging` (loguru's patcher, structlog).
#[pyfunction]
pub fn trace_ids(py: Python<'_>) -> Option<(String, String, i32)> {
    active_ids(py).map(|ids| (ids.trace_id, ids.segment_id, ids.span_id))
}
