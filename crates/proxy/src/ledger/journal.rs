//! The ledger's file in the data dir, JSON Lines: a format/version header, then one
//! [`Record`] per line, appended as attempts settle; the newest line per message id wins.
//!
//! Bounds: loading keeps only records younger than the ledger's age bound and, of those,
//! the newest `capacity`; opening rewrites the file (atomically: temp file + rename) with
//! exactly that, and so does every append that takes the file past `2 × capacity` lines.
//! A file without the current header (unreadable, or an older format) is dropped with a
//! warning; single unreadable lines (a write torn by a crash) are skipped with a warning.
//!
//! Every method does blocking file I/O: call it from a blocking task, or at start-up —
//! except [`Journal::try_append`], one small write to the already open file (no open,
//! no compaction, no sync), which the async request path does inline: three thread hops
//! per customer message saved.

use std::{
    collections::HashMap,
    fs::File,
    io,
    path::{Path, PathBuf},
    sync::Mutex,
    time::Duration,
};

use serde::{Deserialize, Serialize};

use super::record::Record;

/// The first line of every journal; anything else is an older or foreign file.
#[derive(Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Header {
    format: String,
    version: u32,
}

const FORMAT: &str = "everdesk-ledger";
const VERSION: u32 = 1;

fn current_header() -> Header {
    Header {
        format: FORMAT.to_owned(),
        version: VERSION,
    }
}

/// The ledger's bounds, applied to the file too.
#[derive(Debug, Clone, Copy)]
pub struct Bounds {
    /// Most records kept.
    pub capacity: usize,
    /// Oldest record kept (counted from when the id was first seen).
    pub ttl: Duration,
}

impl Bounds {
    /// How many record lines the file may reach before it is compacted.
    fn compact_after(&self) -> usize {
        self.capacity.saturating_mul(2).max(8)
    }
}

/// The open journal: one appender at a time.
#[derive(Debug)]
pub struct Journal {
    path: PathBuf,
    bounds: Bounds,
    writer: Mutex<Writer>,
}

#[derive(Debug)]
struct Writer {
    /// Open for appending; `None` after a failed write (reopened on the next append).
    file: Option<File>,
    /// Record lines in the file.
    lines: usize,
}

impl Journal {
    /// Opens the journal at `path`: returns what it holds within `bounds` (oldest first)
    /// and rewrites the file with exactly that.
    pub fn open(path: PathBuf, bounds: Bounds, now_ms: i64) -> (Self, Vec<Record>) {
        let records = load(&path, bounds, now_ms);
        let journal = Self {
            path,
            bounds,
            writer: Mutex::new(Writer {
                file: None,
                lines: 0,
            }),
        };
        journal.rewrite(&mut journal.lock(), &records);
        (journal, records)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Writer> {
        self.writer.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Appends one record when that is one write to the open file (no reopening, no
    /// compaction due); `false` when [`Self::append`] must do it in a blocking task. A
    /// failed write is logged, as by `append`, and counts as done.
    pub fn try_append(&self, record: &Record) -> bool {
        let mut w = self.lock();
        if w.lines.saturating_add(1) > self.bounds.compact_after() {
            return false;
        }
        let Some(file) = w.file.as_mut() else {
            return false;
        };
        if let Err(e) = crate::jsonl::append(file, record) {
            tracing::warn!(path = %self.path.display(), error = %e, "could not append to the idempotency ledger");
            w.file = None;
            return true;
        }
        w.lines += 1;
        true
    }

    /// Appends one record, compacting the file (bounds as of `now_ms`) when it has grown
    /// past its bound. Failures are logged: the ledger then only lasts as long as the process.
    pub fn append(&self, record: &Record, now_ms: i64) {
        let mut w = self.lock();
        if w.file.is_none() {
            w.file = self.reopen();
        }
        let Some(file) = w.file.as_mut() else {
            return;
        };
        if let Err(e) = crate::jsonl::append(file, record) {
            tracing::warn!(path = %self.path.display(), error = %e, "could not append to the idempotency ledger");
            w.file = None;
            return;
        }
        w.lines += 1;
        if w.lines > self.bounds.compact_after() {
            let records = load(&self.path, self.bounds, now_ms);
            self.rewrite(&mut w, &records);
        }
    }

    /// Rewrites the file (bounds as of `now_ms`) without any record of `customer`.
    pub fn forget(&self, customer: &str, now_ms: i64) {
        let mut w = self.lock();
        let mut records = load(&self.path, self.bounds, now_ms);
        records.retain(|r| r.customer != customer);
        self.rewrite(&mut w, &records);
    }

    fn rewrite(&self, w: &mut Writer, records: &[Record]) {
        w.file = None;
        // Counted even on failure, so a broken disk does not mean a rewrite per append.
        w.lines = records.len();
        if let Err(e) = write_atomic(&self.path, records) {
            tracing::warn!(path = %self.path.display(), error = %e, "could not rewrite the idempotency ledger");
        }
        w.file = self.reopen();
    }

    fn reopen(&self) -> Option<File> {
        crate::jsonl::open_append_or_warn(&self.path, "the idempotency ledger")
    }
}

/// The records of the file at `path` within `bounds`, oldest first. Never fails: a
/// missing file is empty, an unreadable or old-format one is dropped with a warning.
fn load(path: &Path, bounds: Bounds, now_ms: i64) -> Vec<Record> {
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Vec::new(),
        Err(e) => {
            tracing::warn!(path = %path.display(), error = %e, "idempotency ledger unreadable; starting empty");
            return Vec::new();
        }
    };
    let mut lines = bytes.split(|b| *b == b'\n');
    let header = lines
        .next()
        .and_then(|l| serde_json::from_slice::<Header>(l).ok());
    if header != Some(current_header()) {
        if !bytes.is_empty() {
            tracing::warn!(path = %path.display(), "idempotency ledger corrupt or from an older version; dropped");
        }
        return Vec::new();
    }
    let mut newest: HashMap<_, Record> = HashMap::new();
    let mut skipped = 0usize;
    for line in lines.filter(|l| !l.trim_ascii().is_empty()) {
        match serde_json::from_slice::<Record>(line) {
            Ok(r) if r.content().is_some() => {
                newest.insert(r.key(), r);
            }
            _ => skipped += 1,
        }
    }
    if skipped > 0 {
        tracing::warn!(path = %path.display(), skipped, "skipped unreadable idempotency ledger lines");
    }
    let ttl_ms = i64::try_from(bounds.ttl.as_millis()).unwrap_or(i64::MAX);
    let mut kept: Vec<Record> = newest
        .into_values()
        .filter(|r| now_ms.saturating_sub(r.born_ms) < ttl_ms)
        .collect();
    kept.sort_by_key(|r| r.born_ms);
    trim_like_the_ledger(kept, bounds.capacity)
}

/// Keeps `capacity` of `records` (oldest first) the way the ledger makes room: a
/// customer holding more than a tenth gives up their own oldest first, then the oldest
/// go. So a flood by one customer does not push the others' ids out of the file.
fn trim_like_the_ledger(records: Vec<Record>, capacity: usize) -> Vec<Record> {
    let mut excess = records.len().saturating_sub(capacity);
    if excess == 0 {
        return records;
    }
    let share = (capacity / 10).max(1);
    let mut held: HashMap<&str, usize> = HashMap::new();
    for r in &records {
        *held.entry(r.customer.as_str()).or_default() += 1;
    }
    let mut dropped = vec![false; records.len()];
    for (i, r) in records.iter().enumerate() {
        if excess == 0 {
            break;
        }
        if let Some(n) = held.get_mut(r.customer.as_str()).filter(|n| **n > share) {
            *n -= 1;
            dropped[i] = true;
            excess -= 1;
        }
    }
    for d in dropped.iter_mut().filter(|d| !**d) {
        if excess == 0 {
            break;
        }
        *d = true;
        excess -= 1;
    }
    records
        .into_iter()
        .zip(dropped)
        .filter_map(|(r, d)| (!d).then_some(r))
        .collect()
}

/// Writes header + records to a temp file beside `path`, syncs it, then renames it over `path`.
fn write_atomic(path: &Path, records: &[Record]) -> io::Result<()> {
    crate::jsonl::rewrite(path, Some(&current_header()), records)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::{record::Saved, Step};
    use everdesk_api::{Context, Message, Role, SendMessageResponse};

    const HOUR: Duration = Duration::from_secs(3600);

    fn bounds(capacity: usize) -> Bounds {
        Bounds {
            capacity,
            ttl: HOUR,
        }
    }

    fn done(id: &str, born_ms: i64) -> Record {
        let msg = |role, content: &str| Message {
            id: id.into(),
            role,
            content: content.into(),
            created_at: born_ms,
        };
        let response = SendMessageResponse {
            message: msg(Role::User, "my card was charged twice"),
            reply: msg(Role::Assistant, "Sorry — let me look."),
            context: Context::default(),
        };
        Record::new(
            "cust".into(),
            "T".into(),
            id.into(),
            &[1; 32],
            born_ms,
            Saved::Done(response),
        )
    }

    fn unknown(id: &str, born_ms: i64) -> Record {
        let state = Saved::Partial {
            user: Step::Unknown(born_ms),
            reply: Some(("a reply".into(), Context::default())),
            assistant: Step::Pending,
        };
        Record::new(
            "cust".into(),
            "T".into(),
            id.into(),
            &[2; 32],
            born_ms,
            state,
        )
    }

    fn record_lines(path: &Path) -> usize {
        std::fs::read_to_string(path).unwrap().lines().count() - 1
    }

    #[test]
    fn a_flood_by_one_customer_does_not_push_the_others_out_of_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ledger.jsonl");
        let (j, _) = Journal::open(path.clone(), bounds(20), 1_000);
        let mut victim = done("v", 10);
        victim.customer = "victim".into();
        j.append(&victim, 1_000);
        for i in 0..60 {
            j.append(&done(&format!("f{i}"), 100 + i), 1_000);
        }
        drop(j);
        let (_, loaded) = Journal::open(path, bounds(20), 1_000);
        assert_eq!(loaded.len(), 20);
        assert_eq!(loaded[0], victim, "the victim's id survived the flood");
        assert_eq!(loaded[19].message_id, "f59", "and the newest of the flood");
    }

    #[test]
    fn records_round_trip_through_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ledger.jsonl");
        let (j, loaded) = Journal::open(path.clone(), bounds(10), 1_000);
        assert!(loaded.is_empty());
        j.append(&done("a", 100), 1_000);
        j.append(&unknown("b", 200), 1_000);
        drop(j);
        let (_, loaded) = Journal::open(path.clone(), bounds(10), 1_000);
        assert_eq!(loaded, vec![done("a", 100), unknown("b", 200)]);
        let first = std::fs::read_to_string(&path).unwrap();
        assert!(first.starts_with(r#"{"format":"everdesk-ledger","version":1}"#));
    }

    #[test]
    fn the_newest_line_for_an_id_wins() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ledger.jsonl");
        let (j, _) = Journal::open(path.clone(), bounds(10), 1_000);
        j.append(&unknown("a", 100), 1_000);
        j.append(&done("a", 100), 1_000);
        drop(j);
        let (_, loaded) = Journal::open(path.clone(), bounds(10), 1_000);
        assert_eq!(loaded, vec![done("a", 100)]);
        assert_eq!(record_lines(&path), 1, "opening compacts");
    }

    #[test]
    fn inline_appends_leave_compaction_to_the_blocking_append() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ledger.jsonl");
        let (j, _) = Journal::open(path.clone(), bounds(3), 1_000);
        let limit = bounds(3).compact_after();
        let mut inline = 0;
        for i in 0..50 {
            let r = done(&format!("m{i}"), 100 + i);
            if j.try_append(&r) {
                inline += 1;
            } else {
                assert_eq!(record_lines(&path), limit, "refused only when full");
                j.append(&r, 1_000);
            }
            assert!(record_lines(&path) <= limit);
        }
        assert!(inline > 40, "most appends inline: {inline}");
        drop(j);
        let (_, loaded) = Journal::open(path.clone(), bounds(3), 1_000);
        let ids: Vec<_> = loaded.iter().map(|r| r.message_id.as_str()).collect();
        assert_eq!(ids, ["m47", "m48", "m49"]);
    }

    #[test]
    fn the_file_keeps_the_ledger_bounds() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ledger.jsonl");
        let (j, _) = Journal::open(path.clone(), bounds(3), 1_000);
        for i in 0..50 {
            j.append(&done(&format!("m{i}"), 100 + i), 1_000);
            assert!(record_lines(&path) <= bounds(3).compact_after());
        }
        drop(j);
        let (_, loaded) = Journal::open(path.clone(), bounds(3), 1_000);
        let ids: Vec<_> = loaded.iter().map(|r| r.message_id.as_str()).collect();
        assert_eq!(ids, ["m47", "m48", "m49"], "the newest `capacity` survive");
        assert_eq!(record_lines(&path), 3);

        let later = 148 + i64::try_from(HOUR.as_millis()).unwrap();
        let (_, loaded) = Journal::open(path.clone(), bounds(3), later);
        let ids: Vec<_> = loaded.iter().map(|r| r.message_id.as_str()).collect();
        assert_eq!(ids, ["m49"], "older than the age bound: gone");
        assert_eq!(record_lines(&path), 1);
    }

    #[test]
    fn corrupt_or_old_files_are_dropped_without_failing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ledger.jsonl");
        for junk in [
            &b"\x00\xffnot json at all"[..],
            br#"{"format":"everdesk-ledger","version":0}"#,
            br#"{"tickets":[]}"#,
        ] {
            std::fs::write(&path, junk).unwrap();
            let (j, loaded) = Journal::open(path.clone(), bounds(10), 1_000);
            assert!(loaded.is_empty());
            assert_eq!(record_lines(&path), 0, "rewritten as an empty journal");
            j.append(&done("a", 100), 1_000);
            drop(j);
            assert_eq!(Journal::open(path.clone(), bounds(10), 1_000).1.len(), 1);
        }
    }

    #[test]
    fn a_torn_or_corrupt_line_loses_only_itself() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ledger.jsonl");
        let (j, _) = Journal::open(path.clone(), bounds(10), 1_000);
        j.append(&done("a", 100), 1_000);
        drop(j);
        let mut bad_hash = serde_json::to_string(&done("b", 150)).unwrap();
        bad_hash = bad_hash.replace(&hex::encode([1u8; 32]), "zz");
        let mut text = std::fs::read_to_string(&path).unwrap();
        text.push_str(&bad_hash);
        text.push_str("\n{\"customer\":\"cust\",\"tick");
        std::fs::write(&path, text).unwrap();
        let (_, loaded) = Journal::open(path.clone(), bounds(10), 1_000);
        assert_eq!(loaded, vec![done("a", 100)]);
        assert_eq!(record_lines(&path), 1);
    }

    #[test]
    fn forgetting_a_customer_removes_their_lines() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ledger.jsonl");
        let (j, _) = Journal::open(path.clone(), bounds(10), 1_000);
        let mut other = done("b", 100);
        other.customer = "other".into();
        j.append(&done("a", 100), 1_000);
        j.append(&other, 1_000);
        j.forget("cust", 1_000);
        j.append(&done("c", 200), 1_000);
        drop(j);
        let (_, loaded) = Journal::open(path, bounds(10), 1_000);
        assert_eq!(loaded, vec![other, done("c", 200)]);
    }
}
