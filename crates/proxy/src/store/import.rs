//! One-time import of the JSON Lines journals earlier versions kept in the data dir
//! (`ledger.jsonl`; `tickets.jsonl` and the older one-document `tickets.json`) into the
//! database, at start. Each file is renamed `*.imported` once its content is stored, so
//! it is read only once. Unreadable lines (a write torn by a crash) are skipped.

use std::{
    collections::HashMap,
    io,
    path::{Path, PathBuf},
    time::Duration,
};

use everdesk_api::TicketStatus;
use serde::Deserialize;

use super::{Store, StoreError};
use crate::{
    ledger::{record::Record, Step},
    params,
    tickets::{Feedback, TicketRecord, TicketStore},
};

/// The old ledger journal's name in the data dir.
pub const LEDGER_JOURNAL: &str = "ledger.jsonl";
/// The old ticket journal's name in the data dir.
pub const TICKETS_JOURNAL: &str = "tickets.jsonl";
/// The oldest ticket file's name in the data dir.
pub const TICKETS_LEGACY: &str = "tickets.json";

/// Imports whatever journals `data_dir` still holds; ledger ids older than `ttl` are
/// dropped. Blocking reads of small files, then database writes.
///
/// On SQLite the whole import (file reads and statements, which run in place there) goes
/// to a blocking thread, so a large journal never holds up a runtime worker.
pub async fn journals(
    data_dir: &Path,
    store: &Store,
    ttl: Duration,
    now_ms: i64,
) -> Result<(), StoreError> {
    if store.is_shared() {
        return import(data_dir, store, ttl, now_ms).await;
    }
    let (dir, store) = (data_dir.to_owned(), store.clone());
    let rt = tokio::runtime::Handle::current();
    tokio::task::spawn_blocking(move || rt.block_on(import(&dir, &store, ttl, now_ms)))
        .await
        .map_err(|e| StoreError::Task(e.to_string()))?
}

async fn import(
    data_dir: &Path,
    store: &Store,
    ttl: Duration,
    now_ms: i64,
) -> Result<(), StoreError> {
    let ledger = data_dir.join(LEDGER_JOURNAL);
    if let Some(bytes) = read(&ledger) {
        let records = ledger_records(&bytes, ttl, now_ms);
        let n = records.len();
        for r in records {
            import_record(store, r).await?;
        }
        done(&ledger, n, "idempotency ledger");
    }
    let journal = data_dir.join(TICKETS_JOURNAL);
    let legacy = data_dir.join(TICKETS_LEGACY);
    let old = read(&legacy);
    let new = read(&journal);
    if old.is_none() && new.is_none() {
        return Ok(());
    }
    let mut map = old.as_deref().map(legacy_tickets).unwrap_or_default();
    if let Some(bytes) = &new {
        for line in lines(bytes) {
            if let Ok(change) = serde_json::from_slice::<Change>(line) {
                change.apply(&mut map);
            }
        }
    }
    let n = map.len();
    let tickets = TicketStore::new(store.clone());
    for ((customer, _), record) in map {
        tickets.insert(&customer, record).await?;
    }
    if old.is_some() {
        done(&legacy, n, "ticket state (one-document file)");
    }
    if new.is_some() {
        done(&journal, n, "ticket state");
    }
    Ok(())
}

fn read(path: &Path) -> Option<Vec<u8>> {
    match std::fs::read(path) {
        Ok(bytes) => Some(bytes),
        Err(e) if e.kind() == io::ErrorKind::NotFound => None,
        Err(e) => {
            tracing::warn!(path = %path.display(), error = %e, "old journal unreadable; not imported");
            None
        }
    }
}

fn lines(bytes: &[u8]) -> impl Iterator<Item = &[u8]> {
    bytes
        .split(|b| *b == b'\n')
        .filter(|l| !l.trim_ascii().is_empty())
}

fn done(path: &Path, n: usize, what: &str) {
    let mut to = PathBuf::from(path);
    to.as_mut_os_string().push(".imported");
    match std::fs::rename(path, &to) {
        Ok(()) => {
            tracing::info!(records = n, from = %path.display(), "imported the {what} into the database")
        }
        Err(e) => {
            tracing::warn!(path = %path.display(), error = %e, "imported, but could not rename the old file (it will be imported again)")
        }
    }
}

/// The ledger journal's records within the age bound, the newest line per id.
fn ledger_records(bytes: &[u8], ttl: Duration, now_ms: i64) -> Vec<Record> {
    #[derive(Deserialize, PartialEq)]
    struct Header {
        format: String,
        version: u32,
    }
    let mut it = lines(bytes);
    let header = it
        .next()
        .and_then(|l| serde_json::from_slice::<Header>(l).ok());
    if !header.is_some_and(|h| h.format == "everdesk-ledger" && h.version == 1) {
        tracing::warn!("old idempotency ledger of an unknown format; not imported");
        return Vec::new();
    }
    let ttl_ms = i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX);
    let mut newest: HashMap<_, Record> = HashMap::new();
    for line in it {
        if let Ok(r) = serde_json::from_slice::<Record>(line) {
            if r.content().is_some() && now_ms.saturating_sub(r.born_ms) < ttl_ms {
                newest.insert(r.key(), r);
            }
        }
    }
    newest.into_values().collect()
}

async fn import_record(store: &Store, r: Record) -> Result<(), StoreError> {
    let unknown = i64::from(matches!(
        r.state.clone().into_progress().user,
        Step::Unknown(_)
    ));
    let progress =
        serde_json::to_string(&r.state).map_err(|e| StoreError::Decode(e.to_string()))?;
    store
        .exec(
            "INSERT INTO ledger
               (customer, ticket, message_id, content_sha256, client, born_ms, progress, user_unknown)
             VALUES ($1, $2, $3, $4, '', $5, $6, $7)
             ON CONFLICT (customer, ticket, message_id) DO NOTHING",
            params![
                r.customer,
                r.ticket,
                r.message_id,
                r.content_sha256,
                r.born_ms,
                progress,
                unknown
            ],
        )
        .await
        .map(drop)
}

type Key = (String, String);

/// The oldest format: `{"tickets": [[customer, record], …]}`.
fn legacy_tickets(bytes: &[u8]) -> HashMap<Key, TicketRecord> {
    #[derive(Deserialize)]
    struct Legacy {
        tickets: Vec<(String, TicketRecord)>,
    }
    match serde_json::from_slice::<Legacy>(bytes) {
        Ok(old) => old
            .tickets
            .into_iter()
            .map(|(c, r)| ((c, r.ticket.id.clone()), r))
            .collect(),
        Err(e) => {
            tracing::warn!(error = %e, "old ticket state unreadable; not imported");
            HashMap::new()
        }
    }
}

/// One line of the old ticket journal.
#[derive(Debug, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
enum Change {
    Put {
        customer: String,
        record: TicketRecord,
    },
    Exchange {
        customer: String,
        ticket: String,
        message: String,
        reply: String,
    },
    Close {
        customer: String,
        ticket: String,
        #[serde(default)]
        feedback: Option<Feedback>,
    },
    Forget {
        customer: String,
    },
}

impl Change {
    fn apply(self, map: &mut HashMap<Key, TicketRecord>) {
        match self {
            Self::Put { customer, record } => {
                map.insert((customer, record.ticket.id.clone()), record);
            }
            Self::Exchange {
                customer,
                ticket,
                message,
                reply,
            } => {
                if let Some(r) = map.get_mut(&(customer, ticket)) {
                    r.customer_messages.push(message);
                    r.replies.push(reply);
                }
            }
            Self::Close {
                customer,
                ticket,
                feedback,
            } => {
                if let Some(r) = map.get_mut(&(customer, ticket)) {
                    r.ticket.status = TicketStatus::Closed;
                    if feedback.is_some() {
                        r.feedback = feedback;
                    }
                }
            }
            Self::Forget { customer } => map.retain(|(c, _), _| *c != customer),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ledger::Ledger, store::testing::stores, tickets::tests::record};
    use serde_json::json;

    const HOUR: Duration = Duration::from_secs(3600);

    fn ledger_line(id: &str, born_ms: i64, state: serde_json::Value) -> String {
        json!({
            "customer": "cust", "ticket": "T", "message_id": id,
            "content_sha256": hex::encode([1u8; 32]), "born_ms": born_ms, "state": state,
        })
        .to_string()
    }

    #[tokio::test]
    async fn old_journals_are_imported_once_then_renamed() {
        for store in stores("import").await {
            let dir = tempfile::tempdir().unwrap();
            let unknown =
                json!({"partial": {"user": {"unknown": 7}, "reply": null, "assistant": "pending"}});
            let ledger = [
                r#"{"format":"everdesk-ledger","version":1}"#.to_owned(),
                ledger_line("old", 1, unknown.clone()),
                ledger_line(
                    "lost",
                    1_000,
                    json!({"partial": {"user": "pending", "reply": null, "assistant": "pending"}}),
                ),
                ledger_line("lost", 1_000, unknown),
                "{\"customer\":\"cust\",\"tick".to_owned(),
            ]
            .join("\n");
            std::fs::write(dir.path().join(LEDGER_JOURNAL), ledger).unwrap();
            let legacy = json!({ "tickets": [["a", record("7")]] });
            std::fs::write(dir.path().join(TICKETS_LEGACY), legacy.to_string()).unwrap();
            let journal = [
                json!({"op": "put", "customer": "a", "record": record("9")}),
                json!({"op": "exchange", "customer": "a", "ticket": "9", "message": "hi", "reply": "hello"}),
                json!({"op": "close", "customer": "a", "ticket": "9"}),
                json!({"op": "put", "customer": "b", "record": record("1")}),
                json!({"op": "forget", "customer": "b"}),
            ]
            .map(|v| v.to_string())
            .join("\n");
            std::fs::write(dir.path().join(TICKETS_JOURNAL), journal).unwrap();

            let now = 1_000 + i64::try_from(HOUR.as_millis()).unwrap() - 1;
            journals(dir.path(), &store, HOUR, now).await.unwrap();

            let tickets = TicketStore::new(store.clone());
            assert!(tickets.get("a", "7").await.unwrap().is_some());
            let nine = tickets.get("a", "9").await.unwrap().unwrap();
            assert_eq!(
                (nine.replies, nine.ticket.status),
                (vec!["hello".to_owned()], TicketStatus::Closed)
            );
            assert!(tickets.get("b", "1").await.unwrap().is_none());
            let l = Ledger::new(store.clone(), 10, HOUR);
            assert_eq!(l.count_ids().await, 1, "the old id is past the age bound");
            assert!(l.has_unknown_user_turn("cust", "T").await);
            for name in [LEDGER_JOURNAL, TICKETS_JOURNAL, TICKETS_LEGACY] {
                assert!(!dir.path().join(name).exists(), "{name}");
                assert!(
                    dir.path().join(format!("{name}.imported")).exists(),
                    "{name}"
                );
            }
            // Nothing left to import: a second start changes nothing.
            journals(dir.path(), &store, HOUR, now).await.unwrap();
            assert_eq!(l.count_ids().await, 1);
        }
    }
}
