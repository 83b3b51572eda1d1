//! Recall by meaning in the product: the proxy started like production (`AppState::start`,
//! no EverOS URL, a data dir) runs the embedded EverOS with the embedding model, sees
//! `embed` in its `/health` and searches hybrid, so a follow-up worded differently from
//! an earlier closed ticket is recognised. With `--embedding-model off` the same follow-up
//! is searched by keyword and the earlier ticket is missed. These tests FAIL without the
//! model (`scripts/setup` fetches it).

use std::{net::SocketAddr, path::PathBuf};

use everdesk_proxy::{app, identity::hmac_hash, AppState, Config, Embedded};
use serde_json::{json, Value};

use crate::common::SECRET;

/// `$LOCAL_EVEROS_EMBEDDING_MODEL`, else the cache `scripts/setup` fills; panics when
/// neither holds the model.
fn model_dir() -> PathBuf {
    let dir = std::env::var_os("LOCAL_EVEROS_EMBEDDING_MODEL")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .or_else(local_everos::embed::default_model_dir)
        .expect("no home directory for the model cache");
    assert!(
        local_everos::embed::looks_like_model(&dir),
        "the all-MiniLM-L6-v2 model is not in {}: run scripts/setup",
        dir.display()
    );
    dir
}

struct Product {
    base: String,
    http: reqwest::Client,
    _embedded: Embedded,
    _dir: tempfile::TempDir,
}

impl Product {
    async fn start(model: PathBuf) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut c = Config::for_tests();
        c.data_dir = dir.path().join("data");
        c.identity_secret = Some(SECRET.into());
        c.embedding_model = Some(model);
        assert!(c.everos_base_url.is_none());
        c.database_url = crate::common::suite_database().await;
        let (state, embedded) = AppState::start(c).await.unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let router = app(state).into_make_service_with_connect_info::<SocketAddr>();
        tokio::spawn(async move { axum::serve(listener, router).await });
        Self {
            base,
            http: reqwest::Client::new(),
            _embedded: embedded.expect("no EverOS URL: the embedded EverOS runs"),
            _dir: dir,
        }
    }

    async fn post(&self, path: &str, token: Option<&str>, body: Value) -> Value {
        let mut req = self.http.post(format!("{}{path}", self.base)).json(&body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status();
        let body: Value = resp.json().await.unwrap();
        assert!(status.is_success(), "{path}: {status} {body}");
        body
    }

    /// `/readyz`'s JSON.
    async fn readyz(&self) -> Value {
        let resp = self.http.get(format!("{}/readyz", self.base)).send();
        resp.await.unwrap().json().await.unwrap()
    }

    async fn session(&self, user: &str) -> String {
        let hash = hmac_hash::compute(SECRET.as_bytes(), user);
        let s = self
            .post(
                "/v1/session",
                None,
                json!({"user_id": user, "user_hash": hash}),
            )
            .await;
        s["token"].as_str().unwrap().to_owned()
    }

    /// A closed ticket of one message.
    async fn closed_ticket(&self, token: &str, id: &str, subject: &str, text: &str) {
        self.post(
            "/v1/tickets",
            Some(token),
            json!({"ticket_id": id, "subject": subject}),
        )
        .await;
        self.say(token, id, text).await;
        let closed = self
            .post(&format!("/v1/tickets/{id}/close"), Some(token), json!({}))
            .await;
        assert_eq!(closed["memory"], "extracted", "{closed}");
    }

    async fn say(&self, token: &str, ticket: &str, text: &str) -> Value {
        self.post(
            &format!("/v1/tickets/{ticket}/messages"),
            Some(token),
            json!({"id": format!("{ticket}-m"), "content": text, "sent_at": 1}),
        )
        .await
    }

    /// Two closed tickets (the password one, then an unrelated one), then the follow-up
    /// worded differently; returns the session token and the follow-up's response.
    async fn follow_up(&self) -> (String, Value) {
        let t = self.session("cust_recall").await;
        self.closed_ticket(
            &t,
            "pw",
            "Password reset",
            "my password reset email does not arrive",
        )
        .await;
        self.closed_ticket(
            &t,
            "paper",
            "Contract copy",
            "can I get a paper copy of my contract",
        )
        .await;
        self.post(
            "/v1/tickets",
            Some(&t),
            json!({"ticket_id": "again", "subject": "Still locked out"}),
        )
        .await;
        let r = self
            .say(&t, "again", "the recovery link never reached my inbox")
            .await;
        (t, r)
    }
}

#[tokio::test]
async fn the_product_recognises_a_differently_worded_follow_up() {
    let p = Product::start(model_dir()).await;
    let (t, r) = p.follow_up().await;
    let reply = r["reply"]["content"].as_str().unwrap();
    assert!(
        reply.contains(
            "I see you had a similar issue before: my password reset email does not arrive"
        ),
        "{reply}"
    );
    let history = r["context"]["history"].as_array().unwrap();
    assert!(
        history[0]["session_id"].as_str().unwrap().contains("pw"),
        "the password ticket first: {history:?}"
    );
    // The hand-off's relevant history finds it too.
    let h = p
        .post("/v1/tickets/again/escalate", Some(&t), json!({}))
        .await;
    let relevant = h["handoff"]["relevant_history"].to_string();
    assert!(relevant.contains("password reset"), "{h}");
    let ready = p.readyz().await;
    assert_eq!(ready["everos"]["embeddings"], true, "{ready}");
    assert_eq!(ready["everos"]["search_method"], "hybrid", "{ready}");
}

#[tokio::test]
async fn without_the_model_the_follow_up_is_searched_by_keyword() {
    let p = Product::start(PathBuf::from("off")).await;
    let (_, r) = p.follow_up().await;
    let reply = r["reply"]["content"].as_str().unwrap();
    assert!(!reply.contains("password reset"), "{reply}");
    assert!(
        r["context"]["history"]
            .as_array()
            .unwrap()
            .iter()
            .all(|h| !h["session_id"].as_str().unwrap().contains("pw")),
        "{r}"
    );
    let ready = p.readyz().await;
    assert_eq!(ready["everos"]["embeddings"], false, "{ready}");
    assert_eq!(ready["everos"]["search_method"], "keyword", "{ready}");
}

#[test]
fn an_embedding_model_dir_without_the_model_refuses_to_start() {
    let mut c = Config::for_tests();
    c.embedding_model = Some(PathBuf::from("/nonexistent/all-MiniLM-L6-v2"));
    let err = c.validate().unwrap_err().to_string();
    assert!(err.contains("--embedding-model"), "{err}");
    c.embedding_model = Some(PathBuf::from("off"));
    assert!(c.validate().is_ok());
    c.embedding_model = Some(PathBuf::from("/nonexistent/all-MiniLM-L6-v2"));
    c.everos_base_url = Some("http://127.0.0.1:9".into());
    assert!(c.validate().is_ok(), "ignored with an EverOS URL");
}
