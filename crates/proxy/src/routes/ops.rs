//! Operational routes: `/healthz` (process up), `/readyz` (EverOS reachable, and what it
//! can do: from a check cached for a few seconds, so `/readyz` cannot be used to hammer
//! EverOS), `/metrics` (Prometheus text).

use axum::{
    extract::State,
    http::{header, StatusCode},
    response::IntoResponse,
    Json,
};
use serde_json::{json, Value};

use crate::{error::ProxyError, AppState};

/// Liveness: the process is up.
pub async fn healthz() -> &'static str {
    "ok"
}

/// Readiness: `200 {"status": "ready", "everos": {api, version, embeddings, delete,
/// search_method}}` when EverOS answers; otherwise the typed `503 upstream_unavailable`.
pub async fn readyz(State(state): State<AppState>) -> Result<Json<Value>, ProxyError> {
    let caps = state.svc.everos.ready().await;
    if caps.reachable {
        Ok(Json(json!({ "status": "ready", "everos": caps })))
    } else {
        Err(ProxyError::Upstream(StatusCode::SERVICE_UNAVAILABLE))
    }
}

/// Prometheus text exposition.
pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        state.svc.metrics.render(),
    )
}
