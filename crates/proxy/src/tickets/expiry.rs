//! Global bounds on the proxy's ticket state (EverOS keeps the memory either way): a
//! ticket untouched — no message, no close — for the TTL leaves, swept at most once a
//! minute per process when tickets are created; beyond the global cap the oldest closed
//! tickets leave first, and only when every kept ticket is open is a new one refused.
//! Counting every row for every new ticket would be linear work per request, so the
//! count is trusted for a few seconds while far from the cap.

use std::{
    sync::Mutex,
    time::{Duration, Instant},
};

use super::TicketStore;
use crate::{
    params,
    store::{StoreError, Val},
};

/// The TTL and the global cap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Tickets untouched this long leave.
    pub ttl: Duration,
    /// Most tickets kept over all customers.
    pub max_tickets: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            ttl: Duration::from_secs(180 * 24 * 3600),
            max_tickets: 1_000_000,
        }
    }
}

/// How often this process sweeps expired tickets.
const SWEEP_EVERY: Duration = Duration::from_secs(60);
/// How long a count is trusted while below 95% of the cap.
const RECOUNT_AFTER: Duration = Duration::from_secs(5);

/// The limits and this process's bookkeeping.
#[derive(Debug)]
pub(super) struct Expiry {
    limits: Limits,
    last_sweep: Mutex<Option<Instant>>,
    counted: Mutex<Option<(usize, Instant)>>,
}

impl Expiry {
    pub(super) fn new(limits: Limits) -> Self {
        Self {
            limits: Limits {
                ttl: limits.ttl,
                max_tickets: limits.max_tickets.max(1),
            },
            last_sweep: Mutex::new(None),
            counted: Mutex::new(None),
        }
    }

    /// Whether a sweep is due now (and, if so, that it is this caller's).
    fn sweep_due(&self, now: Instant) -> bool {
        let mut last = self.last_sweep.lock().unwrap_or_else(|e| e.into_inner());
        match *last {
            Some(at) if now.saturating_duration_since(at) < SWEEP_EVERY => false,
            _ => {
                *last = Some(now);
                true
            }
        }
    }

    /// A trusted recent count, bumped by one, when clearly below the cap.
    fn roomy(&self) -> bool {
        let roomy = self.limits.max_tickets - self.limits.max_tickets / 20;
        let mut counted = self.counted.lock().unwrap_or_else(|e| e.into_inner());
        match counted.as_mut() {
            Some((n, at)) if at.elapsed() < RECOUNT_AFTER && *n + 1 < roomy => {
                *n += 1;
                true
            }
            _ => false,
        }
    }

    fn remember(&self, n: usize) {
        *self.counted.lock().unwrap_or_else(|e| e.into_inner()) = Some((n, Instant::now()));
    }
}

/// Tickets (with their exchanges, transcripts and conversations) untouched since `$1`.
const EXPIRED_EXCHANGES: &str = "DELETE FROM ticket_exchanges WHERE EXISTS
    (SELECT 1 FROM tickets t WHERE t.customer = ticket_exchanges.customer
       AND t.ticket = ticket_exchanges.ticket AND t.touched_at < $1)";
/// Their transcripts and conversations (the team's view) leave with them.
const EXPIRED_TRANSCRIPTS: &str = "DELETE FROM transcript_messages WHERE EXISTS
    (SELECT 1 FROM tickets t WHERE t.customer = transcript_messages.customer
       AND t.ticket = transcript_messages.ticket AND t.touched_at < $1)";
const EXPIRED_CONVERSATIONS: &str = "DELETE FROM conversations WHERE EXISTS
    (SELECT 1 FROM tickets t WHERE t.customer = conversations.customer
       AND t.ticket = conversations.ticket AND t.touched_at < $1)";
const EXPIRED_TICKETS: &str = "DELETE FROM tickets WHERE touched_at < $1";
/// The `$1` oldest closed tickets, then exchanges left without their ticket.
const OLDEST_CLOSED: &str = "DELETE FROM tickets WHERE (customer, ticket) IN
    (SELECT customer, ticket FROM tickets WHERE status = 'closed'
     ORDER BY touched_at LIMIT $1)";
const ORPHAN_EXCHANGES: &str = "DELETE FROM ticket_exchanges WHERE NOT EXISTS
    (SELECT 1 FROM tickets t WHERE t.customer = ticket_exchanges.customer
       AND t.ticket = ticket_exchanges.ticket)";
const ORPHAN_TRANSCRIPTS: &str = "DELETE FROM transcript_messages WHERE NOT EXISTS
    (SELECT 1 FROM tickets t WHERE t.customer = transcript_messages.customer
       AND t.ticket = transcript_messages.ticket)";
const ORPHAN_CONVERSATIONS: &str = "DELETE FROM conversations WHERE NOT EXISTS
    (SELECT 1 FROM tickets t WHERE t.customer = conversations.customer
       AND t.ticket = conversations.ticket)";

impl TicketStore {
    async fn count_tickets(&self) -> Result<usize, StoreError> {
        let row = self
            .store
            .query_one("SELECT COUNT(*) FROM tickets", params![])
            .await?;
        let n = row.and_then(|r| r.first().and_then(Val::int)).unwrap_or(0);
        Ok(usize::try_from(n).unwrap_or(0))
    }

    /// Deletes the tickets untouched since `cutoff` (epoch ms).
    /// Runs on a blocking thread on SQLite (see [`crate::store::Store::batch_long`]).
    pub async fn sweep_expired(&self, cutoff: i64) -> Result<(), StoreError> {
        self.store
            .batch_long(vec![
                (EXPIRED_EXCHANGES, params![cutoff]),
                (EXPIRED_TRANSCRIPTS, params![cutoff]),
                (EXPIRED_CONVERSATIONS, params![cutoff]),
                (EXPIRED_TICKETS, params![cutoff]),
            ])
            .await
    }

    /// Makes room for one new ticket: sweeps expired ones when due, and beyond the cap
    /// drops the oldest closed tickets. `false` when the cap is reached by open tickets
    /// alone (the new ticket must be refused).
    pub async fn make_room(&self, now_ms: i64) -> Result<bool, StoreError> {
        let e = &self.expiry;
        if e.sweep_due(Instant::now()) {
            let ttl = i64::try_from(e.limits.ttl.as_millis()).unwrap_or(i64::MAX);
            self.sweep_expired(now_ms.saturating_sub(ttl)).await?;
        }
        if e.roomy() {
            return Ok(true);
        }
        let max = e.limits.max_tickets;
        let n = self.count_tickets().await?;
        if n < max {
            e.remember(n + 1);
            return Ok(true);
        }
        // Over the cap: a hundredth more than needed goes, so this is not every request.
        let extra = n - max + 1 + max / 100;
        let k = i64::try_from(extra).unwrap_or(i64::MAX);
        self.store
            .batch_long(vec![
                (OLDEST_CLOSED, params![k]),
                (ORPHAN_EXCHANGES, params![]),
                (ORPHAN_TRANSCRIPTS, params![]),
                (ORPHAN_CONVERSATIONS, params![]),
            ])
            .await?;
        let n = self.count_tickets().await?;
        e.remember(n + 1);
        Ok(n < max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{store::testing::stores, tickets::tests::record};

    #[tokio::test]
    async fn the_oldest_closed_tickets_leave_beyond_the_cap_and_open_ones_never() {
        for store in stores("ticket_cap").await {
            let s = TicketStore::new(store).with_limits(Limits {
                ttl: Duration::from_secs(3600),
                max_tickets: 3,
            });
            for id in ["a", "b", "c"] {
                assert!(s.make_room(0).await.unwrap());
                s.insert("cust", record(id)).await.unwrap();
            }
            s.close("cust", "a", None).await.unwrap();
            // Full: the closed one goes, the open ones stay.
            assert!(s.make_room(0).await.unwrap());
            s.insert("cust", record("d")).await.unwrap();
            assert!(s.get("cust", "a").await.unwrap().is_none());
            for id in ["b", "c", "d"] {
                assert!(s.get("cust", id).await.unwrap().is_some(), "{id}");
            }
            // Full of open tickets: a new one is refused, nothing open is dropped.
            assert!(!s.make_room(0).await.unwrap());
            assert!(s.get("cust", "b").await.unwrap().is_some());
        }
    }

    #[tokio::test]
    async fn tickets_untouched_for_the_ttl_leave() {
        for store in stores("ticket_ttl").await {
            let s = TicketStore::new(store);
            s.insert("cust", record("old")).await.unwrap();
            s.record_exchange("cust", "old", "hi", "hello")
                .await
                .unwrap();
            let later = crate::clock::now_ms() + 10_000;
            s.sweep_expired(later - 20_000).await.unwrap();
            assert!(
                s.get("cust", "old").await.unwrap().is_some(),
                "touched recently"
            );
            s.sweep_expired(later).await.unwrap();
            assert!(s.get("cust", "old").await.unwrap().is_none());
        }
    }
}
