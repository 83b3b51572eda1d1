//! `POST /api/v2/memory/search`: validate like the real `SearchRequest` (extra keys
//! refused, exactly one owner, `top_k` -1 or 1..100), compile the filters, then answer the
//! five lists. A user owner gets ranked `episodes` through [`Recall`] like v1's: by
//! meaning when a model is loaded (cosine for `vector`, 0.7 cosine + 0.3 BM25 for
//! `hybrid`/`agentic`), else BM25 (raw for `keyword`, squashed into (0, 1) for the other
//! methods); `vector` drops hits under `radius` (0.5 by default with `top_k: -1`) and
//! `hybrid` under `min_score` and nests `atomic_facts`. With `include_profile` the
//! profile document follows (its items nearest the query first when ranking by meaning),
//! and, when `filters.session_id` is a plain top-level string, that session's buffered
//! messages as `unprocessed_messages` whoever's session it is (the real server's leak).
//! An agent owner gets empty case and skill lists.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde_json::{json, Value};

use crate::clock::now_ms;
use crate::error::ApiError;
use crate::model::{Episode, ProfileItem};
use crate::recall::Recall;
use crate::state::AppState;
use crate::store::{buffer, episodes, profiles};
use crate::text::query_terms;
use crate::v2::filter::{Filter, Subject};
use crate::v2::health::capabilities;
use crate::v2::input::{check_scope, owner_fields, owner_xor, parse, value_error, Obj, Owner};
use crate::v2::pipeline::UNATTRIBUTED;
use crate::v2::{envelope, shape, RequestId};

/// The public methods.
pub const METHODS: &[&str] = &["keyword", "vector", "hybrid", "agentic", "llm_multiround"];
/// The request model's keys (anything else is refused).
const KEYS: &[&str] = &[
    "user_id",
    "agent_id",
    "app_id",
    "project_id",
    "query",
    "method",
    "top_k",
    "radius",
    "min_score",
    "include_profile",
    "enable_llm_rerank",
    "filters",
];
/// `top_k: -1` means this many.
const TOP_K_CAP: usize = 100;
/// The vector floor the real server applies with `top_k: -1` and no `radius`.
const UNLIMITED_RADIUS: f64 = 0.5;
/// Atomic facts nested per hybrid hit.
const FACTS_PER_EPISODE: usize = 5;

/// A validated search.
#[derive(Debug)]
struct SearchRequest {
    owner: Owner,
    query: String,
    method: String,
    top_k: i64,
    radius: Option<f64>,
    min_score: Option<f64>,
    include_profile: bool,
    enable_llm_rerank: bool,
}

fn validate(body: &serde_json::Map<String, Value>) -> Result<SearchRequest, ApiError> {
    let top = Obj::new(body, "");
    let (user, agent) = owner_fields(&top)?;
    check_scope(&top, false)?;
    // The real server replaces every `query` error with this hint.
    let query = match top.raw("query") {
        Some(Value::String(q)) if !q.is_empty() => q.clone(),
        _ => return Err(ApiError::invalid_input("Search query cannot be empty.")),
    };
    let method = top.choice_or("method", METHODS, "hybrid")?;
    let top_k = top.int_or("top_k", -1)?;
    let radius = top.opt_unit("radius")?;
    let min_score = top.opt_unit("min_score")?;
    let include_profile = top.bool_or("include_profile", false)?;
    let enable_llm_rerank = top.bool_or("enable_llm_rerank", false)?;
    Filter::check(top.raw("filters"))?;
    top.forbid_extra(KEYS)?;
    let owner = owner_xor(user, agent)?;
    if top_k == 0 || !(-1..=100).contains(&top_k) {
        return Err(value_error("top_k must be -1 or in 1..100"));
    }
    Ok(SearchRequest {
        owner,
        query,
        method,
        top_k,
        radius,
        min_score,
        include_profile,
        enable_llm_rerank,
    })
}

/// 422 `PROVIDER_NOT_CONFIGURED`, worded like the real server's.
fn provider_missing(provider: &str, feature: &str) -> ApiError {
    let section = if provider == "embedding" {
        "embedding"
    } else {
        provider
    };
    ApiError::v2(
        StatusCode::UNPROCESSABLE_ENTITY,
        "PROVIDER_NOT_CONFIGURED",
        format!(
            "Provider '{provider}' (required by {feature}) is not configured. Edit \
             everos.toml (run `everos init` to scaffold), section [{section}]."
        ),
    )
}

/// With `strict_capabilities`, refuses methods whose provider is missing, in the real
/// server's order; an agent `llm_multiround` is a 500 there either way.
fn check_components(state: &AppState, req: &SearchRequest) -> Result<(), ApiError> {
    let agent = matches!(req.owner, Owner::Agent(_));
    if state.config().strict_capabilities {
        let caps = capabilities(state);
        let feature = match (req.method.as_str(), agent) {
            ("hybrid", true) => "agent_hybrid",
            ("hybrid", false) => "user_hybrid",
            ("agentic", _) => "agentic_search",
            (m, _) => m,
        };
        if req.method != "keyword" && !caps.embed {
            return Err(provider_missing("embedding", feature));
        }
        let hybrid_lane = req.method == "hybrid" && agent && !req.enable_llm_rerank;
        if (hybrid_lane || req.method == "agentic") && !caps.rerank {
            return Err(provider_missing("rerank", feature));
        }
    }
    if agent && req.method == "llm_multiround" {
        tracing::warn!("llm_multiround asked for an agent owner");
        return Err(ApiError::v2(
            StatusCode::INTERNAL_SERVER_ERROR,
            "INTERNAL_ERROR",
            "Internal server error",
        ));
    }
    Ok(())
}

/// Maps a BM25 score into (0, 1), standing in for cosine and fused scores.
fn squash(bm25: f64) -> f64 {
    bm25 / (bm25 + 1.0)
}

/// The ranked, filtered and cut episode hits of a user. With a model and a method other
/// than `keyword`, [`Recall`] ranks by meaning (cosine for `vector`, the fused score for
/// `hybrid`/`agentic`/`llm_multiround`), every visible episode a candidate; otherwise by
/// BM25, raw for `keyword` (which sees the index `keyword_lag` late) and squashed into
/// (0, 1) for the others.
async fn ranked_episodes(
    state: &AppState,
    user: &str,
    req: &SearchRequest,
    recall: &Recall,
    filter: &Filter,
) -> Result<Vec<Value>, ApiError> {
    let terms = query_terms(&req.query);
    let now = now_ms();
    let keyword_lag = i64::try_from(state.config().keyword_lag.as_millis()).unwrap_or(i64::MAX);
    let seen_at = if req.method == "keyword" {
        now.saturating_sub(keyword_lag)
    } else {
        now
    };
    let (u, r) = (vec![user.to_owned()], recall.clone());
    let hits = state
        .store()
        .call_db(move |db| r.episodes(db, &u, &[], seen_at))
        .await?;
    let raw = req.method == "keyword" || recall.by_meaning();
    let mut hits: Vec<(Episode, f64)> = hits
        .into_iter()
        .filter(|(e, _)| filter.matches(&subject(e)))
        .map(|(e, s)| (e, if raw { s } else { squash(s) }))
        .collect();
    let floor = match req.method.as_str() {
        "vector" => req.radius.or((req.top_k == -1).then_some(UNLIMITED_RADIUS)),
        "hybrid" => req.min_score,
        _ => None,
    };
    if let Some(floor) = floor {
        hits.retain(|(_, s)| *s >= floor);
    }
    hits.sort_by(|(a, sa), (b, sb)| sb.total_cmp(sa).then_with(|| a.id.cmp(&b.id)));
    hits.truncate(usize::try_from(req.top_k).unwrap_or(TOP_K_CAP));
    Ok(hits
        .iter()
        .map(|(e, s)| {
            let facts = if req.method == "hybrid" {
                shape::atomic_facts(e, &terms, FACTS_PER_EPISODE)
            } else {
                Vec::new()
            };
            shape::episode_hit(e, *s, facts)
        })
        .collect())
}

/// What the v2 filters see of an episode.
pub fn subject(e: &Episode) -> Subject<'_> {
    Subject {
        session_id: &e.session_id,
        timestamp_ms: e.timestamp_ms,
        sender_ids: &e.participants,
        parent_type: "memcell",
        parent_id: &e.parent_id,
    }
}

/// A user's profile document as `/search` and `/get` show it (with the profile lag).
pub async fn profile_doc(
    state: &AppState,
    user: &str,
    with_score: bool,
) -> Result<Option<Value>, ApiError> {
    profile_doc_for(state, user, with_score, None).await
}

/// The profile document; with a `recall` that ranks by meaning, its items ordered by
/// their cosine to the query (nearest first; none dropped), else in stored order.
async fn profile_doc_for(
    state: &AppState,
    user: &str,
    with_score: bool,
    recall: Option<&Recall>,
) -> Result<Option<Value>, ApiError> {
    let (u, lag, now) = (
        user.to_owned(),
        state.config().profile_lag_episodes,
        now_ms(),
    );
    let recall = recall.filter(|r| r.by_meaning()).cloned();
    let (stored, ranked) = state
        .store()
        .call(move |c| {
            let count = episodes::count_for_user(c, &u)?;
            let items = profiles::document_items(c, &u, now, count, lag)?;
            let Some(recall) = recall else {
                return Ok((items, None));
            };
            let mut scored = recall.profiles(c, &u, items.clone())?;
            scored.sort_by(|(_, a), (_, b)| b.total_cmp(a));
            let ranked: Vec<ProfileItem> = scored.into_iter().map(|(i, _)| i).collect();
            Ok((items, Some(ranked)))
        })
        .await?;
    let doc = shape::profile_doc(user, &stored, with_score);
    let Some(ranked) = ranked else {
        return Ok(doc);
    };
    // The summary stays the document's own; only the lists' order follows the query.
    let mut ranked_doc = shape::profile_doc(user, &ranked, with_score);
    if let (Some(d), Some(r)) = (&doc, &mut ranked_doc) {
        r["profile_data"]["summary"] = d["profile_data"]["summary"].clone();
    }
    Ok(ranked_doc)
}

/// The search handler.
pub async fn search(
    State(state): State<AppState>,
    rid: RequestId,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let body = parse(&body)?;
    let req = validate(&body)?;
    let filter = Filter::parse(body.get("filters"))?;
    check_components(&state, &req)?;
    let mut data = json!({"episodes": [], "profiles": [], "agent_cases": [], "agent_skills": [],
                          "unprocessed_messages": []});
    if let Owner::User(user) = &req.owner {
        let users = [user.clone()];
        let recall = Recall::prepare(&state, &req.query, &req.method, None, &users, &[]).await?;
        data["episodes"] =
            Value::Array(ranked_episodes(&state, user, &req, &recall, &filter).await?);
        if req.include_profile {
            if let Some(doc) = profile_doc_for(&state, user, true, Some(&recall)).await? {
                data["profiles"] = json!([doc]);
            }
        }
    }
    if let Some(session) = filter.top_level_session.clone() {
        let rows = state
            .store()
            .call(move |c| buffer::session(c, UNATTRIBUTED, &session))
            .await?;
        data["unprocessed_messages"] = rows.iter().map(|(_, m)| shape::unprocessed(m)).collect();
    }
    Ok(envelope(&rid, data))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_order_follows_the_request_model() {
        let v = |b: Value| {
            validate(b.as_object().unwrap())
                .map(|_| ())
                .unwrap_err()
                .message
        };
        assert_eq!(v(json!({"user_id": "u"})), "Search query cannot be empty.");
        assert_eq!(
            v(json!({"query": "x"})),
            "Value error, exactly one of user_id / agent_id must be provided"
        );
        assert_eq!(
            v(json!({"user_id": "u", "query": "x", "memory_types": ["profile"]})),
            "Extra inputs are not permitted: memory_types"
        );
        assert_eq!(
            v(json!({"user_id": "u", "query": "x", "top_k": 101})),
            "Value error, top_k must be -1 or in 1..100"
        );
        assert_eq!(
            v(json!({"user_id": "u", "query": "x", "method": "bm25"})),
            "Input should be 'keyword', 'vector', 'hybrid', 'agentic' or 'llm_multiround': method"
        );
        assert!(squash(3.0) > squash(1.0) && squash(1.0) == UNLIMITED_RADIUS);
    }
}
