//! The active span, kept in a `contextvars.ContextVar` through CPython's C API.
//!
//! The value is the innermost running span; each span remembers the one that was active
//! when it started, so the stack is a linked list that asyncio tasks share copy-free:
//! a task sees its parent's stack at creation and pushes onto it privately.

use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::sync::GILOnceCell;

use crate::span::Span;

static VAR: GILOnceCell<Py<PyAny>> = GILOnceCell::new();

fn var(py: Python<'_>) -> PyResult<&Py<PyAny>> {
    VAR.get_or_try_init(py, || {
        // SAFETY: the name is a valid NUL-terminated C string and the GIL is held; a
        // NULL result means a Python error is set, which `from_owned_ptr_or_err` takes.
        unsafe {
            let ptr = ffi::PyContextVar_New(c"skywalking_active_span".as_ptr(), std::ptr::null_mut());
            Bound::from_owned_ptr_or_err(py, ptr).map(Bound::unbind)
        }
    })
}

/// The active span of the current context, if any.
pub fn get(py: Python<'_>) -> Option<Bound<'_, Span>> {
    let var = var(py).ok()?;
    let mut value: *mut ffi::PyObject = std::ptr::null_mut();
    // SAFETY: `var` is a ContextVar; on success `value` is a new reference or NULL when unset.
    let status = unsafe { ffi::PyContextVar_Get(var.as_ptr(), std::ptr::null_mut(), &raw mut value) };
    if status != 0 {
        // Cannot happen for a real ContextVar; never let it reach the application.
        let _ = PyErr::take(py);
        return None;
    }
    if value.is_null() {
        return None;
    }
    // SAFETY: non-null new reference returned by PyContextVar_Get.
    let value = unsafe { Bound::from_owned_ptr(py, value) };
    value.downcast_into::<Span>().ok()
}

/// Makes `span` the active span of the current context; returns the token with which
/// [`restore`] undoes this, if CPython made one.
pub fn push(py: Python<'_>, span: &Bound<'_, Span>) -> Option<Py<PyAny>> {
    let var = var(py).ok()?;
    // SAFETY: `var` is a ContextVar and `span` a live object; the result is a new
    // reference to a Token, or NULL with an error set.
    unsafe { Bound::from_owned_ptr_or_err(py, ffi::PyContextVar_Set(var.as_ptr(), span.as_ptr())) }
        .map(Bound::unbind)
        .map_err(|_| ())
        .ok()
}

/// Gives the variable back the value it had before the [`push`] that made `token`: cheaper
/// than setting it (no new token). False when CPython refuses (the token was made in
/// another context, or used); the caller then sets the value itself.
pub fn restore(py: Python<'_>, token: &Py<PyAny>) -> bool {
    let Ok(var) = var(py) else { return false };
    // SAFETY: `var` is a ContextVar and `token` one of its tokens (or anything else, which
    // CPython rejects with an error that is cleared here).
    let status = unsafe { ffi::PyContextVar_Reset(var.as_ptr(), token.as_ptr()) };
    if status != 0 {
        let _ = PyErr::take(py);
        return false;
    }
    true
}

/// Makes `span` (or nothing) the active span of the current context.
pub fn set(py: Python<'_>, span: Option<&Bound<'_, Span>>) {
    let Ok(var) = var(py) else { return };
    let none = py.None();
    let value = span.map_or(none.as_ptr(), Bound::as_ptr);
    // SAFETY: `var` is a ContextVar and `value` a live object; the returned token is a new
    // reference (or NULL with an error set) that is released immediately.
    unsafe {
        let token = ffi::PyContextVar_Set(var.as_ptr(), value);
        if token.is_null() {
            let _ = PyErr::take(py);
        } else {
            ffi::Py_DECREF(token);
        }
    }
}
