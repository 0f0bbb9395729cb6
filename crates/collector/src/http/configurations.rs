//! `GET|POST /api/configurations`: the dynamic settings agents receive through
//! configuration discovery (e.g. `agent.sample_n_per_3_secs`, `agent.trace.ignore_path`).

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::response::Response;
use serde::{Deserialize, Serialize};

use super::{body, json, AppState, HttpError};

/// The body of a POST: all settings of one service (replacing the previous set).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SetConfigurations {
    service: String,
    #[serde(default)]
    configurations: BTreeMap<String, String>,
}

#[derive(Debug, Serialize)]
struct ServiceConfigurations {
    service: String,
    uuid: String,
    configurations: BTreeMap<String, String>,
}

/// `POST /api/configurations`: sets the settings of a service; returns them with their UUID.
pub async fn set(State(state): State<AppState>, raw: Result<Bytes, BytesRejection>) -> Result<Response, HttpError> {
    const ROUTE: &str = "/api/configurations";
    let raw = body(ROUTE, raw)?;
    let request: SetConfigurations =
        serde_json::from_slice(&raw).map_err(|e| HttpError::bad_request(ROUTE, format!("invalid JSON: {e}")))?;
    if request.service.trim().is_empty() {
        return Err(HttpError::bad_request(ROUTE, "service must not be empty".to_owned()));
    }
    let uuid = state
        .store
        .configs
        .set(&request.service, request.configurations.clone())
        .map_err(|e| HttpError::too_large(ROUTE, e))?;
    ::log::info!("dynamic configuration of {} is now {} ({:?})", request.service, uuid, request.configurations);
    Ok(json(&ServiceConfigurations { service: request.service, uuid, configurations: request.configurations }))
}

/// `GET /api/configurations`: the settings of every service.
pub async fn list(State(state): State<AppState>) -> Response {
    let all: Vec<ServiceConfigurations> = state
        .store
        .configs
        .all()
        .into_iter()
        .map(|(service, (uuid, configurations))| ServiceConfigurations { service, uuid, configurations })
        .collect();
    json(&all)
}
