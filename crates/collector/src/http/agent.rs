//! SkyWalking's HTTP JSON endpoints for agents (`/v3/...`). Each answers `{}` on success and
//! 400 with a one-line reason on bad input.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};

use super::{body, AppState, HttpError};
use crate::json::{self, JsonError};
use crate::now_ms;
use crate::store::Kind;

fn ok() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], "{}").into_response()
}

/// Reads and parses a body; a failure is counted against `kind` and becomes a 400.
fn parse<T>(
    state: &AppState,
    route: &str,
    kind: Kind,
    raw: Result<Bytes, BytesRejection>,
    parse: fn(&[u8]) -> Result<T, JsonError>,
) -> Result<T, HttpError> {
    body(route, raw)
        .and_then(|raw| {
            crate::json_limits::check(&raw).map_err(|e| HttpError::too_large(route, e))?;
            parse(&raw).map_err(|e| HttpError::bad_request(route, e))
        })
        .inspect_err(|_| state.store.reject(kind))
}

/// `POST /v3/segment`: one segment (kept even without spans, as the mock collector does).
pub async fn segment(State(state): State<AppState>, raw: Result<Bytes, BytesRejection>) -> Result<Response, HttpError> {
    let segment = parse(&state, "/v3/segment", Kind::Segment, raw, json::parse_segment)?;
    state.store.add_segment(segment);
    Ok(ok())
}

/// `POST /v3/segments`: an array of segments.
pub async fn segments(
    State(state): State<AppState>,
    raw: Result<Bytes, BytesRejection>,
) -> Result<Response, HttpError> {
    let all = parse(&state, "/v3/segments", Kind::Segment, raw, json::parse_segments)?;
    for segment in all {
        state.store.add_segment(segment);
    }
    Ok(ok())
}

/// `POST /v3/management/reportProperties`.
pub async fn report_properties(
    State(state): State<AppState>,
    raw: Result<Bytes, BytesRejection>,
) -> Result<Response, HttpError> {
    let report = parse(&state, "/v3/management/reportProperties", Kind::Properties, raw, json::parse_properties)?;
    state
        .store
        .report_properties(report, now_ms())
        .map_err(|e| HttpError::too_large("/v3/management/reportProperties", e))?;
    Ok(ok())
}

/// `POST /v3/management/keepAlive`.
pub async fn keep_alive(
    State(state): State<AppState>,
    raw: Result<Bytes, BytesRejection>,
) -> Result<Response, HttpError> {
    let ping = parse(&state, "/v3/management/keepAlive", Kind::KeepAlive, raw, json::parse_ping)?;
    state.store.keep_alive(ping, now_ms()).map_err(|e| HttpError::too_large("/v3/management/keepAlive", e))?;
    Ok(ok())
}

/// `POST /v3/logs`: an array of log records.
pub async fn logs(State(state): State<AppState>, raw: Result<Bytes, BytesRejection>) -> Result<Response, HttpError> {
    let all = parse(&state, "/v3/logs", Kind::Log, raw, json::parse_logs)?;
    for log in all {
        state.store.add_log(log);
    }
    Ok(ok())
}

/// `POST /v3/events`: an array of events.
pub async fn events(State(state): State<AppState>, raw: Result<Bytes, BytesRejection>) -> Result<Response, HttpError> {
    let all = parse(&state, "/v3/events", Kind::Event, raw, json::parse_events)?;
    for event in all {
        state.store.add_event(event);
    }
    Ok(ok())
}
