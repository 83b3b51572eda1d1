//! v2 operations over real HTTP: delete by user and by ids, the 1.5.1 no-delete mode,
//! `/health`, the test controls on v2 routes, and the binary's new flags.

use std::process::Command;

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::common::{convo, test_config, Srv, T0};
use crate::v2_common::{assert_v2_error, data, m, ticket};

#[tokio::test]
async fn delete_by_user_removes_episodes_profile_and_buffered_messages() {
    let mut c = test_config();
    c.profile_delay = std::time::Duration::ZERO;
    c.profile_lag_episodes = 0;
    let s = Srv::start_with(c).await;
    s.v2_add(
        "t1",
        ticket(
            "cust_1",
            0,
            "My name is Dana Whitfield, router broken.",
            "Reset.",
        ),
        true,
    )
    .await;
    s.v2_flush("t1").await;
    s.v2_add(
        "t2",
        ticket("cust_1", 60, "Printer jams.", "Clean it."),
        true,
    )
    .await;
    s.v2_flush("t2").await;
    s.v2_add(
        "t3",
        ticket("cust_1", 120, "Still open, card 4111.", "Looking."),
        true,
    )
    .await;
    s.add("cust_1", "v1", convo("cust_1", &["v1 buffered"]))
        .await;
    s.v2_add("k2", ticket("cust_2", 0, "Keep me.", "Kept."), true)
        .await;
    s.v2_flush("k2").await;
    assert!(s.v2_profile("cust_1").await.is_some());

    // One session first: its episode goes, the profile stays.
    let (st, b) = s
        .post(
            "/api/v2/memory/delete",
            json!({"user_id": "cust_1", "session_id": "t2"}),
        )
        .await;
    assert_eq!(
        data(st, &b, 200),
        json!({"filters": ["user_id", "session_id"], "count": 1})
    );
    assert_eq!(s.v2_get_episodes("cust_1").await.len(), 1);
    assert!(s.v2_profile("cust_1").await.is_some());
    // Then everything of the user: 1 episode + profile + 1 v2 buffered turn + 1 v1 buffered.
    let (st, b) = s
        .post("/api/v2/memory/delete", json!({"user_id": "cust_1"}))
        .await;
    assert_eq!(
        data(st, &b, 200),
        json!({"filters": ["user_id"], "count": 4})
    );
    assert!(s.v2_get_episodes("cust_1").await.is_empty());
    assert!(s.v2_episodes("cust_1", "router").await.is_empty());
    assert_eq!(s.v2_profile("cust_1").await, None);
    let left = s.v2_unprocessed("cust_9", "t3").await;
    assert_eq!(
        left.len(),
        1,
        "the bot's turn stays, the customer's is gone"
    );
    assert_eq!(left[0]["sender_id"], "everdesk_bot");
    assert!(s.raw("cust_1").await.is_empty(), "the v1 buffer too");
    assert_eq!(
        s.v2_get_episodes("cust_2").await.len(),
        1,
        "others untouched"
    );
    s.v2_error(
        "/api/v2/memory/delete",
        json!({"session_id": "t1"}),
        422,
        "INVALID_INPUT",
        "exactly one of user_id / agent_id",
    )
    .await;
}

#[tokio::test]
async fn delete_by_ids_removes_those_episodes_and_is_idempotent() {
    let s = Srv::start().await;
    for n in 0..2 {
        s.v2_add(
            &format!("t{n}"),
            ticket("cust_1", n * 60, "Router broken.", "Reset."),
            true,
        )
        .await;
        s.v2_flush(&format!("t{n}")).await;
    }
    let eps = s.v2_get_episodes("cust_1").await;
    let doomed = eps[0]["id"].as_str().unwrap().to_owned();
    let body = json!({"memory_type": "episode", "memory_ids": [doomed, doomed],
                      "reason": {"code": "privacy", "note": "customer asked"}});
    for _ in 0..2 {
        let (st, b) = s.post("/api/v2/memory/delete_by_ids", body.clone()).await;
        assert_eq!(
            data(st, &b, 200),
            json!({"memory_type": "episode", "success": true})
        );
    }
    let left = s.v2_get_episodes("cust_1").await;
    assert_eq!(left.len(), 1);
    assert_ne!(left[0]["id"], doomed.as_str());
    assert_eq!(s.v2_episodes("cust_1", "router").await.len(), 1);
    let p = "/api/v2/memory/delete_by_ids";
    s.v2_error(
        p,
        json!({"memory_type": "episode", "memory_ids": []}),
        422,
        "INVALID_INPUT",
        "memory_ids",
    )
    .await;
    let ids: Vec<String> = (0..51).map(|i| format!("x{i}")).collect();
    s.v2_error(
        p,
        json!({"memory_type": "episode", "memory_ids": ids}),
        422,
        "INVALID_INPUT",
        "memory_ids",
    )
    .await;
    s.v2_error(
        p,
        json!({"memory_type": "profile", "memory_ids": ["x"]}),
        422,
        "INVALID_INPUT",
        "memory_type",
    )
    .await;
    s.v2_error(
        p,
        json!({"memory_type": "episode", "memory_ids": ["x"], "reason": {"code": "meh"}}),
        422,
        "INVALID_INPUT",
        "reason.code",
    )
    .await;
    s.v2_error(
        p,
        json!({"memory_type": "episode", "memory_ids": ["x"], "user_id": "u"}),
        422,
        "INVALID_INPUT",
        "user_id",
    )
    .await;
}

#[tokio::test]
async fn no_delete_answers_a_plain_404_like_1_5_1() {
    let mut c = test_config();
    c.delete_enabled = false;
    let s = Srv::start_with(c).await;
    s.v2_add("t1", ticket("cust_1", 0, "Router broken.", "Reset."), true)
        .await;
    s.v2_flush("t1").await;
    for (path, body) in [
        ("/api/v2/memory/delete", json!({"user_id": "cust_1"})),
        (
            "/api/v2/memory/delete_by_ids",
            json!({"memory_type": "episode", "memory_ids": ["x"]}),
        ),
    ] {
        let (st, b) = s.post(path, body).await;
        assert_eq!(st, StatusCode::NOT_FOUND);
        assert_eq!(b, json!({"detail": "Not Found"}));
    }
    assert_eq!(
        s.v2_get_episodes("cust_1").await.len(),
        1,
        "nothing deleted"
    );
    let (_, h) = s.get_path("/health").await;
    assert!(h["version"].as_str().unwrap().starts_with("1.5.1+"), "{h}");
}

#[tokio::test]
async fn health_reports_version_capabilities_and_the_queue() {
    let s = Srv::start().await;
    let res = s.http.get(s.url("/health")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers().contains_key("x-request-id"));
    let h: Value = res.json().await.unwrap();
    assert_eq!(h["status"], "ok");
    assert!(
        h["version"]
            .as_str()
            .unwrap()
            .starts_with("1.6.0+local-everos."),
        "{h}"
    );
    assert_eq!(
        h["capabilities"],
        json!({"llm": true, "embed": false, "rerank": false, "multimodal_llm": false, "parser": false})
    );
    assert!(h["disabled_features"]
        .as_array()
        .unwrap()
        .contains(&json!("knowledge")));
    assert_eq!(h["memorize_queue"]["pending"], 0);
    assert!(
        h.get("request_id").is_none() && h.get("data").is_none(),
        "no envelope: {h}"
    );
}

#[tokio::test]
async fn test_controls_work_on_v2_routes() {
    let s = Srv::start().await;
    let admin = |b: Value| s.http.post(s.url("/_test/faults")).json(&b).send();
    assert_eq!(
        admin(json!({"route": "search", "status": 503, "retry_after": 3}))
            .await
            .unwrap()
            .status(),
        StatusCode::CREATED
    );
    admin(json!({"route": "add", "status": 500})).await.unwrap();
    admin(json!({"route": "delete_by_ids", "status": 429}))
        .await
        .unwrap();
    let res = s
        .http
        .post(s.url("/api/v2/memory/search"))
        .bearer_auth(crate::common::KEY)
        .json(&json!({"user_id": "u", "query": "x", "top_k": 5}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(res.headers()["retry-after"], "3");
    let b: Value = res.json().await.unwrap();
    assert_v2_error(&b, "EXTERNAL_SERVICE_UNAVAILABLE", "/api/v2/memory/search");
    let (st, b) = s
        .post(
            "/api/v2/memory/add",
            json!({"session_id": "s", "messages": [m("u", "user", T0, "hi")]}),
        )
        .await;
    assert_eq!(st, StatusCode::INTERNAL_SERVER_ERROR);
    assert_v2_error(&b, "INTERNAL_ERROR", "/api/v2/memory/add");
    assert!(
        s.v2_unprocessed("u", "s").await.is_empty(),
        "a faulted add is not processed"
    );
    let (st, b) = s
        .post(
            "/api/v2/memory/delete_by_ids",
            json!({"memory_type": "episode", "memory_ids": ["x"]}),
        )
        .await;
    assert_eq!(st, StatusCode::TOO_MANY_REQUESTS);
    assert_v2_error(&b, "QUEUE_SATURATED", "/api/v2/memory/delete_by_ids");
    // The log names the v2 paths under the shared route names, /health included.
    s.v2_add("s", json!([m("u", "user", T0, "hi")]), true).await;
    s.get_path("/health").await;
    let log = s.get_path("/_test/requests").await.1;
    let reqs = log["requests"].as_array().unwrap();
    let routes: Vec<(&str, &str)> = reqs
        .iter()
        .map(|r| (r["route"].as_str().unwrap(), r["path"].as_str().unwrap()))
        .collect();
    assert!(
        routes.contains(&("add", "/api/v2/memory/add")),
        "{routes:?}"
    );
    assert!(routes.contains(&("health", "/health")), "{routes:?}");
    assert_eq!(reqs.last().unwrap()["status"], 200);
    // Reset wipes v2 buffers and queued tasks.
    let (st, b) = s
        .post(
            "/api/v2/memory/add",
            json!({"session_id": "q", "async_mode": true, "messages": [m("u", "user", T0, "hi")]}),
        )
        .await;
    let task = data(st, &b, 202);
    assert_eq!(task["status"], "queued");
    let task_id = b["request_id"].as_str().unwrap().to_owned();
    let r = s.http.post(s.url("/_test/reset")).send().await.unwrap();
    assert!(r.status().is_success());
    assert!(s.v2_unprocessed("u", "s").await.is_empty());
    assert_eq!(
        s.get_path(&format!("/api/v2/tasks/{task_id}")).await.0,
        StatusCode::NOT_FOUND
    );
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(
        s.v2_unprocessed("u", "q").await.is_empty(),
        "the queued add was dropped"
    );
}

#[test]
fn binary_help_lists_the_v2_flags() {
    let bin = env!("CARGO_BIN_EXE_local-everos");
    let help = Command::new(bin).arg("--help").output().unwrap();
    let text = String::from_utf8_lossy(&help.stdout);
    for flag in [
        "--keyword-lag-ms",
        "--profile-lag-episodes",
        "--no-delete",
        "--strict-capabilities",
        "LOCAL_EVEROS_KEYWORD_LAG_MS",
        "LOCAL_EVEROS_PROFILE_LAG_EPISODES",
        "LOCAL_EVEROS_NO_DELETE",
        "LOCAL_EVEROS_STRICT_CAPABILITIES",
    ] {
        assert!(text.contains(flag), "{flag} missing from --help");
    }
}
