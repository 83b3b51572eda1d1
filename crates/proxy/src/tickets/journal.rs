//! The ticket state's file in the data dir, `tickets.jsonl`: one [`Change`] per line,
//! appended as it happens, so a message costs one short line instead of a rewrite of
//! every ticket. Replayed on start through the same [`Change::apply`] the live state
//! uses. Compacted to one `put` per live ticket (atomically) once it holds more than
//! twice as many lines as tickets, plus slack, and right after a customer's tickets are
//! forgotten.
//! A line torn by a crash is skipped with a warning and rewritten away at start; the
//! previous format (`tickets.json`, one JSON document) is migrated once, and deleted only
//! after the journal holds it.

use std::{
    collections::HashMap,
    fs::File,
    io,
    path::{Path, PathBuf},
};

use serde::{Deserialize, Serialize};

use super::{Feedback, Key, TicketRecord};
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
    /// A ticket closed (or closed again with feedback).
    Close {
        /// The customer.
        customer: String,
        /// The ticket id.
        ticket: String,
        /// The close form's answers, if any (absent in lines from before they were kept).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        feedback: Option<Feedback>,
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
            Self::Close {
                customer,
                ticket,
                feedback,
            } => map
                .get_mut(&(customer.clone(), ticket.clone()))
                .is_some_and(|r| {
                    let was_open = r.ticket.status == TicketStatus::Open;
                    r.ticket.status = TicketStatus::Closed;
                    if feedback.is_some() {
                        r.feedback.clone_from(feedback);
                    }
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
    /// The file may end in a partial line (a failed append): start the next one on a
    /// fresh line. Cleared by a good append.
    fresh_line: bool,
    /// A change is missing from the file (its append failed): the whole state must be
    /// rewritten. Cleared only by a rewrite that worked.
    lost: bool,
    /// The old one-document file, merged into the state but not yet into the journal:
    /// deleted by the first compaction that succeeds.
    legacy: Option<PathBuf>,
}

impl Journal {
    /// Opens the journal at `path`, replaying it into a map (after `legacy`, the old
    /// one-document file, while it exists). Never fails: what cannot be read is skipped
    /// with a warning.
    pub fn open(path: PathBuf, legacy: &Path) -> (Self, HashMap<Key, TicketRecord>) {
        // The old file, if still there, comes first: it is deleted only once a
        // compaction has written everything it held into the journal.
        let old = legacy.exists().then(|| read_legacy(legacy)).flatten();
        let migrating = old.is_some();
        let mut map = old.unwrap_or_default();
        let mut lines = 0;
        let mut clean = true;
        match std::fs::read(&path) {
            Ok(bytes) => {
                clean = bytes.is_empty() || bytes.ends_with(b"\n");
                for line in bytes
                    .split(|b| *b == b'\n')
                    .filter(|l| !l.trim_ascii().is_empty())
                {
                    lines += 1;
                    match serde_json::from_slice::<Change>(line) {
                        Ok(change) => {
                            change.apply(&mut map);
                        }
                        Err(_) => clean = false,
                    }
                }
                if !clean {
                    tracing::warn!(path = %path.display(), "unreadable ticket state lines skipped");
                }
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "ticket state unreadable; starting empty")
            }
        }
        let mut journal = Self {
            path,
            file: None,
            lines,
            // A file not ending on a full line: the next append must start a fresh one.
            fresh_line: !clean,
            lost: false,
            legacy: migrating.then(|| legacy.to_owned()),
        };
        // A torn or unreadable line is rewritten away (so the next append does not
        // glue onto it), and a migration is finished, before anything is appended.
        if migrating || !clean || lines > compact_after(map.len()) {
            journal.compact(&map);
        }
        (journal, map)
    }

    /// Appends `change` (already applied to `map`), compacting when the file is long,
    /// after a forget that removed tickets (so the customer's words leave the disk at
    /// once), and after a failed append (so the lost change is written after all). If
    /// that compaction fails too, the line starts on a fresh line, so a partial one
    /// stays a single unreadable line instead of swallowing the next.
    pub fn append(&mut self, change: &Change, map: &HashMap<Key, TicketRecord>, removed: bool) {
        // After a failed append the state is rewritten whole (the lost change with it);
        // a forget that removed tickets rewrites it too (the words leave the disk).
        let forgot = removed && matches!(change, Change::Forget { .. });
        if (self.lost || forgot) && self.compact(map) {
            return;
        }
        if self.file.is_none() {
            self.file = self.reopen();
        }
        let Some(file) = self.file.as_mut() else {
            self.lost = true;
            return;
        };
        let written = if self.fresh_line {
            std::io::Write::write_all(file, b"\n").and_then(|()| crate::jsonl::append(file, change))
        } else {
            crate::jsonl::append(file, change)
        };
        if let Err(e) = written {
            tracing::warn!(path = %self.path.display(), error = %e, "could not append to the ticket state");
            self.file = None;
            self.fresh_line = true;
            self.lost = true;
            return;
        }
        self.fresh_line = false;
        self.lines += 1;
        if self.lines > compact_after(map.len()) {
            self.compact(map);
        }
    }

    /// Rewrites the file as one `put` per ticket; returns whether that worked. If not,
    /// the old file stays and changes are still appended to it.
    fn compact(&mut self, map: &HashMap<Key, TicketRecord>) -> bool {
        self.file = None;
        let puts = map.iter().map(|((customer, _), record)| Change::Put {
            customer: customer.clone(),
            record: record.clone(),
        });
        let written = crate::jsonl::rewrite(&self.path, None::<&()>, puts);
        match &written {
            Ok(()) => {
                self.lines = map.len();
                self.fresh_line = false;
                self.lost = false;
                if let Some(legacy) = self.legacy.take() {
                    let _ = std::fs::remove_file(legacy); // migrated
                }
            }
            Err(e) => {
                tracing::warn!(path = %self.path.display(), error = %e, "could not compact the ticket state")
            }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tickets::tests::record;

    fn put(j: &mut Journal, map: &mut HashMap<Key, TicketRecord>, id: &str) {
        let c = Change::Put {
            customer: "a".into(),
            record: record(id),
        };
        c.apply(map);
        j.append(&c, map, false);
    }

    /// Append of "2" fails (disk full), the compaction after it fails too (it needs far
    /// more room than a line), "3" appends fine: "2" must still reach the disk.
    #[test]
    fn a_lost_change_is_not_forgotten_once_a_later_append_succeeds() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tickets.jsonl");
        let (mut j, mut map) = Journal::open(path.clone(), &dir.path().join("tickets.json"));
        put(&mut j, &mut map, "1");
        j.file = Some(
            std::fs::OpenOptions::new()
                .write(true)
                .open("/dev/full")
                .unwrap(),
        );
        put(&mut j, &mut map, "2"); // ENOSPC
        let tmp = path.with_extension("jsonl.tmp");
        std::fs::create_dir(&tmp).unwrap(); // compaction fails
        put(&mut j, &mut map, "3");
        std::fs::remove_dir(&tmp).unwrap();
        put(&mut j, &mut map, "4");
        let (_, again) = Journal::open(path, &dir.path().join("tickets.json"));
        let mut ids: Vec<_> = again.keys().map(|(_, t)| t.clone()).collect();
        ids.sort();
        assert_eq!(ids, ["1", "2", "3", "4"], "change 2 lost from the journal");
    }
}
