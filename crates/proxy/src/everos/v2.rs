//! EverOS v2 wire format (`/api/v2/memory/…`, everos-v2.md §2): the self-hosted server
//! (PyPI `everos` 1.x) and EverOS Cloud v2. Request bodies, and the lenient parsing of
//! the `{"request_id", "data": …}` envelope into EverDesk's types.
//!
//! Rules the bodies follow (§3): no `user_id` on add (ownership comes from each user
//! turn's `sender_id`); `async_mode` always explicit (its default differs between
//! self-hosted and Cloud); `defer_extraction: true` (buffer only; the proxy flushes when
//! a ticket closes or escalates); an explicit `top_k` on every search (`-1` hides a
//! cosine floor); the owner at the top level (`filters.user_id` is refused).

use everdesk_api::{HistoryEpisode, MemoryOutcome, ProfileFact};
use serde::Deserialize;
use serde_json::{json, Value};

use super::{
    ids::BOT_SENDER_ID,
    parse::{flatten_profile, Pending},
    WireMessage,
};

/// Add.
pub const ADD: &str = "/api/v2/memory/add";
/// Flush.
pub const FLUSH: &str = "/api/v2/memory/flush";
/// Search.
pub const SEARCH: &str = "/api/v2/memory/search";
/// Get (paginated listing).
pub const GET: &str = "/api/v2/memory/get";
/// Delete (Cloud v2, self-hosted ≥ 1.6; absent on 1.5.1).
pub const DELETE: &str = "/api/v2/memory/delete";
/// Health and capabilities.
pub const HEALTH: &str = "/health";

/// `POST /api/v2/memory/add`: user turns are sent by `owner`, bot turns by
/// [`BOT_SENDER_ID`].
pub fn add_body(owner: &str, session_id: &str, messages: &[WireMessage<'_>]) -> Value {
    let messages: Vec<Value> = messages
        .iter()
        .map(|m| {
            let sender = if m.role == "user" {
                owner
            } else {
                BOT_SENDER_ID
            };
            let mut v = json!({
                "sender_id": sender,
                "role": m.role,
                "timestamp": m.timestamp,
                "content": m.content,
            });
            if let Some(name) = m.sender_name.filter(|n| !n.trim().is_empty()) {
                v["sender_name"] = json!(name);
            }
            v
        })
        .collect();
    json!({
        "session_id": session_id,
        "messages": messages,
        "async_mode": false,
        "defer_extraction": true,
    })
}

/// `POST /api/v2/memory/flush`.
pub fn flush_body(session_id: &str) -> Value {
    json!({ "session_id": session_id })
}

/// `POST /api/v2/memory/search` for `owner`'s episodes. `session_id`, when given, must
/// be a session bound to `owner` (see `ids`): a session filter returns whoever's
/// buffered messages are in it.
pub fn search_body(
    owner: &str,
    query: &str,
    method: &str,
    top_k: u32,
    session_id: Option<&str>,
) -> Value {
    let mut body = json!({
        "user_id": owner,
        "query": query,
        "method": method,
        "top_k": top_k.clamp(1, 100),
    });
    if let Some(s) = session_id {
        body["filters"] = json!({ "session_id": s });
    }
    body
}

/// `POST /api/v2/memory/get` of `owner`'s profile document or newest episodes.
pub fn get_body(owner: &str, memory_type: &str, page_size: u32) -> Value {
    json!({
        "user_id": owner,
        "memory_type": memory_type,
        "page": 1,
        "page_size": page_size.clamp(1, 100),
        "sort_by": "timestamp",
        "sort_order": "desc",
    })
}

/// `POST /api/v2/memory/delete`: everything of one owner.
pub fn delete_body(owner: &str) -> Value {
    json!({ "user_id": owner })
}

#[derive(Debug, Deserialize)]
struct Envelope<T> {
    data: T,
}

#[derive(Debug, Default, Deserialize)]
struct Lists {
    #[serde(default)]
    episodes: Vec<Value>,
    #[serde(default)]
    profiles: Vec<Value>,
    #[serde(default)]
    unprocessed_messages: Vec<Value>,
}

fn lists(body: &[u8]) -> Option<Lists> {
    serde_json::from_slice::<Envelope<Lists>>(body)
        .ok()
        .map(|e| e.data)
}

#[derive(Debug, Default, Deserialize)]
struct StatusData {
    #[serde(default)]
    status: Option<String>,
}

/// A flush's outcome: `extracted`, `no_extraction`, or `queued` (202, extraction on its
/// way: reported as extracted).
pub fn parse_flush(body: &[u8]) -> Option<MemoryOutcome> {
    let env: Envelope<StatusData> = serde_json::from_slice(body).ok()?;
    Some(match env.data.status.as_deref() {
        Some("no_extraction") => MemoryOutcome::NoExtraction,
        _ => MemoryOutcome::Extracted,
    })
}

/// Episodes from `data.episodes` (search or get).
pub fn parse_episodes(body: &[u8]) -> Option<Vec<HistoryEpisode>> {
    Some(
        lists(body)?
            .episodes
            .iter()
            .filter_map(super::parse::episode)
            .collect(),
    )
}

/// The facts of the one profile document in `data.profiles`.
pub fn parse_profile(body: &[u8]) -> Option<Vec<ProfileFact>> {
    Some(
        lists(body)?
            .profiles
            .iter()
            .filter_map(|p| p.get("profile_data"))
            .flat_map(flatten_profile)
            .collect(),
    )
}

/// The still-buffered messages in `data.unprocessed_messages`.
pub fn parse_pending(body: &[u8]) -> Option<Vec<Pending>> {
    Some(
        lists(body)?
            .unprocessed_messages
            .iter()
            .filter_map(super::parse::pending)
            .collect(),
    )
}

/// What `GET /health` says the server can do.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Health {
    /// Server version, when given.
    pub version: Option<String>,
    /// Embeddings configured: vector and hybrid search work.
    pub embed: bool,
}

/// Reads `GET /health`: `{"status", "version", "capabilities": {"embed", …}}`.
pub fn parse_health(body: &[u8]) -> Option<Health> {
    let v: Value = serde_json::from_slice(body).ok()?;
    let caps = v.get("capabilities")?;
    Some(Health {
        version: v
            .get("version")
            .and_then(Value::as_str)
            .filter(|s| s.len() <= 64)
            .map(str::to_owned),
        embed: caps.get("embed").and_then(Value::as_bool).unwrap_or(false),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn turn<'a>(role: &'a str, content: &'a str, name: Option<&'a str>) -> WireMessage<'a> {
        WireMessage {
            role,
            timestamp: 1_700_000_000_000,
            content,
            sender_name: name,
        }
    }

    #[test]
    fn adds_defer_extraction_and_name_each_sender() {
        let body = add_body(
            "visitor_1",
            "ticket_T-1_ab",
            &[
                turn("user", "hi", Some("Dana")),
                turn("assistant", "hello", None),
            ],
        );
        assert_eq!(body["async_mode"], json!(false));
        assert_eq!(body["defer_extraction"], json!(true));
        assert!(body.get("user_id").is_none(), "v2 add has no user_id");
        assert_eq!(body["messages"][0]["sender_id"], "visitor_1");
        assert_eq!(body["messages"][0]["sender_name"], "Dana");
        assert_eq!(body["messages"][1]["sender_id"], BOT_SENDER_ID);
        assert!(body["messages"][1].get("sender_name").is_none());
    }

    #[test]
    fn searches_name_the_owner_at_the_top_with_an_explicit_top_k() {
        let body = search_body("u", "refund", "hybrid", 0, None);
        assert_eq!(body["top_k"], 1);
        assert_eq!(body["user_id"], "u");
        assert!(body.get("filters").is_none() && body.get("memory_types").is_none());
        let scoped = search_body("u", "x", "keyword", 500, Some("ticket_1_ab"));
        assert_eq!(scoped["top_k"], 100);
        assert_eq!(scoped["filters"], json!({"session_id": "ticket_1_ab"}));
    }

    #[test]
    fn responses_parse_in_the_v2_envelope() {
        let search = json!({"request_id": "0123", "data": {
            "episodes": [{"id": "u_ep_20261206_1", "user_id": "u", "session_id": "ticket_1_ab",
                          "timestamp": "2026-11-11T12:26:40Z", "sender_ids": ["u"], "subject": "Refund",
                          "summary": "Charged twice", "episode": "…", "score": 0.8}],
            "profiles": [{"profile_data": {"explicit_info": [{"category": "name", "description": "Dana"}]}}],
            "agent_cases": [], "agent_skills": [],
            "unprocessed_messages": [{"message_id": "m_ticket_1_ab_1700000000000_0", "role": "user",
                                      "sender_id": "u", "content": "yes"}]}})
        .to_string();
        let eps = parse_episodes(search.as_bytes()).unwrap();
        assert_eq!(
            (eps[0].subject.as_deref(), eps[0].at),
            (Some("Refund"), Some(1_794_400_000_000))
        );
        assert_eq!(
            parse_profile(search.as_bytes()).unwrap()[0].text,
            "Name: Dana"
        );
        assert_eq!(
            parse_pending(search.as_bytes()).unwrap()[0].timestamp,
            Some(1_700_000_000_000)
        );
        assert_eq!(
            parse_flush(br#"{"request_id":"x","data":{"status":"no_extraction"}}"#),
            Some(MemoryOutcome::NoExtraction)
        );
        assert_eq!(
            parse_flush(br#"{"request_id":"x","data":{"status":"queued"}}"#),
            Some(MemoryOutcome::Extracted)
        );
        assert!(parse_episodes(br#"{"detail":"Not Found"}"#).is_none());
        let health = parse_health(
            br#"{"status":"ok","version":"1.5.1","capabilities":{"llm":true,"embed":false}}"#,
        )
        .unwrap();
        assert_eq!(
            (health.version.as_deref(), health.embed),
            (Some("1.5.1"), false)
        );
    }
}
