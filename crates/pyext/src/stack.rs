//! Python stacks captured for profiling, through CPython's C API while holding the GIL.
//!
//! A target is one profiled request: an OS thread (its thread state), a greenlet (gevent),
//! or an asyncio task. Each is checked to still exist before its frames are read, so a
//! request whose thread, greenlet or task ended yields `Ended` instead of a stale stack.

use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::PyWeakrefReference;
use pyo3::{intern, Py};

extern "C" {
    // Public CPython API since 3.9; not declared by pyo3-ffi.
    fn PyThreadState_GetID(tstate: *mut ffi::PyThreadState) -> u64;
}

/// Why a capture produced no stack.
#[derive(Debug)]
pub enum StackError {
    /// The thread, greenlet or task is gone.
    Ended,
    /// Reading the stack failed (message for the log).
    Failed(String),
}

/// Where a profiled request runs.
#[derive(Debug)]
pub struct Target {
    /// The thread state the request started on (pointer value; only dereferenced after
    /// finding it again in the interpreter's live thread list).
    tstate: usize,
    tstate_id: u64,
    kind: TargetKind,
}

#[derive(Debug)]
enum TargetKind {
    Thread,
    Greenlet(Py<PyWeakrefReference>),
    Task(Py<PyWeakrefReference>),
}

// SAFETY: the pointer is only used as an identity to look the thread state up again under
// the GIL; the Python references are only touched with the GIL held.
unsafe impl Send for Target {}
unsafe impl Sync for Target {}

impl Target {
    /// The request running right now on this thread: its asyncio task if one runs, else
    /// its greenlet if gevent patched threading, else the thread itself.
    pub fn current(py: Python<'_>) -> Target {
        // SAFETY: the GIL is held, so the current thread state exists.
        let (tstate, tstate_id) = unsafe {
            let ts = ffi::PyThreadState_Get();
            (ts as usize, PyThreadState_GetID(ts))
        };
        let kind = current_task(py)
            .map(TargetKind::Task)
            .or_else(|| current_greenlet(py).map(TargetKind::Greenlet))
            .unwrap_or(TargetKind::Thread);
        Target { tstate, tstate_id, kind }
    }

    /// The greenlet this request runs in, when the profiler is in greenlet mode and it lives.
    pub fn greenlet<'py>(&self, py: Python<'py>) -> Option<Bound<'py, PyAny>> {
        match &self.kind {
            TargetKind::Greenlet(greenlet) => greenlet.bind(py).upgrade(),
            _ => None,
        }
    }

    /// Code signatures `file.function: line`, outermost first, at most `max_depth`
    /// (keeping the innermost frames when cutting).
    pub fn capture(&self, py: Python<'_>, max_depth: usize) -> Result<Vec<String>, StackError> {
        let frames = match &self.kind {
            TargetKind::Thread => self.thread_frames(py)?,
            TargetKind::Greenlet(greenlet) => {
                let greenlet = greenlet.bind(py).upgrade().ok_or(StackError::Ended)?;
                if greenlet.getattr(intern!(py, "dead")).and_then(|d| d.is_truthy()).unwrap_or(true) {
                    return Err(StackError::Ended);
                }
                let frame = greenlet.getattr(intern!(py, "gr_frame")).map_err(failed)?;
                if frame.is_none() {
                    // A running greenlet has no saved frame: it is its thread's stack.
                    self.thread_frames(py)?
                } else {
                    walk_back(py, frame)?
                }
            }
            TargetKind::Task(task) => {
                let task = task.bind(py).upgrade().ok_or(StackError::Ended)?;
                if task.call_method0(intern!(py, "done")).and_then(|d| d.is_truthy()).unwrap_or(true) {
                    return Err(StackError::Ended);
                }
                task_frames(py, &task, self)?
            }
        };
        let mut signatures: Vec<String> = frames;
        if signatures.len() > max_depth {
            signatures.drain(..signatures.len() - max_depth);
        }
        Ok(signatures)
    }

    /// The frames of the target's OS thread, outermost first.
    fn thread_frames(&self, py: Python<'_>) -> Result<Vec<String>, StackError> {
        // SAFETY: GIL held; the thread list is only read, and `tstate` is dereferenced only
        // once it is found in that list with the same id.
        unsafe {
            let mut ts = ffi::PyInterpreterState_ThreadHead(ffi::PyInterpreterState_Get());
            while !ts.is_null() {
                if ts as usize == self.tstate && PyThreadState_GetID(ts) == self.tstate_id {
                    let frame = ffi::PyThreadState_GetFrame(ts);
                    if frame.is_null() {
                        return Ok(Vec::new());
                    }
                    let frame = Bound::from_owned_ptr(py, frame.cast());
                    return walk_back(py, frame);
                }
                ts = ffi::PyThreadState_Next(ts);
            }
        }
        Err(StackError::Ended)
    }
}

fn failed(error: PyErr) -> StackError {
    StackError::Failed(error.to_string())
}

/// One frame's signature in upstream's format: `<co_filename>.<co_name>: <line>`.
fn signature(py: Python<'_>, frame: &Bound<'_, PyAny>) -> Result<String, StackError> {
    // SAFETY: `frame` is a frame object (checked by the callers' sources: thread state
    // frames, f_back links, gr_frame, cr_frame); both calls return new references or -1.
    let (code, line) = unsafe {
        let raw = frame.as_ptr().cast::<ffi::PyFrameObject>();
        let code = ffi::PyFrame_GetCode(raw);
        (Bound::from_owned_ptr(py, code.cast()), ffi::PyFrame_GetLineNumber(raw))
    };
    let filename: String = code.getattr(intern!(py, "co_filename")).and_then(|f| f.extract()).map_err(failed)?;
    let name: String = code.getattr(intern!(py, "co_name")).and_then(|f| f.extract()).map_err(failed)?;
    Ok(format!("{filename}.{name}: {line}"))
}

/// From the innermost frame outwards, returned outermost first.
fn walk_back<'py>(py: Python<'py>, innermost: Bound<'py, PyAny>) -> Result<Vec<String>, StackError> {
    let mut signatures = Vec::new();
    let mut frame = Some(innermost);
    // Bounded walk: a stack deeper than this is cut at the outer end.
    while let Some(current) = frame.take() {
        if signatures.len() >= 4096 {
            break;
        }
        signatures.push(signature(py, &current)?);
        // SAFETY: `current` is a frame; PyFrame_GetBack returns a new reference or NULL.
        let back = unsafe { ffi::PyFrame_GetBack(current.as_ptr().cast()) };
        if !back.is_null() {
            // SAFETY: non-null new reference to a frame.
            frame = Some(unsafe { Bound::from_owned_ptr(py, back.cast()) });
        }
    }
    signatures.reverse();
    Ok(signatures)
}

/// The stack of an asyncio task: its coroutine chain (`cr_await` links) while it waits;
/// while it runs, its thread's frames from the task's own coroutine inwards.
fn task_frames(py: Python<'_>, task: &Bound<'_, PyAny>, target: &Target) -> Result<Vec<String>, StackError> {
    let coro = task.call_method0(intern!(py, "get_coro")).map_err(failed)?;
    let mut chain = Vec::new();
    let mut current = Some(coro);
    let mut running = false;
    while let Some(awaitable) = current.take() {
        if chain.len() >= 4096 {
            break;
        }
        let frame = awaitable
            .getattr(intern!(py, "cr_frame"))
            .or_else(|_| awaitable.getattr(intern!(py, "gi_frame")))
            .ok()
            .filter(|f| !f.is_none());
        let Some(frame) = frame else { break };
        if awaitable.getattr(intern!(py, "cr_running")).and_then(|r| r.is_truthy()).unwrap_or(false) {
            running = true;
        }
        chain.push(frame);
        current = awaitable
            .getattr(intern!(py, "cr_await"))
            .or_else(|_| awaitable.getattr(intern!(py, "gi_yieldfrom")))
            .ok()
            .filter(|a| !a.is_none());
    }
    if running {
        if let Some(outermost) = chain.first() {
            let outer = signature(py, outermost)?;
            let stack = target.thread_frames(py)?;
            if let Some(at) = stack.iter().position(|s| *s == outer) {
                return Ok(stack[at..].to_vec());
            }
        }
    }
    chain.iter().map(|frame| signature(py, frame)).collect()
}

fn current_task(py: Python<'_>) -> Option<Py<PyWeakrefReference>> {
    // Looked up, not imported: without asyncio imported no task can run, and importing it
    // here would cost the request being profiled tens of milliseconds.
    let modules = py.import(intern!(py, "sys")).ok()?.getattr(intern!(py, "modules")).ok()?;
    let asyncio = modules.get_item(intern!(py, "asyncio")).ok()?;
    let running = asyncio.getattr(intern!(py, "_get_running_loop")).ok()?.call0().ok()?;
    if running.is_none() {
        return None;
    }
    let task = asyncio.getattr(intern!(py, "current_task")).ok()?.call1((running,)).ok()?;
    if task.is_none() {
        return None;
    }
    PyWeakrefReference::new(&task).ok().map(Bound::unbind)
}

fn current_greenlet(py: Python<'_>) -> Option<Py<PyWeakrefReference>> {
    // Greenlet mode only when gevent made threads greenlets, as upstream decides.
    let modules = py.import(intern!(py, "sys")).ok()?.getattr(intern!(py, "modules")).ok()?;
    let monkey = modules.get_item(intern!(py, "gevent.monkey")).ok()?;
    let patched = monkey.call_method1(intern!(py, "is_module_patched"), ("threading",)).ok()?.is_truthy().ok()?;
    if !patched {
        return None;
    }
    let greenlet = py.import(intern!(py, "greenlet")).ok()?.call_method0(intern!(py, "getcurrent")).ok()?;
    PyWeakrefReference::new(&greenlet).ok().map(Bound::unbind)
}

/// The calling thread's stack as the profiler captures it (outermost first, at most
/// `max_depth` frames): lets benchmarks and tests measure and check a capture directly.
#[pyfunction]
#[pyo3(signature = (max_depth = 500))]
pub fn capture_current_stack(py: Python<'_>, max_depth: usize) -> PyResult<Vec<String>> {
    let target = Target { kind: TargetKind::Thread, ..Target::current(py) };
    target.capture(py, max_depth).map_err(|error| match error {
        StackError::Ended => pyo3::exceptions::PyRuntimeError::new_err("the thread is gone"),
        StackError::Failed(reason) => pyo3::exceptions::PyRuntimeError::new_err(reason),
    })
}
