//! Small text utilities shared by extraction and ranking: tokens, sentences, truncation.

/// Words too common to rank on.
const STOPWORDS: &[&str] = &[
    "a", "an", "and", "are", "as", "at", "be", "but", "by", "can", "do", "for", "from", "has",
    "have", "i", "in", "is", "it", "its", "me", "my", "of", "on", "or", "our", "so", "that", "the",
    "their", "this", "to", "was", "we", "were", "what", "with", "you", "your",
];

/// Lower-case alphanumeric tokens (Unicode-aware), in order.
pub fn tokens(s: &str) -> Vec<String> {
    s.split(|c: char| !c.is_alphanumeric())
        .filter(|t| !t.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// Distinct query terms without stopwords (all tokens if only stopwords remain).
pub fn query_terms(s: &str) -> Vec<String> {
    let all = tokens(s);
    let mut out: Vec<String> = Vec::new();
    for t in all.iter().filter(|t| !STOPWORDS.contains(&t.as_str())) {
        if !out.contains(t) {
            out.push(t.clone());
        }
    }
    if out.is_empty() {
        for t in all {
            if !out.contains(&t) {
                out.push(t);
            }
        }
    }
    out
}

/// Splits text into trimmed sentences (on `.`, `!`, `?` and newlines).
pub fn sentences(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    for ch in s.chars() {
        if ch == '\n' {
            push_sentence(&mut out, &mut cur);
            continue;
        }
        cur.push(ch);
        if matches!(ch, '.' | '!' | '?') {
            push_sentence(&mut out, &mut cur);
        }
    }
    push_sentence(&mut out, &mut cur);
    out
}

fn push_sentence(out: &mut Vec<String>, cur: &mut String) {
    let t = cur.trim();
    if !t.is_empty() {
        out.push(t.to_owned());
    }
    cur.clear();
}

/// Cuts `s` to at most `max` chars at a word boundary, adding `…` when cut.
pub fn truncate(s: &str, max: usize) -> String {
    let s = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if s.chars().count() <= max {
        return s;
    }
    let cut: String = s.chars().take(max).collect();
    let base = match cut.rfind(' ') {
        Some(i) if i > max / 2 => &cut[..i],
        _ => cut.as_str(),
    };
    format!("{}…", base.trim_end_matches([',', ';', ':', ' ']))
}

/// Drops a trailing sentence terminator so the text can be embedded in a sentence.
pub fn bare(s: &str) -> &str {
    s.trim().trim_end_matches(['.', '!', '?', ' '])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokenizes_and_filters() {
        assert_eq!(
            tokens("I was charged twice!"),
            vec!["i", "was", "charged", "twice"]
        );
        assert_eq!(query_terms("the refund of the refund"), vec!["refund"]);
        assert_eq!(query_terms("the"), vec!["the"]);
    }

    #[test]
    fn sentences_and_truncation() {
        assert_eq!(
            sentences("Hi. How are you?\nFine"),
            vec!["Hi.", "How are you?", "Fine"]
        );
        assert_eq!(truncate("one two three four", 9), "one two…");
        assert_eq!(truncate("short", 9), "short");
    }
}
