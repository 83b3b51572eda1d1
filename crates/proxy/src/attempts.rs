//! The hand-off's "attempted solutions": what was actually tried in the conversation, read
//! sentence by sentence — steps the customer says they took ("I already reinstalled it",
//! "still crashing after a restart") and steps a reply suggested ("Try clearing the
//! cache"). Greetings, acknowledgements and offers of a person are not attempts, so the
//! built-in responder's replies (which suggest nothing) add nothing.

use std::sync::LazyLock;

use regex::Regex;

/// Most attempts listed.
const MAX_ATTEMPTS: usize = 10;
/// Longest sentence quoted, in characters.
const MAX_CHARS: usize = 240;

/// A step the customer reports having taken.
static CUSTOMER_TRIED: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(
        r"(?ix)
        \b(?:i|we)(?:\s+(?:have|had|already|also|even|just|then))*\s*(?:'ve|'d)?
            (?:\s+(?:already|also|even|just))*\s+
            (?:tried|retried|restarted|rebooted|reset|reinstalled|uninstalled|installed|
               cleared|updated|upgraded|checked|changed|followed|disabled|enabled|
               switched|unplugged|replugged|logged\s+(?:out|in)|signed\s+(?:out|in)|
               turned|removed|re-?entered|contacted|called|emailed|used)\b
        | \b(?:i|we)(?:'ve|\s+have|\s+had)?\s+already\s+[a-z][a-z-]*(?:ed|en|ne|t)\b
        | \b(?:after|despite)\s+(?:a\s+|the\s+|my\s+)?
            (?:reinstall|restart|reboot|reset|update|upgrade|clearing|reinstalling|
               restarting|rebooting|resetting|updating|upgrading|trying|changing|checking)",
    )
    .ok()
});

/// A sentence of a reply that suggests a step.
static SUGGESTION: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(
        r"(?ix)
        ^(?:please\s+|first,?\s+|next,?\s+|then,?\s+|now,?\s+|also,?\s+)*
            (?:try|retry|reset|restart|reboot|clear|check|update|upgrade|reinstall|
               uninstall|open|go\s+to|click|tap|select|log\s+(?:out|in)|sign\s+(?:out|in)|
               make\s+sure|ensure|use|turn|unplug|plug|follow|enter|change|disable|enable|
               delete|remove|look\s+in|visit|request|download|switch)\b
        | \b(?:you\s+(?:can|could|might|may|should)|could\s+you|can\s+you|i\s+(?:suggest|recommend)|
               i'?ve\s+(?:sent|reset|issued|refunded|resent)|i\s+(?:have\s+)?(?:sent|reset|issued|refunded|resent))\b",
    )
    .ok()
});

/// Sentences that are courtesy, not a step, even when they match the above.
static COURTESY: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(
        r"(?i)\b(?:hand you over|human agent|thanks? (?:you )?for|automated assistant|i've noted|i've added|similar issue before|sorry to hear|happy to help|let me know|anything else)\b",
    )
    .ok()
});

/// Splits text into trimmed sentences.
fn sentences(text: &str) -> impl Iterator<Item = &str> {
    text.split_inclusive(['.', '!', '?', '\n'])
        .map(|s| s.trim().trim_end_matches('\n').trim())
        .filter(|s| s.chars().any(char::is_alphanumeric))
}

fn matches(re: &LazyLock<Option<Regex>>, s: &str) -> bool {
    re.as_ref().is_some_and(|r| r.is_match(s))
}

fn clip(s: &str) -> String {
    if s.chars().count() <= MAX_CHARS {
        s.to_owned()
    } else {
        let mut out: String = s.chars().take(MAX_CHARS - 1).collect();
        out.push('…');
        out
    }
}

/// What was tried, in conversation order within each side: the customer's own steps
/// first ("Customer: …"), then the replies' suggestions ("Suggested: …"); no
/// duplicates, at most [`MAX_ATTEMPTS`].
pub fn attempted(customer_messages: &[String], replies: &[String]) -> Vec<String> {
    let customer = customer_messages
        .iter()
        .flat_map(|m| sentences(m))
        .filter(|s| matches(&CUSTOMER_TRIED, s))
        .map(|s| format!("Customer: {}", clip(s)));
    let suggested = replies
        .iter()
        .flat_map(|m| sentences(m))
        .filter(|s| matches(&SUGGESTION, s) && !matches(&COURTESY, s))
        .map(|s| format!("Suggested: {}", clip(s)));
    let mut out: Vec<String> = Vec::new();
    for item in customer.chain(suggested) {
        if !out.contains(&item) {
            out.push(item);
        }
        if out.len() == MAX_ATTEMPTS {
            break;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn the_customers_own_steps_are_attempts() {
        let said = v(&[
            "The app crashes on start.",
            "Still crashing after reinstall",
            "I already cleared the cache and I've logged out twice. This is unacceptable!",
            "We tried another phone too",
            "I already re-seated the pole sections",
        ]);
        assert_eq!(
            attempted(&said, &[]),
            v(&[
                "Customer: Still crashing after reinstall",
                "Customer: I already cleared the cache and I've logged out twice.",
                "Customer: We tried another phone too",
                "Customer: I already re-seated the pole sections",
            ])
        );
    }

    #[test]
    fn suggestions_count_and_courtesy_does_not() {
        let replies = v(&[
            "Hi Dana, thanks for your message. I'm EverDesk's automated assistant. I've noted \
             your request about \"Login\" and the details you gave.",
            "I'm sorry to hear that. Please try resetting your password from the login page. \
             You can also clear your browser's cookies. Would you like me to hand you over to \
             a human agent?",
            "I've resent the verification email to your address.",
        ]);
        assert_eq!(
            attempted(&[], &replies),
            v(&[
                "Suggested: Please try resetting your password from the login page.",
                "Suggested: You can also clear your browser's cookies.",
                "Suggested: I've resent the verification email to your address.",
            ])
        );
    }

    #[test]
    fn the_built_in_responder_suggests_nothing() {
        let replies = v(&[
            "Hi, thanks for your message. I'm EverDesk's automated assistant. I see you had a \
             similar issue before: Password reset emails. I've noted your request about \"x\" \
             and the details you gave.",
            "Hi, thanks for your message. I've added this to your ticket. It sounds like this \
             isn't resolved yet. Would you like me to hand you over to a human agent? They \
             will see the whole conversation.",
        ]);
        assert!(attempted(&v(&["my invoice is wrong"]), &replies).is_empty());
    }

    #[test]
    fn bounded_and_without_duplicates() {
        let said: Vec<String> = (0..30)
            .map(|i| format!("I tried step {}. I tried step {}.", i % 12, i % 12))
            .collect();
        let got = attempted(&said, &[]);
        assert_eq!(got.len(), MAX_ATTEMPTS);
        let mut unique = got.clone();
        unique.dedup();
        assert_eq!(unique.len(), got.len());
        let long = "I tried ".to_owned() + &"x".repeat(1000);
        assert!(attempted(&[long], &[])[0].chars().count() <= MAX_CHARS + 12);
    }
}
