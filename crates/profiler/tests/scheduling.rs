//! Starting and finishing tasks on time, on a manual clock.

mod common;

use std::time::Duration;

use common::{config, manual, running, Args, FakeTarget, MINUTE, T0};

#[test]
fn a_task_starts_at_its_start_time_and_not_before() {
    let (profiler, clock, _) = manual(config(5), None);
    profiler.add_command(&Args::new("sched", T0 + MINUTE).command(), T0).expect("valid");
    assert_eq!(profiler.run_once(), Duration::from_secs(1), "nothing due within the idle wait");
    assert!(!profiler.is_active());
    assert!(!profiler.try_profile("seg", "/e", T0, FakeTarget::with_stack(&["a"])));

    clock.set(T0 + MINUTE - 3);
    assert_eq!(profiler.run_once(), Duration::from_millis(3), "wakes up for the start");
    assert!(!profiler.is_active());

    clock.set(T0 + MINUTE);
    profiler.run_once();
    assert!(profiler.is_active());
    assert!(profiler.try_profile("seg", "/e", T0 + MINUTE, FakeTarget::with_stack(&["a"])));
}

#[test]
fn a_task_stops_at_its_end_frees_its_slots_and_is_reported_once() {
    let args = Args::new("ends", T0);
    let (profiler, clock, recorded) = running(config(5), &args);
    assert!(profiler.try_profile("seg-1", "/e", T0, FakeTarget::with_stack(&["a"])));
    assert!(profiler.try_profile("seg-2", "/e", T0, FakeTarget::with_stack(&["a"])));

    clock.set(T0 + MINUTE - 1);
    profiler.run_once();
    assert!(profiler.is_active(), "the window is [start, end)");
    assert!(recorded.finished().is_empty());

    clock.set(T0 + MINUTE);
    profiler.run_once();
    assert!(!profiler.is_active());
    assert_eq!(recorded.finished(), vec!["ends"]);
    assert_eq!(profiler.stats().slots_in_use, 0);
    assert!(!profiler.try_profile("seg-3", "/e", T0 + MINUTE, FakeTarget::with_stack(&["a"])));

    clock.advance(5 * MINUTE);
    profiler.run_once();
    profiler.run_once();
    assert_eq!(recorded.finished(), vec!["ends"], "reported exactly once");
    assert_eq!(profiler.stats().tasks_finished, 1);
}

#[test]
fn the_next_task_starts_in_the_pass_that_ends_the_previous_one() {
    let (profiler, clock, recorded) = manual(config(5), None);
    profiler.add_command(&Args::new("first", T0).command(), T0).expect("first");
    profiler.add_command(&Args::new("second", T0 + MINUTE).command(), T0).expect("second");
    profiler.run_once();
    assert!(profiler.is_active());
    clock.set(T0 + MINUTE);
    profiler.run_once();
    assert!(profiler.is_active(), "second runs");
    assert_eq!(recorded.finished(), vec!["first"]);
    clock.set(T0 + 2 * MINUTE);
    profiler.run_once();
    assert!(!profiler.is_active());
    assert_eq!(recorded.finished(), vec!["first", "second"]);
}

#[test]
fn tasks_queued_out_of_order_start_in_start_order() {
    let (profiler, clock, recorded) = manual(config(5), None);
    profiler.add_command(&Args::new("late", T0 + 3 * MINUTE).command(), T0).expect("late");
    profiler.add_command(&Args::new("early", T0 + MINUTE).command(), T0).expect("early");
    clock.set(T0 + MINUTE);
    profiler.run_once();
    assert!(profiler.try_profile("s", "/e", T0 + MINUTE, FakeTarget::with_stack(&["a"])));
    clock.set(T0 + 2 * MINUTE);
    profiler.run_once();
    assert_eq!(recorded.finished(), vec!["early"]);
    assert!(!profiler.is_active(), "late has not started yet");
}

#[test]
fn a_task_whose_window_has_passed_is_reported_finished_without_running() {
    let (profiler, clock, recorded) = manual(config(5), None);
    clock.set(T0 + 10 * MINUTE);
    profiler.add_command(&Args::new("stale", T0).command(), T0 + 10 * MINUTE).expect("valid");
    profiler.run_once();
    assert!(!profiler.is_active());
    assert_eq!(recorded.finished(), vec!["stale"]);
}

#[test]
fn a_task_received_late_runs_for_the_rest_of_its_window() {
    let (profiler, clock, recorded) = manual(config(5), None);
    clock.set(T0 + 30_000);
    profiler.add_command(&Args::new("late-start", T0).command(), T0 + 30_000).expect("valid");
    profiler.run_once();
    assert!(profiler.is_active());
    clock.set(T0 + MINUTE);
    profiler.run_once();
    assert_eq!(recorded.finished(), vec!["late-start"]);
}

#[test]
fn the_pass_asks_to_be_woken_for_the_next_dump_or_the_end() {
    let mut args = Args::new("waits", T0);
    args.dump_period_ms = 40_000;
    let (profiler, clock, _) = running(config(5), &args);
    clock.set(T0 + 39_990);
    assert_eq!(profiler.run_once(), Duration::from_millis(10), "next dump at T0 + 40 s");
    clock.set(T0 + 40_000);
    profiler.run_once();
    clock.set(T0 + MINUTE - 7);
    assert_eq!(profiler.run_once(), Duration::from_millis(7), "the end comes before the next dump");
}
