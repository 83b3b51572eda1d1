//! Live events from the proxy (`GET /v1/events`): the SSE parser, the customer scope
//! the stream and the server sync are bound to, and the frame → event decoding.
//! What an event changes is in `actions::live`.

pub mod scope;
pub mod sse;

use everdesk_api::LiveEvent;

pub use scope::{spawn_scoped, Scope, ScopeHandle};
pub use sse::{Frame, SseParser};

/// First wait before reconnecting, ms; doubled after each failed try.
pub const BACKOFF_START_MS: i32 = 1_000;
/// Longest wait before reconnecting, ms.
pub const BACKOFF_MAX_MS: i32 = 30_000;

/// The next wait after `current` failed.
pub fn next_backoff(current: i32) -> i32 {
    current.saturating_mul(2).min(BACKOFF_MAX_MS)
}

/// The event in a frame, if it is one this build knows.
pub fn decode(frame: &Frame) -> Option<LiveEvent> {
    everdesk_api::json::from_str(&frame.data).ok()
}

/// Whether `event` is new after the resume point `last`, which it then advances.
/// Typing is not numbered for resuming: always new, never advances.
pub fn is_new(event: &LiveEvent, last: &mut Option<i64>) -> bool {
    if matches!(event.kind, everdesk_api::LiveEventKind::Typing { .. }) {
        return true;
    }
    if last.is_some_and(|l| event.seq <= l) {
        return false;
    }
    *last = Some(event.seq);
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use everdesk_api::{Author, LiveEventKind};

    #[test]
    fn frames_decode_and_resume_points_skip_repeats() {
        let mut p = SseParser::default();
        let frames = p.push(
            b"id: 4\nevent: closed\ndata: {\"seq\":4,\"ticket_id\":\"t\",\"session_id\":\"s\",\"type\":\"closed\"}\n\n\
              event: typing\ndata: {\"seq\":4,\"ticket_id\":\"t\",\"session_id\":\"s\",\"type\":\"typing\",\"author\":\"agent\"}\n\n\
              data: {\"seq\":5,\"type\":\"future_kind\"}\n\n",
        );
        let events: Vec<_> = frames.iter().filter_map(decode).collect();
        assert_eq!(events.len(), 2, "unknown kinds are skipped");
        assert_eq!(events[0].kind, LiveEventKind::Closed);
        let mut last = Some(3);
        assert!(is_new(&events[0], &mut last));
        assert_eq!(last, Some(4));
        assert!(
            !is_new(&events[0], &mut last),
            "a replayed event is dropped"
        );
        assert!(matches!(
            events[1].kind,
            LiveEventKind::Typing {
                author: Author::Agent
            }
        ));
        assert!(is_new(&events[1], &mut last) && is_new(&events[1], &mut last));
        assert_eq!(last, Some(4));
    }

    #[test]
    fn backoff_doubles_up_to_a_cap() {
        assert_eq!(next_backoff(BACKOFF_START_MS), 2_000);
        assert_eq!(next_backoff(20_000), BACKOFF_MAX_MS);
        assert_eq!(next_backoff(i32::MAX), BACKOFF_MAX_MS);
    }
}
