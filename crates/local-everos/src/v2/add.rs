//! `POST /api/v2/memory/add`: validate like the real `MemorizeAddRequest` (unknown
//! top-level keys are ignored, as there), then buffer inline (200
//! `{message_count, status: accumulated|extracted}`) or queue (202
//! `{status: queued, message_count, pending}`; the task id is the request id) when
//! `async_mode` is set or the session already has queued work.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

use crate::clock::{now_ms, v2_timestamp_ms};
use crate::error::ApiError;
use crate::ids::object_id;
use crate::model::BufferedMessage;
use crate::state::AppState;
use crate::v2::input::{as_int, check_len, check_path_safe, check_scope, invalid, parse, Obj};
use crate::v2::pipeline::{self, AddOutcome, UNATTRIBUTED};
use crate::v2::queue::{Saturated, TaskType};
use crate::v2::{envelope, RequestId};

/// Content item types the API accepts.
const CONTENT_TYPES: &[&str] = &["text", "image", "audio", "doc", "pdf", "html", "email"];
/// Keys a content item may have (extra keys are refused).
const CONTENT_KEYS: &[&str] = &["type", "text", "uri", "base64", "ext", "name", "extras"];

/// Why a non-text content item fails: the real server's message, including (like there) a
/// server file path, so a client can be tested for never passing it on.
const MULTIMODAL: &str = "Multimodal parsing requires the parser extra. Install with: pip install \
     'everos[multimodal]' (/opt/local-everos/site-packages/everos/component/parser/_core.py)";

/// A validated message before it is buffered.
struct Message {
    row: BufferedMessage,
    /// Tool rows and assistant rows with tool calls are dropped in chat mode.
    dropped: bool,
    /// Has a non-text content item (needs the multimodal parser).
    multimodal: bool,
}

/// The add handler.
pub async fn add(
    State(state): State<AppState>,
    rid: RequestId,
    body: Bytes,
) -> Result<Response, ApiError> {
    let body = parse(&body)?;
    let top = Obj::new(&body, "");
    let session_id = top.req_str("session_id")?;
    check_len(&session_id, "session_id", 1, Some(128))?;
    check_scope(&top, true)?;
    let msgs = messages(&top, &session_id, &rid.0)?;
    let defer = top.bool_or("defer_extraction", false)?;
    let async_mode = top.bool_or("async_mode", false)?;
    let multimodal = msgs.iter().any(|m| m.multimodal);
    let count = msgs.len();
    let rows: Vec<BufferedMessage> = msgs
        .into_iter()
        .filter(|m| !m.dropped)
        .map(|m| m.row)
        .collect();

    let queue = state.queue();
    if async_mode || queue.pending(&session_id) > 0 {
        let (st, s) = (state.clone(), session_id.clone());
        let generation = state.generation();
        let job = async move {
            if st.generation() != generation {
                return Ok(());
            }
            if multimodal {
                return Err(MULTIMODAL.to_owned());
            }
            pipeline::add(&st, &s, rows, defer)
                .await
                .map(|_| ())
                .map_err(|e| e.to_string())
        };
        let pending = queue
            .enqueue(
                &session_id,
                &rid.0,
                TaskType::Add,
                state.config().async_delay,
                job,
            )
            .map_err(saturated)?;
        let data = json!({"status": "queued", "message_count": count, "pending": pending});
        return Ok((StatusCode::ACCEPTED, envelope(&rid, data)).into_response());
    }
    if multimodal {
        return Err(ApiError::v2(
            StatusCode::SERVICE_UNAVAILABLE,
            "CAPABILITY_UNAVAILABLE",
            MULTIMODAL,
        ));
    }
    let status = match pipeline::add(&state, &session_id, rows, defer).await? {
        AddOutcome::Accumulated => "accumulated",
        AddOutcome::Extracted => "extracted",
    };
    Ok(envelope(&rid, json!({"message_count": count, "status": status})).into_response())
}

/// 429 `QUEUE_SATURATED` for a session with too much queued work.
pub fn saturated(_: Saturated) -> ApiError {
    ApiError::v2(
        StatusCode::TOO_MANY_REQUESTS,
        "QUEUE_SATURATED",
        format!(
            "session has {} unfinished queued batches; retry later",
            crate::v2::queue::MAX_PENDING_PER_SESSION
        ),
    )
}

/// Validates `messages` (1–500 `MessageItemDTO`s) into buffer rows.
fn messages(top: &Obj<'_>, session_id: &str, request_id: &str) -> Result<Vec<Message>, ApiError> {
    let items = match top.raw("messages") {
        None => return Err(invalid("Field required", "messages")),
        Some(Value::Array(items)) => items,
        Some(_) => return Err(invalid("Input should be a valid list", "messages")),
    };
    if items.is_empty() {
        return Err(invalid(
            "List should have at least 1 item after validation, not 0",
            "messages",
        ));
    }
    if items.len() > 500 {
        return Err(invalid(
            &format!(
                "List should have at most 500 items after validation, not {}",
                items.len()
            ),
            "messages",
        ));
    }
    let now = now_ms();
    items
        .iter()
        .enumerate()
        .map(|(i, item)| message(item, i, session_id, request_id, now))
        .collect()
}

fn message(
    item: &Value,
    i: usize,
    session_id: &str,
    request_id: &str,
    now: i64,
) -> Result<Message, ApiError> {
    let at = format!("messages.{i}");
    let Some(map) = item.as_object() else {
        return Err(invalid(
            "Input should be a valid dictionary or object to extract fields from",
            &at,
        ));
    };
    let m = Obj::new(map, &at);
    let sender_id = m.req_str("sender_id")?;
    check_path_safe(&sender_id, &m.loc("sender_id"))?;
    let sender_name = m.opt_str("sender_name")?;
    let role = m.req_choice("role", &["user", "assistant", "tool"])?;
    let raw_ts = match m.raw("timestamp") {
        None => return Err(invalid("Field required", &m.loc("timestamp"))),
        Some(v) => as_int(v)
            .ok_or_else(|| invalid("Input should be a valid integer", &m.loc("timestamp")))?,
    };
    if raw_ts <= 0 {
        return Err(invalid(
            "Input should be greater than 0",
            &m.loc("timestamp"),
        ));
    }
    let (content_items, text, multimodal) = content(&m)?;
    let tool_calls = tool_calls(&m)?;
    let tool_call_id = m.opt_str("tool_call_id")?;
    if role == "tool" && tool_call_id.as_deref().is_none_or(str::is_empty) {
        return Err(invalid(
            "Value error, tool_call_id is required when role is 'tool'",
            &at,
        ));
    }
    let timestamp_ms = v2_timestamp_ms(raw_ts)
        .ok_or_else(|| invalid("Input should be a valid integer", &m.loc("timestamp")))?;
    Ok(Message {
        dropped: role == "tool" || tool_calls,
        multimodal,
        row: BufferedMessage {
            id: object_id(),
            request_id: request_id.to_owned(),
            user_id: UNATTRIBUTED.to_owned(),
            session_id: session_id.to_owned(),
            group_id: String::new(),
            role,
            sender_id,
            sender_name,
            message_id: format!("m_{session_id}_{raw_ts}_{i:03}"),
            content_items,
            text,
            timestamp_ms,
            created_ms: now,
        },
    })
}

/// `content`: a string (stored as one text item) or a list of content items.
fn content(m: &Obj<'_>) -> Result<(Value, String, bool), ApiError> {
    let loc = m.loc("content");
    match m.raw("content") {
        None => Err(invalid("Field required", &loc)),
        Some(Value::String(s)) => Ok((json!([{"type": "text", "text": s}]), s.clone(), false)),
        Some(Value::Array(items)) => {
            let mut texts = Vec::new();
            let mut multimodal = false;
            for (j, item) in items.iter().enumerate() {
                let at = format!("{loc}.{j}");
                let Some(map) = item.as_object() else {
                    return Err(invalid(
                        "Input should be a valid dictionary or instance of ContentItemDTO",
                        &at,
                    ));
                };
                let c = Obj::new(map, &at);
                let kind = c.req_choice("type", CONTENT_TYPES)?;
                for key in ["text", "uri", "base64", "ext", "name"] {
                    c.opt_str(key)?;
                }
                match c.raw("extras") {
                    None | Some(Value::Null) | Some(Value::Object(_)) => {}
                    Some(_) => {
                        return Err(invalid(
                            "Input should be a valid dictionary",
                            &c.loc("extras"),
                        ))
                    }
                }
                c.forbid_extra(CONTENT_KEYS)?;
                if kind == "text" {
                    texts.push(c.opt_str("text")?.unwrap_or_default());
                } else {
                    multimodal = true;
                }
            }
            Ok((Value::Array(items.clone()), texts.join("\n"), multimodal))
        }
        Some(_) => Err(invalid("Input should be a valid string", &loc)),
    }
}

/// `tool_calls`: `null` or a list of `{id, type?, function: {name, arguments}}`; returns
/// whether there is at least one.
fn tool_calls(m: &Obj<'_>) -> Result<bool, ApiError> {
    let loc = m.loc("tool_calls");
    let items = match m.raw("tool_calls") {
        None | Some(Value::Null) => return Ok(false),
        Some(Value::Array(items)) => items,
        Some(_) => return Err(invalid("Input should be a valid list", &loc)),
    };
    for (j, item) in items.iter().enumerate() {
        let at = format!("{loc}.{j}");
        let Some(map) = item.as_object() else {
            return Err(invalid(
                "Input should be a valid dictionary or instance of ToolCallDTO",
                &at,
            ));
        };
        let call = Obj::new(map, &at);
        call.req_str("id")?;
        call.str_or("type", "function")?;
        let f_at = call.loc("function");
        let f = match call.raw("function") {
            Some(Value::Object(f)) => f,
            None => return Err(invalid("Field required", &f_at)),
            Some(_) => {
                return Err(invalid(
                    "Input should be a valid dictionary or instance of ToolFunctionDTO",
                    &f_at,
                ))
            }
        };
        let func = Obj::new(f, &f_at);
        func.req_str("name")?;
        func.req_str("arguments")?;
    }
    Ok(!items.is_empty())
}
