//! Trace-linked, task-driven profiling for skywalking-rs, in plain Rust: no Python, no
//! network, no async runtime.
//!
//! The flow, with SkyWalking's names:
//!
//! 1. The reporter polls the backend and hands `ProfileTaskQuery` commands to
//!    [`Profiler::add_command`], sending [`Profiler::last_command_time`] with each poll.
//!    A command is parsed into a [`ProfileTask`], checked against upstream's limits and
//!    against the tasks already queued or running, and queued.
//! 2. [`Profiler::run`], on a thread of its own, starts the task at its start time and
//!    finishes it at its end, reporting [`SnapshotSink::task_finished`].
//! 3. While a task runs, the tracer calls [`Profiler::try_profile`] on each segment's first
//!    entry span with a [`CaptureTarget`] for the request's thread, greenlet or task; a
//!    matching request takes one of `max_parallel` slots, and [`Profiler::segment_finished`]
//!    frees it (upstream never does, so its long-lived workers exhaust the slots).
//! 4. Every dump period the sampler captures each slot whose request has run longer than the
//!    task's threshold and hands a `ThreadSnapshot` to the [`SnapshotSink`].
//! 5. Greenlet mode adds snapshots taken on the spot, on each switch of a profiled greenlet:
//!    [`Profiler::record_now`] applies the same threshold, budget and per-segment sequence
//!    as the sampler, without the dump period. A [`SlotListener`] set with
//!    [`Profiler::on_slot_released`] hears of every freed slot, so the switch hook can stop.

mod clock;
mod context;
mod serials;
mod service;
mod target;
mod task;

pub use clock::{Clock, ManualClock, SystemClock};
pub use service::{Profiler, ProfilerConfig, ProfilerStats, Recording, SlotListener, SnapshotSink};
pub use target::{code_signature, cut_stack, CaptureError, CaptureTarget};
pub use task::{
    ProfileTask, TaskError, MAX_DURATION_MIN, MAX_SAMPLING_COUNT, MIN_DUMP_PERIOD_MS, MIN_DURATION_MIN,
    PROFILE_TASK_COMMAND,
};
