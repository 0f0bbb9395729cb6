//! No error from the agent reaches the application, by construction: every request-path
//! method of `_core` runs its body through [`guard`], which turns a `PyErr` or a panic
//! into a warning, logged once per call site, and a no-op result (a `NoopSpan` for the
//! methods that open spans). What the API promises to raise (`peek(raise_if_none=True)`,
//! `inject()` on a span that is not an exit span) is raised outside the guard, and
//! `__exit__` always returns False, so the application's own exception goes on.

use std::any::Any;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering::Relaxed};

use pyo3::exceptions::PyRuntimeError;
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

/// Runs `body`; if it fails (an error or a panic), warns once for `site` and returns what
/// `fallback` gives instead.
pub fn guard<T>(
    site: &'static Site,
    fallback: impl FnOnce() -> PyResult<T>,
    body: impl FnOnce() -> PyResult<T>,
) -> PyResult<T> {
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        if FAULT.load(Relaxed) != NO_FAULT {
            injected_fault()?;
        }
        body()
    }));
    match outcome {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(error)) => {
            failed(site, &error.to_string());
            fallback()
        }
        Err(payload) => {
            failed(site, &panic_message(payload.as_ref()));
            fallback()
        }
    }
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
