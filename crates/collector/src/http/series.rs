//! `GET /api/meters/series?service=S[&instance=I]`: meter values over time (see `meter_series`).

use std::collections::HashMap;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::response::Response;

use super::{json, params, text, AppState, HttpError};

type Params = Result<Query<HashMap<String, String>>, QueryRejection>;

pub async fn series(State(state): State<AppState>, p: Params) -> Result<Response, HttpError> {
    const ROUTE: &str = "/api/meters/series";
    let p = params(ROUTE, p)?;
    let Some(service) = text(&p, "service") else {
        return Err(HttpError::bad_request(ROUTE, "service is required"));
    };
    let instance = text(&p, "instance");
    Ok(json(&state.store.read(|d| crate::meter_series::series(&d, service, instance))))
}
