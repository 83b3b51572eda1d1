//! Conversations and live events kept in the database: the customer's stream, resumed
//! with `Last-Event-ID` after the proxy was killed and started again, gets exactly what it
//! missed; a second device reads the same tickets and transcript after the restart. Two
//! replicas on one PostgreSQL (skipped, with a notice, when `EVERDESK_TEST_DATABASE_URL`
//! is unset): the customer's stream is served by B while the agent claims and replies
//! through A (the delivery time is printed), two agents claiming one ticket through A and
//! B at once — exactly one wins — and B's queue lists a ticket escalated on A.

use std::time::{Duration, Instant};

use everdesk_proxy::identity::jwt;
use serde_json::{json, Value};

use crate::agents::Stream;
use crate::common::{start_binary_with, start_replicas, test_database, Harness, Reply, SECRET};

fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

async fn send(h: &Harness, req: reqwest::RequestBuilder) -> Reply {
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let body = resp.json().await.unwrap_or(Value::Null);
    let _ = h;
    Reply {
        status,
        headers,
        body,
    }
}

async fn post_at(h: &Harness, base: &str, path: &str, token: &str, body: Value) -> Reply {
    let req = h
        .http
        .post(format!("{base}{path}"))
        .bearer_auth(token)
        .json(&body);
    send(h, req).await
}

async fn get_at(h: &Harness, base: &str, path: &str, token: &str) -> Reply {
    send(h, h.http.get(format!("{base}{path}")).bearer_auth(token)).await
}

/// Signs in an agent (host-minted JWT) at `base`; returns the agent token.
async fn agent_at(h: &Harness, base: &str, sub: &str, name: &str) -> String {
    let token = jwt::sign(
        SECRET.as_bytes(),
        &json!({"sub": sub, "name": name, "role": "agent", "exp": now_secs() + 600}),
    );
    let req = h
        .http
        .post(format!("{base}/v1/agent/session"))
        .json(&json!({"jwt": token}));
    let r = send(h, req).await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body["token"].as_str().unwrap().to_owned()
}

/// The next event of type `kind` on `stream`, skipping others.
async fn next_of(stream: &mut Stream, kind: &str) -> Value {
    loop {
        match stream.next(10).await {
            Some((k, v)) if k == kind => return v,
            Some(_) => continue,
            None => panic!("no {kind} event within 10 s"),
        }
    }
}

/// The session id of `customer`'s ticket in `base`'s agent queue.
async fn queued(h: &Harness, base: &str, agent: &str, customer: &str) -> Option<Value> {
    let q = get_at(h, base, "/v1/agent/queue", agent).await;
    assert_eq!(q.status, 200, "{}", q.body);
    q.body["tickets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["customer"]["id"] == customer)
        .cloned()
}

fn session_of(item: &Value) -> String {
    item["ticket"]["session_id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn the_stream_resumes_after_a_restart_without_losing_or_repeating() {
    let dir = tempfile::tempdir().unwrap();
    let mut h = start_binary_with(dir.path(), "v2", &[]).await;
    let dana = h.verified("cust_restart").await;
    assert_eq!(h.ticket(&dana, "T-1", "Router reboots").await.status, 201);
    assert_eq!(h.say(&dana, "T-1", "m-1", "It reboots").await.status, 200);
    let base = h.base.clone();
    let esc = post_at(&h, &base, "/v1/tickets/T-1/escalate", &dana, json!({})).await;
    assert_eq!(esc.status, 200, "{}", esc.body);
    let ann = agent_at(&h, &base, "ann", "Ann").await;
    let sid = session_of(&queued(&h, &base, &ann, "cust_restart").await.unwrap());
    let claim = format!("/v1/agent/tickets/{sid}/claim");
    assert_eq!(
        post_at(&h, &base, &claim, &ann, json!({})).await.status,
        200
    );
    let reply = |h: &Harness, base: String, id: &'static str| {
        let path = format!("/v1/agent/tickets/{sid}/messages");
        let token = ann.clone();
        let body = json!({"id": id, "content": format!("reply {id}")});
        let req = h
            .http
            .post(format!("{base}{path}"))
            .bearer_auth(token)
            .json(&body);
        async move { req.send().await.unwrap().status().as_u16() }
    };

    let mut stream = Stream::open_at(&h, &base, "/v1/events", &dana, None).await;
    assert_eq!(reply(&h, base.clone(), "a-1").await, 200);
    let seen = next_of(&mut stream, "message").await;
    assert_eq!(seen["message"]["id"], "agent_a-1");
    let last = seen["seq"].as_i64().unwrap();
    drop(stream);
    // Missed while away: one reply before the proxy dies (SIGKILL), one after.
    assert_eq!(reply(&h, base.clone(), "a-2").await, 200);
    h.kill_and_restart().await;
    let base = h.base.clone();
    assert_eq!(reply(&h, base.clone(), "a-3").await, 200);

    let mut resumed = Stream::open_at(&h, &base, "/v1/events", &dana, Some(last)).await;
    let mut got = Vec::new();
    while let Some((kind, v)) = resumed.next_within(Duration::from_millis(1500)).await {
        got.push((kind, v["message"]["id"].clone(), v["seq"].as_i64().unwrap()));
    }
    let ids: Vec<(&str, &str)> = got
        .iter()
        .map(|(k, id, _)| (k.as_str(), id.as_str().unwrap_or("")))
        .collect();
    assert_eq!(
        ids,
        [("message", "agent_a-2"), ("message", "agent_a-3")],
        "exactly what was missed, once"
    );
    assert!(got[0].2 > last && got[1].2 > got[0].2, "in order: {got:?}");

    // A second device (a new session of the same verified customer) after the restart.
    let second = h.verified("cust_restart").await;
    let list = h.get("/v1/tickets", Some(&second)).await;
    assert_eq!(list.status, 200, "{}", list.body);
    let t = &list.body["tickets"][0];
    assert_eq!(
        (t["ticket"]["id"].as_str(), t["state"].as_str()),
        (Some("T-1"), Some("escalated"))
    );
    assert_eq!(t["agent"]["name"], "Ann", "{}", list.body);
    let page = h.get("/v1/tickets/T-1/transcript", Some(&second)).await;
    let authors: Vec<(&str, &str)> = page.body["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["author"].as_str().unwrap(),
                m["content"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(authors.len(), 6, "{}", page.body);
    assert_eq!(authors[1], ("customer", "It reboots"));
    assert_eq!(
        authors[3..],
        [
            ("agent", "reply a-1"),
            ("agent", "reply a-2"),
            ("agent", "reply a-3")
        ]
    );
    // The claim survived the restart too: another agent cannot take the ticket.
    let bob = agent_at(&h, &base, "bob", "Bob").await;
    let r = post_at(
        &h,
        &base,
        &format!("/v1/agent/tickets/{sid}/claim"),
        &bob,
        json!({}),
    )
    .await;
    assert_eq!((r.status, r.code()), (409, "conflict"));
}

#[tokio::test]
async fn with_two_replicas_the_reply_through_a_reaches_the_stream_on_b() {
    let root = tempfile::tempdir().unwrap();
    let Some(url) = test_database("with_two_replicas_the_reply_reaches_b").await else {
        return;
    };
    let (h, b) = start_replicas(root.path(), &url, &[]).await;
    let a = h.base.clone();
    let dana = h.verified("cust_two_replicas").await;
    assert_eq!(h.ticket(&dana, "T-1", "Router reboots").await.status, 201);
    assert_eq!(h.say(&dana, "T-1", "m-1", "It reboots").await.status, 200);
    let esc = post_at(&h, &a, "/v1/tickets/T-1/escalate", &dana, json!({})).await;
    assert_eq!(esc.status, 200, "{}", esc.body);

    // B's queue lists the ticket escalated on A.
    let ann = agent_at(&h, &a, "ann", "Ann").await;
    let bob = agent_at(&h, &b.base, "bob", "Bob").await;
    let item = queued(&h, &b.base, &bob, "cust_two_replicas").await;
    let item = item.expect("B's queue lists the ticket escalated on A");
    assert_eq!(item["state"], "escalated");
    let sid = session_of(&item);

    // The customer's stream is served by B; Ann claims and replies through A.
    let mut stream = Stream::open_at(&h, &b.base, "/v1/events", &dana, None).await;
    let claim = format!("/v1/agent/tickets/{sid}/claim");
    assert_eq!(post_at(&h, &a, &claim, &ann, json!({})).await.status, 200);
    assert_eq!(
        next_of(&mut stream, "claimed").await["agent"]["name"],
        "Ann"
    );
    let typing = format!("/v1/agent/tickets/{sid}/typing");
    assert_eq!(post_at(&h, &a, &typing, &ann, json!({})).await.status, 204);
    next_of(&mut stream, "typing").await;
    let sent = Instant::now();
    let path = format!("/v1/agent/tickets/{sid}/messages");
    let body = json!({"id": "a-1", "content": "Hi Dana, Ann here"});
    let (r, live) = tokio::join!(post_at(&h, &a, &path, &ann, body), async {
        let v = next_of(&mut stream, "message").await;
        (v, sent.elapsed())
    });
    assert_eq!(r.status, 200, "{}", r.body);
    let (event, delivered) = live;
    assert_eq!(event["message"]["content"], "Hi Dana, Ann here");
    println!(
        "MEASURED: an agent reply through replica A reached the customer's stream on \
         replica B {} ms after the request was sent",
        delivered.as_millis()
    );
    // Resuming on A from B's event: the next reply through A, nothing repeated.
    let seq = event["seq"].as_i64().unwrap();
    drop(stream);
    let mut on_a = Stream::open_at(&h, &a, "/v1/events", &dana, Some(seq)).await;
    let body = json!({"id": "a-2", "content": "Did that help?"});
    assert_eq!(post_at(&h, &a, &path, &ann, body).await.status, 200);
    let next = next_of(&mut on_a, "message").await;
    assert_eq!(next["message"]["content"], "Did that help?");
    assert!(next["seq"].as_i64().unwrap() > seq);

    // Two agents claim one ticket through A and B at once: exactly one wins, each time.
    for i in 0..5 {
        let cust = format!("cust_race_{i}");
        let token = h.verified(&cust).await;
        assert_eq!(h.ticket(&token, "T-1", "Race").await.status, 201);
        let item = queued(&h, &b.base, &bob, &cust).await.unwrap();
        let claim = format!("/v1/agent/tickets/{}/claim", session_of(&item));
        let (x, y) = tokio::join!(
            post_at(&h, &a, &claim, &ann, json!({})),
            post_at(&h, &b.base, &claim, &bob, json!({}))
        );
        let mut statuses = [x.status, y.status];
        statuses.sort_unstable();
        assert_eq!(statuses, [200, 409], "{} / {}", x.body, y.body);
        let winner = if x.status == 200 { "Ann" } else { "Bob" };
        let seen = queued(&h, &a, &ann, &cust).await.unwrap();
        assert_eq!(seen["claimed_by"]["name"], winner);
    }
}
