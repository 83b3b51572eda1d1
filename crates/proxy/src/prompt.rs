//! The reply prompt: the reference integration's instructions with the customer
//! profile, relevant past interactions and the message — all redacted, sensitive
//! profile facts dropped.

use everdesk_api::{HistoryEpisode, ProfileFact};

use crate::{llm::ChatMessage, redact};

/// The system instructions (from the reference integration, plus honesty about automation).
const INSTRUCTIONS: &str = "You are a helpful customer support agent. Use the context to provide personalized support.
Instructions:
- Address the customer by name if known
- Reference past issues if relevant (e.g., \"I see you had a similar issue before...\")
- Use customer preferences (e.g., communication style, technical level)
- Don't repeat information the customer already provided
- Be concise but thorough
- You are an automated assistant; never claim to be human. Offer a human agent if the issue stays unresolved.
- Placeholders like [email] or [card] stand for redacted data; never ask the customer to repeat secrets.";

/// Profile facts fit for a prompt: sensitive ones dropped, the rest redacted.
pub fn safe_profile(profile: &[ProfileFact]) -> Vec<String> {
    profile
        .iter()
        .filter(|f| !redact::is_sensitive_fact(&f.text))
        .map(|f| redact::for_llm(&f.text))
        .collect()
}

/// The chat messages for one reply.
pub fn reply_messages(
    name: Option<&str>,
    profile: &[ProfileFact],
    history: &[HistoryEpisode],
    subject: &str,
    message: &str,
) -> Vec<ChatMessage> {
    let mut profile_lines: Vec<String> = safe_profile(profile)
        .into_iter()
        .map(|t| format!("- {t}"))
        .collect();
    if let Some(n) = name {
        profile_lines.insert(0, format!("- Name: {}", redact::for_llm(n)));
    }
    let profile_text = if profile_lines.is_empty() {
        "No profile information available.".to_owned()
    } else {
        profile_lines.join("\n")
    };
    let history_text = if history.is_empty() {
        "No relevant past interactions.".to_owned()
    } else {
        history
            .iter()
            .map(|e| format!("- {}", redact::for_llm(&e.summary)))
            .collect::<Vec<_>>()
            .join("\n")
    };
    let user = format!(
        "CUSTOMER PROFILE:\n{profile_text}\n\nRELEVANT PAST INTERACTIONS:\n{history_text}\n\nTICKET SUBJECT:\n{}\n\nCUSTOMER MESSAGE:\n{}\n\nResponse:",
        redact::for_llm(subject),
        redact::for_llm(message)
    );
    vec![
        ChatMessage {
            role: "system",
            content: INSTRUCTIONS.to_owned(),
        },
        ChatMessage {
            role: "user",
            content: user,
        },
    ]
}

/// The chat messages asking for a hand-off summary and sentiment (answer format:
/// `SENTIMENT: <word>` then `SUMMARY: <text>`).
pub fn handoff_messages(
    subject: &str,
    customer_messages: &[String],
    replies: &[String],
) -> Vec<ChatMessage> {
    let said = customer_messages
        .iter()
        .map(|m| format!("- {}", redact::for_llm(m)))
        .collect::<Vec<_>>()
        .join("\n");
    let tried = replies
        .iter()
        .map(|m| format!("- {}", redact::for_llm(m)))
        .collect::<Vec<_>>()
        .join("\n");
    let user = format!(
        "A support ticket is being handed to a human agent.\nTICKET SUBJECT:\n{}\n\nCUSTOMER MESSAGES:\n{said}\n\nREPLIES ALREADY GIVEN:\n{tried}\n\n\
         Answer with exactly two lines:\nSENTIMENT: one of frustrated, negative, neutral, positive\nSUMMARY: the issue in one or two sentences",
        redact::for_llm(subject)
    );
    vec![
        ChatMessage {
            role: "system",
            content: "You summarise support tickets for human agents. Be factual and brief."
                .to_owned(),
        },
        ChatMessage {
            role: "user",
            content: user,
        },
    ]
}

/// `(sentiment, summary)` from an answer to [`handoff_messages`], when well-formed.
pub fn parse_handoff_answer(answer: &str) -> Option<(String, String)> {
    let mut sentiment = None;
    let mut summary = None;
    for line in answer.lines() {
        let line = line.trim();
        if let Some(v) = line.strip_prefix("SENTIMENT:") {
            let v = v.trim().to_lowercase();
            if ["frustrated", "negative", "neutral", "positive"].contains(&v.as_str()) {
                sentiment = Some(v);
            }
        } else if let Some(v) = line.strip_prefix("SUMMARY:") {
            summary = Some(v.trim().to_owned()).filter(|s| !s.is_empty());
        }
    }
    Some((sentiment?, redact::for_llm(&summary?)))
}

#[cfg(test)]
mod tests {
    #[test]
    fn handoff_answers_parse_or_fall_back() {
        let ok = parse_handoff_answer("SENTIMENT: Frustrated\nSUMMARY: App crashes on start.");
        assert_eq!(
            ok,
            Some(("frustrated".into(), "App crashes on start.".into()))
        );
        assert_eq!(parse_handoff_answer("SENTIMENT: meh\nSUMMARY: x"), None);
        assert_eq!(parse_handoff_answer("whatever"), None);
    }

    use super::*;

    #[test]
    fn prompt_carries_context_without_pii() {
        let profile = [
            ProfileFact {
                text: "Prefers short answers".into(),
                kind: None,
            },
            ProfileFact {
                text: "Credit card ends 4242".into(),
                kind: None,
            },
        ];
        let history = [HistoryEpisode {
            id: "e".into(),
            session_id: "ticket_1".into(),
            subject: None,
            summary: "Reset emails went to spam".into(),
            at: None,
            score: None,
        }];
        let m = reply_messages(
            Some("Ada"),
            &profile,
            &history,
            "Login",
            "my password is hunter2, mail a@b.io",
        );
        let text = &m[1].content;
        assert!(
            text.contains("Prefers short answers") && text.contains("Reset emails went to spam")
        );
        assert!(text.contains("Name: Ada"));
        assert!(!text.contains("4242") && !text.contains("hunter2") && !text.contains("a@b.io"));
    }
}
