//! `POST /api/v2/memory/flush`: cut the session's buffer into one cell (200
//! `{status: extracted|no_extraction}`), or queue behind the session's pending batches
//! (202 `{status: queued, message_count: 0, pending}`).

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::error::ApiError;
use crate::state::AppState;
use crate::v2::add::saturated;
use crate::v2::input::{check_len, check_scope, parse, Obj};
use crate::v2::pipeline;
use crate::v2::queue::TaskType;
use crate::v2::{envelope, RequestId};

/// The flush handler.
pub async fn flush(
    State(state): State<AppState>,
    rid: RequestId,
    body: Bytes,
) -> Result<Response, ApiError> {
    let body = parse(&body)?;
    let top = Obj::new(&body, "");
    let session_id = top.req_str("session_id")?;
    check_len(&session_id, "session_id", 1, Some(128))?;
    check_scope(&top, true)?;
    let queue = state.queue();
    if queue.pending(&session_id) > 0 {
        let (st, s) = (state.clone(), session_id.clone());
        let generation = state.generation();
        let job = async move {
            if st.generation() != generation {
                return Ok(());
            }
            pipeline::flush(&st, &s)
                .await
                .map(|_| ())
                .map_err(|e| e.to_string())
        };
        let pending = queue
            .enqueue(
                &session_id,
                &rid.0,
                TaskType::Flush,
                state.config().async_delay,
                job,
            )
            .map_err(saturated)?;
        let data = json!({"status": "queued", "message_count": 0, "pending": pending});
        return Ok((StatusCode::ACCEPTED, envelope(&rid, data)).into_response());
    }
    let status = if pipeline::flush(&state, &session_id).await? {
        "extracted"
    } else {
        "no_extraction"
    };
    Ok(envelope(&rid, json!({"status": status})).into_response())
}
