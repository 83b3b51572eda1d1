//! EverOS Cloud v1 (legacy) wire format: request bodies under `/api/v1/memories…` and
//! the lenient parsing of `{"data": …}` responses into EverDesk's types (profiles from
//! `data.profiles`, episodes from `data.episodes`, pending user turns from
//! `data.raw_messages`).

use everdesk_api::{HistoryEpisode, MemoryOutcome, ProfileFact};
use serde::Deserialize;
use serde_json::{json, Value};

use super::{
    parse::{flatten_profile, str_field, Pending},
    WireMessage,
};

/// Paths of the v1 routes.
pub const ADD: &str = "/api/v1/memories";
/// Flush.
pub const FLUSH: &str = "/api/v1/memories/flush";
/// Search.
pub const SEARCH: &str = "/api/v1/memories/search";
/// Delete.
pub const DELETE: &str = "/api/v1/memories/delete";

/// `POST /api/v1/memories` body (`sender_name` is not part of v1 and is left out).
pub fn add_body(user_id: &str, session_id: &str, messages: &[WireMessage<'_>]) -> Value {
    let messages: Vec<Value> = messages
        .iter()
        .map(|m| json!({"role": m.role, "timestamp": m.timestamp, "content": m.content}))
        .collect();
    json!({
        "user_id": user_id,
        "session_id": session_id,
        "async_mode": false,
        "messages": messages,
    })
}

/// `POST /api/v1/memories/flush` body.
pub fn flush_body(user_id: &str, session_id: &str) -> Value {
    json!({"user_id": user_id, "session_id": session_id})
}

/// `POST /api/v1/memories/search` body, always filtered to one customer.
pub fn search_body(
    user_id: &str,
    session_id: Option<&str>,
    query: &str,
    method: &str,
    memory_type: &str,
    top_k: u32,
) -> Value {
    let filters = match session_id {
        Some(s) => json!({"user_id": user_id, "session_id": s}),
        None => json!({"user_id": user_id}),
    };
    json!({
        "filters": filters,
        "query": query,
        "method": method,
        "memory_types": [memory_type],
        "top_k": top_k.clamp(1, 100),
    })
}

/// `POST /api/v1/memories/delete` body: everything of one customer.
pub fn delete_user_body(user_id: &str) -> Value {
    json!({"user_id": user_id})
}

#[derive(Debug, Deserialize)]
struct Envelope<T> {
    data: T,
}

#[derive(Debug, Default, Deserialize)]
struct StatusData {
    #[serde(default)]
    status: Option<String>,
}

/// The flush outcome in a flush response.
pub fn parse_flush(body: &[u8]) -> Option<MemoryOutcome> {
    let env: Envelope<StatusData> = serde_json::from_slice(body).ok()?;
    Some(match env.data.status.as_deref() {
        Some("extracted") => MemoryOutcome::Extracted,
        _ => MemoryOutcome::NoExtraction,
    })
}

#[derive(Debug, Default, Deserialize)]
struct SearchData {
    #[serde(default)]
    episodes: Vec<Value>,
    #[serde(default)]
    profiles: Vec<Value>,
    #[serde(default)]
    raw_messages: Vec<Value>,
}

fn search_data(body: &[u8]) -> Option<SearchData> {
    serde_json::from_slice::<Envelope<SearchData>>(body)
        .ok()
        .map(|e| e.data)
}

/// Profile facts from `data.profiles` (never `data.episodes`): `embed_text` items, or
/// whole profiles flattened by [`flatten_profile`].
pub fn parse_profiles(body: &[u8]) -> Option<Vec<ProfileFact>> {
    let data = search_data(body)?;
    let mut facts = Vec::new();
    for hit in &data.profiles {
        let Some(pd) = hit.get("profile_data") else {
            continue;
        };
        if let Some(text) = str_field(pd, "embed_text") {
            facts.push(ProfileFact {
                text: text.to_owned(),
                kind: str_field(pd, "item_type").map(str::to_owned),
            });
            continue;
        }
        facts.extend(flatten_profile(pd));
    }
    Some(facts)
}

/// Episodes from `data.episodes`.
pub fn parse_episodes(body: &[u8]) -> Option<Vec<HistoryEpisode>> {
    let data = search_data(body)?;
    Some(
        data.episodes
            .iter()
            .filter_map(super::parse::episode)
            .collect(),
    )
}

/// The still-buffered turns in `data.raw_messages`.
pub fn parse_pending(body: &[u8]) -> Option<Vec<Pending>> {
    let data = search_data(body)?;
    Some(
        data.raw_messages
            .iter()
            .filter_map(super::parse::pending)
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profiles_come_from_data_profiles_in_both_shapes() {
        let body = json!({"data": {"episodes": [{"id": "e", "summary": "not a profile"}], "profiles": [
            {"id": "p1", "profile_data": {"item_type": "explicit_info", "embed_text": "Name: Ada"}},
            {"id": "p2", "profile_data": {"explicit_info": {"Plan": "Pro"}, "implicit_traits": {"Tone": "terse"}}}
        ]}});
        let facts = parse_profiles(body.to_string().as_bytes()).unwrap();
        let texts: Vec<_> = facts.iter().map(|f| f.text.as_str()).collect();
        assert_eq!(texts, ["Name: Ada", "Plan: Pro", "Tone: terse"]);
        assert_eq!(facts[2].kind.as_deref(), Some("implicit_trait"));
    }

    #[test]
    fn episodes_and_raw_messages_parse_leniently() {
        let body = json!({"data": {"episodes": [
            {"id": "e1", "session_id": "ticket_1", "subject": "Refund", "summary": "Charged twice",
             "timestamp": "1970-01-01T00:00:01Z", "score": 0.5},
            {"summary": "no id, skipped"}
        ], "raw_messages": [{"id": "r", "request_id": "q", "content_items": [{"type": "text", "text": "hello"}]}]}});
        let bytes = body.to_string();
        let eps = parse_episodes(bytes.as_bytes()).unwrap();
        assert_eq!(eps.len(), 1);
        assert_eq!((eps[0].at, eps[0].score), (Some(1000), Some(0.5)));
        let pending = parse_pending(bytes.as_bytes()).unwrap();
        assert_eq!(pending[0].text, "hello");
        assert!(parse_episodes(b"<html>").is_none());
    }
}
