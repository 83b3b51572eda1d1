//! The `/_test/` admin surface: faults, the request log and reset (no bearer needed).

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;

use crate::controls::Fault;
use crate::error::ApiError;
use crate::state::AppState;

const ROUTES: &[&str] = &[
    "add",
    "flush",
    "search",
    "get",
    "delete",
    "delete_by_ids",
    "tasks",
    "health",
];

/// The admin router, mounted only with `--test-controls`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/_test/faults", post(add_fault).delete(clear_faults))
        .route("/_test/requests", get(list_requests).delete(clear_requests))
        .route("/_test/reset", post(reset))
}

async fn add_fault(
    State(state): State<AppState>,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let fault: Fault =
        serde_json::from_slice(&body).map_err(|e| ApiError::validation(format!("fault: {e}")))?;
    if !ROUTES.contains(&fault.route.as_str()) {
        return Err(ApiError::validation(format!(
            "route: must be one of {ROUTES:?}"
        )));
    }
    if let Some(s) = fault.status {
        if StatusCode::from_u16(s).is_err() || s < 400 {
            return Err(ApiError::validation(
                "status: must be an HTTP error status (400-599)",
            ));
        }
    }
    if fault.status.is_none() && fault.delay_ms.is_none() && fault.delay_before_ms.is_none() {
        return Err(ApiError::validation(
            "a fault needs status, delay_ms or delay_before_ms",
        ));
    }
    state.controls().push_fault(fault);
    Ok((StatusCode::CREATED, Json(json!({"data": {"queued": true}}))).into_response())
}

async fn clear_faults(State(state): State<AppState>) -> StatusCode {
    state.controls().clear_faults();
    StatusCode::NO_CONTENT
}

/// `?route=add` filter.
#[derive(Debug, Deserialize)]
struct RouteFilter {
    route: Option<String>,
}

async fn list_requests(
    State(state): State<AppState>,
    Query(q): Query<RouteFilter>,
) -> Json<serde_json::Value> {
    Json(json!({"requests": state.controls().requests(q.route.as_deref())}))
}

async fn clear_requests(State(state): State<AppState>) -> StatusCode {
    state.controls().clear_log();
    StatusCode::NO_CONTENT
}

async fn reset(State(state): State<AppState>) -> Result<StatusCode, ApiError> {
    state.reset().await?;
    Ok(StatusCode::NO_CONTENT)
}
