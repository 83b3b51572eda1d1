//! EverOS Cloud v1 wire format: request bodies and the lenient parsing of `{"data": …}`
//! responses into EverDesk's types (profiles from `data.profiles`, episodes from
//! `data.episodes`, pending user turns from `data.raw_messages`).

use everdesk_api::{HistoryEpisode, MemoryOutcome, ProfileFact};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// One message of an add.
#[derive(Debug, Clone, Serialize)]
pub struct WireMessage<'a> {
    /// `user` or `assistant`.
    pub role: &'a str,
    /// Strictly increasing epoch ms.
    pub timestamp: i64,
    /// Text.
    pub content: &'a str,
}

/// `POST /api/v1/memories` body.
pub fn add_body(user_id: &str, session_id: &str, messages: &[WireMessage<'_>]) -> Value {
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

fn str_field<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str).filter(|s| !s.is_empty())
}

/// Profile facts from `data.profiles` (never `data.episodes`): `embed_text` items, or a
/// whole profile's `explicit_info`/`implicit_traits` maps flattened to `Key: value`.
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
        for (section, kind) in [
            ("explicit_info", "explicit_info"),
            ("implicit_traits", "implicit_trait"),
        ] {
            if let Some(map) = pd.get(section).and_then(Value::as_object) {
                for (k, v) in map {
                    let value = v
                        .as_str()
                        .map(str::to_owned)
                        .unwrap_or_else(|| v.to_string());
                    facts.push(ProfileFact {
                        text: format!("{k}: {value}"),
                        kind: Some(kind.to_owned()),
                    });
                }
            }
        }
    }
    Some(facts)
}

/// Episodes from `data.episodes`.
pub fn parse_episodes(body: &[u8]) -> Option<Vec<HistoryEpisode>> {
    let data = search_data(body)?;
    Some(
        data.episodes
            .iter()
            .filter_map(|ep| {
                let id = str_field(ep, "id")?.to_owned();
                let subject = str_field(ep, "subject").map(str::to_owned);
                let summary = str_field(ep, "summary")
                    .or_else(|| str_field(ep, "episode"))
                    .or(subject.as_deref())
                    .unwrap_or_default()
                    .to_owned();
                Some(HistoryEpisode {
                    id,
                    session_id: str_field(ep, "session_id").unwrap_or_default().to_owned(),
                    subject,
                    summary,
                    at: str_field(ep, "timestamp").and_then(parse_iso_ms),
                    score: ep.get("score").and_then(Value::as_f64),
                })
            })
            .collect(),
    )
}

/// Texts of the still-buffered user turns in `data.raw_messages`.
pub fn parse_raw_texts(body: &[u8]) -> Option<Vec<String>> {
    let data = search_data(body)?;
    let mut out = Vec::new();
    for m in &data.raw_messages {
        let items = m.get("content_items").and_then(Value::as_array);
        for item in items.into_iter().flatten() {
            if let Some(t) = str_field(item, "text").or_else(|| str_field(item, "content")) {
                out.push(t.to_owned());
            }
        }
        if let Some(t) = str_field(m, "content") {
            out.push(t.to_owned());
        }
    }
    Some(out)
}

/// `2026-03-01T10:00:00Z` / `…T10:00:00.123+00:00` → epoch ms (offsets honoured).
pub fn parse_iso_ms(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() < 19 || b[4] != b'-' || b[7] != b'-' || b[13] != b':' || b[16] != b':' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| s.get(r)?.parse::<i64>().ok();
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
    let mut rest = &s[19..];
    let mut ms = 0;
    if let Some(frac) = rest.strip_prefix('.') {
        let digits: String = frac.chars().take_while(char::is_ascii_digit).collect();
        rest = &frac[digits.len()..];
        ms = format!("{digits:0<3}").get(0..3)?.parse().ok()?;
    }
    let offset_min = match rest {
        "" | "Z" | "z" => 0,
        o if o.len() == 6 && (o.starts_with('+') || o.starts_with('-')) => {
            let sign = if o.starts_with('-') { -1 } else { 1 };
            sign * (o.get(1..3)?.parse::<i64>().ok()? * 60 + o.get(4..6)?.parse::<i64>().ok()?)
        }
        _ => return None,
    };
    // Days from civil (Howard Hinnant's algorithm).
    let y2 = if mo <= 2 { y - 1 } else { y };
    let era = y2.div_euclid(400);
    let yoe = y2 - era * 400;
    let mp = (mo + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(((days * 86_400 + h * 3600 + mi * 60 + sec - offset_min * 60) * 1000) + ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_timestamps_parse_to_epoch_ms() {
        assert_eq!(parse_iso_ms("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(
            parse_iso_ms("2026-11-11T12:26:40Z"),
            Some(1_794_400_000_000)
        );
        assert_eq!(
            parse_iso_ms("2026-11-11T13:26:40.5+01:00"),
            Some(1_794_400_000_500)
        );
        assert_eq!(parse_iso_ms("yesterday"), None);
    }

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
        assert_eq!(parse_raw_texts(bytes.as_bytes()).unwrap(), ["hello"]);
        assert!(parse_episodes(b"<html>").is_none());
    }
}
