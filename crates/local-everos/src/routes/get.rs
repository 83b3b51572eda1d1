//! `POST /api/v1/memories/get`: paginated listing of episodes (no index lag) or the whole
//! profile of each named user.

use axum::body::Bytes;
use axum::extract::State;
use axum::Json;
use serde_json::{json, Map, Value};

use crate::clock::now_ms;
use crate::error::ApiError;
use crate::filter::Subject;
use crate::ids::md5_hex;
use crate::model::{ItemType, ProfileItem};
use crate::routes::{envelope, opt_int, opt_str, parse_body};
use crate::state::AppState;
use crate::store::{episodes, profiles};

const TYPES: &[&str] = &["episodic_memory", "profile", "agent_case", "agent_skill"];

/// The whole-profile `ProfileItem` of one user (`profile_data` = both maps).
pub fn profile_json(user_id: &str, items: &[ProfileItem], memcell_count: i64) -> Value {
    let mut explicit = Map::new();
    let mut implicit = Map::new();
    let mut group_id = String::new();
    for item in items {
        group_id.clone_from(&item.group_id);
        let map = match item.fact.item_type {
            ItemType::ExplicitInfo => &mut explicit,
            ItemType::ImplicitTrait => &mut implicit,
        };
        let mut label = item.fact.label.clone();
        let mut n = 2;
        while map.contains_key(&label) {
            label = format!("{} {n}", item.fact.label);
            n += 1;
        }
        map.insert(label, Value::String(item.fact.value.clone()));
    }
    json!({
        "id": &md5_hex(&format!("profile:{user_id}"))[..24], "user_id": user_id, "group_id": group_id,
        "scenario": "solo", "memcell_count": memcell_count,
        "profile_data": {"explicit_info": explicit, "implicit_traits": implicit},
    })
}

/// The get handler.
pub async fn get(State(state): State<AppState>, body: Bytes) -> Result<Json<Value>, ApiError> {
    let body = parse_body(&body)?;
    let memory_type = match opt_str(&body, "memory_type")? {
        Some(t) if TYPES.contains(&t.as_str()) => t,
        Some(_) => {
            return Err(ApiError::validation(format!(
                "memory_type: Input should be one of {TYPES:?}"
            )))
        }
        None => {
            return Err(ApiError::validation(
                "memory_type: Missing required field: memory_type",
            ))
        }
    };
    let (_, filter) = super::required_filters(&body, crate::filter::Route::Get)?;
    if !filter.top_level_scope {
        return Err(ApiError::validation(
            "filters must contain at least one of 'user_id' or 'group_id'",
        ));
    }
    let page = opt_int(&body, "page")?.unwrap_or(1);
    if page < 1 {
        return Err(ApiError::validation(
            "page: Input should be greater than or equal to 1",
        ));
    }
    let page_size = opt_int(&body, "page_size")?.unwrap_or(20);
    if !(1..=100).contains(&page_size) {
        return Err(ApiError::validation("page_size: must be between 1 and 100"));
    }
    let ascending = match opt_str(&body, "rank_order")?.as_deref() {
        None | Some("desc") => false,
        Some("asc") => true,
        Some(_) => {
            return Err(ApiError::validation(
                "rank_order: Input should be 'asc' or 'desc'",
            ))
        }
    };
    opt_str(&body, "rank_by")?;
    let users: Vec<String> = filter.user_ids.iter().cloned().collect();
    let groups: Vec<String> = filter.group_ids.iter().cloned().collect();
    if memory_type != "episodic_memory" && users.is_empty() {
        return Err(ApiError::bad_request(format!(
            "{memory_type} accepts only a user_id scope"
        )));
    }
    let offset = usize::try_from((page - 1).saturating_mul(page_size)).unwrap_or(usize::MAX);
    let size = usize::try_from(page_size).unwrap_or(20);

    let mut data = json!({"episodes": [], "profiles": [], "agent_cases": [], "agent_skills": [],
                          "total_count": 0, "count": 0});
    let (list_key, all): (&str, Vec<Value>) = match memory_type.as_str() {
        "episodic_memory" => {
            let mut eps = state
                .store()
                .call(move |c| episodes::list_owned(c, &users, &groups))
                .await?;
            eps.retain(|e| {
                filter.matches(&Subject {
                    user_id: &e.user_id,
                    group_id: &e.group_id,
                    session_id: &e.session_id,
                    timestamp_ms: e.timestamp_ms,
                })
            });
            if ascending {
                eps.reverse();
            }
            ("episodes", eps.iter().map(|e| e.to_item()).collect())
        }
        "profile" => {
            let now = now_ms();
            let found = state
                .store()
                .call(move |c| {
                    let mut out = Vec::new();
                    for u in users {
                        let items = profiles::visible(c, &u, now)?;
                        if !items.is_empty() {
                            let count = episodes::count_for_user(c, &u)?;
                            out.push(profile_json(&u, &items, count));
                        }
                    }
                    Ok(out)
                })
                .await?;
            ("profiles", found)
        }
        _ => ("agent_cases", Vec::new()),
    };
    let total = all.len();
    let pageful: Vec<Value> = all.into_iter().skip(offset).take(size).collect();
    data["count"] = json!(pageful.len());
    data["total_count"] = json!(total);
    data[list_key] = Value::Array(pageful);
    Ok(envelope(data))
}
