//! `skywalking._core`: the only place where Rust meets Python.
//!
//! Spans, contexts and snapshots are Rust objects; the active span follows a
//! `contextvars.ContextVar`, so it is task-local under asyncio and greenlet-local under
//! gevent, and new threads start empty. Errors are mapped to Python exceptions here, and
//! only at configuration time: the request path never raises into the application (every
//! request-path method runs through `guard`).

mod active;
mod agent;
mod asgi;
mod carrier;
mod collector;
mod context;
mod db;
mod error;
mod exit_gate;
mod greenlet;
mod guard;
mod http_client;
mod logger;
mod logs;
mod meters;
mod options;
mod profiling;
mod rpc;
mod scope;
mod settings;
mod snapshot;
mod span;
mod stack;
mod tag;
mod trace_ids;
mod wsgi;

use pyo3::prelude::*;

#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add("build_profile", if cfg!(debug_assertions) { "debug" } else { "release" })?;
    m.add("IllegalStateError", m.py().get_type::<span::IllegalStateError>())?;
    m.add_class::<tag::TagBase>()?;
    m.add_class::<span::Span>()?;
    m.add_class::<span::EntrySpan>()?;
    m.add_class::<span::ExitSpan>()?;
    m.add_class::<span::NoopSpan>()?;
    m.add_class::<context::SpanContext>()?;
    m.add_class::<context::NoopContext>()?;
    m.add_class::<context::SegmentInfo>()?;
    m.add_class::<snapshot::Snapshot>()?;
    m.add_function(wrap_pyfunction!(context::get_context, m)?)?;
    m.add_function(wrap_pyfunction!(context::capture_active, m)?)?;
    m.add_function(wrap_pyfunction!(tag::tag_text, m)?)?;
    m.add_function(wrap_pyfunction!(agent::start, m)?)?;
    m.add_function(wrap_pyfunction!(agent::stop, m)?)?;
    m.add_function(wrap_pyfunction!(exit_gate::close_exit_gate, m)?)?;
    m.add_function(wrap_pyfunction!(agent::flush, m)?)?;
    m.add_function(wrap_pyfunction!(agent::terminate_after_flush, m)?)?;
    m.add_function(wrap_pyfunction!(agent::after_fork_in_child, m)?)?;
    m.add_function(wrap_pyfunction!(agent::stats, m)?)?;
    m.add_function(wrap_pyfunction!(agent::is_started, m)?)?;
    m.add_function(wrap_pyfunction!(carrier::decode_sw8, m)?)?;
    m.add_function(wrap_pyfunction!(collector::run_collector, m)?)?;
    m.add_function(wrap_pyfunction!(stack::capture_current_stack, m)?)?;
    m.add_function(wrap_pyfunction!(carrier::decode_correlation, m)?)?;
    m.add_function(wrap_pyfunction!(wsgi::wsgi_url, m)?)?;
    m.add_function(wrap_pyfunction!(wsgi::wsgi_entry_span, m)?)?;
    m.add_function(wrap_pyfunction!(http_client::write_trace_headers, m)?)?;
    m.add_function(wrap_pyfunction!(http_client::write_trace_header_items, m)?)?;
    m.add_function(wrap_pyfunction!(http_client::inside_exit_span, m)?)?;
    m.add_function(wrap_pyfunction!(asgi::trace_headers, m)?)?;
    m.add_function(wrap_pyfunction!(db::tag_exit_span, m)?)?;
    m.add_function(wrap_pyfunction!(db::db_exit_span, m)?)?;
    m.add_function(wrap_pyfunction!(db::cache_exit_span, m)?)?;
    m.add_function(wrap_pyfunction!(rpc::rpc_exit_span, m)?)?;
    m.add_function(wrap_pyfunction!(http_client::request_exit_span, m)?)?;
    m.add("CONFIG_OPTIONS", options::Options::NAMES.to_vec())?;
    agent::configure_before_start(m.py())?;
    m.add_function(wrap_pyfunction!(logs::install_log_hook, m)?)?;
    m.add_function(wrap_pyfunction!(logs::handle_log, m)?)?;
    m.add_function(wrap_pyfunction!(logs::report_log_record, m)?)?;
    m.add_function(wrap_pyfunction!(logs::trace_ids, m)?)?;
    meters::register(m)?;
    m.add_function(wrap_pyfunction!(guard::fail_next, m)?)?;
    m.add_class::<scope::EntryScope>()?;
    m.add_function(wrap_pyfunction!(scope::wsgi_entry_scope, m)?)?;
    m.add_function(wrap_pyfunction!(scope::asgi_entry_scope, m)?)?;
    m.add_function(wrap_pyfunction!(scope::http_entry_scope, m)?)?;
    Ok(())
}
