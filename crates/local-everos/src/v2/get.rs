//! `POST /api/v2/memory/get`: a paginated listing of one owner's memory of one type, like
//! the real `GetRequest` (extra keys refused; `user_id` pairs with `episode`/`profile`,
//! `agent_id` with `agent_case`/`agent_skill`). Answers the four lists plus `total_count`
//! and `count`. Episodes obey the index lag and the filters DSL; the profile is the one
//! document (with the profile lag); agent memory is always empty here.

use axum::body::Bytes;
use axum::extract::State;
use axum::Json;
use serde_json::{json, Value};

use crate::clock::now_ms;
use crate::error::ApiError;
use crate::state::AppState;
use crate::store::episodes;
use crate::v2::filter::Filter;
use crate::v2::input::{check_scope, owner_fields, owner_xor, parse, value_error, Obj, Owner};
use crate::v2::search::{profile_doc, subject};
use crate::v2::{envelope, shape, RequestId};

/// The memory types.
const TYPES: &[&str] = &["episode", "profile", "agent_case", "agent_skill"];
/// The request model's keys (anything else is refused).
const KEYS: &[&str] = &[
    "user_id",
    "agent_id",
    "app_id",
    "project_id",
    "memory_type",
    "page",
    "page_size",
    "sort_by",
    "sort_order",
    "filters",
];

/// A validated listing request.
#[derive(Debug)]
struct GetRequest {
    owner: Owner,
    memory_type: String,
    page: i64,
    page_size: i64,
    ascending: bool,
}

fn validate(body: &serde_json::Map<String, Value>) -> Result<GetRequest, ApiError> {
    let top = Obj::new(body, "");
    let (user, agent) = owner_fields(&top)?;
    check_scope(&top, false)?;
    let memory_type = top.req_choice("memory_type", TYPES)?;
    let page = top.int_or("page", 1)?;
    if page < 1 {
        return Err(crate::v2::input::invalid(
            "Input should be greater than or equal to 1",
            "page",
        ));
    }
    let page_size = top.int_or("page_size", 20)?;
    if page_size < 1 {
        return Err(crate::v2::input::invalid(
            "Input should be greater than or equal to 1",
            "page_size",
        ));
    }
    if page_size > 100 {
        return Err(crate::v2::input::invalid(
            "Input should be less than or equal to 100",
            "page_size",
        ));
    }
    top.choice_or("sort_by", &["timestamp", "updated_at"], "timestamp")?;
    let order = top.choice_or("sort_order", &["asc", "desc"], "desc")?;
    Filter::check(top.raw("filters"))?;
    top.forbid_extra(KEYS)?;
    let owner = owner_xor(user, agent)?;
    let fits = match &owner {
        Owner::User(_) => memory_type == "episode" || memory_type == "profile",
        Owner::Agent(_) => memory_type == "agent_case" || memory_type == "agent_skill",
    };
    if !fits {
        let who = match owner {
            Owner::User(_) => "user_id",
            Owner::Agent(_) => "agent_id",
        };
        return Err(value_error(&format!(
            "memory_type '{memory_type}' is not valid when {who} is set"
        )));
    }
    Ok(GetRequest {
        owner,
        memory_type,
        page,
        page_size,
        ascending: order == "asc",
    })
}

/// The get handler.
pub async fn get(
    State(state): State<AppState>,
    rid: RequestId,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let body = parse(&body)?;
    let req = validate(&body)?;
    let filter = Filter::parse(body.get("filters"))?;
    let mut data = json!({"episodes": [], "profiles": [], "agent_cases": [], "agent_skills": [],
                          "total_count": 0, "count": 0});
    let Owner::User(user) = &req.owner else {
        return Ok(envelope(&rid, data));
    };
    if req.memory_type == "profile" {
        if let Some(doc) = profile_doc(&state, user, false).await? {
            data["profiles"] = json!([doc]);
            data["total_count"] = json!(1);
            data["count"] = json!(1);
        }
        return Ok(envelope(&rid, data));
    }
    let now = now_ms();
    let users = vec![user.clone()];
    let mut eps = state
        .store()
        .call(move |c| episodes::list_owned(c, &users, &[]))
        .await?;
    eps.retain(|e| e.visible_ms <= now && filter.matches(&subject(e)));
    // list_owned is newest first (ties by id).
    if req.ascending {
        eps.reverse();
    }
    let total = eps.len();
    let skip = usize::try_from((req.page - 1).saturating_mul(req.page_size)).unwrap_or(usize::MAX);
    let size = usize::try_from(req.page_size).unwrap_or(20);
    let page: Vec<Value> = eps
        .iter()
        .skip(skip)
        .take(size)
        .map(shape::episode_item)
        .collect();
    data["count"] = json!(page.len());
    data["total_count"] = json!(total);
    data["episodes"] = Value::Array(page);
    Ok(envelope(&rid, data))
}
