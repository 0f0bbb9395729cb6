//! Greenlet mode of the profiler (upstream's GreenletProfiler): when gevent has patched
//! threading and a request's greenlet takes a profiling slot, every switch into or out of
//! that greenlet snapshots its stack right away, through `greenlet.settrace`.
//!
//! The timed samples of the profiler's own thread go on as before; they are what sees a
//! greenlet that computes without ever switching. Snapshots taken here follow the task's
//! rules except the dump period (see `Profiler::record_now`): nothing before the request
//! has run longer than the threshold, the sampling budget counts segments, and sequence
//! numbers come from the counter the timed samples use.
//!
//! One trace function serves the whole process: a [`SwitchTracer`] installed when a
//! greenlet first takes a slot. For a switch between greenlets that are not profiled it
//! costs one uncontended lock and a few hash look-ups, then calls the trace function that
//! was installed before it, if any. Its own failures never raise into the switching code;
//! a capture that fails stops the switch snapshots of that slot only (with one log line),
//! and the timed samples decide about the slot as usual. An exception raised by the
//! chained trace function propagates, as it would have without this one (greenlet then
//! removes the trace function; the next profiled greenlet installs it again).
//!
//! Threads: greenlet keeps one trace function per thread. The tracer is installed on the
//! thread where a greenlet took its slot (the request's thread, where `offer` runs), which
//! is also the only thread that greenlet can ever switch on, so every switch of a profiled
//! greenlet is seen. Greenlets of other threads are not traced at all and pay nothing: a
//! thread gets the tracer only once one of its own greenlets is profiled. The tracer leaves
//! a thread (the previous trace function is put back) at that thread's first switch after
//! its last hooked slot was released (the segment finished, the task ended, the budget ran
//! out, or a capture failed); greenlet allows changing a thread's trace function only from
//! that thread, so the release itself, which may happen on the profiler's thread, cannot do
//! it. If another trace function was installed over this one meanwhile, this one cannot be
//! removed without dropping that one, so it stays in that chain as a pass-through.
//!
//! Locking: the registry is only touched with the GIL held, and no Python code runs while
//! its lock is held (objects removed from it are dropped after the lock is released), so a
//! fork, which CPython performs holding the GIL, never inherits the lock held; the forked
//! child forgets the parent's hooks (`os.register_at_fork`).

use std::cell::Cell;
use std::collections::HashMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, LazyLock, Mutex, MutexGuard, PoisonError};
use std::thread::ThreadId;

use pyo3::intern;
use pyo3::prelude::*;
use pyo3::sync::GILOnceCell;
use pyo3::types::{PyDict, PyTuple, PyWeakrefReference};
use sw_profiler::{CaptureError, Profiler, Recording};

use crate::profiling::{self, PyTarget};

/// One profiled segment whose greenlet's switches are snapshotted.
struct Hook {
    segment_id: String,
    /// Address of the greenlet: the registry's key, compared with a switch's greenlets.
    address: usize,
    /// The greenlet itself, to tell it from a newer object at the same address.
    greenlet: Py<PyWeakrefReference>,
    target: Arc<PyTarget>,
    profiler: Arc<Profiler>,
    thread: ThreadId,
}

/// The tracer's place on one thread.
#[derive(Default)]
struct ThreadState {
    /// Hooks whose greenlet lives on this thread.
    hooked: usize,
    /// Set while the tracer is (as far as known) in this thread's trace function chain.
    chain: Option<Chain>,
}

struct Chain {
    /// What `greenlet.settrace` returned when the tracer was installed.
    previous: Option<Py<PyAny>>,
    /// Another trace function was installed over the tracer: it cannot be removed.
    buried: bool,
}

#[derive(Default)]
struct Registry {
    /// Hooks by greenlet address; usually one per greenlet.
    hooks: HashMap<usize, Vec<Hook>>,
    /// Greenlet address by segment id.
    segments: HashMap<String, usize>,
    threads: HashMap<ThreadId, ThreadState>,
    /// Segments whose switch snapshots were given up (a failed capture), so a second offer
    /// of the same segment (a renamed entry span) does not hook it again.
    abandoned: Vec<String>,
}

static REGISTRY: LazyLock<Mutex<Registry>> = LazyLock::new(Mutex::default);
/// Hooks plus abandoned segments in the registry; lets the slot listener skip the GIL when
/// the registry has nothing to forget (always, outside greenlet mode).
static TRACKED: AtomicUsize = AtomicUsize::new(0);
/// Whether the forked-child reset was registered with `os.register_at_fork`.
static FORK_HANDLER: AtomicBool = AtomicBool::new(false);
/// The process-wide trace function.
static TRACER: GILOnceCell<Py<SwitchTracer>> = GILOnceCell::new();

thread_local! {
    /// Set while the tracer runs on this thread; breaks a loop through a chained trace
    /// function that calls the tracer again.
    static IN_TRACER: Cell<bool> = const { Cell::new(false) };
    static THREAD: ThreadId = std::thread::current().id();
}

/// Only call with the GIL held (see the module documentation).
fn registry(_py: Python<'_>) -> MutexGuard<'static, Registry> {
    REGISTRY.lock().unwrap_or_else(PoisonError::into_inner)
}

fn this_thread() -> ThreadId {
    THREAD.with(|id| *id)
}

/// After `segment_id` took a slot on this thread: when its request runs in a greenlet,
/// snapshot that greenlet on each of its switches. Called again for a segment already
/// hooked (a renamed entry span), it does nothing. Never raises.
pub fn hook(py: Python<'_>, profiler: &Arc<Profiler>, segment_id: &str, target: &Arc<PyTarget>) {
    // Greenlet mode is decided once, when the capture target was made (stack.rs).
    let Some(greenlet) = target.0.greenlet(py) else { return };
    let Ok(weak) = PyWeakrefReference::new(&greenlet) else { return };
    let thread = this_thread();
    {
        let mut reg = registry(py);
        if reg.segments.contains_key(segment_id) || reg.abandoned.iter().any(|s| s == segment_id) {
            return;
        }
        let address = greenlet.as_ptr() as usize;
        reg.segments.insert(segment_id.to_owned(), address);
        reg.hooks.entry(address).or_default().push(Hook {
            segment_id: segment_id.to_owned(),
            address,
            greenlet: weak.unbind(),
            target: Arc::clone(target),
            profiler: Arc::clone(profiler),
            thread,
        });
        reg.threads.entry(thread).or_default().hooked += 1;
        TRACKED.fetch_add(1, SeqCst);
    }
    if let Err(error) = install(py, thread) {
        log::warn!("greenlet switches of segment {segment_id} are not profiled: greenlet.settrace failed: {error}");
        drop(unhook(py, segment_id));
        return;
    }
    // The slot may have been freed on the profiler's thread before the hook was visible to
    // the slot listener; it is visible now, so a later release will reach it.
    if profiler.is_profiling(segment_id) {
        log::debug!("greenlet switches of segment {segment_id} are profiled");
    } else {
        drop(unhook(py, segment_id));
    }
}

/// The profiler's slot listener: `segment_id` lost its slot, stop hooking it. Runs on the
/// thread that freed the slot, the request's or the profiler's.
pub fn slot_released(segment_id: &str) {
    if TRACKED.load(SeqCst) == 0 || profiling::stopping() {
        return;
    }
    crate::exit_gate::with_gil(|py| {
        let removed = unhook(py, segment_id);
        {
            let mut reg = registry(py);
            if let Some(at) = reg.abandoned.iter().position(|s| s == segment_id) {
                reg.abandoned.swap_remove(at);
                TRACKED.fetch_sub(1, SeqCst);
            }
        }
        drop(removed);
    });
}

/// Removes a segment's hook; the caller drops it once the registry lock is released.
fn unhook(py: Python<'_>, segment_id: &str) -> Option<Hook> {
    let mut reg = registry(py);
    let address = reg.segments.remove(segment_id)?;
    let list = reg.hooks.get_mut(&address)?;
    let at = list.iter().position(|h| h.segment_id == segment_id)?;
    let hook = list.swap_remove(at);
    if list.is_empty() {
        reg.hooks.remove(&address);
    }
    if let Some(state) = reg.threads.get_mut(&hook.thread) {
        state.hooked = state.hooked.saturating_sub(1);
    }
    TRACKED.fetch_sub(1, SeqCst);
    Some(hook)
}

/// Stops the switch snapshots of one segment for good (its slot stays with the profiler;
/// the slot listener forgets the segment once the slot is freed).
fn abandon(py: Python<'_>, profiler: &Profiler, segment_id: &str) {
    let removed = unhook(py, segment_id);
    if profiler.is_profiling(segment_id) {
        registry(py).abandoned.push(segment_id.to_owned());
        TRACKED.fetch_add(1, SeqCst);
    }
    drop(removed);
}

fn greenlet_module(py: Python<'_>) -> PyResult<Bound<'_, PyModule>> {
    py.import(intern!(py, "greenlet"))
}

/// Puts the tracer into this thread's trace function chain unless it is there.
fn install(py: Python<'_>, thread: ThreadId) -> PyResult<()> {
    let tracer = TRACER.get_or_try_init(py, || Py::new(py, SwitchTracer))?.bind(py).clone();
    let greenlet = greenlet_module(py)?;
    let current = greenlet.call_method0(intern!(py, "gettrace"))?;
    {
        let mut reg = registry(py);
        let state = reg.threads.entry(thread).or_default();
        if current.is(&tracer) {
            state.chain.get_or_insert(Chain { previous: None, buried: false }).buried = false;
            return Ok(());
        }
        if let Some(chain) = state.chain.as_mut() {
            if !current.is_none() {
                // Someone installed a trace function over the tracer; it calls the tracer
                // as its previous one, or the tracer is out of reach anyway.
                chain.buried = true;
                return Ok(());
            }
        }
    }
    register_fork_handler(py, &tracer);
    let previous = greenlet.call_method1(intern!(py, "settrace"), (&tracer,))?;
    let previous = (!previous.is_none()).then(|| previous.unbind());
    let old = registry(py).threads.entry(thread).or_default().chain.replace(Chain { previous, buried: false });
    drop(old);
    Ok(())
}

/// Takes the tracer out of this thread's chain once no hooked greenlet lives here.
fn uninstall_if_idle(py: Python<'_>, thread: ThreadId) {
    let previous = {
        let reg = registry(py);
        match reg.threads.get(&thread) {
            Some(ThreadState { hooked: 0, chain: Some(chain) }) if !chain.buried => {
                chain.previous.as_ref().map(|p| p.clone_ref(py))
            }
            _ => return,
        }
    };
    let result = (|| -> PyResult<bool> {
        let greenlet = greenlet_module(py)?;
        let current = greenlet.call_method0(intern!(py, "gettrace"))?;
        let ours = TRACER.get(py).is_some_and(|t| current.is(t.bind(py)));
        if ours {
            greenlet.call_method1(intern!(py, "settrace"), (previous.as_ref().map(|p| p.bind(py)),))?;
        }
        // Not ours and not None: another trace function sits over the tracer.
        Ok(ours || current.is_none())
    })();
    let (removed, hooked_meanwhile) = {
        let mut reg = registry(py);
        let Some(state) = reg.threads.get_mut(&thread) else { return };
        let hooked_meanwhile = state.hooked > 0;
        let removed = match result {
            Ok(true) => reg.threads.remove(&thread),
            Ok(false) => {
                if let Some(chain) = state.chain.as_mut() {
                    chain.buried = true;
                }
                None
            }
            Err(error) => {
                log::debug!("greenlet trace function not restored: {error}");
                if let Some(chain) = state.chain.as_mut() {
                    chain.buried = true;
                }
                None
            }
        };
        (removed, hooked_meanwhile)
    };
    drop(removed);
    // Only Python code run by the calls above could hook a greenlet here meanwhile; if it
    // did, the tracer goes back in.
    if hooked_meanwhile {
        if let Err(error) = install(py, thread) {
            log::warn!("greenlet switches are no longer profiled on this thread: {error}");
        }
    }
}

fn register_fork_handler(py: Python<'_>, tracer: &Bound<'_, SwitchTracer>) {
    if FORK_HANDLER.swap(true, SeqCst) {
        return;
    }
    let registered = (|| -> PyResult<()> {
        let reset = tracer.getattr(intern!(py, "_after_fork_in_child"))?;
        let kwargs = PyDict::new(py);
        kwargs.set_item("after_in_child", reset)?;
        py.import(intern!(py, "os"))?.getattr(intern!(py, "register_at_fork"))?.call((), Some(&kwargs))?;
        Ok(())
    })();
    if let Err(error) = registered {
        log::debug!("greenlet profiling: no fork handler: {error}");
    }
}

/// What one switch asks for: a snapshot of a hooked greenlet.
struct Due {
    segment_id: String,
    address: usize,
    greenlet: Py<PyWeakrefReference>,
    target: Arc<PyTarget>,
    profiler: Arc<Profiler>,
}

/// The greenlet trace function: `tracer(event, (origin, target))` on every switch or throw
/// of the thread's greenlets, called by greenlet after the switch, in the target greenlet.
#[pyclass(frozen, module = "skywalking._core", name = "GreenletSwitchTracer")]
pub struct SwitchTracer;

#[pymethods]
impl SwitchTracer {
    #[pyo3(signature = (*args))]
    fn __call__(&self, py: Python<'_>, args: &Bound<'_, PyTuple>) -> PyResult<PyObject> {
        // Also covers the chained call: a trace function installed over the tracer that
        // calls it, and that the tracer chains to, must not loop. The price: a switch made
        // by the chained trace function itself reaches neither.
        let Some(_busy) = Busy::enter() else { return Ok(py.None()) };
        let thread = this_thread();
        let previous = catch_unwind(AssertUnwindSafe(|| on_switch(py, args, thread))).unwrap_or_else(|_| {
            log::warn!("greenlet switch profiling failed unexpectedly");
            previous_of(py, thread)
        });
        match previous {
            Some(previous) => previous.bind(py).call1(args).map(Bound::unbind),
            None => Ok(py.None()),
        }
    }

    /// `os.register_at_fork(after_in_child=...)`: the child has one thread and a new
    /// profiler; the parent's hooks mean nothing there.
    fn _after_fork_in_child(&self, py: Python<'_>) {
        let old = std::mem::take(&mut *registry(py));
        TRACKED.store(0, SeqCst);
        let thread = this_thread();
        if let Some(ThreadState { chain: Some(chain), .. }) = old.threads.get(&thread) {
            if !chain.buried {
                let previous = chain.previous.as_ref().map(|p| p.clone_ref(py));
                let restored = greenlet_module(py).and_then(|greenlet| {
                    let current = greenlet.call_method0(intern!(py, "gettrace"))?;
                    if TRACER.get(py).is_some_and(|t| current.is(t.bind(py))) {
                        greenlet.call_method1(intern!(py, "settrace"), (previous,))?;
                    }
                    Ok(())
                });
                if let Err(error) = restored {
                    log::debug!("greenlet trace function not restored after fork: {error}");
                }
            }
        }
        drop(old);
    }
}

/// Marks the tracer running on this thread until dropped.
struct Busy;

impl Busy {
    fn enter() -> Option<Busy> {
        (!IN_TRACER.with(|busy| busy.replace(true))).then_some(Busy)
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        IN_TRACER.with(|busy| busy.set(false));
    }
}

fn previous_in(reg: &Registry, py: Python<'_>, thread: ThreadId) -> Option<Py<PyAny>> {
    let chain = reg.threads.get(&thread)?.chain.as_ref()?;
    chain.previous.as_ref().map(|previous| previous.clone_ref(py))
}

fn previous_of(py: Python<'_>, thread: ThreadId) -> Option<Py<PyAny>> {
    previous_in(&registry(py), py, thread)
}

/// The tracer's own work for one switch: snapshot each hooked greenlet among the origin
/// and the target, and leave the thread when nothing here is hooked any more. Returns the
/// trace function to chain to. Never raises; failures are logged.
fn on_switch(py: Python<'_>, args: &Bound<'_, PyTuple>, thread: ThreadId) -> Option<Py<PyAny>> {
    let pair = args.get_item(1).ok();
    let pair = pair.as_ref().and_then(|p| p.downcast::<PyTuple>().ok());
    let mut addresses = [0usize; 2];
    if let Some(pair) = pair.filter(|p| p.len() == 2) {
        for (slot, item) in addresses.iter_mut().zip(pair.iter()) {
            *slot = item.as_ptr() as usize;
        }
    }
    let (due, previous) = {
        let reg = registry(py);
        let previous = previous_in(&reg, py, thread);
        let mut due = Vec::new();
        if !reg.hooks.is_empty() {
            for (i, address) in addresses.iter().enumerate() {
                if *address == 0 || (i == 1 && addresses[0] == *address) {
                    continue;
                }
                for hook in reg.hooks.get(address).into_iter().flatten() {
                    due.push(Due {
                        segment_id: hook.segment_id.clone(),
                        address: hook.address,
                        greenlet: hook.greenlet.clone_ref(py),
                        target: Arc::clone(&hook.target),
                        profiler: Arc::clone(&hook.profiler),
                    });
                }
            }
        }
        let idle_here =
            reg.threads.get(&thread).is_some_and(|s| s.hooked == 0 && s.chain.as_ref().is_some_and(|c| !c.buried));
        if due.is_empty() && !idle_here {
            return previous;
        }
        (due, previous)
    };
    for job in &due {
        snapshot(py, job);
    }
    uninstall_if_idle(py, thread);
    previous
}

fn snapshot(py: Python<'_>, job: &Due) {
    // The same address may now belong to a newer object: only the hooked greenlet counts.
    let alive = job.greenlet.bind(py).upgrade().is_some_and(|g| g.as_ptr() as usize == job.address);
    if !alive {
        drop(unhook(py, &job.segment_id));
        return;
    }
    match job.profiler.record_now(&job.segment_id, |depth| job.target.capture_held(py, depth)) {
        Recording::Sent { .. } | Recording::Dropped { .. } | Recording::TooEarly => {}
        Recording::NotProfiled => drop(unhook(py, &job.segment_id)),
        Recording::Failed(CaptureError::Ended) => abandon(py, &job.profiler, &job.segment_id),
        Recording::Failed(CaptureError::Failed(reason)) => {
            log::warn!(
                "greenlet switches of segment {} are no longer profiled: stack capture failed: {reason}",
                job.segment_id
            );
            abandon(py, &job.profiler, &job.segment_id);
        }
    }
}
