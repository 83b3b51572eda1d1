//! The idempotency ledger for customer messages: keyed by (customer, ticket, message id),
//! bounded in size and age. Making room never forgets an id in use, nor one younger than
//! the retry window, except the customer's own once they hold more than a tenth of the
//! ledger (so one customer cannot crowd the others out); when nothing may go, a new
//! message is refused with `rate_limited`, since forgetting could let a retry be stored
//! twice. Each entry is a single-flight lock around the steps of one
//! message (user turn stored? reply generated? reply stored?) so a retry resumes where
//! the last attempt stopped and concurrent duplicates wait for the first.
//!
//! With a data dir ([`Ledger::persisted`]) every attempt that sent an EverOS add is also
//! written to a journal file (`ledger/journal.rs`), so a restart neither re-adds a finished
//! message nor blindly re-sends one whose add had an unknown outcome.

mod journal;
mod record;

use std::{
    collections::{HashMap, VecDeque},
    path::PathBuf,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use everdesk_api::{Context, SendMessageResponse};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::clock::now_ms;
use journal::{Bounds, Journal};
use record::{Record, Saved};

/// Whether an EverOS add happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
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
    /// `born` as epoch ms, for the journal (an `Instant` does not survive a restart).
    born_ms: i64,
}

/// Why a message id cannot get a ledger entry now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// Same message id, different content.
    ContentMismatch,
    /// The ledger is full of ids that are still being retried (younger than the
    /// retry window, or in use): forgetting one could let its retry be stored twice,
    /// so the new message waits this long instead.
    Full(Duration),
}

/// Ids younger than this are never evicted to make room (only expired ones are): a
/// client retries within minutes, so evicting one could store its message twice.
const RETRY_WINDOW: Duration = Duration::from_secs(10 * 60);

/// Bounded map of message ids to their progress.
pub struct Ledger {
    capacity: usize,
    ttl: Duration,
    /// See [`RETRY_WINDOW`]; never longer than `ttl`.
    retry_window: Duration,
    inner: Mutex<Slots>,
    journal: Option<Arc<Journal>>,
}

impl std::fmt::Debug for Ledger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ledger")
            .field("capacity", &self.capacity)
            .field("persisted", &self.journal.is_some())
            .finish_non_exhaustive()
    }
}

fn digest(content: &str) -> [u8; 32] {
    Sha256::digest(content.as_bytes()).into()
}

impl Ledger {
    /// A ledger keeping at most `capacity` ids for at most `ttl`, in memory only.
    pub fn new(capacity: usize, ttl: Duration) -> Self {
        Self {
            capacity: capacity.max(1),
            ttl,
            retry_window: RETRY_WINDOW.min(ttl),
            inner: Mutex::new((HashMap::new(), VecDeque::new())),
            journal: None,
        }
    }

    /// As [`Ledger::new`], journaled to `path`: what the file holds within the bounds is
    /// loaded now (an unreadable file is dropped with a warning). Blocking file I/O.
    pub fn persisted(capacity: usize, ttl: Duration, path: PathBuf) -> Self {
        let mut ledger = Self::new(capacity, ttl);
        let bounds = Bounds {
            capacity: ledger.capacity,
            ttl,
        };
        let (journal, records) = Journal::open(path, bounds, now_ms());
        ledger.restore(records);
        ledger.journal = Some(Arc::new(journal));
        ledger
    }

    /// Puts journaled records (oldest first) back into the map, ageing them by wall clock.
    fn restore(&mut self, records: Vec<Record>) {
        let now = Instant::now();
        let wall = now_ms();
        let (map, order) = self.inner.get_mut().unwrap_or_else(|e| e.into_inner());
        for r in records {
            let Some(content) = r.content() else {
                continue;
            };
            let age =
                Duration::from_millis(u64::try_from(wall.saturating_sub(r.born_ms)).unwrap_or(0));
            let born = now.checked_sub(age).unwrap_or(now);
            let key = (r.customer, r.ticket, r.message_id);
            let slot = Slot {
                content,
                entry: Arc::new(tokio::sync::Mutex::new(r.state.into_progress())),
                born,
                born_ms: r.born_ms,
            };
            map.insert(key.clone(), slot);
            order.push_back((key, born));
        }
    }

    /// As [`Ledger::new`] with another retry window (tests).
    pub fn with_retry_window(mut self, window: Duration) -> Self {
        self.retry_window = window.min(self.ttl);
        self
    }

    /// The entry for this message if the ledger already holds it with this content (a
    /// retry), without making a new one: for requests that are refused unless they repeat
    /// an earlier message, so a refused message never takes a slot.
    pub fn existing(
        &self,
        customer: &str,
        ticket: &str,
        message_id: &str,
        content: &str,
    ) -> Option<Entry> {
        let key = (
            customer.to_owned(),
            ticket.to_owned(),
            message_id.to_owned(),
        );
        let guard = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        guard
            .0
            .get(&key)
            .filter(|s| s.born.elapsed() < self.ttl && s.content == digest(content))
            .map(|s| s.entry.clone())
    }

    /// The entry for this message, created if new. Refused if the id was used for
    /// other content, or when making room would mean forgetting an id that may
    /// still be retried (see [`Refused::Full`]).
    pub fn entry(
        &self,
        customer: &str,
        ticket: &str,
        message_id: &str,
        content: &str,
    ) -> Result<Entry, Refused> {
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
                    Err(Refused::ContentMismatch)
                };
            }
            map.remove(&key);
        }
        // Expired (and superseded) ids leave from the front.
        while let Some((front, born)) = order.front() {
            let live = map.get(front).is_some_and(|s| s.born == *born);
            if live && now.duration_since(*born) < self.ttl {
                break;
            }
            if let Some((k, born)) = order.pop_front() {
                if map.get(&k).is_some_and(|s| s.born == born) {
                    map.remove(&k);
                }
            }
        }
        if map.len() >= self.capacity {
            self.make_room(map, order, customer, now)?;
        }
        let entry = Entry::default();
        map.insert(
            key.clone(),
            Slot {
                content: hash,
                entry: entry.clone(),
                born: now,
                born_ms: now_ms(),
            },
        );
        order.push_back((key, now));
        Ok(entry)
    }

    /// Frees one slot of a full ledger, never taking an id in use: the customer's own
    /// oldest id once they hold more than a tenth of the ledger (one customer cannot
    /// crowd the others out), else the oldest id past the retry window. Refused when
    /// every id may still be retried; the answer says how long until one may not.
    fn make_room(
        &self,
        map: &mut HashMap<Key, Slot>,
        order: &mut VecDeque<(Key, Instant)>,
        customer: &str,
        now: Instant,
    ) -> Result<(), Refused> {
        let share = (self.capacity / 10).max(1);
        let theirs = map.keys().filter(|(c, _, _)| c == customer).count();
        let evictable = |key: &Key, born: &Instant, map: &HashMap<Key, Slot>| {
            map.get(key)
                .is_some_and(|s| s.born == *born && Arc::strong_count(&s.entry) == 1)
        };
        let victim = if theirs >= share {
            order
                .iter()
                .position(|(k, born)| k.0 == customer && evictable(k, born, map))
        } else {
            order.iter().position(|(k, born)| {
                now.duration_since(*born) >= self.retry_window && evictable(k, born, map)
            })
        };
        match victim.and_then(|i| order.remove(i)) {
            Some((key, _)) => {
                map.remove(&key);
                Ok(())
            }
            None => {
                let oldest = order.front().map_or(now, |(_, born)| *born);
                let wait = self.retry_window.saturating_sub(now.duration_since(oldest));
                Err(Refused::Full(wait.max(Duration::from_secs(1))))
            }
        }
    }

    /// Journals how far `entry` got; call after each attempt, with its lock still held, so
    /// the journal's newest line is the entry's latest state. Saves a finished response, or
    /// the steps of an unfinished message once an EverOS add was sent (done or unknown).
    /// A no-op without a data dir, before any add, or once the ledger forgot this entry.
    pub async fn save(
        &self,
        customer: &str,
        ticket: &str,
        message_id: &str,
        entry: &Entry,
        progress: &Progress,
    ) {
        let Some(journal) = &self.journal else {
            return;
        };
        let Some(state) = Saved::of(progress) else {
            return;
        };
        let key = (
            customer.to_owned(),
            ticket.to_owned(),
            message_id.to_owned(),
        );
        let slot = {
            let guard = self.inner.lock().unwrap_or_else(|e| e.into_inner());
            guard
                .0
                .get(&key)
                .filter(|s| Arc::ptr_eq(&s.entry, entry))
                .map(|s| (s.content, s.born_ms))
        };
        let Some((content, born_ms)) = slot else {
            return;
        };
        let (customer, ticket, message_id) = key;
        let record = Record::new(customer, ticket, message_id, &content, born_ms, state);
        if journal.try_append(&record) {
            return;
        }
        let journal = journal.clone();
        if let Err(e) = tokio::task::spawn_blocking(move || journal.append(&record, now_ms())).await
        {
            tracing::warn!(error = %e, "idempotency ledger write did not finish");
        }
    }

    /// Whether a customer turn of this ticket is an add whose answer never came (and no
    /// retry is resolving it right now): it may be in EverOS's buffer, where a retry
    /// looks for it. A flush now would move it out of sight and the retry would add it
    /// a second time.
    pub fn has_unknown_user_turn(&self, customer: &str, ticket: &str) -> bool {
        let guard = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        guard
            .0
            .iter()
            .filter(|((c, t, _), _)| c == customer && t == ticket)
            .any(|(_, slot)| {
                slot.entry
                    .try_lock()
                    .is_ok_and(|p| matches!(p.user, Step::Unknown(_)))
            })
    }

    /// Forgets every message of a customer, in memory and in the journal.
    pub async fn forget_customer(&self, customer: &str) {
        {
            let mut guard = self.inner.lock().unwrap_or_else(|e| e.into_inner());
            guard.0.retain(|(c, _, _), _| c != customer);
        }
        let Some(journal) = &self.journal else {
            return;
        };
        let journal = journal.clone();
        let customer = customer.to_owned();
        if let Err(e) =
            tokio::task::spawn_blocking(move || journal.forget(&customer, now_ms())).await
        {
            tracing::warn!(error = %e, "idempotency ledger rewrite did not finish");
        }
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
mod tests;
