//! The live event streams as server-sent events: `GET /v1/events` for the signed-in
//! customer (their tickets only), `GET /v1/agent/events` for agents (every ticket). Each
//! event carries `id: <seq>`; a client that reconnects with `Last-Event-ID` first gets
//! what it missed, then the live feed, never an event twice. A customer's stream ends
//! when the customer is forgotten. Events are stored, so resuming works across a restart
//! and across replicas (see [`crate::live`]).

use std::{convert::Infallible, time::Duration};

use axum::{
    extract::State,
    http::HeaderMap,
    response::sse::{Event as SseEvent, KeepAlive, Sse},
};
use everdesk_api::{LiveEvent, LiveEventKind};
use futures::stream::{self, Stream};
use tokio::sync::broadcast::error::RecvError;

use crate::{
    error::ProxyError,
    extract::{AgentAuthed, Authed},
    identity::SessionCustomer,
    live::Subscription,
    AppState,
};

/// How often a customer's stream re-checks that their session is still valid.
const RECHECK: Duration = Duration::from_secs(15);

fn last_event_id(headers: &HeaderMap) -> Option<i64> {
    headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok())
}

fn event_name(kind: &LiveEventKind) -> &'static str {
    match kind {
        LiveEventKind::Message { .. } => "message",
        LiveEventKind::Claimed { .. } => "claimed",
        LiveEventKind::Closed => "closed",
        LiveEventKind::Escalated => "escalated",
        LiveEventKind::Typing { .. } => "typing",
    }
}

fn sse_event(e: &LiveEvent) -> SseEvent {
    let data = serde_json::to_string(e).unwrap_or_else(|_| "{}".to_owned());
    let ev = SseEvent::default().event(event_name(&e.kind)).data(data);
    // Typing is not numbered for resuming (it is not kept for reconnects).
    if matches!(e.kind, LiveEventKind::Typing { .. }) {
        ev
    } else {
        ev.id(e.seq.to_string())
    }
}

/// What a stream needs between events.
struct Cursor {
    state: AppState,
    customer: Option<SessionCustomer>,
    sub: Subscription,
    /// Backlog left to send, oldest last (popped from the end).
    pending: Vec<LiveEvent>,
    /// The highest seq sent.
    last: i64,
}

impl Cursor {
    fn wants(&self, customer: &str) -> bool {
        self.customer.as_ref().is_none_or(|c| c.id == customer)
    }

    async fn still_valid(&self) -> bool {
        match &self.customer {
            Some(c) => crate::fencing::still_valid(&self.state, c).await.is_ok(),
            None => true,
        }
    }

    /// The next event to send; `None` ends the stream.
    async fn next(&mut self) -> Option<LiveEvent> {
        loop {
            if let Some(e) = self.pending.pop() {
                if e.seq > self.last || matches!(e.kind, LiveEventKind::Typing { .. }) {
                    return Some(e);
                }
                continue;
            }
            if !self.still_valid().await {
                return None;
            }
            match tokio::time::timeout(RECHECK, self.sub.feed.recv()).await {
                Err(_) => continue,
                Ok(Ok(p)) => {
                    if self.wants(&p.customer) {
                        self.pending.push(p.event);
                    }
                }
                Ok(Err(RecvError::Lagged(_))) => {
                    // Too slow for the feed: catch up from the stored events.
                    let who = self.customer.as_ref().map(|c| c.id.clone());
                    let again = self
                        .state
                        .svc
                        .live
                        .subscribe(who.as_deref(), Some(self.last))
                        .await;
                    let Ok(again) = again else {
                        // The database is unreachable: the client reconnects and resumes.
                        return None;
                    };
                    self.sub = again;
                    self.pending = std::mem::take(&mut self.sub.backlog);
                    self.pending.reverse();
                }
                Ok(Err(RecvError::Closed)) => return None,
            }
        }
    }
}

async fn stream_of(
    state: AppState,
    customer: Option<SessionCustomer>,
    headers: &HeaderMap,
) -> Result<Sse<impl Stream<Item = Result<SseEvent, Infallible>>>, ProxyError> {
    let after = last_event_id(headers);
    let mut sub = state
        .svc
        .live
        .subscribe(customer.as_ref().map(|c| c.id.as_str()), after)
        .await?;
    let mut pending = std::mem::take(&mut sub.backlog);
    pending.reverse();
    let cursor = Cursor {
        state,
        customer,
        sub,
        pending,
        last: after.unwrap_or(0),
    };
    let events = stream::unfold(cursor, |mut c| async move {
        let e = c.next().await?;
        if !matches!(e.kind, LiveEventKind::Typing { .. }) {
            c.last = c.last.max(e.seq);
        }
        Some((Ok(sse_event(&e)), c))
    });
    Ok(Sse::new(events).keep_alive(KeepAlive::default()))
}

/// `GET /v1/events`: the signed-in customer's live events.
pub async fn customer_events(
    State(state): State<AppState>,
    Authed(who): Authed,
    headers: HeaderMap,
) -> Result<Sse<impl Stream<Item = Result<SseEvent, Infallible>>>, ProxyError> {
    stream_of(state, Some(who), &headers).await
}

/// `GET /v1/agent/events`: every ticket's live events, for agents.
pub async fn agent_events(
    State(state): State<AppState>,
    AgentAuthed(_agent): AgentAuthed,
    headers: HeaderMap,
) -> Result<Sse<impl Stream<Item = Result<SseEvent, Infallible>>>, ProxyError> {
    stream_of(state, None, &headers).await
}
