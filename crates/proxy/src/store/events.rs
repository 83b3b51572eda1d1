//! Live events in the database (`live_events`): each gets the next sequence number
//! (AUTOINCREMENT / BIGSERIAL), streams resume from them after a reconnect, a restart or
//! on another replica. On PostgreSQL every insert is announced to the replicas' listeners
//! (`NOTIFY`, see [`super::listen`]), and inserts are serialised so that the order of the
//! numbers is the order in which they become visible (see [`Store::insert_event`]).
//! Bounded: [`Store::prune_events`] keeps the newest events of the last day.

use super::{Backend, Row, Store, StoreError, Val};
use crate::params;

/// One stored event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEvent {
    /// Its sequence number (increasing; the resume point).
    pub seq: i64,
    /// The customer whose ticket it concerns.
    pub customer: String,
    /// The customer's ticket id.
    pub ticket: String,
    /// The ticket's session id.
    pub session_id: String,
    /// What happened (the wire `LiveEventKind`, as JSON).
    pub kind: String,
    /// When, epoch ms.
    pub at_ms: i64,
}

pub(super) const INSERT_EVENT: &str =
    "INSERT INTO live_events (customer, ticket, session_id, kind, at_ms)
     VALUES ($1, $2, $3, $4, $5) RETURNING seq";
const AFTER_ALL: &str = "SELECT seq, customer, ticket, session_id, kind, at_ms
     FROM live_events WHERE seq > $1 ORDER BY seq LIMIT $2";
const AFTER_CUSTOMER: &str = "SELECT seq, customer, ticket, session_id, kind, at_ms
     FROM live_events WHERE customer = $3 AND seq > $1 ORDER BY seq LIMIT $2";

impl Store {
    /// Stores one event and returns its sequence number.
    ///
    /// On PostgreSQL the insert runs in a transaction that first takes a transaction-level
    /// advisory lock, and announces the new number (`pg_notify`) before committing. The
    /// lock matters: sequence numbers are handed out when a transaction inserts, not when
    /// it commits, so without it seq 5 could become visible before seq 4. A replica that
    /// fanned out 5 (its cursor now at 5), or a stream resuming after 5, would then never
    /// see 4. With the lock each inserting transaction commits before the next one can
    /// take a number (the lock is released after the commit is visible), so the rows
    /// visible at any moment are exactly a prefix of the sequence, and "everything after
    /// my last seq" never skips one. On SQLite one connection writes, in order.
    pub async fn insert_event(
        &self,
        customer: &str,
        ticket: &str,
        session_id: &str,
        kind: &str,
        at_ms: i64,
    ) -> Result<i64, StoreError> {
        let params = params![customer, ticket, session_id, kind, at_ms];
        match &*self.backend {
            Backend::Sqlite(db) => {
                let rows = db.query(INSERT_EVENT, params).await?;
                rows.first()
                    .and_then(|r| r.first())
                    .and_then(Val::int)
                    .ok_or_else(|| StoreError::Decode("event seq".into()))
            }
            Backend::Postgres(db) => db.insert_event(params).await,
        }
    }

    /// Announces `payload` to every replica's listener (PostgreSQL `NOTIFY`); nothing on
    /// SQLite, whose one process publishes in memory.
    pub async fn announce(&self, payload: &str) -> Result<(), StoreError> {
        match &*self.backend {
            Backend::Sqlite(_) => Ok(()),
            Backend::Postgres(db) => db.announce(payload).await,
        }
    }

    /// Up to `limit` events after `after`, oldest first: `customer`'s, or everyone's.
    pub async fn events_after(
        &self,
        customer: Option<&str>,
        after: i64,
        limit: i64,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        let rows = match customer {
            Some(c) => self.query(AFTER_CUSTOMER, params![after, limit, c]).await?,
            None => self.query(AFTER_ALL, params![after, limit]).await?,
        };
        rows.into_iter().map(decode).collect()
    }

    /// The highest sequence number stored (0 with none).
    pub async fn latest_event_seq(&self) -> Result<i64, StoreError> {
        let row = self
            .query_one("SELECT COALESCE(MAX(seq), 0) FROM live_events", params![])
            .await?;
        Ok(row.and_then(|r| r.first().and_then(Val::int)).unwrap_or(0))
    }

    /// Deletes the events numbered `up_to` or lower and those older than `before_ms`.
    /// Runs on a blocking thread on SQLite (see [`Store::exec_long`]).
    pub async fn prune_events(&self, up_to: i64, before_ms: i64) -> Result<u64, StoreError> {
        self.exec_long(PRUNE_EVENTS, params![up_to, before_ms])
            .await
    }
}

/// The pruning of live events: `$1` the highest number to drop, `$2` the age cut-off.
pub(super) const PRUNE_EVENTS: &str = "DELETE FROM live_events WHERE seq <= $1 OR at_ms < $2";

fn decode(row: Row) -> Result<StoredEvent, StoreError> {
    let bad = || StoreError::Decode("live event row".into());
    let mut it = row.into_iter();
    let mut next = || it.next().ok_or_else(bad);
    Ok(StoredEvent {
        seq: next()?.int().ok_or_else(bad)?,
        customer: next()?.into_text().ok_or_else(bad)?,
        ticket: next()?.into_text().ok_or_else(bad)?,
        session_id: next()?.into_text().ok_or_else(bad)?,
        kind: next()?.into_text().ok_or_else(bad)?,
        at_ms: next()?.int().ok_or_else(bad)?,
    })
}
