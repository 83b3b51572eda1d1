//! Bounded cost per client: every LLM request carries `max_tokens`; a customer has one
//! reply at a time (429 after a short wait) and the proxy a global cap (503 after a short
//! wait), both with `Retry-After`; new anonymous visitors are limited per client IP, so a
//! flood of them is not a flood of LLM and EverOS calls.

use std::{
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc, Mutex,
    },
    time::Duration,
};

use axum::{extract::State, routing::post, Json, Router};
use everdesk_proxy::Config;
use serde_json::{json, Value};
use tokio::sync::Semaphore;

use crate::common::{start_with, Harness, Reply};

/// A fake OpenAI-compatible server that holds each answer until the test lets it go,
/// and records request bodies and how many requests it held at once.
#[derive(Clone)]
struct FakeLlm {
    url: String,
    /// One permit lets one held answer go.
    release: Arc<Semaphore>,
    bodies: Arc<Mutex<Vec<Value>>>,
    now: Arc<AtomicUsize>,
    most: Arc<AtomicUsize>,
}

impl FakeLlm {
    async fn start() -> Self {
        let url = String::new();
        let mut llm = Self {
            url,
            release: Arc::new(Semaphore::new(0)),
            bodies: Arc::default(),
            now: Arc::default(),
            most: Arc::default(),
        };
        async fn chat(State(llm): State<FakeLlm>, Json(body): Json<Value>) -> Json<Value> {
            llm.bodies.lock().unwrap().push(body);
            let now = llm.now.fetch_add(1, Ordering::SeqCst) + 1;
            llm.most.fetch_max(now, Ordering::SeqCst);
            llm.release.acquire().await.unwrap().forget();
            llm.now.fetch_sub(1, Ordering::SeqCst);
            Json(json!({"choices": [{"message": {"content": "An answer."}}]}))
        }
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        llm.url = format!("http://{}/v1", listener.local_addr().unwrap());
        let app = Router::new()
            .route("/v1/chat/completions", post(chat))
            .with_state(llm.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        llm
    }

    /// Lets every answer through from now on.
    fn open(&self) {
        self.release.add_permits(Semaphore::MAX_PERMITS / 2);
    }

    fn calls(&self) -> usize {
        self.bodies.lock().unwrap().len()
    }

    fn configure(&self, c: &mut Config) {
        c.llm_base_url = Some(self.url.clone());
        c.llm_model = Some("m".into());
    }

    /// Waits (bounded) until `n` requests have reached the LLM.
    async fn wait_for_calls(&self, n: usize) {
        for _ in 0..500 {
            if self.calls() >= n {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("the LLM saw {} requests, expected {n}", self.calls());
    }
}

/// Sends a message, giving up (as a test failure) after ten seconds instead of hanging.
async fn say(h: &Harness, token: &str, ticket: &str, id: &str) -> Reply {
    tokio::time::timeout(
        Duration::from_secs(10),
        h.say(token, ticket, id, "How do I reset my password?"),
    )
    .await
    .expect("the message was neither answered nor refused")
}

fn retry_after(r: &Reply) -> u64 {
    r.headers["retry-after"].to_str().unwrap().parse().unwrap()
}

#[tokio::test]
async fn llm_requests_carry_max_tokens() {
    let llm = FakeLlm::start().await;
    llm.open();
    let h = start_with(|c| {
        llm.configure(c);
        c.llm_max_tokens = 64;
    })
    .await;
    let t = h.verified("cust_tokens").await;
    h.ticket(&t, "T", "Tokens").await;
    assert_eq!(say(&h, &t, "T", "m1").await.status, 200);
    let bodies = llm.bodies.lock().unwrap().clone();
    assert_eq!(bodies.len(), 1);
    assert_eq!(bodies[0]["max_tokens"], 64);
}

#[tokio::test]
async fn a_customer_has_one_reply_at_a_time() {
    let llm = FakeLlm::start().await;
    let h = start_with(|c| {
        llm.configure(c);
        c.reply_wait_ms = 200;
    })
    .await;
    let a = h.verified("cust_one").await;
    let b = h.verified("cust_other").await;
    h.ticket(&a, "T", "First").await;
    h.ticket(&a, "U", "Second").await;
    h.ticket(&b, "T", "Other").await;

    let first = say(&h, &a, "T", "m1");
    let rest = async {
        llm.wait_for_calls(1).await;
        // The same customer again, even on another ticket: refused after the wait.
        let second = say(&h, &a, "U", "m2").await;
        // Another customer is not held up by it.
        let other = say(&h, &b, "T", "m3");
        let open = async {
            llm.wait_for_calls(2).await;
            llm.open();
        };
        let (other, ()) = tokio::join!(other, open);
        (second, other)
    };
    let (first, (second, other)) = tokio::join!(first, rest);
    assert_eq!((second.status, second.code()), (429, "rate_limited"));
    assert!(retry_after(&second) >= 1);
    assert_eq!((first.status, other.status), (200, 200));
    assert_eq!(llm.calls(), 2, "the refused message never reached the LLM");
    // Once the first reply is done, the refused message goes through.
    assert_eq!(say(&h, &a, "U", "m2").await.status, 200);
}

#[tokio::test]
async fn replies_beyond_the_global_cap_wait_then_get_503() {
    const CUSTOMERS: usize = 12;
    const CAP: usize = 3;
    let llm = FakeLlm::start().await;
    let h = Arc::new(
        start_with(|c| {
            llm.configure(c);
            c.max_concurrent_replies = CAP as u32;
            c.reply_wait_ms = 300;
        })
        .await,
    );
    let mut tokens = Vec::new();
    for i in 0..CUSTOMERS {
        let t = h.verified(&format!("cust_cap_{i}")).await;
        h.ticket(&t, "T", "Busy").await;
        tokens.push(t);
    }
    let (done_tx, mut done_rx) = tokio::sync::mpsc::unbounded_channel();
    for t in tokens {
        let (h, done_tx) = (h.clone(), done_tx.clone());
        tokio::spawn(async move {
            let r = say(&h, &t, "T", "m").await;
            let _ = done_tx.send(r);
        });
    }
    // All beyond the cap are answered while the LLM still holds the first ones.
    let mut refused = Vec::new();
    for _ in 0..CUSTOMERS - CAP {
        let r = tokio::time::timeout(Duration::from_secs(10), done_rx.recv())
            .await
            .expect("requests beyond the cap were not refused")
            .unwrap();
        refused.push(r);
    }
    llm.wait_for_calls(CAP).await;
    assert_eq!(llm.most.load(Ordering::SeqCst), CAP);
    llm.open();
    let mut answered = Vec::new();
    for _ in 0..CAP {
        answered.push(done_rx.recv().await.unwrap());
    }
    for r in &refused {
        assert_eq!((r.status, r.code()), (503, "upstream_unavailable"));
        assert!(retry_after(r) >= 1);
    }
    assert!(answered.iter().all(|r| r.status == 200));
    assert_eq!(llm.calls(), CAP, "refused messages never reached the LLM");
    assert_eq!(llm.most.load(Ordering::SeqCst), CAP);
}

#[tokio::test]
async fn a_flood_of_new_visitors_is_not_a_flood_of_replies() {
    const FLOOD: usize = 60;
    let llm = FakeLlm::start().await;
    llm.open();
    let h = start_with(|c| {
        llm.configure(c);
        c.rate_visitor_burst = 5;
        c.rate_visitor_per_min = 1;
    })
    .await;
    let mut visitors = Vec::new();
    let mut refused = 0;
    for _ in 0..FLOOD {
        let r = h.post("/v1/session", None, json!({})).await;
        match r.status {
            200 => visitors.push(r.body),
            429 => {
                assert_eq!(r.code(), "rate_limited");
                assert!(retry_after(&r) >= 1);
                refused += 1;
            }
            s => panic!("unexpected {s}: {}", r.body),
        }
    }
    assert_eq!((visitors.len(), refused), (5, FLOOD - 5));
    // Each visitor that got in asks a question; nothing else can.
    for (i, v) in visitors.iter().enumerate() {
        let t = v["token"].as_str().unwrap();
        assert_eq!(h.ticket(t, "T", "Visitor").await.status, 201);
        assert_eq!(say(&h, t, "T", &format!("v{i}")).await.status, 200);
    }
    assert_eq!(llm.calls(), 5);
    let adds = h.requests(Some("add")).await.len();
    assert_eq!(
        adds,
        5 * 3,
        "an opening, a question and a reply per visitor"
    );
    // Returning visitors and verified customers are not new visitors.
    let back = json!({"visitor_token": visitors[0]["visitor_token"]});
    assert_eq!(h.post("/v1/session", None, back).await.status, 200);
    h.verified("cust_after_flood").await;
}

#[tokio::test]
async fn a_close_during_a_reply_flushes_after_the_reply_is_stored() {
    let llm = FakeLlm::start().await;
    let h = start_with(|c| {
        llm.configure(c);
        c.reply_wait_ms = 5_000;
    })
    .await;
    let t = h.verified("cust_close_mid_reply").await;
    let session = h.ticket(&t, "T", "Closing early").await.body["ticket"]["session_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let message = say(&h, &t, "T", "m1");
    let close = async {
        llm.wait_for_calls(1).await;
        // The reply is being generated; the customer closes the ticket meanwhile.
        let close = h.post("/v1/tickets/T/close", Some(&t), json!({}));
        let release = async {
            tokio::time::sleep(Duration::from_millis(300)).await;
            llm.open();
        };
        tokio::join!(close, release).0
    };
    let (answered, closed) = tokio::join!(message, close);
    assert_eq!(answered.status, 200, "{}", answered.body);
    assert_eq!(closed.status, 200, "{}", closed.body);
    // EverOS saw the reply's add before the flush: the reply is part of the episode.
    let log = h.requests(None).await;
    let order: Vec<String> = log
        .iter()
        .filter(|r| r["body"]["session_id"] == session.as_str())
        .filter_map(|r| {
            let route = r["route"].as_str()?;
            let role = r["body"]["messages"][0]["role"].as_str().unwrap_or("");
            Some(format!("{route}:{role}"))
        })
        .collect();
    assert_eq!(
        order,
        ["add:assistant", "add:user", "add:assistant", "flush:"],
        "{log:?}"
    );
}
