//! Profile tasks: what a user creates, what agents receive as `ProfileTaskQuery` commands,
//! and the call tree built from the snapshots they send back.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};
use sw_proto::v3::{Command, KeyStringValuePair, ThreadSnapshot};

use crate::json::{opt_i32, opt_i64};

/// Command name agents expect for a profile task.
pub const PROFILE_TASK_COMMAND: &str = "ProfileTaskQuery";
/// Frames of one snapshot that go into a call tree; deeper frames are cut so that a hostile
/// snapshot cannot make the tree (and its JSON) arbitrarily deep.
pub const MAX_TREE_DEPTH: usize = 1_000;

/// A task-finish report from one agent instance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskFinish {
    /// The instance that finished the task.
    pub service_instance: String,
    /// When the report arrived, epoch ms.
    pub time: i64,
}

/// The parameters of a profile task, as a user gives them and agents receive them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProfileTaskSpec {
    /// Service whose agents run the task.
    pub service: String,
    /// Endpoint (entry span operation name) to profile.
    pub endpoint_name: String,
    /// When profiling starts, epoch ms.
    pub start_time: i64,
    /// How long the task runs, minutes.
    pub duration: i32,
    /// Only requests slower than this are sampled, ms.
    pub min_duration_threshold: i32,
    /// Sampling period, ms.
    pub dump_period: i32,
    /// How many requests are sampled at most.
    pub max_sampling_count: i32,
}

/// A stored profile task.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProfileTaskRecord {
    /// Generated task id.
    pub id: String,
    /// The task's parameters.
    #[serde(flatten)]
    pub spec: ProfileTaskSpec,
    /// When the task was created, epoch ms; unique among tasks, so agents can poll with it.
    pub create_time: i64,
    /// Finish reports received for this task.
    pub finishes: Vec<TaskFinish>,
}

/// Body of `POST /api/profile/tasks`. Unknown fields are ignored; numbers may be strings.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct NewProfileTask {
    /// Service whose agents run the task (required).
    #[serde(default)]
    pub service: Option<String>,
    /// Endpoint to profile (required).
    #[serde(default, rename = "endpointName")]
    pub endpoint_name: Option<String>,
    /// Start, epoch ms; default now.
    #[serde(default, rename = "startTime", deserialize_with = "opt_i64")]
    pub start_time: Option<i64>,
    /// Minutes; default 5.
    #[serde(default, deserialize_with = "opt_i32")]
    pub duration: Option<i32>,
    /// ms; default 0.
    #[serde(default, rename = "minDurationThreshold", deserialize_with = "opt_i32")]
    pub min_duration_threshold: Option<i32>,
    /// ms; default 10.
    #[serde(default, rename = "dumpPeriod", deserialize_with = "opt_i32")]
    pub dump_period: Option<i32>,
    /// Default 5.
    #[serde(default, rename = "maxSamplingCount", deserialize_with = "opt_i32")]
    pub max_sampling_count: Option<i32>,
}

/// Longest service or endpoint name a task may have (an endpoint name is an operation name,
/// which the agent cuts far shorter).
pub const MAX_NAME_BYTES: usize = 2048;

impl NewProfileTask {
    /// Fills defaults and checks the limits OAP applies to a new task, so that a task created
    /// here is one the agent would also receive from a real backend.
    pub fn into_spec(self, now_ms: i64) -> Result<ProfileTaskSpec, String> {
        let service = self.service.unwrap_or_default();
        let endpoint_name = self.endpoint_name.unwrap_or_default();
        let spec = ProfileTaskSpec {
            service: service.trim().to_owned(),
            endpoint_name: endpoint_name.trim().to_owned(),
            start_time: self.start_time.unwrap_or(now_ms),
            duration: self.duration.unwrap_or(5),
            min_duration_threshold: self.min_duration_threshold.unwrap_or(0),
            dump_period: self.dump_period.unwrap_or(10),
            max_sampling_count: self.max_sampling_count.unwrap_or(5),
        };
        if spec.service.is_empty() {
            return Err("service is required".into());
        }
        if spec.endpoint_name.is_empty() {
            return Err("endpointName is required".into());
        }
        if spec.service.len() > MAX_NAME_BYTES || spec.endpoint_name.len() > MAX_NAME_BYTES {
            return Err(format!("service and endpointName must be at most {MAX_NAME_BYTES} bytes"));
        }
        if !(1..=60).contains(&spec.duration) {
            return Err("duration must be between 1 and 60 minutes".into());
        }
        if spec.min_duration_threshold < 0 {
            return Err("minDurationThreshold must not be negative".into());
        }
        if spec.dump_period < 10 {
            return Err("dumpPeriod must be at least 10 ms".into());
        }
        if !(1..10).contains(&spec.max_sampling_count) {
            return Err("maxSamplingCount must be between 1 and 9".into());
        }
        if spec.start_time < 0 {
            return Err("startTime must not be negative".into());
        }
        Ok(spec)
    }
}

/// A serial number no other command from this process has had.
fn next_serial(task_id: &str) -> String {
    static SERIAL: AtomicU64 = AtomicU64::new(1);
    format!("{task_id}-{}", SERIAL.fetch_add(1, Ordering::Relaxed))
}

/// The `ProfileTaskQuery` command that hands `task` to an agent (all values decimal strings).
pub fn command_for(task: &ProfileTaskRecord) -> Command {
    let spec = &task.spec;
    let arg = |key: &str, value: String| KeyStringValuePair { key: key.to_owned(), value };
    Command {
        command: PROFILE_TASK_COMMAND.to_owned(),
        args: vec![
            arg("SerialNumber", next_serial(&task.id)),
            arg("TaskId", task.id.clone()),
            arg("EndpointName", spec.endpoint_name.clone()),
            arg("Duration", spec.duration.to_string()),
            arg("MinDurationThreshold", spec.min_duration_threshold.to_string()),
            arg("DumpPeriod", spec.dump_period.to_string()),
            arg("MaxSamplingCount", spec.max_sampling_count.to_string()),
            arg("StartTime", spec.start_time.to_string()),
            arg("CreateTime", task.create_time.to_string()),
        ],
    }
}

/// One frame in a merged call tree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CallNode {
    /// The frame, as the agent formats it (e.g. `/app/views.py.index: 12`).
    pub code_signature: String,
    /// Snapshots in which this frame appears at this position.
    pub count: u64,
    /// Snapshots in which this frame was the innermost one.
    pub self_count: u64,
    /// Estimated time spent here: `count × dumpPeriod`, ms.
    pub duration: i64,
    /// Estimated time spent in this frame itself: `selfCount × dumpPeriod`, ms.
    pub self_duration: i64,
    /// Callees, most sampled first.
    pub children: Vec<CallNode>,
}

/// The result of `GET /api/profile/analysis`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Analysis {
    /// The analysed task.
    pub task_id: String,
    /// The analysed segment, or none for the whole task.
    pub segment_id: Option<String>,
    /// The task's dump period, ms (the unit of every estimate).
    pub dump_period: i32,
    /// Snapshots merged.
    pub snapshot_count: u64,
    /// Distinct segments the snapshots belong to, in first-seen order.
    pub segments: Vec<String>,
    /// One tree per distinct outermost frame, most sampled first.
    pub trees: Vec<CallNode>,
}

struct ArenaNode {
    signature: String,
    count: u64,
    self_count: u64,
    children: Vec<usize>,
    by_signature: HashMap<String, usize>,
}

impl ArenaNode {
    fn new(signature: String) -> Self {
        Self { signature, count: 0, self_count: 0, children: Vec::new(), by_signature: HashMap::new() }
    }
}

/// Merges snapshots (stacks outermost-first) into call trees.
pub fn analyze<'a>(
    task: &ProfileTaskRecord,
    segment_id: Option<&str>,
    snapshots: impl IntoIterator<Item = &'a ThreadSnapshot>,
) -> Analysis {
    // Index 0 is a virtual root whose children are the outermost frames.
    let mut arena = vec![ArenaNode::new(String::new())];
    let mut segments: Vec<String> = Vec::new();
    let mut snapshot_count = 0;
    for snapshot in snapshots {
        if snapshot.task_id != task.id {
            continue;
        }
        if segment_id.is_some_and(|id| id != snapshot.trace_segment_id) {
            continue;
        }
        snapshot_count += 1;
        if !segments.contains(&snapshot.trace_segment_id) {
            segments.push(snapshot.trace_segment_id.clone());
        }
        let Some(stack) = &snapshot.stack else {
            continue;
        };
        let mut at = 0;
        for frame in stack.code_signatures.iter().take(MAX_TREE_DEPTH) {
            let next = match arena[at].by_signature.get(frame) {
                Some(&child) => child,
                None => {
                    let child = arena.len();
                    arena.push(ArenaNode::new(frame.clone()));
                    arena[at].children.push(child);
                    arena[at].by_signature.insert(frame.clone(), child);
                    child
                }
            };
            arena[next].count += 1;
            at = next;
        }
        if at != 0 {
            arena[at].self_count += 1;
        }
    }
    let period = i64::from(task.spec.dump_period);
    let roots = arena[0].children.clone();
    let mut trees: Vec<CallNode> = roots.iter().map(|&i| to_tree(&arena, i, period)).collect();
    trees.sort_by_key(|t| std::cmp::Reverse(t.count));
    Analysis {
        task_id: task.id.clone(),
        segment_id: segment_id.map(str::to_owned),
        dump_period: task.spec.dump_period,
        snapshot_count,
        segments,
        trees,
    }
}

fn to_tree(arena: &[ArenaNode], index: usize, period: i64) -> CallNode {
    let node = &arena[index];
    let mut children: Vec<CallNode> = node.children.iter().map(|&c| to_tree(arena, c, period)).collect();
    children.sort_by_key(|c| std::cmp::Reverse(c.count));
    let count = node.count;
    CallNode {
        code_signature: node.signature.clone(),
        count,
        self_count: node.self_count,
        duration: i64::try_from(count).unwrap_or(i64::MAX).saturating_mul(period),
        self_duration: i64::try_from(node.self_count).unwrap_or(i64::MAX).saturating_mul(period),
        children,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sw_proto::v3::ThreadStack;

    fn task() -> ProfileTaskRecord {
        ProfileTaskRecord {
            id: "t1".into(),
            spec: ProfileTaskSpec {
                service: "svc".into(),
                endpoint_name: "/x".into(),
                start_time: 1,
                duration: 5,
                min_duration_threshold: 0,
                dump_period: 20,
                max_sampling_count: 5,
            },
            create_time: 2,
            finishes: vec![],
        }
    }

    fn snap(segment: &str, frames: &[&str]) -> ThreadSnapshot {
        ThreadSnapshot {
            task_id: "t1".into(),
            trace_segment_id: segment.into(),
            time: 0,
            sequence: 0,
            stack: Some(ThreadStack { code_signatures: frames.iter().map(|f| (*f).to_owned()).collect() }),
        }
    }

    #[test]
    fn merges_common_prefixes_and_estimates_time() {
        let snaps = [
            snap("s1", &["main", "handle", "query"]),
            snap("s1", &["main", "handle", "query"]),
            snap("s1", &["main", "handle", "render"]),
            snap("s2", &["main", "handle"]),
        ];
        let whole = analyze(&task(), None, &snaps);
        assert_eq!(whole.snapshot_count, 4);
        assert_eq!(whole.segments, ["s1", "s2"]);
        assert_eq!(whole.trees.len(), 1);
        let main = &whole.trees[0];
        assert_eq!((main.code_signature.as_str(), main.count, main.duration), ("main", 4, 80));
        let handle = &main.children[0];
        assert_eq!((handle.count, handle.self_count), (4, 1));
        let names: Vec<(&str, u64)> = handle.children.iter().map(|c| (c.code_signature.as_str(), c.count)).collect();
        assert_eq!(names, [("query", 2), ("render", 1)]);

        let one = analyze(&task(), Some("s2"), &snaps);
        assert_eq!(one.snapshot_count, 1);
        assert_eq!(one.trees[0].children[0].self_duration, 20);
    }

    #[test]
    fn command_carries_every_argument_as_a_string() {
        let cmd = command_for(&task());
        assert_eq!(cmd.command, "ProfileTaskQuery");
        let get = |k: &str| cmd.args.iter().find(|a| a.key == k).map(|a| a.value.clone()).unwrap_or_default();
        assert_eq!(get("TaskId"), "t1");
        assert_eq!(get("DumpPeriod"), "20");
        assert_eq!(get("CreateTime"), "2");
        assert!(get("SerialNumber").starts_with("t1-"));
        assert_ne!(get("SerialNumber"), command_for(&task()).args[0].value);
    }

    #[test]
    fn spec_defaults_and_limits() {
        let spec =
            NewProfileTask { service: Some("s".into()), endpoint_name: Some("/e".into()), ..NewProfileTask::default() }
                .into_spec(99)
                .expect("valid");
        assert_eq!((spec.start_time, spec.duration, spec.dump_period), (99, 5, 10));
        let bad = NewProfileTask {
            service: Some("s".into()),
            endpoint_name: Some("/e".into()),
            max_sampling_count: Some(10),
            ..NewProfileTask::default()
        };
        assert!(bad.into_spec(0).is_err());
        assert!(NewProfileTask::default().into_spec(0).is_err());
    }
}
