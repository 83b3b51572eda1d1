//! Shared helpers for the HTTP tests: spawn a real server on 127.0.0.1:0 and talk to it.
// Test helpers panic on transport failure by design (clippy allows this only inside #[test] fns).
use std::time::Duration;

use local_everos::{Config, Running};
use reqwest::StatusCode;
use serde_json::{json, Value};

/// The key every test server uses.
pub const KEY: &str = "test-key";
/// A fixed base time (2026-11-11) for message timestamps.
pub const T0: i64 = 1_794_400_000_000;

/// A running server plus a client.
pub struct Srv {
    pub running: Running,
    pub http: reqwest::Client,
}

/// Short delays so tests stay fast.
pub fn test_config() -> Config {
    let mut c = Config::in_memory(KEY);
    c.profile_delay = Duration::from_millis(150);
    c.async_delay = Duration::from_millis(150);
    c.test_controls = true;
    c
}

impl Srv {
    pub async fn start() -> Self {
        Self::start_with(test_config()).await
    }

    pub async fn start_with(config: Config) -> Self {
        let running = local_everos::spawn(config).await.expect("spawn");
        Self {
            running,
            http: reqwest::Client::new(),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.running.base_url())
    }

    /// POST JSON with the bearer key; returns status and body (Null when empty/not JSON).
    pub async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        let res = self
            .http
            .post(self.url(path))
            .bearer_auth(KEY)
            .json(&body)
            .send()
            .await
            .expect("send");
        let status = res.status();
        let text = res.text().await.expect("body");
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    pub async fn get_path(&self, path: &str) -> (StatusCode, Value) {
        let res = self
            .http
            .get(self.url(path))
            .bearer_auth(KEY)
            .send()
            .await
            .expect("send");
        let status = res.status();
        (status, res.json().await.unwrap_or(Value::Null))
    }

    /// Sync add; asserts 200 and returns `data`.
    pub async fn add(&self, user: &str, session: &str, messages: Value) -> Value {
        let (s, b) = self
            .post("/api/v1/memories", json!({"user_id": user, "session_id": session, "async_mode": false, "messages": messages}))
            .await;
        assert_eq!(s, StatusCode::OK, "{b}");
        b["data"].clone()
    }

    /// Flush; asserts 200 and returns `data.status`.
    pub async fn flush(&self, user: &str, session: &str) -> String {
        let (s, b) = self
            .post(
                "/api/v1/memories/flush",
                json!({"user_id": user, "session_id": session}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{b}");
        b["data"]["status"].as_str().unwrap_or_default().to_owned()
    }

    /// Search; asserts 200 and returns `data`.
    pub async fn search(&self, body: Value) -> Value {
        let (s, b) = self.post("/api/v1/memories/search", body).await;
        assert_eq!(s, StatusCode::OK, "{b}");
        b["data"].clone()
    }

    /// Episodic search for one user.
    pub async fn episodes(&self, user: &str, query: &str) -> Vec<Value> {
        let d = self
            .search(json!({"query": query, "filters": {"user_id": user}, "memory_types": ["episodic_memory"], "method": "hybrid"}))
            .await;
        d["episodes"].as_array().cloned().unwrap_or_default()
    }

    /// Profile search for one user.
    pub async fn profiles(&self, user: &str, query: &str) -> Vec<Value> {
        let d = self
            .search(json!({"query": query, "filters": {"user_id": user}, "memory_types": ["profile"], "method": "vector"}))
            .await;
        d["profiles"].as_array().cloned().unwrap_or_default()
    }

    /// `get` listing of episodes; returns `data`.
    pub async fn get_episodes(&self, user: &str) -> Value {
        let (s, b) = self
            .post(
                "/api/v1/memories/get",
                json!({"memory_type": "episodic_memory", "filters": {"user_id": user}}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{b}");
        b["data"].clone()
    }

    /// The caller's buffered user turns via `raw_message` search.
    pub async fn raw(&self, user: &str) -> Vec<Value> {
        let d = self
            .search(json!({"query": "anything", "filters": {"user_id": user}, "memory_types": ["raw_message"]}))
            .await;
        d["raw_messages"].as_array().cloned().unwrap_or_default()
    }

    /// Expects `status` for a POST and returns the body.
    pub async fn expect(&self, path: &str, body: Value, status: u16) -> Value {
        let (s, b) = self.post(path, body.clone()).await;
        assert_eq!(s.as_u16(), status, "{path} {body} -> {b}");
        b
    }
}

/// A support conversation: alternating user/assistant turns, 1 s apart from `T0`.
pub fn convo(user: &str, turns: &[&str]) -> Value {
    let msgs: Vec<Value> = turns
        .iter()
        .enumerate()
        .map(|(i, text)| {
            let role = if i % 2 == 0 { "user" } else { "assistant" };
            let mut m = json!({"role": role, "timestamp": T0 + i as i64 * 1000, "content": text});
            if role == "user" {
                m["sender_id"] = json!(user);
            }
            m
        })
        .collect();
    Value::Array(msgs)
}

/// One user message at `ts`.
pub fn user_msg(text: &str, ts: i64) -> Value {
    json!([{"role": "user", "timestamp": ts, "content": text}])
}

/// Polls `f` every 25 ms until it returns true or `ms` pass.
pub async fn eventually<F, Fut>(ms: u64, mut f: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_millis(ms);
    loop {
        if f().await {
            return true;
        }
        if tokio::time::Instant::now() > deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// A billing conversation used across the contract tests.
pub const BILLING: &[&str] = &[
    "Hi, I'm Dana Whitfield. I was charged twice for my October invoice.",
    "I can see two $49 charges on Oct 3. I've opened a refund for the duplicate.",
];

/// Test helper: a JSON object with one key changed or removed.
pub fn with(mut base: Value, key: &str, value: Value) -> Value {
    base[key] = value;
    base
}

/// Test helper: a JSON object with one key changed or removed.
pub fn without(mut base: Value, key: &str) -> Value {
    if let Some(map) = base.as_object_mut() {
        map.remove(key);
    }
    base
}

/// Sends `bad` expecting `status` and `good` expecting 2xx.
pub async fn check(path: &str, bad: Value, status: u16, good: Value) {
    let s = Srv::start().await;
    s.expect(path, bad, status).await;
    let (st, b) = s.post(path, good).await;
    assert!(st.is_success(), "valid twin rejected: {b}");
}
