//! Profile tasks over HTTP: create, list, analyse.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{Query, State};
use axum::response::Response;
use serde::Serialize;

use super::{body, json, params, text, AppState, HttpError};
use crate::now_ms;
use crate::profile_tasks::{analyze, NewProfileTask, ProfileTaskRecord};
use crate::store::Kind;

/// `POST /api/profile/tasks`: creates a task from JSON and returns it.
pub async fn create_task(
    State(state): State<AppState>,
    raw: Result<Bytes, BytesRejection>,
) -> Result<Response, HttpError> {
    const ROUTE: &str = "/api/profile/tasks";
    let created = body(ROUTE, raw).and_then(|raw| {
        let new: NewProfileTask =
            serde_json::from_slice(&raw).map_err(|e| HttpError::bad_request(ROUTE, format!("invalid JSON: {e}")))?;
        new.into_spec(now_ms()).map_err(|reason| HttpError::bad_request(ROUTE, reason))
    });
    let spec = created.inspect_err(|_| state.store.reject(Kind::ProfileTask))?;
    let task = state.store.create_task(spec, now_ms());
    ::log::info!("profile task {} created for {} {}", task.id, task.spec.service, task.spec.endpoint_name);
    Ok(json(&task))
}

/// A task in the list, with what came back for it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct TaskView {
    #[serde(flatten)]
    task: ProfileTaskRecord,
    snapshot_count: usize,
    segment_ids: Vec<String>,
}

/// `GET /api/profile/tasks[?service=]`: tasks, newest first, with finish reports and
/// snapshot counts.
pub async fn list_tasks(
    State(state): State<AppState>,
    q: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<Response, HttpError> {
    let p = params("/api/profile/tasks", q)?;
    let service = text(&p, "service");
    let views: Vec<TaskView> = state.store.read(|d| {
        d.tasks
            .iter()
            .rev()
            .filter(|t| service.is_none_or(|s| s == t.spec.service))
            .map(|t| {
                let mut segment_ids: Vec<String> = Vec::new();
                let mut snapshot_count = 0;
                for s in d.snapshots.iter().filter(|s| s.task_id == t.id) {
                    snapshot_count += 1;
                    if !segment_ids.contains(&s.trace_segment_id) {
                        segment_ids.push(s.trace_segment_id.clone());
                    }
                }
                TaskView { task: t.clone(), snapshot_count, segment_ids }
            })
            .collect()
    });
    Ok(json(&views))
}

/// `GET /api/profile/analysis?taskId=..[&segmentId=..]`: the merged call tree.
pub async fn analysis(
    State(state): State<AppState>,
    q: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<Response, HttpError> {
    const ROUTE: &str = "/api/profile/analysis";
    let p = params(ROUTE, q)?;
    let task_id = text(&p, "taskId").ok_or_else(|| HttpError::bad_request(ROUTE, "taskId is required"))?;
    let segment_id = text(&p, "segmentId");
    let result = state
        .store
        .read(|d| d.tasks.iter().find(|t| t.id == task_id).map(|task| analyze(task, segment_id, d.snapshots.iter())));
    match result {
        Some(analysis) => Ok(json(&analysis)),
        None => Err(HttpError::not_found(format!("no profile task {task_id:?}"))),
    }
}

/// One stored snapshot, as `GET /api/profile/snapshots` lists it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct SnapshotView<'a> {
    segment_id: &'a str,
    time: i64,
    sequence: i32,
    stack: &'a [String],
}

/// `GET /api/profile/snapshots?taskId=..[&segmentId=..]`: the task's stored snapshots in
/// arrival order, with their times, sequence numbers and stacks (outermost frame first).
pub async fn snapshots(
    State(state): State<AppState>,
    q: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<Response, HttpError> {
    const ROUTE: &str = "/api/profile/snapshots";
    let p = params(ROUTE, q)?;
    let task_id = text(&p, "taskId").ok_or_else(|| HttpError::bad_request(ROUTE, "taskId is required"))?;
    let segment_id = text(&p, "segmentId");
    let found = state.store.read(|d| {
        d.tasks.iter().any(|t| t.id == task_id).then(|| {
            let views: Vec<SnapshotView<'_>> = d
                .snapshots
                .iter()
                .filter(|s| s.task_id == task_id && segment_id.is_none_or(|id| id == s.trace_segment_id))
                .map(|s| SnapshotView {
                    segment_id: &s.trace_segment_id,
                    time: s.time,
                    sequence: s.sequence,
                    stack: s.stack.as_ref().map_or(&[], |stack| stack.code_signatures.as_slice()),
                })
                .collect();
            json(&views)
        })
    });
    found.ok_or_else(|| HttpError::not_found(format!("no profile task {task_id:?}")))
}
