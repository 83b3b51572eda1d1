//! Idempotency and EverOS faults over real HTTP: retries return the original reply and
//! add nothing, also after a proxy restart on the same data dir; concurrent duplicates add
//! once; 500/429/timeouts map to documented codes without duplicating anything in EverOS.

use crate::common::{start, start_persisted, start_with};
use serde_json::json;

#[tokio::test]
async fn a_retry_returns_the_original_reply_and_adds_nothing() {
    let h = start().await;
    let t = h.verified("cust_idem").await;
    h.ticket(&t, "T", "Refund").await;
    let first = h.say(&t, "T", "msg-1", "I was charged twice").await;
    assert_eq!(first.status, 200);
    let adds_before = h.requests(Some("add")).await.len();
    let retry = h.say(&t, "T", "msg-1", "I was charged twice").await;
    assert_eq!(retry.body, first.body);
    assert_eq!(h.requests(Some("add")).await.len(), adds_before);
    let conflict = h.say(&t, "T", "msg-1", "something else").await;
    assert_eq!((conflict.status, conflict.code()), (409, "conflict"));
    let metrics = h.metrics().await;
    assert!(
        metrics.contains("everdesk_ledger_hits_total 1"),
        "{metrics}"
    );
}

#[tokio::test]
async fn a_retry_after_a_restart_returns_the_stored_reply_and_adds_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut h = start_persisted(dir.path()).await;
    let t = h.verified("cust_restart").await;
    assert_eq!(h.ticket(&t, "T", "Refund").await.status, 201);
    let first = h.say(&t, "T", "msg-r1", "I was charged twice").await;
    assert_eq!(first.status, 200, "{}", first.body);
    let adds_before = h.requests(Some("add")).await.len();

    h.restart().await; // a new proxy on the same data dir and EverOS

    let retry = h.say(&t, "T", "msg-r1", "I was charged twice").await;
    assert_eq!(retry.status, 200, "{}", retry.body);
    assert_eq!(retry.body, first.body, "the stored response, as first sent");
    assert_eq!(h.stored_adds_of("I was charged twice").await, 1);
    assert_eq!(
        h.requests(Some("add")).await.len(),
        adds_before,
        "no add at all: neither the message nor a second reply"
    );
    let conflict = h.say(&t, "T", "msg-r1", "something else").await;
    assert_eq!((conflict.status, conflict.code()), (409, "conflict"));
    assert_eq!(h.stored_adds_of("something else").await, 0);
    let metrics = h.metrics().await;
    assert!(
        metrics.contains("everdesk_ledger_hits_total 1"),
        "answered from the reloaded ledger: {metrics}"
    );
}

#[tokio::test]
async fn an_unknown_outcome_is_checked_not_re_added_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let mut h = start_persisted(dir.path()).await; // proxy EverOS timeout: 800 ms
    let t = h.verified("cust_restart_slow").await;
    assert_eq!(h.ticket(&t, "T", "Slow").await.status, 201);
    h.fault(json!({"route": "add", "delay_ms": 1200})).await;
    let first = h.say(&t, "T", "slow-r1", "is anyone there").await;
    assert_eq!((first.status, first.code()), (504, "upstream_unavailable"));

    h.restart().await;

    let retry = h.say(&t, "T", "slow-r1", "is anyone there").await;
    assert_eq!(retry.status, 200, "{}", retry.body);
    assert_eq!(
        h.stored_adds_of("is anyone there").await,
        1,
        "the unknown-outcome add was not re-sent by the new proxy"
    );
    let raw_checks = h.raw_message_checks().await;
    assert_eq!(raw_checks, 1, "resolved by the raw_message check");
    let again = h.say(&t, "T", "slow-r1", "is anyone there").await;
    assert_eq!(again.body, retry.body);
}

#[tokio::test]
async fn concurrent_duplicates_add_once() {
    let h = start().await;
    let t = h.verified("cust_conc").await;
    h.ticket(&t, "T", "Refund").await;
    let (a, b, c) = tokio::join!(
        h.say(&t, "T", "dup", "same message"),
        h.say(&t, "T", "dup", "same message"),
        h.say(&t, "T", "dup", "same message"),
    );
    assert_eq!((a.status, b.status, c.status), (200, 200, 200));
    assert_eq!(a.body, b.body);
    assert_eq!(b.body, c.body);
    assert_eq!(h.stored_adds_of("same message").await, 1);
    let replies = h
        .requests(Some("add"))
        .await
        .iter()
        .filter(|r| r["body"]["messages"][0]["role"] == "assistant")
        .count();
    assert_eq!(replies, 2, "opening + one reply");
}

#[tokio::test]
async fn slow_add_then_retry_stores_the_message_once() {
    let h = start().await; // proxy EverOS timeout: 800 ms
    let t = h.verified("cust_slow").await;
    h.ticket(&t, "T", "Slow").await;
    h.fault(json!({"route": "add", "delay_ms": 1200})).await;
    let first = h.say(&t, "T", "slow-1", "are you there").await;
    assert_eq!((first.status, first.code()), (504, "upstream_unavailable"));
    assert!(!first.body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("test-everos-key"));
    let retry = h.say(&t, "T", "slow-1", "are you there").await;
    assert_eq!(retry.status, 200, "{}", retry.body);
    assert_eq!(
        h.stored_adds_of("are you there").await,
        1,
        "the unknown-outcome add was not re-sent"
    );
    let raw_checks = h.raw_message_checks().await;
    assert_eq!(raw_checks, 1);
}

#[tokio::test]
async fn an_add_that_lands_late_is_waited_for_not_raced() {
    // The proxy gives up on the add after 800 ms; EverOS processes it only at 1200 ms.
    let h = start_with(|c| c.everos_settle_ms = 2_000).await;
    let t = h.verified("cust_late").await;
    h.ticket(&t, "T", "Late").await;
    h.fault(json!({"route": "add", "delay_before_ms": 1200}))
        .await;
    let first = h.say(&t, "T", "late-1", "anyone home").await;
    assert_eq!((first.status, first.code()), (504, "upstream_unavailable"));

    // Retried at once: not in EverOS yet, but it may still land: try again later.
    let early = h.say(&t, "T", "late-1", "anyone home").await;
    assert_eq!((early.status, early.code()), (503, "upstream_unavailable"));
    tokio::time::sleep(std::time::Duration::from_millis(2_100)).await;

    let retry = h.say(&t, "T", "late-1", "anyone home").await;
    assert_eq!(retry.status, 200, "{}", retry.body);
    assert_eq!(
        h.stored_adds_of("anyone home").await,
        1,
        "the late add was found, not raced by a second one"
    );
}

#[tokio::test]
async fn a_failed_add_is_retried_by_the_client_without_duplicates() {
    let h = start().await;
    let t = h.verified("cust_500").await;
    h.ticket(&t, "T", "Errors").await;
    h.fault(json!({"route": "add", "status": 500})).await;
    let first = h.say(&t, "T", "e-1", "hello there").await;
    assert_eq!((first.status, first.code()), (502, "upstream_unavailable"));
    h.fault(json!({"route": "add", "status": 429, "retry_after": 1}))
        .await;
    let second = h.say(&t, "T", "e-1", "hello there").await;
    assert_eq!(
        (second.status, second.code()),
        (503, "upstream_unavailable"),
        "writes are never retried by the proxy"
    );
    let ok = h.say(&t, "T", "e-1", "hello there").await;
    assert_eq!(ok.status, 200);
    assert_eq!(h.stored_adds_of("hello there").await, 1);
    let adds = h.requests(Some("add")).await;
    assert_eq!(
        adds.iter()
            .filter(|r| r["body"]["messages"][0]["content"] == "hello there")
            .count(),
        3
    );
}

#[tokio::test]
async fn reads_retry_transient_errors_and_degrade_or_fail_cleanly() {
    let h = start().await;
    let t = h.verified("cust_read").await;
    h.ticket(&t, "T", "Reads").await;
    // One 429 and one 500 on search: retried inside the proxy, the caller sees 200.
    h.fault(json!({"route": "search", "status": 429, "retry_after": 0}))
        .await;
    h.fault(json!({"route": "search", "status": 500})).await;
    assert_eq!(h.get("/v1/history", Some(&t)).await.status, 200);
    // Persistent failure: history answers 502, a message still gets a reply (empty context).
    h.fault(json!({"route": "search", "status": 500, "times": 20}))
        .await;
    let r = h.get("/v1/history", Some(&t)).await;
    assert_eq!((r.status, r.code()), (502, "upstream_unavailable"));
    let r = h.get("/v1/profile", Some(&t)).await;
    assert_eq!(r.code(), "upstream_unavailable");
    let m = h.say(&t, "T", "r-1", "still answer me").await;
    assert_eq!(m.status, 200);
    assert_eq!(m.body["context"], json!({"profile": [], "history": []}));
    h.http
        .delete(format!("{}/_test/faults", h.everos))
        .send()
        .await
        .unwrap();
    // A search timeout is retried too, then gives up with 504.
    h.fault(json!({"route": "search", "delay_ms": 1000, "times": 3}))
        .await;
    let r = h.get("/v1/history", Some(&t)).await;
    assert_eq!((r.status, r.code()), (504, "upstream_unavailable"));
}

#[tokio::test]
async fn create_close_and_forget_faults_map_to_codes_without_duplicates() {
    let h = start().await;
    let t = h.verified("cust_flow").await;
    h.fault(json!({"route": "add", "status": 500})).await;
    let r = h.ticket(&t, "T", "Create fails").await;
    assert_eq!((r.status, r.code()), (502, "upstream_unavailable"));
    assert_eq!(h.ticket(&t, "T", "Create fails").await.status, 201);
    assert_eq!(h.stored_adds_of("Ticket opened: Create fails").await, 1);

    h.fault(json!({"route": "add", "delay_ms": 1200})).await;
    let r = h.ticket(&t, "U", "Create slow").await;
    assert_eq!(r.status, 504);
    assert_eq!(
        h.ticket(&t, "U", "Create slow").await.status,
        200,
        "unknown outcome: not re-added"
    );
    assert_eq!(h.stored_adds_of("Ticket opened: Create slow").await, 1);

    h.say(&t, "T", "f-1", "please close").await;
    h.fault(json!({"route": "flush", "status": 500})).await;
    let r = h.post("/v1/tickets/T/close", Some(&t), json!({})).await;
    assert_eq!((r.status, r.code()), (502, "upstream_unavailable"));
    let r = h.post("/v1/tickets/T/close", Some(&t), json!({})).await;
    assert_eq!(r.body["memory"], "extracted");
    let flushes = h.requests(Some("flush")).await;
    assert_eq!(flushes.iter().filter(|f| f["status"] == 200).count(), 1);

    h.fault(json!({"route": "delete", "status": 503})).await;
    let r = h.delete("/v1/me", &t).await;
    assert_eq!((r.status, r.code()), (503, "upstream_unavailable"));
    assert_eq!(
        h.requests(Some("delete")).await.len(),
        1,
        "deletes are not retried"
    );
}

/// The customer turns with `content` buffered in `session`, as EverOS holds them (read
/// straight from local-everos in the API the proxy speaks).
async fn buffered_user_turns(
    h: &crate::common::Harness,
    api: &str,
    user: &str,
    session: &str,
    content: &str,
) -> usize {
    let (path, body, list) = if api == "v1" {
        let body = json!({"filters": {"user_id": user, "session_id": session}, "query": content,
                          "method": "keyword", "memory_types": ["raw_message"], "top_k": 100});
        ("/api/v1/memories/search", body, "raw_messages")
    } else {
        let body = json!({"user_id": user, "query": content, "method": "keyword", "top_k": 100,
                          "filters": {"session_id": session}});
        ("/api/v2/memory/search", body, "unprocessed_messages")
    };
    let resp: serde_json::Value = h
        .http
        .post(format!("{}{path}", h.everos))
        .bearer_auth(crate::common::EVEROS_KEY)
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    resp["data"][list]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| {
            m["role"].as_str().is_none_or(|r| r == "user")
                && (m["content"] == content || m["content_items"][0]["text"] == content)
        })
        .count()
}

#[tokio::test]
async fn an_unknown_outcome_is_not_mistaken_for_an_earlier_message_with_the_same_text() {
    for api in ["v1", "v2"] {
        same_text_as_an_earlier_message(api).await;
    }
}

async fn same_text_as_an_earlier_message(api: &'static str) {
    let h = start_with(|c| {
        c.everos_api = api.into();
        c.everos_settle_ms = 300;
    })
    .await; // proxy EverOS timeout: 800 ms
    let user = format!("cust_twice_ok_{api}");
    let t = h.verified(&user).await;
    let created = h.ticket(&t, "T", "Confirmations").await;
    let session = created.body["ticket"]["session_id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(h.say(&t, "T", "ok-1", "ok").await.status, 200);
    // The second "ok" (a new message): EverOS answers only after the proxy gave up, and
    // never stores it.
    h.fault(json!({"route": "add", "status": 500, "delay_ms": 2000}))
        .await;
    let lost = h.say(&t, "T", "ok-2", "ok").await;
    assert_eq!(
        (lost.status, lost.code()),
        (504, "upstream_unavailable"),
        "{api}"
    );
    tokio::time::sleep(std::time::Duration::from_millis(400)).await; // past the settle window

    let retry = h.say(&t, "T", "ok-2", "ok").await;
    assert_eq!(retry.status, 200, "{api}: {}", retry.body);
    let adds = h.requests(Some("add")).await;
    let answered: Vec<serde_json::Value> = adds
        .iter()
        .filter(|r| r["status"] == 200 && r["body"]["messages"][0]["content"] == "ok")
        .cloned()
        .collect();
    // Every add EverOS received (status, role, timestamp), to explain a failure.
    let seen: Vec<_> = adds
        .iter()
        .map(|r| {
            let m = &r["body"]["messages"][0];
            (
                r["status"].clone(),
                m["role"].clone(),
                m["timestamp"].clone(),
            )
        })
        .collect();
    assert_eq!(
        answered.len(),
        2,
        "{api}: the second \"ok\" was re-added, not matched to the first one; \
         retry {}; adds {seen:?}",
        retry.body
    );
    assert_eq!(
        answered[1]["body"]["messages"][0]["timestamp"].as_i64(),
        retry.body["message"]["created_at"].as_i64(),
        "{api}: re-added with the timestamp of the lost add"
    );
    assert_eq!(
        buffered_user_turns(&h, api, &user, &session, "ok").await,
        2,
        "{api}: EverOS holds both, once each"
    );
}

/// The attack: with the ledger at capacity 60, four customers send 72 messages
/// to their own closed tickets (each refused 409, nothing sent to EverOS); an honest
/// customer's first message still goes through. A full ledger refuses only its filler.
#[tokio::test]
async fn messages_to_closed_tickets_never_lock_an_honest_customer_out() {
    let h = start_with(|c| {
        c.ledger_capacity = 60;
        c.rate_customer_burst = 100;
        c.rate_ip_burst = 1_000;
    })
    .await;
    for v in 0..4 {
        let t = h.verified(&format!("cust_flood_{v}")).await;
        h.ticket(&t, "T", "Spam").await;
        let closed = h.post("/v1/tickets/T/close", Some(&t), json!({})).await;
        assert_eq!(closed.status, 200, "{}", closed.body);
        for i in 0..18 {
            let r = h.say(&t, "T", &format!("spam-{i}"), "spam").await;
            assert_eq!((r.status, r.code()), (409, "conflict"), "{}", r.body);
        }
    }
    assert_eq!(h.stored_adds_of("spam").await, 0);
    let honest = h.verified("cust_honest").await;
    h.ticket(&honest, "T", "Refund").await;
    let r = h.say(&honest, "T", "h-1", "I was charged twice").await;
    assert_eq!(r.status, 200, "{}", r.body);
}
