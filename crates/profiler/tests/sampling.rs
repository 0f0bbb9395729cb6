//! Slots, the sampling budget, the threshold and the snapshots, on a manual clock.

mod common;

use std::sync::Arc;

use common::{config, manual, running, Args, FakeTarget, Mode, T0};
use sw_profiler::{CaptureError, CaptureTarget, Clock, ProfilerConfig};

/// Moves the clock by one dump period (10 ms in `Args::new`) and runs one pass.
fn tick(profiler: &sw_profiler::Profiler, clock: &sw_profiler::ManualClock) {
    clock.advance(10);
    profiler.run_once();
}

#[test]
fn no_more_segments_than_slots() {
    let (profiler, _, _) = running(config(2), &Args::new("slots", T0));
    assert!(profiler.try_profile("a", "/e", T0, FakeTarget::with_stack(&["x"])));
    assert!(profiler.try_profile("b", "/e", T0, FakeTarget::with_stack(&["x"])));
    assert!(!profiler.try_profile("c", "/e", T0, FakeTarget::with_stack(&["x"])), "both slots taken");
    assert_eq!(profiler.stats().slots_in_use, 2);
    profiler.segment_finished("a");
    assert_eq!(profiler.stats().slots_in_use, 1);
    assert!(profiler.try_profile("c", "/e", T0, FakeTarget::with_stack(&["x"])), "a's slot is free again");
    assert_eq!(profiler.stats().segments_profiled, 3);
}

#[test]
fn asking_again_for_a_profiled_segment_takes_no_second_slot() {
    let (profiler, _, _) = running(config(2), &Args::new("again", T0));
    let target = FakeTarget::with_stack(&["x"]);
    assert!(profiler.try_profile("a", "/e", T0, target.clone()));
    assert!(profiler.try_profile("a", "/e", T0, target.clone()));
    assert!(profiler.try_profile("a", "/renamed", T0, target), "a rename keeps the slot");
    let stats = profiler.stats();
    assert_eq!((stats.slots_in_use, stats.segments_profiled), (1, 1));
}

#[test]
fn only_the_task_endpoint_is_profiled_by_exact_name() {
    let (profiler, _, _) = running(config(5), &Args::new("endpoint", T0));
    for other in ["/E", "/e/", "/e ", "", "/f"] {
        assert!(!profiler.try_profile("a", other, T0, FakeTarget::with_stack(&["x"])), "{other:?}");
    }
    assert_eq!(profiler.stats().slots_in_use, 0);
    // The entry span was renamed to the task's endpoint: the recheck takes a slot.
    assert!(profiler.try_profile("a", "/e", T0, FakeTarget::with_stack(&["x"])));
}

#[test]
fn the_sampling_budget_is_spent_by_first_snapshots_across_segments() {
    let mut args = Args::new("budget", T0);
    args.max_sampling = 2;
    let (profiler, clock, recorded) = running(config(5), &args);
    let targets: Vec<_> = (0..4).map(|_| FakeTarget::with_stack(&["x"])).collect();
    for (i, target) in targets.iter().enumerate() {
        let target: Arc<dyn CaptureTarget> = target.clone();
        assert!(profiler.try_profile(&format!("s{i}"), "/e", T0, target), "budget counts samples, not slots");
    }
    tick(&profiler, &clock);
    assert_eq!(recorded.sequences(), vec![("s0".into(), 0), ("s1".into(), 0)]);
    assert_eq!(targets[2].calls() + targets[3].calls(), 0, "over budget: never captured");
    assert_eq!(profiler.stats().slots_in_use, 2, "over-budget segments lost their slots");
    assert!(!profiler.try_profile("s4", "/e", T0, FakeTarget::with_stack(&["x"])), "budget spent");
    tick(&profiler, &clock);
    assert_eq!(recorded.for_segment("s0").len(), 2, "sampled segments go on being sampled");
}

#[test]
fn the_budget_holds_across_successive_segments() {
    let mut args = Args::new("budget-seq", T0);
    args.max_sampling = 2;
    let (profiler, clock, recorded) = running(config(1), &args);
    for segment in ["s0", "s1"] {
        assert!(profiler.try_profile(segment, "/e", clock.now_ms(), FakeTarget::with_stack(&["x"])));
        tick(&profiler, &clock);
        profiler.segment_finished(segment);
    }
    assert_eq!(recorded.snapshots().len(), 2);
    assert!(!profiler.try_profile("s2", "/e", clock.now_ms(), FakeTarget::with_stack(&["x"])));
}

#[test]
fn a_fast_request_never_gets_a_snapshot_nor_spends_budget() {
    let mut args = Args::new("threshold", T0);
    args.threshold_ms = 100;
    args.max_sampling = 1;
    let (profiler, clock, recorded) = running(config(5), &args);
    let fast = FakeTarget::with_stack(&["fast"]);
    assert!(profiler.try_profile("fast", "/e", T0, fast.clone()));
    for _ in 0..9 {
        tick(&profiler, &clock); // up to T0 + 90 ms
    }
    profiler.segment_finished("fast");
    assert_eq!(fast.calls(), 0);

    let slow = FakeTarget::with_stack(&["slow"]);
    let start = clock.now_ms();
    assert!(profiler.try_profile("slow", "/e", start, slow.clone()), "the fast request spent no budget");
    while clock.now_ms() < start + 100 {
        tick(&profiler, &clock);
    }
    assert!(recorded.snapshots().is_empty(), "exactly at the threshold is not longer than it");
    tick(&profiler, &clock);
    assert_eq!(recorded.sequences(), vec![("slow".into(), 0)]);
}

#[test]
fn snapshots_carry_task_segment_time_and_sequences_from_zero_per_segment() {
    let (profiler, clock, recorded) = running(config(5), &Args::new("seq", T0));
    assert!(profiler.try_profile("a", "/e", T0, FakeTarget::with_stack(&["main.py.main: 1", "app.py.handle: 7"])));
    tick(&profiler, &clock);
    assert!(profiler.try_profile("b", "/e", clock.now_ms(), FakeTarget::with_stack(&["b.py.run: 3"])));
    for _ in 0..3 {
        tick(&profiler, &clock);
    }
    let seq = |segment: &str| recorded.for_segment(segment).iter().map(|s| s.sequence).collect::<Vec<_>>();
    assert_eq!(seq("a"), vec![0, 1, 2, 3]);
    assert_eq!(seq("b"), vec![0, 1, 2]);
    let first = &recorded.for_segment("a")[0];
    assert_eq!(first.task_id, "seq");
    assert_eq!(first.time, T0 + 10);
    assert_eq!(
        first.stack.as_ref().map(|s| s.code_signatures.clone()),
        Some(vec!["main.py.main: 1".into(), "app.py.handle: 7".into()])
    );
    assert_eq!(recorded.for_segment("b").last().map(|s| s.time), Some(clock.now_ms()));
}

#[test]
fn slots_are_visited_once_per_dump_period() {
    let mut args = Args::new("period", T0);
    args.dump_period_ms = 50;
    let (profiler, clock, recorded) = running(config(5), &args);
    let target = FakeTarget::with_stack(&["x"]);
    assert!(profiler.try_profile("a", "/e", T0, target.clone()));
    clock.set(T0 + 49);
    profiler.run_once();
    assert_eq!(target.calls(), 0);
    clock.set(T0 + 50);
    profiler.run_once();
    profiler.run_once();
    assert_eq!(target.calls(), 1, "one visit per period, however often the loop wakes");
    clock.set(T0 + 100);
    profiler.run_once();
    assert_eq!(recorded.sequences().len(), 2);
}

#[test]
fn a_long_lived_worker_is_profiled_again_for_each_new_segment() {
    let (profiler, clock, recorded) = running(config(1), &Args::new("worker", T0));
    let worker = FakeTarget::with_stack(&["server.py.serve: 1"]);
    for request in 0..3 {
        let segment = format!("req-{request}");
        let target: Arc<dyn CaptureTarget> = worker.clone();
        assert!(profiler.try_profile(&segment, "/e", clock.now_ms(), target), "request {request} gets the slot");
        tick(&profiler, &clock);
        tick(&profiler, &clock);
        profiler.segment_finished(&segment);
        assert_eq!(profiler.stats().slots_in_use, 0);
    }
    tick(&profiler, &clock);
    let per_segment: Vec<_> = (0..3).map(|r| recorded.for_segment(&format!("req-{r}")).len()).collect();
    assert_eq!(per_segment, vec![2, 2, 2], "no snapshot after a segment finished");
}

#[test]
fn an_ended_target_frees_its_slot_quietly() {
    let (profiler, clock, recorded) = running(config(1), &Args::new("ended", T0));
    let gone = FakeTarget::new(Mode::Ended);
    assert!(profiler.try_profile("a", "/e", T0, gone.clone()));
    tick(&profiler, &clock);
    assert_eq!(gone.calls(), 1);
    let stats = profiler.stats();
    assert_eq!((stats.slots_in_use, stats.capture_failures), (0, 0));
    assert!(recorded.snapshots().is_empty());
    tick(&profiler, &clock);
    assert_eq!(gone.calls(), 1, "not captured again");
    assert!(profiler.try_profile("b", "/e", clock.now_ms(), FakeTarget::with_stack(&["x"])));
}

#[test]
fn a_failed_capture_frees_only_its_own_slot() {
    let (profiler, clock, recorded) = running(config(2), &Args::new("failed", T0));
    let broken = FakeTarget::new(Mode::Failed("no frame".into()));
    assert!(profiler.try_profile("bad", "/e", T0, broken.clone()));
    assert!(profiler.try_profile("good", "/e", T0, FakeTarget::with_stack(&["x"])));
    tick(&profiler, &clock);
    tick(&profiler, &clock);
    assert_eq!(broken.calls(), 1);
    assert_eq!(recorded.for_segment("good").len(), 2);
    assert!(recorded.for_segment("bad").is_empty());
    let stats = profiler.stats();
    assert_eq!((stats.slots_in_use, stats.capture_failures), (1, 1));
}

struct Panics;

impl CaptureTarget for Panics {
    fn capture(&self, _: usize) -> Result<Vec<String>, CaptureError> {
        panic!("target bug");
    }
}

#[test]
fn a_panicking_target_counts_as_a_failure_and_sampling_goes_on() {
    let (profiler, clock, recorded) = running(config(2), &Args::new("panics", T0));
    assert!(profiler.try_profile("bad", "/e", T0, Arc::new(Panics)));
    assert!(profiler.try_profile("good", "/e", T0, FakeTarget::with_stack(&["x"])));
    tick(&profiler, &clock);
    tick(&profiler, &clock);
    assert_eq!(recorded.for_segment("good").len(), 2);
    assert_eq!(profiler.stats().capture_failures, 1);
}

#[test]
fn a_full_sink_drops_and_counts() {
    let (profiler, clock, recorded) = manual(config(5), Some(2));
    profiler.add_command(&Args::new("full", T0).command(), T0).expect("valid");
    profiler.run_once();
    for segment in ["a", "b", "c"] {
        assert!(profiler.try_profile(segment, "/e", T0, FakeTarget::with_stack(&["x"])));
    }
    tick(&profiler, &clock);
    tick(&profiler, &clock);
    let stats = profiler.stats();
    assert_eq!((stats.snapshots_sent, stats.snapshots_dropped), (2, 4));
    assert_eq!(recorded.offered.load(std::sync::atomic::Ordering::SeqCst), 6);
    assert_eq!(stats.slots_in_use, 3, "a drop does not stop profiling");
}

#[test]
fn deep_stacks_keep_their_innermost_frames() {
    let (profiler, clock, recorded) =
        running(ProfilerConfig { max_stack_depth: 3, ..config(5) }, &Args::new("deep", T0));
    // A target that ignores max_depth: the profiler still cuts.
    let target = FakeTarget::with_stack(&["f0", "f1", "f2", "f3", "f4"]);
    assert!(profiler.try_profile("a", "/e", T0, target.clone()));
    tick(&profiler, &clock);
    assert_eq!(*target.depths.lock().unwrap(), vec![3]);
    let stack = recorded.snapshots()[0].stack.clone().expect("stack");
    assert_eq!(stack.code_signatures, vec!["f2", "f3", "f4"]);
}

#[test]
fn finishing_an_unknown_segment_changes_nothing() {
    let (profiler, _, _) = running(config(5), &Args::new("unknown", T0));
    assert!(profiler.try_profile("a", "/e", T0, FakeTarget::with_stack(&["x"])));
    profiler.segment_finished("zzz");
    assert_eq!(profiler.stats().slots_in_use, 1);
}

#[test]
fn nothing_is_profiled_while_no_task_runs() {
    let (profiler, _, _) = manual(config(5), None);
    assert!(!profiler.is_active());
    assert!(!profiler.try_profile("a", "/e", T0, FakeTarget::with_stack(&["x"])));
    profiler.segment_finished("a");
    assert_eq!(profiler.stats(), sw_profiler::ProfilerStats::default());
}

#[test]
fn a_segment_profiled_longer_than_agent_profile_duration_frees_its_slot() {
    // A 15-minute task, a 1-minute limit per segment, one slot: a request stuck for longer
    // than the limit stops being sampled and lets the next request be profiled.
    let mut args = Args::new("max-duration", T0);
    args.duration_min = 15;
    let limited = ProfilerConfig { max_segment_duration: std::time::Duration::from_secs(60), ..config(1) };
    let (profiler, clock, recorded) = running(limited, &args);
    let stuck = FakeTarget::with_stack(&["stuck"]);
    assert!(profiler.try_profile("stuck", "/e", T0, stuck.clone()));
    tick(&profiler, &clock);
    assert_eq!(recorded.for_segment("stuck").len(), 1);
    assert!(!profiler.try_profile("next", "/e", clock.now_ms(), FakeTarget::with_stack(&["x"])), "slot held");

    clock.set(T0 + 60_000);
    profiler.run_once();
    let sampled = recorded.for_segment("stuck").len();
    assert!(profiler.is_profiling("stuck"), "exactly one minute old: still sampled");

    clock.set(T0 + 60_011);
    profiler.run_once();
    assert!(!profiler.is_profiling("stuck"), "past one minute the slot is freed");
    assert_eq!(recorded.for_segment("stuck").len(), sampled, "and the stack is not captured again");
    assert_eq!(profiler.stats().slots_in_use, 0);
    let next = FakeTarget::with_stack(&["next"]);
    assert!(profiler.try_profile("next", "/e", clock.now_ms(), next.clone()), "the next request gets the slot");
    tick(&profiler, &clock);
    assert_eq!(recorded.for_segment("next").len(), 1);
    assert_eq!(stuck.calls(), sampled);
}
