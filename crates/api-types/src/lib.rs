//! The widget⇄proxy wire contract of `shared/proxy-api.md`, v1: every request and
//! response body, the error body and its stable codes, the SSE event names.
//!
//! The widget (wasm32) and the proxy (native) compile against the same types: a renamed
//! field breaks the build, not production. The proxy reads and writes them with serde;
//! the widget with the small codec in [`json`], which the tests hold to serde's JSON. Field lists are the
//! spec's minimum; optional fields are skipped when absent so bodies stay small.

mod agent;
mod error;
#[cfg(feature = "web")]
pub mod ids;
pub mod json;
mod memory;
mod session;
mod ticket;

pub use agent::{
    Agent, AgentReplyRequest, AgentReplyResponse, AgentSessionRequest, AgentSessionResponse,
    AgentTicketResponse, Author, FeedbackView, LiveEvent, LiveEventKind, QueueItem, QueueResponse,
    QueueState, TicketListResponse, TicketSummary, TranscriptMessage, TranscriptPage,
};
pub use error::{ErrorBody, ErrorCode, ErrorDetail};
pub use memory::{HistoryEpisode, HistoryQuery, HistoryResponse, ProfileFact, ProfileResponse};
pub use session::{Customer, CustomerKind, SessionRequest, SessionResponse};
pub use ticket::{
    CloseRequest, CloseResponse, Context, CreateTicketRequest, CreateTicketResponse,
    EscalateRequest, EscalateResponse, Handoff, MemoryOutcome, Message, Role, SendMessageRequest,
    SendMessageResponse, StreamDelta, Ticket, TicketStatus,
};

/// Route paths, relative to the proxy base URL. One place, so the widget's client and
/// the proxy's router cannot drift apart.
pub mod routes {
    /// `POST`: open a session (identity exchange).
    pub const SESSION: &str = "/v1/session";
    /// `POST`: a visitor session kept in the proxy's `HttpOnly` visitor cookie (the
    /// frame's own origin only); `DELETE`: forget that cookie.
    pub const SESSION_COOKIE: &str = "/v1/session/cookie";
    /// `POST`: create (or re-open idempotently) a ticket.
    pub const TICKETS: &str = "/v1/tickets";
    /// `GET`: recalled history across the customer's tickets.
    pub const HISTORY: &str = "/v1/history";
    /// `GET`: remembered profile facts.
    pub const PROFILE: &str = "/v1/profile";
    /// `DELETE`: forget this customer.
    pub const ME: &str = "/v1/me";
    /// `GET`: liveness.
    pub const HEALTHZ: &str = "/healthz";
    /// `GET`: readiness (EverOS reachable).
    pub const READYZ: &str = "/readyz";
    /// `GET`: Prometheus metrics.
    pub const METRICS: &str = "/metrics";
    /// `GET`: the signed-in customer's live events (SSE, resumable with `Last-Event-ID`).
    pub const EVENTS: &str = "/v1/events";
    /// `POST`: an agent signs in (JWT with `role: "agent"`, or the agent API key).
    pub const AGENT_SESSION: &str = "/v1/agent/session";
    /// `GET`: the agents' queue.
    pub const AGENT_QUEUE: &str = "/v1/agent/queue";
    /// `GET`: live events for agents (SSE, resumable with `Last-Event-ID`).
    pub const AGENT_EVENTS: &str = "/v1/agent/events";

    /// `GET`: one ticket's transcript, for its customer.
    pub fn transcript(ticket_id: &str) -> String {
        format!("/v1/tickets/{ticket_id}/transcript")
    }
    /// `GET`: one ticket for an agent, by its session id.
    pub fn agent_ticket(session_id: &str) -> String {
        format!("/v1/agent/tickets/{session_id}")
    }
    /// `POST`: claim a ticket (`409 conflict` when another agent holds it).
    pub fn agent_claim(session_id: &str) -> String {
        format!("/v1/agent/tickets/{session_id}/claim")
    }
    /// `POST`: an agent's reply.
    pub fn agent_reply(session_id: &str) -> String {
        format!("/v1/agent/tickets/{session_id}/messages")
    }
    /// `POST`: an agent closes a ticket.
    pub fn agent_close(session_id: &str) -> String {
        format!("/v1/agent/tickets/{session_id}/close")
    }
    /// `POST`: an agent is typing (the customer's stream shows it).
    pub fn agent_typing(session_id: &str) -> String {
        format!("/v1/agent/tickets/{session_id}/typing")
    }

    /// `POST`: send a customer message to a ticket.
    pub fn messages(ticket_id: &str) -> String {
        format!("/v1/tickets/{ticket_id}/messages")
    }
    /// `POST`: close a ticket (EverOS flush).
    pub fn close(ticket_id: &str) -> String {
        format!("/v1/tickets/{ticket_id}/close")
    }
    /// `POST`: escalate a ticket to a human.
    pub fn escalate(ticket_id: &str) -> String {
        format!("/v1/tickets/{ticket_id}/escalate")
    }
}

/// Server-sent event names for `Accept: text/event-stream` on the messages route.
pub mod sse {
    /// The context object, sent first.
    pub const CONTEXT: &str = "context";
    /// A piece of the reply: [`crate::StreamDelta`].
    pub const DELTA: &str = "delta";
    /// The full [`crate::SendMessageResponse`].
    pub const DONE: &str = "done";
    /// An [`crate::ErrorBody`].
    pub const ERROR: &str = "error";
}

/// Limits the proxy enforces and the widget mirrors in its UI.
pub mod limits {
    /// Maximum message length in characters, after trimming.
    pub const MAX_MESSAGE_CHARS: usize = 4000;
    /// Maximum ticket id length; ids match `[A-Za-z0-9_-]{1,64}`.
    pub const MAX_TICKET_ID_LEN: usize = 64;

    /// Whether `id` is an acceptable client-chosen ticket id.
    pub fn is_valid_ticket_id(id: &str) -> bool {
        !id.is_empty()
            && id.len() <= MAX_TICKET_ID_LEN
            && id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    }
}

#[cfg(test)]
mod tests {
    use super::limits::*;

    #[test]
    fn ticket_ids_follow_the_spec_pattern() {
        assert!(is_valid_ticket_id("abc-DEF_123"));
        assert!(is_valid_ticket_id(&"a".repeat(64)));
        assert!(!is_valid_ticket_id(&"a".repeat(65)));
        assert!(!is_valid_ticket_id(""));
        assert!(!is_valid_ticket_id("a/b"));
        assert!(!is_valid_ticket_id("ümlaut"));
        assert!(!is_valid_ticket_id("a b"));
    }

    #[test]
    fn routes_embed_ticket_id() {
        assert_eq!(super::routes::messages("t1"), "/v1/tickets/t1/messages");
        assert_eq!(super::routes::close("t1"), "/v1/tickets/t1/close");
        assert_eq!(super::routes::escalate("t1"), "/v1/tickets/t1/escalate");
    }
}
