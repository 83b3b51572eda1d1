//! Escalation: builds the hand-off for a human agent from the profile, this ticket's
//! exchanges and relevant episodes; sentiment by a small lexicon (or the LLM when
//! configured); everything redacted before it can reach a webhook.

use everdesk_api::{Customer, Handoff, HistoryEpisode, ProfileFact};

use crate::{attempts, identity::SessionCustomer, prompt, redact, tickets::TicketRecord};

const NEGATIVE: [&str; 16] = [
    "angry",
    "annoyed",
    "frustrat",
    "terrible",
    "awful",
    "useless",
    "ridiculous",
    "still",
    "again",
    "worst",
    "unacceptable",
    "cancel",
    "refund",
    "broken",
    "not working",
    "never",
];
const POSITIVE: [&str; 7] = [
    "thank",
    "great",
    "appreciate",
    "perfect",
    "awesome",
    "love",
    "helpful",
];

/// `frustrated`, `negative`, `positive` or `neutral`, from the customer's words.
pub fn sentiment(messages: &[String]) -> String {
    let text = messages.join(" ").to_lowercase();
    let neg =
        NEGATIVE.iter().filter(|w| text.contains(*w)).count() + text.matches('!').count().min(3);
    let pos = POSITIVE.iter().filter(|w| text.contains(*w)).count();
    match (neg, pos) {
        (n, p) if n >= 3 && n > p => "frustrated",
        (n, p) if n > p => "negative",
        (n, p) if p > n => "positive",
        _ => "neutral",
    }
    .to_owned()
}

/// Inputs for a hand-off.
#[derive(Debug)]
pub struct HandoffInput<'a> {
    /// The ticket.
    pub record: &'a TicketRecord,
    /// The customer, as the session token names them.
    pub customer: &'a SessionCustomer,
    /// Profile facts.
    pub profile: &'a [ProfileFact],
    /// Episodes (top 10).
    pub history: Vec<HistoryEpisode>,
    /// The customer's stated reason.
    pub reason: Option<&'a str>,
    /// Now, epoch ms.
    pub now: i64,
}

/// The hand-off built by rules (no LLM); `delivered` is false until a webhook accepts it.
pub fn build(input: HandoffInput<'_>) -> Handoff {
    let r = input.record;
    let facts = prompt::safe_profile(input.profile);
    let who = input.customer;
    // Only a name the host signed is stated as the customer's; one a page passed along
    // is reported as such, so a signed hand-off never vouches for it.
    let name = who
        .name
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(|n| match who.name_vouched {
            true => redact::for_llm(n),
            false => format!("Says their name is {} (not verified)", redact::for_llm(n)),
        });
    let customer_summary = match (name, facts.is_empty()) {
        (Some(n), true) => format!("{n}. No profile facts remembered yet."),
        (Some(n), false) => format!("{n}. {}", facts.join("; ")),
        (None, true) => "No profile facts remembered yet.".to_owned(),
        (None, false) => facts.join("; "),
    };
    let mut issue = format!("Ticket \"{}\"", redact::for_llm(&r.ticket.subject));
    if let Some(first) = r.customer_messages.first() {
        issue.push_str(&format!(": {}", redact::for_llm(first)));
    }
    if r.customer_messages.len() > 1 {
        if let Some(last) = r.customer_messages.last() {
            issue.push_str(&format!(" (latest: {})", redact::for_llm(last)));
        }
    }
    let mut history = input.history;
    for ep in &mut history {
        ep.summary = redact::for_llm(&ep.summary);
        ep.subject = ep.subject.as_deref().map(redact::for_llm);
    }
    // Messages a person handled have no automated reply (an empty one is kept).
    let automated = r.replies.iter().filter(|reply| !reply.is_empty()).count();
    let note = match input.reason.map(str::trim).filter(|s| !s.is_empty()) {
        Some(reason) => format!(
            "Customer asked for a human: {}. {} message(s) so far; {} automated repl(ies) given.",
            redact::for_llm(reason),
            r.customer_messages.len(),
            automated
        ),
        None => format!(
            "Customer asked for a human. {} message(s) so far; {} automated repl(ies) given.",
            r.customer_messages.len(),
            automated
        ),
    };
    Handoff {
        ticket_id: r.ticket.id.clone(),
        customer: Some(Customer {
            kind: who.kind,
            id: who.id.clone(),
            name: who.name.clone().filter(|_| who.name_vouched),
        }),
        customer_summary,
        issue_summary: issue,
        attempted_solutions: attempts::attempted(&r.customer_messages, &r.replies)
            .iter()
            .map(|s| redact::for_llm(s))
            .collect(),
        customer_sentiment: sentiment(&r.customer_messages),
        relevant_history: history,
        handoff_note: note,
        created_at: input.now,
        delivered: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sentiment_lexicon() {
        let s = |t: &str| sentiment(&[t.to_owned()]);
        assert_eq!(
            s("This is still not working again!! Unacceptable"),
            "frustrated"
        );
        assert_eq!(s("thanks, that was helpful"), "positive");
        assert_eq!(s("my invoice"), "neutral");
    }
}
