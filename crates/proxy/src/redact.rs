//! PII redaction: emails, phone numbers, card numbers (Luhn-checked), SSN-like numbers
//! and stated secrets become typed placeholders (`[email]`, `[phone]`, `[card]`, `[ssn]`,
//! `[secret]`) before text reaches an LLM or a webhook; a lighter pass (cards and
//! secrets) runs before a message is stored in EverOS.

use std::sync::LazyLock;

use regex::{Captures, Regex};

fn re(pattern: &str) -> Regex {
    match Regex::new(pattern) {
        Ok(r) => r,
        // The patterns are constants covered by tests; an invalid one is a build bug.
        Err(e) => unreachable!("invalid built-in pattern {pattern}: {e}"),
    }
}

static SECRET: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)\b(password|passwd|passcode|pin|api[ _-]?key|secret|token|security code|cvv)(\s+is\s+|\s+was\s+|\s*[:=]\s*)(\S+)",
    )
});
static EMAIL: LazyLock<Regex> =
    LazyLock::new(|| re(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"));
static CARD: LazyLock<Regex> = LazyLock::new(|| re(r"\b(?:\d[ -]?){12,18}\d\b"));
static SSN: LazyLock<Regex> = LazyLock::new(|| re(r"\b\d{3}-\d{2}-\d{4}\b"));
static PHONE: LazyLock<Regex> = LazyLock::new(|| re(r"\+?\(?\d[\d\s().-]{7,}\d"));

/// Words marking a profile fact too sensitive for a prompt.
const SENSITIVE_FACT_TERMS: [&str; 9] = [
    "ssn",
    "social security",
    "credit card",
    "card number",
    "password",
    "passport",
    "bank account",
    "date of birth",
    "medical",
];

/// Whether the digits of `s` pass the Luhn check.
pub fn luhn(s: &str) -> bool {
    let digits: Vec<u32> = s.chars().filter_map(|c| c.to_digit(10)).collect();
    if !(13..=19).contains(&digits.len()) {
        return false;
    }
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
            if i % 2 == 1 {
                if d * 2 > 9 {
                    d * 2 - 9
                } else {
                    d * 2
                }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

fn secrets(text: &str) -> String {
    SECRET
        .replace_all(text, |c: &Captures<'_>| {
            format!("{}{}[secret]", &c[1], &c[2])
        })
        .into_owned()
}

fn cards(text: &str) -> String {
    CARD.replace_all(text, |c: &Captures<'_>| {
        if luhn(&c[0]) {
            "[card]".to_owned()
        } else {
            c[0].to_owned()
        }
    })
    .into_owned()
}

fn phones(text: &str) -> String {
    PHONE
        .replace_all(text, |c: &Captures<'_>| {
            let m = &c[0];
            let digits = m.chars().filter(char::is_ascii_digit).count();
            let separated = m.starts_with('+') || m.contains([' ', '-', '.', '(']);
            if (9..=15).contains(&digits) && separated {
                "[phone]".to_owned()
            } else {
                m.to_owned()
            }
        })
        .into_owned()
}

/// Full redaction, for anything leaving for an LLM or a webhook.
pub fn for_llm(text: &str) -> String {
    let t = secrets(text);
    let t = EMAIL.replace_all(&t, "[email]").into_owned();
    let t = cards(&t);
    let t = SSN.replace_all(&t, "[ssn]").into_owned();
    phones(&t)
}

/// Storage redaction: card numbers and stated secrets only.
pub fn for_store(text: &str) -> String {
    cards(&secrets(text))
}

/// Whether a profile fact should be kept out of prompts.
pub fn is_sensitive_fact(text: &str) -> bool {
    let lower = text.to_lowercase();
    SENSITIVE_FACT_TERMS.iter().any(|t| lower.contains(t)) || for_llm(text) != text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_placeholders_replace_pii() {
        let t = "Mail me at jane.doe+x@example.co.uk or call +1 (555) 123-4567. \
                 Card 4111 1111 1111 1111, SSN 123-45-6789, my password is hunter2!";
        let r = for_llm(t);
        for leaked in ["jane.doe", "4111", "123-45-6789", "hunter2", "555"] {
            assert!(!r.contains(leaked), "{leaked} leaked in {r}");
        }
        for tag in [
            "[email]",
            "[phone]",
            "[card]",
            "[ssn]",
            "password is [secret]",
        ] {
            assert!(r.contains(tag), "{tag} missing in {r}");
        }
    }

    #[test]
    fn ordinary_text_is_untouched() {
        let t = "My password reset email never arrives since 2024-01-05, order 12345.";
        assert_eq!(for_llm(t), t);
        assert_eq!(
            for_llm("Card 4111 1111 1111 1112"),
            "Card 4111 1111 1111 1112"
        );
    }

    #[test]
    fn storage_pass_masks_cards_and_secrets_only() {
        let r = for_store("card 4242424242424242 pin: 1234 mail a@b.io");
        assert_eq!(r, "card [card] pin: [secret] mail a@b.io");
    }

    #[test]
    fn sensitive_profile_facts_are_flagged() {
        assert!(is_sensitive_fact("Credit card ends in 4242"));
        assert!(is_sensitive_fact("Email: a@b.io"));
        assert!(!is_sensitive_fact("Prefers short answers"));
    }
}
