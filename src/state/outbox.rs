//! The outbox: customer messages that are typed but not yet confirmed by the proxy.
//! An entry gets its id and time when typed, is saved before it is sent, and leaves
//! only when the proxy confirms, so nothing typed is lost and a resend reuses the id
//! (the proxy dedupes on it), so nothing is stored twice.

use everdesk_api::json_struct;

/// Shortest wait before retrying a failed send, ms.
pub const BACKOFF_BASE_MS: i64 = 1_000;
/// Longest wait between retries, ms.
pub const BACKOFF_MAX_MS: i64 = 60_000;
/// `next_try_at` of a parked entry (see [`Outbox::park`]): never due by itself.
const PARKED: i64 = i64::MAX / 2;

/// One unsent message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxEntry {
    /// Ticket it belongs to.
    pub ticket_id: String,
    /// Client message id (UUID): the idempotency key, fixed when typed.
    pub id: String,
    /// Text as typed.
    pub content: String,
    /// When typed, epoch ms (strictly increasing per ticket).
    pub sent_at: i64,
    /// Failed attempts so far (absent in storage: 0).
    pub attempts: u32,
    /// Not before this time, epoch ms (0 = now; absent in storage: 0).
    pub next_try_at: i64,
}
json_struct!(OutboxEntry {
    ticket_id,
    id,
    content,
    sent_at,
    attempts: default,
    next_try_at: default
});

/// Unsent messages, oldest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outbox {
    entries: Vec<OutboxEntry>,
}
json_struct!(Outbox { entries });

impl Outbox {
    /// An outbox holding `entries`, sorted oldest first.
    pub fn from_entries(mut entries: Vec<OutboxEntry>) -> Self {
        super::sort::sort_by(&mut entries, |a, b| (a.sent_at, &a.id) < (b.sent_at, &b.id));
        entries.dedup_by(|a, b| a.id == b.id);
        Self { entries }
    }

    /// All entries, oldest first.
    pub fn entries(&self) -> &[OutboxEntry] {
        &self.entries
    }

    /// Whether there is nothing to send.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Adds a freshly typed message; an id already present is left as it is.
    pub fn push(&mut self, entry: OutboxEntry) {
        if !self.contains(&entry.id) {
            self.entries.push(entry);
        }
    }

    /// Whether the message is still unsent.
    pub fn contains(&self, id: &str) -> bool {
        self.entries.iter().any(|e| e.id == id)
    }

    /// Drops a confirmed message; returns whether it was there.
    pub fn confirm(&mut self, id: &str) -> bool {
        let before = self.entries.len();
        self.entries.retain(|e| e.id != id);
        before != self.entries.len()
    }

    /// Whether a ticket has messages still on their way (not parked).
    pub fn sending(&self, ticket_id: &str) -> bool {
        self.entries
            .iter()
            .any(|e| e.ticket_id == ticket_id && e.next_try_at < PARKED)
    }

    /// Drops every entry of a ticket (closed with only refused messages left: their
    /// text stays in the ticket, marked not sent).
    pub fn drop_ticket(&mut self, ticket_id: &str) {
        self.entries.retain(|e| e.ticket_id != ticket_id);
    }

    /// Records a failed attempt and schedules the next one with exponential backoff,
    /// but no sooner than `wait_ms` (the server's `Retry-After`). `jitter` in
    /// `0.0..1.0` spreads retries of many clients apart.
    pub fn record_failure(&mut self, id: &str, now: i64, jitter: f64, wait_ms: i64) {
        if let Some(entry) = self.entries.iter_mut().find(|e| e.id == id) {
            entry.attempts += 1;
            entry.next_try_at = now + backoff_ms(entry.attempts, jitter).max(wait_ms);
        }
    }

    /// Records a failure that retrying cannot fix by itself (the proxy refused the
    /// message): the entry waits for the customer's retry, and coming back online
    /// does not resend it.
    pub fn park(&mut self, id: &str) {
        if let Some(entry) = self.entries.iter_mut().find(|e| e.id == id) {
            entry.attempts += 1;
            entry.next_try_at = PARKED;
        }
    }

    /// Makes an entry due now: `Some(id)` when the customer pressed retry (parked or
    /// not), `None` when we came back online (every entry not parked).
    pub fn retry_now(&mut self, id: Option<&str>) {
        for entry in &mut self.entries {
            let wanted = match id {
                Some(id) => entry.id == id,
                None => entry.next_try_at < PARKED,
            };
            if wanted {
                entry.next_try_at = 0;
            }
        }
    }

    /// The entries to send at `now`: the oldest due entry of each ticket, so one
    /// ticket's messages reach the proxy in the order they were typed.
    pub fn due(&self, now: i64) -> Vec<OutboxEntry> {
        let mut seen: Vec<&str> = Vec::new();
        let mut due = Vec::new();
        for entry in &self.entries {
            if seen.contains(&entry.ticket_id.as_str()) {
                continue;
            }
            seen.push(&entry.ticket_id);
            if entry.next_try_at <= now {
                due.push(entry.clone());
            }
        }
        due
    }

    /// When the next entry becomes due, if any is waiting.
    pub fn next_wake(&self, now: i64) -> Option<i64> {
        self.entries.iter().map(|e| e.next_try_at.max(now)).min()
    }
}

/// Wait after the `attempts`-th failure: base · 2^(attempts−1), capped, plus up to 50 % jitter.
pub fn backoff_ms(attempts: u32, jitter: f64) -> i64 {
    let exp = BACKOFF_BASE_MS.saturating_mul(1_i64 << attempts.saturating_sub(1).min(16));
    let capped = exp.min(BACKOFF_MAX_MS);
    capped + (capped as f64 * 0.5 * jitter.clamp(0.0, 1.0)) as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(ticket: &str, id: &str, at: i64) -> OutboxEntry {
        OutboxEntry {
            ticket_id: ticket.into(),
            id: id.into(),
            content: format!("msg {id}"),
            sent_at: at,
            attempts: 0,
            next_try_at: 0,
        }
    }

    #[test]
    fn push_is_idempotent_and_confirm_removes() {
        let mut outbox = Outbox::default();
        outbox.push(entry("t", "a", 1));
        outbox.push(entry("t", "a", 1));
        assert_eq!(outbox.entries().len(), 1);
        assert!(outbox.confirm("a"));
        assert!(!outbox.confirm("a"));
        assert!(outbox.is_empty());
    }

    #[test]
    fn due_sends_one_ticket_in_typed_order() {
        let outbox = Outbox::from_entries(vec![
            entry("t1", "b", 2),
            entry("t1", "a", 1),
            entry("t2", "c", 3),
        ]);
        let due: Vec<_> = outbox.due(0).into_iter().map(|e| e.id).collect();
        assert_eq!(due, vec!["a", "c"]);
    }

    #[test]
    fn failures_back_off_and_retry_now_clears_the_wait() {
        let mut outbox = Outbox::from_entries(vec![entry("t", "a", 1)]);
        outbox.record_failure("a", 1_000, 0.0, 0);
        assert!(outbox.due(1_500).is_empty());
        assert_eq!(outbox.due(2_000).len(), 1);
        outbox.record_failure("a", 2_000, 0.0, 0);
        assert_eq!(outbox.entries()[0].next_try_at, 4_000);
        assert_eq!(outbox.next_wake(2_000), Some(4_000));
        outbox.retry_now(Some("a"));
        assert_eq!(outbox.due(2_000).len(), 1);
    }

    #[test]
    fn a_waiting_head_blocks_later_messages_of_its_ticket() {
        let mut outbox = Outbox::from_entries(vec![entry("t", "a", 1), entry("t", "b", 2)]);
        outbox.record_failure("a", 0, 0.0, 0);
        assert!(outbox.due(10).is_empty(), "b must not overtake a");
    }

    #[test]
    fn backoff_grows_and_caps() {
        assert_eq!(backoff_ms(1, 0.0), 1_000);
        assert_eq!(backoff_ms(2, 0.0), 2_000);
        assert_eq!(backoff_ms(3, 0.0), 4_000);
        assert_eq!(backoff_ms(30, 0.0), BACKOFF_MAX_MS);
        assert_eq!(backoff_ms(1, 1.0), 1_500);
        assert_eq!(backoff_ms(1, 7.0), 1_500);
    }

    #[test]
    fn retry_after_stretches_the_backoff() {
        let mut outbox = Outbox::from_entries(vec![entry("t", "a", 1)]);
        outbox.record_failure("a", 1_000, 0.0, 30_000);
        assert_eq!(outbox.entries()[0].next_try_at, 31_000);
        outbox.record_failure("a", 31_000, 0.0, 0);
        assert_eq!(outbox.entries()[0].next_try_at, 33_000, "backoff alone");
    }

    #[test]
    fn parked_entries_wait_for_the_customer_not_for_the_network() {
        let mut outbox = Outbox::from_entries(vec![entry("t1", "a", 1), entry("t2", "b", 2)]);
        outbox.park("a");
        outbox.record_failure("b", 0, 0.0, 0);
        outbox.retry_now(None);
        let due: Vec<_> = outbox.due(0).into_iter().map(|e| e.id).collect();
        assert_eq!(due, vec!["b"], "back online resends b, not the refused a");
        assert!(!outbox.sending("t1"), "only a refused message left");
        assert!(outbox.sending("t2"));
        outbox.retry_now(Some("a"));
        assert_eq!(outbox.due(0).len(), 2, "the customer's retry resends a");
        assert!(outbox.sending("t1"));
        outbox.drop_ticket("t1");
        assert_eq!(outbox.entries().len(), 1);
        assert_eq!(outbox.entries()[0].ticket_id, "t2");
    }
}
