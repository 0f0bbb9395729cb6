//! A profile task as the backend hands it out (`ProfileTaskQuery` command), and the limits
//! an agent checks before it runs one.

use sw_proto::v3::Command;

/// Name of the command that carries a profile task.
pub const PROFILE_TASK_COMMAND: &str = "ProfileTaskQuery";
/// Shortest task, minutes (inclusive).
pub const MIN_DURATION_MIN: i64 = 1;
/// Longest task, minutes (inclusive).
pub const MAX_DURATION_MIN: i64 = 15;
/// Shortest sampling period, ms (inclusive).
pub const MIN_DUMP_PERIOD_MS: i64 = 10;
/// Largest number of sampled requests per task (inclusive); at least 1.
pub const MAX_SAMPLING_COUNT: i64 = 9;

/// Longest argument value quoted in an error, so that a hostile command cannot flood the log.
const MAX_QUOTED_VALUE: usize = 64;

/// Why a command does not become a running profile task.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TaskError {
    /// The command is not a `ProfileTaskQuery`.
    #[error("unsupported command {0:?}: only {PROFILE_TASK_COMMAND} is handled")]
    WrongCommand(String),
    /// An argument the task needs is absent.
    #[error("profile task command lacks argument {0}")]
    MissingArg(&'static str),
    /// A numeric argument is not a decimal integer.
    #[error("profile task argument {name} is not an integer: {value:?}")]
    BadArg {
        /// Argument key.
        name: &'static str,
        /// The value received (shortened when long).
        value: String,
    },
    /// The task breaks one of the limits; the message names it.
    #[error("invalid profile task: {0}")]
    Invalid(String),
    /// The task's time window overlaps one already queued or running; the agent runs one
    /// task at a time.
    #[error("profile task {task_id} rejected: its time window overlaps task {other}, which is queued or running (one profile task runs at a time)")]
    Overlaps {
        /// The rejected task.
        task_id: String,
        /// The task it collides with.
        other: String,
    },
}

/// One profile task. Times are epoch ms; `duration_min` is in minutes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileTask {
    /// Task id, echoed in every snapshot and in the finish report.
    pub task_id: String,
    /// Command serial number, used to ignore a command received twice.
    pub serial_number: String,
    /// Entry span operation name whose requests are profiled (exact match).
    pub endpoint_name: String,
    /// How long the task runs, minutes.
    pub duration_min: i64,
    /// Requests are sampled only once they have run longer than this, ms.
    pub min_duration_threshold_ms: i64,
    /// Sampling period, ms.
    pub dump_period_ms: i64,
    /// How many requests are sampled at most over the whole task.
    pub max_sampling_count: i64,
    /// When the task starts.
    pub start_time_ms: i64,
    /// When the task was created on the backend (the agent's `lastCommandTime`).
    pub create_time_ms: i64,
}

impl ProfileTask {
    /// Reads a `ProfileTaskQuery` command. Numbers are decimal strings (surrounding blanks
    /// allowed); when a key repeats, the last value counts. Does not check the limits: see
    /// [`ProfileTask::validate`].
    pub fn from_command(command: &Command) -> Result<ProfileTask, TaskError> {
        if command.command != PROFILE_TASK_COMMAND {
            return Err(TaskError::WrongCommand(shorten(&command.command)));
        }
        let text = |name: &'static str| -> Result<String, TaskError> {
            command
                .args
                .iter()
                .rev()
                .find(|kv| kv.key == name)
                .map(|kv| kv.value.clone())
                .ok_or(TaskError::MissingArg(name))
        };
        let number = |name: &'static str| -> Result<i64, TaskError> {
            let value = text(name)?;
            value.trim().parse::<i64>().map_err(|_| TaskError::BadArg { name, value: shorten(&value) })
        };
        Ok(ProfileTask {
            serial_number: text("SerialNumber")?,
            task_id: text("TaskId")?,
            endpoint_name: text("EndpointName")?,
            duration_min: number("Duration")?,
            min_duration_threshold_ms: number("MinDurationThreshold")?,
            dump_period_ms: number("DumpPeriod")?,
            max_sampling_count: number("MaxSamplingCount")?,
            start_time_ms: number("StartTime")?,
            create_time_ms: number("CreateTime")?,
        })
    }

    /// End of the task's window, exclusive: start plus duration.
    pub fn end_time_ms(&self) -> i64 {
        self.start_time_ms.saturating_add(self.duration_min.saturating_mul(60_000))
    }

    /// Checks the limits upstream agents apply; the error names the limit broken.
    pub fn validate(&self) -> Result<(), TaskError> {
        if self.endpoint_name.is_empty() {
            return Err(TaskError::Invalid("EndpointName must not be empty".into()));
        }
        if !(MIN_DURATION_MIN..=MAX_DURATION_MIN).contains(&self.duration_min) {
            return Err(TaskError::Invalid(format!(
                "Duration must be between {MIN_DURATION_MIN} and {MAX_DURATION_MIN} minutes, got {}",
                self.duration_min
            )));
        }
        if self.min_duration_threshold_ms < 0 {
            return Err(TaskError::Invalid(format!(
                "MinDurationThreshold must be at least 0 ms, got {}",
                self.min_duration_threshold_ms
            )));
        }
        if self.dump_period_ms < MIN_DUMP_PERIOD_MS {
            return Err(TaskError::Invalid(format!(
                "DumpPeriod must be at least {MIN_DUMP_PERIOD_MS} ms, got {}",
                self.dump_period_ms
            )));
        }
        if !(1..=MAX_SAMPLING_COUNT).contains(&self.max_sampling_count) {
            return Err(TaskError::Invalid(format!(
                "MaxSamplingCount must be between 1 and {MAX_SAMPLING_COUNT}, got {}",
                self.max_sampling_count
            )));
        }
        Ok(())
    }

    /// Whether the two tasks' `[start, end)` windows share at least one millisecond.
    pub fn overlaps(&self, other: &ProfileTask) -> bool {
        self.start_time_ms < other.end_time_ms() && other.start_time_ms < self.end_time_ms()
    }
}

fn shorten(value: &str) -> String {
    match value.char_indices().nth(MAX_QUOTED_VALUE) {
        Some((cut, _)) => format!("{}...", &value[..cut]),
        None => value.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sw_proto::v3::KeyStringValuePair;

    fn command(args: &[(&str, &str)]) -> Command {
        Command {
            command: PROFILE_TASK_COMMAND.into(),
            args: args.iter().map(|(k, v)| KeyStringValuePair { key: (*k).into(), value: (*v).into() }).collect(),
        }
    }

    #[test]
    fn last_value_of_a_repeated_key_counts_and_blanks_are_trimmed() {
        let task = ProfileTask::from_command(&command(&[
            ("SerialNumber", "s"),
            ("TaskId", "t"),
            ("EndpointName", "/a"),
            ("Duration", "3"),
            ("Duration", " 5 "),
            ("MinDurationThreshold", "0"),
            ("DumpPeriod", "10"),
            ("MaxSamplingCount", "5"),
            ("StartTime", "1000"),
            ("CreateTime", "900"),
        ]))
        .expect("valid command");
        assert_eq!(task.duration_min, 5);
        assert_eq!(task.end_time_ms(), 1000 + 5 * 60_000);
    }

    #[test]
    fn a_long_bad_value_is_shortened_in_the_error() {
        let long = "x".repeat(1000);
        let err = ProfileTask::from_command(&command(&[
            ("SerialNumber", "s"),
            ("TaskId", "t"),
            ("EndpointName", "/a"),
            ("Duration", &long),
        ]))
        .expect_err("bad Duration");
        match err {
            TaskError::BadArg { name, value } => {
                assert_eq!(name, "Duration");
                assert_eq!(value.len(), MAX_QUOTED_VALUE + 3);
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn end_time_saturates_instead_of_overflowing() {
        let task = ProfileTask {
            task_id: "t".into(),
            serial_number: "s".into(),
            endpoint_name: "/".into(),
            duration_min: i64::MAX,
            min_duration_threshold_ms: 0,
            dump_period_ms: 10,
            max_sampling_count: 1,
            start_time_ms: i64::MAX - 1,
            create_time_ms: 0,
        };
        assert_eq!(task.end_time_ms(), i64::MAX);
    }
}
