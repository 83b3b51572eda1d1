//! Replies and hand-offs: the LLM path against a fake OpenAI-compatible server (prompt
//! carries context, no PII; SSE deltas then done), LLM failures, escalation with the
//! built-in rules and the signed webhook.

use std::sync::{Arc, Mutex};

use crate::common::{start, start_with};
use axum::{extract::State, http::HeaderMap, response::IntoResponse, routing::post, Json, Router};
use serde_json::{json, Value};

type Captured = Arc<Mutex<Vec<(HeaderMap, Value)>>>;

/// A tiny OpenAI-compatible server: streams "Hello", " there", "!" unless the prompt says FAIL.
async fn fake_llm() -> (String, Captured) {
    let seen: Captured = Arc::default();
    async fn chat(
        State(seen): State<Captured>,
        headers: HeaderMap,
        Json(body): Json<Value>,
    ) -> axum::response::Response {
        let fail = body.to_string().contains("PLEASE FAIL");
        let handoff = body.to_string().contains("handed to a human agent");
        seen.lock().unwrap().push((headers, body));
        if fail {
            return (axum::http::StatusCode::INTERNAL_SERVER_ERROR, "boom").into_response();
        }
        let pieces: &[&str] = if handoff {
            &["SENTIMENT: negative\n", "SUMMARY: Router reboots nightly."]
        } else {
            &["Hello", " there", "!"]
        };
        let mut sse = String::new();
        for piece in pieces {
            let chunk = json!({"choices": [{"delta": {"content": piece}}]});
            sse.push_str(&format!("data: {chunk}\n\n"));
        }
        sse.push_str("data: [DONE]\n\n");
        ([("content-type", "text/event-stream")], sse).into_response()
    }
    let app = Router::new()
        .route("/v1/chat/completions", post(chat))
        .with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}/v1"), seen)
}

fn parse_sse(text: &str) -> Vec<(String, Value)> {
    text.split("\n\n")
        .filter_map(|block| {
            let mut event = None;
            let mut data = String::new();
            for line in block.lines() {
                if let Some(e) = line.strip_prefix("event:") {
                    event = Some(e.trim().to_owned());
                } else if let Some(d) = line.strip_prefix("data:") {
                    data.push_str(d.trim_start());
                }
            }
            Some((event?, serde_json::from_str(&data).ok()?))
        })
        .collect()
}

#[tokio::test]
async fn llm_prompt_has_context_and_no_pii_and_streams() {
    let (llm_url, seen) = fake_llm().await;
    let h = start_with(|c| {
        c.llm_base_url = Some(llm_url);
        c.llm_model = Some("test-model".into());
        c.llm_api_key = Some("llm-key".into());
    })
    .await;
    let t = h.verified("cust_llm").await;
    // A past ticket becomes an episode for context.
    h.ticket(&t, "old", "Router keeps rebooting").await;
    h.say(&t, "old", "o1", "my router keeps rebooting every night")
        .await;
    h.post("/v1/tickets/old/close", Some(&t), json!({})).await;

    h.ticket(&t, "new", "Rebooting again").await;
    let secret_msg = "router rebooting again. Mail me at jane@example.com, card 4111 1111 1111 1111, my password is hunter2";
    let resp = h
        .http
        .post(format!("{}/v1/tickets/new/messages", h.base))
        .bearer_auth(&t)
        .header("accept", "text/event-stream")
        .json(&json!({"id": "s1", "content": secret_msg, "sent_at": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert!(resp.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/event-stream"));
    let events = parse_sse(&resp.text().await.unwrap());
    let names: Vec<&str> = events.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        ["context", "delta", "delta", "delta", "done"],
        "{events:?}"
    );
    let deltas: String = events
        .iter()
        .filter(|(n, _)| n == "delta")
        .map(|(_, v)| v["text"].as_str().unwrap())
        .collect();
    assert_eq!(deltas, "Hello there!");
    let done = &events[4].1;
    assert_eq!(done["reply"]["content"], "Hello there!");
    assert_eq!(done["context"], events[0].1);
    let old_session = done["context"]["history"][0]["session_id"]
        .as_str()
        .unwrap();
    assert!(old_session.starts_with("ticket_old_"), "{old_session}");

    let (headers, body) = seen.lock().unwrap().last().cloned().unwrap();
    assert_eq!(headers["authorization"], "Bearer llm-key");
    assert_eq!(body["model"], "test-model");
    let prompt = body["messages"].to_string();
    assert!(prompt.contains("RELEVANT PAST INTERACTIONS"));
    assert!(
        prompt.contains("rebooting every night"),
        "episode summary in the prompt: {prompt}"
    );
    for leaked in ["jane@example.com", "4111", "hunter2"] {
        assert!(!prompt.contains(leaked), "{leaked} leaked into the prompt");
    }
    assert!(prompt.contains("[email]") && prompt.contains("[card]"));
    // Card and password were masked before storing in EverOS too; the email was kept.
    let stored = done["message"]["content"].as_str().unwrap();
    assert!(
        !stored.contains("4111")
            && !stored.contains("hunter2")
            && stored.contains("jane@example.com")
    );
    let adds = h.requests(Some("add")).await;
    assert!(adds
        .iter()
        .all(|a| !a["body"].to_string().contains("hunter2")));

    // Escalation asks the LLM for summary and sentiment, with the same redaction.
    let esc = h
        .post("/v1/tickets/new/escalate", Some(&t), json!({}))
        .await;
    assert_eq!(
        esc.body["handoff"]["issue_summary"],
        "Router reboots nightly."
    );
    assert_eq!(esc.body["handoff"]["customer_sentiment"], "negative");
    assert_eq!(
        esc.body["handoff"]["attempted_solutions"],
        json!([]),
        "a greeting is not an attempted solution"
    );
    let (_, body) = seen.lock().unwrap().last().cloned().unwrap();
    let prompt = body["messages"].to_string();
    assert!(
        prompt.contains("handed to a human agent") && prompt.contains("router rebooting again")
    );
    assert!(!prompt.contains("hunter2") && !prompt.contains("jane@example.com"));

    // A retry of the same message id replays without calling the LLM again.
    let calls = seen.lock().unwrap().len();
    let again = h.say(&t, "new", "s1", secret_msg).await;
    assert_eq!(again.body["reply"]["content"], "Hello there!");
    assert_eq!(seen.lock().unwrap().len(), calls);
}

#[tokio::test]
async fn llm_failure_is_upstream_unavailable_in_json_and_sse() {
    let (llm_url, _seen) = fake_llm().await;
    let h = start_with(|c| {
        c.llm_base_url = Some(llm_url);
        c.llm_model = Some("m".into());
    })
    .await;
    let t = h.verified("cust_llm_fail").await;
    h.ticket(&t, "T", "x").await;
    let r = h.say(&t, "T", "f1", "PLEASE FAIL").await;
    assert_eq!((r.status, r.code()), (502, "upstream_unavailable"));
    let resp = h
        .http
        .post(format!("{}/v1/tickets/T/messages", h.base))
        .bearer_auth(&t)
        .header("accept", "text/event-stream")
        .json(&json!({"id": "f1", "content": "PLEASE FAIL", "sent_at": 1}))
        .send()
        .await
        .unwrap();
    let events = parse_sse(&resp.text().await.unwrap());
    let (name, body) = events.last().unwrap();
    assert_eq!(name, "error");
    assert_eq!(body["error"]["code"], "upstream_unavailable");
    assert_eq!(
        h.stored_adds_of("PLEASE FAIL").await,
        1,
        "the user turn was stored once across both attempts"
    );
}

#[tokio::test]
async fn built_in_responder_offers_a_human_and_escalation_builds_the_handoff() {
    type Raw = Arc<Mutex<Vec<(HeaderMap, bytes::Bytes)>>>;
    let received: Raw = Arc::default();
    async fn hook(State(seen): State<Raw>, headers: HeaderMap, body: bytes::Bytes) -> &'static str {
        seen.lock().unwrap().push((headers, body));
        "ok"
    }
    let app = Router::new()
        .route("/hook", post(hook))
        .with_state(received.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hook_url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });

    let h = start_with(|c| {
        c.handoff_webhook_url = Some(hook_url);
        c.handoff_webhook_secret = Some("whsec".into());
    })
    .await;
    let t = h.verified("cust_esc").await;
    h.ticket(&t, "T", "App crashes").await;
    let mut replies = Vec::new();
    for (i, text) in [
        "The app crashes on start",
        "Still crashing after reinstall",
        "This is unacceptable, still broken!",
    ]
    .iter()
    .enumerate()
    {
        let r = h.say(&t, "T", &format!("e{i}"), text).await;
        replies.push(r.body["reply"]["content"].as_str().unwrap().to_owned());
    }
    assert!(!replies[1].contains("human agent"));
    assert!(replies[2].contains("human agent"), "{}", replies[2]);

    let r = h
        .post(
            "/v1/tickets/T/escalate",
            Some(&t),
            json!({"reason": "call me at +1 555 123 4567"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let ho = &r.body["handoff"];
    assert_eq!(ho["ticket_id"], "T");
    // What was tried is the customer's reinstall; the responder's acknowledgements are not.
    assert_eq!(
        ho["attempted_solutions"],
        json!(["Customer: Still crashing after reinstall"])
    );
    assert_eq!(
        ho["customer"],
        json!({"kind": "verified", "id": "cust_esc"}),
        "named by the identity: no name was signed"
    );
    assert_eq!(ho["customer_sentiment"], "frustrated");
    assert!(ho["issue_summary"]
        .as_str()
        .unwrap()
        .contains("The app crashes on start"));
    assert!(
        !ho["handoff_note"].as_str().unwrap().contains("555"),
        "PII redacted for the hand-off"
    );
    assert_eq!(ho["delivered"], true);
    let search = h.requests(Some("search")).await;
    assert!(search
        .iter()
        .any(|s| s["body"]["top_k"] == 10 && s["body"]["memory_types"][0] == "episodic_memory"));

    let (headers, raw) = received.lock().unwrap().last().cloned().unwrap();
    let body: Value = serde_json::from_slice(&raw).unwrap();
    assert_eq!(body["ticket_id"], "T");
    assert_eq!(body["attempted_solutions"], ho["attempted_solutions"]);
    assert!(headers.contains_key("x-everdesk-delivery"));
    use hmac::Mac;
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(b"whsec").unwrap();
    mac.update(headers["x-everdesk-timestamp"].as_bytes());
    mac.update(b".");
    mac.update(&raw);
    let expected = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
    assert_eq!(headers["x-everdesk-signature"], expected.as_str());
}

#[tokio::test]
async fn webhook_down_means_not_delivered() {
    let h = start_with(|c| {
        c.handoff_webhook_url = Some("http://127.0.0.1:9/hook".into());
        c.handoff_webhook_secret = Some("s".into());
    })
    .await;
    let t = h.verified("cust_hook_down").await;
    h.ticket(&t, "T", "x").await;
    let r = h.post("/v1/tickets/T/escalate", Some(&t), json!({})).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["handoff"]["delivered"], false);
    let plain = start().await;
    let t = plain.verified("c").await;
    plain.ticket(&t, "T", "x").await;
    let r = plain
        .post("/v1/tickets/T/escalate", Some(&t), json!({}))
        .await;
    assert_eq!(r.body["handoff"]["delivered"], false);
    assert_eq!(r.body["handoff"]["attempted_solutions"], json!([]));
}

#[tokio::test]
async fn a_hand_off_still_happens_when_memory_search_fails() {
    let h = start().await;
    let t = h.verified("cust_search_down").await;
    h.ticket(&t, "T", "Broken zip").await;
    h.say(&t, "T", "m1", "The zip on my jacket broke").await;
    // Every search fails (past the read retries).
    h.fault(json!({"route": "search", "status": 500, "times": 20}))
        .await;
    let r = h.post("/v1/tickets/T/escalate", Some(&t), json!({})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let ho = &r.body["handoff"];
    assert_eq!(ho["relevant_history"], json!([]));
    assert!(
        ho["issue_summary"].as_str().unwrap().contains("zip"),
        "{ho}"
    );
}

/// A fake LLM that holds its answer until the test opens the gate.
async fn gated_llm() -> (String, Arc<tokio::sync::Semaphore>, Arc<Mutex<usize>>) {
    let gate = Arc::new(tokio::sync::Semaphore::new(0));
    let calls = Arc::new(Mutex::new(0usize));
    type S = (Arc<tokio::sync::Semaphore>, Arc<Mutex<usize>>);
    async fn chat(State((gate, calls)): State<S>) -> axum::response::Response {
        *calls.lock().unwrap() += 1;
        gate.acquire().await.unwrap().forget();
        Json(json!({"choices": [{"message": {"content": "Gated answer."}}]})).into_response()
    }
    let app = Router::new()
        .route("/v1/chat/completions", post(chat))
        .with_state((gate.clone(), calls.clone()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}/v1"), gate, calls)
}

#[tokio::test]
async fn reply_add_failures_resume_without_duplicating_either_turn() {
    let (llm_url, gate, calls) = gated_llm().await;
    let h = start_with(|c| {
        c.llm_base_url = Some(llm_url);
        c.llm_model = Some("m".into());
    })
    .await;
    let t = h.verified("cust_reply_fault").await;
    h.ticket(&t, "T", "Reply faults").await;
    for (n, (fault, status)) in [
        (json!({"route": "add", "status": 500}), 502),
        (json!({"route": "add", "delay_ms": 1200}), 504),
    ]
    .into_iter()
    .enumerate()
    {
        let content = format!("question number {n}");
        let id = format!("q{n}");
        let send = {
            let (h, t, id, content) = (&h, &t, id.clone(), content.clone());
            async move { h.say(t, "T", &id, &content).await }
        };
        let test = async {
            // Once the user turn is stored and the LLM is thinking, fail the reply's add.
            while h.stored_adds_of(&content).await == 0 {
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            }
            h.fault(fault.clone()).await;
            gate.add_permits(1);
        };
        let (first, ()) = tokio::join!(send, test);
        assert_eq!(
            (first.status, first.code()),
            (status, "upstream_unavailable")
        );
        let llm_calls = *calls.lock().unwrap();
        let retry = h.say(&t, "T", &id, &content).await;
        assert_eq!(retry.status, 200, "{}", retry.body);
        assert_eq!(retry.body["reply"]["content"], "Gated answer.");
        assert_eq!(
            *calls.lock().unwrap(),
            llm_calls,
            "the reply is reused, not regenerated"
        );
        assert_eq!(h.stored_adds_of(&content).await, 1, "user turn stored once");
    }
    // 500 (refused) → the retry re-sent the reply; timeout (unknown) → not re-sent.
    assert_eq!(h.stored_adds_of("Gated answer.").await, 2);
}
