//! The EverOS Cloud v1 routes (`/api/v1/memories…`) and the request-body helpers they
//! share; the v2 routes are [`crate::v2`].

pub mod add;
pub mod delete;
pub mod flush;
pub mod get;
pub mod search;
pub mod tasks;

use axum::routing::{get as get_route, post};
use axum::Router;
use serde_json::{Map, Value};

use crate::error::ApiError;
use crate::state::AppState;

/// The `/api/v1/` routes (auth is layered on by the server).
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/memories", post(add::add))
        .route("/api/v1/memories/flush", post(flush::flush))
        .route("/api/v1/memories/search", post(search::search))
        .route("/api/v1/memories/get", post(get::get))
        .route("/api/v1/memories/delete", post(delete::delete))
        .route("/api/v1/tasks/{task_id}", get_route(tasks::task))
}

/// A JSON object body: invalid JSON → 400, a non-object → 422.
pub type Body = Map<String, Value>;

/// Parses a request body.
pub fn parse_body(bytes: &[u8]) -> Result<Body, ApiError> {
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(ApiError::validation(
            "body: Input should be a valid dictionary",
        )),
        Err(_) => Err(ApiError::bad_request("Invalid JSON request body")),
    }
}

/// An optional string field (`null` = absent); other types → 422.
pub fn opt_str(body: &Body, key: &str) -> Result<Option<String>, ApiError> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(ApiError::validation(format!(
            "{key}: Input should be a valid string"
        ))),
    }
}

/// A required non-empty string field.
pub fn req_str(body: &Body, key: &str) -> Result<String, ApiError> {
    match opt_str(body, key)? {
        Some(s) if !s.trim().is_empty() => Ok(s),
        _ => Err(ApiError::validation(format!(
            "{key}: Missing required field: {key}"
        ))),
    }
}

/// An optional integer field.
pub fn opt_int(body: &Body, key: &str) -> Result<Option<i64>, ApiError> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v
            .as_i64()
            .map(Some)
            .ok_or_else(|| ApiError::validation(format!("{key}: Input should be a valid integer"))),
    }
}

/// An optional boolean field.
pub fn opt_bool(body: &Body, key: &str) -> Result<Option<bool>, ApiError> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(_) => Err(ApiError::validation(format!(
            "{key}: Input should be a valid boolean"
        ))),
    }
}

/// Rejects the reserved session sentinel and `gen_` ids.
pub fn check_session(session_id: Option<&str>) -> Result<(), ApiError> {
    match session_id {
        Some("-1") => Err(ApiError::validation("session_id: '-1' is reserved")),
        Some(s) if s.starts_with("gen_") => Err(ApiError::validation(
            "session_id: ids starting with 'gen_' are reserved",
        )),
        _ => Ok(()),
    }
}

/// Rejects `gen_`-prefixed ids.
pub fn check_not_reserved(field: &str, id: &str) -> Result<(), ApiError> {
    if id.starts_with("gen_") {
        return Err(ApiError::validation(format!(
            "{field}: ids starting with 'gen_' are reserved"
        )));
    }
    Ok(())
}

/// The required `filters` object of search and get, and its parse for `route` (the scope
/// rule differs between the two routes and stays with each).
pub fn required_filters(
    body: &Body,
    route: crate::filter::Route,
) -> Result<(Value, crate::filter::Filter), ApiError> {
    let filters = match body.get("filters") {
        Some(v @ Value::Object(_)) => v.clone(),
        None | Some(Value::Null) => {
            return Err(ApiError::validation(
                "filters: Missing required field: filters",
            ))
        }
        Some(_) => {
            return Err(ApiError::validation(
                "filters: Input should be a valid dictionary",
            ))
        }
    };
    let filter = crate::filter::Filter::parse(&filters, route).map_err(ApiError::validation)?;
    Ok((filters, filter))
}

/// The `{"data": …}` success envelope.
pub fn envelope(data: Value) -> axum::Json<Value> {
    axum::Json(serde_json::json!({ "data": data }))
}
