//! The agent steps aside before the interpreter finalizes.
//!
//! Once Python's finalization has begun (after the `atexit` handlers), CPython 3.10-3.13 end
//! every other thread that tries to take the GIL by `pthread_exit`, which unwinds the thread's
//! stack as a "forced unwind". A thread that is inside a native call of ours at that moment
//! (running Python code on our behalf: formatting an exception's traceback, the original
//! `Logger.handle`, a gauge, a garbage collection) was paused with Rust frames below it, and
//! the `catch_unwind` of PyO3's trampoline (or of [`crate::guard`]) catches that unwind, which
//! glibc answers with "FATAL: exception not rethrown" and an abort: the application, which
//! was exiting normally (`sys.exit()` with daemon threads still serving), dies by SIGABRT.
//!
//! So the exit handler closes this gate once the agent has sent what was queued: native
//! calls that arrive later do nothing (the guarded ones give their no-op result), threads the
//! agent owns no longer take the GIL, and the handler waits, with the GIL released, until
//! every native call that was already running has returned. When finalization then begins
//! no thread can be inside our frames, so none of them can be caught unwinding.

use std::sync::atomic::{AtomicBool, AtomicIsize, Ordering::SeqCst};
use std::time::{Duration, Instant};

use pyo3::prelude::*;

static CLOSED: AtomicBool = AtomicBool::new(false);
static INSIDE: AtomicIsize = AtomicIsize::new(0);

/// A native call in progress, counted until it is dropped (also when it unwinds).
pub struct Pass(());

impl Drop for Pass {
    #[inline]
    fn drop(&mut self) {
        INSIDE.fetch_sub(1, SeqCst);
    }
}

/// A pass for a native call that may run Python code, or None once the gate is closed.
/// Counted before the gate is read, so [`close`] either sees the call or the call sees the
/// closed gate (both sides are sequentially consistent).
#[inline]
pub fn enter() -> Option<Pass> {
    INSIDE.fetch_add(1, SeqCst);
    let pass = Pass(());
    if CLOSED.load(SeqCst) {
        return None; // `pass` is dropped: uncounted again
    }
    Some(pass)
}

/// `Python::with_gil` for a thread the agent owns, unless the gate is closed: such a thread
/// taking the GIL after finalization began would be ended with our frames on its stack.
pub fn with_gil<R>(f: impl for<'py> FnOnce(Python<'py>) -> R) -> Option<R> {
    let _pass = enter()?;
    Some(Python::with_gil(f))
}

/// Closes the gate and waits, at most `timeout`, with the GIL released, until no native call
/// is running. True when none was left running.
pub fn close(py: Python<'_>, timeout: Duration) -> bool {
    CLOSED.store(true, SeqCst);
    // This thread's own call (`_core.close_exit_gate`) is not counted; any other is in another
    // thread, which needs the GIL to return.
    let deadline = Instant::now() + timeout;
    py.allow_threads(|| loop {
        if INSIDE.load(SeqCst) <= 0 {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_micros(200));
    })
}

/// Opens the gate again, for an agent started again after an exit handler ran.
pub fn reopen() {
    CLOSED.store(false, SeqCst);
}

/// In a forked child: the calls other threads of the parent had in progress will never
/// return here (those threads do not exist in the child), so they are not waited for.
pub fn after_fork_in_child() {
    INSIDE.store(0, SeqCst);
    CLOSED.store(false, SeqCst);
}

/// `_core.close_exit_gate(timeout)`: see the module's doc. Called by the agent's exit handler
/// after the final flush; returns False when a native call was still running at `timeout`.
#[pyfunction]
#[pyo3(signature = (timeout = 1.0))]
pub fn close_exit_gate(py: Python<'_>, timeout: f64) -> bool {
    let timeout =
        if timeout.is_finite() && timeout > 0.0 { Duration::from_secs_f64(timeout.min(60.0)) } else { Duration::ZERO };
    close(py, timeout)
}
