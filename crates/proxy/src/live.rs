//! Live events for customers' other devices and for agents: every event is stored with
//! the next sequence number (`live_events`, see [`crate::store::StoredEvent`]) and goes to
//! one customer's streams and to every agent's stream, on every replica. A stream that
//! (re)connects with `Last-Event-ID` first gets the stored events after it, then the live
//! feed, without a gap and without repeats (the stream drops any seq it has passed).
//!
//! Fan-out: each process keeps the highest seq it has broadcast (its cursor) and a tokio
//! broadcast channel for its streams. SQLite (one process): publishing inserts and
//! broadcasts under one lock, in order. PostgreSQL (replicas): the insert is announced
//! with `NOTIFY`; each replica's listener then reads the rows after its cursor, in seq
//! order, and broadcasts them (the publishing replica does so at once too). Inserts are
//! serialised so that seq order is visibility order (see
//! [`crate::store::Store::insert_event`]); after the listener reconnects, the replica
//! catches up from the table. Typing is not stored: it is broadcast here and travels to
//! the other replicas in the `NOTIFY` payload; it reaches whoever watches now.
//!
//! Retention: the newest [`KEEP`] events of the last [`KEEP_FOR_MS`]; a stream resuming
//! from an older point gets what remains.

use std::sync::{
    atomic::{AtomicU64, Ordering},
    Arc, Weak,
};

use everdesk_api::{LiveEvent, LiveEventKind};
use serde::{Deserialize, Serialize};
use tokio::sync::{broadcast, oneshot, Mutex};

use crate::store::{Notice, Store, StoreError, StoredEvent};

/// Events kept for streams that reconnect (at most).
pub const KEEP: i64 = 10_000;
/// How long events are kept for streams that reconnect (at most), ms.
pub const KEEP_FOR_MS: i64 = 24 * 3600 * 1000;
/// Old events are pruned once per this many published.
const PRUNE_EVERY: u64 = 256;
/// Rows read per catch-up query.
const PAGE: i64 = 500;

/// One published event and the customer it concerns.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Published {
    /// The customer whose streams get it.
    pub customer: String,
    /// The event.
    pub event: LiveEvent,
}

/// A subscription: what was missed, then the live feed.
#[derive(Debug)]
pub struct Subscription {
    /// Events after the resume point, oldest first.
    pub backlog: Vec<LiveEvent>,
    /// Everything published from now on (filter by customer yourself).
    pub feed: broadcast::Receiver<Published>,
}

/// Typing as announced to the replicas: who sent it (a replica skips its own, which it
/// has broadcast already) and what.
#[derive(Debug, Serialize, Deserialize)]
struct Announced {
    origin: String,
    #[serde(flatten)]
    published: Published,
}

#[derive(Debug)]
struct Shared {
    /// This bus's random id, in what it announces.
    origin: String,
    store: Store,
    tx: broadcast::Sender<Published>,
    /// The highest seq broadcast here; `None` until read from the table (before the
    /// first publish or subscription).
    cursor: Mutex<Option<i64>>,
    published: AtomicU64,
}

/// The event bus.
#[derive(Debug)]
pub struct Live {
    shared: Arc<Shared>,
    /// Dropped with the bus: stops the listener task.
    _stop: Option<oneshot::Sender<()>>,
}

impl Live {
    /// The bus over `store`; on PostgreSQL it starts this replica's listener (needs a
    /// tokio runtime; without one, only this process's events are seen).
    pub fn new(store: Store) -> Self {
        let (tx, _) = broadcast::channel(1024);
        let shared = Arc::new(Shared {
            origin: uuid::Uuid::new_v4().simple().to_string(),
            store,
            tx,
            cursor: Mutex::new(None),
            published: AtomicU64::new(0),
        });
        let stop = match tokio::runtime::Handle::try_current() {
            Ok(_) => shared.store.listen().map(|notices| {
                let (stop, stopped) = oneshot::channel();
                tokio::spawn(follow(Arc::downgrade(&shared), notices, stopped));
                stop
            }),
            Err(_) => None,
        };
        Self {
            shared,
            _stop: stop,
        }
    }

    /// Publishes an event about `customer`'s ticket. A storage failure is logged: the
    /// action it reports has happened; streams see it after their next reconnect or not
    /// at all.
    pub async fn publish(
        &self,
        customer: &str,
        ticket_id: &str,
        session_id: &str,
        kind: LiveEventKind,
    ) {
        if let Err(e) = self
            .try_publish(customer, ticket_id, session_id, kind)
            .await
        {
            tracing::warn!(error = %e, "live event not published");
        }
    }

    async fn try_publish(
        &self,
        customer: &str,
        ticket_id: &str,
        session_id: &str,
        kind: LiveEventKind,
    ) -> Result<(), StoreError> {
        let s = &self.shared;
        let mut published = Published {
            customer: customer.to_owned(),
            event: LiveEvent {
                seq: 0,
                ticket_id: ticket_id.to_owned(),
                session_id: session_id.to_owned(),
                kind,
            },
        };
        // Typing is only for whoever watches now: not stored, not numbered for resuming
        // (it carries the latest seq here); broadcast here, announced to other replicas.
        if matches!(published.event.kind, LiveEventKind::Typing { .. }) {
            published.event.seq = s.ready().await?.unwrap_or(0);
            let _ = s.tx.send(published.clone());
            if s.store.is_shared() {
                let announced = Announced {
                    origin: s.origin.clone(),
                    published,
                };
                let payload = serde_json::to_string(&announced).map_err(decode_err)?;
                return s.store.announce(&payload).await;
            }
            return Ok(());
        }
        let kind = serde_json::to_string(&published.event.kind).map_err(decode_err)?;
        let at = crate::clock::now_ms();
        let seq = if s.store.is_shared() {
            s.ready().await?;
            let seq = s
                .store
                .insert_event(customer, ticket_id, session_id, &kind, at)
                .await?;
            s.pump().await?;
            seq
        } else {
            // One writer: insert and broadcast under the cursor's lock, in order.
            let mut cursor = s.cursor.lock().await;
            s.init(&mut cursor).await?;
            let seq = s
                .store
                .insert_event(customer, ticket_id, session_id, &kind, at)
                .await?;
            published.event.seq = seq;
            *cursor = Some(seq);
            // No receivers is fine: nobody is watching.
            let _ = s.tx.send(published);
            seq
        };
        if s.published.fetch_add(1, Ordering::Relaxed) % PRUNE_EVERY == PRUNE_EVERY - 1 {
            s.store.prune_events(seq - KEEP, at - KEEP_FOR_MS).await?;
        }
        Ok(())
    }

    /// Publishes the events of `customer`'s ticket that `write` stores (a transaction
    /// that inserts them, as [`crate::store::Store::insert_event`] would, and returns
    /// their kinds with their sequence numbers), after its commit and in order. On
    /// SQLite `write` runs under the cursor's lock, so the local feed sees the numbers in
    /// order; on PostgreSQL the stored events are fanned out from the database as
    /// [`Live::publish`] does (the transaction announces them to the other replicas).
    pub async fn publish_written<F>(
        &self,
        customer: &str,
        ticket_id: &str,
        session_id: &str,
        write: F,
    ) -> Result<(), StoreError>
    where
        F: std::future::Future<Output = Result<Vec<(i64, LiveEventKind)>, StoreError>>,
    {
        let s = &self.shared;
        let last = if s.store.is_shared() {
            s.ready().await?;
            let events = write.await?;
            s.pump().await?;
            events.last().map(|(seq, _)| *seq)
        } else {
            let mut cursor = s.cursor.lock().await;
            s.init(&mut cursor).await?;
            let events = write.await?;
            let last = events.last().map(|(seq, _)| *seq);
            for (seq, kind) in events {
                *cursor = Some(seq);
                let _ = s.tx.send(Published {
                    customer: customer.to_owned(),
                    event: LiveEvent {
                        seq,
                        ticket_id: ticket_id.to_owned(),
                        session_id: session_id.to_owned(),
                        kind,
                    },
                });
            }
            last
        };
        if let Some(seq) = last {
            self.count_and_prune(seq).await?;
        }
        Ok(())
    }

    /// Counts a stored event; every [`PRUNE_EVERY`]th prunes the old ones.
    async fn count_and_prune(&self, seq: i64) -> Result<(), StoreError> {
        let s = &self.shared;
        if s.published.fetch_add(1, Ordering::Relaxed) % PRUNE_EVERY == PRUNE_EVERY - 1 {
            let at = crate::clock::now_ms();
            s.store.prune_events(seq - KEEP, at - KEEP_FOR_MS).await?;
        }
        Ok(())
    }

    /// Subscribes for `customer` (`None`: every customer, for agents), resuming after
    /// `after` (`None`: from now). The feed is taken before the backlog is read, so an
    /// event is in one or the other (or both: the stream skips seqs it has passed).
    pub async fn subscribe(
        &self,
        customer: Option<&str>,
        after: Option<i64>,
    ) -> Result<Subscription, StoreError> {
        let s = &self.shared;
        // The cursor is read before any feed exists: every event numbered above it is
        // broadcast after the feed below is taken, or read by the backlog.
        s.ready().await?;
        let feed = s.tx.subscribe();
        let backlog = match after {
            Some(after) => s
                .store
                .events_after(customer, after, KEEP)
                .await?
                .into_iter()
                .filter_map(|e| published(e).map(|p| p.event))
                .collect(),
            None => Vec::new(),
        };
        Ok(Subscription { backlog, feed })
    }
}

impl Shared {
    /// Reads the cursor from the table the first time; returns it.
    async fn ready(&self) -> Result<Option<i64>, StoreError> {
        let mut cursor = self.cursor.lock().await;
        self.init(&mut cursor).await?;
        Ok(*cursor)
    }

    async fn init(&self, cursor: &mut Option<i64>) -> Result<(), StoreError> {
        if cursor.is_none() {
            *cursor = Some(self.store.latest_event_seq().await?);
        }
        Ok(())
    }

    /// Broadcasts the stored events after the cursor, in order, and moves it.
    async fn pump(&self) -> Result<(), StoreError> {
        let mut cursor = self.cursor.lock().await;
        let Some(mut at) = *cursor else {
            // Nobody here has published or subscribed yet: nothing to catch up.
            return self.init(&mut cursor).await;
        };
        loop {
            let rows = self.store.events_after(None, at, PAGE).await?;
            let n = rows.len();
            for row in rows {
                at = row.seq;
                if let Some(p) = published(row) {
                    let _ = self.tx.send(p);
                }
            }
            *cursor = Some(at);
            if i64::try_from(n).unwrap_or(0) < PAGE {
                return Ok(());
            }
        }
    }

    async fn on_notice(&self, notice: Notice) -> Result<(), StoreError> {
        match notice {
            Notice::Payload(p) if p.starts_with('{') => {
                let typing: Announced = serde_json::from_str(&p).map_err(decode_err)?;
                if typing.origin != self.origin {
                    let mut typing = typing.published;
                    typing.event.seq = self.cursor.lock().await.unwrap_or(0);
                    let _ = self.tx.send(typing);
                }
                Ok(())
            }
            Notice::Payload(_) | Notice::Listening => self.pump().await,
        }
    }
}

/// Follows the listener's notices until the bus is dropped.
async fn follow(
    shared: Weak<Shared>,
    mut notices: tokio::sync::mpsc::Receiver<Notice>,
    mut stopped: oneshot::Receiver<()>,
) {
    loop {
        let notice = tokio::select! {
            n = notices.recv() => n,
            _ = &mut stopped => None,
        };
        let (Some(notice), Some(shared)) = (notice, shared.upgrade()) else {
            return;
        };
        if let Err(e) = shared.on_notice(notice).await {
            tracing::warn!(error = %e, "live events not fanned out; retried on the next");
        }
    }
}

fn decode_err(e: serde_json::Error) -> StoreError {
    StoreError::Decode(e.to_string())
}

/// A stored event as published (`None`, logged, when unreadable).
fn published(e: StoredEvent) -> Option<Published> {
    match serde_json::from_str::<LiveEventKind>(&e.kind) {
        Ok(kind) => Some(Published {
            customer: e.customer,
            event: LiveEvent {
                seq: e.seq,
                ticket_id: e.ticket,
                session_id: e.session_id,
                kind,
            },
        }),
        Err(err) => {
            tracing::warn!(seq = e.seq, error = %err, "stored live event unreadable");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use everdesk_api::Author;

    use super::*;
    use crate::store::testing::stores;

    async fn next(sub: &mut Subscription) -> Published {
        tokio::time::timeout(Duration::from_secs(10), sub.feed.recv())
            .await
            .expect("an event within 10 s")
            .unwrap()
    }

    #[tokio::test]
    async fn a_resumed_subscription_gets_what_it_missed_and_only_its_own() {
        for s in stores("live_resume").await {
            let live = Live::new(s.clone());
            live.publish("a", "T", "s", LiveEventKind::Closed).await;
            live.publish("b", "T", "s2", LiveEventKind::Closed).await;
            live.publish("a", "T", "s", LiveEventKind::Escalated).await;
            let first = live.subscribe(None, Some(0)).await.unwrap().backlog;
            let seqs: Vec<i64> = first.iter().map(|e| e.seq).collect();
            assert_eq!(seqs.len(), 3);
            assert!(seqs.windows(2).all(|w| w[0] < w[1]));
            let sub = live.subscribe(Some("a"), Some(seqs[0])).await.unwrap();
            let got: Vec<(i64, LiveEventKind)> =
                sub.backlog.into_iter().map(|e| (e.seq, e.kind)).collect();
            assert_eq!(got, vec![(seqs[2], LiveEventKind::Escalated)]);
            assert!(live
                .subscribe(Some("a"), None)
                .await
                .unwrap()
                .backlog
                .is_empty());
            // A new bus on the same database (a restart) resumes the same way.
            drop(live);
            let again = Live::new(s.clone());
            let sub = again.subscribe(Some("a"), Some(seqs[0])).await.unwrap();
            assert_eq!(sub.backlog.len(), 1);
            // Forgetting the customer drops their events.
            s.forget_customer("a", 1).await.unwrap();
            let left = again.subscribe(None, Some(0)).await.unwrap().backlog;
            assert_eq!(left.len(), 1);
            assert_eq!(left[0].seq, seqs[1]);
        }
    }

    #[tokio::test]
    async fn the_feed_carries_new_events_and_typing() {
        for s in stores("live_feed").await {
            let live = Live::new(s);
            let mut sub = live.subscribe(Some("a"), None).await.unwrap();
            live.publish("a", "T", "s", LiveEventKind::Closed).await;
            let got = next(&mut sub).await;
            assert_eq!(got.customer, "a");
            assert_eq!(got.event.kind, LiveEventKind::Closed);
            let typing = LiveEventKind::Typing {
                author: Author::Agent,
            };
            live.publish("a", "T", "s", typing.clone()).await;
            assert_eq!(next(&mut sub).await.event.kind, typing);
            // Once: neither the event nor the typing comes back through the listener.
            let again = tokio::time::timeout(Duration::from_millis(300), sub.feed.recv()).await;
            assert!(again.is_err(), "{again:?}");
            // Typing is not kept for reconnects.
            let kept = live.subscribe(None, Some(0)).await.unwrap().backlog;
            assert_eq!(kept.len(), 1);
        }
    }

    /// Two buses on one PostgreSQL schema stand for two replicas: what one publishes,
    /// many at once, reaches the other's feed through NOTIFY, every event once, in order.
    #[tokio::test]
    async fn another_replica_gets_every_event_once_in_order() {
        for s in stores("live_replicas").await {
            if !s.is_shared() {
                continue;
            }
            let a = Arc::new(Live::new(s.clone()));
            let b = Live::new(s.clone());
            let mut sub = b.subscribe(None, None).await.unwrap();
            let n = 40;
            let sends = (0..n).map(|i| {
                let a = a.clone();
                tokio::spawn(async move {
                    let ticket = format!("T-{i}");
                    a.publish("a", &ticket, "s", LiveEventKind::Escalated).await;
                })
            });
            futures::future::join_all(sends).await;
            let mut seqs = Vec::new();
            while seqs.len() < n {
                let p = next(&mut sub).await;
                seqs.push(p.event.seq);
            }
            assert!(seqs.windows(2).all(|w| w[1] == w[0] + 1), "{seqs:?}");
            let typing = LiveEventKind::Typing {
                author: Author::Agent,
            };
            a.publish("a", "T", "s", typing.clone()).await;
            assert_eq!(next(&mut sub).await.event.kind, typing);
        }
    }

    /// A replica whose listening connection dropped reconnects and catches up from the
    /// table: an event announced meanwhile still reaches its streams.
    #[tokio::test]
    async fn a_replica_whose_listener_dropped_catches_up() {
        for s in stores("live_relisten").await {
            if !s.is_shared() {
                continue;
            }
            let a = Live::new(s.clone());
            let b = Live::new(s.clone());
            let mut sub = b.subscribe(None, None).await.unwrap();
            a.publish("a", "T", "s", LiveEventKind::Closed).await;
            assert_eq!(next(&mut sub).await.event.kind, LiveEventKind::Closed);
            assert!(s.drop_listeners().await.unwrap() >= 1, "B's at least");
            a.publish("a", "T", "s", LiveEventKind::Escalated).await;
            assert_eq!(next(&mut sub).await.event.kind, LiveEventKind::Escalated);
            // Listening again: the next one arrives through NOTIFY as before.
            a.publish("a", "T", "s", LiveEventKind::Closed).await;
            assert_eq!(next(&mut sub).await.event.kind, LiveEventKind::Closed);
        }
    }

    #[tokio::test]
    async fn old_events_are_pruned() {
        for s in stores("live_prune").await {
            let live = Live::new(s.clone());
            for _ in 0..3 {
                live.publish("a", "T", "s", LiveEventKind::Closed).await;
            }
            let all = live.subscribe(None, Some(0)).await.unwrap().backlog;
            s.prune_events(all[0].seq, 0).await.unwrap();
            assert_eq!(
                live.subscribe(None, Some(0)).await.unwrap().backlog.len(),
                2
            );
            s.prune_events(0, crate::clock::now_ms() + 1).await.unwrap();
            assert!(live
                .subscribe(None, Some(0))
                .await
                .unwrap()
                .backlog
                .is_empty());
        }
    }
}
