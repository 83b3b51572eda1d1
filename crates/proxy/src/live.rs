//! Live events for customers' other devices and for agents: every event gets the next
//! sequence number and goes to one customer's streams and to every agent's stream. The
//! latest [`RING`] events are kept, so a stream that reconnects with `Last-Event-ID`
//! gets what it missed, in order, without repeats. In process (one proxy).

use std::{collections::VecDeque, sync::Mutex};

use everdesk_api::{LiveEvent, LiveEventKind};
use tokio::sync::broadcast;

/// Events kept for streams that reconnect.
pub const RING: usize = 10_000;

/// One published event and the customer it concerns.
#[derive(Debug, Clone)]
pub struct Published {
    /// The customer whose streams get it.
    pub customer: String,
    /// The event.
    pub event: LiveEvent,
}

#[derive(Debug)]
struct Inner {
    next_seq: i64,
    ring: VecDeque<Published>,
}

/// The event bus.
#[derive(Debug)]
pub struct Live {
    inner: Mutex<Inner>,
    tx: broadcast::Sender<Published>,
}

impl Default for Live {
    fn default() -> Self {
        let (tx, _) = broadcast::channel(1024);
        Self {
            inner: Mutex::new(Inner {
                next_seq: 1,
                ring: VecDeque::new(),
            }),
            tx,
        }
    }
}

/// A subscription: what was missed, then the live feed.
#[derive(Debug)]
pub struct Subscription {
    /// Events after the resume point, oldest first.
    pub backlog: Vec<LiveEvent>,
    /// Everything published from now on (filter by customer yourself).
    pub feed: broadcast::Receiver<Published>,
}

impl Live {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Publishes an event about `customer`'s ticket.
    pub fn publish(&self, customer: &str, ticket_id: &str, session_id: &str, kind: LiveEventKind) {
        let mut inner = self.lock();
        let seq = inner.next_seq;
        inner.next_seq += 1;
        let published = Published {
            customer: customer.to_owned(),
            event: LiveEvent {
                seq,
                ticket_id: ticket_id.to_owned(),
                session_id: session_id.to_owned(),
                kind,
            },
        };
        // "Typing" is only for whoever watches now; a reconnecting stream need not see it.
        if !matches!(published.event.kind, LiveEventKind::Typing { .. }) {
            inner.ring.push_back(published.clone());
            if inner.ring.len() > RING {
                inner.ring.pop_front();
            }
        }
        // No receivers is fine: nobody is watching.
        let _ = self.tx.send(published);
    }

    /// Subscribes for `customer` (`None`: every customer, for agents), resuming after
    /// `after`. Backlog and feed are taken under one lock, so nothing falls between.
    pub fn subscribe(&self, customer: Option<&str>, after: Option<i64>) -> Subscription {
        let inner = self.lock();
        let feed = self.tx.subscribe();
        let backlog = match after {
            Some(after) => inner
                .ring
                .iter()
                .filter(|p| p.event.seq > after && customer.is_none_or(|c| p.customer == c))
                .map(|p| p.event.clone())
                .collect(),
            None => Vec::new(),
        };
        Subscription { backlog, feed }
    }

    /// Forgets a customer's events (their streams are closed by the forget itself).
    pub fn forget_customer(&self, customer: &str) {
        self.lock().ring.retain(|p| p.customer != customer);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_resumed_subscription_gets_what_it_missed_and_only_its_own() {
        let live = Live::default();
        live.publish("a", "T", "s", LiveEventKind::Closed);
        live.publish("b", "T", "s2", LiveEventKind::Closed);
        live.publish("a", "T", "s", LiveEventKind::Escalated);
        let sub = live.subscribe(Some("a"), Some(1));
        let seqs: Vec<i64> = sub.backlog.iter().map(|e| e.seq).collect();
        assert_eq!(seqs, vec![3]);
        let all = live.subscribe(None, Some(0));
        assert_eq!(all.backlog.len(), 3);
        assert!(live.subscribe(Some("a"), None).backlog.is_empty());
    }

    #[tokio::test]
    async fn the_feed_carries_new_events() {
        let live = Live::default();
        let mut sub = live.subscribe(Some("a"), None);
        live.publish("a", "T", "s", LiveEventKind::Closed);
        let got = sub.feed.recv().await.unwrap();
        assert_eq!((got.customer.as_str(), got.event.seq), ("a", 1));
    }
}
