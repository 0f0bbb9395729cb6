//! Helpers shared by the integration tests: commands, a recording sink, fake targets.
#![allow(dead_code)] // each test binary uses a different part

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use sw_profiler::{CaptureError, CaptureTarget, ManualClock, Profiler, ProfilerConfig, SnapshotSink};
use sw_proto::v3::{Command, KeyStringValuePair, ThreadSnapshot};

pub const MINUTE: i64 = 60_000;
/// An arbitrary "now" for manual clocks: 2024-01-01.
pub const T0: i64 = 1_704_067_200_000;

/// The arguments of a valid task, as the backend sends them.
#[derive(Clone, Debug)]
pub struct Args {
    pub serial: String,
    pub task_id: String,
    pub endpoint: String,
    pub duration_min: i64,
    pub threshold_ms: i64,
    pub dump_period_ms: i64,
    pub max_sampling: i64,
    pub start_ms: i64,
    pub create_ms: i64,
}

impl Args {
    /// A valid task starting at `start_ms`: endpoint `/e`, 1 minute, no threshold, 10 ms
    /// period, 5 samples.
    pub fn new(task_id: &str, start_ms: i64) -> Self {
        Self {
            serial: format!("serial-{task_id}"),
            task_id: task_id.into(),
            endpoint: "/e".into(),
            duration_min: 1,
            threshold_ms: 0,
            dump_period_ms: 10,
            max_sampling: 5,
            start_ms,
            create_ms: start_ms - 1,
        }
    }

    pub fn pairs(&self) -> Vec<(&'static str, String)> {
        vec![
            ("SerialNumber", self.serial.clone()),
            ("TaskId", self.task_id.clone()),
            ("EndpointName", self.endpoint.clone()),
            ("Duration", self.duration_min.to_string()),
            ("MinDurationThreshold", self.threshold_ms.to_string()),
            ("DumpPeriod", self.dump_period_ms.to_string()),
            ("MaxSamplingCount", self.max_sampling.to_string()),
            ("StartTime", self.start_ms.to_string()),
            ("CreateTime", self.create_ms.to_string()),
        ]
    }

    pub fn command(&self) -> Command {
        command_of(self.pairs().iter().map(|(k, v)| (*k, v.as_str())))
    }
}

pub fn command_of<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Command {
    Command {
        command: "ProfileTaskQuery".into(),
        args: pairs.into_iter().map(|(k, v)| KeyStringValuePair { key: k.into(), value: v.into() }).collect(),
    }
}

/// Records what the profiler sends; accepts at most `capacity` snapshots, then drops.
#[derive(Default)]
pub struct Recorded {
    pub snapshots: Mutex<Vec<ThreadSnapshot>>,
    pub finished: Mutex<Vec<String>>,
    pub capacity: Option<usize>,
    pub offered: AtomicUsize,
}

impl Recorded {
    pub fn snapshots(&self) -> Vec<ThreadSnapshot> {
        self.snapshots.lock().unwrap().clone()
    }

    pub fn finished(&self) -> Vec<String> {
        self.finished.lock().unwrap().clone()
    }

    /// (segment, sequence) of every snapshot, in arrival order.
    pub fn sequences(&self) -> Vec<(String, i32)> {
        self.snapshots().into_iter().map(|s| (s.trace_segment_id, s.sequence)).collect()
    }

    pub fn for_segment(&self, segment: &str) -> Vec<ThreadSnapshot> {
        self.snapshots().into_iter().filter(|s| s.trace_segment_id == segment).collect()
    }
}

pub struct Sink(pub Arc<Recorded>);

impl SnapshotSink for Sink {
    fn snapshot(&self, snapshot: ThreadSnapshot) -> bool {
        self.0.offered.fetch_add(1, Ordering::SeqCst);
        let mut snapshots = self.0.snapshots.lock().unwrap();
        if self.0.capacity.is_some_and(|cap| snapshots.len() >= cap) {
            return false;
        }
        snapshots.push(snapshot);
        true
    }

    fn task_finished(&self, task_id: &str) {
        self.0.finished.lock().unwrap().push(task_id.into());
    }
}

/// What a fake target's next capture does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Mode {
    Stack(Vec<String>),
    Ended,
    Failed(String),
}

/// A stand-in for a request's thread: returns whatever stack it is told to have.
pub struct FakeTarget {
    pub mode: Mutex<Mode>,
    pub calls: AtomicUsize,
    pub depths: Mutex<Vec<usize>>,
}

impl FakeTarget {
    pub fn with_stack(frames: &[&str]) -> Arc<FakeTarget> {
        Self::new(Mode::Stack(frames.iter().map(|f| (*f).to_owned()).collect()))
    }

    pub fn new(mode: Mode) -> Arc<FakeTarget> {
        Arc::new(FakeTarget { mode: Mutex::new(mode), calls: AtomicUsize::new(0), depths: Mutex::new(Vec::new()) })
    }

    pub fn set(&self, mode: Mode) {
        *self.mode.lock().unwrap() = mode;
    }

    pub fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
}

impl CaptureTarget for FakeTarget {
    fn capture(&self, max_depth: usize) -> Result<Vec<String>, CaptureError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.depths.lock().unwrap().push(max_depth);
        match &*self.mode.lock().unwrap() {
            Mode::Stack(frames) => Ok(frames.clone()),
            Mode::Ended => Err(CaptureError::Ended),
            Mode::Failed(reason) => Err(CaptureError::Failed(reason.clone())),
        }
    }
}

/// A profiler on a manual clock at `T0`, with its recorder.
pub fn manual(config: ProfilerConfig, capacity: Option<usize>) -> (Arc<Profiler>, Arc<ManualClock>, Arc<Recorded>) {
    let clock = Arc::new(ManualClock::new(T0));
    let recorded = Arc::new(Recorded { capacity, ..Recorded::default() });
    let profiler = Profiler::with_clock(config, Box::new(Sink(Arc::clone(&recorded))), clock.clone());
    (profiler, clock, recorded)
}

/// A manual profiler whose task (from `args`, starting at `T0`) is already running.
pub fn running(config: ProfilerConfig, args: &Args) -> (Arc<Profiler>, Arc<ManualClock>, Arc<Recorded>) {
    let (profiler, clock, recorded) = manual(config, None);
    profiler.add_command(&args.command(), T0).expect("valid task");
    profiler.run_once();
    assert!(profiler.is_active(), "task {} should run at its start time", args.task_id);
    (profiler, clock, recorded)
}

/// Test limits (the agent's defaults live in `skywalking/config.py`): 500 frames, 50
/// queued snapshots, segments sampled for at most 10 minutes.
pub fn config(max_parallel: usize) -> ProfilerConfig {
    ProfilerConfig {
        max_parallel,
        max_stack_depth: 500,
        snapshot_queue_size: 50,
        max_segment_duration: std::time::Duration::from_secs(600),
    }
}
