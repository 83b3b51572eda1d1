//! The built-in responder used when no LLM is configured: deterministic, honest about
//! being automated; greets by name, points to the most relevant past episode,
//! acknowledges, and offers a human after repeated unresolved messages.

use std::sync::LazyLock;

use everdesk_api::{HistoryEpisode, ProfileFact};
use regex::Regex;

static NAME_FACT: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(r"(?i)^\s*(?:full\s+|first\s+|display\s+)?name\s*(?::|=|is)\s*([^\n,;.]{1,60})").ok()
});

/// What the responder needs to know.
#[derive(Debug, Clone)]
pub struct ResponderInput<'a> {
    /// Name from the session (host-verified), if any.
    pub session_name: Option<&'a str>,
    /// Profile facts.
    pub profile: &'a [ProfileFact],
    /// Relevant past episodes, most relevant first.
    pub history: &'a [HistoryEpisode],
    /// The current ticket's EverOS session (its own episodes are not "past").
    pub session_id: &'a str,
    /// The ticket subject.
    pub subject: &'a str,
    /// 1-based number of this customer message in the ticket.
    pub message_number: usize,
    /// From which message number to offer a human.
    pub offer_human_after: usize,
}

/// The customer's name: the session's, else a `Name: …` profile fact.
pub fn customer_name<'a>(
    session_name: Option<&'a str>,
    profile: &'a [ProfileFact],
) -> Option<String> {
    if let Some(n) = session_name.map(str::trim).filter(|n| !n.is_empty()) {
        return Some(n.to_owned());
    }
    let re = NAME_FACT.as_ref()?;
    profile.iter().find_map(|f| {
        re.captures(&f.text)
            .and_then(|c| c.get(1))
            .map(|m| m.as_str().trim().to_owned())
            .filter(|n| !n.is_empty())
    })
}

/// The most relevant past episode from another ticket.
pub fn past_episode<'a>(
    history: &'a [HistoryEpisode],
    session_id: &str,
) -> Option<&'a HistoryEpisode> {
    history.iter().find(|e| e.session_id != session_id)
}

/// The reply text.
pub fn reply(input: &ResponderInput<'_>) -> String {
    let mut parts = Vec::new();
    match customer_name(input.session_name, input.profile) {
        Some(name) => parts.push(format!("Hi {name}, thanks for your message.")),
        None => parts.push("Hi, thanks for your message.".to_owned()),
    }
    if input.message_number <= 1 {
        parts.push("I'm EverDesk's automated assistant.".to_owned());
    }
    if let Some(ep) = past_episode(input.history, input.session_id) {
        let what = ep
            .subject
            .as_deref()
            .filter(|s| !s.is_empty())
            .unwrap_or(&ep.summary);
        let what = what.trim_end_matches(['.', '!', '?', ' ']);
        parts.push(format!("I see you had a similar issue before: {what}."));
    }
    if input.message_number <= 1 {
        parts.push(format!(
            "I've noted your request about \"{}\" and the details you gave.",
            input.subject
        ));
    } else {
        parts.push("I've added this to your ticket.".to_owned());
    }
    if input.message_number >= input.offer_human_after {
        parts.push(
            "It sounds like this isn't resolved yet. Would you like me to hand you over to a human \
             agent? They will see the whole conversation."
                .to_owned(),
        );
    }
    parts.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ep(session: &str, subject: &str) -> HistoryEpisode {
        HistoryEpisode {
            id: "e".into(),
            session_id: session.into(),
            subject: Some(subject.into()),
            summary: "s".into(),
            at: None,
            score: None,
        }
    }

    fn input<'a>(
        profile: &'a [ProfileFact],
        history: &'a [HistoryEpisode],
        n: usize,
    ) -> ResponderInput<'a> {
        ResponderInput {
            session_name: None,
            profile,
            history,
            session_id: "ticket_now",
            subject: "Login",
            message_number: n,
            offer_human_after: 3,
        }
    }

    #[test]
    fn greets_by_profile_name_and_points_to_the_past() {
        let profile = [ProfileFact {
            text: "Name: Ada Lovelace".into(),
            kind: None,
        }];
        let history = [
            ep("ticket_now", "this one"),
            ep("ticket_old", "Password reset emails."),
        ];
        let r = reply(&input(&profile, &history, 1));
        assert!(r.starts_with("Hi Ada Lovelace,"), "{r}");
        assert!(r.contains("automated assistant"));
        assert!(
            r.contains("similar issue before: Password reset emails. I"),
            "one full stop, whatever the subject ends with: {r}"
        );
        assert!(!r.contains("human"));
    }

    #[test]
    fn offers_a_human_from_the_third_message_and_is_deterministic() {
        let r2 = reply(&input(&[], &[], 2));
        assert!(!r2.contains("human"));
        let r3 = reply(&input(&[], &[], 3));
        assert!(r3.contains("human agent"));
        assert_eq!(r3, reply(&input(&[], &[], 3)));
        assert!(r3.starts_with("Hi, "));
    }
}
