//! `POST /api/v1/memories/delete`: by `memory_id` alone, or by `user_id`/`group_id`
//! (+ `session_id`, `sender_id`). 204; deleted records vanish from search and get.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::Value;

use crate::error::ApiError;
use crate::routes::{parse_body, Body};
use crate::state::AppState;
use crate::store::{buffer, episodes, profiles};

/// A filter field: omitted = no filter, `null` or `""` = match empty, string = exact.
fn scope(body: &Body, key: &str) -> Result<Option<String>, ApiError> {
    match body.get(key) {
        None => Ok(None),
        Some(Value::Null) => Ok(Some(String::new())),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(ApiError::validation(format!(
            "{key}: Input should be a valid string"
        ))),
    }
}

/// The delete handler.
pub async fn delete(State(state): State<AppState>, body: Bytes) -> Result<StatusCode, ApiError> {
    let body = parse_body(&body)?;
    let memory_id = scope(&body, "memory_id")?.filter(|s| !s.is_empty());
    let (user_id, group_id) = (scope(&body, "user_id")?, scope(&body, "group_id")?);
    let (session_id, sender_id) = (scope(&body, "session_id")?, scope(&body, "sender_id")?);
    let has_filters = [&user_id, &group_id, &session_id, &sender_id]
        .iter()
        .any(|f| f.is_some());
    if let Some(id) = memory_id {
        if has_filters {
            return Err(ApiError::validation(
                "memory_id cannot be combined with filters",
            ));
        }
        state
            .store()
            .call_db(move |db| {
                let n = episodes::delete_by_id(&db.conn, &id)?;
                db.rank.clear();
                Ok(n)
            })
            .await?;
        return Ok(StatusCode::NO_CONTENT);
    }
    let named = |f: &Option<String>| f.as_deref().is_some_and(|s| !s.is_empty());
    if !named(&user_id) && !named(&group_id) {
        return Err(ApiError::validation(
            "delete needs memory_id, or user_id and/or group_id",
        ));
    }
    state
        .store()
        .call_db(move |db| {
            let users: Vec<String> = user_id.iter().cloned().collect();
            let groups: Vec<String> = group_id.iter().cloned().collect();
            let owners = episodes::list_owned(&db.conn, &users, &groups)?;
            let doomed: Vec<String> = owners
                .into_iter()
                .filter(|e| user_id.as_ref().is_none_or(|u| &e.user_id == u))
                .filter(|e| group_id.as_ref().is_none_or(|g| &e.group_id == g))
                .filter(|e| session_id.as_ref().is_none_or(|s| &e.session_id == s))
                .filter(|e| {
                    sender_id
                        .as_ref()
                        .is_none_or(|s| e.participants.contains(s))
                })
                .map(|e| e.id)
                .collect();
            let tx = db.conn.transaction()?;
            episodes::delete_ids(&tx, &doomed)?;
            if sender_id.is_none() {
                buffer::delete_scoped(
                    &tx,
                    user_id.as_deref(),
                    group_id.as_deref(),
                    session_id.as_deref(),
                )?;
                if session_id.is_none() {
                    profiles::delete_scoped(&tx, user_id.as_deref(), group_id.as_deref())?;
                }
            }
            tx.commit()?;
            db.rank.clear();
            Ok(())
        })
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
