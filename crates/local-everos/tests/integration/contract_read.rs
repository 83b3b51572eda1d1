//! §9 rules 14–21 (search, get, delete, tasks), one test each, over real HTTP.

use crate::common::{convo, eventually, user_msg, Srv, BILLING, KEY, T0};
use reqwest::StatusCode;
use serde_json::{json, Value};

#[tokio::test]
async fn rule_14_search_validation() {
    let s = Srv::start().await;
    let f = json!({"user_id": "u"});
    for body in [
        json!({"query": "x", "filters": {"session_id": "s"}}),
        json!({"query": "", "filters": f}),
        json!({"query": "x", "filters": f, "method": "rrf"}),
        json!({"query": "x", "filters": f, "memory_types": ["episodes"]}),
        json!({"query": "x", "filters": f, "top_k": 0}),
        json!({"query": "x", "filters": f, "top_k": 101}),
        json!({"query": "x", "filters": f, "top_k": -5}),
    ] {
        s.expect("/api/v1/memories/search", body, 422).await;
    }
    s.expect(
        "/api/v1/memories/search",
        json!({"query": "x", "filters": {"AND": [{"user_id": "u"}]}}),
        200,
    )
    .await;
}

#[tokio::test]
async fn rule_15_strict_owner_isolation_and_filters() {
    let s = Srv::start().await;
    for (user, session, text, ts) in [
        ("alice", "a1", "refund for invoice", T0),
        ("alice", "a2", "refund for router", T0 + 86_400_000),
        ("bob", "b1", "refund for invoice", T0),
    ] {
        s.add(user, session, user_msg(text, ts)).await;
        s.flush(user, session).await;
    }
    let owners = |d: &Value| {
        d["episodes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["user_id"].as_str().unwrap().to_owned())
            .collect::<Vec<_>>()
    };
    let d = s
        .search(json!({"query": "refund", "filters": {"user_id": "alice"}}))
        .await;
    assert_eq!(owners(&d), vec!["alice", "alice"]);
    let d = s
        .search(json!({"query": "refund", "filters": {"user_id": {"in": ["alice", "bob"]}}}))
        .await;
    assert_eq!(owners(&d).len(), 3);
    let d = s.search(json!({"query": "refund", "filters": {"OR": [{"user_id": "alice"}, {"session_id": "b1"}]}})).await;
    assert!(
        owners(&d).iter().all(|o| o == "alice"),
        "OR never widens the owners"
    );
    let d = s.search(json!({"query": "refund", "filters": {"AND": [{"user_id": "alice"}, {"session_id": "a2"}]}})).await;
    assert_eq!(d["episodes"].as_array().unwrap().len(), 1);
    assert_eq!(d["episodes"][0]["session_id"], "a2");
    let d = s.search(json!({"query": "refund", "filters": {"user_id": "alice", "timestamp": {"lt": (T0 + 1000) / 1000}}})).await;
    assert_eq!(
        d["episodes"].as_array().unwrap().len(),
        1,
        "seconds are accepted"
    );
    assert_eq!(d["episodes"][0]["session_id"], "a1");
    let d = s.search(json!({"query": "refund", "filters": {"user_id": "alice", "timestamp": {"gte": "2026-11-12T00:00:00Z"}}})).await;
    assert_eq!(d["episodes"][0]["session_id"], "a2");
    assert!(s
        .search(json!({"query": "refund", "filters": {"user_id": "mallory"}}))
        .await["episodes"]
        .as_array()
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn rule_16_memory_types_route_to_their_lists() {
    let s = Srv::start().await;
    s.add("u", "t1", convo("u", BILLING)).await;
    s.add(
        "u",
        "t2",
        user_msg(
            "My printer refund is missing too. Please email me at dana@example.com.",
            T0 + 5000,
        ),
    )
    .await;
    s.flush("u", "t1").await;
    s.flush("u", "t2").await;
    assert!(eventually(1000, || async { s.profiles("u", "x").await.len() >= 3 }).await);
    let eps_only = s.search(json!({"query": "refund", "filters": {"user_id": "u"}, "memory_types": ["episodic_memory"]})).await;
    assert_eq!(eps_only["episodes"].as_array().unwrap().len(), 2);
    assert_eq!(eps_only["profiles"], json!([]));
    let prof_only = s
        .search(
            json!({"query": "refund", "filters": {"user_id": "u"}, "memory_types": ["profile"]}),
        )
        .await;
    assert_eq!(prof_only["episodes"], json!([]));
    for p in prof_only["profiles"].as_array().unwrap() {
        assert!(
            p["profile_data"]["embed_text"].is_string()
                && p["profile_data"]["item_type"].is_string(),
            "{p}"
        );
        assert!(p.get("summary").is_none(), "no episode fields in profiles");
    }
    let keyword = s
        .search(json!({"query": "refund", "filters": {"user_id": "u"}, "method": "keyword"}))
        .await;
    assert_eq!(
        keyword["profiles"],
        json!([]),
        "profile dropped for keyword"
    );
    assert_eq!(keyword["episodes"].as_array().unwrap().len(), 2);
    let default = s
        .search(json!({"query": "refund", "filters": {"user_id": "u"}}))
        .await;
    assert_eq!(default["query"]["method"], "hybrid");
    assert!(
        !default["episodes"].as_array().unwrap().is_empty()
            && !default["profiles"].as_array().unwrap().is_empty()
    );
    let top1 = s
        .search(json!({"query": "refund", "filters": {"user_id": "u"}, "top_k": 1}))
        .await;
    assert_eq!(top1["episodes"].as_array().unwrap().len(), 1);
    assert_eq!(
        top1["profiles"].as_array().unwrap().len(),
        1,
        "top_k per list"
    );
}

#[tokio::test]
async fn rule_17_raw_messages_are_the_callers_user_turns() {
    let s = Srv::start().await;
    s.add(
        "u",
        "t1",
        convo("u", &["my own words", "assistant words", "more of mine"]),
    )
    .await;
    s.add("v", "t1", convo("v", &["someone else"])).await;
    let raw = s.raw("u").await;
    assert_eq!(raw.len(), 2);
    for r in &raw {
        assert_eq!(r["sender_id"], "u");
        for key in [
            "id",
            "request_id",
            "message_id",
            "group_id",
            "session_id",
            "content_items",
            "timestamp",
            "created_at",
            "updated_at",
        ] {
            assert!(r.get(key).is_some(), "{key} in {r}");
        }
    }
    assert_eq!(raw[0]["content_items"][0]["text"], "my own words");
    let d = s
        .search(json!({"query": "x", "filters": {"user_id": "u"}, "memory_types": ["raw_message"]}))
        .await;
    assert_eq!(d["episodes"], json!([]));
}

#[tokio::test]
async fn rule_18_all_keys_present_and_scores_deterministic() {
    let s = Srv::start().await;
    s.add("u", "t1", user_msg("My router keeps dropping wifi", T0))
        .await;
    s.flush("u", "t1").await;
    s.add(
        "u",
        "t2",
        user_msg(
            "Refund the duplicate charge on my invoice, the charge appeared twice",
            T0 + 1,
        ),
    )
    .await;
    s.flush("u", "t2").await;
    let body =
        json!({"query": "duplicate charge", "filters": {"user_id": "u"}, "method": "keyword"});
    let d = s.search(body.clone()).await;
    for key in ["episodes", "profiles", "raw_messages"] {
        assert!(d[key].is_array(), "{key}");
    }
    assert!(d.get("agent_memory").is_some_and(Value::is_null));
    assert!(d.get("original_data").is_some_and(Value::is_null));
    assert_eq!(
        d["query"],
        json!({"text": "duplicate charge", "method": "keyword", "filters_applied": {"user_id": "u"}})
    );
    let eps = d["episodes"].as_array().unwrap();
    assert_eq!(
        eps.len(),
        1,
        "keyword ranking only matches the relevant episode"
    );
    assert!(eps[0]["score"].as_f64().unwrap() > 0.0);
    assert_eq!(s.search(body).await, d, "deterministic");
    let both = s.search(json!({"query": "charge router wifi dropping", "filters": {"user_id": "u"}, "memory_types": ["episodic_memory"]})).await;
    let eps = both["episodes"].as_array().unwrap();
    assert_eq!(eps.len(), 2);
    assert!(
        eps[0]["session_id"] == "t1" && eps[0]["score"].as_f64() > eps[1]["score"].as_f64(),
        "more matches rank first"
    );
}

#[tokio::test]
async fn rule_19_get_lists_pages_and_validates() {
    let s = Srv::start().await;
    for i in 0..3 {
        s.add(
            "u",
            &format!("t{i}"),
            user_msg(&format!("ticket number {i}"), T0 + i * 1000),
        )
        .await;
        s.flush("u", &format!("t{i}")).await;
    }
    let (_, b) = s.post("/api/v1/memories/get", json!({"memory_type": "episodic_memory", "filters": {"user_id": "u"}, "page": 1, "page_size": 2})).await;
    let d = &b["data"];
    assert_eq!(d["total_count"], 3);
    assert_eq!(d["count"], 2);
    assert_eq!(d["episodes"][0]["session_id"], "t2", "desc by timestamp");
    assert!(d["episodes"][0]["sender_ids"].is_array() && d["episodes"][0].get("score").is_none());
    for key in ["profiles", "agent_cases", "agent_skills"] {
        assert_eq!(d[key], json!([]));
    }
    let (_, b) = s.post("/api/v1/memories/get", json!({"memory_type": "episodic_memory", "filters": {"user_id": "u"}, "page": 2, "page_size": 2})).await;
    assert_eq!(b["data"]["count"], 1);
    assert_eq!(b["data"]["episodes"][0]["session_id"], "t0");
    s.expect(
        "/api/v1/memories/get",
        json!({"memory_type": "profile", "filters": {"group_id": "g"}}),
        400,
    )
    .await;
    s.expect(
        "/api/v1/memories/get",
        json!({"memory_type": "episodes", "filters": {"user_id": "u"}}),
        422,
    )
    .await;
    s.expect(
        "/api/v1/memories/get",
        json!({"memory_type": "episodic_memory", "filters": {"user_id": "u"}, "page_size": 101}),
        422,
    )
    .await;
}

#[tokio::test]
async fn rule_20_delete_modes_and_vanishing() {
    let s = Srv::start().await;
    for session in ["t1", "t2"] {
        s.add("u", session, convo("u", BILLING)).await;
        s.flush("u", session).await;
    }
    s.add("u", "t3", user_msg("still buffered refund", T0))
        .await;
    s.add("v", "t1", convo("v", BILLING)).await;
    s.flush("v", "t1").await;
    assert!(eventually(1000, || async { !s.profiles("u", "x").await.is_empty() }).await);
    let all = s.get_episodes("u").await["episodes"]
        .as_array()
        .unwrap()
        .clone();
    let ep = all
        .iter()
        .find(|e| e["session_id"] == "t1")
        .unwrap()
        .clone();
    let res = s
        .http
        .post(s.url("/api/v1/memories/delete"))
        .bearer_auth(KEY)
        .json(&json!({"memory_id": ep["id"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert!(res.bytes().await.unwrap().is_empty());
    assert_eq!(s.get_episodes("u").await["total_count"], 1);
    s.expect(
        "/api/v1/memories/delete",
        json!({"memory_id": "x", "user_id": "u"}),
        422,
    )
    .await;
    s.expect("/api/v1/memories/delete", json!({"session_id": "t2"}), 422)
        .await;
    s.expect(
        "/api/v1/memories/delete",
        json!({"user_id": "u", "session_id": "t2"}),
        204,
    )
    .await;
    assert_eq!(s.get_episodes("u").await["total_count"], 0);
    assert!(
        s.episodes("u", "refund charged").await.is_empty(),
        "gone from search"
    );
    assert_eq!(
        s.raw("u").await.len(),
        1,
        "other session's buffer untouched"
    );
    s.expect("/api/v1/memories/delete", json!({"user_id": "u"}), 204)
        .await;
    assert!(s.raw("u").await.is_empty(), "buffer removed");
    assert!(s.profiles("u", "name").await.is_empty(), "profile removed");
    assert_eq!(
        s.get_episodes("v").await["total_count"],
        1,
        "other users untouched"
    );
}

#[tokio::test]
async fn rule_21_tasks_known_and_unknown() {
    let s = Srv::start().await;
    let (_, b) = s
        .post(
            "/api/v1/memories",
            json!({"user_id": "u", "async_mode": true, "messages": convo("u", &["hi"])}),
        )
        .await;
    let id = b["data"]["task_id"].as_str().unwrap();
    let (st, t) = s.get_path(&format!("/api/v1/tasks/{id}")).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(t["data"]["task_id"], id);
    assert!(["processing", "success"].contains(&t["data"]["status"].as_str().unwrap()));
    let (st, _) = s.get_path("/api/v1/tasks/000000000000000000000000").await;
    assert_eq!(st, StatusCode::NOT_FOUND);
}
