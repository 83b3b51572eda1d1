//! Time: wall-clock epoch milliseconds, and strictly increasing message timestamps per
//! EverOS session (two messages in one millisecond must not collide: EverOS derives
//! message ids from timestamps).

use std::{
    collections::HashMap,
    sync::Mutex,
    time::{SystemTime, UNIX_EPOCH},
};

/// Now, as Unix epoch milliseconds.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// Hands out timestamps that only ever increase per key (customer + session).
#[derive(Debug, Default)]
pub struct SessionClock {
    last: Mutex<HashMap<(String, String), i64>>,
}

impl SessionClock {
    /// The next timestamp for `(user_id, session_id)`: now, or one past the last one given,
    /// skipping whole seconds.
    pub fn next(&self, user_id: &str, session_id: &str) -> i64 {
        self.next_at(user_id, session_id, now_ms())
    }

    /// As [`Self::next`], with an explicit "now" (for tests).
    pub fn next_at(&self, user_id: &str, session_id: &str, now: i64) -> i64 {
        let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        let slot = last
            .entry((user_id.to_owned(), session_id.to_owned()))
            .or_insert(0);
        let mut ts = now.max(*slot + 1);
        // Never a whole second: a server that reports times only to the second reports
        // whole seconds, so a whole-second time read back is a coarse one, never exactly
        // one of ours (`Pending::is_turn` relies on it to tell two same-text turns apart).
        if ts.rem_euclid(1000) == 0 {
            ts += 1;
        }
        *slot = ts;
        ts
    }
}

/// Writes whose outcome is unknown (a flush that timed out), per (customer, session),
/// with the time until which they may still land: a retry before then must not send
/// them again.
#[derive(Debug, Default)]
pub struct Unsettled {
    until: Mutex<HashMap<(String, String), i64>>,
}

impl Unsettled {
    /// Records a write of unknown outcome that may land until `until_ms`.
    pub fn unknown(&self, user_id: &str, session_id: &str, until_ms: i64) {
        let mut map = self.until.lock().unwrap_or_else(|e| e.into_inner());
        let now = now_ms();
        map.retain(|_, until| *until > now);
        map.insert((user_id.to_owned(), session_id.to_owned()), until_ms);
    }

    /// Whether a write of unknown outcome for the session may still land at `now`.
    pub fn waiting(&self, user_id: &str, session_id: &str, now: i64) -> bool {
        let map = self.until.lock().unwrap_or_else(|e| e.into_inner());
        map.get(&(user_id.to_owned(), session_id.to_owned()))
            .is_some_and(|until| *until > now)
    }

    /// The write's outcome is known now.
    pub fn settled(&self, user_id: &str, session_id: &str) {
        let mut map = self.until.lock().unwrap_or_else(|e| e.into_inner());
        map.remove(&(user_id.to_owned(), session_id.to_owned()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_millisecond_still_increases_per_session() {
        let c = SessionClock::default();
        assert_eq!(c.next_at("u", "s", 10), 10);
        assert_eq!(c.next_at("u", "s", 10), 11);
        assert_eq!(c.next_at("u", "s", 5), 12);
        assert_eq!(c.next_at("u", "other", 10), 10);
        assert_eq!(c.next_at("u", "s", 100), 100);
        // Whole seconds are skipped, so they read back only as coarse times.
        assert_eq!(c.next_at("u", "s", 2_000), 2_001);
        assert_eq!(c.next_at("u", "s", 2_000), 2_002);
        assert_eq!(c.next_at("u", "s", 2_999), 2_999);
        assert_eq!(c.next_at("u", "s", 2_999), 3_001);
    }
}
