//! The operational routes (`/healthz`); the v1 API routes are added by later work.

use axum::{routing::get, Router};
use everdesk_api::routes;

use crate::AppState;

/// Routes that need the app state.
pub fn router() -> Router<AppState> {
    Router::new().route(routes::HEALTHZ, get(healthz))
}

/// Liveness: the process is up.
async fn healthz() -> &'static str {
    "ok"
}
