//! `GET /api/v1/tasks/{task_id}`: async add status.

use axum::extract::{Path, State};
use axum::Json;
use serde_json::{json, Value};

use crate::error::ApiError;
use crate::routes::envelope;
use crate::state::AppState;

/// The task handler: known id → status, unknown → 404.
pub async fn task(
    State(state): State<AppState>,
    Path(task_id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let status = state
        .tasks()
        .status(&task_id)
        .ok_or_else(|| ApiError::not_found(format!("Task not found: {task_id}")))?;
    Ok(envelope(
        json!({"task_id": task_id, "status": status.as_str()}),
    ))
}
