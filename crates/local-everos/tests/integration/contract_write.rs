//! §9 rules 1–13 (transport, add, flush, profiles, index lag), one test each, over real HTTP.

use std::time::Duration;

use crate::common::{convo, eventually, test_config, user_msg, Srv, BILLING, KEY, T0};
use reqwest::StatusCode;
use serde_json::{json, Value};

#[tokio::test]
async fn rule_01_only_the_six_routes_exist() {
    let s = Srv::start().await;
    for path in [
        "/api/v1/memories",
        "/api/v1/memories/flush",
        "/api/v1/memories/search",
        "/api/v1/memories/get",
        "/api/v1/memories/delete",
    ] {
        let (st, _) = s.post(path, json!({})).await;
        assert_ne!(st, StatusCode::NOT_FOUND, "{path}");
    }
    let (st, _) = s.get_path("/api/v1/tasks/unknown").await;
    assert_eq!(
        st,
        StatusCode::NOT_FOUND,
        "unknown task is 404 but the route exists"
    );
    let (st, b) = s.post("/api/v1/memories/group", json!({})).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    assert_eq!(b["code"], "HTTP_ERROR");
    // The v2 routes live beside these (see the v2 modules); the self-hosted server's
    // singular `/api/v1/memory/*` alias is not served.
    assert_eq!(
        s.post("/api/v1/memory/add", json!({})).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        s.get_path("/api/v1/memories").await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(s.get_path("/").await.0, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn rule_02_bearer_key_required() {
    let s = Srv::start().await;
    let body = json!({"user_id": "u", "messages": convo("u", &["hello"])});
    let none = s
        .http
        .post(s.url("/api/v1/memories"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(none.status(), StatusCode::UNAUTHORIZED);
    assert!(
        none.json::<Value>().await.unwrap().is_object(),
        "opaque JSON body"
    );
    let wrong = s
        .http
        .post(s.url("/api/v1/memories"))
        .bearer_auth("nope")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    let basic = s
        .http
        .post(s.url("/api/v1/memories"))
        .header("authorization", format!("Basic {KEY}"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(basic.status(), StatusCode::UNAUTHORIZED);
    let task = s.http.get(s.url("/api/v1/tasks/x")).send().await.unwrap();
    assert_eq!(task.status(), StatusCode::UNAUTHORIZED);
    assert!(s.raw("u").await.is_empty(), "rejected add stored nothing");
}

#[tokio::test]
async fn rule_03_bad_json_is_400_success_is_enveloped_unknown_keys_ignored() {
    let s = Srv::start().await;
    for path in [
        "/api/v1/memories",
        "/api/v1/memories/flush",
        "/api/v1/memories/search",
        "/api/v1/memories/get",
        "/api/v1/memories/delete",
    ] {
        let res = s
            .http
            .post(s.url(path))
            .bearer_auth(KEY)
            .body("{not json")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{path}");
    }
    let (st, b) = s
        .post(
            "/api/v1/memories",
            json!({"user_id": "u", "messages": convo("u", &["hello"]), "surprise": {"x": 1}}),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    assert!(b["data"].is_object(), "{b}");
    assert_eq!(b.as_object().unwrap().len(), 1, "only the data key: {b}");
}

#[tokio::test]
async fn rule_04_error_body_has_engine_shape() {
    let s = Srv::start().await;
    for (path, body, status) in [
        (
            "/api/v1/memories/search",
            json!({"query": "x", "filters": {}}),
            422,
        ),
        ("/api/v1/memories/nope", json!({}), 404),
    ] {
        let b = s.expect(path, body, status).await;
        for key in ["code", "message", "request_id", "timestamp", "path"] {
            assert!(
                b.get(key).is_some_and(|v| v.is_string()),
                "{key} missing in {b}"
            );
        }
        assert_eq!(b["path"], path);
        assert_eq!(b["code"], "HTTP_ERROR");
    }
    let res = s
        .http
        .post(s.url("/api/v1/memories/get"))
        .bearer_auth(KEY)
        .body("[")
        .send()
        .await
        .unwrap();
    let b: Value = res.json().await.unwrap();
    assert_eq!(b["message"], "Invalid JSON request body");
}

#[tokio::test]
async fn rule_04_body_over_limit_is_a_json_413() {
    // Without test controls the router's body limit answers (the controls layer has its own).
    for controls in [false, true] {
        let mut c = test_config();
        c.test_controls = controls;
        let s = Srv::start_with(c).await;
        let body = vec![b' '; 16 * 1024 * 1024 + 1];
        let res = s
            .http
            .post(s.url("/api/v1/memories/search"))
            .bearer_auth(KEY)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(
            res.headers()["content-type"],
            "application/json",
            "controls={controls}"
        );
        let b: Value = res.json().await.unwrap();
        for key in ["code", "message", "request_id", "timestamp", "path"] {
            assert!(
                b.get(key).is_some_and(|v| v.is_string()),
                "{key} missing in {b}"
            );
        }
        assert_eq!(b["code"], "HTTP_ERROR");
        assert_eq!(b["path"], "/api/v1/memories/search");
    }
}

#[tokio::test]
async fn rule_05_add_validation_rejects_with_422() {
    let s = Srv::start().await;
    let ok = |m: Value| json!({"user_id": "u", "session_id": "s", "messages": m});
    let bad = [
        json!({"session_id": "s", "messages": convo("u", &["hi"])}),
        json!({"user_id": "", "messages": convo("u", &["hi"])}),
        ok(json!([])),
        ok(json!([{"role": "system", "timestamp": T0, "content": "hi"}])),
        ok(json!([{"role": "user", "timestamp": 0, "content": "hi"}])),
        ok(json!([{"role": "user", "timestamp": T0, "content": ""}])),
        ok(json!([{"role": "user", "timestamp": T0, "content": []}])),
        json!({"user_id": "u", "session_id": "-1", "messages": convo("u", &["hi"])}),
        ok(
            json!([{"role": "user", "timestamp": T0, "content": "hi", "sender_id": "someone_else"}]),
        ),
        ok(
            json!([{"role": "assistant", "timestamp": T0, "content": "hi", "sender_id": "gen_sdr_x"}]),
        ),
    ];
    for body in bad {
        s.expect("/api/v1/memories", body, 422).await;
    }
    assert!(
        s.raw("u").await.is_empty(),
        "nothing stored by rejected adds"
    );
}

#[tokio::test]
async fn rule_06_buffered_messages_are_not_memories() {
    let s = Srv::start().await;
    s.add("u", "t1", convo("u", BILLING)).await;
    tokio::time::sleep(Duration::from_millis(250)).await; // longer than the profile delay
    let d = s
        .search(json!({"query": "charged twice refund", "filters": {"user_id": "u"}}))
        .await;
    assert_eq!(d["episodes"], json!([]));
    assert_eq!(d["profiles"], json!([]));
    assert_eq!(s.get_episodes("u").await["total_count"], 0);
    assert_eq!(
        s.raw("u").await.len(),
        1,
        "the user turn is only a raw message"
    );
}

#[tokio::test]
async fn rule_07_add_answers_accumulated_and_hard_limit_extracts() {
    let s = Srv::start().await;
    let d = s.add("u", "t1", convo("u", BILLING)).await;
    assert_eq!(d["message_count"], 2);
    assert_eq!(d["status"], "accumulated");
    assert_eq!(d["message"], "Messages accepted");
    let many: Vec<Value> = (0..499).map(|i| json!({"role": "user", "timestamp": T0 + 10_000 + i, "content": format!("line {i}")})).collect();
    let d = s.add("u", "t2", Value::Array(many)).await;
    assert_eq!(d["status"], "accumulated", "499 messages stay buffered");
    let d = s
        .add("u", "t2", user_msg("the 500th message", T0 + 20_000))
        .await;
    assert_eq!(
        d["status"], "extracted",
        "the 500-message hard limit cuts a cell"
    );
    assert_eq!(s.get_episodes("u").await["total_count"], 1);
    assert_eq!(
        s.flush("u", "t2").await,
        "no_extraction",
        "the cut took the whole buffer"
    );
    let huge = "word ".repeat(52_500); // 262,500 chars ≈ 65,625 tokens (chars / 4)
    let d = s.add("u", "t3", user_msg("short opener", T0)).await;
    assert_eq!(d["status"], "accumulated");
    let d = s.add("u", "t3", user_msg(&huge, T0 + 1)).await;
    assert_eq!(
        d["status"], "extracted",
        "the 65,536-token hard limit cuts a cell"
    );
    assert_eq!(s.get_episodes("u").await["total_count"], 2);
}

#[tokio::test]
async fn rule_08_async_add_is_202_then_buffered_after_delay() {
    let s = Srv::start().await;
    let (st, b) = s
        .post("/api/v1/memories", json!({"user_id": "u", "session_id": "t1", "async_mode": true, "messages": convo("u", BILLING)}))
        .await;
    assert_eq!(st, StatusCode::ACCEPTED);
    assert_eq!(b["data"]["message_count"], 2);
    let task = b["data"]["task_id"].as_str().unwrap().to_owned();
    let (_, t) = s.get_path(&format!("/api/v1/tasks/{task}")).await;
    assert_eq!(t["data"]["status"], "processing");
    assert!(s.raw("u").await.is_empty(), "not buffered while processing");
    assert_eq!(
        s.flush("u", "t1").await,
        "no_extraction",
        "flush during processing extracts nothing"
    );
    let path = format!("/api/v1/tasks/{task}");
    assert!(
        eventually(2000, || async {
            s.get_path(&path).await.1["data"]["status"] == "success"
        })
        .await
    );
    assert_eq!(s.raw("u").await.len(), 1);
    assert_eq!(s.flush("u", "t1").await, "extracted");
}

#[tokio::test]
async fn rule_09_no_dedupe_identical_adds_are_stored_twice() {
    let s = Srv::start().await;
    let batch = convo("u", BILLING);
    s.add("u", "t1", batch.clone()).await;
    s.add("u", "t1", batch).await;
    assert_eq!(s.raw("u").await.len(), 2);
    assert_eq!(s.flush("u", "t1").await, "extracted");
    let ep = &s.get_episodes("u").await["episodes"][0];
    assert_eq!(
        ep["episode"]
            .as_str()
            .unwrap()
            .matches("charged twice")
            .count(),
        2,
        "{ep}"
    );
}

#[tokio::test]
async fn rule_10_fault_injection_status_and_slow_then_succeed() {
    let s = Srv::start().await;
    let admin = |b: Value| s.http.post(s.url("/_test/faults")).json(&b).send();
    admin(json!({"route": "add", "status": 429, "retry_after": 7}))
        .await
        .unwrap();
    admin(json!({"route": "add", "status": 503})).await.unwrap();
    admin(json!({"route": "search", "status": 500}))
        .await
        .unwrap();
    let body = json!({"user_id": "u", "session_id": "t", "messages": convo("u", BILLING)});
    let r = s
        .http
        .post(s.url("/api/v1/memories"))
        .bearer_auth(KEY)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(r.headers()["retry-after"], "7");
    assert_eq!(
        s.post("/api/v1/memories", body.clone()).await.0,
        StatusCode::SERVICE_UNAVAILABLE
    );
    assert_eq!(
        s.post(
            "/api/v1/memories/search",
            json!({"query": "x", "filters": {"user_id": "u"}})
        )
        .await
        .0,
        StatusCode::INTERNAL_SERVER_ERROR
    );
    assert!(
        s.raw("u").await.is_empty(),
        "faulted adds are not processed"
    );
    admin(json!({"route": "add", "delay_ms": 400}))
        .await
        .unwrap();
    let quick = reqwest::Client::builder()
        .timeout(Duration::from_millis(100))
        .build()
        .unwrap();
    let err = quick
        .post(s.url("/api/v1/memories"))
        .bearer_auth(KEY)
        .json(&body)
        .send()
        .await;
    assert!(err.is_err_and(|e| e.is_timeout()), "client times out");
    let stored = eventually(1000, || async { s.raw("u").await.len() == 1 }).await;
    assert!(
        stored,
        "…but the add was stored (before the delayed answer)"
    );
}

#[tokio::test]
async fn rule_11_flush_cuts_exactly_one_episode() {
    let s = Srv::start().await;
    assert_eq!(s.flush("u", "t1").await, "no_extraction");
    s.add("u", "t1", convo("u", BILLING)).await;
    s.add("u", "t1", user_msg("Thanks, that fixed it.", T0 + 60_000))
        .await;
    s.add("u", "other", user_msg("Different ticket", T0)).await;
    assert_eq!(s.flush("u", "t1").await, "extracted");
    let d = s.get_episodes("u").await;
    assert_eq!(d["total_count"], 1);
    let ep = &d["episodes"][0];
    let id = ep["id"].as_str().unwrap();
    assert!(
        id.len() == 24 && id.chars().all(|c| c.is_ascii_hexdigit()),
        "{id}"
    );
    assert_eq!(ep["user_id"], "u");
    assert_eq!(ep["session_id"], "t1");
    assert_eq!(
        ep["group_id"], "gen_solo_7b774effe4a3",
        "gen_solo_<md5(user_id)[:12]>"
    );
    assert_eq!(
        ep["timestamp"], "2026-11-11T12:27:40Z",
        "latest message time"
    );
    assert_eq!(ep["parent_type"], "memcell");
    assert_eq!(ep["type"], "Conversation");
    assert_eq!(ep["participants"], json!(["u", "gen_sdr_7b774effe4a3"]));
    assert!(
        ep["subject"].as_str().unwrap().contains("charged twice"),
        "{ep}"
    );
    assert!(
        ep["summary"].as_str().unwrap().contains("opened a refund"),
        "{ep}"
    );
    assert!(
        ep["episode"].as_str().unwrap().contains("customer u"),
        "{ep}"
    );
    assert_eq!(s.flush("u", "t1").await, "no_extraction", "buffer cleared");
    let raws = s.raw("u").await;
    assert_eq!(raws.len(), 1, "the other session stays buffered");
    assert_eq!(raws[0]["session_id"], "other");
}

#[tokio::test]
async fn rule_12_profiles_arrive_later_and_only_from_cuts() {
    let mut c = test_config();
    c.profile_delay = Duration::from_millis(300);
    let s = Srv::start_with(c).await;
    s.add("u", "t1", convo("u", BILLING)).await;
    tokio::time::sleep(Duration::from_millis(350)).await;
    assert!(
        s.profiles("u", "name").await.is_empty(),
        "add alone never creates a profile"
    );
    s.flush("u", "t1").await;
    assert!(s.profiles("u", "name").await.is_empty(), "not instant");
    assert!(eventually(1500, || async { !s.profiles("u", "name").await.is_empty() }).await);
    let p = s.profiles("u", "name").await;
    assert_eq!(p[0]["profile_data"]["embed_text"], "Name: Dana Whitfield");
    assert_eq!(p[0]["profile_data"]["item_type"], "explicit_info");
}

#[tokio::test]
async fn rule_13_index_lag_hides_from_search_not_get() {
    let mut c = test_config();
    c.index_lag = Duration::from_millis(300);
    let s = Srv::start_with(c).await;
    s.add("u", "t1", convo("u", BILLING)).await;
    s.flush("u", "t1").await;
    assert!(s.episodes("u", "refund").await.is_empty(), "search lags");
    assert_eq!(
        s.get_episodes("u").await["total_count"],
        1,
        "get sees it at once"
    );
    assert!(
        eventually(1500, || async {
            s.episodes("u", "refund").await.len() == 1
        })
        .await
    );
}
