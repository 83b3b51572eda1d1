//! Tickets closed in the last few minutes, as provisional recalled history, until
//! EverOS's own index shows their episodes. On the real EverOS a flushed ticket is not
//! searchable for 1–3 s, and keyword search can miss it for up to a minute
//! (everos-v2.md §3): without this, a customer who closes a ticket and opens the list
//! would not see it under "From your past tickets", and the next ticket's first reply
//! would depend on the index having caught up. Kept per proxy process, bounded per
//! customer and in time; an episode EverOS returns for the same session replaces its
//! provisional entry.

use std::{collections::HashMap, sync::Mutex};

use everdesk_api::HistoryEpisode;

use crate::tickets::TicketRecord;

/// How long a closed ticket is bridged (keyword search catches up within a minute).
pub const BRIDGE_MS: i64 = 3 * 60 * 1000;
/// Most bridged tickets per customer.
const MAX_PER_CUSTOMER: usize = 16;
/// Most customers bridged at once (oldest dropped first).
const MAX_CUSTOMERS: usize = 10_000;
/// Longest provisional summary, characters.
const SUMMARY_CHARS: usize = 240;

/// Words too common to say that two texts are about the same thing.
const STOPWORDS: [&str; 40] = [
    "the", "and", "for", "you", "your", "with", "this", "that", "have", "has", "was", "are", "not",
    "but", "can", "cannot", "can't", "from", "get", "got", "just", "still", "when", "what", "why",
    "how", "there", "they", "them", "our", "out", "its", "it's", "i'm", "into", "again", "help",
    "please", "thanks", "hello",
];

#[derive(Debug, Clone)]
struct Entry {
    episode: HistoryEpisode,
    words: Vec<String>,
    closed_ms: i64,
}

/// Recently closed tickets per customer.
#[derive(Debug, Default)]
pub struct RecentlyClosed {
    map: Mutex<HashMap<String, Vec<Entry>>>,
}

/// Lowercase content words of `text` (letters and digits, at least 3 characters).
fn words(text: &str) -> Vec<String> {
    let mut out: Vec<String> = text
        .split(|c: char| !(c.is_alphanumeric() || c == '\''))
        .map(str::to_lowercase)
        .filter(|w| w.chars().count() >= 3 && !STOPWORDS.contains(&w.as_str()))
        .collect();
    out.sort();
    out.dedup();
    out
}

/// The provisional episode of a just-closed ticket: its subject, and what the customer
/// wrote as the summary.
fn provisional(record: &TicketRecord, now: i64) -> HistoryEpisode {
    let said = record.customer_messages.join(" ");
    let summary: String = if said.trim().is_empty() {
        record.ticket.subject.clone()
    } else {
        let mut s: String = said.chars().take(SUMMARY_CHARS).collect();
        if said.chars().count() > SUMMARY_CHARS {
            s.push('…');
        }
        s
    };
    HistoryEpisode {
        id: format!("recent_{}", record.ticket.id),
        session_id: record.ticket.session_id.clone(),
        subject: Some(record.ticket.subject.clone()),
        summary,
        at: Some(now),
        score: None,
    }
}

impl RecentlyClosed {
    /// Remembers a ticket the customer just closed (or escalated: flushed).
    pub fn remember(&self, customer: &str, record: &TicketRecord, now: i64) {
        let episode = provisional(record, now);
        let words = words(&format!(
            "{} {}",
            record.ticket.subject,
            record.customer_messages.join(" ")
        ));
        let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() >= MAX_CUSTOMERS && !map.contains_key(customer) {
            prune(&mut map, now);
            if map.len() >= MAX_CUSTOMERS {
                let oldest = map
                    .iter()
                    .min_by_key(|(_, v)| v.iter().map(|e| e.closed_ms).max().unwrap_or(0))
                    .map(|(k, _)| k.clone());
                if let Some(k) = oldest {
                    map.remove(&k);
                }
            }
        }
        let list = map.entry(customer.to_owned()).or_default();
        list.retain(|e| e.episode.session_id != episode.session_id);
        list.push(Entry {
            episode,
            words,
            closed_ms: now,
        });
        if list.len() > MAX_PER_CUSTOMER {
            list.remove(0);
        }
    }

    /// Adds the customer's recently closed tickets that `episodes` (EverOS's answer) does
    /// not show yet: for a listing (`query` = `None`) all of them, newest first; for a
    /// query those sharing a content word with it, first (the most recent related
    /// ticket). At most `limit` in all.
    pub fn merge(
        &self,
        customer: &str,
        query: Option<&str>,
        episodes: &mut Vec<HistoryEpisode>,
        limit: usize,
        now: i64,
    ) {
        let bridged: Vec<HistoryEpisode> = {
            let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
            let Some(list) = map.get_mut(customer) else {
                return;
            };
            list.retain(|e| now.saturating_sub(e.closed_ms) < BRIDGE_MS);
            if list.is_empty() {
                map.remove(customer);
                return;
            }
            let query_words = query.map(words);
            list.iter()
                .rev()
                .filter(|e| {
                    !episodes
                        .iter()
                        .any(|ep| ep.session_id == e.episode.session_id)
                })
                .filter(|e| match &query_words {
                    None => true,
                    Some(q) => e.words.iter().any(|w| q.binary_search(w).is_ok()),
                })
                .map(|e| e.episode.clone())
                .collect()
        };
        if bridged.is_empty() {
            return;
        }
        let mut merged = bridged;
        merged.append(episodes);
        merged.truncate(limit);
        *episodes = merged;
    }

    /// Forgets a customer's entries (forget-me).
    pub fn forget(&self, customer: &str) {
        let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        map.remove(customer);
    }
}

fn prune(map: &mut HashMap<String, Vec<Entry>>, now: i64) {
    map.retain(|_, list| {
        list.retain(|e| now.saturating_sub(e.closed_ms) < BRIDGE_MS);
        !list.is_empty()
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use everdesk_api::{Message, Role, Ticket, TicketStatus};

    fn record(id: &str, subject: &str, said: &[&str]) -> TicketRecord {
        TicketRecord {
            ticket: Ticket {
                id: id.into(),
                session_id: format!("ticket_{id}_x"),
                subject: subject.into(),
                status: TicketStatus::Closed,
                created_at: 1,
            },
            opening: Message {
                id: "o".into(),
                role: Role::Assistant,
                content: "Ticket opened".into(),
                created_at: 1,
            },
            customer_messages: said.iter().map(|s| (*s).to_owned()).collect(),
            replies: vec![],
            feedback: None,
        }
    }

    fn ep(session: &str) -> HistoryEpisode {
        HistoryEpisode {
            id: format!("ep_{session}"),
            session_id: session.into(),
            subject: Some("older".into()),
            summary: "older".into(),
            at: None,
            score: Some(1.0),
        }
    }

    #[test]
    fn a_just_closed_ticket_is_listed_until_everos_shows_it() {
        let r = RecentlyClosed::default();
        r.remember("u", &record("1", "Refund", &["I was charged twice"]), 1000);
        let mut list = vec![ep("ticket_0_x")];
        r.merge("u", None, &mut list, 10, 2000);
        assert_eq!(list.len(), 2);
        assert_eq!(list[0].subject.as_deref(), Some("Refund"));
        assert_eq!(list[0].summary, "I was charged twice");
        // Once EverOS returns the real episode, the provisional one is not added.
        let mut real = vec![ep("ticket_1_x")];
        r.merge("u", None, &mut real, 10, 2000);
        assert_eq!(real.len(), 1);
        // Another customer sees nothing of it; nor does anyone after the bridge.
        let mut other = vec![];
        r.merge("v", None, &mut other, 10, 2000);
        assert!(other.is_empty());
        let mut late = vec![];
        r.merge("u", None, &mut late, 10, 1000 + BRIDGE_MS);
        assert!(late.is_empty());
    }

    #[test]
    fn a_query_recalls_only_related_recent_tickets_first() {
        let r = RecentlyClosed::default();
        r.remember(
            "u",
            &record("1", "Password reset", &["the reset email never arrives"]),
            0,
        );
        r.remember(
            "u",
            &record("2", "Invoice", &["wrong VAT on my invoice"]),
            0,
        );
        let mut hits = vec![ep("ticket_0_x")];
        r.merge(
            "u",
            Some("the reset email still hasn't come"),
            &mut hits,
            5,
            10,
        );
        let subjects: Vec<_> = hits.iter().filter_map(|e| e.subject.as_deref()).collect();
        assert_eq!(subjects, ["Password reset", "older"]);
        let mut none = vec![];
        r.merge("u", Some("thanks for the help"), &mut none, 5, 10);
        assert!(none.is_empty(), "stopwords alone relate nothing");
        r.forget("u");
        let mut gone = vec![];
        r.merge("u", None, &mut gone, 5, 10);
        assert!(gone.is_empty());
    }

    #[test]
    fn bounded_per_customer() {
        let r = RecentlyClosed::default();
        for i in 0..40 {
            r.remember("u", &record(&i.to_string(), "s", &["x"]), 0);
        }
        let mut all = vec![];
        r.merge("u", None, &mut all, 100, 1);
        assert_eq!(all.len(), MAX_PER_CUSTOMER);
        assert_eq!(all[0].id, "recent_39", "newest first");
    }
}
