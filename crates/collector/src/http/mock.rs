//! The mock collector's endpoints, as SkyWalking's plugin tests use them.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

use super::{body, json, params, text, AppState, HttpError};
use crate::store::Store;
use crate::validate::{self, ActualData, Semantics, ValidationError};

/// `GET /healthCheck`.
pub async fn health_check() -> &'static str {
    "Success"
}

/// `GET /agent/gRPC`: where agents should send gRPC, as a JSON array.
pub async fn grpc_address(State(state): State<AppState>) -> Response {
    json(&[state.grpc_addr.to_string()])
}

/// The expected-data view of everything held.
pub fn actual_data(store: &Store) -> ActualData {
    let (segments, meters, logs) = store.read(|d| {
        (
            d.segments.iter().cloned().collect::<Vec<_>>(),
            d.meters.iter().cloned().collect::<Vec<_>>(),
            d.logs.iter().cloned().collect::<Vec<_>>(),
        )
    });
    ActualData::build(&segments, &meters, &logs)
}

/// Builds the YAML off the async workers: a full store is tens of thousands of segments.
async fn blocking<R: Send + 'static>(
    state: &AppState,
    f: impl FnOnce(&Store) -> R + Send + 'static,
) -> Result<R, Response> {
    let store = state.store.clone();
    tokio::task::spawn_blocking(move || f(&store)).await.map_err(|e| {
        ::log::error!("collector: a blocking task failed: {e}");
        StatusCode::INTERNAL_SERVER_ERROR.into_response()
    })
}

/// `GET /receiveData`: everything held, as expected-data YAML.
pub async fn receive_data(State(state): State<AppState>) -> Response {
    match blocking(&state, |store| actual_data(store).to_yaml()).await {
        Ok(yaml) => ([(header::CONTENT_TYPE, "application/yaml")], yaml).into_response(),
        Err(response) => response,
    }
}

/// `DELETE /receiveData` and `POST /reset`: drop everything held.
pub async fn reset(State(state): State<AppState>) -> &'static str {
    state.store.reset();
    "success"
}

/// `POST /dataValidate[?semantics=legacy|head]`: checks the body (expected-data YAML)
/// against what is held.
pub async fn data_validate(
    State(state): State<AppState>,
    q: Result<Query<HashMap<String, String>>, QueryRejection>,
    raw: Result<Bytes, BytesRejection>,
) -> Result<Response, HttpError> {
    const ROUTE: &str = "/dataValidate";
    let p = params(ROUTE, q)?;
    let semantics = match text(&p, "semantics") {
        None | Some("legacy") => Semantics::Legacy,
        Some("head") => Semantics::Head,
        Some(other) => {
            return Err(HttpError::bad_request(ROUTE, format!("semantics must be legacy or head, not {other:?}")))
        }
    };
    let raw = body(ROUTE, raw)?;
    if raw.len() > validate::limits::MAX_EXPECTED_BYTES {
        return Err(HttpError::too_large(ROUTE, validate::limits::TooComplex::TooLarge(raw.len())));
    }
    let expected =
        String::from_utf8(raw.to_vec()).map_err(|_| HttpError::bad_request(ROUTE, "expected data is not UTF-8"))?;
    validate::limits::check(&expected).map_err(|e| HttpError::bad_request(ROUTE, e))?;
    let outcome = blocking(&state, move |store| {
        let actual = actual_data(store);
        validate::validate(&expected, &actual, semantics).map_err(|e| match e {
            // The document itself is wrong: say so first, without a dump of the store.
            ValidationError::Yaml(_) | ValidationError::InvalidExpected { .. } => Err(e.to_string()),
            mismatch => Ok((actual.to_yaml(), mismatch.to_string())),
        })
    })
    .await;
    match outcome {
        Ok(Ok(())) => Ok("success".into_response()),
        Ok(Err(Err(reason))) => Err(HttpError::bad_request(ROUTE, reason)),
        Ok(Err(Ok((yaml, reason)))) => {
            ::log::info!("{ROUTE}: validation failed: {}", reason.lines().next().unwrap_or(""));
            Ok((StatusCode::INTERNAL_SERVER_ERROR, format!("actual data:\n{yaml}\ncause by:\n{reason}"))
                .into_response())
        }
        Err(response) => Ok(response),
    }
}
