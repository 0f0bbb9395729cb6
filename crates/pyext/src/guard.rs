//! No error from the agent reaches the application, by construction: every request-path
//! method of `_core` runs its body through [`guard`], which turns a `PyErr` or a panic
//! into a warning, logged once per call site, and a no-op result (a `NoopSpan` for the
//! methods that open spans). What the API promises to raise (`peek(raise_if_none=True)`,
//! `inject()` on a span that is not an exit span) is raised outside the guard, and
//! `__exit__` always returns False, so the application's own exception goes on.
//!
//! PyO3 converts a method's arguments before its body runs, so a typed parameter would let
//! a wrongly typed argument (None for a str, an int for a dict) raise `TypeError` into the
//! application before the guard is reached. Request-path methods therefore take each
//! argument as an [`Arg`], which accepts any object and keeps the outcome of the usual
//! conversion; [`Take::take`] hands the value over inside the guard, where a failed
//! conversion is one more error the guard turns into a warning and a no-op result. Only a
//! call with a wrong number of arguments or an unknown keyword still raises.

use std::any::Any;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering::Relaxed};

use pyo3::exceptions::{PyRuntimeError, PyTypeError};
use pyo3::prelude::*;

/// A guarded method: its name in the warning, and whether it warned already.
pub struct Site {
    name: &'static str,
    warned: AtomicBool,
}

impl Site {
    pub const fn new(name: &'static str) -> Self {
        Self { name, warned: AtomicBool::new(false) }
    }
}

/// `site!("Span.tag")`: the call site's [`Site`], a static of its own.
macro_rules! site {
    ($name:literal) => {{
        static SITE: $crate::guard::Site = $crate::guard::Site::new($name);
        &SITE
    }};
}
pub(crate) use site;

/// A request-path argument as the caller passed it: PyO3's conversion to `T`, done when the
/// call arrives as for a typed parameter (the same cost), its failure kept for the guard.
pub struct Arg<T>(PyResult<T>);

impl<'py, T: FromPyObject<'py>> FromPyObject<'py> for Arg<T> {
    #[inline]
    fn extract_bound(object: &Bound<'py, PyAny>) -> PyResult<Self> {
        Ok(Self(object.extract()))
    }
}

impl<T> Arg<T> {
    /// A default value in a `#[pyo3(signature = ...)]`.
    pub const fn ok(value: T) -> Self {
        Self(Ok(value))
    }
}

/// The value of an [`Arg`] (or of an optional one): call inside the guarded body.
pub trait Take {
    type Value;
    /// The converted value, or `TypeError` naming the argument.
    fn take(self, name: &'static str) -> PyResult<Self::Value>;
}

impl<T> Take for Arg<T> {
    type Value = T;
    #[inline]
    fn take(self, name: &'static str) -> PyResult<T> {
        self.0.map_err(|error| wrong_type(name, &error))
    }
}

impl<T> Take for Option<Arg<T>> {
    type Value = Option<T>;
    #[inline]
    fn take(self, name: &'static str) -> PyResult<Option<T>> {
        self.map(|arg| arg.take(name)).transpose()
    }
}

#[cold]
#[inline(never)]
fn wrong_type(name: &str, error: &PyErr) -> PyErr {
    let text = error.to_string();
    let reason = text.strip_prefix("TypeError: ").unwrap_or(&text);
    PyTypeError::new_err(format!("argument {name}: {reason}"))
}

/// Runs `body`; if it fails (an error or a panic), warns once for `site` and returns what
/// `fallback` gives instead. Once the interpreter is about to finalize (see
/// [`crate::exit_gate`]) `body` no longer runs: the call gives what `fallback` gives.
pub fn guard<T>(
    site: &'static Site,
    fallback: impl FnOnce() -> PyResult<T>,
    body: impl FnOnce() -> PyResult<T>,
) -> PyResult<T> {
    run_caught(fallback, body, |failure| failed(site, &failure.describe()))
}

/// Runs the body of a native plugin helper (`db_exit_span`, `cache_exit_span`): as [`guard`],
/// but a failure goes where the Python plugin helpers report theirs (`_common.failed`, one
/// warning per helper and process), since it stands in for one of them.
pub fn guard_helper<T>(
    py: Python<'_>,
    helper: &'static str,
    fallback: impl FnOnce() -> PyResult<T>,
    body: impl FnOnce() -> PyResult<T>,
) -> PyResult<T> {
    run_caught(fallback, body, |failure| crate::scope::report(py, helper, failure.into_error()))
}

/// How a guarded body failed.
enum Failure {
    Error(PyErr),
    Panic(String),
}

impl Failure {
    fn describe(&self) -> String {
        match self {
            Self::Error(error) => error.to_string(),
            Self::Panic(message) => message.clone(),
        }
    }

    fn into_error(self) -> PyErr {
        match self {
            Self::Error(error) => error,
            Self::Panic(message) => PyRuntimeError::new_err(message),
        }
    }
}

/// What [`guard`] and [`guard_helper`] share; they differ only in where a failure is told
/// (`report`). The exit gate's pass is held until the end, report and fallback included,
/// since both may run Python code (logging).
#[inline(always)]
fn run_caught<T>(
    fallback: impl FnOnce() -> PyResult<T>,
    body: impl FnOnce() -> PyResult<T>,
    report: impl FnOnce(Failure),
) -> PyResult<T> {
    let Some(_pass) = crate::exit_gate::enter() else {
        return fallback();
    };
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        if FAULT.load(Relaxed) != NO_FAULT {
            injected_fault()?;
        }
        body()
    }));
    let failure = match outcome {
        Ok(Ok(value)) => return Ok(value),
        Ok(Err(error)) => Failure::Error(error),
        Err(payload) => Failure::Panic(panic_message(payload.as_ref())),
    };
    report(failure);
    fallback()
}

#[cold]
#[inline(never)]
fn failed(site: &Site, what: &str) {
    if !site.warned.swap(true, Relaxed) {
        log::warn!(
            "{} failed inside the agent and was skipped; the application goes on untraced there \
             (logged once): {what}",
            site.name
        );
    }
}

fn panic_message(payload: &(dyn Any + Send)) -> String {
    let text = payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(no message)");
    format!("panic: {text}")
}

const NO_FAULT: u8 = 0;
const FAULT_ERROR: u8 = 1;
const FAULT_PANIC: u8 = 2;

/// A failure the tests asked for, taken by the next guarded call.
static FAULT: AtomicU8 = AtomicU8::new(NO_FAULT);

#[cold]
#[inline(never)]
fn injected_fault() -> PyResult<()> {
    match FAULT.swap(NO_FAULT, Relaxed) {
        FAULT_ERROR => Err(PyRuntimeError::new_err("failure injected by _core._fail_next")),
        FAULT_PANIC => panic!("failure injected by _core._fail_next"),
        _ => Ok(()),
    }
}

/// `_core._fail_next("error" | "panic")`, for tests: the next guarded call fails inside,
/// as an agent bug would.
#[pyfunction]
#[pyo3(name = "_fail_next")]
pub fn fail_next(mode: &str) -> PyResult<()> {
    let fault = match mode {
        "error" => FAULT_ERROR,
        "panic" => FAULT_PANIC,
        _ => return Err(pyo3::exceptions::PyValueError::new_err("mode must be 'error' or 'panic'")),
    };
    FAULT.store(fault, Relaxed);
    Ok(())
}
