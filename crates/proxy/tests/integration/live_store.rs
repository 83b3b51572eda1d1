//! Conversations and live events kept in the database: the customer's stream, resumed
//! with `Last-Event-ID` after the proxy was killed and started again, gets exactly what it
//! missed; a second device reads the same tickets and transcript after the restart. Two
//! replicas on one PostgreSQL (skipped, with a notice, when `EVERDESK_TEST_DATABASE_URL`
//! is unset): the customer's stream is served by B while the agent claims and replies
//! through A (the delivery time is printed), two agents claiming one ticket through A and
//! B at once — exactly one wins — and B's queue lists a ticket escalated on A.

use std::time::{Duration, Instant};

use everdesk_proxy::identity::jwt;
use futures::StreamExt;
use serde_json::{json, Value};

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

/// An open SSE stream and what has been read of it.
struct Sse {
    body: std::pin::Pin<Box<dyn futures::Stream<Item = reqwest::Result<bytes::Bytes>> + Send>>,
    buf: String,
}

impl Sse {
    async fn open(h: &Harness, base: &str, path: &str, token: &str, last: Option<i64>) -> Self {
        let mut req = h
            .http
            .get(format!("{base}{path}"))
            .bearer_auth(token)
            .header("accept", "text/event-stream");
        if let Some(last) = last {
            req = req.header("last-event-id", last.to_string());
        }
        let resp = req.send().await.unwrap();
        assert_eq!(resp.status(), 200);
        Self {
            body: Box::pin(resp.bytes_stream()),
            buf: String::new(),
        }
    }

    /// The next event's (type, data); `None` when nothing came within `wait`.
    async fn next(&mut self, wait: Duration) -> Option<(String, Value)> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            if let Some(end) = self.buf.find("\n\n") {
                let frame: String = self.buf.drain(..end + 2).collect();
                let mut kind = String::new();
                let mut data = String::new();
                for line in frame.lines() {
                    if let Some(v) = line.strip_prefix("event:") {
                        kind = v.trim().to_owned();
                    } else if let Some(v) = line.strip_prefix("data:") {
                        data.push_str(v.trim());
                    }
                }
                if kind.is_empty() {
                    continue; // a keep-alive comment
                }
                return Some((kind, serde_json::from_str(&data).unwrap()));
            }
            let chunk = tokio::time::timeout_at(deadline, self.body.next())
                .await
                .ok()??;
            self.buf.push_str(&String::from_utf8_lossy(&chunk.unwrap()));
        }
    }

    /// The next event of type `kind`, skipping others.
    async fn next_of(&mut self, kind: &str) -> Value {
        loop {
            match self.next(Duration::from_secs(10)).await {
                Some((k, v)) if k == kind => return v,
                Some(_) => continue,
                None => panic!("no {kind} event within 10 s"),
            }
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

    let mut stream = Sse::open(&h, &base, "/v1/events", &dana, None).await;
    assert_eq!(reply(&h, base.clone(), "a-1").await, 200);
    let seen = stream.next_of("message").await;
    assert_eq!(seen["message"]["id"], "agent_a-1");
    let last = seen["seq"].as_i64().unwrap();
    drop(stream);
    // Missed while away: one reply before the proxy dies (SIGKILL), one after.
    assert_eq!(reply(&h, base.clone(), "a-2").await, 200);
    h.kill_and_restart().await;
    let base = h.base.clone();
    assert_eq!(reply(&h, base.clone(), "a-3").await, 200);

    let mut resumed = Sse::open(&h, &base, "/v1/events", &dana, Some(last)).await;
    let mut got = Vec::new();
    while let Some((kind, v)) = resumed.next(Duration::from_millis(1500)).await {
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
    let mut stream = Sse::open(&h, &b.base, "/v1/events", &dana, None).await;
    let claim = format!("/v1/agent/tickets/{sid}/claim");
    assert_eq!(post_at(&h, &a, &claim, &ann, json!({})).await.status, 200);
    assert_eq!(stream.next_of("claimed").await["agent"]["name"], "Ann");
    let typing = format!("/v1/agent/tickets/{sid}/typing");
    assert_eq!(post_at(&h, &a, &typing, &ann, json!({})).await.status, 204);
    stream.next_of("typing").await;
    let sent = Instant::now();
    let path = format!("/v1/agent/tickets/{sid}/messages");
    let body = json!({"id": "a-1", "content": "Hi Dana, Ann here"});
    let (r, live) = tokio::join!(post_at(&h, &a, &path, &ann, body), async {
        let v = stream.next_of("message").await;
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
    let mut on_a = Sse::open(&h, &a, "/v1/events", &dana, Some(seq)).await;
    let body = json!({"id": "a-2", "content": "Did that help?"});
    assert_eq!(post_at(&h, &a, &path, &ann, body).await.status, 200);
    let next = on_a.next_of("message").await;
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
