//! Server-side ticket state per customer: subject, creation time, status, the opening
//! message and the latest exchanges of the ticket (for idempotent create, harmless double
//! close, and the hand-off's attempted solutions), and the customer's closing feedback
//! (rating and comment) for agents to read. In memory, optionally persisted as a
//! journal of changes in the data dir (`tickets/journal.rs`). Bounded: at most
//! [`MAX_TICKETS_PER_CUSTOMER`] tickets per customer and [`MAX_EXCHANGES`] exchanges
//! per ticket.

mod journal;

use std::{
    collections::HashMap,
    path::{Path, PathBuf},
    sync::{Arc, Mutex},
};

use everdesk_api::{Message, Ticket};
use serde::{Deserialize, Serialize};

use journal::{Change, Journal};
pub use journal::{MAX_EXCHANGES, MAX_TICKETS_PER_CUSTOMER};

/// What the proxy remembers about one ticket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketRecord {
    /// The ticket as reported to clients.
    pub ticket: Ticket,
    /// The opening assistant message.
    pub opening: Message,
    /// The latest customer messages, in order (as stored, after store redaction).
    pub customer_messages: Vec<String>,
    /// The latest assistant replies, in order.
    pub replies: Vec<String>,
    /// What the customer said when closing (absent in records from before it was kept).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub feedback: Option<Feedback>,
}

/// The close form's answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Feedback {
    /// Satisfaction, 1..=5.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rating: Option<u8>,
    /// Free text (after store redaction when it is on).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// When it was given, epoch ms.
    pub at: i64,
}

type Key = (String, String);

/// The map and, when persisted, its journal (one lock: the file's order is the map's).
#[derive(Debug, Default)]
struct State {
    map: HashMap<Key, TicketRecord>,
    journal: Option<Journal>,
}

/// All tickets of all customers, keyed by (customer id, ticket id).
#[derive(Debug, Default)]
pub struct TicketStore {
    state: Mutex<State>,
    create_locks: Mutex<HashMap<Key, Arc<tokio::sync::Mutex<()>>>>,
}

impl TicketStore {
    /// A store kept in memory only.
    pub fn in_memory() -> Self {
        Self::default()
    }

    /// A store journaled to `path` (replayed now if it exists; the old one-document
    /// file `legacy` is migrated once). Blocking file I/O.
    pub fn persisted(path: PathBuf, legacy: &Path) -> Self {
        let (journal, map) = Journal::open(path, legacy);
        Self {
            state: Mutex::new(State {
                map,
                journal: Some(journal),
            }),
            create_locks: Mutex::default(),
        }
    }

    fn key(customer: &str, ticket: &str) -> Key {
        (customer.to_owned(), ticket.to_owned())
    }

    /// A lock serialising creation of one ticket (so concurrent creates add once).
    pub fn create_lock(&self, customer: &str, ticket: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut locks = self.create_locks.lock().unwrap_or_else(|e| e.into_inner());
        locks.retain(|_, l| Arc::strong_count(l) > 1);
        locks
            .entry(Self::key(customer, ticket))
            .or_default()
            .clone()
    }

    /// The record of a ticket.
    pub fn get(&self, customer: &str, ticket: &str) -> Option<TicketRecord> {
        let state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state.map.get(&Self::key(customer, ticket)).cloned()
    }

    /// Stores a new ticket.
    pub fn insert(&self, customer: &str, record: TicketRecord) {
        self.change(Change::Put {
            customer: customer.to_owned(),
            record,
        });
    }

    /// Appends one exchange (customer message and reply) to a ticket.
    pub fn record_exchange(&self, customer: &str, ticket: &str, message: &str, reply: &str) {
        self.change(Change::Exchange {
            customer: customer.to_owned(),
            ticket: ticket.to_owned(),
            message: message.to_owned(),
            reply: reply.to_owned(),
        });
    }

    /// Marks a ticket closed, keeping `feedback` when given (a later close's feedback
    /// replaces an earlier one); returns whether it was open.
    pub fn close(&self, customer: &str, ticket: &str, feedback: Option<Feedback>) -> bool {
        self.change(Change::Close {
            customer: customer.to_owned(),
            ticket: ticket.to_owned(),
            feedback,
        })
    }

    /// Forgets every ticket of a customer.
    pub fn forget_customer(&self, customer: &str) {
        self.change(Change::Forget {
            customer: customer.to_owned(),
        });
    }

    /// Applies `change` and journals it, under one lock.
    fn change(&self, change: Change) -> bool {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let State { map, journal } = &mut *state;
        let before = map.len();
        let result = change.apply(map);
        if let Some(journal) = journal {
            journal.append(&change, map, map.len() < before);
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use everdesk_api::{Role, TicketStatus};

    /// An open ticket `id` with no exchanges (shared with `journal`'s tests).
    pub(super) fn record(id: &str) -> TicketRecord {
        TicketRecord {
            ticket: Ticket {
                id: id.into(),
                session_id: format!("ticket_{id}"),
                subject: "s".into(),
                status: TicketStatus::Open,
                created_at: 1,
            },
            opening: Message {
                id: "o".into(),
                role: Role::Assistant,
                content: "Ticket opened: s".into(),
                created_at: 1,
            },
            customer_messages: vec![],
            replies: vec![],
            feedback: None,
        }
    }

    #[test]
    fn tickets_are_per_customer_and_close_once() {
        let s = TicketStore::in_memory();
        s.insert("a", record("1"));
        assert!(s.get("b", "1").is_none());
        s.record_exchange("a", "1", "hi", "hello");
        assert_eq!(s.get("a", "1").unwrap().replies, ["hello"]);
        assert!(s.close("a", "1", None));
        assert!(!s.close("a", "1", None));
        s.forget_customer("a");
        assert!(s.get("a", "1").is_none());
    }

    /// A data dir, the journal's path and the old file's path in it.
    fn files() -> (tempfile::TempDir, PathBuf, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tickets.jsonl");
        let legacy = dir.path().join("tickets.json");
        (dir, path, legacy)
    }

    #[test]
    fn persisted_state_survives_a_reload() {
        let (_dir, path, legacy) = files();
        let s = TicketStore::persisted(path.clone(), &legacy);
        s.insert("a", record("9"));
        s.insert("b", record("9"));
        s.record_exchange("a", "9", "hi", "hello");
        let said = Feedback {
            rating: Some(4),
            comment: Some("quick, thanks".into()),
            at: 5,
        };
        assert!(s.close("a", "9", Some(said.clone())));
        let lines = || std::fs::read_to_string(&path).unwrap().lines().count();
        assert_eq!(lines(), 4, "one line per change, no rewrite");
        s.forget_customer("b");
        assert_eq!(lines(), 1, "a forget compacts: one put per ticket left");
        let again = TicketStore::persisted(path, &legacy);
        let a = again.get("a", "9").unwrap();
        assert_eq!(a.replies, ["hello"]);
        assert_eq!(a.ticket.status, TicketStatus::Closed);
        assert_eq!(a.feedback, Some(said));
        assert!(again.get("b", "9").is_none());
    }

    #[test]
    fn a_torn_last_line_loses_only_itself() {
        let (_dir, path, legacy) = files();
        TicketStore::persisted(path.clone(), &legacy).insert("a", record("1"));
        let mut text = std::fs::read_to_string(&path).unwrap();
        text.push_str("{\"op\":\"put\",\"custo");
        std::fs::write(&path, text).unwrap();
        let s = TicketStore::persisted(path.clone(), &legacy);
        assert!(s.get("a", "1").is_some());
        // The next change is not glued onto the torn line.
        s.insert("a", record("2"));
        let again = TicketStore::persisted(path, &legacy);
        assert!(again.get("a", "1").is_some() && again.get("a", "2").is_some());
    }

    #[test]
    fn a_torn_line_is_never_glued_to_the_next_change() {
        let (_dir, path, legacy) = files();
        TicketStore::persisted(path.clone(), &legacy).insert("a", record("1"));
        let mut text = std::fs::read_to_string(&path).unwrap();
        text.push_str("{\"op\":\"put\",\"custo");
        // Opening cannot compact (the temp file's place is taken by a directory), so
        // the torn line stays; the next change must still land on its own line.
        std::fs::create_dir(path.with_extension("jsonl.tmp")).unwrap();
        std::fs::write(&path, text).unwrap();
        let s = TicketStore::persisted(path.clone(), &legacy);
        s.insert("a", record("2"));
        std::fs::remove_dir(path.with_extension("jsonl.tmp")).unwrap();
        let again = TicketStore::persisted(path, &legacy);
        assert!(again.get("a", "1").is_some() && again.get("a", "2").is_some());
    }

    #[test]
    fn forgetting_a_customer_removes_their_words_from_the_disk() {
        let (_dir, path, legacy) = files();
        let s = TicketStore::persisted(path.clone(), &legacy);
        s.insert("a", record("1"));
        s.record_exchange("a", "1", "my card is 4111 secret words", "ok");
        s.insert("b", record("2"));
        s.forget_customer("a");
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(!text.contains("secret words"), "{text}");
        assert!(TicketStore::persisted(path, &legacy)
            .get("b", "2")
            .is_some());
    }

    #[test]
    fn journals_from_before_feedback_are_still_read() {
        let (_dir, path, legacy) = files();
        let mut put = serde_json::to_value(Change::Put {
            customer: "a".into(),
            record: record("1"),
        })
        .unwrap();
        put["record"].as_object_mut().unwrap().remove("feedback");
        let old_close = serde_json::json!({"op": "close", "customer": "a", "ticket": "1"});
        std::fs::write(&path, format!("{put}\n{old_close}\n")).unwrap();
        let s = TicketStore::persisted(path, &legacy);
        let r = s.get("a", "1").unwrap();
        assert_eq!((r.ticket.status, r.feedback), (TicketStatus::Closed, None));
    }

    #[test]
    fn the_old_single_file_is_migrated_once() {
        let (_dir, path, legacy) = files();
        let old = serde_json::json!({ "tickets": [["a", record("7")]] });
        std::fs::write(&legacy, old.to_string()).unwrap();
        let s = TicketStore::persisted(path.clone(), &legacy);
        assert!(s.get("a", "7").is_some());
        assert!(!legacy.exists(), "migrated");
        assert!(TicketStore::persisted(path, &legacy)
            .get("a", "7")
            .is_some());
    }

    #[test]
    fn tickets_and_exchanges_are_bounded() {
        let s = TicketStore::in_memory();
        s.insert("a", record("t"));
        for i in 0..MAX_EXCHANGES + 5 {
            s.record_exchange("a", "t", &format!("m{i}"), "r");
        }
        let r = s.get("a", "t").unwrap();
        assert_eq!(r.customer_messages.len(), MAX_EXCHANGES);
        assert_eq!(r.customer_messages[0], "m5", "the oldest go first");
        for i in 0..=MAX_TICKETS_PER_CUSTOMER {
            let mut rec = record(&format!("x{i}"));
            rec.ticket.created_at = 10 + i as i64;
            if i == 1 {
                rec.ticket.status = TicketStatus::Closed;
            }
            s.insert("a", rec);
        }
        assert!(s.get("a", "x1").is_none(), "the closed one went first");
        assert!(s.get("a", "t").is_none(), "then the oldest");
        assert!(s.get("a", "x0").is_some());
        assert!(s.get("b", "x0").is_none());
    }
}
