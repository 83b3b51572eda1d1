//! The EverOS v2 API (`/api/v2/memory/*`, `/api/v2/tasks/{id}`, `/health`), faithful to the
//! self-hosted everos server (1.5.1, plus 1.6's delete routes) over the store the v1 API
//! uses. See `/work/shared/everos-v2.md` and the crate docs for what "faithful" covers.
//!
//! Shapes: success `{"request_id": <32 hex>, "data": …}`; handled errors
//! `{"request_id", "error": {"code", "message", "timestamp", "path"}}` (rendered by
//! [`crate::server`]); unknown routes and wrong methods FastAPI's plain
//! `{"detail": "Not Found" | "Method Not Allowed"}`. Every v2 response carries the same
//! request id in `X-Request-Id`; a client's `X-Request-Id` is ignored.

pub mod add;
pub mod delete;
pub mod filter;
pub mod flush;
pub mod get;
pub mod health;
pub mod input;
pub mod pipeline;
pub mod queue;
pub mod search;
pub mod shape;
pub mod tasks;

use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get as get_route, post};
use axum::{Json, Router};
use serde_json::{json, Value};

use crate::state::AppState;

/// The request id of a v2 request, minted by the server's outer layer before any handler
/// runs and echoed in the body and the `X-Request-Id` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestId(pub String);

/// Extracts the request's [`RequestId`] (a fresh one if the layer did not run).
impl<S: Send + Sync> axum::extract::FromRequestParts<S> for RequestId {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _state: &S,
    ) -> Result<Self, Self::Rejection> {
        Ok(parts
            .extensions
            .get::<RequestId>()
            .cloned()
            .unwrap_or_else(|| RequestId(crate::ids::request_id())))
    }
}

/// Whether a path belongs to the v2 surface (its errors, 404s and 405s take v2 shapes).
pub fn is_v2_path(path: &str) -> bool {
    path.starts_with("/api/v2/") || path == "/api/v2" || path == "/health"
}

/// The v2 API routes that need the bearer key (auth is layered on by the server). The
/// delete routes exist only with `delete_enabled`.
pub fn router(delete_enabled: bool) -> Router<AppState> {
    let mut r = Router::new()
        .route("/api/v2/memory/add", post(add::add))
        .route("/api/v2/memory/flush", post(flush::flush))
        .route("/api/v2/memory/search", post(search::search))
        .route("/api/v2/memory/get", post(get::get))
        .route("/api/v2/tasks/{request_id}", get_route(tasks::task));
    if delete_enabled {
        r = r
            .route("/api/v2/memory/delete", post(delete::delete))
            .route("/api/v2/memory/delete_by_ids", post(delete::delete_by_ids));
    }
    r
}

/// The unauthenticated v2 routes (`GET /health`).
pub fn public_router() -> Router<AppState> {
    Router::new().route("/health", get_route(health::health))
}

/// The `{"request_id", "data"}` success envelope.
pub fn envelope(rid: &RequestId, data: Value) -> Json<Value> {
    Json(json!({"request_id": rid.0, "data": data}))
}

/// FastAPI's plain `{"detail": "Not Found"}` (no request id in the body).
pub fn not_found() -> Response {
    (StatusCode::NOT_FOUND, Json(json!({"detail": "Not Found"}))).into_response()
}

/// FastAPI's plain 405 `{"detail": "Method Not Allowed"}` with the `Allow` header.
pub fn method_not_allowed(allowed: &[Method]) -> Response {
    let mut res = (
        StatusCode::METHOD_NOT_ALLOWED,
        Json(json!({"detail": "Method Not Allowed"})),
    )
        .into_response();
    let allow = allowed
        .iter()
        .map(Method::as_str)
        .collect::<Vec<_>>()
        .join(", ");
    if let Ok(v) = axum::http::HeaderValue::from_str(&allow) {
        res.headers_mut().insert(axum::http::header::ALLOW, v);
    }
    res
}
