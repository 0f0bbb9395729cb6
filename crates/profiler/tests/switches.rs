//! Snapshots taken on the spot (`record_now`, for greenlet switches) next to the timed
//! sampler, and the slot listener that tells the caller when a segment stops being profiled.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::thread;
use std::time::Duration;

use common::{config, manual, running, Args, FakeTarget, Recorded, T0};
use sw_profiler::{CaptureError, CaptureTarget, Clock, ManualClock, Profiler, ProfilerConfig, Recording};

fn stack(frames: &[&str]) -> Vec<String> {
    frames.iter().map(|f| (*f).to_owned()).collect()
}

/// A capture closure that counts its calls and returns `frames`.
fn counted<'a>(
    calls: &'a AtomicUsize,
    frames: &'a [&'a str],
) -> impl FnOnce(usize) -> Result<Vec<String>, CaptureError> + 'a {
    move |_| {
        calls.fetch_add(1, Ordering::SeqCst);
        Ok(stack(frames))
    }
}

/// Records what the slot listener is told.
fn listen(profiler: &Profiler) -> Arc<Mutex<Vec<String>>> {
    let told = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&told);
    assert!(profiler.on_slot_released(Box::new(move |segment: &str| sink.lock().unwrap().push(segment.to_owned()))));
    told
}

fn told(list: &Mutex<Vec<String>>) -> Vec<String> {
    list.lock().unwrap().clone()
}

fn sequences(recorded: &Recorded, segment: &str) -> Vec<i32> {
    recorded.for_segment(segment).iter().map(|s| s.sequence).collect()
}

fn tick(profiler: &Profiler, clock: &ManualClock) {
    clock.advance(10);
    profiler.run_once();
}

#[test]
fn spot_snapshots_ignore_the_dump_period_and_share_the_sequence_with_timed_ones() {
    let (profiler, clock, recorded) = running(config(5), &Args::new("shared", T0));
    assert!(profiler.try_profile("a", "/e", T0, FakeTarget::with_stack(&["timed.py.sample: 1"])));
    tick(&profiler, &clock); // timed: 0
    clock.advance(1);
    let calls = AtomicUsize::new(0);
    for _ in 0..3 {
        // Three switches within one dump period.
        let frames = ["app.py.switch: 9"];
        assert!(matches!(profiler.record_now("a", counted(&calls, &frames)), Recording::Sent { .. }));
    }
    tick(&profiler, &clock); // timed: 4
    assert_eq!(profiler.record_now("a", counted(&calls, &["app.py.switch: 9"])), Recording::Sent { sequence: 5 });
    assert_eq!(calls.load(Ordering::SeqCst), 4);
    assert_eq!(sequences(&recorded, "a"), vec![0, 1, 2, 3, 4, 5]);
    let spot = &recorded.for_segment("a")[1];
    assert_eq!(spot.time, T0 + 11, "the time of the switch, not of a dump");
    assert_eq!(spot.task_id, "shared");
    assert_eq!(spot.stack.as_ref().map(|s| s.code_signatures.clone()), Some(stack(&["app.py.switch: 9"])));
}

#[test]
fn nothing_is_captured_until_the_request_is_longer_than_the_threshold() {
    let mut args = Args::new("threshold", T0);
    args.threshold_ms = 100;
    let (profiler, clock, recorded) = running(config(5), &args);
    assert!(profiler.try_profile("a", "/e", T0, FakeTarget::with_stack(&["x"])));
    let calls = AtomicUsize::new(0);
    clock.set(T0 + 100);
    assert_eq!(profiler.record_now("a", counted(&calls, &["x"])), Recording::TooEarly);
    assert_eq!(calls.load(Ordering::SeqCst), 0, "no stack read for a request under the threshold");
    clock.set(T0 + 101);
    assert_eq!(profiler.record_now("a", counted(&calls, &["x"])), Recording::Sent { sequence: 0 });
    assert_eq!(sequences(&recorded, "a"), vec![0]);
}

#[test]
fn segments_without_a_slot_are_never_captured() {
    let (idle, _, _) = manual(config(5), None);
    let calls = AtomicUsize::new(0);
    assert_eq!(idle.record_now("a", counted(&calls, &["x"])), Recording::NotProfiled, "no task runs");

    let (profiler, clock, recorded) = running(config(5), &Args::new("slotless", T0));
    assert_eq!(profiler.record_now("a", counted(&calls, &["x"])), Recording::NotProfiled, "no slot taken at all");
    assert!(profiler.try_profile("a", "/e", T0, FakeTarget::with_stack(&["x"])));
    clock.advance(1);
    assert_eq!(profiler.record_now("b", counted(&calls, &["x"])), Recording::NotProfiled, "another segment");
    profiler.segment_finished("a");
    assert_eq!(profiler.record_now("a", counted(&calls, &["x"])), Recording::NotProfiled, "finished");
    assert_eq!(calls.load(Ordering::SeqCst), 0);
    assert!(recorded.snapshots().is_empty());
}

#[test]
fn the_first_spot_snapshot_spends_the_budget_and_others_lose_their_slots() {
    let mut args = Args::new("budget", T0);
    args.max_sampling = 1;
    let (profiler, clock, recorded) = running(config(3), &args);
    let released = listen(&profiler);
    assert!(profiler.try_profile("a", "/e", T0, FakeTarget::with_stack(&["x"])));
    let b = FakeTarget::with_stack(&["x"]);
    assert!(profiler.try_profile("b", "/e", T0, b.clone()));
    clock.advance(1);
    let calls = AtomicUsize::new(0);
    assert_eq!(profiler.record_now("a", counted(&calls, &["x"])), Recording::Sent { sequence: 0 });
    assert_eq!(profiler.record_now("b", counted(&calls, &["x"])), Recording::NotProfiled, "budget spent by a");
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    assert_eq!(told(&released), vec!["b"]);
    assert!(profiler.is_profiling("a") && !profiler.is_profiling("b"));
    tick(&profiler, &clock);
    assert_eq!(b.calls(), 0);
    assert_eq!(sequences(&recorded, "a"), vec![0, 1], "a, already counted, goes on being sampled");
    assert!(!profiler.try_profile("c", "/e", clock.now_ms(), FakeTarget::with_stack(&["x"])), "budget spent");
}

#[test]
fn a_failed_capture_spends_no_sequence_and_keeps_the_slot() {
    let mut args = Args::new("failed", T0);
    args.max_sampling = 1;
    let (profiler, clock, recorded) = running(config(5), &args);
    assert!(profiler.try_profile("a", "/e", T0, FakeTarget::with_stack(&["x"])));
    clock.advance(1);
    let broken = |_| Err(CaptureError::Failed("no frame".into()));
    assert_eq!(profiler.record_now("a", broken), Recording::Failed(CaptureError::Failed("no frame".into())));
    assert_eq!(profiler.record_now("a", |_| Err(CaptureError::Ended)), Recording::Failed(CaptureError::Ended));
    let panics = |_: usize| -> Result<Vec<String>, CaptureError> { panic!("capture bug") };
    assert_eq!(profiler.record_now("a", panics), Recording::Failed(CaptureError::Failed("capture panicked".into())));
    let stats = profiler.stats();
    assert_eq!((stats.capture_failures, stats.slots_in_use), (2, 1), "an ended target is not a failure");
    assert!(profiler.try_profile("b", "/e", T0, FakeTarget::with_stack(&["x"])), "failures spent no budget");
    assert_eq!(profiler.record_now("a", |_| Ok(stack(&["x"]))), Recording::Sent { sequence: 0 });
    tick(&profiler, &clock);
    assert_eq!(sequences(&recorded, "a"), vec![0, 1]);
}

#[test]
fn a_full_sink_spends_the_sequence_and_counts_the_drop() {
    let (profiler, clock, recorded) = manual(config(5), Some(1));
    profiler.add_command(&Args::new("full", T0).command(), T0).expect("valid");
    profiler.run_once();
    assert!(profiler.try_profile("a", "/e", T0, FakeTarget::with_stack(&["x"])));
    clock.advance(1);
    assert_eq!(profiler.record_now("a", |_| Ok(stack(&["x"]))), Recording::Sent { sequence: 0 });
    assert_eq!(profiler.record_now("a", |_| Ok(stack(&["x"]))), Recording::Dropped { sequence: 1 });
    let stats = profiler.stats();
    assert_eq!((stats.snapshots_sent, stats.snapshots_dropped), (1, 1));
    assert_eq!(recorded.snapshots().len(), 1);
}

#[test]
fn spot_stacks_are_cut_to_the_configured_depth() {
    let (profiler, clock, recorded) =
        running(ProfilerConfig { max_stack_depth: 2, ..config(5) }, &Args::new("deep", T0));
    assert!(profiler.try_profile("a", "/e", T0, FakeTarget::with_stack(&["x"])));
    clock.advance(1);
    let mut asked = None;
    let recording = profiler.record_now("a", |depth| {
        asked = Some(depth);
        Ok(stack(&["f0", "f1", "f2"]))
    });
    assert_eq!(recording, Recording::Sent { sequence: 0 });
    assert_eq!(asked, Some(2));
    assert_eq!(recorded.snapshots()[0].stack.as_ref().map(|s| s.code_signatures.clone()), Some(stack(&["f1", "f2"])));
}

#[test]
fn a_slot_that_changes_hands_during_the_capture_gets_no_snapshot() {
    let (profiler, clock, recorded) = running(config(1), &Args::new("moved", T0));
    assert!(profiler.try_profile("a", "/e", T0, FakeTarget::with_stack(&["x"])));
    clock.advance(1);
    let recording = profiler.record_now("a", |_| {
        // The capture runs without the profiler's lock: a finish and a new request can
        // happen meanwhile, and the new occupant must not get a's snapshot.
        profiler.segment_finished("a");
        assert!(profiler.try_profile("b", "/e", clock.now_ms(), FakeTarget::with_stack(&["x"])));
        Ok(stack(&["a.py.a: 1"]))
    });
    assert_eq!(recording, Recording::NotProfiled);
    clock.advance(1);
    assert_eq!(profiler.record_now("b", |_| Ok(stack(&["b.py.b: 1"]))), Recording::Sent { sequence: 0 });
    assert_eq!(recorded.sequences(), vec![("b".into(), 0)]);
}

#[test]
fn a_snapshot_captured_across_a_task_change_goes_to_neither_task() {
    let first = Args::new("first", T0);
    let (profiler, clock, recorded) = running(config(1), &first);
    assert!(profiler.try_profile("a", "/e", T0, FakeTarget::with_stack(&["x"])));
    clock.advance(1);
    let recording = profiler.record_now("a", |_| {
        // The first task ends and the next one starts while the stack is read; the new
        // task's first slot has the same token as a's had.
        clock.set(first.start_ms + 60_000);
        profiler.run_once();
        let mut second = Args::new("second", clock.now_ms());
        second.serial = "serial-second".into();
        profiler.add_command(&second.command(), clock.now_ms()).expect("valid");
        profiler.run_once();
        assert!(profiler.try_profile("b", "/e", clock.now_ms() - 1, FakeTarget::with_stack(&["x"])));
        Ok(stack(&["a.py.a: 1"]))
    });
    assert_eq!(recording, Recording::NotProfiled);
    assert!(recorded.snapshots().is_empty());
    assert_eq!(profiler.record_now("b", |_| Ok(stack(&["b.py.b: 1"]))), Recording::Sent { sequence: 0 });
}

#[test]
fn the_listener_hears_of_every_freed_slot_once() {
    let mut args = Args::new("listen", T0);
    args.max_sampling = 3;
    let (profiler, clock, _) = running(config(5), &args);
    let released = listen(&profiler);
    assert!(!profiler.on_slot_released(Box::new(|_: &str| {})), "one listener");
    let failing = FakeTarget::new(common::Mode::Failed("broken".into()));
    let ended = FakeTarget::new(common::Mode::Ended);
    for (segment, target) in [
        ("finished", FakeTarget::with_stack(&["x"])),
        ("failing", failing),
        ("ended", ended),
        ("sampled", FakeTarget::with_stack(&["x"])),
        ("unsampled", FakeTarget::with_stack(&["x"])),
    ] {
        let target: Arc<dyn CaptureTarget> = target;
        assert!(profiler.try_profile(segment, "/e", T0, target));
    }
    profiler.segment_finished("finished");
    profiler.segment_finished("finished");
    profiler.segment_finished("never-profiled");
    assert_eq!(told(&released), vec!["finished"]);
    tick(&profiler, &clock);
    // Budget 3, in slot order: failing, ended and sampled take it, unsampled is over it;
    // the two failures free their slots (and give their budget back only afterwards).
    let mut now = told(&released);
    now.sort();
    assert_eq!(now, vec!["ended", "failing", "finished", "unsampled"]);
    assert!(profiler.is_profiling("sampled") && !profiler.is_profiling("unsampled"));
    clock.set(T0 + 60_000);
    profiler.run_once();
    assert!(!profiler.is_active());
    let mut all = told(&released);
    all.sort();
    assert_eq!(all, vec!["ended", "failing", "finished", "sampled", "unsampled"], "the task's end frees the rest");
}

/// A target that needs a lock the caller of `record_now` holds, as a Python target needs
/// the GIL that the switching greenlet's thread holds.
struct NeedsGil {
    gil: Arc<Mutex<()>>,
    waiting: mpsc::Sender<()>,
}

impl CaptureTarget for NeedsGil {
    fn capture(&self, _: usize) -> Result<Vec<String>, CaptureError> {
        let _ = self.waiting.send(());
        let _gil = self.gil.lock().unwrap();
        Ok(stack(&["sampler.py.timed: 1"]))
    }
}

#[test]
fn record_now_does_not_wait_for_a_sampler_pass_blocked_on_the_gil() {
    let clock = Arc::new(ManualClock::new(T0));
    let recorded = Arc::new(Recorded::default());
    let profiler = Profiler::with_clock(config(1), Box::new(common::Sink(Arc::clone(&recorded))), clock.clone());
    profiler.add_command(&Args::new("gil", T0).command(), T0).expect("valid");
    profiler.run_once();
    let gil = Arc::new(Mutex::new(()));
    let (waiting, sampler_waits) = mpsc::channel();
    assert!(profiler.try_profile("a", "/e", T0, Arc::new(NeedsGil { gil: Arc::clone(&gil), waiting })));
    clock.advance(10);

    let held = gil.lock().unwrap();
    let sampler = {
        let profiler = Arc::clone(&profiler);
        thread::spawn(move || {
            profiler.run_once();
        })
    };
    sampler_waits.recv_timeout(Duration::from_secs(5)).expect("the sampler reached the capture");
    // This thread "holds the GIL" and switches greenlets while the sampler waits for it.
    let (done, finished) = mpsc::channel();
    let switcher = {
        let profiler = Arc::clone(&profiler);
        thread::spawn(move || {
            let _ = done.send(profiler.record_now("a", |_| Ok(stack(&["app.py.switch: 1"]))));
        })
    };
    let recording =
        finished.recv_timeout(Duration::from_secs(5)).expect("record_now returned while a pass was blocked");
    drop(held);
    sampler.join().expect("sampler");
    switcher.join().expect("switcher");
    assert_eq!(recording, Recording::Sent { sequence: 1 }, "the blocked pass took sequence 0 first");
    let mut seqs: Vec<i32> = recorded.snapshots().iter().map(|s| s.sequence).collect();
    seqs.sort_unstable();
    assert_eq!(seqs, vec![0, 1]);
}
