//! Deterministic episode extraction: subject, summary, third-person narrative and
//! participants from a cell's buffered messages (no LLM needed).

use crate::clock::date;
use crate::model::BufferedMessage;
use crate::text::{bare, sentences, truncate};

/// The text fields of an episode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Extraction {
    /// Title.
    pub subject: String,
    /// The customer's problem and what was answered, a few sentences.
    pub summary: String,
    /// Third-person narrative of the conversation.
    pub episode: String,
}

/// Sender ids in order of first appearance.
pub fn participants(msgs: &[BufferedMessage]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for m in msgs {
        if !out.contains(&m.sender_id) {
            out.push(m.sender_id.clone());
        }
    }
    out
}

/// Greetings and self-introductions ("Hi, I'm Dana.") say nothing about the problem.
fn is_preamble(sentence: &str) -> bool {
    const OPENERS: &[&str] = &[
        "hi",
        "hello",
        "hey",
        "good",
        "thanks",
        "thank",
        "dear",
        "greetings",
    ];
    let lower = sentence.to_lowercase();
    let words: Vec<&str> = lower
        .split(|c: char| !c.is_alphanumeric() && c != '\'')
        .filter(|w| !w.is_empty())
        .collect();
    let intro = lower.contains("my name is")
        || lower.starts_with("this is ")
        || lower.starts_with("i'm ")
        || lower.starts_with("i am ");
    let greeting = words.first().is_some_and(|w| OPENERS.contains(w));
    words.len() <= 7
        && (greeting
            || (intro
                && !lower.contains("not")
                && sentence.chars().filter(|c| c.is_uppercase()).count() > 1))
}

/// The first `n` sentences that are not preamble (all sentences if every one is).
fn first_sentences(text: &str, n: usize, max: usize) -> String {
    let all = sentences(text);
    let useful: Vec<String> = all.iter().filter(|s| !is_preamble(s)).cloned().collect();
    let picked = if useful.is_empty() { all } else { useful };
    truncate(
        &picked.into_iter().take(n).collect::<Vec<_>>().join(" "),
        max,
    )
}

/// Extracts an episode from messages ordered by time (at least one message).
pub fn extract(user_id: &str, msgs: &[BufferedMessage]) -> Extraction {
    let user_turns: Vec<&BufferedMessage> = msgs.iter().filter(|m| m.role == "user").collect();
    let agent_turns: Vec<&BufferedMessage> = msgs.iter().filter(|m| m.role != "user").collect();
    let opening = user_turns
        .first()
        .map(|m| m.text.as_str())
        .or_else(|| msgs.first().map(|m| m.text.as_str()))
        .unwrap_or("");
    let day = msgs
        .iter()
        .map(|m| m.timestamp_ms)
        .max()
        .map(date)
        .unwrap_or_default();

    let subject_core = truncate(bare(&first_sentences(opening, 1, 80)), 80);
    let subject = if subject_core.is_empty() {
        format!("Conversation ({day})")
    } else {
        format!("{subject_core} ({day})")
    };

    let mut summary = Vec::new();
    match user_turns.first() {
        Some(first) => summary.push(format!(
            "The customer reported: {}.",
            bare(&first_sentences(&first.text, 2, 200))
        )),
        None => summary.push("The support assistant wrote without a customer message.".to_owned()),
    }
    if user_turns.len() > 1 {
        if let Some(last) = user_turns.last() {
            summary.push(format!(
                "Later the customer added: {}.",
                bare(&first_sentences(&last.text, 1, 160))
            ));
        }
    }
    if let Some(answer) = agent_turns.last() {
        summary.push(format!(
            "Support answered: {}.",
            bare(&first_sentences(&answer.text, 2, 200))
        ));
    } else {
        summary.push("No answer from support was recorded yet.".to_owned());
    }

    let mut narrative = vec![format!(
        "On {day} the customer {user_id} contacted support."
    )];
    for m in msgs {
        let said = bare(&truncate(&m.text, 400)).to_owned();
        if m.role == "user" {
            narrative.push(format!("The customer said: \"{said}\"."));
        } else {
            narrative.push(format!("The support assistant replied: \"{said}\"."));
        }
    }
    Extraction {
        subject,
        summary: summary.join(" "),
        episode: truncate(&narrative.join(" "), 8000),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn msg(role: &str, sender: &str, text: &str, ts: i64) -> BufferedMessage {
        BufferedMessage {
            id: "x".into(),
            request_id: "r".into(),
            user_id: "cust".into(),
            session_id: "s".into(),
            group_id: "g".into(),
            role: role.into(),
            sender_id: sender.into(),
            sender_name: None,
            message_id: "m".into(),
            content_items: Value::Null,
            text: text.into(),
            timestamp_ms: ts,
            created_ms: ts,
        }
    }

    #[test]
    fn extracts_subject_summary_and_narrative() {
        let msgs = vec![
            msg(
                "user",
                "cust",
                "I was charged twice for my October invoice. Please help.",
                1_794_400_000_000,
            ),
            msg(
                "assistant",
                "bot",
                "I see two $49 charges. I've opened a refund for the duplicate.",
                1_794_400_004_000,
            ),
        ];
        let e = extract("cust", &msgs);
        assert!(
            e.subject
                .starts_with("I was charged twice for my October invoice ("),
            "{}",
            e.subject
        );
        assert!(
            e.summary.contains("charged twice") && e.summary.contains("opened a refund"),
            "{}",
            e.summary
        );
        assert!(e.episode.contains("the customer cust contacted support"));
        assert!(e.episode.contains("The support assistant replied"));
        assert_eq!(participants(&msgs), vec!["cust", "bot"]);
        assert_eq!(extract("cust", &msgs), e, "deterministic");
    }

    #[test]
    fn subject_skips_greetings_and_introductions() {
        let e = extract(
            "cust",
            &[msg(
                "user",
                "cust",
                "Hi, I'm Dana Whitfield. My router keeps dropping wifi.",
                1,
            )],
        );
        assert!(
            e.subject.starts_with("My router keeps dropping wifi ("),
            "{}",
            e.subject
        );
        let e = extract("cust", &[msg("user", "cust", "Hello!", 1)]);
        assert!(e.subject.starts_with("Hello ("), "{}", e.subject);
    }

    #[test]
    fn assistant_only_cell_still_has_text() {
        let e = extract("cust", &[msg("assistant", "bot", "Hello there", 1)]);
        assert!(e.subject.starts_with("Hello there"));
        assert!(e.summary.contains("without a customer message"));
    }
}
