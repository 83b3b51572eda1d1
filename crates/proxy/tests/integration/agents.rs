//! People who answer: agents sign in (JWT with `role: "agent"`, or the API key), see the
//! queue across customers, claim (one agent per ticket), reply and close; the customer
//! sees the reply live on the event stream, which resumes without losing or repeating;
//! a verified customer's second device reads the same tickets and transcript; customer
//! and agent tokens never cross routes.

use std::time::Duration;

use everdesk_proxy::identity::jwt;
use futures::StreamExt;
use serde_json::{json, Value};

use crate::common::{start_with, Harness, Reply, SECRET};

const AGENT_KEY: &str = "integration-key-0123456789abcdef";

fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

pub(crate) async fn harness() -> Harness {
    start_with(|c| {
        c.everos_api = "v2".into();
        c.agent_api_key = Some(AGENT_KEY.into());
    })
    .await
}

/// Signs in an agent with a host-minted JWT; returns the agent token.
pub(crate) async fn agent(h: &Harness, sub: &str, name: &str) -> String {
    let token = jwt::sign(
        SECRET.as_bytes(),
        &json!({"sub": sub, "name": name, "role": "agent", "exp": now_secs() + 600}),
    );
    let r = h
        .post("/v1/agent/session", None, json!({"jwt": token}))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["agent"], json!({"id": sub, "name": name}));
    r.body["token"].as_str().unwrap().to_owned()
}

/// Claims the ticket with this session id for the agent `token`.
pub(crate) async fn claim(h: &Harness, sid: &str, token: &str) -> Reply {
    h.post(
        &format!("/v1/agent/tickets/{sid}/claim"),
        Some(token),
        json!({}),
    )
    .await
}

/// Who wrote each message of the ticket's transcript, as the agent `token` reads it.
pub(crate) async fn transcript_authors(h: &Harness, sid: &str, token: &str) -> Vec<String> {
    let one = h
        .get(&format!("/v1/agent/tickets/{sid}"), Some(token))
        .await;
    assert_eq!(one.status, 200, "{}", one.body);
    one.body["transcript"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["author"].as_str().unwrap().to_owned())
        .collect()
}

/// An open SSE stream and what has been read of it.
pub(crate) struct Stream {
    body: std::pin::Pin<Box<dyn futures::Stream<Item = reqwest::Result<bytes::Bytes>> + Send>>,
    buf: String,
}

impl Stream {
    pub(crate) async fn open(h: &Harness, path: &str, token: &str, last: Option<i64>) -> Self {
        Self::open_at(h, &h.base, path, token, last).await
    }

    /// As [`Stream::open`], on the proxy at `base` (another replica).
    pub(crate) async fn open_at(
        h: &Harness,
        base: &str,
        path: &str,
        token: &str,
        last: Option<i64>,
    ) -> Self {
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

    /// The next event's (type, data); `None` when nothing came within `secs`.
    pub(crate) async fn next(&mut self, secs: u64) -> Option<(String, Value)> {
        self.next_within(Duration::from_secs(secs)).await
    }

    /// The next event's (type, data); `None` when nothing came within `wait`.
    pub(crate) async fn next_within(&mut self, wait: Duration) -> Option<(String, Value)> {
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
    pub(crate) async fn next_of(&mut self, kind: &str) -> Value {
        loop {
            match self.next(10).await {
                Some((k, v)) if k == kind => return v,
                Some(_) => continue,
                None => panic!("no {kind} event within 10 s"),
            }
        }
    }
}

#[tokio::test]
async fn customer_and_agent_tokens_never_cross_routes() {
    let h = harness().await;
    let customer = h.verified("cust_cross").await;
    let ann = agent(&h, "ann", "Ann").await;
    // An agent token is no customer session, and a customer token no agent's.
    for path in ["/v1/history", "/v1/profile", "/v1/tickets"] {
        assert_eq!(h.get(path, Some(&ann)).await.status, 401, "{path}");
    }
    assert_eq!(h.ticket(&ann, "T-1", "x").await.status, 401);
    for path in ["/v1/agent/queue", "/v1/agent/events"] {
        assert_eq!(h.get(path, Some(&customer)).await.status, 401, "{path}");
    }
    // A host JWT with a role cannot open a customer session; one without cannot sign in an agent.
    let agent_jwt = jwt::sign(
        SECRET.as_bytes(),
        &json!({"sub": "ann", "role": "agent", "exp": now_secs() + 60}),
    );
    let r = h.post("/v1/session", None, json!({"jwt": agent_jwt})).await;
    assert_eq!(
        (r.status, r.code()),
        (401, "invalid_identity"),
        "{}",
        r.body
    );
    let customer_jwt = jwt::sign(
        SECRET.as_bytes(),
        &json!({"sub": "cust_x", "exp": now_secs() + 60}),
    );
    let r = h
        .post("/v1/agent/session", None, json!({"jwt": customer_jwt}))
        .await;
    assert_eq!(
        (r.status, r.code()),
        (401, "invalid_identity"),
        "{}",
        r.body
    );
    // Integrations sign in with the API key, and only with the right one.
    let r = h
        .post(
            "/v1/agent/session",
            None,
            json!({"api_key": AGENT_KEY, "name": "Helpdesk"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["agent"]["id"], "integration");
    let r = h
        .post(
            "/v1/agent/session",
            None,
            json!({"api_key": "integration-key-wrong-0000000000", "name": "Helpdesk"}),
        )
        .await;
    assert_eq!(r.status, 401, "{}", r.body);
}

#[tokio::test]
async fn an_agent_claims_and_answers_and_the_customer_sees_it_live() {
    let h = harness().await;
    let dana = h.verified("cust_dana_live").await;
    assert_eq!(h.ticket(&dana, "T-1", "Router reboots").await.status, 201);
    assert_eq!(
        h.say(
            &dana,
            "T-1",
            "m-1",
            "It reboots every night, I already reset it"
        )
        .await
        .status,
        200
    );
    // Another customer's open ticket, not escalated.
    let eve = h.verified("cust_eve_live").await;
    h.ticket(&eve, "T-1", "Invoice").await;
    h.say(&eve, "T-1", "m-1", "Where is my invoice").await;
    let esc = h
        .post("/v1/tickets/T-1/escalate", Some(&dana), json!({}))
        .await;
    assert_eq!(esc.status, 200, "{}", esc.body);

    let ann = agent(&h, "ann", "Ann").await;
    let bob = agent(&h, "bob", "Bob").await;
    let q = h.get("/v1/agent/queue", Some(&ann)).await;
    assert_eq!(q.status, 200, "{}", q.body);
    let tickets = q.body["tickets"].as_array().unwrap();
    assert_eq!(tickets.len(), 2, "{}", q.body);
    assert_eq!(tickets[0]["state"], "escalated", "escalated first");
    assert_eq!(tickets[0]["customer"]["id"], "cust_dana_live");
    assert_eq!(tickets[1]["state"], "open");
    let sid = tickets[0]["ticket"]["session_id"]
        .as_str()
        .unwrap()
        .to_owned();

    assert_eq!(
        transcript_authors(&h, &sid, &ann).await,
        ["bot", "customer", "bot"]
    );
    let one = h.get(&format!("/v1/agent/tickets/{sid}"), Some(&ann)).await;
    assert_eq!(
        one.body["handoff"]["attempted_solutions"],
        json!(["Customer: It reboots every night, I already reset it"])
    );

    let mut stream = Stream::open(&h, "/v1/events", &dana, None).await;
    // One agent claims; the other cannot.
    let claimed = claim(&h, &sid, &ann).await;
    assert_eq!(claimed.status, 200, "{}", claimed.body);
    let r = claim(&h, &sid, &bob).await;
    assert_eq!((r.status, r.code()), (409, "conflict"));
    let r = h
        .post(
            &format!("/v1/agent/tickets/{sid}/messages"),
            Some(&bob),
            json!({"id": "b-1", "content": "Hi, Bob here"}),
        )
        .await;
    assert_eq!(r.status, 409, "only the claiming agent replies");
    let joined = stream.next_of("claimed").await;
    assert_eq!(joined["agent"]["name"], "Ann");

    let reply = h
        .post(
            &format!("/v1/agent/tickets/{sid}/messages"),
            Some(&ann),
            json!({"id": "a-1", "content": "Hi Dana, I'm Ann. Please try a firmware update."}),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let live = stream.next_of("message").await;
    assert_eq!(live["message"]["author"], "agent");
    assert_eq!(live["message"]["name"], "Ann");
    assert_eq!(live["ticket_id"], "T-1");
    let seq = live["seq"].as_i64().unwrap();
    // The same reply again (a retry) is answered once, not sent again.
    let again = h
        .post(
            &format!("/v1/agent/tickets/{sid}/messages"),
            Some(&ann),
            json!({"id": "a-1", "content": "Hi Dana, I'm Ann. Please try a firmware update."}),
        )
        .await;
    assert_eq!(again.body, reply.body);
    // Stored in EverOS as an assistant turn named after the agent.
    let adds = h.requests(Some("add")).await;
    let named = adds
        .iter()
        .flat_map(|a| {
            a["body"]["messages"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .filter(|m| {
            m["content"]
                .as_str()
                .unwrap_or("")
                .contains("firmware update")
        })
        .count();
    assert_eq!(named, 1, "added once");
    assert!(adds.iter().any(|a| a["body"]["messages"]
        .as_array()
        .unwrap_or(&Vec::new())
        .iter()
        .any(|m| m["role"] == "assistant" && m["sender_name"] == "Ann")));

    // The customer's stream dropped and resumed after the reply: no repeat, nothing lost.
    drop(stream);
    let mut resumed = Stream::open(&h, "/v1/events", &dana, Some(seq)).await;
    h.post(
        &format!("/v1/agent/tickets/{sid}/messages"),
        Some(&ann),
        json!({"id": "a-2", "content": "Did that help?"}),
    )
    .await;
    let next = resumed.next_of("message").await;
    assert_eq!(next["message"]["content"], "Did that help?");
    assert!(next["seq"].as_i64().unwrap() > seq);
    // Missed while away: a stream resuming from before the first reply gets both, in order.
    let mut late = Stream::open(&h, "/v1/events", &dana, Some(seq - 1)).await;
    let first = late.next_of("message").await;
    let second = late.next_of("message").await;
    assert_eq!(
        (
            first["seq"].as_i64().unwrap(),
            second["seq"].as_i64().unwrap()
        ),
        (seq, next["seq"].as_i64().unwrap())
    );

    // The agent closes; the customer's stream says so and the list shows it closed.
    let closed = h
        .post(
            &format!("/v1/agent/tickets/{sid}/close"),
            Some(&ann),
            json!({}),
        )
        .await;
    assert_eq!(closed.status, 200, "{}", closed.body);
    let ev = resumed.next_of("closed").await;
    assert_eq!(ev["ticket_id"], "T-1");
    let list = h.get("/v1/tickets", Some(&dana)).await;
    assert_eq!(list.body["tickets"][0]["state"], "closed", "{}", list.body);
}

#[tokio::test]
async fn a_second_device_reads_the_same_conversation_and_visitors_stay_apart() {
    let h = harness().await;
    let first = h.verified("cust_two_devices").await;
    h.ticket(&first, "T-1", "Late delivery").await;
    h.say(&first, "T-1", "m-1", "My parcel is a week late")
        .await;
    // Same account, a new device: a new session, no local state.
    let second = h.verified("cust_two_devices").await;
    let list = h.get("/v1/tickets", Some(&second)).await;
    assert_eq!(list.status, 200, "{}", list.body);
    assert_eq!(list.body["tickets"][0]["ticket"]["id"], "T-1");
    assert_eq!(
        list.body["tickets"][0]["ticket"]["subject"],
        "Late delivery"
    );
    let t = h.get("/v1/tickets/T-1/transcript", Some(&second)).await;
    let contents: Vec<&str> = t.body["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["content"].as_str().unwrap())
        .collect();
    assert_eq!(contents.len(), 3, "{}", t.body);
    assert_eq!(contents[1], "My parcel is a week late");
    // Paged: the newest message alone, then the older ones.
    let page = h
        .get("/v1/tickets/T-1/transcript?limit=1", Some(&second))
        .await;
    assert_eq!(page.body["messages"].as_array().unwrap().len(), 1);
    let before = page.body["before"].as_i64().unwrap();
    let older = h
        .get(
            &format!("/v1/tickets/T-1/transcript?limit=10&before={before}"),
            Some(&second),
        )
        .await;
    assert_eq!(older.body["messages"].as_array().unwrap().len(), 2);

    // Visitors: one never sees another's tickets, even with the same ticket id.
    let v1 = h.post("/v1/session", None, json!({})).await.body["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let v2 = h.post("/v1/session", None, json!({})).await.body["token"]
        .as_str()
        .unwrap()
        .to_owned();
    h.ticket(&v1, "T-1", "Visitor one").await;
    h.say(&v1, "T-1", "m-1", "secret of visitor one").await;
    let list = h.get("/v1/tickets", Some(&v2)).await;
    assert_eq!(list.body["tickets"], json!([]));
    assert_eq!(
        h.get("/v1/tickets/T-1/transcript", Some(&v2)).await.status,
        404
    );
}
