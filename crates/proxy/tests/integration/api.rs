//! The v1 API over real HTTP against local-everos: every route, error shapes,
//! isolation between customers, EverOS wire format (profiles from `data.profiles`).

use std::time::Duration;

use crate::common::{start, start_with, user_of};
use serde_json::{json, Value};

#[tokio::test]
async fn ticket_message_close_history_profile_and_forget() {
    let h = start().await;
    let t = h.verified("cust_dana").await;

    let created = h
        .ticket(&t, "T-1", "Password reset email never arrives")
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    // The EverOS session is bound to the customer: the ticket id, then a digest of them.
    let session = created.body["ticket"]["session_id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(session.starts_with("ticket_T-1_"), "{session}");
    assert_eq!(created.body["ticket"]["status"], "open");
    let opening = created.body["messages"][0].clone();
    assert_eq!(opening["role"], "assistant");
    let again = h
        .ticket(&t, "T-1", "Password reset email never arrives")
        .await;
    assert_eq!(again.status, 200);
    assert_eq!(again.body["messages"][0], opening);

    let m = h
        .say(
            &t,
            "T-1",
            "m-1",
            "  Hi, my name is Dana Whitfield and the reset email never arrives.  ",
        )
        .await;
    assert_eq!(m.status, 200, "{}", m.body);
    assert_eq!(m.body["message"]["role"], "user");
    assert_eq!(
        m.body["message"]["content"],
        "Hi, my name is Dana Whitfield and the reset email never arrives."
    );
    assert_eq!(m.body["reply"]["role"], "assistant");
    assert!(m.body["reply"]["content"]
        .as_str()
        .unwrap()
        .contains("automated assistant"));
    assert!(m.body["message"]["created_at"].as_i64() < m.body["reply"]["created_at"].as_i64());

    // Wire format: opening, user and reply adds for this customer and session, sync mode,
    // strictly increasing timestamps; searches filtered to the customer with top_k 5.
    let adds = h.requests(Some("add")).await;
    assert_eq!(adds.len(), 3);
    let roles: Vec<_> = adds
        .iter()
        .map(|a| a["body"]["messages"][0]["role"].clone())
        .collect();
    assert_eq!(
        roles,
        [json!("assistant"), json!("user"), json!("assistant")]
    );
    let ts: Vec<i64> = adds
        .iter()
        .map(|a| a["body"]["messages"][0]["timestamp"].as_i64().unwrap())
        .collect();
    assert!(ts.windows(2).all(|w| w[0] < w[1]), "{ts:?}");
    for a in &adds {
        assert_eq!(a["body"]["user_id"], "cust_dana");
        assert_eq!(a["body"]["session_id"], session.as_str());
        assert_eq!(a["body"]["async_mode"], false);
    }
    let searches = h.requests(Some("search")).await;
    let types: Vec<_> = searches
        .iter()
        .map(|s| s["body"]["memory_types"][0].clone())
        .collect();
    assert!(types.contains(&json!("profile")) && types.contains(&json!("episodic_memory")));
    for s in &searches {
        assert_eq!(s["body"]["filters"]["user_id"], "cust_dana");
        assert_eq!(s["body"]["top_k"], 5);
        assert_eq!(s["body"]["method"], "hybrid");
    }

    let closed = h
        .post("/v1/tickets/T-1/close", Some(&t), json!({"rating": 5}))
        .await;
    assert_eq!(
        closed.body,
        json!({"status": "closed", "memory": "extracted"})
    );
    let twice = h.post("/v1/tickets/T-1/close", Some(&t), json!({})).await;
    assert_eq!(
        twice.body,
        json!({"status": "closed", "memory": "no_extraction"})
    );
    assert_eq!(
        h.requests(Some("flush")).await.len(),
        1,
        "closing twice flushes once"
    );
    let late = h.say(&t, "T-1", "m-late", "one more thing").await;
    assert_eq!((late.status, late.code()), (409, "conflict"));

    let hist = h.get("/v1/history", Some(&t)).await;
    assert_eq!(hist.status, 200);
    let eps = hist.body["episodes"].as_array().unwrap();
    assert_eq!(eps.len(), 1, "{}", hist.body);
    assert_eq!(eps[0]["session_id"], session.as_str());

    // The profile appears after local-everos's profile delay, from data.profiles.
    let facts = h.profile_facts(&t).await;
    assert!(
        facts.iter().any(|f| f["text"] == "Name: Dana Whitfield"),
        "{facts:?}"
    );

    // A new ticket's reply context carries the profile and the past episode.
    assert_eq!(h.ticket(&t, "T-2", "Invoice question").await.status, 201);
    let m2 = h
        .say(&t, "T-2", "m-2", "The reset email problem is back")
        .await;
    assert!(m2.body["context"]["profile"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["text"] == "Name: Dana Whitfield"));
    assert_eq!(
        m2.body["context"]["history"][0]["session_id"],
        session.as_str()
    );
    let text = m2.body["reply"]["content"].as_str().unwrap();
    assert!(text.starts_with("Hi Dana Whitfield"), "{text}");
    assert!(text.contains("similar issue before"), "{text}");

    let forgot = h.delete("/v1/me", &t).await;
    assert_eq!(forgot.status, 204);
    let del = h.requests(Some("delete")).await;
    assert_eq!(del[0]["body"], json!({"user_id": "cust_dana"}));
    // Forgetting ends the session; signing in again starts from nothing.
    let old = h.get("/v1/history", Some(&t)).await;
    assert_eq!((old.status, old.code()), (401, "unauthorized"));
    let t = h.verified("cust_dana").await;
    assert!(h.get("/v1/history", Some(&t)).await.body["episodes"]
        .as_array()
        .unwrap()
        .is_empty());
    assert_eq!(h.say(&t, "T-2", "m-3", "hello?").await.status, 404);
}

#[tokio::test]
async fn customers_never_see_each_other() {
    let h = start().await;
    let a = h.verified("cust_a").await;
    let b = h.verified("cust_b").await;
    h.ticket(&a, "shared-id", "A's billing problem").await;
    h.say(
        &a,
        "shared-id",
        "a1",
        "my name is Alice Archer, billing is broken",
    )
    .await;
    h.post("/v1/tickets/shared-id/close", Some(&a), json!({}))
        .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    h.http
        .delete(format!("{}/_test/requests", h.everos))
        .send()
        .await
        .unwrap();

    // B cannot reach A's ticket and sees none of A's memory.
    assert_eq!(h.say(&b, "shared-id", "b1", "hi").await.status, 404);
    assert_eq!(
        h.post("/v1/tickets/shared-id/close", Some(&b), json!({}))
            .await
            .status,
        404
    );
    assert_eq!(
        h.post("/v1/tickets/shared-id/escalate", Some(&b), json!({}))
            .await
            .status,
        404
    );
    let hist = h.get("/v1/history?query=billing%20broken", Some(&b)).await;
    assert_eq!(hist.body["episodes"], json!([]));
    assert_eq!(
        h.get("/v1/profile", Some(&b)).await.body["facts"],
        json!([])
    );
    // The same ticket id is B's own ticket.
    assert_eq!(h.ticket(&b, "shared-id", "B's ticket").await.status, 201);
    let m = h
        .say(&b, "shared-id", "b2", "billing broken for me too")
        .await;
    assert_eq!(m.body["context"], json!({"profile": [], "history": []}));
    let log = h.requests(None).await;
    assert!(!log.is_empty());
    assert!(
        log.iter().all(|r| user_of(r).as_deref() == Some("cust_b")),
        "{log:?}"
    );
    // A still sees its own.
    let hist = h.get("/v1/history?query=billing", Some(&a)).await;
    assert_eq!(hist.body["episodes"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn bad_requests_get_our_error_shape() {
    let h = start_with(|c| c.body_limit = 2048).await;
    let t = h.verified("cust_err").await;
    let url = format!("{}/v1/tickets", h.base);
    let raw = |body: &'static str| {
        h.http
            .post(&url)
            .bearer_auth(&t)
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    let r = raw("{not json").await.unwrap();
    assert_eq!(r.status(), 400);
    let id = r.headers()["x-request-id"].to_str().unwrap().to_owned();
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "invalid_request");
    assert_eq!(body["error"]["request_id"], id.as_str());
    let r = raw(r#"{"ticket_id": 5}"#).await.unwrap();
    assert_eq!(r.status(), 400);

    let big = "x".repeat(5000);
    let r = h
        .post(
            "/v1/tickets",
            Some(&t),
            json!({"ticket_id": "t", "subject": big}),
        )
        .await;
    assert_eq!((r.status, r.code()), (413, "payload_too_large"));

    let r = h.ticket(&t, "bad id!", "s").await;
    assert_eq!((r.status, r.code()), (400, "invalid_request"));
    let r = h.say(&t, "bad%20id", "m", "hi").await;
    assert_eq!((r.status, r.code()), (400, "invalid_request"));
    let long = "a".repeat(65);
    assert_eq!(h.say(&t, &long, "m", "hi").await.status, 400);
    assert_eq!(h.say(&t, "nope", "m", "hi").await.code(), "not_found");

    assert_eq!(h.ticket(&t, "ok", "Subject").await.status, 201);
    assert_eq!(h.say(&t, "ok", "m1", "   ").await.code(), "invalid_request");
    let h2 = start().await;
    let t2 = h2.verified("cust_len").await;
    h2.ticket(&t2, "ok", "Subject").await;
    assert_eq!(
        h2.say(&t2, "ok", "m1", &"y".repeat(4001)).await.code(),
        "invalid_request"
    );
    assert_eq!(h2.say(&t2, "ok", "m2", &"y".repeat(4000)).await.status, 200);
    let r = h
        .post("/v1/tickets/ok/close", Some(&t), json!({"rating": 9}))
        .await;
    assert_eq!(r.code(), "invalid_request");
    assert_eq!(
        h.get("/v1/history?limit=0", Some(&t)).await.code(),
        "invalid_request"
    );
    let sse = h
        .http
        .post(format!("{}/v1/tickets/nope/messages", h.base))
        .bearer_auth(&t)
        .header("accept", "text/event-stream")
        .json(&json!({"id": "m", "content": "hi", "sent_at": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        sse.status(),
        404,
        "request errors come before the stream starts"
    );
    let r = h.get("/v1/session", None).await;
    assert_eq!(
        (r.status, r.code()),
        (404, "not_found"),
        "wrong method, our shape"
    );
    let r = h.get("/v1/nothing", None).await;
    assert_eq!((r.status, r.code()), (404, "not_found"));
}

#[tokio::test]
async fn operations_health_ready_metrics_cors_and_rate_limits() {
    let h = start_with(|c| {
        c.allowed_origins = vec!["https://shop.example.com".into()];
        c.rate_customer_burst = 3;
        c.rate_customer_per_min = 1;
    })
    .await;
    assert_eq!(h.get("/healthz", None).await.status, 200);
    assert_eq!(h.get("/readyz", None).await.status, 200);
    let down = crate::common::serve({
        let mut c = everdesk_proxy::Config::for_tests();
        c.everos_base_url = Some("http://127.0.0.1:9".into());
        c.everos_api_key = Some("k".into());
        c
    })
    .await;
    let r = reqwest::get(format!("{down}/readyz")).await.unwrap();
    assert_eq!(r.status(), 503);

    let pre = |origin: &'static str| {
        h.http
            .request(reqwest::Method::OPTIONS, format!("{}/v1/session", h.base))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .send()
    };
    let ok = pre("https://shop.example.com").await.unwrap();
    assert_eq!(
        ok.headers()["access-control-allow-origin"],
        "https://shop.example.com"
    );
    let evil = pre("https://evil.example.com").await.unwrap();
    assert!(evil.headers().get("access-control-allow-origin").is_none());

    let t = h.verified("cust_rl").await;
    for _ in 0..3 {
        assert_eq!(h.get("/v1/profile", Some(&t)).await.status, 200);
    }
    let limited = h.get("/v1/profile", Some(&t)).await;
    assert_eq!((limited.status, limited.code()), (429, "rate_limited"));
    assert!(
        limited.headers["retry-after"]
            .to_str()
            .unwrap()
            .parse::<u64>()
            .unwrap()
            >= 1
    );
    let other = h.verified("cust_other").await;
    assert_eq!(
        h.get("/v1/profile", Some(&other)).await.status,
        200,
        "limits are per customer"
    );

    let metrics = h.metrics().await;
    assert!(
        metrics.contains(
            r#"everdesk_requests_total{method="GET",route="/v1/profile",status="429"} 1"#
        ),
        "{metrics}"
    );
    assert!(metrics.contains("everdesk_request_duration_seconds_bucket"));
    assert!(metrics.contains("everdesk_ledger_hits_total 0"));
}

#[tokio::test]
async fn per_ip_limit_applies_to_the_api() {
    let h = start_with(|c| {
        c.rate_ip_burst = 2;
        c.rate_ip_per_min = 1;
    })
    .await;
    assert_eq!(h.post("/v1/session", None, json!({})).await.status, 200);
    assert_eq!(h.post("/v1/session", None, json!({})).await.status, 200);
    let r = h.post("/v1/session", None, json!({})).await;
    assert_eq!((r.status, r.code()), (429, "rate_limited"));
    assert_eq!(
        h.get("/healthz", None).await.status,
        200,
        "operations are not limited"
    );
}

#[tokio::test]
async fn profiles_are_searched_with_a_method_that_returns_them_whatever_is_configured() {
    // EverOS silently drops `profile` from a `keyword` search (contract §3.3).
    let h = start_with(|c| c.search_method = "keyword".into()).await;
    let t = h.verified("cust_kw").await;
    assert_eq!(h.ticket(&t, "K-1", "Login trouble").await.status, 201);
    let m = h
        .say(
            &t,
            "K-1",
            "k-1",
            "Hi, my name is Kim Keyword and login fails.",
        )
        .await;
    assert_eq!(m.status, 200, "{}", m.body);
    h.post("/v1/tickets/K-1/close", Some(&t), json!({})).await;

    let facts = h.profile_facts(&t).await;
    assert!(
        facts.iter().any(|f| f["text"] == "Name: Kim Keyword"),
        "{facts:?}"
    );
    assert_eq!(h.ticket(&t, "K-2", "Login again").await.status, 201);
    let m2 = h.say(&t, "K-2", "k-2", "login fails again").await;
    assert!(
        m2.body["context"]["profile"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["text"] == "Name: Kim Keyword"),
        "{}",
        m2.body
    );

    // Profile lookups use hybrid; episodes keep the configured method.
    let searches = h.requests(Some("search")).await;
    let method_of = |kind: &str| -> Vec<Value> {
        searches
            .iter()
            .filter(|s| s["body"]["memory_types"][0] == kind)
            .map(|s| s["body"]["method"].clone())
            .collect()
    };
    let profile = method_of("profile");
    let episodic = method_of("episodic_memory");
    assert!(!profile.is_empty() && !episodic.is_empty());
    assert!(profile.iter().all(|m| m == "hybrid"), "{profile:?}");
    assert!(episodic.iter().all(|m| m == "keyword"), "{episodic:?}");
}

#[tokio::test]
async fn metric_labels_are_bounded_whatever_the_client_sends() {
    let h = start().await;
    for (method, path) in [
        ("FOO1", "/v1/session"),
        ("FOO2", "/healthz"),
        ("BREW", "/random/path/1"),
        ("GET", "/random/path/2"),
        ("PROPFIND", "/v1/tickets/abc/messages"),
    ] {
        let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let r = h
            .http
            .request(m, format!("{}{path}", h.base))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 404, "{method} {path}");
    }
    let t = h.verified("cust_metrics").await;
    h.say(&t, "no-such-ticket", "m1", "hi").await;
    let metrics = h.metrics().await;
    for raw in [
        "FOO1",
        "FOO2",
        "BREW",
        "PROPFIND",
        "/random/path",
        "no-such-ticket",
    ] {
        assert!(!metrics.contains(raw), "{raw} leaked into\n{metrics}");
    }
    for series in [
        r#"everdesk_requests_total{method="other",route="/v1/session",status="404"} 1"#,
        r#"everdesk_requests_total{method="other",route="/healthz",status="404"} 1"#,
        r#"everdesk_requests_total{method="other",route="other",status="404"} 1"#,
        r#"everdesk_requests_total{method="GET",route="other",status="404"} 1"#,
        r#"everdesk_requests_total{method="POST",route="/v1/tickets/{ticket_id}/messages",status="404"} 1"#,
    ] {
        assert!(metrics.contains(series), "{series} missing from\n{metrics}");
    }
}
