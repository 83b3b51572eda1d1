//! The v2 wire views of stored records: episode items (search and get), the one profile
//! document per user, unprocessed (buffered) messages and atomic facts.

use serde_json::{json, Map, Value};

use crate::clock::iso_v2;
use crate::model::{BufferedMessage, Episode, ItemType, ProfileItem};
use crate::text::{sentences, tokens};

/// The scope every item reports (local-everos serves only the default scope).
const SCOPE: &str = "default";

fn object(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

/// `GetEpisodeItem`: `{id, user_id, app_id, project_id, session_id, timestamp, sender_ids,
/// summary, subject, episode, type}`; `timestamp` is the last message's time to the
/// second, as the real server stores it.
pub fn episode_item(e: &Episode) -> Value {
    json!({
        "id": e.id, "user_id": e.user_id, "app_id": SCOPE, "project_id": SCOPE,
        "session_id": e.session_id, "timestamp": iso_v2(e.timestamp_ms - e.timestamp_ms.rem_euclid(1000)),
        "sender_ids": e.participants, "summary": e.summary, "subject": e.subject,
        "episode": e.episode, "type": "Conversation",
    })
}

/// `SearchEpisodeItem`: the get item plus `score` and `atomic_facts`.
pub fn episode_hit(e: &Episode, score: f64, atomic_facts: Vec<Value>) -> Value {
    let mut m = object(episode_item(e));
    m.insert("score".into(), json!(score));
    m.insert("atomic_facts".into(), Value::Array(atomic_facts));
    Value::Object(m)
}

/// Atomic facts of an episode for a query (hybrid only): the summary's sentences that
/// share a query term, `{id, content, score}` with the share of query terms as score,
/// best first, at most `max`.
pub fn atomic_facts(e: &Episode, terms: &[String], max: usize) -> Vec<Value> {
    let mut scored: Vec<(usize, String, f64)> = sentences(&e.summary)
        .into_iter()
        .enumerate()
        .filter_map(|(i, s)| {
            let have = tokens(&s);
            let hits = terms.iter().filter(|t| have.contains(t)).count();
            (hits > 0).then(|| (i, s, hits as f64 / terms.len().max(1) as f64))
        })
        .collect();
    scored.sort_by(|a, b| b.2.total_cmp(&a.2).then(a.0.cmp(&b.0)));
    scored
        .into_iter()
        .take(max)
        .map(|(i, content, score)| json!({"id": fact_id(e, i), "content": content, "score": score}))
        .collect()
}

/// The id of an episode's `i`-th fact: `<user>_af_<YYYYMMDD>_<NNNNNNNN>` like the real
/// server's, numbered from the v2 episode's sequence (`(seq - 1) * 100 + i + 1`); a v1
/// episode (ObjectId) gets `<episode id>_af_<NN>`.
fn fact_id(e: &Episode, i: usize) -> String {
    let parsed =
        e.id.strip_prefix(&format!("{}_ep_", e.user_id))
            .and_then(|rest| rest.split_once('_'))
            .and_then(|(date, seq)| Some((date, seq.parse::<u64>().ok()?)));
    match parsed {
        Some((date, seq)) => format!(
            "{}_af_{date}_{:08}",
            e.user_id,
            seq.saturating_sub(1) * 100 + i as u64 + 1
        ),
        None => format!("{}_af_{:02}", e.id, i + 1),
    }
}

/// The profile document of a user (`profile_data.{summary, explicit_info,
/// implicit_traits, profile_timestamp_ms}`), or `None` without items. `with_score` adds
/// the search item's `score: null`.
pub fn profile_doc(user_id: &str, items: &[ProfileItem], with_score: bool) -> Option<Value> {
    if items.is_empty() {
        return None;
    }
    let mut explicit = Vec::new();
    let mut implicit = Vec::new();
    for item in items {
        let f = &item.fact;
        match f.item_type {
            ItemType::ExplicitInfo => explicit.push(json!({
                "category": f.key_category(), "description": f.value, "evidence": item.evidence,
            })),
            ItemType::ImplicitTrait => implicit.push(json!({
                "trait": f.key_category(), "description": f.value,
                "basis": "stated by the user in a conversation", "evidence": item.evidence,
            })),
        }
    }
    let summary = explicit
        .first()
        .or(implicit.first())
        .and_then(|v| v["description"].as_str())
        .unwrap_or("(no summary)")
        .to_owned();
    let ts = items.iter().map(|i| i.source_ts_ms).max().unwrap_or(0);
    let mut doc = json!({
        "id": user_id, "user_id": user_id, "app_id": SCOPE, "project_id": SCOPE,
        "profile_data": {
            "summary": summary, "explicit_info": explicit, "implicit_traits": implicit,
            "profile_timestamp_ms": ts,
        },
    });
    if with_score {
        doc["score"] = Value::Null;
    }
    Some(doc)
}

/// `UnprocessedMessageDTO`: a single text item collapses to its string, like the add's
/// `content` shorthand.
pub fn unprocessed(m: &BufferedMessage) -> Value {
    let content = match &m.content_items {
        Value::Array(items)
            if items.len() == 1 && items[0]["type"] == "text" && items[0]["text"].is_string() =>
        {
            items[0]["text"].clone()
        }
        other => other.clone(),
    };
    json!({
        "id": m.message_id, "app_id": SCOPE, "project_id": SCOPE, "session_id": m.session_id,
        "sender_id": m.sender_id, "sender_name": m.sender_name, "role": m.role,
        "content": content, "timestamp": iso_v2(m.timestamp_ms), "tool_calls": null,
        "tool_call_id": null,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn episode(id: &str) -> Episode {
        Episode {
            id: id.into(),
            user_id: "cust_1".into(),
            group_id: String::new(),
            session_id: "s".into(),
            timestamp_ms: 1_794_400_000_999,
            participants: vec!["cust_1".into()],
            subject: "Router".into(),
            summary: "The router reboots. Support answered: reset it.".into(),
            episode: "e".into(),
            parent_id: "p".into(),
            visible_ms: 0,
        }
    }

    #[test]
    fn facts_and_items_take_the_real_shapes() {
        let e = episode("cust_1_ep_20261111_00000002");
        let facts = atomic_facts(&e, &["reset".to_owned()], 5);
        assert_eq!(facts.len(), 1);
        assert_eq!(facts[0]["id"], "cust_1_af_20261111_00000102");
        assert_eq!(facts[0]["content"], "Support answered: reset it.");
        assert_eq!(
            fact_id(&episode("65a1b2c3d4e5f60718293a4b"), 0),
            "65a1b2c3d4e5f60718293a4b_af_01"
        );
        let item = episode_item(&e);
        assert_eq!(item["timestamp"], "2026-11-11T12:26:40Z", "to the second");
        assert_eq!(item["type"], "Conversation");
    }
}
