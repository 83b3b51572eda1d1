//! Deterministic profile extraction from a user's own turns: name, email, plan/tier,
//! product or device, stated preferences.

use crate::clock::iso;
use crate::model::{ItemType, ProfileFact};
use crate::text::{bare, sentences, truncate};

const PLAN_WORDS: &[&str] = &[
    "free",
    "basic",
    "starter",
    "standard",
    "pro",
    "professional",
    "premium",
    "plus",
    "business",
    "team",
    "enterprise",
    "family",
    "personal",
    "monthly",
    "annual",
    "yearly",
    "gold",
    "silver",
];

const DEVICES: &[&str] = &[
    "iphone",
    "ipad",
    "android",
    "pixel",
    "galaxy",
    "macbook",
    "imac",
    "mac",
    "windows",
    "linux",
    "chromebook",
    "laptop",
    "desktop",
    "tablet",
    "printer",
    "router",
    "modem",
    "kindle",
    "apple watch",
    "smart tv",
    "playstation",
    "xbox",
    "switch",
    "thinkpad",
    "surface",
];

const NOT_NAMES: &[&str] = &[
    "I", "Not", "Having", "Trying", "Looking", "Still", "Just", "So", "Very", "Really", "Unable",
    "Getting", "Going", "Sorry", "Sure", "Here", "Back", "On", "In", "Using", "The", "A", "An",
    "Also",
];

fn fact(item_type: ItemType, key: &str, label: &str, value: String) -> ProfileFact {
    ProfileFact {
        item_type,
        key: key.to_owned(),
        label: label.to_owned(),
        value,
    }
}

fn clean_word(w: &str) -> &str {
    w.trim_matches(|c: char| !c.is_alphanumeric() && c != '-' && c != '\'')
}

fn name(text: &str) -> Option<String> {
    let words: Vec<&str> = text.split_whitespace().collect();
    let lower: Vec<String> = words.iter().map(|w| w.to_lowercase()).collect();
    for i in 0..words.len() {
        let start = match lower[i].as_str() {
            "i'm" | "i’m" | "im" => i + 1,
            "name"
                if i >= 1
                    && lower[i - 1] == "my"
                    && lower.get(i + 1).is_some_and(|w| w == "is" || w == "is:") =>
            {
                i + 2
            }
            "am" if i >= 1 && lower[i - 1] == "i" => i + 1,
            "this" if lower.get(i + 1).is_some_and(|w| w == "is") && i == 0 => i + 2,
            _ => continue,
        };
        let mut parts = Vec::new();
        for w in words.iter().skip(start).take(2) {
            let c = clean_word(w);
            let capital = c.chars().next().is_some_and(char::is_uppercase);
            if !capital || NOT_NAMES.contains(&c) || c.chars().any(|ch| ch.is_ascii_digit()) {
                break;
            }
            parts.push(c.to_owned());
            if w.ends_with([',', '.', '!', '?', ';']) {
                break;
            }
        }
        if !parts.is_empty() {
            return Some(parts.join(" "));
        }
    }
    None
}

fn email(text: &str) -> Option<String> {
    text.split_whitespace()
        .map(|w| w.trim_matches(|c: char| !c.is_alphanumeric() && !"@._+-".contains(c)).trim_end_matches('.'))
        .find(|w| {
            let mut it = w.splitn(2, '@');
            matches!((it.next(), it.next()), (Some(a), Some(b)) if !a.is_empty() && b.contains('.') && !b.starts_with('.'))
        })
        .map(str::to_owned)
}

fn plan(text: &str) -> Option<String> {
    let words: Vec<String> = text
        .split_whitespace()
        .map(|w| clean_word(w).to_lowercase())
        .collect();
    for (i, w) in words.iter().enumerate() {
        if (w == "plan" || w == "tier" || w == "subscription") && i >= 1 {
            let prev = &words[i - 1];
            if PLAN_WORDS.contains(&prev.as_str()) {
                return Some(format!("{} {w}", capitalize(prev)));
            }
        }
    }
    None
}

/// `text` lower-cased, plus for every byte offset of the result (and its end) the byte
/// offset in `text` of the character it came from. Lower-casing can change a character's
/// byte length ('Ⱥ' 2 → 3, 'K' 3 → 1) or expand it ('İ' → "i̇"), so offsets found in the
/// lower-cased text must be mapped back before slicing the original.
fn lower_with_offsets(text: &str) -> (String, Vec<usize>) {
    let mut lower = String::with_capacity(text.len());
    let mut offsets = Vec::with_capacity(text.len() + 1);
    for (at, ch) in text.char_indices() {
        for l in ch.to_lowercase() {
            lower.push(l);
            offsets.extend(std::iter::repeat_n(at, l.len_utf8()));
        }
    }
    offsets.push(text.len());
    (lower, offsets)
}

fn device(text: &str) -> Option<String> {
    let (lower, offsets) = lower_with_offsets(text);
    for d in DEVICES {
        let Some(pos) = find_word(&lower, d) else {
            continue;
        };
        let original = text.get(offsets.get(pos).copied()?..)?;
        let mut words = original.split_whitespace();
        let mut out = words.next().map(clean_word).unwrap_or_default().to_owned();
        for _ in 1..d.split_whitespace().count() {
            out = format!("{out} {}", words.next().map(clean_word).unwrap_or_default());
        }
        if let Some(model) = words.next().map(clean_word) {
            if model
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_digit() || c.is_uppercase())
                && model.len() <= 12
                && model != "I"
            {
                out = format!("{out} {model}");
            }
        }
        return Some(out);
    }
    None
}

/// Finds `needle` in `hay` at word boundaries (both lower-case).
fn find_word(hay: &str, needle: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(rel) = hay[from..].find(needle) {
        let pos = from + rel;
        let before = hay[..pos]
            .chars()
            .next_back()
            .is_none_or(|c| !c.is_alphanumeric());
        let after = hay[pos + needle.len()..]
            .chars()
            .next()
            .is_none_or(|c| !c.is_alphanumeric());
        if before && after {
            return Some(pos);
        }
        from = pos + needle.len();
    }
    None
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

fn preferences(text: &str) -> Vec<String> {
    const CUES: &[&str] = &[
        "i prefer",
        "i'd prefer",
        "i would prefer",
        "i'd rather",
        "i would rather",
        "please email me",
        "email me",
        "please call me",
        "call me",
        "text me",
        "please contact me",
        "contact me by",
        "i like",
        "i don't like",
        "i do not like",
        "please don't call",
        "please do not call",
    ];
    sentences(text)
        .into_iter()
        .filter(|s| {
            let l = s.to_lowercase().replace('’', "'");
            CUES.iter().any(|c| find_word(&l, c).is_some())
        })
        .map(|s| truncate(bare(&s), 160))
        .collect()
}

/// Facts stated in the given user turns (later turns win per key).
pub fn extract(user_turns: &[&str]) -> Vec<ProfileFact> {
    let mut facts: Vec<ProfileFact> = Vec::new();
    let mut put = |f: ProfileFact| {
        facts.retain(|x| x.key != f.key);
        facts.push(f);
    };
    for text in user_turns {
        if let Some(n) = name(text) {
            put(fact(ItemType::ExplicitInfo, "name", "Name", n));
        }
        if let Some(e) = email(text) {
            put(fact(ItemType::ExplicitInfo, "email", "Email", e));
        }
        if let Some(p) = plan(text) {
            put(fact(ItemType::ExplicitInfo, "plan", "Plan", p));
        }
        if let Some(d) = device(text) {
            put(fact(ItemType::ExplicitInfo, "device", "Product/device", d));
        }
        for p in preferences(text) {
            let key = format!("pref:{}", p.to_lowercase());
            put(fact(ItemType::ImplicitTrait, &key, "Preference", p));
        }
    }
    facts
}

/// A user turn a fact can be grounded in.
#[derive(Debug, Clone, Copy)]
pub struct Turn<'a> {
    /// What was said.
    pub text: &'a str,
    /// When, epoch ms.
    pub timestamp_ms: i64,
    /// Who said it (display name, else sender id).
    pub speaker: &'a str,
}

/// `2026-11-11 12:26:40`.
fn date_time(ms: i64) -> String {
    iso(ms - ms.rem_euclid(1000))
        .trim_end_matches('Z')
        .replacen('T', " ", 1)
}

/// One sentence grounding a fact in the user's own turns, as the real server's profile
/// items carry it: `On <date time> <speaker> said: "<the turn that states it>"`, or a
/// dated mention when no turn contains the value verbatim.
pub fn evidence(fact: &ProfileFact, turns: &[Turn<'_>]) -> String {
    let needle = fact.value.to_lowercase();
    let stated = turns
        .iter()
        .find(|t| t.text.to_lowercase().contains(&needle));
    match (stated, turns.first()) {
        (Some(t), _) => format!(
            "On {} {} said: \"{}\"",
            date_time(t.timestamp_ms),
            t.speaker,
            truncate(t.text, 200)
        ),
        (None, Some(t)) => format!(
            "On {} {} mentioned {}: {}",
            date_time(t.timestamp_ms),
            t.speaker,
            fact.key_category(),
            fact.value
        ),
        (None, None) => format!("Mentioned {}: {}", fact.key_category(), fact.value),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(facts: &[ProfileFact]) -> Vec<String> {
        facts.iter().map(ProfileFact::embed_text).collect()
    }

    #[test]
    fn extracts_core_facts() {
        let f = extract(&[
            "Hi, I'm Dana Whitfield. My email is dana.w@example.com and I'm on the Pro plan.",
            "My iPhone 15 keeps crashing. Please email me rather than calling.",
        ]);
        let v = values(&f);
        assert!(v.contains(&"Name: Dana Whitfield".to_owned()), "{v:?}");
        assert!(v.contains(&"Email: dana.w@example.com".to_owned()), "{v:?}");
        assert!(v.contains(&"Plan: Pro plan".to_owned()), "{v:?}");
        assert!(v.contains(&"Product/device: iPhone 15".to_owned()), "{v:?}");
        assert!(
            v.iter()
                .any(|x| x.starts_with("Preference: Please email me")),
            "{v:?}"
        );
        assert_eq!(
            f.iter().find(|x| x.key == "name").map(|x| x.item_type),
            Some(ItemType::ExplicitInfo)
        );
    }

    #[test]
    fn evidence_quotes_the_turn_that_states_the_fact() {
        let turn = |text, timestamp_ms| Turn {
            text,
            timestamp_ms,
            speaker: "Pat",
        };
        let turns = [
            turn("Hello there.", 1_794_400_000_000),
            turn("I'm on the Pro plan.", 1_794_400_001_500),
        ];
        let facts = extract(&turns.map(|t| t.text));
        let plan = facts.iter().find(|f| f.key == "plan").unwrap();
        assert_eq!(
            evidence(plan, &turns),
            "On 2026-11-11 12:26:41 Pat said: \"I'm on the Pro plan.\""
        );
        let other = fact(ItemType::ExplicitInfo, "email", "Email", "a@b.c".into());
        assert_eq!(
            evidence(&other, &turns),
            "On 2026-11-11 12:26:40 Pat mentioned email: a@b.c"
        );
    }

    #[test]
    fn ignores_non_names_and_keeps_latest() {
        assert!(extract(&["I'm having trouble logging in"])
            .iter()
            .all(|f| f.key != "name"));
        let f = extract(&["my name is Ann", "my name is Bob"]);
        assert_eq!(values(&f), vec!["Name: Bob"]);
        let f = extract(&["I prefer short answers."]);
        assert_eq!(f[0].item_type, ItemType::ImplicitTrait);
        assert!(extract(&["The enterprise tier"])
            .iter()
            .any(|f| f.value == "Enterprise tier"));
    }

    #[test]
    fn device_survives_case_folding_that_changes_byte_length() {
        // 'Ⱥ' grows from 2 to 3 bytes when lower-cased, 'K' (Kelvin) shrinks from 3 to 1
        // and 'İ' becomes two chars: positions in the lower-cased text differ from the original.
        let device = |t: &str| {
            extract(&[t])
                .into_iter()
                .find(|f| f.key == "device")
                .map(|f| f.value)
        };
        assert_eq!(device("ȺȺȺȺȺȺȺ iphone").as_deref(), Some("iphone"));
        assert_eq!(device("KKK my iPhone 15").as_deref(), Some("iPhone 15"));
        assert_eq!(device("İİ My iPhone 15 died").as_deref(), Some("iPhone 15"));
        assert_eq!(device("ȺȺ SMART TV X1").as_deref(), Some("SMART TV X1"));
    }
}
