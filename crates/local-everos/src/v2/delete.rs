//! The v2 delete routes of everos ≥ 1.6 and Cloud v2 (absent with `--no-delete`):
//!
//! * `POST /api/v2/memory/delete` `{user_id | agent_id, session_id?}` removes the user's
//!   episodes (of that session only, when given), their profile (only without a session)
//!   and their buffered messages (v2 turns they sent, v1 buffers they own); answers
//!   `{"filters": ["user_id"(, "session_id")], "count": <records removed>}` where the
//!   profile counts as one record.
//! * `POST /api/v2/memory/delete_by_ids` `{memory_type: "episode", memory_ids: [1..50],
//!   reason?: {code, note?}}` removes those episodes; ids already gone are a no-op;
//!   answers `{"memory_type": "episode", "success": true}`.

use axum::body::Bytes;
use axum::extract::State;
use axum::Json;
use serde_json::{json, Value};

use crate::error::ApiError;
use crate::state::AppState;
use crate::store::{buffer, episodes, profiles};
use crate::v2::input::{check_scope, invalid, owner_fields, owner_xor, parse, Obj, Owner};
use crate::v2::{envelope, RequestId};

/// Reasons a `delete_by_ids` may give.
const REASONS: &[&str] = &[
    "hallucination",
    "wrong_subject",
    "wrong_time",
    "redundant",
    "missing",
    "privacy",
    "style",
    "other",
];

/// The delete-by-owner handler.
pub async fn delete(
    State(state): State<AppState>,
    rid: RequestId,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let body = parse(&body)?;
    let top = Obj::new(&body, "");
    check_scope(&top, false)?;
    let (user, agent) = owner_fields(&top)?;
    let session = top.opt_str("session_id")?;
    top.forbid_extra(&["app_id", "project_id", "user_id", "agent_id", "session_id"])?;
    let owner = owner_xor(user, agent)?;
    let mut filters = vec![match owner {
        Owner::User(_) => "user_id",
        Owner::Agent(_) => "agent_id",
    }];
    if session.is_some() {
        filters.push("session_id");
    }
    let Owner::User(user) = owner else {
        return Ok(envelope(&rid, json!({"filters": filters, "count": 0})));
    };
    let count = state
        .store()
        .call_db(move |db| {
            let tx = db.conn.transaction()?;
            let s = session.as_deref();
            let mut n = episodes::delete_for_user(&tx, &user, s)?;
            n += buffer::delete_sender(&tx, &user, s)?;
            n += buffer::delete_scoped(&tx, Some(&user), None, s)?;
            if s.is_none() && profiles::delete_scoped(&tx, Some(&user), None)? > 0 {
                n += 1;
            }
            tx.commit()?;
            db.rank.clear();
            Ok(n)
        })
        .await?;
    Ok(envelope(&rid, json!({"filters": filters, "count": count})))
}

/// The delete-by-ids handler.
pub async fn delete_by_ids(
    State(state): State<AppState>,
    rid: RequestId,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let body = parse(&body)?;
    let top = Obj::new(&body, "");
    let memory_type = top.req_str("memory_type")?;
    let ids = match top.raw("memory_ids") {
        None => return Err(invalid("Field required", "memory_ids")),
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, v)| match v {
                Value::String(s) if !s.trim().is_empty() => Ok(s.clone()),
                Value::String(_) => Err(invalid(
                    "String should have at least 1 character",
                    &format!("memory_ids.{i}"),
                )),
                _ => Err(invalid(
                    "Input should be a valid string",
                    &format!("memory_ids.{i}"),
                )),
            })
            .collect::<Result<Vec<_>, _>>()?,
        Some(_) => return Err(invalid("Input should be a valid list", "memory_ids")),
    };
    if ids.is_empty() || ids.len() > 50 {
        return Err(invalid(
            &format!(
                "List should have between 1 and 50 items after validation, not {}",
                ids.len()
            ),
            "memory_ids",
        ));
    }
    match top.raw("reason") {
        None | Some(Value::Null) => {}
        Some(Value::Object(r)) => {
            let reason = Obj::new(r, "reason");
            reason.req_choice("code", REASONS)?;
            if let Some(note) = reason.opt_str("note")? {
                crate::v2::input::check_len(&note, "reason.note", 0, Some(256))?;
            }
            reason.forbid_extra(&["code", "note"])?;
        }
        Some(_) => {
            return Err(invalid(
                "Input should be a valid dictionary or instance of Reason",
                "reason",
            ))
        }
    }
    check_scope(&top, false)?;
    top.forbid_extra(&[
        "memory_type",
        "memory_ids",
        "reason",
        "app_id",
        "project_id",
    ])?;
    if memory_type != "episode" {
        return Err(ApiError::invalid_input(format!(
            "memory_type '{memory_type}' is not supported; only 'episode' is accepted"
        )));
    }
    let mut unique = ids;
    unique.sort();
    unique.dedup();
    state
        .store()
        .call_db(move |db| {
            let tx = db.conn.transaction()?;
            episodes::delete_exact(&tx, &unique)?;
            tx.commit()?;
            db.rank.clear();
            Ok(())
        })
        .await?;
    Ok(envelope(
        &rid,
        json!({"memory_type": "episode", "success": true}),
    ))
}
