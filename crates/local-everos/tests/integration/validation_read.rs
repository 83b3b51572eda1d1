//! One test per validation rule of §3.3–3.5 (search, get, delete), over real HTTP.
//! Each sends one invalid body and expects the status; a valid twin proves the rule is
//! what rejects it.

use crate::common::{check, with, without, Srv, KEY};
use serde_json::{json, Value};

const SEARCH: &str = "/api/v1/memories/search";
const GET: &str = "/api/v1/memories/get";
const DELETE: &str = "/api/v1/memories/delete";

fn search_body() -> Value {
    json!({"query": "refund", "filters": {"user_id": "u"}})
}

#[tokio::test]
async fn search_query_required() {
    check(SEARCH, without(search_body(), "query"), 422, search_body()).await;
}

#[tokio::test]
async fn search_query_min_length_1() {
    check(
        SEARCH,
        with(search_body(), "query", json!("")),
        422,
        search_body(),
    )
    .await;
}

#[tokio::test]
async fn search_filters_required() {
    check(
        SEARCH,
        without(search_body(), "filters"),
        422,
        search_body(),
    )
    .await;
}

#[tokio::test]
async fn search_filters_need_user_or_group() {
    let good = with(search_body(), "filters", json!({"OR": [{"group_id": "g"}]}));
    check(
        SEARCH,
        with(search_body(), "filters", json!({"session_id": "s"})),
        422,
        good,
    )
    .await;
}

#[tokio::test]
async fn search_method_allowlist() {
    check(
        SEARCH,
        with(search_body(), "method", json!("rrf")),
        422,
        with(search_body(), "method", json!("agentic")),
    )
    .await;
}

#[tokio::test]
async fn search_memory_types_allowlist() {
    let good = with(
        search_body(),
        "memory_types",
        json!(["agent_memory", "raw_message"]),
    );
    check(
        SEARCH,
        with(search_body(), "memory_types", json!(["episode"])),
        422,
        good,
    )
    .await;
}

#[tokio::test]
async fn search_top_k_not_zero() {
    check(
        SEARCH,
        with(search_body(), "top_k", json!(0)),
        422,
        with(search_body(), "top_k", json!(-1)),
    )
    .await;
}

#[tokio::test]
async fn search_top_k_range() {
    check(
        SEARCH,
        with(search_body(), "top_k", json!(101)),
        422,
        with(search_body(), "top_k", json!(100)),
    )
    .await;
    check(
        SEARCH,
        with(search_body(), "top_k", json!(-2)),
        422,
        with(search_body(), "top_k", json!(1)),
    )
    .await;
}

#[tokio::test]
async fn search_radius_range() {
    check(
        SEARCH,
        with(search_body(), "radius", json!(1.5)),
        422,
        with(search_body(), "radius", json!(0.5)),
    )
    .await;
}

#[tokio::test]
async fn search_session_id_rejects_range_operators() {
    // §3.3: session_id allows eq/in on search; gt/gte/lt/lte only on get.
    for op in ["gt", "gte", "lt", "lte"] {
        let session = json!({"user_id": "u", "AND": [{"session_id": {op: "s1"}}]});
        check(
            SEARCH,
            with(search_body(), "filters", session),
            422,
            with(
                search_body(),
                "filters",
                json!({"user_id": "u", "AND": [{"session_id": {"in": ["s1"]}}]}),
            ),
        )
        .await;
    }
}

#[tokio::test]
async fn search_invalid_json_is_400() {
    let s = Srv::start().await;
    let res = s
        .http
        .post(s.url(SEARCH))
        .bearer_auth(KEY)
        .body("{\"query\":")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 400);
}

fn get_body() -> Value {
    json!({"memory_type": "episodic_memory", "filters": {"user_id": "u"}})
}

#[tokio::test]
async fn get_memory_type_required() {
    check(GET, without(get_body(), "memory_type"), 422, get_body()).await;
}

#[tokio::test]
async fn get_memory_type_allowlist() {
    check(
        GET,
        with(get_body(), "memory_type", json!("raw_message")),
        422,
        with(get_body(), "memory_type", json!("agent_case")),
    )
    .await;
}

#[tokio::test]
async fn get_filters_need_first_level_scope() {
    check(
        GET,
        with(get_body(), "filters", json!({"AND": [{"user_id": "u"}]})),
        422,
        get_body(),
    )
    .await;
}

#[tokio::test]
async fn get_page_at_least_1() {
    check(
        GET,
        with(get_body(), "page", json!(0)),
        422,
        with(get_body(), "page", json!(1)),
    )
    .await;
}

#[tokio::test]
async fn get_page_size_range() {
    check(
        GET,
        with(get_body(), "page_size", json!(0)),
        422,
        with(get_body(), "page_size", json!(100)),
    )
    .await;
    check(
        GET,
        with(get_body(), "page_size", json!(101)),
        422,
        with(get_body(), "page_size", json!(1)),
    )
    .await;
}

#[tokio::test]
async fn get_rank_order_asc_or_desc() {
    check(
        GET,
        with(get_body(), "rank_order", json!("up")),
        422,
        with(get_body(), "rank_order", json!("asc")),
    )
    .await;
}

#[tokio::test]
async fn get_session_id_allows_range_operators() {
    let ranged = json!({"user_id": "u", "session_id": {"gte": "a", "lt": "z"}});
    check(
        GET,
        with(
            get_body(),
            "filters",
            json!({"user_id": "u", "session_id": {"near": "s"}}),
        ),
        422,
        with(get_body(), "filters", ranged),
    )
    .await;
}

#[tokio::test]
async fn get_profile_with_only_group_is_400() {
    let bad = json!({"memory_type": "profile", "filters": {"group_id": "gen_solo_x"}});
    check(
        GET,
        bad,
        400,
        json!({"memory_type": "profile", "filters": {"user_id": "u"}}),
    )
    .await;
}

#[tokio::test]
async fn delete_needs_a_scope() {
    check(
        DELETE,
        json!({"session_id": "s"}),
        422,
        json!({"group_id": "g", "session_id": "s"}),
    )
    .await;
}

#[tokio::test]
async fn delete_id_and_filters_exclusive() {
    check(
        DELETE,
        json!({"memory_id": "abc", "session_id": "s"}),
        422,
        json!({"memory_id": "abc"}),
    )
    .await;
}

#[tokio::test]
async fn delete_invalid_json_is_400() {
    let s = Srv::start().await;
    let res = s
        .http
        .post(s.url(DELETE))
        .bearer_auth(KEY)
        .body("nope")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 400);
}
