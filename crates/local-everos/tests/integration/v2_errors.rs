//! v2 transport and errors over real HTTP: envelope and request ids, every validation
//! error of everos-v2.md §3 as 422 `INVALID_INPUT`, plain FastAPI 404/405, auth, unknown
//! tasks, strict capabilities and the multimodal 503.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::common::{test_config, Srv, KEY, T0};
use crate::v2_common::{assert_v2_error, m};

const ADD: &str = "/api/v2/memory/add";
const SEARCH: &str = "/api/v2/memory/search";
const GET: &str = "/api/v2/memory/get";
const FLUSH: &str = "/api/v2/memory/flush";

#[tokio::test]
async fn envelope_request_id_matches_header_and_ignores_the_clients() {
    let s = Srv::start().await;
    let res = s
        .http
        .post(s.url(ADD))
        .bearer_auth(KEY)
        .header("x-request-id", "client-chosen")
        .json(&json!({"session_id": "s1", "messages": [m("u1", "user", T0, "hi")]}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let header = res.headers()["x-request-id"].to_str().unwrap().to_owned();
    let b: Value = res.json().await.unwrap();
    assert_eq!(b["request_id"], header.as_str());
    assert_ne!(header, "client-chosen");
    assert_eq!(
        b["data"],
        json!({"message_count": 1, "status": "accumulated"})
    );
    assert_eq!(
        b.as_object().unwrap().len(),
        2,
        "request_id and data only: {b}"
    );
    // Errors carry the header too, equal to the body's id.
    let res = s
        .http
        .post(s.url(SEARCH))
        .bearer_auth(KEY)
        .json(&json!({"user_id": "u1", "query": ""}))
        .send()
        .await
        .unwrap();
    let header = res.headers()["x-request-id"].to_str().unwrap().to_owned();
    let b: Value = res.json().await.unwrap();
    assert_eq!(b["request_id"], header.as_str());
}

#[tokio::test]
async fn add_and_flush_validation_errors_are_422_invalid_input() {
    let s = Srv::start().await;
    let ok = |msgs: Value| json!({"session_id": "s", "messages": msgs});
    let user = |ts: Value, content: Value| json!([{"sender_id": "u1", "role": "user", "timestamp": ts, "content": content}]);
    let many: Vec<Value> = (0..501).map(|i| m("u1", "user", T0 + i, "x")).collect();
    let cases: Vec<(Value, &str)> = vec![
        (
            json!({"messages": [m("u1", "user", T0, "hi")]}),
            "Field required: session_id",
        ),
        (
            json!({"session_id": "", "messages": [m("u1", "user", T0, "hi")]}),
            "at least 1 character: session_id",
        ),
        (
            json!({"session_id": "x".repeat(129), "messages": [m("u1", "user", T0, "hi")]}),
            "at most 128 characters: session_id",
        ),
        (
            ok(json!([m("u 1", "user", T0, "hi")])),
            "messages.0.sender_id",
        ),
        (
            ok(json!([m("a/b", "user", T0, "hi")])),
            "messages.0.sender_id",
        ),
        (
            ok(json!([m("..", "user", T0, "hi")])),
            "messages.0.sender_id",
        ),
        (
            ok(json!([m(&"x".repeat(129), "user", T0, "hi")])),
            "messages.0.sender_id",
        ),
        (ok(json!([m("u1", "system", T0, "hi")])), "messages.0.role"),
        (
            ok(json!([{"sender_id": "u1", "role": "user", "content": "hi"}])),
            "Field required: messages.0.timestamp",
        ),
        (ok(user(json!(0), json!("hi"))), "messages.0.timestamp"),
        (ok(user(json!("soon"), json!("hi"))), "messages.0.timestamp"),
        (ok(json!([])), "messages"),
        (ok(Value::Array(many)), "messages"),
        (
            ok(user(json!(T0), json!([{"kind": "text"}]))),
            "messages.0.content.0",
        ),
        (
            ok(user(json!(T0), json!([{"type": "video"}]))),
            "messages.0.content.0.type",
        ),
        (
            ok(user(
                json!(T0),
                json!([{"type": "text", "text": "a", "extra": 1}]),
            )),
            "messages.0.content.0.extra",
        ),
        (ok(user(json!(T0), json!(42))), "messages.0.content"),
        (
            ok(json!([{"sender_id": "t", "role": "tool", "timestamp": T0, "content": "x"}])),
            "tool_call_id",
        ),
    ];
    for (body, needle) in cases {
        s.v2_error(ADD, body, 422, "INVALID_INPUT", needle).await;
    }
    s.v2_error(
        FLUSH,
        json!({}),
        422,
        "INVALID_INPUT",
        "Field required: session_id",
    )
    .await;
    s.v2_error(
        FLUSH,
        json!({"session_id": ""}),
        422,
        "INVALID_INPUT",
        "session_id",
    )
    .await;
    // Nothing was buffered by the refused adds, and the valid twin works.
    assert!(s.v2_unprocessed("u1", "s").await.is_empty());
    let d = s
        .v2_add("s", json!([m("u1@x.com+t", "user", T0, "")]), true)
        .await;
    assert_eq!(
        d["status"], "accumulated",
        "empty content and @/+ ids are valid"
    );
    assert_eq!(s.v2_unprocessed("u1", "s").await.len(), 1);
}

#[tokio::test]
async fn search_and_get_validation_errors_are_422_invalid_input() {
    let s = Srv::start().await;
    let search = |extra: Value| {
        let mut b = json!({"user_id": "u1", "query": "refund", "top_k": 5});
        for (k, v) in extra.as_object().unwrap() {
            b[k] = v.clone();
        }
        b
    };
    let cases: Vec<(&str, Value, &str)> = vec![
        (
            SEARCH,
            json!({"user_id": "u1", "query": ""}),
            "Search query cannot be empty.",
        ),
        (
            SEARCH,
            json!({"user_id": "u1"}),
            "Search query cannot be empty.",
        ),
        (
            SEARCH,
            search(json!({"top_k": 0})),
            "top_k must be -1 or in 1..100",
        ),
        (
            SEARCH,
            search(json!({"top_k": 101})),
            "top_k must be -1 or in 1..100",
        ),
        (SEARCH, search(json!({"top_k": -2})), "top_k"),
        (SEARCH, search(json!({"method": "semantic"})), ": method"),
        (
            SEARCH,
            search(json!({"memory_types": ["episodic_memory"]})),
            "Extra inputs are not permitted: memory_types",
        ),
        (
            SEARCH,
            search(json!({"filters": {"user_id": "u1"}})),
            "unsupported filter field: 'user_id'",
        ),
        (
            SEARCH,
            search(json!({"filters": {"AND": [{"app_id": "x"}]}})),
            "reserved",
        ),
        (
            SEARCH,
            search(json!({"filters": {"timestamp": {"gte": "yesterday"}}})),
            "timestamp",
        ),
        (SEARCH, search(json!({"radius": 1.5})), "radius"),
        (
            SEARCH,
            search(json!({"agent_id": "a1"})),
            "exactly one of user_id / agent_id",
        ),
        (
            SEARCH,
            json!({"query": "x"}),
            "exactly one of user_id / agent_id",
        ),
        (SEARCH, search(json!({"user_id": ""})), "user_id"),
        (
            GET,
            json!({"user_id": "u1", "memory_type": "episodic_memory"}),
            ": memory_type",
        ),
        (GET, json!({"user_id": "u1"}), "Field required: memory_type"),
        (
            GET,
            json!({"user_id": "u1", "memory_type": "episode", "page_size": 101}),
            "page_size",
        ),
        (
            GET,
            json!({"user_id": "u1", "memory_type": "episode", "page": 0}),
            "page",
        ),
        (
            GET,
            json!({"user_id": "u1", "memory_type": "agent_case"}),
            "not valid when user_id is set",
        ),
        (
            GET,
            json!({"agent_id": "a1", "memory_type": "episode"}),
            "not valid when agent_id is set",
        ),
        (
            GET,
            json!({"memory_type": "episode", "filters": {"user_id": "u1"}}),
            "exactly one of user_id / agent_id",
        ),
        (
            GET,
            json!({"user_id": "u1", "memory_type": "episode", "filters": {"user_id": "u1"}}),
            "unsupported filter field",
        ),
    ];
    for (path, body, needle) in cases {
        s.v2_error(path, body, 422, "INVALID_INPUT", needle).await;
    }
    // The valid twins answer 200.
    s.v2_search(search(json!({}))).await;
    s.v2_get(json!({"user_id": "u1", "memory_type": "episode", "page_size": 100}))
        .await;
}

#[tokio::test]
async fn malformed_json_is_422_not_400_on_every_route() {
    let s = Srv::start().await;
    for path in [
        ADD,
        FLUSH,
        SEARCH,
        GET,
        "/api/v2/memory/delete",
        "/api/v2/memory/delete_by_ids",
    ] {
        let res = s
            .http
            .post(s.url(path))
            .bearer_auth(KEY)
            .header("content-type", "application/json")
            .body("{\"session_id\": ")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY, "{path}");
        let b: Value = res.json().await.unwrap();
        assert_v2_error(&b, "INVALID_INPUT", path);
        assert!(
            b["error"]["message"]
                .as_str()
                .unwrap()
                .starts_with("JSON decode error"),
            "{b}"
        );
    }
    s.v2_error(ADD, json!([1]), 422, "INVALID_INPUT", "valid dictionary")
        .await;
}

#[tokio::test]
async fn unknown_routes_and_wrong_methods_are_plain_fastapi_bodies() {
    let s = Srv::start().await;
    let plain = |b: &Value, detail: &str| {
        assert_eq!(
            b,
            &json!({"detail": detail}),
            "no request_id, no error object"
        );
    };
    let (st, b) = s.post("/api/v2/memory/nope", json!({})).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    plain(&b, "Not Found");
    let (st, b) = s.get_path("/api/v2/memory/add").await;
    assert_eq!(st, StatusCode::METHOD_NOT_ALLOWED);
    plain(&b, "Method Not Allowed");
    let (st, b) = s.post("/health", json!({})).await;
    assert_eq!(st, StatusCode::METHOD_NOT_ALLOWED);
    plain(&b, "Method Not Allowed");
    let (st, b) = s.get_path("/api/v2/nope").await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    plain(&b, "Not Found");
    // The Cloud v1 surface keeps its engine-shaped 404.
    let (st, b) = s.post("/api/v1/memories/nope", json!({})).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    assert_eq!(b["code"], "HTTP_ERROR");
}

#[tokio::test]
async fn v2_routes_need_the_bearer_key_but_health_does_not() {
    let s = Srv::start().await;
    let res = s
        .http
        .post(s.url(SEARCH))
        .json(&json!({"user_id": "u1", "query": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let b: Value = res.json().await.unwrap();
    assert_v2_error(&b, "UNAUTHORIZED", SEARCH);
    let res = s
        .http
        .get(s.url("/api/v2/tasks/abc"))
        .bearer_auth("wrong")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let res = s.http.get(s.url("/health")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
}

#[tokio::test]
async fn unknown_task_is_404_not_found() {
    let s = Srv::start().await;
    let (st, b) = s
        .get_path("/api/v2/tasks/0123456789abcdef0123456789abcdef")
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    assert_v2_error(
        &b,
        "NOT_FOUND",
        "/api/v2/tasks/0123456789abcdef0123456789abcdef",
    );
    assert_eq!(
        b["error"]["message"],
        "task 0123456789abcdef0123456789abcdef not found or expired"
    );
}

#[tokio::test]
async fn strict_capabilities_refuse_methods_without_providers() {
    let mut c = test_config();
    c.strict_capabilities = true;
    let s = Srv::start_with(c).await;
    for method in ["vector", "hybrid", "agentic", "llm_multiround"] {
        s.v2_error(
            SEARCH,
            json!({"user_id": "u1", "query": "x", "method": method, "top_k": 5}),
            422,
            "PROVIDER_NOT_CONFIGURED",
            "not configured",
        )
        .await;
    }
    s.v2_search(json!({"user_id": "u1", "query": "x", "method": "keyword", "top_k": 5}))
        .await;
    let (_, h) = s.get_path("/health").await;
    let disabled = h["disabled_features"].as_array().unwrap();
    assert!(disabled.contains(&json!("vector_search")), "{h}");
    // Lenient (the default): served, and not announced as disabled.
    let s = Srv::start().await;
    s.v2_search(json!({"user_id": "u1", "query": "x", "method": "vector", "top_k": 5}))
        .await;
    let (_, h) = s.get_path("/health").await;
    assert!(!h["disabled_features"]
        .as_array()
        .unwrap()
        .contains(&json!("vector_search")));
}

#[tokio::test]
async fn a_non_text_item_is_503_capability_unavailable_and_stores_nothing() {
    let s = Srv::start().await;
    let body = json!({"session_id": "s", "messages": [{"sender_id": "u1", "role": "user",
        "timestamp": T0, "content": [{"type": "text", "text": "see"}, {"type": "image", "uri": "https://x/y.png"}]}]});
    let b = s
        .v2_error(ADD, body, 503, "CAPABILITY_UNAVAILABLE", "multimodal")
        .await;
    assert!(
        b["error"]["message"].as_str().unwrap().contains('/'),
        "a server path, like the real one"
    );
    assert!(s.v2_unprocessed("u1", "s").await.is_empty());
}
