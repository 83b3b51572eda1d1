//! `POST /api/v1/memories/search`: validated filters, ranked episodes and profile items
//! ([`crate::recall`]: by meaning when embeddings are on, else BM25 and token overlap)
//! and the caller's buffered user turns, each list cut to `top_k`.

use axum::body::Bytes;
use axum::extract::State;
use axum::Json;
use serde_json::{json, Value};

use crate::clock::now_ms;
use crate::error::ApiError;
use crate::filter::{Filter, Subject};
use crate::model::ProfileItem;
use crate::recall::Recall;
use crate::routes::{envelope, opt_bool, opt_int, opt_str, parse_body, Body};
use crate::state::AppState;
use crate::store::{buffer, episodes, profiles};

const METHODS: &[&str] = &["keyword", "vector", "hybrid", "agentic"];
const TYPES: &[&str] = &["episodic_memory", "profile", "raw_message", "agent_memory"];
/// `top_k: -1` means "all", capped here.
const TOP_K_CAP: usize = 100;

/// A validated search request.
#[derive(Debug)]
struct SearchRequest {
    query: String,
    filters: Value,
    filter: Filter,
    method: String,
    types: Vec<String>,
    top_k: usize,
    radius: Option<f64>,
    include_original_data: bool,
}

fn validate(body: &Body) -> Result<SearchRequest, ApiError> {
    let query = match body.get("query") {
        Some(Value::String(s)) if !s.trim().is_empty() => s.clone(),
        Some(Value::String(_)) => {
            return Err(ApiError::validation(
                "query: String should have at least 1 character",
            ))
        }
        None | Some(Value::Null) => {
            return Err(ApiError::validation("query: Missing required field: query"))
        }
        Some(_) => {
            return Err(ApiError::validation(
                "query: Input should be a valid string",
            ))
        }
    };
    let (filters, filter) = super::required_filters(body, crate::filter::Route::Search)?;
    if !filter.has_scope() {
        return Err(ApiError::validation(
            "filters must contain at least one of 'user_id' or 'group_id'",
        ));
    }
    let method = opt_str(body, "method")?.unwrap_or_else(|| "hybrid".to_owned());
    if !METHODS.contains(&method.as_str()) {
        return Err(ApiError::validation(format!(
            "method: Input should be one of {METHODS:?}"
        )));
    }
    let types = match body.get("memory_types") {
        None | Some(Value::Null) => vec!["episodic_memory".to_owned(), "profile".to_owned()],
        Some(Value::Array(items)) => items
            .iter()
            .map(|t| match t.as_str() {
                Some(s) if TYPES.contains(&s) => Ok(s.to_owned()),
                _ => Err(ApiError::validation(format!(
                    "memory_types: Input should be one of {TYPES:?}"
                ))),
            })
            .collect::<Result<_, _>>()?,
        Some(_) => {
            return Err(ApiError::validation(
                "memory_types: Input should be a valid list",
            ))
        }
    };
    let top_k = match opt_int(body, "top_k")?.unwrap_or(-1) {
        -1 => TOP_K_CAP,
        k @ 1..=100 => usize::try_from(k).unwrap_or(TOP_K_CAP),
        _ => {
            return Err(ApiError::validation(
                "top_k: must be -1 or between 1 and 100",
            ))
        }
    };
    let radius = match body.get("radius") {
        None | Some(Value::Null) => None,
        Some(v) if v.as_f64().is_some_and(|r| (0.0..=1.0).contains(&r)) => v.as_f64(),
        Some(_) => return Err(ApiError::validation("radius: must be between 0.0 and 1.0")),
    };
    let include_original_data = opt_bool(body, "include_original_data")?.unwrap_or(false);
    Ok(SearchRequest {
        query,
        filters,
        filter,
        method,
        types,
        top_k,
        radius,
        include_original_data,
    })
}

/// The search handler.
pub async fn search(State(state): State<AppState>, body: Bytes) -> Result<Json<Value>, ApiError> {
    let req = validate(&parse_body(&body)?)?;
    let wants = |t: &str| req.types.iter().any(|x| x == t);
    let users: Vec<String> = req.filter.user_ids.iter().cloned().collect();
    let groups: Vec<String> = req.filter.group_ids.iter().cloned().collect();
    let (want_eps, want_raw) = (wants("episodic_memory"), wants("raw_message"));
    // Profiles are vector-only in the engine: silently dropped for keyword or without user_id.
    let want_profiles = wants("profile") && req.method != "keyword" && !users.is_empty();
    let recall =
        Recall::prepare(&state, &req.query, &req.method, req.radius, &users, &groups).await?;
    let now = now_ms();

    let (u, g) = (users.clone(), groups);
    let (eps, scored, raw) = state
        .store()
        .call_db(move |db| {
            let eps = if want_eps {
                recall.episodes(db, &u, &g, now)?
            } else {
                Vec::new()
            };
            let mut scored: Vec<(ProfileItem, i64, f64)> = Vec::new();
            if want_profiles {
                for user in &u {
                    let memcells = episodes::count_for_user(&db.conn, user)?;
                    let visible = profiles::visible(&db.conn, user, now)?;
                    let ranked = recall.profiles(&db.conn, user, visible)?;
                    scored.extend(ranked.into_iter().map(|(item, s)| (item, memcells, s)));
                }
            }
            let raw = if want_raw {
                buffer::user_turns(&db.conn, &u)?
            } else {
                Vec::new()
            };
            Ok((eps, scored, raw))
        })
        .await?;

    let filter = &req.filter;
    let mut eps: Vec<_> = eps
        .into_iter()
        .filter(|(e, _)| {
            filter.matches(&Subject {
                user_id: &e.user_id,
                group_id: &e.group_id,
                session_id: &e.session_id,
                timestamp_ms: e.timestamp_ms,
            })
        })
        .collect();
    eps.sort_by(|(a, sa), (b, sb)| sb.total_cmp(sa).then_with(|| a.id.cmp(&b.id)));
    eps.truncate(req.top_k);

    let mut scored = scored;
    scored.sort_by(|(a, _, sa), (b, _, sb)| sb.total_cmp(sa).then_with(|| a.id.cmp(&b.id)));
    scored.truncate(req.top_k);

    let mut raw: Vec<_> = raw
        .into_iter()
        .filter(|m| {
            filter.matches(&Subject {
                user_id: &m.user_id,
                group_id: &m.group_id,
                session_id: &m.session_id,
                timestamp_ms: m.timestamp_ms,
            })
        })
        .collect();
    let skip = raw.len().saturating_sub(req.top_k);
    raw.drain(..skip);

    let profile_hits: Vec<Value> = scored
        .iter()
        .map(|(i, memcells, score)| {
            json!({"id": i.id, "user_id": i.user_id, "group_id": i.group_id, "scenario": "solo",
                   "memcell_count": memcells,
                   "profile_data": {"item_type": i.fact.item_type.as_str(), "embed_text": i.fact.embed_text()},
                   "score": score})
        })
        .collect();
    let original = req
        .include_original_data
        .then(|| json!({"episodes": {}, "profiles": {}}));
    Ok(envelope(json!({
        "episodes": eps.iter().map(|(e, s)| e.to_search_hit(*s)).collect::<Vec<_>>(),
        "profiles": profile_hits,
        "raw_messages": raw.iter().map(|m| m.to_raw_dto()).collect::<Vec<_>>(),
        "agent_memory": null,
        "query": {"text": req.query, "method": req.method, "filters_applied": req.filters},
        "original_data": original,
    })))
}
