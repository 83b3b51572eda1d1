//! Server-side ticket state per customer: subject, creation time, status, the opening
//! message and what was said in the ticket (for idempotent create, harmless double
//! close, and the hand-off's attempted solutions). In memory, optionally persisted as
//! one JSON file in the data dir.

use std::{
    collections::HashMap,
    path::PathBuf,
    sync::{Arc, Mutex},
};

use everdesk_api::{Message, Ticket, TicketStatus};
use serde::{Deserialize, Serialize};

/// What the proxy remembers about one ticket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketRecord {
    /// The ticket as reported to clients.
    pub ticket: Ticket,
    /// The opening assistant message.
    pub opening: Message,
    /// Customer messages, in order (as stored, after store redaction).
    pub customer_messages: Vec<String>,
    /// Assistant replies, in order.
    pub replies: Vec<String>,
}

type Key = (String, String);

#[derive(Debug, Default, Serialize, Deserialize)]
struct Persisted {
    tickets: Vec<(String, TicketRecord)>,
}

/// All tickets of all customers, keyed by (customer id, ticket id).
#[derive(Debug, Default)]
pub struct TicketStore {
    tickets: Mutex<HashMap<Key, TicketRecord>>,
    create_locks: Mutex<HashMap<Key, Arc<tokio::sync::Mutex<()>>>>,
    path: Option<PathBuf>,
}

impl TicketStore {
    /// A store kept in memory only.
    pub fn in_memory() -> Self {
        Self::default()
    }

    /// A store persisted to `path` (loaded now if it exists).
    pub fn persisted(path: PathBuf) -> Self {
        let mut map = HashMap::new();
        if let Ok(bytes) = std::fs::read(&path) {
            match serde_json::from_slice::<Persisted>(&bytes) {
                Ok(p) => {
                    for (customer, rec) in p.tickets {
                        map.insert((customer, rec.ticket.id.clone()), rec);
                    }
                }
                Err(e) => {
                    tracing::warn!(path = %path.display(), error = %e, "ticket state unreadable; starting empty")
                }
            }
        }
        Self {
            tickets: Mutex::new(map),
            create_locks: Mutex::default(),
            path: Some(path),
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
        let map = self.tickets.lock().unwrap_or_else(|e| e.into_inner());
        map.get(&Self::key(customer, ticket)).cloned()
    }

    /// Stores a new ticket.
    pub fn insert(&self, customer: &str, record: TicketRecord) {
        self.update_map(|map| {
            map.insert(Self::key(customer, &record.ticket.id), record);
        });
    }

    /// Appends one exchange (customer message and reply) to a ticket.
    pub fn record_exchange(&self, customer: &str, ticket: &str, message: &str, reply: &str) {
        self.update_map(|map| {
            if let Some(r) = map.get_mut(&Self::key(customer, ticket)) {
                r.customer_messages.push(message.to_owned());
                r.replies.push(reply.to_owned());
            }
        });
    }

    /// Marks a ticket closed; returns whether it was open.
    pub fn close(&self, customer: &str, ticket: &str) -> bool {
        let mut was_open = false;
        self.update_map(|map| {
            if let Some(r) = map.get_mut(&Self::key(customer, ticket)) {
                was_open = r.ticket.status == TicketStatus::Open;
                r.ticket.status = TicketStatus::Closed;
            }
        });
        was_open
    }

    /// Forgets every ticket of a customer.
    pub fn forget_customer(&self, customer: &str) {
        self.update_map(|map| map.retain(|(c, _), _| c != customer));
    }

    fn update_map(&self, f: impl FnOnce(&mut HashMap<Key, TicketRecord>)) {
        let mut map = self.tickets.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut map);
        if let Some(path) = &self.path {
            let persisted = Persisted {
                tickets: map
                    .iter()
                    .map(|((c, _), r)| (c.clone(), r.clone()))
                    .collect(),
            };
            if let Err(e) = write_atomic(path, &persisted) {
                tracing::warn!(path = %path.display(), error = %e, "could not persist ticket state");
            }
        }
    }
}

fn write_atomic(path: &std::path::Path, value: &Persisted) -> std::io::Result<()> {
    let tmp = path.with_extension("json.tmp");
    std::fs::write(
        &tmp,
        serde_json::to_vec(value).map_err(std::io::Error::other)?,
    )?;
    std::fs::rename(tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use everdesk_api::Role;

    fn record(id: &str) -> TicketRecord {
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
        }
    }

    #[test]
    fn tickets_are_per_customer_and_close_once() {
        let s = TicketStore::in_memory();
        s.insert("a", record("1"));
        assert!(s.get("b", "1").is_none());
        s.record_exchange("a", "1", "hi", "hello");
        assert_eq!(s.get("a", "1").unwrap().replies, ["hello"]);
        assert!(s.close("a", "1"));
        assert!(!s.close("a", "1"));
        s.forget_customer("a");
        assert!(s.get("a", "1").is_none());
    }

    #[test]
    fn persisted_state_survives_a_reload() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tickets.json");
        TicketStore::persisted(path.clone()).insert("a", record("9"));
        assert_eq!(
            TicketStore::persisted(path)
                .get("a", "9")
                .unwrap()
                .ticket
                .id,
            "9"
        );
    }
}
