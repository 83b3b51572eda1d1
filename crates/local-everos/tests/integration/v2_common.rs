//! Helpers for the v2 tests: requests to `/api/v2/…` on a real server, message builders.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::common::{Srv, T0};

/// One v2 message.
pub fn m(sender: &str, role: &str, ts: i64, text: &str) -> Value {
    json!({"sender_id": sender, "role": role, "timestamp": ts, "content": text})
}

/// A user turn by `user` at `T0 + i s` answered by the bot one second later.
pub fn ticket(user: &str, at: i64, question: &str, answer: &str) -> Value {
    json!([
        m(user, "user", T0 + at * 1000, question),
        m("everdesk_bot", "assistant", T0 + at * 1000 + 1000, answer),
    ])
}

/// Asserts the success envelope and returns `data`.
pub fn data(status: StatusCode, body: &Value, want: u16) -> Value {
    assert_eq!(status.as_u16(), want, "{body}");
    let rid = body["request_id"].as_str().unwrap_or_default();
    assert!(
        rid.len() == 32 && rid.chars().all(|c| c.is_ascii_hexdigit()),
        "request_id: {body}"
    );
    body["data"].clone()
}

impl Srv {
    /// Adds (sync, `defer_extraction` as given); asserts 200 and returns `data`.
    pub async fn v2_add(&self, session: &str, messages: Value, defer: bool) -> Value {
        let (s, b) = self
            .post(
                "/api/v2/memory/add",
                json!({"session_id": session, "messages": messages, "defer_extraction": defer, "async_mode": false}),
            )
            .await;
        data(s, &b, 200)
    }

    /// Flushes; asserts 200 and returns `data.status`.
    pub async fn v2_flush(&self, session: &str) -> String {
        let (s, b) = self
            .post("/api/v2/memory/flush", json!({"session_id": session}))
            .await;
        data(s, &b, 200)["status"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// Searches; asserts 200 and the five lists, returns `data`.
    pub async fn v2_search(&self, body: Value) -> Value {
        let (s, b) = self.post("/api/v2/memory/search", body).await;
        let d = data(s, &b, 200);
        for list in [
            "episodes",
            "profiles",
            "agent_cases",
            "agent_skills",
            "unprocessed_messages",
        ] {
            assert!(d[list].is_array(), "{list} missing: {d}");
        }
        d
    }

    /// Keyword-free episode search of a user (hybrid, explicit top_k).
    pub async fn v2_episodes(&self, user: &str, query: &str) -> Vec<Value> {
        let d = self
            .v2_search(json!({"user_id": user, "query": query, "method": "hybrid", "top_k": 20}))
            .await;
        d["episodes"].as_array().cloned().unwrap_or_default()
    }

    /// Lists; asserts 200 and returns `data`.
    pub async fn v2_get(&self, body: Value) -> Value {
        let (s, b) = self.post("/api/v2/memory/get", body).await;
        data(s, &b, 200)
    }

    /// All episodes of a user via `get`.
    pub async fn v2_get_episodes(&self, user: &str) -> Vec<Value> {
        let d = self
            .v2_get(json!({"user_id": user, "memory_type": "episode", "page_size": 100}))
            .await;
        d["episodes"].as_array().cloned().unwrap_or_default()
    }

    /// The user's profile document via `get` (None when there is none).
    pub async fn v2_profile(&self, user: &str) -> Option<Value> {
        let d = self
            .v2_get(json!({"user_id": user, "memory_type": "profile"}))
            .await;
        d["profiles"].as_array().and_then(|p| p.first().cloned())
    }

    /// A session's buffered messages as another user sees them (the session filter).
    pub async fn v2_unprocessed(&self, as_user: &str, session: &str) -> Vec<Value> {
        let d = self
            .v2_search(
                json!({"user_id": as_user, "query": "anything", "method": "keyword", "top_k": 10,
                              "filters": {"session_id": session}}),
            )
            .await;
        d["unprocessed_messages"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    /// Expects a v2 handled error: status, code, a message containing `needle`; returns it.
    pub async fn v2_error(
        &self,
        path: &str,
        body: Value,
        status: u16,
        code: &str,
        needle: &str,
    ) -> Value {
        let (s, b) = self.post(path, body.clone()).await;
        assert_eq!(s.as_u16(), status, "{path} {body} -> {b}");
        assert_v2_error(&b, code, path);
        let msg = b["error"]["message"].as_str().unwrap_or_default();
        assert!(msg.contains(needle), "{body}: {msg:?} lacks {needle:?}");
        b
    }
}

/// Asserts the v2 handled-error shape.
pub fn assert_v2_error(b: &Value, code: &str, path: &str) {
    let rid = b["request_id"].as_str().unwrap_or_default();
    assert!(
        rid.len() == 32 && rid.chars().all(|c| c.is_ascii_hexdigit()),
        "{b}"
    );
    assert_eq!(b["error"]["code"], code, "{b}");
    assert_eq!(b["error"]["path"], path, "{b}");
    for key in ["message", "timestamp"] {
        assert!(b["error"][key].is_string(), "{key} in {b}");
    }
    assert_eq!(
        b.as_object().map(|o| o.len()),
        Some(2),
        "only request_id and error: {b}"
    );
}
