//! Operational routes: `/healthz` (process up), `/readyz` (EverOS reachable),
//! `/metrics` (Prometheus text).

use axum::{
    extract::State,
    http::{header, StatusCode},
    response::IntoResponse,
};

use crate::AppState;

/// Liveness: the process is up.
pub async fn healthz() -> &'static str {
    "ok"
}

/// Readiness: EverOS answers.
pub async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    if state.svc.everos.ready().await {
        (StatusCode::OK, "ready")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "EverOS unreachable")
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
