//! The idempotency ledger for customer messages: keyed by (customer, ticket, message id),
//! bounded in size and age. Each entry is a single-flight lock around the steps of one
//! message (user turn stored? reply generated? reply stored?) so a retry resumes where
//! the last attempt stopped and concurrent duplicates wait for the first.

use std::{
    collections::{HashMap, VecDeque},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use everdesk_api::{Context, SendMessageResponse};
use sha2::{Digest, Sha256};

/// Whether an EverOS add happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Not sent, or sent and definitely refused.
    Pending,
    /// Sent at this timestamp; the answer never came (timeout) — it may be stored.
    Unknown(i64),
    /// Stored at this timestamp.
    Done(i64),
}

/// The progress of one customer message.
#[derive(Debug, Clone)]
pub struct Progress {
    /// The customer turn.
    pub user: Step,
    /// The reply text and the context it used, once generated (reused on retries).
    pub reply: Option<(String, Context)>,
    /// The assistant turn.
    pub assistant: Step,
    /// The full answer, once every step is done.
    pub response: Option<SendMessageResponse>,
}

impl Default for Progress {
    fn default() -> Self {
        Self {
            user: Step::Pending,
            reply: None,
            assistant: Step::Pending,
            response: None,
        }
    }
}

/// A ledger entry; lock it for the whole handling of the message.
pub type Entry = Arc<tokio::sync::Mutex<Progress>>;

type Key = (String, String, String);
/// The map and its insertion order (for eviction).
type Slots = (HashMap<Key, Slot>, VecDeque<(Key, Instant)>);

struct Slot {
    content: [u8; 32],
    entry: Entry,
    born: Instant,
}

/// Same message id, different content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ContentMismatch;

/// Bounded map of message ids to their progress.
pub struct Ledger {
    capacity: usize,
    ttl: Duration,
    inner: Mutex<Slots>,
}

impl std::fmt::Debug for Ledger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ledger")
            .field("capacity", &self.capacity)
            .finish_non_exhaustive()
    }
}

fn digest(content: &str) -> [u8; 32] {
    Sha256::digest(content.as_bytes()).into()
}

impl Ledger {
    /// A ledger keeping at most `capacity` ids for at most `ttl`.
    pub fn new(capacity: usize, ttl: Duration) -> Self {
        Self {
            capacity: capacity.max(1),
            ttl,
            inner: Mutex::new((HashMap::new(), VecDeque::new())),
        }
    }

    /// The entry for this message, created if new; refused if the id was used for other content.
    pub fn entry(
        &self,
        customer: &str,
        ticket: &str,
        message_id: &str,
        content: &str,
    ) -> Result<Entry, ContentMismatch> {
        let key = (
            customer.to_owned(),
            ticket.to_owned(),
            message_id.to_owned(),
        );
        let hash = digest(content);
        let now = Instant::now();
        let mut guard = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let (map, order) = &mut *guard;
        if let Some(slot) = map.get(&key) {
            if now.duration_since(slot.born) < self.ttl {
                return if slot.content == hash {
                    Ok(slot.entry.clone())
                } else {
                    Err(ContentMismatch)
                };
            }
            map.remove(&key);
        }
        while let Some((front, born)) = order.front() {
            let stale = map.get(front).is_none_or(|s| s.born != *born);
            let expired = now.duration_since(*born) >= self.ttl;
            if !(stale || expired || map.len() >= self.capacity) {
                break;
            }
            if let Some((k, born)) = order.pop_front() {
                if map.get(&k).is_some_and(|s| s.born == born) {
                    map.remove(&k);
                }
            }
        }
        let entry = Entry::default();
        map.insert(
            key.clone(),
            Slot {
                content: hash,
                entry: entry.clone(),
                born: now,
            },
        );
        order.push_back((key, now));
        Ok(entry)
    }

    /// How many ids are remembered.
    pub fn len(&self) -> usize {
        self.inner.lock().unwrap_or_else(|e| e.into_inner()).0.len()
    }

    /// Whether nothing is remembered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_id_same_content_shares_the_entry() {
        let l = Ledger::new(10, Duration::from_secs(60));
        let a = l.entry("u", "t", "m", "hi").unwrap();
        let b = l.entry("u", "t", "m", "hi").unwrap();
        assert!(Arc::ptr_eq(&a, &b));
        assert_eq!(l.entry("u", "t", "m", "bye").err(), Some(ContentMismatch));
        let other = l.entry("v", "t", "m", "bye").unwrap();
        assert!(!Arc::ptr_eq(&a, &other), "keyed by customer");
    }

    #[test]
    fn bounded_by_capacity_and_ttl() {
        let l = Ledger::new(2, Duration::from_secs(60));
        for id in ["1", "2", "3"] {
            l.entry("u", "t", id, "x").unwrap();
        }
        assert_eq!(l.len(), 2);
        let l = Ledger::new(10, Duration::ZERO);
        let a = l.entry("u", "t", "m", "x").unwrap();
        let b = l.entry("u", "t", "m", "y").unwrap();
        assert!(!Arc::ptr_eq(&a, &b), "expired ids are forgotten");
    }
}
