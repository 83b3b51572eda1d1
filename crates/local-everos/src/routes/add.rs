//! `POST /api/v1/memories`: validate, then buffer (sync 200) or schedule (async 202).

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

use crate::clock::now_ms;
use crate::error::ApiError;
use crate::ids::{assistant_sender_id, message_id, object_id, request_id, solo_group_id};
use crate::model::BufferedMessage;
use crate::pipeline;
use crate::routes::{
    check_not_reserved, check_session, envelope, opt_bool, opt_str, parse_body, req_str, Body,
};
use crate::state::AppState;
use crate::tasks::TaskStatus;

/// Content item types the API accepts.
const CONTENT_TYPES: &[&str] = &["text", "audio", "image", "doc", "pdf", "html", "email"];

/// The add handler.
pub async fn add(State(state): State<AppState>, body: Bytes) -> Result<Response, ApiError> {
    let body = parse_body(&body)?;
    let user_id = req_str(&body, "user_id")?;
    check_not_reserved("user_id", &user_id)?;
    let session = opt_str(&body, "session_id")?;
    check_session(session.as_deref())?;
    let session_id = session.unwrap_or_else(|| "-1".to_owned());
    let async_mode = opt_bool(&body, "async_mode")?.unwrap_or(false);
    let request_id = request_id();
    let msgs = messages(&body, &user_id, &session_id, &request_id)?;
    let count = msgs.len();

    if async_mode {
        let task_id = object_id();
        state.tasks().start(&task_id, &user_id, &session_id);
        let generation = state.generation();
        let (st, tid, u, s) = (
            state.clone(),
            task_id.clone(),
            user_id.clone(),
            session_id.clone(),
        );
        tokio::spawn(async move {
            tokio::time::sleep(st.config().async_delay).await;
            if st.generation() != generation {
                return;
            }
            let status = match pipeline::buffer_messages(&st, &u, &s, msgs).await {
                Ok(_) => TaskStatus::Success,
                Err(err) => {
                    tracing::error!(%err, task_id = %tid, "async add failed");
                    TaskStatus::Failed
                }
            };
            st.tasks().finish(&tid, &u, &s, status);
        });
        let data = json!({"task_id": task_id, "status": "queued", "message_count": count,
                          "message": "Messages accepted", "request_id": request_id});
        return Ok((StatusCode::ACCEPTED, envelope(data)).into_response());
    }

    let cut = pipeline::buffer_messages(&state, &user_id, &session_id, msgs).await?;
    let status = if cut > 0 { "extracted" } else { "accumulated" };
    let data = json!({"message_count": count, "status": status, "message": "Messages accepted",
                      "task_id": null, "request_id": request_id});
    Ok(envelope(data).into_response())
}

/// Validates `messages` (1–500) and turns them into buffer rows.
fn messages(
    body: &Body,
    user_id: &str,
    session_id: &str,
    request_id: &str,
) -> Result<Vec<BufferedMessage>, ApiError> {
    let items = match body.get("messages") {
        Some(Value::Array(items)) => items,
        None | Some(Value::Null) => {
            return Err(ApiError::validation(
                "messages: Missing required field: messages",
            ))
        }
        Some(_) => {
            return Err(ApiError::validation(
                "messages: Input should be a valid list",
            ))
        }
    };
    if items.is_empty() || items.len() > 500 {
        return Err(ApiError::validation(
            "messages: must contain between 1 and 500 items",
        ));
    }
    let now = now_ms();
    let group_id = solo_group_id(user_id);
    items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let m = item.as_object().ok_or_else(|| {
                ApiError::validation(format!("messages.{i}: Input should be a valid dictionary"))
            })?;
            let field = |k: &str| format!("messages.{i}.{k}");
            let role = match opt_str(m, "role")?.as_deref() {
                Some(r @ ("user" | "assistant")) => r.to_owned(),
                _ => {
                    return Err(ApiError::validation(format!(
                        "{}: Input should be 'user' or 'assistant'",
                        field("role")
                    )))
                }
            };
            let timestamp_ms = match m.get("timestamp").and_then(Value::as_i64) {
                Some(t) if t > 0 => t,
                _ => {
                    return Err(ApiError::validation(format!(
                        "{}: must be a positive integer (epoch ms)",
                        field("timestamp")
                    )))
                }
            };
            let (content_items, text) = content(m.get("content"))
                .map_err(|msg| ApiError::validation(format!("{}: {msg}", field("content"))))?;
            let sender_id = sender(opt_str(m, "sender_id")?, &role, user_id)
                .map_err(|msg| ApiError::validation(format!("{}: {msg}", field("sender_id"))))?;
            let message_id = match opt_str(m, "message_id")? {
                Some(id) => {
                    check_not_reserved(&field("message_id"), &id)?;
                    id
                }
                None => message_id(user_id, timestamp_ms),
            };
            Ok(BufferedMessage {
                id: object_id(),
                request_id: request_id.to_owned(),
                user_id: user_id.to_owned(),
                session_id: session_id.to_owned(),
                group_id: group_id.clone(),
                role,
                sender_id,
                sender_name: opt_str(m, "sender_name")?,
                message_id,
                content_items,
                text,
                timestamp_ms,
                created_ms: now,
            })
        })
        .collect()
}

/// Applies the engine's sender rules.
fn sender(given: Option<String>, role: &str, user_id: &str) -> Result<String, String> {
    match given {
        Some(s) if s.starts_with("gen_") => Err("ids starting with 'gen_' are reserved".into()),
        Some(s) if role == "user" && s != user_id => {
            Err("must equal user_id for role 'user'".into())
        }
        Some(s) if role == "assistant" && s == user_id => {
            Err("must not equal user_id for role 'assistant'".into())
        }
        Some(s) => Ok(s),
        None if role == "user" => Ok(user_id.to_owned()),
        None => Ok(assistant_sender_id(user_id)),
    }
}

/// A non-empty string or non-empty array of content items → (items, joined text).
fn content(value: Option<&Value>) -> Result<(Value, String), String> {
    match value {
        Some(Value::String(s)) if !s.trim().is_empty() => {
            Ok((json!([{"type": "text", "text": s}]), s.clone()))
        }
        Some(Value::String(_)) => Err("must not be empty".into()),
        Some(Value::Array(items)) if !items.is_empty() => {
            let mut texts = Vec::new();
            for (i, item) in items.iter().enumerate() {
                let kind = item.get("type").and_then(Value::as_str).unwrap_or_default();
                if !CONTENT_TYPES.contains(&kind) {
                    return Err(format!("{i}.type: must be one of {CONTENT_TYPES:?}"));
                }
                let text = item
                    .get("text")
                    .or_else(|| item.get("content"))
                    .and_then(Value::as_str);
                if let (Some(t), "text") = (text, kind) {
                    texts.push(t.to_owned());
                }
            }
            Ok((Value::Array(items.clone()), texts.join("\n")))
        }
        Some(Value::Array(_)) => Err("must not be empty".into()),
        None | Some(Value::Null) => Err("Missing required field: content".into()),
        Some(_) => Err("must be a string or a list of content items".into()),
    }
}
