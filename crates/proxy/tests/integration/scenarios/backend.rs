//! The EverOS a scenario runs on: local-everos (v2, started here, faithful knobs on) or
//! the real self-hosted EverOS that `scripts/test` starts (`tests/real-everos/start`) and
//! names in `EVERDESK_REAL_EVEROS_URL` (with embeddings) and
//! `EVERDESK_REAL_EVEROS_NOEMBED_URL` (without). A real-server test without its URL fails
//! and says how to get one: it never skips.

use std::{net::SocketAddr, time::Duration};

use everdesk_proxy::{app, identity::hmac_hash, Config};
use serde_json::{json, Value};

use crate::common::{Reply, SECRET};

/// The key local-everos is started with (the real server has no auth).
const LOCAL_KEY: &str = "scenario-everos-key";

/// One EverOS to run scenarios on.
pub struct Backend {
    /// `local`, `real` or `real-noembed`, for messages.
    pub name: &'static str,
    /// Base URL.
    pub url: String,
    /// Bearer key, when the server wants one.
    pub key: Option<String>,
    /// Whether `POST /api/v2/memory/delete` exists.
    pub can_delete: bool,
    /// Whether vector/hybrid search work.
    pub embeddings: bool,
    _local: Option<local_everos::Running>,
}

impl Backend {
    /// local-everos speaking v2 as the real server does: profiles one episode behind,
    /// a little index lag, delete on or off.
    pub async fn local(can_delete: bool) -> Self {
        let mut c = local_everos::Config::in_memory(LOCAL_KEY);
        c.test_controls = true;
        c.profile_delay = Duration::from_millis(100);
        c.index_lag = Duration::from_millis(300);
        c.keyword_lag = Duration::from_millis(1500);
        c.profile_lag_episodes = 1;
        c.delete_enabled = can_delete;
        // As the real server: without embeddings, vector and hybrid are refused.
        c.strict_capabilities = true;
        let running = local_everos::spawn(c).await.unwrap();
        Self {
            name: "local",
            url: running.base_url(),
            key: Some(LOCAL_KEY.into()),
            can_delete,
            embeddings: false,
            _local: Some(running),
        }
    }

    fn real_from(var: &str, name: &'static str, embeddings: bool) -> Self {
        let url = std::env::var(var).unwrap_or_else(|_| {
            panic!(
                "{var} is not set: this test needs the real self-hosted EverOS. Run it through \
                 scripts/test, or start one with `eval \"$(tests/real-everos/start{})\"` and \
                 export {var}=$EVEROS_BASE_URL",
                if embeddings { "" } else { " --no-embeddings" }
            )
        });
        Self {
            name,
            url,
            key: None,
            can_delete: false,
            embeddings,
            _local: None,
        }
    }

    /// The real everos 1.5.1 with embeddings (no delete route).
    pub fn real() -> Self {
        Self::real_from("EVERDESK_REAL_EVEROS_URL", "real", true)
    }

    /// The real everos 1.5.1 without embeddings (keyword search only).
    pub fn real_without_embeddings() -> Self {
        Self::real_from("EVERDESK_REAL_EVEROS_NOEMBED_URL", "real-noembed", false)
    }

    /// A proxy config speaking v2 to this EverOS.
    pub fn proxy_config(&self) -> Config {
        let mut c = Config::for_tests();
        c.everos_api = "v2".into();
        c.everos_base_url = Some(self.url.clone());
        c.everos_api_key = self.key.clone();
        c.identity_secret = Some(SECRET.into());
        // The real server's first calls after start take up to 2 s.
        c.everos_timeout_ms = 15_000;
        c.rate_customer_burst = 200;
        c.rate_ip_burst = 2_000;
        c
    }

    /// A direct v2 call to EverOS (what the server holds, not what the proxy says).
    pub async fn call(&self, path: &str, body: Value) -> Value {
        let mut req = reqwest::Client::new()
            .post(format!("{}{path}", self.url))
            .json(&body);
        if let Some(k) = &self.key {
            req = req.bearer_auth(k);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status();
        let v: Value = resp.json().await.unwrap_or(Value::Null);
        assert!(status.is_success(), "{} {path}: {status} {v}", self.name);
        v
    }

    /// All episodes EverOS holds for `owner` (v2 `get`).
    pub async fn episodes_of(&self, owner: &str) -> Vec<Value> {
        let v = self
            .call(
                "/api/v2/memory/get",
                json!({"user_id": owner, "memory_type": "episode", "page": 1, "page_size": 100}),
            )
            .await;
        v["data"]["episodes"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }
}

/// A proxy in front of a backend, and a client.
pub struct Stack {
    /// Proxy base URL.
    pub base: String,
    http: reqwest::Client,
}

impl Stack {
    /// Serves a proxy with `config` on port 0.
    pub async fn serve(config: Config) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let state = crate::common::state(config).await;
        let router = app(state).into_make_service_with_connect_info::<SocketAddr>();
        tokio::spawn(async move { axum::serve(listener, router).await });
        Self {
            base: format!("http://{addr}"),
            http: reqwest::Client::new(),
        }
    }

    async fn reply(resp: reqwest::Response) -> Reply {
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let bytes = resp.bytes().await.unwrap();
        Reply {
            status,
            headers,
            body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        }
    }

    /// POST JSON with a bearer token.
    pub async fn post(&self, path: &str, token: &str, body: Value) -> Reply {
        let req = self.http.post(format!("{}{path}", self.base)).json(&body);
        Self::reply(req.bearer_auth(token).send().await.unwrap()).await
    }

    /// GET with an optional bearer token.
    pub async fn get(&self, path: &str, token: Option<&str>) -> Reply {
        let mut req = self.http.get(format!("{}{path}", self.base));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        Self::reply(req.send().await.unwrap()).await
    }

    /// DELETE with a bearer token.
    pub async fn delete(&self, path: &str, token: &str) -> Reply {
        let req = self.http.delete(format!("{}{path}", self.base));
        Self::reply(req.bearer_auth(token).send().await.unwrap()).await
    }

    /// A verified customer's session token.
    pub async fn verified(&self, user_id: &str, name: Option<&str>) -> String {
        let hash = hmac_hash::compute(SECRET.as_bytes(), user_id);
        let mut body = json!({"user_id": user_id, "user_hash": hash});
        if let Some(n) = name {
            body["name"] = json!(n);
        }
        let resp = self
            .http
            .post(format!("{}/v1/session", self.base))
            .json(&body)
            .send()
            .await
            .unwrap();
        let r = Self::reply(resp).await;
        assert_eq!(r.status, 200, "{}", r.body);
        r.body["token"].as_str().unwrap().to_owned()
    }

    /// Opens a ticket; returns its EverOS session id.
    pub async fn ticket(&self, token: &str, id: &str, subject: &str) -> String {
        let r = self
            .post(
                "/v1/tickets",
                token,
                json!({"ticket_id": id, "subject": subject}),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
        assert_eq!(
            r.body["ticket"]["id"], id,
            "the customer's ticket id is kept"
        );
        r.body["ticket"]["session_id"].as_str().unwrap().to_owned()
    }

    /// Sends a message as a client would (retrying the same id after 429/503, as the
    /// widget's outbox does); asserts it was answered; returns the response body.
    pub async fn say(&self, token: &str, ticket: &str, content: &str) -> Value {
        let id = uuid::Uuid::new_v4().to_string();
        for _ in 0..20 {
            let r = self.send(token, ticket, &id, content).await;
            if r.status == 429 || r.status == 503 {
                tokio::time::sleep(Duration::from_millis(300)).await;
                continue;
            }
            assert_eq!(r.status, 200, "{}", r.body);
            return r.body;
        }
        panic!("message never answered: {content}");
    }

    /// Sends a message with a given id.
    pub async fn send(&self, token: &str, ticket: &str, id: &str, content: &str) -> Reply {
        self.post(
            &format!("/v1/tickets/{ticket}/messages"),
            token,
            json!({"id": id, "content": content, "sent_at": 1}),
        )
        .await
    }

    /// Closes a ticket; returns the memory outcome.
    pub async fn close(&self, token: &str, ticket: &str) -> String {
        let r = self
            .post(&format!("/v1/tickets/{ticket}/close"), token, json!({}))
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        r.body["memory"].as_str().unwrap().to_owned()
    }

    /// The customer's recalled history (a listing, or for `query`).
    pub async fn history(&self, token: &str, query: Option<&str>) -> Vec<Value> {
        let path = match query {
            Some(q) => format!("/v1/history?query={}", urlencode(q)),
            None => "/v1/history".to_owned(),
        };
        let r = self.get(&path, Some(token)).await;
        assert_eq!(r.status, 200, "{}", r.body);
        r.body["episodes"].as_array().cloned().unwrap_or_default()
    }
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Polls `check` every 250 ms until it returns `Some`, or fails after `secs` seconds
/// saying `what`.
pub async fn eventually<T, F, Fut>(secs: u64, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "not within {secs} s: {what}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// A customer id unique to this run (the real server keeps data across tests).
pub fn unique(prefix: &str) -> String {
    format!(
        "{prefix}_{}",
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    )
}
