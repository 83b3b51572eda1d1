//! Lenient readers shared by both EverOS dialects: fields that may be absent or typed
//! differently across versions (timestamps as ISO strings or epoch numbers, profiles as
//! maps or lists), read into EverDesk's types. Anything unreadable is skipped, never
//! guessed.

use everdesk_api::{HistoryEpisode, ProfileFact};
use serde_json::Value;

/// A non-empty string field.
pub fn str_field<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str).filter(|s| !s.is_empty())
}

/// A timestamp: an ISO-8601 string, or a number of epoch milliseconds (or seconds, as
/// EverOS detects them: below 10^11).
pub fn timestamp_ms(v: &Value) -> Option<i64> {
    match v {
        Value::String(s) => parse_iso_ms(s).or_else(|| s.parse::<f64>().ok().and_then(number_ms)),
        Value::Number(n) => n.as_f64().and_then(number_ms),
        _ => None,
    }
}

fn number_ms(n: f64) -> Option<i64> {
    if !n.is_finite() || n <= 0.0 {
        return None;
    }
    let ms = if n < 1e11 { n * 1000.0 } else { n };
    // Rounded, in range: the float came from JSON and is at most 2^53.
    #[allow(clippy::cast_possible_truncation)]
    Some(ms.round() as i64)
}

/// One episode (v1 search/get item or v2 episode) as recalled history.
pub fn episode(ep: &Value) -> Option<HistoryEpisode> {
    let id = str_field(ep, "id")?.to_owned();
    let subject = str_field(ep, "subject")
        .or_else(|| str_field(ep, "title"))
        .map(str::to_owned);
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
        at: ep.get("timestamp").and_then(timestamp_ms),
        score: ep.get("score").and_then(Value::as_f64),
    })
}

/// The facts of one profile document: v2's lists (`explicit_info: [{category,
/// description}]`, `implicit_traits: [{trait, description}]`, `summary`) or v1's maps
/// (`explicit_info: {Key: value}`), each as `Key: value` with its kind.
pub fn flatten_profile(pd: &Value) -> Vec<ProfileFact> {
    let mut facts = Vec::new();
    for (section, kind, key_field) in [
        ("explicit_info", "explicit_info", "category"),
        ("implicit_traits", "implicit_trait", "trait"),
    ] {
        let fact = |text: String| ProfileFact {
            text,
            kind: Some(kind.to_owned()),
        };
        match pd.get(section) {
            Some(Value::Object(map)) => {
                for (k, v) in map {
                    let value = v
                        .as_str()
                        .map(str::to_owned)
                        .unwrap_or_else(|| v.to_string());
                    facts.push(fact(format!("{k}: {value}")));
                }
            }
            Some(Value::Array(items)) => {
                for item in items {
                    let Some(description) = str_field(item, "description") else {
                        continue;
                    };
                    facts.push(fact(match str_field(item, key_field) {
                        Some(label) => format!("{}: {description}", capitalise(label)),
                        None => description.to_owned(),
                    }));
                }
            }
            _ => {}
        }
    }
    if let Some(summary) = str_field(pd, "summary") {
        facts.push(ProfileFact {
            text: summary.to_owned(),
            kind: Some("summary".to_owned()),
        });
    }
    facts
}

fn capitalise(s: &str) -> String {
    let s = s.replace('_', " ");
    let mut chars = s.chars();
    match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect(),
        None => s,
    }
}

/// A message EverOS still holds in a session's buffer (not yet an episode).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pending {
    /// `user`, `assistant`, … when EverOS says.
    pub role: Option<String>,
    /// Its sender.
    pub sender_id: Option<String>,
    /// Its time as sent, epoch ms, when EverOS says.
    pub timestamp: Option<i64>,
    /// Its text.
    pub text: String,
}

impl Pending {
    /// Whether this is the turn sent at `timestamp` with `content`: by its timestamp,
    /// unique per session (an earlier "ok" with the same text is another turn). When
    /// EverOS reports the time only to the second (a whole second that is the sent
    /// time's second: the proxy's clock never stamps a whole second, so such a time is
    /// always a coarse report), the text must match as well; with no time at all, the
    /// text alone.
    pub fn is_turn(&self, content: &str, timestamp: i64) -> bool {
        match self.timestamp {
            Some(ts) if ts == timestamp => true,
            Some(ts)
                if ts.rem_euclid(1000) == 0 && ts == timestamp - timestamp.rem_euclid(1000) =>
            {
                self.text == content
            }
            Some(_) => false,
            None => self.text == content,
        }
    }
}

/// One buffered message: v1's `RawMessageDto` (`content_items`) or v2's
/// `unprocessed_messages` item (`content` string or items).
pub fn pending(m: &Value) -> Option<Pending> {
    let mut text = String::new();
    match m.get("content") {
        Some(Value::String(s)) => text.push_str(s),
        Some(Value::Array(items)) => push_items(&mut text, items),
        _ => {}
    }
    if let Some(items) = m.get("content_items").and_then(Value::as_array) {
        if text.is_empty() {
            push_items(&mut text, items);
        }
    }
    let timestamp = m.get("timestamp").and_then(timestamp_ms).or_else(|| {
        // v2 message ids are `m_<session>_<timestamp>_<index>`.
        let id = str_field(m, "message_id").or_else(|| str_field(m, "id"))?;
        let mut parts = id.rsplitn(3, '_');
        let _index = parts.next()?;
        parts.next()?.parse::<i64>().ok()
    });
    Some(Pending {
        role: str_field(m, "role").map(str::to_owned),
        sender_id: str_field(m, "sender_id").map(str::to_owned),
        timestamp,
        text,
    })
}

fn push_items(text: &mut String, items: &[Value]) {
    for item in items {
        if let Some(t) = str_field(item, "text").or_else(|| str_field(item, "content")) {
            if !text.is_empty() {
                text.push('\n');
            }
            text.push_str(t);
        }
    }
}

/// `2026-03-01T10:00:00Z` / `…T10:00:00.123+00:00` / a naive `…T10:00:00` (read as
/// UTC) → epoch ms (offsets honoured).
pub fn parse_iso_ms(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() < 19 || b[4] != b'-' || b[7] != b'-' || b[13] != b':' || b[16] != b':' {
        return None;
    }
    if b[10] != b'T' && b[10] != b't' && b[10] != b' ' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| s.get(r)?.parse::<i64>().ok();
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
    let mut rest = s.get(19..)?;
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
    use serde_json::json;

    #[test]
    fn iso_timestamps_parse_to_epoch_ms() {
        assert_eq!(parse_iso_ms("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(
            parse_iso_ms("2026-11-11T12:26:40Z"),
            Some(1_794_400_000_000)
        );
        assert_eq!(parse_iso_ms("2026-11-11T12:26:40"), Some(1_794_400_000_000));
        assert_eq!(
            parse_iso_ms("2026-11-11T13:26:40.5+01:00"),
            Some(1_794_400_000_500)
        );
        assert_eq!(parse_iso_ms("yesterday"), None);
        assert_eq!(
            timestamp_ms(&json!(1_794_400_000_000_i64)),
            Some(1_794_400_000_000)
        );
        assert_eq!(
            timestamp_ms(&json!(1_794_400_000.5)),
            Some(1_794_400_000_500)
        );
        assert_eq!(timestamp_ms(&json!(null)), None);
    }

    #[test]
    fn v2_profile_documents_flatten_to_facts() {
        let pd = json!({
            "explicit_info": [
                {"category": "name", "description": "Dana", "evidence": "my name is Dana"},
                {"category": "plan", "description": "Pro plan"},
                {"evidence": "no description: skipped"}
            ],
            "implicit_traits": [{"trait": "communication_style", "description": "terse", "basis": "b"}],
            "summary": "Dana, a Pro customer."
        });
        let facts = flatten_profile(&pd);
        let texts: Vec<_> = facts.iter().map(|f| f.text.as_str()).collect();
        assert_eq!(
            texts,
            [
                "Name: Dana",
                "Plan: Pro plan",
                "Communication style: terse",
                "Dana, a Pro customer."
            ]
        );
        assert_eq!(facts[2].kind.as_deref(), Some("implicit_trait"));
        assert_eq!(facts[3].kind.as_deref(), Some("summary"));
    }

    #[test]
    fn a_turn_is_matched_by_its_time_then_its_text() {
        let at = |timestamp: Option<i64>, text: &str| Pending {
            role: Some("user".into()),
            sender_id: None,
            timestamp,
            text: text.into(),
        };
        let sent = 1_700_000_000_123;
        assert!(at(Some(sent), "ok").is_turn("ok", sent));
        assert!(
            !at(Some(sent - 5_000), "ok").is_turn("ok", sent),
            "an earlier ok"
        );
        // Reported to the second only: the same second and the same text.
        assert!(at(Some(1_700_000_000_000), "ok").is_turn("ok", sent));
        assert!(!at(Some(1_700_000_000_000), "no").is_turn("ok", sent));
        assert!(!at(Some(1_699_999_999_000), "ok").is_turn("ok", sent));
        assert!(at(None, "ok").is_turn("ok", sent));
        assert!(!at(None, "no").is_turn("ok", sent));
    }

    #[test]
    fn pending_messages_carry_their_timestamp() {
        let v2 = json!({"message_id": "m_ticket_1_x_1700000000123_0", "role": "user",
                        "sender_id": "u", "content": "yes"});
        let p = pending(&v2).unwrap();
        assert_eq!(
            (p.timestamp, p.text.as_str()),
            (Some(1_700_000_000_123), "yes")
        );
        let with_ts = json!({"timestamp": "2026-11-11T12:26:40.001Z",
                             "content_items": [{"type": "text", "text": "ok"}]});
        assert_eq!(
            pending(&with_ts).unwrap().timestamp,
            Some(1_794_400_000_001)
        );
    }
}
