//! The ticket state's file in the data dir, `tickets.jsonl`: one [`Change`] per line,
//! appended as it happens, so a message costs one short line instead of a rewrite of
//! every ticket. Replayed on start through the same [`Change::apply`] the live state
//! uses. Compacted to one `put` per live ticket (atomically) once it holds more than
//! twice as many lines as tickets, plus slack. A line torn by a crash is skipped with a
//! warning; the previous format (`tickets.json`, one JSON document) is migrated once.

use std::{
    collections::HashMap,
    fs::File,
    io,
    path::{Path, PathBuf},
};

use serde::{Deserialize, Serialize};

use super::{Key, TicketRecord};
use everdesk_api::TicketStatus;

/// Most customer messages (and replies) kept per ticket: enough for the hand-off's
/// "what was tried"; EverOS keeps the whole conversation.
pub const MAX_EXCHANGES: usize = 50;
/// Most tickets kept per customer; beyond it the oldest (closed first) are dropped.
pub const MAX_TICKETS_PER_CUSTOMER: usize = 500;
/// Lines the file may hold beyond twice the live tickets before it is compacted.
const SLACK_LINES: usize = 1_000;

/// One change to the ticket state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Change {
    /// A ticket created (or, in a compacted file, as it is now).
    Put {
        /// The customer.
        customer: String,
        /// The ticket.
        record: TicketRecord,
    },
    /// A customer message and its reply.
    Exchange {
        /// The customer.
        customer: String,
        /// The ticket id.
        ticket: String,
        /// The customer's message, as stored.
        message: String,
        /// The reply.
        reply: String,
    },
    /// A ticket closed.
    Close {
        /// The customer.
        customer: String,
        /// The ticket id.
        ticket: String,
    },
    /// Every ticket of a customer forgotten.
    Forget {
        /// The customer.
        customer: String,
    },
}

impl Change {
    /// Applies the change, keeping the bounds ([`MAX_EXCHANGES`],
    /// [`MAX_TICKETS_PER_CUSTOMER`]); returns whether a ticket went from open to closed.
    pub fn apply(&self, map: &mut HashMap<Key, TicketRecord>) -> bool {
        match self {
            Self::Put { customer, record } => {
                let key = (customer.clone(), record.ticket.id.clone());
                map.insert(key, record.clone());
                cap_customer(map, customer);
                false
            }
            Self::Exchange {
                customer,
                ticket,
                message,
                reply,
            } => {
                if let Some(r) = map.get_mut(&(customer.clone(), ticket.clone())) {
                    push_bounded(&mut r.customer_messages, message);
                    push_bounded(&mut r.replies, reply);
                }
                false
            }
            Self::Close { customer, ticket } => map
                .get_mut(&(customer.clone(), ticket.clone()))
                .is_some_and(|r| {
                    let was_open = r.ticket.status == TicketStatus::Open;
                    r.ticket.status = TicketStatus::Closed;
                    was_open
                }),
            Self::Forget { customer } => {
                map.retain(|(c, _), _| c != customer);
                false
            }
        }
    }
}

fn push_bounded(list: &mut Vec<String>, item: &str) {
    list.push(item.to_owned());
    if list.len() > MAX_EXCHANGES {
        let excess = list.len() - MAX_EXCHANGES;
        list.drain(..excess);
    }
}

/// Drops a customer's oldest tickets beyond the cap, closed ones first.
fn cap_customer(map: &mut HashMap<Key, TicketRecord>, customer: &str) {
    let mut theirs: Vec<(bool, i64, String)> = map
        .iter()
        .filter(|((c, _), _)| c == customer)
        .map(|((_, id), r)| {
            (
                r.ticket.status == TicketStatus::Open,
                r.ticket.created_at,
                id.clone(),
            )
        })
        .collect();
    if theirs.len() <= MAX_TICKETS_PER_CUSTOMER {
        return;
    }
    theirs.sort();
    let excess = theirs.len() - MAX_TICKETS_PER_CUSTOMER;
    for (_, _, id) in theirs.into_iter().take(excess) {
        map.remove(&(customer.to_owned(), id));
    }
}

/// The open file and how many lines it holds.
#[derive(Debug)]
pub struct Journal {
    path: PathBuf,
    file: Option<File>,
    lines: usize,
}

impl Journal {
    /// Opens the journal at `path`, replaying it into a map (migrating `legacy`, the old
    /// one-document file, when the journal does not exist yet). Never fails: what cannot
    /// be read is dropped with a warning.
    pub fn open(path: PathBuf, legacy: &Path) -> (Self, HashMap<Key, TicketRecord>) {
        let mut map = HashMap::new();
        let mut lines = 0;
        match std::fs::read(&path) {
            Ok(bytes) => {
                let mut skipped = 0usize;
                for line in bytes
                    .split(|b| *b == b'\n')
                    .filter(|l| !l.trim_ascii().is_empty())
                {
                    lines += 1;
                    match serde_json::from_slice::<Change>(line) {
                        Ok(change) => {
                            change.apply(&mut map);
                        }
                        Err(_) => skipped += 1,
                    }
                }
                if skipped > 0 {
                    tracing::warn!(path = %path.display(), skipped, "unreadable ticket state lines skipped");
                }
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                if let Some(old) = read_legacy(legacy) {
                    map = old;
                    lines = usize::MAX; // compact (write the journal) right away
                }
            }
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "ticket state unreadable; starting empty")
            }
        }
        let mut journal = Self {
            path,
            file: None,
            lines,
        };
        if lines > compact_after(map.len()) && journal.compact(&map) && lines == usize::MAX {
            let _ = std::fs::remove_file(legacy); // migrated
        }
        (journal, map)
    }

    /// Appends `change` (already applied to `map`), compacting when the file is long.
    pub fn append(&mut self, change: &Change, map: &HashMap<Key, TicketRecord>) {
        if self.file.is_none() {
            self.file = self.reopen();
        }
        let Some(file) = self.file.as_mut() else {
            return;
        };
        if let Err(e) = crate::jsonl::append(file, change) {
            tracing::warn!(path = %self.path.display(), error = %e, "could not append to the ticket state");
            self.file = None;
            return;
        }
        self.lines += 1;
        if self.lines > compact_after(map.len()) {
            self.compact(map);
        }
    }

    /// Rewrites the file as one `put` per ticket; returns whether that worked.
    fn compact(&mut self, map: &HashMap<Key, TicketRecord>) -> bool {
        self.file = None;
        self.lines = map.len();
        let puts = map.iter().map(|((customer, _), record)| Change::Put {
            customer: customer.clone(),
            record: record.clone(),
        });
        let written = crate::jsonl::rewrite(&self.path, None::<&()>, puts);
        if let Err(e) = &written {
            tracing::warn!(path = %self.path.display(), error = %e, "could not compact the ticket state");
        }
        self.file = self.reopen();
        written.is_ok()
    }

    fn reopen(&self) -> Option<File> {
        crate::jsonl::open_append_or_warn(&self.path, "the ticket state")
    }
}

fn compact_after(tickets: usize) -> usize {
    tickets.saturating_mul(2).saturating_add(SLACK_LINES)
}

/// The previous format: `{"tickets": [[customer, record], …]}`.
fn read_legacy(path: &Path) -> Option<HashMap<Key, TicketRecord>> {
    #[derive(Deserialize)]
    struct Legacy {
        tickets: Vec<(String, TicketRecord)>,
    }
    let bytes = std::fs::read(path).ok()?;
    match serde_json::from_slice::<Legacy>(&bytes) {
        Ok(old) => Some(
            old.tickets
                .into_iter()
                .map(|(c, r)| ((c, r.ticket.id.clone()), r))
                .collect(),
        ),
        Err(e) => {
            tracing::warn!(path = %path.display(), error = %e, "old ticket state unreadable; starting empty");
            None
        }
    }
}
