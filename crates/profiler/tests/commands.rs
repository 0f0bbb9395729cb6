//! Commands from the backend: parsing, validation limits, overlaps, serial numbers and
//! lastCommandTime.

mod common;

use std::sync::{Mutex, Once};

use common::{command_of, config, manual, Args, MINUTE, T0};
use log::{Level, LevelFilter, Log, Metadata, Record};
use sw_profiler::{ProfileTask, TaskError};
use sw_proto::v3::{Command, Commands};

/// Keeps every log line, so tests can count the warnings about their own task ids.
struct Lines(Mutex<Vec<(Level, String)>>);

impl Log for Lines {
    fn enabled(&self, _: &Metadata) -> bool {
        true
    }
    fn log(&self, record: &Record) {
        self.0.lock().unwrap().push((record.level(), record.args().to_string()));
    }
    fn flush(&self) {}
}

static LINES: Lines = Lines(Mutex::new(Vec::new()));

/// Installs the recording logger; call before the code under test logs.
fn capture_logs() {
    static INIT: Once = Once::new();
    INIT.call_once(|| {
        log::set_logger(&LINES).expect("only logger of this test binary");
        log::set_max_level(LevelFilter::Trace);
    });
}

fn warnings_naming(id: &str) -> Vec<String> {
    LINES
        .0
        .lock()
        .unwrap()
        .iter()
        .filter(|(level, line)| *level == Level::Warn && line.contains(id))
        .map(|(_, line)| line.clone())
        .collect()
}

const KEYS: [&str; 9] = [
    "SerialNumber",
    "TaskId",
    "EndpointName",
    "Duration",
    "MinDurationThreshold",
    "DumpPeriod",
    "MaxSamplingCount",
    "StartTime",
    "CreateTime",
];
const NUMERIC: [&str; 6] =
    ["Duration", "MinDurationThreshold", "DumpPeriod", "MaxSamplingCount", "StartTime", "CreateTime"];

fn without(args: &Args, key: &str) -> Command {
    let pairs = args.pairs();
    command_of(pairs.iter().filter(|(k, _)| *k != key).map(|(k, v)| (*k, v.as_str())))
}

fn with(args: &Args, key: &str, value: &str) -> Command {
    let pairs = args.pairs();
    command_of(pairs.iter().map(|(k, v)| (*k, if *k == key { value } else { v.as_str() })))
}

#[test]
fn a_complete_command_is_read_field_by_field() {
    let mut args = Args::new("task-1", T0);
    args.endpoint = "GET:/users/{id}".into();
    args.duration_min = 7;
    args.threshold_ms = 250;
    args.dump_period_ms = 20;
    args.max_sampling = 3;
    let task = ProfileTask::from_command(&args.command()).expect("parses");
    assert_eq!(
        task,
        ProfileTask {
            task_id: "task-1".into(),
            serial_number: "serial-task-1".into(),
            endpoint_name: "GET:/users/{id}".into(),
            duration_min: 7,
            min_duration_threshold_ms: 250,
            dump_period_ms: 20,
            max_sampling_count: 3,
            start_time_ms: T0,
            create_time_ms: T0 - 1,
        }
    );
    assert_eq!(task.end_time_ms(), T0 + 7 * MINUTE);
}

#[test]
fn every_missing_argument_is_named() {
    let args = Args::new("t", T0);
    for key in KEYS {
        assert_eq!(ProfileTask::from_command(&without(&args, key)), Err(TaskError::MissingArg(key)), "without {key}");
    }
}

#[test]
fn every_non_numeric_argument_is_named_with_its_value() {
    let args = Args::new("t", T0);
    for key in NUMERIC {
        for bad in ["abc", "", "1.5", "12ms", "99999999999999999999"] {
            let err = ProfileTask::from_command(&with(&args, key, bad)).expect_err(key);
            assert_eq!(err, TaskError::BadArg { name: key, value: bad.into() }, "{key}={bad:?}");
            assert!(err.to_string().contains(key), "{err}");
        }
    }
}

#[test]
fn another_command_name_is_refused() {
    let mut command = Args::new("t", T0).command();
    command.command = "ProfileTaskStop".into();
    assert_eq!(ProfileTask::from_command(&command), Err(TaskError::WrongCommand("ProfileTaskStop".into())));
    let (profiler, _, _) = manual(config(5), None);
    assert!(matches!(profiler.add_command(&command, T0), Err(TaskError::WrongCommand(_))));
    assert_eq!(profiler.stats().tasks_rejected, 1);
}

/// Adds a task with one field changed to a fresh profiler; the error message, if any.
fn verdict(change: impl FnOnce(&mut Args)) -> Result<(), String> {
    let mut args = Args::new("limits", T0);
    change(&mut args);
    let (profiler, _, _) = manual(config(5), None);
    let result = profiler.add_command(&args.command(), T0);
    let stats = profiler.stats();
    assert_eq!(stats.tasks_accepted + stats.tasks_rejected, 1);
    match result {
        Ok(()) => Ok(()),
        Err(err @ TaskError::Invalid(_)) => Err(err.to_string()),
        Err(other) => panic!("expected a validation error, got {other:?}"),
    }
}

fn assert_rejected(result: Result<(), String>, names: &str) {
    let message = result.expect_err("should be rejected");
    assert!(message.contains(names), "{message:?} should name {names}");
}

#[test]
fn endpoint_must_not_be_empty() {
    assert_rejected(verdict(|a| a.endpoint = String::new()), "EndpointName");
    assert_eq!(verdict(|a| a.endpoint = "/".into()), Ok(()));
}

#[test]
fn duration_is_between_1_and_15_minutes() {
    assert_rejected(verdict(|a| a.duration_min = 0), "Duration");
    assert_rejected(verdict(|a| a.duration_min = -3), "Duration");
    assert_eq!(verdict(|a| a.duration_min = 1), Ok(()));
    assert_eq!(verdict(|a| a.duration_min = 15), Ok(()));
    assert_rejected(verdict(|a| a.duration_min = 16), "Duration");
}

#[test]
fn threshold_is_not_negative() {
    assert_rejected(verdict(|a| a.threshold_ms = -1), "MinDurationThreshold");
    assert_eq!(verdict(|a| a.threshold_ms = 0), Ok(()));
}

#[test]
fn dump_period_is_at_least_10_ms() {
    assert_rejected(verdict(|a| a.dump_period_ms = 9), "DumpPeriod");
    assert_eq!(verdict(|a| a.dump_period_ms = 10), Ok(()));
}

#[test]
fn sampling_count_is_between_1_and_9() {
    assert_rejected(verdict(|a| a.max_sampling = 0), "MaxSamplingCount");
    assert_eq!(verdict(|a| a.max_sampling = 1), Ok(()));
    assert_eq!(verdict(|a| a.max_sampling = 9), Ok(()));
    assert_rejected(verdict(|a| a.max_sampling = 10), "MaxSamplingCount");
}

#[test]
fn an_invalid_task_is_logged_once_with_its_id() {
    capture_logs();
    let mut args = Args::new("invalid-logged", T0);
    args.dump_period_ms = 5;
    let (profiler, _, _) = manual(config(5), None);
    assert!(profiler.add_command(&args.command(), T0).is_err());
    let lines = warnings_naming("invalid-logged");
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(lines[0].contains("DumpPeriod"), "{lines:?}");
}

#[test]
fn a_task_overlapping_a_queued_one_is_rejected_naming_both() {
    capture_logs();
    let (profiler, _, _) = manual(config(5), None);
    profiler.add_command(&Args::new("ovl-first", T0 + MINUTE).command(), T0).expect("first task");
    let second = Args::new("ovl-second", T0 + MINUTE + 30_000);
    let err = profiler.add_command(&second.command(), T0).expect_err("overlaps");
    assert_eq!(err, TaskError::Overlaps { task_id: "ovl-second".into(), other: "ovl-first".into() });
    let message = err.to_string();
    assert!(
        message.contains("ovl-second") && message.contains("ovl-first") && message.contains("overlap"),
        "{message}"
    );
    let lines = warnings_naming("ovl-second");
    assert_eq!(lines.len(), 1, "one warning line: {lines:?}");
    assert!(lines[0].contains("ovl-first"), "{lines:?}");
    assert_eq!(profiler.stats().tasks_rejected, 1);
    assert_eq!(profiler.stats().tasks_accepted, 1);
}

#[test]
fn windows_that_only_touch_do_not_overlap() {
    let (profiler, _, _) = manual(config(5), None);
    profiler.add_command(&Args::new("mid", T0 + MINUTE).command(), T0).expect("mid");
    profiler.add_command(&Args::new("after", T0 + 2 * MINUTE).command(), T0).expect("starts at mid's end");
    profiler.add_command(&Args::new("before", T0).command(), T0).expect("ends at mid's start");
    let mut inside = Args::new("inside", T0 + 2 * MINUTE - 1);
    inside.duration_min = 1;
    assert!(matches!(profiler.add_command(&inside.command(), T0), Err(TaskError::Overlaps { .. })));
    let mut spanning = Args::new("spanning", T0 - MINUTE);
    spanning.duration_min = 15;
    assert!(matches!(profiler.add_command(&spanning.command(), T0), Err(TaskError::Overlaps { .. })));
}

#[test]
fn a_task_overlapping_the_running_one_is_rejected() {
    let (profiler, _, _) = manual(config(5), None);
    profiler.add_command(&Args::new("run-a", T0).command(), T0).expect("a");
    profiler.run_once();
    assert!(profiler.is_active());
    let err = profiler.add_command(&Args::new("run-b", T0 + 1_000).command(), T0 + 1_000).expect_err("overlaps");
    assert_eq!(err, TaskError::Overlaps { task_id: "run-b".into(), other: "run-a".into() });
}

#[test]
fn a_serial_number_seen_before_is_ignored() {
    let (profiler, _, _) = manual(config(5), None);
    let args = Args::new("dup", T0 + MINUTE);
    assert_eq!(profiler.add_command(&args.command(), T0), Ok(()));
    // The backend hands the same command out again: no overlap error, just ignored.
    assert_eq!(profiler.add_command(&args.command(), T0), Ok(()));
    // Same serial, different, non-overlapping task: still ignored.
    let mut again = Args::new("dup-later", T0 + 5 * MINUTE);
    again.serial = args.serial.clone();
    assert_eq!(profiler.add_command(&again.command(), T0), Ok(()));
    let stats = profiler.stats();
    assert_eq!((stats.tasks_accepted, stats.commands_duplicated, stats.tasks_rejected), (1, 2, 0));
}

#[test]
fn only_the_last_64_serial_numbers_are_remembered() {
    let (profiler, _, _) = manual(config(5), None);
    let task = |i: i64| {
        let mut args = Args::new(&format!("many-{i}"), T0 + i * MINUTE);
        args.serial = format!("s{}", i % 65);
        args
    };
    for i in 0..65 {
        profiler.add_command(&task(i).command(), T0).expect("distinct windows");
    }
    // Serial s0 has been pushed out by s1..s64; a new task with it is accepted again.
    profiler.add_command(&task(65).command(), T0).expect("s0 forgotten");
    // Taking s0 back in pushed out s1; s2 is still remembered.
    let mut s1 = Args::new("many-s2-again", T0 + 100 * MINUTE);
    s1.serial = "s2".into();
    profiler.add_command(&s1.command(), T0).expect("ignored, not an error");
    let stats = profiler.stats();
    assert_eq!((stats.tasks_accepted, stats.commands_duplicated), (66, 1));
}

#[test]
fn last_command_time_is_the_newest_create_time_rejected_tasks_included() {
    let (profiler, _, _) = manual(config(5), None);
    assert_eq!(profiler.last_command_time(), -1, "nothing received yet");
    let mut a = Args::new("lct-a", T0 + MINUTE);
    a.create_ms = 500;
    profiler.add_command(&a.command(), T0).expect("a");
    assert_eq!(profiler.last_command_time(), 500);
    let mut older = Args::new("lct-older", T0 + 10 * MINUTE);
    older.create_ms = 300;
    profiler.add_command(&older.command(), T0).expect("older");
    assert_eq!(profiler.last_command_time(), 500, "never moves back");
    let mut invalid = Args::new("lct-invalid", T0 + 20 * MINUTE);
    invalid.create_ms = 700;
    invalid.max_sampling = 0;
    assert!(profiler.add_command(&invalid.command(), T0).is_err());
    assert_eq!(profiler.last_command_time(), 700, "moves for a rejected task too");
    let mut overlapping = Args::new("lct-overlap", T0 + MINUTE);
    overlapping.create_ms = 800;
    assert!(profiler.add_command(&overlapping.command(), T0).is_err());
    assert_eq!(profiler.last_command_time(), 800);
    let unreadable = with(&Args::new("lct-bad", T0), "CreateTime", "soon");
    assert!(profiler.add_command(&unreadable, T0).is_err());
    assert_eq!(profiler.last_command_time(), 800, "an unreadable CreateTime cannot count");
}

#[test]
fn add_commands_handles_each_command_of_a_poll() {
    let (profiler, _, _) = manual(config(5), None);
    let mut bad = Args::new("poll-bad", T0 + 5 * MINUTE);
    bad.duration_min = 99;
    let commands = Commands {
        commands: vec![
            Args::new("poll-a", T0 + MINUTE).command(),
            bad.command(),
            Args::new("poll-b", T0 + 2 * MINUTE).command(),
        ],
    };
    let results = profiler.add_commands(&commands, T0);
    assert_eq!(results.len(), 3);
    assert!(results[0].is_ok() && results[1].is_err() && results[2].is_ok(), "{results:?}");
}
