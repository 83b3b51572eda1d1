//! Once an agent holds a ticket the bot stops answering: the customer's message is
//! stored (EverOS turn, transcript, the agent's live stream) but no reply is generated
//! or added to EverOS; the answer names the agent, the same on a retry, also streamed;
//! the customer's other devices learn the escalation (hand-off, who joined) from the list.

use serde_json::{json, Value};

use crate::agents::{agent, claim, harness, transcript_authors, Stream};
use crate::common::Harness;

/// EverOS adds (accepted) of this customer's session, as (role, content), in order.
async fn turns(h: &Harness) -> Vec<(String, String)> {
    h.requests(Some("add"))
        .await
        .iter()
        .filter(|r| r["status"].as_u64().is_none_or(|s| s < 400))
        .flat_map(|r| {
            r["body"]["messages"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .map(|m: Value| {
            (
                m["role"].as_str().unwrap_or("").to_owned(),
                m["content"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn after_a_claim_the_customer_is_answered_by_the_person_not_the_bot() {
    let h = harness().await;
    let dana = h.verified("cust_dana_handled").await;
    assert_eq!(h.ticket(&dana, "T-1", "Router reboots").await.status, 201);
    let before = h.say(&dana, "T-1", "m-1", "It reboots every night").await;
    assert_eq!(before.status, 200, "{}", before.body);
    assert!(before.body["reply"].is_object(), "the bot answers before");
    assert!(before.body.get("handled_by").is_none(), "{}", before.body);
    h.post("/v1/tickets/T-1/escalate", Some(&dana), json!({}))
        .await;

    let ann = agent(&h, "ann", "Ann").await;
    let q = h.get("/v1/agent/queue", Some(&ann)).await;
    let sid = q.body["tickets"][0]["ticket"]["session_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut agent_stream = Stream::open(&h, "/v1/agent/events", &ann, None).await;
    let claimed = claim(&h, &sid, &ann).await;
    assert_eq!(claimed.status, 200, "{}", claimed.body);
    let adds_at_claim = turns(&h).await.len();

    // The customer's next message: stored, but answered by no bot.
    let r = h.say(&dana, "T-1", "m-2", "Is anyone there?").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.get("reply").is_none(), "no bot reply: {}", r.body);
    assert_eq!(r.body["handled_by"], json!({"id": "ann", "name": "Ann"}));
    assert_eq!(r.body["message"]["id"], "m-2");
    assert_eq!(r.body["message"]["role"], "user");
    // A retry of the same message id gets the same answer, and adds nothing.
    let again = h.say(&dana, "T-1", "m-2", "Is anyone there?").await;
    assert_eq!((again.status, &again.body), (200, &r.body));
    // Streamed (SSE) it ends with the same `done`, without context or deltas.
    let sse = h
        .http
        .post(format!("{}/v1/tickets/T-1/messages", h.base))
        .bearer_auth(&dana)
        .header("accept", "text/event-stream")
        .json(&json!({"id": "m-3", "content": "Hello?", "sent_at": 2}))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!sse.contains("event: delta"), "{sse}");
    assert!(!sse.contains("event: context"), "{sse}");
    let done = sse
        .split("\n\n")
        .find(|f| f.contains("event: done"))
        .and_then(|f| f.lines().find_map(|l| l.strip_prefix("data:")))
        .map(|d| serde_json::from_str::<Value>(d.trim()).unwrap())
        .unwrap_or_else(|| panic!("no done event: {sse}"));
    assert_eq!(done["handled_by"]["name"], "Ann");
    assert!(done.get("reply").is_none(), "{done}");

    // EverOS got the customer's turns, and no assistant turn after the claim.
    let after: Vec<_> = turns(&h).await.split_off(adds_at_claim);
    assert_eq!(
        after,
        [
            ("user".to_owned(), "Is anyone there?".to_owned()),
            ("user".to_owned(), "Hello?".to_owned()),
        ]
    );

    // The agent sees the messages live, and once each.
    let mut live = Vec::new();
    while live.len() < 2 {
        let ev = agent_stream.next_of("message").await;
        assert_eq!(ev["message"]["author"], "customer", "{ev}");
        live.push(ev["message"]["content"].as_str().unwrap().to_owned());
    }
    assert_eq!(live, ["Is anyone there?", "Hello?"]);
    // The transcript holds them, with no bot message after the claim.
    assert_eq!(
        transcript_authors(&h, &sid, &ann).await,
        ["bot", "customer", "bot", "customer", "customer"]
    );

    // Another device of the customer learns the whole escalation state from the list:
    // escalated, who joined, and the hand-off summary.
    let second = h.verified("cust_dana_handled").await;
    let list = h.get("/v1/tickets", Some(&second)).await;
    let t = &list.body["tickets"][0];
    assert_eq!(t["state"], "escalated", "{}", list.body);
    assert_eq!(t["agent"]["name"], "Ann");
    assert_eq!(t["handoff"]["ticket_id"], "T-1", "{}", list.body);
    assert!(t["handoff"]["issue_summary"].is_string());
}
