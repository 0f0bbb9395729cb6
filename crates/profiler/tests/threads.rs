//! The sampler on its own thread, real time, real request threads.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use common::{config, Args, Recorded, Sink};
use sw_profiler::{CaptureError, CaptureTarget, Clock, Profiler, ProfilerConfig, SystemClock};

/// A profiler on the system clock with its sampler thread running.
struct Running {
    profiler: Arc<Profiler>,
    recorded: Arc<Recorded>,
    stop: Arc<AtomicBool>,
    sampler: Option<thread::JoinHandle<()>>,
}

impl Running {
    fn start(config: ProfilerConfig) -> Running {
        let recorded = Arc::new(Recorded::default());
        let profiler = Profiler::new(config, Box::new(Sink(Arc::clone(&recorded))));
        let stop = Arc::new(AtomicBool::new(false));
        let sampler = {
            let (profiler, stop) = (Arc::clone(&profiler), Arc::clone(&stop));
            thread::spawn(move || profiler.run(&stop))
        };
        Running { profiler, recorded, stop, sampler: Some(sampler) }
    }

    /// Stops the sampler; returns how long that took.
    fn stop(&mut self) -> Duration {
        let asked = Instant::now();
        self.stop.store(true, Ordering::Release);
        self.profiler.shutdown();
        if let Some(sampler) = self.sampler.take() {
            sampler.join().expect("sampler thread");
        }
        asked.elapsed()
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.stop();
    }
}

fn now() -> i64 {
    SystemClock.now_ms()
}

fn wait_for(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let until = Instant::now() + limit;
    while !done() {
        assert!(Instant::now() < until, "timed out waiting for {what}");
        thread::sleep(Duration::from_millis(2));
    }
}

/// A request thread as the Python side sees it: a stack that changes as it works, gone when
/// the thread exits.
#[derive(Default)]
struct WorkerStack {
    frames: Mutex<Vec<String>>,
    exited: AtomicBool,
}

impl CaptureTarget for WorkerStack {
    fn capture(&self, max_depth: usize) -> Result<Vec<String>, CaptureError> {
        if self.exited.load(Ordering::Acquire) {
            return Err(CaptureError::Ended);
        }
        Ok(sw_profiler::cut_stack(self.frames.lock().unwrap().clone(), max_depth))
    }
}

#[test]
fn a_worker_thread_is_sampled_request_after_request() {
    let running = Running::start(config(1));
    running.profiler.add_command(&Args::new("live", now()).command(), now()).expect("valid");
    wait_for("the task to start", Duration::from_secs(3), || running.profiler.is_active());

    let stack = Arc::new(WorkerStack::default());
    let worker = {
        let (profiler, stack) = (Arc::clone(&running.profiler), Arc::clone(&stack));
        thread::spawn(move || {
            for request in 0..3 {
                let segment = format!("live-{request}");
                *stack.frames.lock().unwrap() =
                    vec!["server.py.serve: 10".into(), format!("app.py.request_{request}: 20")];
                let target: Arc<dyn CaptureTarget> = stack.clone();
                assert!(profiler.try_profile(&segment, "/e", now(), target), "one slot, freed after each request");
                thread::sleep(Duration::from_millis(150));
                profiler.segment_finished(&segment);
            }
            stack.exited.store(true, Ordering::Release);
        })
    };
    worker.join().expect("worker");
    for request in 0..3 {
        let snapshots = running.recorded.for_segment(&format!("live-{request}"));
        assert!(!snapshots.is_empty(), "request {request} sampled");
        let sequences: Vec<i32> = snapshots.iter().map(|s| s.sequence).collect();
        assert_eq!(sequences, (0..snapshots.len() as i32).collect::<Vec<_>>());
        for snapshot in &snapshots {
            let frames = snapshot.stack.clone().expect("stack").code_signatures;
            assert_eq!(frames[1], format!("app.py.request_{request}: 20"), "the stack of the request it belongs to");
        }
    }
    assert_eq!(running.profiler.stats().slots_in_use, 0);
}

#[test]
fn run_stops_promptly_when_idle_and_when_sampling() {
    let mut idle = Running::start(config(5));
    thread::sleep(Duration::from_millis(50)); // into its 1 s idle sleep
    assert!(idle.stop() < Duration::from_millis(500), "shutdown cuts the idle sleep short");

    let mut busy = Running::start(config(5));
    let mut args = Args::new("busy", now());
    args.dump_period_ms = 10_000;
    busy.profiler.add_command(&args.command(), now()).expect("valid");
    wait_for("the task to start", Duration::from_secs(3), || busy.profiler.is_active());
    thread::sleep(Duration::from_millis(50));
    assert!(busy.stop() < Duration::from_millis(500), "shutdown cuts the dump-period sleep short");
}

#[test]
fn a_new_command_wakes_the_idle_sampler() {
    let running = Running::start(config(5));
    thread::sleep(Duration::from_millis(100)); // into its 1 s idle sleep
    let asked = Instant::now();
    running.profiler.add_command(&Args::new("wake", now()).command(), now()).expect("valid");
    wait_for("the task to start", Duration::from_secs(3), || running.profiler.is_active());
    assert!(asked.elapsed() < Duration::from_millis(600), "started without waiting out the idle sleep");
}

/// Stands for the GIL: the request thread holds it while calling the profiler, and a
/// capture needs it.
struct NeedsLock(Arc<Mutex<()>>);

impl CaptureTarget for NeedsLock {
    fn capture(&self, _: usize) -> Result<Vec<String>, CaptureError> {
        let _held = self.0.lock().unwrap();
        Ok(vec!["app.py.work: 1".into()])
    }
}

#[test]
fn a_capture_waiting_for_the_request_threads_lock_does_not_deadlock() {
    let running = Running::start(config(5));
    running.profiler.add_command(&Args::new("gil", now()).command(), now()).expect("valid");
    wait_for("the task to start", Duration::from_secs(3), || running.profiler.is_active());
    let gil = Arc::new(Mutex::new(()));
    let (done, finished) = mpsc::channel();
    {
        let profiler = Arc::clone(&running.profiler);
        let gil = Arc::clone(&gil);
        thread::spawn(move || {
            let held = gil.lock().unwrap();
            assert!(profiler.try_profile("a", "/e", now(), Arc::new(NeedsLock(Arc::clone(&gil)))));
            thread::sleep(Duration::from_millis(60)); // the sampler is now blocked in capture
            profiler.try_profile("b", "/e", now(), Arc::new(NeedsLock(Arc::clone(&gil))));
            profiler.segment_finished("b");
            let _ = profiler.stats();
            drop(held);
            done.send(()).unwrap();
        });
    }
    finished.recv_timeout(Duration::from_secs(5)).expect("the request thread was never blocked by the sampler");
    wait_for("a snapshot once the lock is free", Duration::from_secs(3), || !running.recorded.snapshots().is_empty());
}

#[test]
fn concurrent_requests_never_exceed_the_slots_or_the_budget() {
    let running = Running::start(config(3));
    let mut args = Args::new("crowd", now());
    args.max_sampling = 4;
    running.profiler.add_command(&args.command(), now()).expect("valid");
    wait_for("the task to start", Duration::from_secs(3), || running.profiler.is_active());
    let over = Arc::new(AtomicBool::new(false));
    let threads: Vec<_> = (0..6)
        .map(|t| {
            let (profiler, over) = (Arc::clone(&running.profiler), Arc::clone(&over));
            thread::spawn(move || {
                let stack = Arc::new(WorkerStack::default());
                *stack.frames.lock().unwrap() = vec![format!("t{t}.py.run: 1")];
                for request in 0..30 {
                    let segment = format!("t{t}-r{request}");
                    let target: Arc<dyn CaptureTarget> = stack.clone();
                    profiler.try_profile(&segment, "/e", now(), target);
                    if profiler.stats().slots_in_use > 3 {
                        over.store(true, Ordering::SeqCst);
                    }
                    thread::sleep(Duration::from_millis(3));
                    profiler.segment_finished(&segment);
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().expect("request thread");
    }
    assert!(!over.load(Ordering::SeqCst), "more segments than slots at once");
    let mut sampled: Vec<String> = running.recorded.snapshots().into_iter().map(|s| s.trace_segment_id).collect();
    sampled.sort();
    sampled.dedup();
    assert!(sampled.len() <= 4, "budget of 4 segments, sampled {sampled:?}");
    assert_eq!(running.profiler.stats().slots_in_use, 0);
}
