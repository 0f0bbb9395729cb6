//! Wiring of trace profiling: the profiler's thread, its link to the reporter (commands
//! in, snapshots out), and Python stack capture as the profiler's capture target.

use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::sync::{Arc, OnceLock};
use std::thread::JoinHandle;
use std::time::Duration;

use pyo3::prelude::*;
use sw_core::segment::now_ms;
use sw_profiler::{CaptureError, CaptureTarget, Profiler, ProfilerConfig, SnapshotSink};
use sw_proto::v3::{Commands, ThreadSnapshot};
use sw_reporter::{CommandHandler, ProfileOutlet};

use crate::stack::{StackError, Target};

/// Set while the interpreter may be going away: the sampler then never asks for the GIL.
static STOPPING: AtomicBool = AtomicBool::new(false);

/// Whether the agent is stopping: nothing may ask for the GIL from another thread then.
pub fn stopping() -> bool {
    STOPPING.load(SeqCst)
}

/// A running profiler and its sampling thread.
pub struct ProfilerHandle {
    pub profiler: Arc<Profiler>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for ProfilerHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProfilerHandle").field("active", &self.profiler.is_active()).finish()
    }
}

impl ProfilerHandle {
    /// Starts the sampling thread (one OS thread, idle until a task runs); snapshots leave
    /// through `outlet`.
    pub fn start(config: ProfilerConfig, outlet: ProfileOutlet) -> std::io::Result<Arc<ProfilerHandle>> {
        STOPPING.store(false, SeqCst);
        let profiler = Profiler::new(config, Box::new(ReporterSink(outlet)));
        // Greenlet mode hooks switches while a segment holds its slot.
        profiler.on_slot_released(Box::new(crate::greenlet::slot_released));
        let stop = Arc::new(AtomicBool::new(false));
        let (runner, flag) = (profiler.clone(), stop.clone());
        let thread = std::thread::Builder::new().name("skywalking-profiler".into()).spawn(move || runner.run(&flag))?;
        Ok(Arc::new(ProfilerHandle { profiler, stop, thread: Some(thread) }))
    }

    /// Stops sampling and waits (bounded) for the thread, so it never needs the GIL again.
    pub fn stop(&self, py: Python<'_>) {
        STOPPING.store(true, SeqCst);
        self.stop.store(true, SeqCst);
        self.profiler.shutdown();
        if let Some(thread) = &self.thread {
            let deadline = std::time::Instant::now() + Duration::from_secs(2);
            // The thread may be waiting for the GIL this thread holds: release it meanwhile.
            py.allow_threads(|| {
                while !thread.is_finished() && std::time::Instant::now() < deadline {
                    std::thread::sleep(Duration::from_millis(5));
                }
            });
        }
    }

    /// Abandons the handle in a forked child, where its thread does not exist.
    pub fn abandon_after_fork(handle: Arc<ProfilerHandle>) {
        std::mem::forget(handle);
    }
}

/// Snapshots and task finishes go straight into the reporter's queues (no global lock:
/// this runs on the profiler's thread, which does not hold the GIL).
struct ReporterSink(ProfileOutlet);

impl SnapshotSink for ReporterSink {
    fn snapshot(&self, snapshot: ThreadSnapshot) -> bool {
        self.0.snapshot(snapshot)
    }

    fn task_finished(&self, task_id: &str) {
        self.0.task_finished(task_id.to_owned());
    }
}

/// The reporter hands polled commands to the profiler, once the profiler exists (it is
/// created after the reporter, whose queues it sends to).
#[derive(Default)]
pub struct Commands2Profiler(pub OnceLock<Arc<Profiler>>);

impl CommandHandler for Commands2Profiler {
    fn last_command_time(&self) -> i64 {
        self.0.get().map_or(-1, |p| p.last_command_time())
    }

    fn handle(&self, commands: Commands) {
        let Some(profiler) = self.0.get() else { return };
        for command in &commands.commands {
            if command.command == sw_profiler::PROFILE_TASK_COMMAND {
                if let Err(error) = profiler.add_command(command, now_ms()) {
                    log::debug!("profile task command not accepted: {error}");
                }
            } else {
                log::debug!("ignoring unsupported command {:?}", command.command);
            }
        }
    }
}

/// A profiled request as the profiler sees it.
pub struct PyTarget(pub Target);

impl PyTarget {
    /// The stack, on a thread that holds the GIL already (a greenlet switch).
    pub fn capture_held(&self, py: Python<'_>, max_depth: usize) -> Result<Vec<String>, CaptureError> {
        if STOPPING.load(SeqCst) {
            return Err(CaptureError::Ended);
        }
        self.0.capture(py, max_depth).map_err(|error| match error {
            StackError::Ended => CaptureError::Ended,
            StackError::Failed(reason) => CaptureError::Failed(reason),
        })
    }
}

impl CaptureTarget for PyTarget {
    fn capture(&self, max_depth: usize) -> Result<Vec<String>, CaptureError> {
        if STOPPING.load(SeqCst) {
            return Err(CaptureError::Ended);
        }
        crate::exit_gate::with_gil(|py| self.capture_held(py, max_depth)).unwrap_or(Err(CaptureError::Ended))
    }
}

/// Offers a segment's first entry span to the running profile task, if any. A segment that
/// is profiled in a greenlet also gets its switches snapshotted.
pub fn offer(py: Python<'_>, profiler: &Arc<Profiler>, segment_id: &str, endpoint: &str, start_time_ms: i64) {
    if profiler.is_active() {
        let target = Arc::new(PyTarget(Target::current(py)));
        if profiler.try_profile(segment_id, endpoint, start_time_ms, target.clone()) {
            crate::greenlet::hook(py, profiler, segment_id, &target);
        }
    }
}
