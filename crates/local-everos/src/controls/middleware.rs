//! The layer in front of `/api/` and `/health`: logs each request and applies queued
//! faults (rendered in the v1 or v2 error shape by the server's error layer).

use std::time::Duration;

use axum::body::{to_bytes, Body};
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use crate::controls::route_name;
use crate::error::ApiError;
use crate::state::AppState;

/// Largest body the log will buffer (matches the router's body limit).
pub const BODY_LIMIT: usize = 16 * 1024 * 1024;

/// Logs the request and applies a fault when test controls are on; otherwise passes through.
pub async fn observe(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let path = req.uri().path();
    if !state.config().test_controls || !(path.starts_with("/api/") || path == "/health") {
        return next.run(req).await;
    }
    let (parts, body) = req.into_parts();
    let bytes = match to_bytes(body, BODY_LIMIT).await {
        Ok(b) => b,
        Err(_) => {
            return ApiError::http(StatusCode::PAYLOAD_TOO_LARGE, "Request body too large")
                .into_response()
        }
    };
    let path = parts.uri.path().to_owned();
    let route = route_name(&path);
    let json = serde_json::from_slice::<Value>(&bytes).unwrap_or(Value::Null);
    let controls = state.controls();
    let seq = controls.log_request(parts.method.as_str(), &path, route, json);
    // A fault is for the route's own method: a client probing a POST route with a GET
    // (the proxy's check whether delete exists) must not use up a fault meant for it.
    let fault = if crate::controls::route_method(route) == parts.method.as_str() {
        controls.take_fault(route)
    } else {
        None
    };
    let delay = fault
        .as_ref()
        .and_then(|f| f.delay_ms)
        .map(Duration::from_millis);

    let response = match fault.as_ref().and_then(|f| f.status) {
        Some(status) => {
            if let Some(d) = delay {
                tokio::time::sleep(d).await;
            }
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let mut err = ApiError::http(status, format!("Injected fault: {}", status.as_u16()));
            if status.is_server_error() {
                err.code = "SYSTEM_ERROR";
            }
            err.retry_after = fault.as_ref().and_then(|f| f.retry_after);
            err.into_response()
        }
        None => {
            let before = fault
                .as_ref()
                .and_then(|f| f.delay_before_ms)
                .map(Duration::from_millis);
            let req = Request::from_parts(parts, Body::from(bytes));
            // Handled in a task of its own: like a real server, the request is processed
            // to the end even when the client gives up on it (a timed-out add lands).
            let handled = tokio::spawn(async move {
                if let Some(d) = before {
                    tokio::time::sleep(d).await;
                }
                next.run(req).await
            });
            let res = match handled.await {
                Ok(res) => res,
                Err(_) => ApiError::http(StatusCode::INTERNAL_SERVER_ERROR, "handler failed")
                    .into_response(),
            };
            if let Some(d) = delay {
                tokio::time::sleep(d).await;
            }
            res
        }
    };
    controls.log_status(seq, response.status().as_u16());
    response
}
