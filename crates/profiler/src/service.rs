//! The profiler: upstream's ProfileTaskExecutionService (accepts, schedules and finishes
//! tasks), ProfileTaskExecutionContext (slots) and ProfileThread (the sampler loop) in one
//! object, shared as `Arc<Profiler>` by the request path, the command poller and one
//! sampler thread.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::Duration;

use log::{debug, info, warn};
use sw_proto::v3::{Command, Commands, ThreadSnapshot, ThreadStack};

use crate::clock::{Clock, SystemClock};
use crate::context::{Admit, Job, Spot, TaskContext};
use crate::serials::SerialCache;
use crate::target::{cut_stack, CaptureError, CaptureTarget};
use crate::task::{ProfileTask, TaskError};

/// How long the sampler sleeps at most, and when no task runs or waits.
const IDLE_WAIT_MS: i64 = 1_000;

/// Where snapshots and finished tasks go (the reporter). Both calls are made from the
/// sampler thread and must not block.
pub trait SnapshotSink: Send + Sync {
    /// Queues one snapshot; returns false when it was dropped (queue full).
    fn snapshot(&self, snapshot: ThreadSnapshot) -> bool;
    /// The task ended (or expired before it could start): report `reportTaskFinish`.
    fn task_finished(&self, task_id: &str);
}

/// What [`Profiler::record_now`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub enum Recording {
    /// A snapshot with this sequence number went to the sink.
    Sent {
        /// Its sequence number within the segment.
        sequence: i32,
    },
    /// A snapshot was taken but the sink dropped it (queue full); its sequence number is
    /// spent, as for a dropped timed sample.
    Dropped {
        /// Its sequence number within the segment.
        sequence: i32,
    },
    /// The request has not run longer than the task's threshold yet; nothing was captured.
    TooEarly,
    /// The segment holds no slot (no task, never profiled, finished, task ended, or the
    /// sampling budget ran out before its first snapshot); nothing was captured.
    NotProfiled,
    /// The capture failed; the slot is kept (the sampler decides about it on its next
    /// visit) and no sequence number was spent.
    Failed(CaptureError),
}

/// Told the id of every segment that loses its slot, whatever the reason: the segment
/// finished, its capture failed, the budget ran out before its first snapshot, or the task
/// ended. Called once per freed slot, without the profiler's lock, on the thread that freed
/// it: the request's (from [`Profiler::segment_finished`] or [`Profiler::record_now`]) or
/// the sampler's. Like a capture, it may wait for locks of its own (the GIL): the profiler
/// holds no lock then that the request path ever waits for.
pub type SlotListener = Box<dyn Fn(&str) + Send + Sync>;

/// Profiler limits, each from the agent option named (defaults live in
/// `skywalking/config.py` only, so there is no `Default`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfilerConfig {
    /// Requests profiled at the same time (`agent_profile_max_parallel`).
    pub max_parallel: usize,
    /// Frames kept per snapshot (`agent_profile_dump_max_stack_depth`).
    pub max_stack_depth: usize,
    /// Capacity of the sink's snapshot queue (`agent_profile_snapshot_transport_buffer_size`).
    /// The profiler keeps no queue itself; the sink is built with this size.
    pub snapshot_queue_size: usize,
    /// A segment is sampled at most this long after it started; then its slot is freed
    /// for another request (`agent_profile_duration`, minutes).
    pub max_segment_duration: Duration,
}

/// Counters since the profiler was created, plus the slots in use now.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ProfilerStats {
    /// Tasks queued.
    pub tasks_accepted: u64,
    /// Commands that did not become a task (unparsable, invalid, overlapping).
    pub tasks_rejected: u64,
    /// Commands ignored because their serial number was seen already.
    pub commands_duplicated: u64,
    /// Tasks ended and reported with `task_finished`.
    pub tasks_finished: u64,
    /// Segments that took a slot.
    pub segments_profiled: u64,
    /// Snapshots the sink accepted.
    pub snapshots_sent: u64,
    /// Snapshots the sink dropped.
    pub snapshots_dropped: u64,
    /// Captures that failed (not counting ended threads).
    pub capture_failures: u64,
    /// Slots held right now.
    pub slots_in_use: usize,
}

#[derive(Default)]
struct Counters {
    tasks_accepted: AtomicU64,
    tasks_rejected: AtomicU64,
    commands_duplicated: AtomicU64,
    tasks_finished: AtomicU64,
    segments_profiled: AtomicU64,
    snapshots_sent: AtomicU64,
    snapshots_dropped: AtomicU64,
    capture_failures: AtomicU64,
}

fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

#[derive(Default)]
struct State {
    /// Accepted tasks that have not started, by start time.
    queued: Vec<ProfileTask>,
    running: Option<TaskContext>,
    serials: SerialCache,
    /// Set by [`Profiler::wake`] so that a wake-up sent while the sampler was busy is not lost.
    wake_pending: bool,
}

/// The profiler. See the crate documentation for the flow.
pub struct Profiler {
    config: ProfilerConfig,
    sink: Box<dyn SnapshotSink>,
    clock: Arc<dyn Clock>,
    /// Whether a task runs; the only thing the request path reads when none does.
    active: AtomicBool,
    /// Slots in use; lets `segment_finished` skip the lock when no segment is profiled.
    occupied: AtomicUsize,
    last_command_time: AtomicI64,
    state: Mutex<State>,
    wake: Condvar,
    /// Held for one sampler pass, so two sampler threads cannot sample the same slots.
    /// Never taken by [`Profiler::record_now`]: a pass waits for the GIL while capturing, and
    /// `record_now` runs on a thread that holds it.
    pass: Mutex<()>,
    counters: Counters,
    slot_listener: OnceLock<SlotListener>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // The state stays consistent between statements, so a panic elsewhere need not stop profiling.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Profiler {
    /// A profiler on the system clock.
    pub fn new(config: ProfilerConfig, sink: Box<dyn SnapshotSink>) -> Arc<Profiler> {
        Self::with_clock(config, sink, Arc::new(SystemClock))
    }

    /// A profiler reading time from `clock` (tests use [`crate::ManualClock`]).
    pub fn with_clock(config: ProfilerConfig, sink: Box<dyn SnapshotSink>, clock: Arc<dyn Clock>) -> Arc<Profiler> {
        Arc::new(Profiler {
            config,
            sink,
            clock,
            active: AtomicBool::new(false),
            occupied: AtomicUsize::new(0),
            // Upstream starts polling with -1: "no command seen yet".
            last_command_time: AtomicI64::new(-1),
            state: Mutex::new(State::default()),
            wake: Condvar::new(),
            pass: Mutex::new(()),
            counters: Counters::default(),
            slot_listener: OnceLock::new(),
        })
    }

    /// The limits this profiler was built with.
    pub fn config(&self) -> &ProfilerConfig {
        &self.config
    }

    /// A command from the backend: parse, validate with upstream's limits, reject a task
    /// whose window overlaps one queued or running, ignore a serial number seen among the
    /// last 64 (returning `Ok`), and queue the task. Every error is logged once here.
    pub fn add_command(&self, command: &Command, now_ms: i64) -> Result<(), TaskError> {
        let result = self.accept(command, now_ms);
        if result.is_err() {
            bump(&self.counters.tasks_rejected);
        }
        result
    }

    /// [`Profiler::add_command`] for every command of one poll, in order.
    pub fn add_commands(&self, commands: &Commands, now_ms: i64) -> Vec<Result<(), TaskError>> {
        commands.commands.iter().map(|command| self.add_command(command, now_ms)).collect()
    }

    fn accept(&self, command: &Command, now_ms: i64) -> Result<(), TaskError> {
        let task =
            ProfileTask::from_command(command).inspect_err(|err| warn!("profile task command ignored: {err}"))?;
        // Upstream moves lastCommandTime forward before checking the task, so a rejected
        // task is not handed out again on the next poll.
        self.last_command_time.fetch_max(task.create_time_ms, Ordering::SeqCst);
        let mut state = lock(&self.state);
        if !state.serials.insert(&task.serial_number) {
            bump(&self.counters.commands_duplicated);
            debug!("profile task {} ignored: serial number {} already received", task.task_id, task.serial_number);
            return Ok(());
        }
        task.validate().inspect_err(|err| warn!("profile task {} rejected: {err}", task.task_id))?;
        let running = state.running.as_ref().map(|ctx| &ctx.task);
        if let Some(other) = running.into_iter().chain(&state.queued).find(|other| other.overlaps(&task)) {
            let err = TaskError::Overlaps { task_id: task.task_id.clone(), other: other.task_id.clone() };
            warn!(
                "{err}: [{}, {}) against [{}, {})",
                task.start_time_ms,
                task.end_time_ms(),
                other.start_time_ms,
                other.end_time_ms()
            );
            return Err(err);
        }
        info!(
            "profile task {} accepted: endpoint {:?}, starts in {} ms for {} min, threshold {} ms, period {} ms, at most {} requests",
            task.task_id,
            task.endpoint_name,
            task.start_time_ms.saturating_sub(now_ms).max(0),
            task.duration_min,
            task.min_duration_threshold_ms,
            task.dump_period_ms,
            task.max_sampling_count
        );
        let at = state.queued.partition_point(|queued| queued.start_time_ms <= task.start_time_ms);
        state.queued.insert(at, task);
        bump(&self.counters.tasks_accepted);
        state.wake_pending = true;
        self.wake.notify_all();
        Ok(())
    }

    /// Creation time of the newest command received, rejected ones included; -1 before any.
    pub fn last_command_time(&self) -> i64 {
        self.last_command_time.load(Ordering::SeqCst)
    }

    /// Called on a segment's first entry span, and again when that span is renamed. Costs
    /// one atomic load when no task runs. Otherwise the segment takes a slot when `endpoint`
    /// is the task's endpoint, a slot is free and the task's sampling budget is not spent.
    /// Returns whether the segment is profiled; a segment already holding a slot gets true.
    pub fn try_profile(
        &self,
        segment_id: &str,
        endpoint: &str,
        start_time_ms: i64,
        target: Arc<dyn CaptureTarget>,
    ) -> bool {
        if !self.active.load(Ordering::Acquire) {
            return false;
        }
        let mut state = lock(&self.state);
        let Some(ctx) = state.running.as_mut() else { return false };
        match ctx.admit(segment_id, endpoint, start_time_ms, target) {
            Admit::Already => true,
            Admit::Taken => {
                bump(&self.counters.segments_profiled);
                self.occupied.store(ctx.occupied(), Ordering::Release);
                debug!("segment {segment_id} profiled by task {}", ctx.task.task_id);
                true
            }
            Admit::Refused => false,
        }
    }

    /// The segment finished: frees its slot, so the worker's next request can be profiled.
    pub fn segment_finished(&self, segment_id: &str) {
        if self.occupied.load(Ordering::Acquire) == 0 {
            return;
        }
        let released = {
            let mut state = lock(&self.state);
            match state.running.as_mut() {
                Some(ctx) => {
                    ctx.release(segment_id);
                    self.occupied.store(ctx.occupied(), Ordering::Release);
                    ctx.drain_released()
                }
                None => Vec::new(),
            }
        };
        self.tell_released(released);
    }

    /// Whether the segment holds a slot of the running task. Takes the lock only while a
    /// segment is profiled.
    pub fn is_profiling(&self, segment_id: &str) -> bool {
        if self.occupied.load(Ordering::Acquire) == 0 {
            return false;
        }
        lock(&self.state).running.as_ref().is_some_and(|ctx| ctx.holds(segment_id))
    }

    /// Sets the [`SlotListener`]; returns false (and keeps the first) when one is set.
    pub fn on_slot_released(&self, listener: SlotListener) -> bool {
        self.slot_listener.set(listener).is_ok()
    }

    fn tell_released(&self, segment_ids: Vec<String>) {
        let Some(listener) = self.slot_listener.get() else { return };
        for segment_id in segment_ids {
            // A buggy listener must not end the sampler thread or a request.
            if catch_unwind(AssertUnwindSafe(|| listener(&segment_id))).is_err() {
                warn!("profiler slot listener panicked for segment {segment_id}");
            }
        }
    }

    /// A snapshot of one profiled segment, now, outside the sampler's rhythm (upstream's
    /// GreenletProfiler snapshots on every switch of the request's greenlet). The dump
    /// period does not apply; the rest does as for a timed sample: nothing before the
    /// request has run longer than the threshold, the segment's first snapshot spends one
    /// unit of the task's sampling budget (and a segment not sampled yet loses its slot once
    /// the budget is spent), and the sequence number comes from the segment's counter that
    /// the sampler uses too, so a segment's sequences stay 0, 1, 2, ... however its
    /// snapshots were taken.
    ///
    /// `capture(max_depth)` reads the stack; it runs on the calling thread without the
    /// profiler's lock, and only when a snapshot is due. Costs two atomic loads when no
    /// segment is profiled. The sink is called on this thread and must not block.
    pub fn record_now<F>(&self, segment_id: &str, capture: F) -> Recording
    where
        F: FnOnce(usize) -> Result<Vec<String>, CaptureError>,
    {
        if !self.active.load(Ordering::Acquire) || self.occupied.load(Ordering::Acquire) == 0 {
            return Recording::NotProfiled;
        }
        let time = self.clock.now_ms();
        let (spot, task_id, released) = {
            let mut state = lock(&self.state);
            let Some(ctx) = state.running.as_mut() else { return Recording::NotProfiled };
            let spot = ctx.check_spot(segment_id, time);
            let released = ctx.drain_released();
            self.occupied.store(ctx.occupied(), Ordering::Release);
            (spot, ctx.task.task_id.clone(), released)
        };
        self.tell_released(released);
        let token = match spot {
            Spot::Capture { token } => token,
            Spot::TooEarly => return Recording::TooEarly,
            Spot::NotProfiled => return Recording::NotProfiled,
        };
        let depth = self.config.max_stack_depth;
        let frames = match catch_unwind(AssertUnwindSafe(|| capture(depth)))
            .unwrap_or_else(|_| Err(CaptureError::Failed("capture panicked".into())))
        {
            Ok(frames) => frames,
            Err(error) => {
                if matches!(error, CaptureError::Failed(_)) {
                    bump(&self.counters.capture_failures);
                }
                return Recording::Failed(error);
            }
        };
        let (sequence, released) = {
            let mut state = lock(&self.state);
            // Tokens restart with each task: the task must be the one checked above.
            match state.running.as_mut().filter(|ctx| ctx.task.task_id == task_id) {
                Some(ctx) => {
                    let sequence = ctx.take_sequence(token);
                    let released = ctx.drain_released();
                    self.occupied.store(ctx.occupied(), Ordering::Release);
                    (sequence, released)
                }
                None => (None, Vec::new()),
            }
        };
        self.tell_released(released);
        let Some(sequence) = sequence else { return Recording::NotProfiled };
        if self.send(&task_id, segment_id, time, sequence, frames) {
            Recording::Sent { sequence }
        } else {
            Recording::Dropped { sequence }
        }
    }

    /// Builds a snapshot and hands it to the sink; returns whether the sink took it.
    fn send(&self, task_id: &str, segment_id: &str, time: i64, sequence: i32, frames: Vec<String>) -> bool {
        let snapshot = ThreadSnapshot {
            task_id: task_id.to_owned(),
            trace_segment_id: segment_id.to_owned(),
            time,
            sequence,
            stack: Some(ThreadStack { code_signatures: cut_stack(frames, self.config.max_stack_depth) }),
        };
        let sent = self.sink.snapshot(snapshot);
        bump(if sent { &self.counters.snapshots_sent } else { &self.counters.snapshots_dropped });
        sent
    }

    /// Whether a task runs right now.
    pub fn is_active(&self) -> bool {
        self.active.load(Ordering::Acquire)
    }

    /// The sampler loop, on a thread of its own, until `stop` is set (then call
    /// [`Profiler::shutdown`] to cut its sleep short). Each pass is [`Profiler::run_once`];
    /// between passes it sleeps until the next dump, start or stop, at most 1 s, or until
    /// woken.
    pub fn run(&self, stop: &AtomicBool) {
        debug!("profiler sampler started");
        while !stop.load(Ordering::Acquire) {
            let wait = self.run_once();
            let mut state = lock(&self.state);
            if !wait.is_zero() && !state.wake_pending && !stop.load(Ordering::Acquire) {
                state = self.wake.wait_timeout(state, wait).map_or_else(|e| e.into_inner().0, |(guard, _)| guard);
            }
            state.wake_pending = false;
        }
        debug!("profiler sampler stopped");
    }

    /// Wakes [`Profiler::run`] so that it sees its stop flag; set the flag first.
    pub fn shutdown(&self) {
        self.wake();
    }

    /// Wakes [`Profiler::run`] for an early pass (e.g. after moving a test clock).
    pub fn wake(&self) {
        lock(&self.state).wake_pending = true;
        self.wake.notify_all();
    }

    /// One sampler pass at the clock's current time: finishes a task whose window has
    /// ended, starts the queued task whose start has come, and when the dump period is up,
    /// captures the occupied slots whose requests have run longer than the threshold.
    /// Returns how long to wait before the next pass. [`Profiler::run`] calls it in a loop;
    /// tests on a [`crate::ManualClock`] call it directly.
    pub fn run_once(&self) -> Duration {
        let _pass = lock(&self.pass);
        let now = self.clock.now_ms();
        let mut finished = Vec::new();
        let mut ended = Vec::new();
        let (task_id, jobs) = {
            let mut state = lock(&self.state);
            self.schedule(&mut state, now, &mut finished, &mut ended);
            match state.running.as_mut() {
                Some(ctx) if now >= ctx.next_dump_ms => {
                    let jobs = ctx.collect_due(now);
                    ended.append(&mut ctx.drain_released());
                    self.occupied.store(ctx.occupied(), Ordering::Release);
                    (Some(ctx.task.task_id.clone()), jobs)
                }
                _ => (None, Vec::new()),
            }
        };
        self.tell_released(ended);
        for task_id in &finished {
            bump(&self.counters.tasks_finished);
            self.sink.task_finished(task_id);
        }
        if let Some(task_id) = task_id {
            let failed = self.capture_all(&task_id, jobs);
            let after = self.clock.now_ms();
            let mut released = Vec::new();
            let mut state = lock(&self.state);
            if let Some(ctx) = state.running.as_mut() {
                for (job, reason) in &failed {
                    if let Some(reason) = reason {
                        if ctx.failure_logged {
                            debug!("profile task {task_id}: segment {} not sampled: {reason}", job.segment_id);
                        } else {
                            ctx.failure_logged = true;
                            warn!("profile task {task_id}: segment {} not sampled: {reason}", job.segment_id);
                        }
                    }
                    ctx.capture_failed(job);
                }
                released = ctx.drain_released();
                // As upstream: the next visit is one period after this one started, or one
                // full period after it ended when the visit overran.
                let period = ctx.task.dump_period_ms;
                ctx.next_dump_ms = if after.saturating_sub(now) < period {
                    now.saturating_add(period)
                } else {
                    after.saturating_add(period)
                };
                self.occupied.store(ctx.occupied(), Ordering::Release);
            }
            drop(state);
            self.tell_released(released);
        }
        self.wait_from(self.clock.now_ms())
    }

    /// Task changes due at `now`; the ids of finished tasks go to `finished`, the segments
    /// that lose their slots with them to `released`.
    fn schedule(&self, state: &mut State, now: i64, finished: &mut Vec<String>, released: &mut Vec<String>) {
        if state.running.as_ref().is_some_and(|ctx| now >= ctx.task.end_time_ms()) {
            if let Some(ctx) = state.running.take() {
                info!("profile task {} finished", ctx.task.task_id);
                finished.push(ctx.task.task_id.clone());
                released.append(&mut ctx.into_released());
            }
        }
        while state.queued.first().is_some_and(|task| task.start_time_ms <= now) {
            let task = state.queued.remove(0);
            if task.end_time_ms() <= now {
                info!("profile task {} ended before it could start; reported finished", task.task_id);
                finished.push(task.task_id);
                continue;
            }
            if let Some(old) = state.running.take() {
                // Cannot happen while overlaps are rejected; kept so that a running task is never
                // left without a finish report.
                info!("profile task {} stopped early: task {} starts", old.task.task_id, task.task_id);
                finished.push(old.task.task_id.clone());
                released.append(&mut old.into_released());
            }
            info!("profile task {} started on endpoint {:?}", task.task_id, task.endpoint_name);
            let max_segment_ms = i64::try_from(self.config.max_segment_duration.as_millis()).unwrap_or(i64::MAX);
            state.running = Some(TaskContext::new(task, self.config.max_parallel, max_segment_ms, now));
        }
        self.active.store(state.running.is_some(), Ordering::Release);
        self.occupied.store(state.running.as_ref().map_or(0, TaskContext::occupied), Ordering::Release);
    }

    /// Captures and sends each job's stack, without the lock (captures may take the GIL).
    /// Returns the jobs that produced no snapshot, with the failure message (None: ended).
    fn capture_all(&self, task_id: &str, jobs: Vec<Job>) -> Vec<(Job, Option<String>)> {
        let depth = self.config.max_stack_depth;
        let mut failed = Vec::new();
        for job in jobs {
            let time = self.clock.now_ms();
            // A panicking target must not end the sampler thread.
            let result = catch_unwind(AssertUnwindSafe(|| job.target.capture(depth)))
                .unwrap_or_else(|_| Err(CaptureError::Failed("capture panicked".into())));
            match result {
                Ok(frames) => {
                    self.send(task_id, &job.segment_id, time, job.sequence, frames);
                }
                Err(CaptureError::Ended) => {
                    debug!("profile task {task_id}: segment {} ended its thread", job.segment_id);
                    failed.push((job, None));
                }
                Err(CaptureError::Failed(reason)) => {
                    bump(&self.counters.capture_failures);
                    failed.push((job, Some(reason)));
                }
            }
        }
        failed
    }

    fn wait_from(&self, now: i64) -> Duration {
        let state = lock(&self.state);
        let mut deadline = now.saturating_add(IDLE_WAIT_MS);
        if let Some(ctx) = &state.running {
            deadline = deadline.min(ctx.next_dump_ms).min(ctx.task.end_time_ms());
        }
        if let Some(next) = state.queued.first() {
            deadline = deadline.min(next.start_time_ms);
        }
        Duration::from_millis(u64::try_from(deadline.saturating_sub(now)).unwrap_or(0))
    }

    /// Counters and slots in use.
    pub fn stats(&self) -> ProfilerStats {
        let slots_in_use = lock(&self.state).running.as_ref().map_or(0, TaskContext::occupied);
        let c = &self.counters;
        let get = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        ProfilerStats {
            tasks_accepted: get(&c.tasks_accepted),
            tasks_rejected: get(&c.tasks_rejected),
            commands_duplicated: get(&c.commands_duplicated),
            tasks_finished: get(&c.tasks_finished),
            segments_profiled: get(&c.segments_profiled),
            snapshots_sent: get(&c.snapshots_sent),
            snapshots_dropped: get(&c.snapshots_dropped),
            capture_failures: get(&c.capture_failures),
            slots_in_use,
        }
    }
}
