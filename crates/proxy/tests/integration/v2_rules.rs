//! The EverOS v2 rules (everos-v2.md §3) checked request by request, through the proxy,
//! against local-everos's request log: who sends each turn, `defer_extraction` and an
//! explicit `async_mode` on every add, strictly increasing timestamps per session, a
//! flush on escalation and on close, an explicit `top_k` on every search, session filters
//! only ever naming the customer's own session, customer ids v2 refuses as they are, and
//! no blind retry of an add or a flush.

use std::time::Duration;

use serde_json::{json, Value};

use crate::common::{start_with, Harness};

/// The fixed `sender_id` of the bot's turns.
const BOT: &str = "everdesk-assistant";

async fn start_v2(settle_ms: u64) -> Harness {
    start_with(|c| {
        c.everos_api = "v2".into();
        c.everos_settle_ms = settle_ms;
    })
    .await
}

/// Opens `ticket`; returns its EverOS session.
async fn open(h: &Harness, token: &str, ticket: &str, subject: &str) -> String {
    let r = h.ticket(token, ticket, subject).await;
    assert_eq!(r.status, 201, "{}", r.body);
    r.body["ticket"]["session_id"].as_str().unwrap().to_owned()
}

fn of_session<'a>(log: &'a [Value], session: &str) -> Vec<&'a Value> {
    log.iter()
        .filter(|r| r["body"]["session_id"] == session)
        .collect()
}

#[tokio::test]
async fn every_add_names_its_sender_defers_extraction_and_moves_time_forward() {
    let h = start_v2(60_000).await;
    let user = "cust_v2_rules";
    let t = h.verified(user).await;
    let session = open(&h, &t, "T", "Refund").await;
    // The first message right after the opening line, then more, as fast as they go.
    for (i, text) in ["I was charged twice", "order 4411", "please refund"]
        .iter()
        .enumerate()
    {
        let r = h.say(&t, "T", &format!("m{i}"), text).await;
        assert_eq!(r.status, 200, "{}", r.body);
    }
    let r = h.post("/v1/tickets/T/escalate", Some(&t), json!({})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let flushes = h.requests(Some("flush")).await;
    assert_eq!(flushes.len(), 1, "flushed on escalation: {flushes:?}");
    assert_eq!(flushes[0]["body"], json!({"session_id": session}));
    assert_eq!(h.say(&t, "T", "m9", "any news?").await.status, 200);
    let r = h.post("/v1/tickets/T/close", Some(&t), json!({})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let flushes = h.requests(Some("flush")).await;
    assert_eq!(flushes.len(), 2, "flushed again on close: {flushes:?}");
    assert_eq!(flushes[1]["body"]["session_id"], session.as_str());

    let log = h.requests(Some("add")).await;
    let adds = of_session(&log, &session);
    assert_eq!(
        adds.len(),
        1 + 2 * 4,
        "the opening line, four turns, four replies"
    );
    let mut last = i64::MIN;
    for add in &adds {
        let body = &add["body"];
        assert_eq!(body["defer_extraction"], true, "{body}");
        assert!(
            body["async_mode"].is_boolean(),
            "explicit async_mode: {body}"
        );
        assert!(body.get("user_id").is_none(), "{body}");
        for m in body["messages"].as_array().unwrap() {
            let expected = if m["role"] == "user" { user } else { BOT };
            assert_eq!(m["sender_id"], expected, "{m}");
            let ts = m["timestamp"].as_i64().unwrap();
            assert!(ts > last, "timestamps strictly increase: {ts} after {last}");
            last = ts;
        }
    }
    assert_eq!(adds[0]["body"]["messages"][0]["role"], "assistant");
    assert_eq!(adds[1]["body"]["messages"][0]["role"], "user");

    // Every search (context, hand-off, history) names its top_k.
    assert_eq!(
        h.get("/v1/history?query=refund", Some(&t)).await.status,
        200
    );
    let searches = h.requests(Some("search")).await;
    assert!(!searches.is_empty());
    for s in &searches {
        let k = s["body"]["top_k"].as_i64();
        assert!(k.is_some_and(|k| (1..=100).contains(&k)), "{}", s["body"]);
    }
}

#[tokio::test]
async fn a_customer_id_v2_refuses_as_it_is_works_end_to_end() {
    let h = start_v2(60_000).await;
    let user = "auth0|123 x";
    let t = h.verified(user).await;
    let session = open(&h, &t, "T", "Login loop").await;
    let r = h.say(&t, "T", "m1", "the login page keeps reloading").await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = h.post("/v1/tickets/T/close", Some(&t), json!({})).await;
    assert_eq!(
        (r.status, &r.body["memory"]),
        (200, &json!("extracted")),
        "{}",
        r.body
    );
    assert_eq!(h.get("/v1/profile", Some(&t)).await.status, 200);

    let log = h.requests(None).await;
    assert!(
        log.iter()
            .all(|r| r["status"].as_u64().is_some_and(|s| s < 400)),
        "EverOS refused nothing: {log:?}"
    );
    let owner = log
        .iter()
        .filter(|r| r["route"] == "add")
        .flat_map(|r| r["body"]["messages"].as_array().unwrap().clone())
        .find(|m| m["role"] == "user")
        .unwrap()["sender_id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(owner.starts_with("h.") && owner != user, "{owner}");
    // The customer's own memory comes back under that owner, once EverOS has it.
    for _ in 0..40 {
        let listed = h.get("/v1/history", Some(&t)).await;
        assert_eq!(listed.status, 200, "{}", listed.body);
        let eps = listed.body["episodes"].as_array().unwrap().clone();
        assert_eq!(eps[0]["session_id"], session.as_str());
        if !eps[0]["id"].as_str().unwrap().starts_with("recent_") {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("EverOS's own episode of {user:?} never came back");
}

#[tokio::test]
async fn session_filters_only_ever_name_the_customers_own_session() {
    let h = start_v2(60_000).await; // proxy EverOS timeout: 800 ms
    let mut own = Vec::new();
    for user in ["cust_filter_ann", "cust_filter_bob"] {
        let t = h.verified(user).await;
        // Both choose the same ticket id.
        let session = open(&h, &t, "T-1", "Shared id").await;
        // An add whose answer comes too late: the retry looks into the session's buffer.
        h.fault(json!({"route": "add", "delay_ms": 1200})).await;
        let first = h.say(&t, "T-1", "m1", "is my order shipped").await;
        assert_eq!(first.status, 504, "{}", first.body);
        let retry = h.say(&t, "T-1", "m1", "is my order shipped").await;
        assert_eq!(retry.status, 200, "{}", retry.body);
        own.push((user, session));
    }
    assert_ne!(own[0].1, own[1].1);
    let filtered: Vec<Value> = h
        .requests(Some("search"))
        .await
        .into_iter()
        .filter(|r| !r["body"]["filters"]["session_id"].is_null())
        .collect();
    assert_eq!(filtered.len(), 2, "one buffer check per customer");
    for r in &filtered {
        let user = r["body"]["user_id"].as_str().unwrap();
        let session = &own.iter().find(|(u, _)| *u == user).unwrap().1;
        assert_eq!(r["body"]["filters"]["session_id"], session.as_str(), "{r}");
    }
    assert_eq!(
        h.stored_adds_of("is my order shipped").await,
        2,
        "once each"
    );
}

#[tokio::test]
async fn adds_and_flushes_are_never_retried_blindly() {
    let h = start_v2(1_500).await; // proxy EverOS timeout: 800 ms
    let t = h.verified("cust_v2_writes").await;
    let session = open(&h, &t, "T", "Writes").await;
    // A 5xx on add: answered as such, not retried by the proxy.
    h.fault(json!({"route": "add", "status": 500})).await;
    let r = h.say(&t, "T", "m1", "hello there").await;
    assert_eq!((r.status, r.code()), (502, "upstream_unavailable"));
    let sent = |log: Vec<Value>| {
        log.iter()
            .filter(|r| r["body"]["messages"][0]["content"] == "hello there")
            .count()
    };
    assert_eq!(sent(h.requests(Some("add")).await), 1, "one attempt only");
    assert_eq!(h.say(&t, "T", "m1", "hello there").await.status, 200);

    // A flush whose answer is lost: a close retried while it may still land is 503, not
    // a second flush; after the settle window the close goes through.
    h.fault(json!({"route": "flush", "delay_ms": 1200})).await;
    let r = h.post("/v1/tickets/T/close", Some(&t), json!({})).await;
    assert_eq!(r.status, 504, "{}", r.body);
    let r = h.post("/v1/tickets/T/close", Some(&t), json!({})).await;
    assert_eq!(
        (r.status, r.code()),
        (503, "upstream_unavailable"),
        "{}",
        r.body
    );
    let r = h.post("/v1/tickets/T/escalate", Some(&t), json!({})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let flushes = h.requests(Some("flush")).await;
    assert_eq!(flushes.len(), 1, "no second flush while the first may land");
    tokio::time::sleep(Duration::from_millis(1_600)).await;
    let r = h.post("/v1/tickets/T/close", Some(&t), json!({})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let flushes = h.requests(Some("flush")).await;
    assert_eq!(flushes.len(), 2);
    assert!(flushes
        .iter()
        .all(|f| f["body"]["session_id"] == session.as_str()));
}

#[tokio::test]
async fn many_readiness_probes_at_once_check_everos_once() {
    let h = start_v2(60_000).await;
    let probes = (0..16).map(|_| h.get("/readyz", None));
    for r in futures::future::join_all(probes).await {
        assert_eq!(r.status, 200, "{}", r.body);
    }
    let health = h.requests(Some("health")).await;
    assert_eq!(health.len(), 1, "one /health for 16 probes: {health:?}");
}

#[tokio::test]
async fn an_escalation_does_not_flush_a_turn_of_unknown_outcome_out_of_sight() {
    let h = start_v2(300).await; // proxy EverOS timeout: 800 ms
    let t = h.verified("cust_v2_escalate_unknown").await;
    let session = open(&h, &t, "T", "Broken kettle").await;
    // EverOS stores the turn but its answer comes too late: the outcome is unknown.
    h.fault(json!({"route": "add", "delay_ms": 1200})).await;
    let lost = h.say(&t, "T", "m1", "my kettle sparks").await;
    assert_eq!(lost.status, 504, "{}", lost.body);
    // The customer asks for a human before retrying. A flush now would move the turn
    // out of the buffer the retry looks in, and the retry would add it again.
    let r = h.post("/v1/tickets/T/escalate", Some(&t), json!({})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    tokio::time::sleep(Duration::from_millis(400)).await; // past the settle window
    let retry = h.say(&t, "T", "m1", "my kettle sparks").await;
    assert_eq!(retry.status, 200, "{}", retry.body);
    assert_eq!(h.stored_adds_of("my kettle sparks").await, 1, "stored once");
    let r = h.post("/v1/tickets/T/close", Some(&t), json!({})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let flushes = h.requests(Some("flush")).await;
    assert!(flushes
        .iter()
        .all(|f| f["body"]["session_id"] == session.as_str()));
    assert_eq!(
        flushes.len(),
        1,
        "the close flushed what the escalation could not"
    );
}

#[tokio::test]
async fn a_failed_delete_is_answered_as_such_and_not_retried() {
    let h = start_v2(60_000).await;
    let t = h.verified("cust_v2_delete").await;
    open(&h, &t, "T", "Forget me").await;
    // The proxy has not yet looked whether EverOS can delete: it does so first (a GET on
    // the delete route), which must not take the fault meant for the delete itself.
    h.fault(json!({"route": "delete", "status": 503})).await;
    let r = h.delete("/v1/me", &t).await;
    assert_eq!(
        (r.status, r.code()),
        (503, "upstream_unavailable"),
        "{}",
        r.body
    );
    let deletes: Vec<Value> = h
        .requests(Some("delete"))
        .await
        .into_iter()
        .filter(|r| r["method"] == "POST")
        .collect();
    assert_eq!(deletes.len(), 1, "not retried: {deletes:?}");
    assert_eq!(h.delete("/v1/me", &t).await.status, 204);
}

/// A ticket's messages reuse what the first read of the customer's memory found (the
/// profile document; that a first-time customer has no episodes) instead of reading the
/// profile and searching on every message; the close's flush forgets it, so the next
/// ticket reads and searches again and finds the closed one.
#[tokio::test]
async fn a_customers_memory_is_read_once_per_ticket_and_again_after_a_flush() {
    let h = start_v2(1_500).await;
    let t = h.verified("cust_v2_known").await;
    open(&h, &t, "T1", "Invoice").await;
    for (id, text) in [
        ("m1", "I was charged twice"),
        ("m2", "for invoice 42"),
        ("m3", "any news?"),
    ] {
        assert_eq!(h.say(&t, "T1", id, text).await.status, 200);
    }
    let reads = |log: Vec<Value>, kind: &str| {
        log.iter()
            .filter(|r| r["body"]["memory_type"] == kind)
            .count()
    };
    let searches = |log: Vec<Value>| {
        log.iter()
            .filter(|r| r["body"]["filters"]["session_id"].is_null())
            .count()
    };
    assert_eq!(
        reads(h.requests(Some("get")).await, "profile"),
        1,
        "profile read once"
    );
    assert_eq!(
        searches(h.requests(Some("search")).await),
        1,
        "no episodes: searched once"
    );

    let r = h.post("/v1/tickets/T1/close", Some(&t), json!({})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    open(&h, &t, "T2", "Invoice again").await;
    let r = h.say(&t, "T2", "m4", "charged twice again").await;
    assert_eq!(r.status, 200);
    assert_eq!(
        searches(h.requests(Some("search")).await),
        2,
        "searched after the flush"
    );
    assert_eq!(
        reads(h.requests(Some("get")).await, "profile"),
        2,
        "profile re-read"
    );
    let history = r.body["context"]["history"].as_array().unwrap();
    assert!(
        history.iter().any(|e| e["summary"]
            .as_str()
            .is_some_and(|s| s.contains("charged twice"))),
        "the closed ticket is recalled: {history:?}"
    );
}
