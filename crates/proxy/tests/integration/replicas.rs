//! Two proxy replicas (the binary, twice) on one PostgreSQL database and one EverOS: a
//! ticket made on A is read and closed on B; a retry landing on B while A is mid-add
//! waits, then gets 503 with `Retry-After`, and never adds twice; A killed (SIGKILL)
//! mid-add: B takes over once A's claim expires and resolves the message as one proxy
//! would; a customer's rate limit holds across both, not twice over; the same create sent
//! to both at once opens the ticket once and adds its opening line to EverOS once, and
//! one sent to B while A is mid-add waits, then gets 503, and never shows half-made. Skipped, with a notice, when `EVERDESK_TEST_DATABASE_URL` is unset.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::common::{start_replicas, test_database, Harness, ReplicaB, Reply};

/// Two replicas on a fresh schema of the test database, or `None` (with a notice).
async fn replicas(test: &str, root: &std::path::Path) -> Option<(Harness, ReplicaB)> {
    replicas_with(test, root, &[]).await
}

/// As [`replicas`], with more options for both.
async fn replicas_with(
    test: &str,
    root: &std::path::Path,
    more: &[&str],
) -> Option<(Harness, ReplicaB)> {
    let url = test_database(test).await?;
    Some(start_replicas(root, &url, more).await)
}

async fn post_to(h: &Harness, base: &str, path: &str, token: &str, body: Value) -> Reply {
    let resp = h
        .http
        .post(format!("{base}{path}"))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let body = resp.json().await.unwrap_or(Value::Null);
    Reply {
        status,
        headers,
        body,
    }
}

async fn say_to(h: &Harness, base: &str, token: &str, id: &str, content: &str) -> Reply {
    let body = json!({"id": id, "content": content, "sent_at": 1});
    post_to(h, base, "/v1/tickets/T/messages", token, body).await
}

/// Sends a message to A without waiting for the answer.
fn say_in_background(
    h: &Harness,
    token: &str,
    id: &str,
    content: &str,
) -> tokio::task::JoinHandle<Value> {
    let request = h
        .http
        .post(format!("{}/v1/tickets/T/messages", h.base))
        .bearer_auth(token)
        .json(&json!({"id": id, "content": content, "sent_at": 1}));
    tokio::spawn(async move {
        match request.send().await {
            Ok(r) => r.json().await.unwrap_or(Value::Null),
            Err(_) => Value::Null,
        }
    })
}

/// Waits until EverOS has received an add holding `content`.
async fn until_added(h: &Harness, content: &str) {
    for _ in 0..200 {
        let adds = h.requests(Some("add")).await;
        if adds
            .iter()
            .any(|r| r["body"]["messages"][0]["content"] == content)
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("EverOS never received the add of {content:?}");
}

#[tokio::test]
async fn a_ticket_made_on_a_is_used_and_closed_on_b() {
    let dir = tempfile::tempdir().unwrap();
    let Some((h, b)) = replicas("a_ticket_made_on_a_is_used_and_closed_on_b", dir.path()).await
    else {
        return;
    };
    let t = h.verified("cust_replicas").await;
    assert_eq!(h.ticket(&t, "T", "Parcel").await.status, 201);
    // A repeat create on B is the same ticket, not a new one.
    let again = post_to(
        &h,
        &b.base,
        "/v1/tickets",
        &t,
        json!({"ticket_id": "T", "subject": "Parcel"}),
    )
    .await;
    assert_eq!(again.status, 200, "{}", again.body);
    let said = say_to(&h, &b.base, &t, "m1", "where is my parcel").await;
    assert_eq!(said.status, 200, "{}", said.body);
    // The same message id on A is answered from the shared ledger.
    let replay = h.say(&t, "T", "m1", "where is my parcel").await;
    assert_eq!(replay.body, said.body);
    assert_eq!(h.stored_adds_of("where is my parcel").await, 1);
    let closed = post_to(&h, &b.base, "/v1/tickets/T/close", &t, json!({"rating": 5})).await;
    assert_eq!(closed.status, 200, "{}", closed.body);
    let late = h.say(&t, "T", "m2", "one more thing").await;
    assert_eq!(
        (late.status, late.code()),
        (409, "conflict"),
        "closed on B, so on A"
    );
}

#[tokio::test]
async fn a_retry_on_b_while_a_is_mid_add_waits_and_never_adds_twice() {
    let dir = tempfile::tempdir().unwrap();
    let Some((h, b)) = replicas(
        "a_retry_on_b_while_a_is_mid_add_waits_and_never_adds_twice",
        dir.path(),
    )
    .await
    else {
        return;
    };
    let t = h.verified("cust_mid_add").await;
    assert_eq!(h.ticket(&t, "T", "Parcel").await.status, 201);
    // EverOS stores the customer turn, then holds A's answer back for 5 s.
    h.fault(json!({"route": "add", "delay_ms": 5000})).await;
    let on_a = say_in_background(&h, &t, "mid-1", "my parcel is late");
    until_added(&h, "my parcel is late").await;

    let started = Instant::now();
    let busy = say_to(&h, &b.base, &t, "mid-1", "my parcel is late").await;
    assert_eq!(
        (busy.status, busy.code()),
        (503, "upstream_unavailable"),
        "{}",
        busy.body
    );
    assert!(busy.headers.contains_key("retry-after"));
    assert!(
        started.elapsed() >= Duration::from_secs(2),
        "B waited for A first"
    );

    let answered = on_a.await.unwrap();
    assert_eq!(answered["message"]["id"], "mid-1", "{answered}");
    let retry = say_to(&h, &b.base, &t, "mid-1", "my parcel is late").await;
    assert_eq!(retry.status, 200, "{}", retry.body);
    assert_eq!(retry.body, answered, "B answers what A answered");
    assert_eq!(h.stored_adds_of("my parcel is late").await, 1);
}

#[tokio::test]
async fn a_killed_mid_add_is_resolved_by_b_once_its_claim_expires() {
    let dir = tempfile::tempdir().unwrap();
    let Some((mut h, b)) = replicas(
        "a_killed_mid_add_is_resolved_by_b_once_its_claim_expires",
        dir.path(),
    )
    .await
    else {
        return;
    };
    let t = h.verified("cust_killed_a").await;
    assert_eq!(h.ticket(&t, "T", "Parcel").await.status, 201);
    h.fault(json!({"route": "add", "delay_ms": 5000})).await;
    let _on_a = say_in_background(&h, &t, "kill-1", "my parcel never arrived");
    until_added(&h, "my parcel never arrived").await;

    h.kill();

    // B answers 503 + Retry-After while A's claim holds, then resolves the message.
    let started = Instant::now();
    let mut answered = None;
    while started.elapsed() < Duration::from_secs(40) {
        let r = say_to(&h, &b.base, &t, "kill-1", "my parcel never arrived").await;
        match r.status {
            200 => {
                answered = Some(r);
                break;
            }
            503 => {
                assert!(r.headers.contains_key("retry-after"), "{}", r.body);
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            other => panic!("{other}: {}", r.body),
        }
    }
    let answered = answered.expect("B resolved the message after A's claim expired");
    assert_eq!(
        answered.body["message"]["content"],
        "my parcel never arrived"
    );
    assert_eq!(
        h.stored_adds_of("my parcel never arrived").await,
        1,
        "the turn A sent is found by B, not sent again"
    );
    assert_eq!(
        h.raw_message_checks().await,
        1,
        "found by the buffered-message check"
    );
}

#[tokio::test]
async fn a_customers_rate_limit_holds_across_replicas() {
    let dir = tempfile::tempdir().unwrap();
    let limits = ["--rate-customer-per-min", "1", "--rate-customer-burst", "4"];
    let Some((h, b)) = replicas_with(
        "a_customers_rate_limit_holds_across_replicas",
        dir.path(),
        &limits,
    )
    .await
    else {
        return;
    };
    let t = h.verified("cust_limited").await;
    assert_eq!(h.ticket(&t, "T", "Parcel").await.status, 201);
    let create = json!({"ticket_id": "T", "subject": "Parcel"});
    let mut statuses = Vec::new();
    for i in 0..6 {
        let base = if i % 2 == 0 { &b.base } else { &h.base };
        statuses.push(
            post_to(&h, base, "/v1/tickets", &t, create.clone())
                .await
                .status,
        );
    }
    assert_eq!(
        statuses,
        [200, 200, 200, 429, 429, 429],
        "one bucket of 4 for both"
    );
}

/// A forget-me handled by B while A is adding the customer's message: B fences first (no
/// new work starts anywhere), waits for A's message to finish, then deletes — so nothing
/// A adds lands after the delete — and the identity is over on both replicas.
#[tokio::test]
async fn a_forget_on_b_fences_a() {
    let dir = tempfile::tempdir().unwrap();
    let Some((h, b)) = replicas("a_forget_on_b_fences_a", dir.path()).await else {
        return;
    };
    let customer = "cust_forget_fence";
    let t = h.verified(customer).await;
    assert_eq!(h.ticket(&t, "T", "Account").await.status, 201);
    // EverOS stores the customer turn, then holds A's answer back for 3 s.
    h.fault(json!({"route": "add", "delay_ms": 3000})).await;
    let on_a = say_in_background(&h, &t, "f-1", "please forget my address");
    until_added(&h, "please forget my address").await;

    let forgot = h
        .http
        .delete(format!("{}/v1/me", b.base))
        .bearer_auth(&t)
        .send()
        .await
        .unwrap();
    assert_eq!(forgot.status(), 204);
    let _ = on_a.await;
    let log = h.requests(None).await;
    let delete_seq = log
        .iter()
        .filter(|r| r["route"] == "delete")
        .filter_map(|r| r["seq"].as_u64())
        .max()
        .expect("EverOS got the delete");
    let late_adds: Vec<&Value> = log
        .iter()
        .filter(|r| r["route"] == "add")
        .filter(|r| crate::common::user_of(r).as_deref() == Some(customer))
        .filter(|r| r["seq"].as_u64().unwrap_or(0) > delete_seq)
        .collect();
    assert!(
        late_adds.is_empty(),
        "added after the forget: {late_adds:?}"
    );

    // The identity is over on both replicas.
    for base in [&h.base, &b.base] {
        let r = h
            .http
            .get(format!("{base}/v1/history"))
            .bearer_auth(&t)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401, "{base}");
    }
    let r = say_to(&h, &b.base, &t, "f-2", "still there?").await;
    assert_eq!(r.status, 401);
}

#[tokio::test]
async fn the_same_create_on_a_and_b_at_once_adds_its_opening_line_once() {
    let dir = tempfile::tempdir().unwrap();
    let Some((h, b)) = replicas(
        "the_same_create_on_a_and_b_at_once_adds_its_opening_line_once",
        dir.path(),
    )
    .await
    else {
        return;
    };
    let t = h.verified("cust_create_race").await;
    for round in 0..10 {
        let id = format!("R{round}");
        let subject = format!("Race {round}");
        let body = json!({"ticket_id": id, "subject": subject});
        let (on_a, on_b) = tokio::join!(
            post_to(&h, &h.base, "/v1/tickets", &t, body.clone()),
            post_to(&h, &b.base, "/v1/tickets", &t, body),
        );
        let mut statuses = [on_a.status, on_b.status];
        statuses.sort_unstable();
        assert_eq!(
            statuses,
            [200, 201],
            "one creates, the other repeats: {} / {}",
            on_a.body,
            on_b.body
        );
        assert_eq!(on_a.body["ticket"], on_b.body["ticket"], "the same ticket");
        assert_eq!(on_a.body["ticket"]["id"], id.as_str());
        assert_eq!(
            h.stored_adds_of(&format!("Ticket opened: {subject}")).await,
            1,
            "round {round}: one opening line in EverOS"
        );
    }
}

#[tokio::test]
async fn a_create_on_b_while_a_is_mid_add_waits_then_answers_a_s_ticket() {
    let dir = tempfile::tempdir().unwrap();
    let Some((h, b)) = replicas(
        "a_create_on_b_while_a_is_mid_add_waits_then_answers_a_s_ticket",
        dir.path(),
    )
    .await
    else {
        return;
    };
    let t = h.verified("cust_slow_create").await;
    // EverOS stores A's opening line, then holds its answer back for 5 s.
    h.fault(json!({"route": "add", "delay_ms": 5000})).await;
    let body = json!({"ticket_id": "S", "subject": "Slow"});
    let on_a = {
        let request = h
            .http
            .post(format!("{}/v1/tickets", h.base))
            .bearer_auth(&t)
            .json(&body);
        tokio::spawn(async move {
            let r = request.send().await.unwrap();
            (r.status().as_u16(), r.json::<Value>().await.unwrap())
        })
    };
    until_added(&h, "Ticket opened: Slow").await;

    let started = Instant::now();
    let busy = post_to(&h, &b.base, "/v1/tickets", &t, body.clone()).await;
    assert_eq!(busy.status, 503, "{}", busy.body);
    assert!(busy.headers.contains_key("retry-after"));
    assert!(
        started.elapsed() >= Duration::from_secs(2),
        "B waited for A first"
    );
    let listed = h.get("/v1/tickets", Some(&t)).await;
    assert_eq!(listed.status, 200, "{}", listed.body);
    assert!(
        !listed.body.to_string().contains("\"S\""),
        "no half-created ticket is listed: {}",
        listed.body
    );

    let (status, made) = on_a.await.unwrap();
    assert_eq!(status, 201, "{made}");
    let again = post_to(&h, &b.base, "/v1/tickets", &t, body).await;
    assert_eq!(again.status, 200, "{}", again.body);
    assert_eq!(again.body["ticket"], made["ticket"]);
    assert_eq!(h.stored_adds_of("Ticket opened: Slow").await, 1);
}
