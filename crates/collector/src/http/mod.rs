//! The HTTP API: the mock collector's endpoints, SkyWalking's agent JSON endpoints, profile
//! tasks and the query API, all on one axum router.

mod agent;
mod configurations;
pub mod guard;
mod mock;
mod profile;
mod query;
mod series;
pub mod serve;
mod web;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, Query};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;

use crate::store::Store;

/// Largest request body accepted (a batch of segments or logs, or an expected-data file).
pub const MAX_BODY_BYTES: usize = 8 * 1024 * 1024;

/// What every handler can reach.
#[derive(Debug, Clone)]
pub struct AppState {
    store: Arc<Store>,
    grpc_addr: SocketAddr,
}

/// The whole HTTP API, behind the [`guard`].
pub fn router(store: Arc<Store>, grpc_addr: SocketAddr, allowed: guard::Allowed) -> Router {
    Router::new()
        .route("/healthCheck", get(mock::health_check))
        .route("/agent/gRPC", get(mock::grpc_address))
        .route("/receiveData", get(mock::receive_data).delete(mock::reset))
        .route("/reset", post(mock::reset))
        .route("/dataValidate", post(mock::data_validate))
        .route("/v3/segment", post(agent::segment))
        .route("/v3/segments", post(agent::segments))
        .route("/v3/management/reportProperties", post(agent::report_properties))
        .route("/v3/management/keepAlive", post(agent::keep_alive))
        .route("/v3/logs", post(agent::logs))
        .route("/v3/events", post(agent::events))
        .route("/api/profile/tasks", get(profile::list_tasks).post(profile::create_task))
        .route("/api/profile/analysis", get(profile::analysis))
        .route("/api/profile/snapshots", get(profile::snapshots))
        .route("/api/services", get(query::services))
        .route("/api/instances", get(query::instances))
        .route("/api/endpoints", get(query::endpoints))
        .route("/api/traces", get(query::traces))
        .route("/api/traces/{trace_id}", get(query::trace))
        .route("/api/logs", get(query::logs))
        .route("/api/meters", get(query::meters))
        .route("/api/meters/series", get(series::series))
        .route("/api/stats", get(query::stats))
        .route("/api/configurations", get(configurations::list).post(configurations::set))
        .route("/", get(web::index))
        .route("/web/{asset}", get(web::asset))
        .fallback(|| async { (StatusCode::NOT_FOUND, "not found\n") })
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(axum::middleware::from_fn_with_state(Arc::new(guard::Guard::new(allowed)), guard::guard))
        .with_state(AppState { store, grpc_addr })
}

/// A failed request: a status and a one-line reason, logged once when built.
#[derive(Debug)]
pub struct HttpError {
    status: StatusCode,
    reason: String,
}

impl HttpError {
    /// A 400 for `route`, logged at warn level.
    fn bad_request(route: &str, reason: impl std::fmt::Display) -> Self {
        // Newlines in a reason would split the log line and the response line.
        let reason = reason.to_string().replace(['\n', '\r'], " ");
        ::log::warn!("{route}: bad request: {reason}");
        Self { status: StatusCode::BAD_REQUEST, reason }
    }

    /// A 413 for `route`, logged at warn level.
    fn too_large(route: &str, reason: impl std::fmt::Display) -> Self {
        let reason = reason.to_string().replace(['\n', '\r'], " ");
        ::log::warn!("{route}: refused: {reason}");
        Self { status: StatusCode::PAYLOAD_TOO_LARGE, reason }
    }

    /// A 404 for `route`.
    fn not_found(reason: impl std::fmt::Display) -> Self {
        Self { status: StatusCode::NOT_FOUND, reason: reason.to_string() }
    }
}

impl IntoResponse for HttpError {
    fn into_response(self) -> Response {
        (self.status, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], format!("{}\n", self.reason))
            .into_response()
    }
}

/// The request body, or a 400 saying why it could not be read (too large, broken).
fn body(route: &str, body: Result<Bytes, BytesRejection>) -> Result<Bytes, HttpError> {
    body.map_err(|rejection| match rejection {
        BytesRejection::FailedToBufferBody(_) => {
            HttpError::bad_request(route, format!("body unreadable or larger than {MAX_BODY_BYTES} bytes"))
        }
        other => HttpError::bad_request(route, other.body_text()),
    })
}

/// Query parameters as a map, or a 400.
fn params(
    route: &str,
    q: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<HashMap<String, String>, HttpError> {
    q.map(|Query(map)| map).map_err(|r| HttpError::bad_request(route, r.body_text()))
}

/// A non-empty string parameter.
fn text<'a>(p: &'a HashMap<String, String>, key: &str) -> Option<&'a str> {
    p.get(key).map(String::as_str).filter(|v| !v.is_empty())
}

/// A parsed parameter, absent when empty; a 400 when it does not parse.
fn parsed<T: std::str::FromStr>(route: &str, p: &HashMap<String, String>, key: &str) -> Result<Option<T>, HttpError> {
    text(p, key)
        .map(|v| v.trim().parse().map_err(|_| HttpError::bad_request(route, format!("{key}: cannot parse {v:?}"))))
        .transpose()
}

/// A JSON response.
fn json<T: serde::Serialize>(value: &T) -> Response {
    match serde_json::to_vec(value) {
        Ok(bytes) => ([(header::CONTENT_TYPE, "application/json")], bytes).into_response(),
        Err(e) => {
            ::log::error!("cannot encode a response: {e}");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}
