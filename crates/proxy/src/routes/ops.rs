//! Operational routes: `/healthz` (process up), `/readyz` (EverOS reachable),
//! `/metrics` (Prometheus text).

use axum::{
    extract::State,
    http::{header, StatusCode},
    response::IntoResponse,
};

use crate::{error::ProxyError, AppState};

/// Liveness: the process is up.
pub async fn healthz() -> &'static str {
    "ok"
}

/// Readiness: EverOS answers; otherwise the typed `503 upstream_unavailable`.
pub async fn readyz(State(state): State<AppState>) -> Result<&'static str, ProxyError> {
    if state.svc.everos.ready().await {
        Ok("ready")
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
