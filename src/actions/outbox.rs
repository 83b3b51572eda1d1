//! Sending customer messages: typed → saved in the outbox → sent → confirmed. A
//! failure leaves the message in the outbox, marked failed with a retry, and the
//! outbox is retried with backoff and whenever the browser comes back online. A
//! resend reuses the message id, which the proxy dedupes on.

use everdesk_api::{limits, SendMessageRequest, SendMessageResponse};
use leptos::prelude::*;
use wasm_bindgen::{closure::Closure, JsCast};

use super::{Chat, View};
use crate::{
    api::{decode, ApiError, Endpoint},
    ids::{new_uuid, now_ms},
    state::{ChatMessage, Delivery, OutboxEntry},
};

/// Why a message cannot be sent as typed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DraftError {
    /// Only whitespace.
    Empty,
    /// Over the limit.
    TooLong,
}

/// Checks a draft against the proxy's limits (1..=4000 characters after trimming).
pub fn check_draft(text: &str) -> Result<&str, DraftError> {
    let trimmed = text.trim();
    match trimmed.chars().count() {
        0 => Err(DraftError::Empty),
        n if n > limits::MAX_MESSAGE_CHARS => Err(DraftError::TooLong),
        _ => Ok(trimmed),
    }
}

impl Chat {
    /// Queues a message for the open ticket and starts sending it. Returns false
    /// (and changes nothing) when the draft is not sendable.
    pub fn send(self, text: &str) -> bool {
        let Ok(content) = check_draft(text) else {
            return false;
        };
        let Some(ticket_id) = self
            .current
            .with_untracked(|c| c.as_ref().filter(|r| r.is_open()).map(|r| r.id.clone()))
        else {
            return false;
        };
        let entry = OutboxEntry {
            ticket_id: ticket_id.clone(),
            id: new_uuid(),
            content: content.to_owned(),
            sent_at: self.next_time(),
            attempts: 0,
            next_try_at: 0,
        };
        // Saved before it is sent: a crash or reload from here on resends it.
        self.outbox.update(|o| o.push(entry.clone()));
        self.save_outbox();
        self.update_record(&ticket_id, |r| {
            r.add_pending(ChatMessage::pending(entry.id, entry.content, entry.sent_at))
        });
        self.flush();
        true
    }

    /// Sends a failed message again now (if it is still waiting in the outbox).
    pub fn retry(self, message_id: &str) {
        let ticket = self.outbox.with_untracked(|o| {
            o.entries()
                .iter()
                .find(|e| e.id == message_id)
                .map(|e| e.ticket_id.clone())
        });
        let Some(ticket) = ticket else {
            return;
        };
        self.outbox.update(|o| o.retry_now(Some(message_id)));
        self.save_outbox();
        self.update_record(&ticket, |r| r.set_delivery(message_id, Delivery::Sending));
        self.flush();
    }

    /// The browser came back online (or the frame booted): send everything waiting,
    /// except messages the proxy refused (those wait for the customer's retry).
    pub fn back_online(self) {
        self.online.set(true);
        self.outbox.update(|o| o.retry_now(None));
        self.flush();
    }

    /// Sends every due outbox entry, one ticket's messages in order; then sleeps
    /// until the next backoff expires. One flush per customer at a time, bound to the
    /// customer's scope: once the customer changes it never resumes (so it sends none
    /// of their messages in the next customer's session), and the next customer's
    /// scope starts without a flush running.
    pub fn flush(self) {
        if self.api().is_err() || self.with_scope(|s| s.flushing.replace(true)) != Some(false) {
            return;
        }
        self.spawn_for_customer(Box::pin(async move {
            loop {
                let due = self.outbox.with_untracked(|o| o.due(now_ms()));
                if due.is_empty() || !self.online.get_untracked() {
                    break;
                }
                for entry in due {
                    // Another tab may have sent it since the list was taken.
                    if self.outbox.with_untracked(|o| o.contains(&entry.id)) {
                        self.deliver(entry).await;
                    }
                }
            }
            self.with_scope(|s| s.flushing.set(false));
            self.wake_later();
        }));
    }

    /// Schedules the next flush for when the next backoff expires. Not while offline:
    /// coming back online flushes (and due entries would otherwise spin).
    fn wake_later(self) {
        if !self.online.get_untracked() {
            return;
        }
        let Some(at) = self.outbox.with_untracked(|o| o.next_wake(now_ms())) else {
            return;
        };
        let delay =
            i32::try_from((at - now_ms()).clamp(0, i64::from(i32::MAX))).unwrap_or(i32::MAX);
        if delay == i32::MAX {
            return;
        }
        let wake = Closure::once_into_js(move || self.flush());
        if let Some(window) = web_sys::window() {
            let _ = window
                .set_timeout_with_callback_and_timeout_and_arguments_0(wake.unchecked_ref(), delay);
        }
    }

    /// Sends one entry and applies the answer; only ever awaited by [`Chat::flush`],
    /// in the customer's scope.
    async fn deliver(self, entry: OutboxEntry) {
        let viewing = self
            .view
            .with_untracked(|v| *v == View::Ticket(entry.ticket_id.clone()));
        // No bot is typing once a person handles the ticket.
        let handled = self
            .record(&entry.ticket_id)
            .is_some_and(|r| r.agent.is_some());
        if viewing && !handled {
            self.typing.set(true);
        }
        let result = match self.ensure_ticket(&entry.ticket_id).await {
            Ok(()) => {
                let req = SendMessageRequest {
                    id: entry.id.clone(),
                    content: entry.content.clone(),
                    sent_at: entry.sent_at,
                };
                let endpoint = Endpoint::send_message(&entry.ticket_id, &req);
                match self.authed(endpoint).await {
                    Ok(text) => decode::<SendMessageResponse>(&text),
                    Err(e) => Err(e),
                }
            }
            Err(e) => Err(e),
        };
        self.typing.set(false);
        if !self.storage_still_ours() {
            return; // another tab gave the storage to another customer: nothing to update
        }
        match result {
            Ok(resp) => {
                // Only the first tab to confirm a message announces its reply (tabs
                // flushing a shared outbox after a reconnect may all get the answer).
                let first = self.outbox.with_untracked(|o| o.contains(&entry.id));
                self.outbox.update(|o| {
                    o.confirm(&entry.id);
                });
                self.save_outbox();
                let reply = resp
                    .reply
                    .as_ref()
                    .map(|m| (m.id.clone(), m.content.clone()));
                self.update_record(&entry.ticket_id, |r| {
                    r.confirm(&entry.id, resp.reply);
                    match resp.handled_by {
                        // A person handles it: no bot reply, the agent answers live.
                        Some(agent) => r.agent = Some(agent.name),
                        None => r.recalled = resp.context.history,
                    }
                });
                if let Some((id, text)) = reply.filter(|_| first) {
                    self.announce_reply(entry.ticket_id.clone(), id, text);
                }
            }
            Err(error) => self.delivery_failed(&entry, &error),
        }
    }

    fn delivery_failed(&self, entry: &OutboxEntry, error: &ApiError) {
        if *error == ApiError::Superseded {
            // Its ticket is not in this tab's storage (kept only in another tab's memory,
            // storage being full): kept, and tried again later; that tab sends it.
            self.outbox.update(|o| {
                o.record_failure(&entry.id, now_ms(), js_sys::Math::random(), 0);
            });
            return;
        }
        if matches!(error, ApiError::Network(_)) {
            let online = web_sys::window().is_none_or(|w| w.navigator().on_line());
            self.online.set(online);
        }
        let retryable = error.is_retryable();
        self.outbox.update(|o| {
            if retryable {
                let jitter = js_sys::Math::random();
                o.record_failure(&entry.id, now_ms(), jitter, error.wait_ms());
            } else {
                o.park(&entry.id);
            }
        });
        self.save_outbox();
        let reason = self.failed(error).to_owned();
        self.update_record(&entry.ticket_id, |r| {
            r.set_delivery(&entry.id, Delivery::Failed { reason })
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drafts_are_trimmed_and_bounded() {
        assert_eq!(check_draft("  hi \n"), Ok("hi"));
        assert_eq!(check_draft(" \n\t "), Err(DraftError::Empty));
        assert_eq!(
            check_draft(&"é".repeat(4000)).map(|s| s.chars().count()),
            Ok(4000)
        );
        assert_eq!(check_draft(&"a".repeat(4001)), Err(DraftError::TooLong));
    }
}
