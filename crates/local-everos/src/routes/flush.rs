//! `POST /api/v1/memories/flush`: cut everything buffered for a session into one episode.

use axum::body::Bytes;
use axum::extract::State;
use axum::Json;
use serde_json::{json, Value};

use crate::error::ApiError;
use crate::ids::request_id;
use crate::pipeline;
use crate::routes::{check_not_reserved, check_session, envelope, opt_str, parse_body, req_str};
use crate::state::AppState;

/// The flush handler.
pub async fn flush(State(state): State<AppState>, body: Bytes) -> Result<Json<Value>, ApiError> {
    let body = parse_body(&body)?;
    let user_id = req_str(&body, "user_id")?;
    check_not_reserved("user_id", &user_id)?;
    let session = opt_str(&body, "session_id")?;
    check_session(session.as_deref())?;
    let session_id = session.unwrap_or_else(|| "-1".to_owned());
    let extracted = if state.tasks().pending(&user_id, &session_id) {
        false
    } else {
        pipeline::flush(&state, &user_id, &session_id).await?
    };
    let status = if extracted {
        "extracted"
    } else {
        "no_extraction"
    };
    Ok(envelope(
        json!({"status": status, "message": "Flush completed", "request_id": request_id()}),
    ))
}
