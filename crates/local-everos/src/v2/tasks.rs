//! `GET /api/v2/tasks/{request_id}`: a queued add or flush, in the Cloud's `TaskItem`
//! shape `{id, status: queued|processing|success|failed, task_type: memory_add|memory_flush,
//! error, error_code, created_at, finished_at}`; unknown ids are 404 `NOT_FOUND`.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde_json::Value;

use crate::error::ApiError;
use crate::state::AppState;
use crate::v2::{envelope, RequestId};

/// The task handler.
pub async fn task(
    State(state): State<AppState>,
    rid: RequestId,
    Path(task_id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let item = state.queue().task_json(&task_id).ok_or_else(|| {
        ApiError::v2(
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
            format!("task {task_id} not found or expired"),
        )
    })?;
    Ok(envelope(&rid, item))
}
