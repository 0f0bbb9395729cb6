//! The JSON query API over HTTP; the answers themselves are built in [`crate::query`].

use std::collections::HashMap;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use serde::Serialize;

use super::{json, params, parsed, text, AppState, HttpError};
use crate::query::{self as q, TraceFilter};
use crate::store::Stats;

type Params = Result<Query<HashMap<String, String>>, QueryRejection>;

/// `GET /api/services`.
pub async fn services(State(state): State<AppState>) -> Response {
    json(&state.store.read(|d| q::services(&d)))
}

/// `GET /api/instances[?service=]`.
pub async fn instances(State(state): State<AppState>, p: Params) -> Result<Response, HttpError> {
    let p = params("/api/instances", p)?;
    Ok(json(&state.store.read(|d| q::instances(&d, text(&p, "service")))))
}

/// `GET /api/endpoints[?service=]`.
pub async fn endpoints(State(state): State<AppState>, p: Params) -> Result<Response, HttpError> {
    let p = params("/api/endpoints", p)?;
    Ok(json(&state.store.read(|d| q::endpoints(&d, text(&p, "service")))))
}

/// `GET /api/traces[?service=&endpoint=&minDuration=&error=&start=&end=&limit=]`.
pub async fn traces(State(state): State<AppState>, p: Params) -> Result<Response, HttpError> {
    const ROUTE: &str = "/api/traces";
    let p = params(ROUTE, p)?;
    let filter = TraceFilter {
        service: text(&p, "service").map(str::to_owned),
        endpoint: text(&p, "endpoint").map(str::to_owned),
        min_duration: parsed(ROUTE, &p, "minDuration")?,
        error: parsed(ROUTE, &p, "error")?,
        start: parsed(ROUTE, &p, "start")?,
        end: parsed(ROUTE, &p, "end")?,
        limit: parsed(ROUTE, &p, "limit")?,
    };
    Ok(json(&state.store.read(|d| q::traces(&d, &filter))))
}

/// `GET /api/traces/{traceId}`: 404 when no segment of it is held.
pub async fn trace(State(state): State<AppState>, Path(trace_id): Path<String>) -> Result<Response, HttpError> {
    state
        .store
        .read(|d| q::trace(&d, &trace_id))
        .map(|t| json(&t))
        .ok_or_else(|| HttpError::not_found(format!("no trace {trace_id:?}")))
}

/// `GET /api/logs[?traceId=&service=&limit=]`.
pub async fn logs(State(state): State<AppState>, p: Params) -> Result<Response, HttpError> {
    const ROUTE: &str = "/api/logs";
    let p = params(ROUTE, p)?;
    let limit = parsed(ROUTE, &p, "limit")?;
    Ok(json(&state.store.read(|d| q::logs(&d, text(&p, "traceId"), text(&p, "service"), limit))))
}

/// `GET /api/meters[?service=]`.
pub async fn meters(State(state): State<AppState>, p: Params) -> Result<Response, HttpError> {
    let p = params("/api/meters", p)?;
    Ok(json(&state.store.read(|d| q::meters(&d, text(&p, "service")))))
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct LimitsView {
    max_segments: usize,
    max_logs: usize,
    max_meters: usize,
    max_snapshots: usize,
}

#[derive(Serialize)]
struct StatsView {
    #[serde(flatten)]
    stats: Stats,
    limits: LimitsView,
}

/// `GET /api/stats`: every counter, and the store's limits.
pub async fn stats(State(state): State<AppState>) -> Response {
    let l = state.store.limits();
    json(&StatsView {
        stats: state.store.stats(),
        limits: LimitsView {
            max_segments: l.max_segments,
            max_logs: l.max_logs,
            max_meters: l.max_meters,
            max_snapshots: l.max_snapshots,
        },
    })
}
