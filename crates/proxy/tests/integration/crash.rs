//! A proxy killed outright (SIGKILL) while an EverOS add is on the wire: after a restart
//! on the same data dir (SQLite) or the same database (PostgreSQL) the client's retry
//! neither loses nor duplicates anything, because each add was saved as "outcome unknown"
//! before it was sent. Each case runs on EverOS v2 (the default) and on Cloud v1, and on
//! both backends (PostgreSQL when `EVERDESK_TEST_DATABASE_URL` is set). On PostgreSQL the
//! restarted proxy is a new replica: it answers 503 until the dead one's claim expires.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::common::{start_binary_with, test_database, Harness, Reply};

/// Sends a message without waiting for the answer (the proxy dies before it comes).
fn say_in_background(h: &Harness, token: &str, id: &str, content: &str) {
    let request = h
        .http
        .post(format!("{}/v1/tickets/T/messages", h.base))
        .bearer_auth(token)
        .json(&json!({"id": id, "content": content, "sent_at": 1}));
    tokio::spawn(async move { request.send().await });
}

/// The adds EverOS received (answered or still held) for one ticket's session.
async fn adds_of_session(h: &Harness, session: &str) -> Vec<Value> {
    h.requests(Some("add"))
        .await
        .into_iter()
        .filter(|r| r["body"]["session_id"] == session)
        .collect()
}

/// Waits until EverOS has received `n` adds for `session`.
async fn until_adds(h: &Harness, session: &str, n: usize) {
    for _ in 0..200 {
        if adds_of_session(h, session).await.len() >= n {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("EverOS never received {n} adds for {session}");
}

/// The backends a case runs on: SQLite (no options) and, when configured, PostgreSQL
/// with a short claim lease; only PostgreSQL when the whole suite runs there
/// (`EVERDESK_TEST_STORE=postgres`, which would put the SQLite case on it too).
async fn backends(test: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    if !crate::common::suite_on_postgres() {
        out.push(Vec::new());
    }
    if let Some(url) = test_database(test).await {
        out.push(
            ["--database-url", &url, "--ledger-lease-ms", "1500"]
                .map(str::to_owned)
                .to_vec(),
        );
    }
    out
}

/// The retry after the restart: at once on SQLite; on PostgreSQL again while the dead
/// proxy's claim holds (503 with `Retry-After`).
async fn retry_after_restart(
    h: &Harness,
    on_postgres: bool,
    token: &str,
    id: &str,
    content: &str,
) -> Reply {
    let started = Instant::now();
    loop {
        let r = h.say(token, "T", id, content).await;
        if !on_postgres || r.status != 503 || started.elapsed() > Duration::from_secs(20) {
            return r;
        }
        assert!(r.headers.contains_key("retry-after"), "{}", r.body);
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

/// Opens ticket `T`; returns its EverOS session.
async fn open_ticket(h: &Harness, token: &str) -> String {
    let created = h.ticket(token, "T", "Parcel").await;
    assert_eq!(created.status, 201, "{}", created.body);
    created.body["ticket"]["session_id"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn killed_during_the_customer_turn_add_the_retry_checks_instead_of_re_adding() {
    for api in ["v2", "v1"] {
        // A fresh database schema per run: the same customer and ticket each time.
        for extra in backends("killed_during_the_customer_turn_add").await {
            killed_during_the_customer_turn_add(api, &extra).await;
        }
    }
}

async fn killed_during_the_customer_turn_add(api: &'static str, extra: &[String]) {
    let dir = tempfile::tempdir().unwrap();
    let more: Vec<&str> = extra.iter().map(String::as_str).collect();
    let mut h = start_binary_with(dir.path(), api, &more).await;
    let pg = !extra.is_empty();
    let t = h.verified("cust_killed_user").await;
    let session = open_ticket(&h, &t).await;
    let opening = adds_of_session(&h, &session).await.len();
    // EverOS stores the customer turn, then holds its answer back.
    h.fault(json!({"route": "add", "delay_ms": 5000})).await;
    say_in_background(&h, &t, "kill-u1", "my parcel never arrived");
    until_adds(&h, &session, opening + 1).await;

    h.kill_and_restart().await;

    let retry = retry_after_restart(&h, pg, &t, "kill-u1", "my parcel never arrived").await;
    assert_eq!(retry.status, 200, "{}", retry.body);
    assert_eq!(
        h.stored_adds_of("my parcel never arrived").await,
        1,
        "{api}: the turn the killed proxy sent is not sent again"
    );
    assert_eq!(
        h.raw_message_checks().await,
        1,
        "{api}: found by the buffered-message check"
    );
    let again = h.say(&t, "T", "kill-u1", "my parcel never arrived").await;
    assert_eq!(again.body, retry.body);
}

#[tokio::test]
async fn killed_during_the_reply_add_the_retry_returns_that_reply_without_re_adding() {
    for api in ["v2", "v1"] {
        // A fresh database schema per run: the same customer and ticket each time.
        for extra in backends("killed_during_the_reply_add").await {
            killed_during_the_reply_add(api, &extra).await;
        }
    }
}

async fn killed_during_the_reply_add(api: &'static str, extra: &[String]) {
    let dir = tempfile::tempdir().unwrap();
    let more: Vec<&str> = extra.iter().map(String::as_str).collect();
    let mut h = start_binary_with(dir.path(), api, &more).await;
    let pg = !extra.is_empty();
    let t = h.verified("cust_killed_reply").await;
    let session = open_ticket(&h, &t).await;
    let opening = adds_of_session(&h, &session).await.len();
    // The customer turn goes through; EverOS stores the reply, then holds its answer back.
    h.fault(json!({"route": "add", "delay_ms": 0})).await;
    h.fault(json!({"route": "add", "delay_ms": 5000})).await;
    say_in_background(&h, &t, "kill-r1", "where is my parcel");
    until_adds(&h, &session, opening + 2).await;

    h.kill_and_restart().await;

    let retry = retry_after_restart(&h, pg, &t, "kill-r1", "where is my parcel").await;
    assert_eq!(retry.status, 200, "{}", retry.body);
    let adds = adds_of_session(&h, &session).await;
    assert_eq!(adds.len(), opening + 2, "{api}: no add after the restart");
    let stored_reply = &adds[opening + 1]["body"]["messages"][0];
    assert_eq!(stored_reply["role"], "assistant");
    assert_eq!(
        retry.body["reply"]["content"], stored_reply["content"],
        "the reply EverOS has is the one the customer gets"
    );
    assert_eq!(h.stored_adds_of("where is my parcel").await, 1);
}
