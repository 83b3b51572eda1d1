//! What the proxy last read of a customer's memory (EverOS v2): the profile document and
//! whether any episode exists, reused for a few seconds so that a ticket's messages do
//! not each re-read a profile that only a flush changes, nor rank a first-time customer's
//! (empty) history. Only trusted while nothing can have changed it behind the proxy's
//! back: forgotten when this proxy flushes or deletes the customer's memory, never kept
//! within [`SETTLE`] of such a flush (EverOS extracts and indexes after answering the
//! flush), and at most [`FRESH`] old: another proxy instance or another app may have
//! flushed one of the customer's sessions (the embedded EverOS has no other client); a
//! minute is also how far EverOS's own keyword index may lag (everos-v2.md §3).

use std::{
    collections::HashMap,
    sync::Mutex,
    time::{Duration, Instant},
};

use everdesk_api::ProfileFact;

/// How long a snapshot is reused: long enough to span a ticket's messages at a human's
/// pace, short enough that a change by another writer shows within a minute.
pub const FRESH: Duration = Duration::from_secs(60);
/// How long after a flush nothing is cached for the customer: EverOS may still be
/// extracting the profile and indexing the episode (keyword search can lag up to a
/// minute, everos-v2.md §3).
pub const SETTLE: Duration = Duration::from_secs(60);
/// Most customers remembered at once; beyond it nothing new is cached until entries age.
const MAX_CUSTOMERS: usize = 10_000;

/// One customer's memory as last read.
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    /// The profile document's facts.
    pub profile: Vec<ProfileFact>,
    /// Whether the customer had at least one episode.
    pub has_episodes: bool,
}

#[derive(Debug, Default)]
struct Slot {
    /// The snapshot and when its reads began.
    snapshot: Option<(Instant, Snapshot)>,
    /// When this proxy last flushed or deleted the customer's memory.
    changed: Option<Instant>,
}

impl Slot {
    fn settling(&self, now: Instant) -> bool {
        self.changed
            .is_some_and(|t| now.saturating_duration_since(t) < SETTLE)
    }

    fn fresh(&self, now: Instant) -> Option<&Snapshot> {
        match &self.snapshot {
            Some((at, s)) if now.saturating_duration_since(*at) < FRESH && !self.settling(now) => {
                Some(s)
            }
            _ => None,
        }
    }
}

/// Per-customer snapshots.
#[derive(Debug, Default)]
pub struct Known {
    map: Mutex<HashMap<String, Slot>>,
}

impl Known {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Slot>> {
        self.map.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The customer's snapshot, when one may be reused as of `now`.
    pub fn fresh(&self, customer: &str, now: Instant) -> Option<Snapshot> {
        self.lock().get(customer)?.fresh(now).cloned()
    }

    /// Whether a snapshot read now could be kept (the customer's memory is not settling
    /// after a change by this proxy).
    pub fn may_keep(&self, customer: &str, now: Instant) -> bool {
        self.lock().get(customer).is_none_or(|s| !s.settling(now))
    }

    /// Keeps `snapshot`, whose reads began at `read_at`, unless the customer's memory was
    /// changed by this proxy since then or too recently to trust it.
    pub fn keep(&self, customer: &str, snapshot: Snapshot, read_at: Instant, now: Instant) {
        let mut map = self.lock();
        if map.len() >= MAX_CUSTOMERS && !map.contains_key(customer) {
            map.retain(|_, s| s.fresh(now).is_some() || s.settling(now));
            if map.len() >= MAX_CUSTOMERS {
                return;
            }
        }
        let slot = map.entry(customer.to_owned()).or_default();
        if slot.settling(now) || slot.changed.is_some_and(|t| t >= read_at) {
            return;
        }
        slot.snapshot = Some((read_at, snapshot));
    }

    /// The customer's memory is being changed by this proxy (a flush or a delete, sent
    /// or about to be): forget the snapshot, keep none for [`SETTLE`].
    pub fn changing(&self, customer: &str, now: Instant) {
        let mut map = self.lock();
        let slot = map.entry(customer.to_owned()).or_default();
        slot.snapshot = None;
        slot.changed = Some(now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snap(has_episodes: bool) -> Snapshot {
        Snapshot {
            profile: Vec::new(),
            has_episodes,
        }
    }

    #[test]
    fn a_snapshot_is_reused_while_fresh_only() {
        let k = Known::default();
        let t0 = Instant::now();
        assert_eq!(k.fresh("c", t0), None);
        k.keep("c", snap(false), t0, t0);
        assert_eq!(k.fresh("c", t0 + Duration::from_secs(1)), Some(snap(false)));
        assert_eq!(k.fresh("other", t0), None);
        assert_eq!(k.fresh("c", t0 + FRESH), None);
    }

    #[test]
    fn a_flush_forgets_it_and_nothing_is_kept_while_settling() {
        let k = Known::default();
        let t0 = Instant::now();
        k.keep("c", snap(false), t0, t0);
        let flush = t0 + Duration::from_secs(1);
        assert!(k.may_keep("c", flush));
        k.changing("c", flush);
        assert_eq!(k.fresh("c", flush), None);
        assert!(!k.may_keep("c", flush + Duration::from_secs(2)));
        assert!(k.may_keep("other", flush));
        // Read before the flush, or soon after it: not kept.
        k.keep("c", snap(false), t0, flush + Duration::from_millis(1));
        let later = flush + Duration::from_secs(2);
        k.keep("c", snap(true), later, later);
        assert_eq!(k.fresh("c", later), None);
        // Once settled, kept again.
        let settled = flush + SETTLE;
        assert!(k.may_keep("c", settled));
        k.keep("c", snap(true), settled, settled);
        assert_eq!(k.fresh("c", settled), Some(snap(true)));
    }

    #[test]
    fn a_read_that_began_before_a_change_is_not_kept() {
        let k = Known::default();
        let t0 = Instant::now();
        k.changing("c", t0);
        let settled = t0 + SETTLE;
        // Began before the change (a slow read), finished after the settle time.
        k.keep("c", snap(false), t0, settled);
        assert_eq!(k.fresh("c", settled), None);
    }
}
