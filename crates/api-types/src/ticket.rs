//! Tickets, messages, replies, close and escalation bodies.

use serde::{Deserialize, Serialize};

use crate::memory::{HistoryEpisode, ProfileFact};
use crate::session::Customer;
use crate::{json_str_enum, json_struct};

/// Who wrote a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// The customer.
    User,
    /// The support assistant (bot or, later, a human agent).
    Assistant,
}

/// Ticket lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TicketStatus {
    /// Accepting messages.
    Open,
    /// Read-only; its memory was extracted.
    Closed,
}

/// A ticket as the proxy reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ticket {
    /// Client-chosen id, `[A-Za-z0-9_-]{1,64}`.
    pub id: String,
    /// EverOS session, `ticket_<ticket id>_<32 hex of a SHA-256 of the customer id>`: bound
    /// to one customer, so two customers who choose one ticket id never share it.
    pub session_id: String,
    /// Subject line.
    pub subject: String,
    /// Status.
    pub status: TicketStatus,
    /// Creation time, epoch ms.
    pub created_at: i64,
}

/// A stored message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    /// Message id (client-chosen for customer messages).
    pub id: String,
    /// Author.
    pub role: Role,
    /// Plain text (rendered safely by the widget; never HTML).
    pub content: String,
    /// Time, epoch ms.
    pub created_at: i64,
}

/// `POST /v1/tickets` request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateTicketRequest {
    /// Client-chosen id.
    pub ticket_id: String,
    /// Subject line.
    pub subject: String,
}

/// `POST /v1/tickets` response (`201` new, `200` existing).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateTicketResponse {
    /// The ticket.
    pub ticket: Ticket,
    /// The opening assistant message.
    pub messages: Vec<Message>,
}

/// `POST /v1/tickets/{id}/messages` request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SendMessageRequest {
    /// Client message id (UUID); the idempotency key.
    pub id: String,
    /// Text, 1..=4000 characters after trimming.
    pub content: String,
    /// When the customer typed it, epoch ms.
    pub sent_at: i64,
}

/// Memory the proxy gathered for a reply.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Context {
    /// Profile facts (from EverOS `data.profiles`).
    pub profile: Vec<ProfileFact>,
    /// Relevant past episodes (from EverOS `data.episodes`).
    pub history: Vec<HistoryEpisode>,
}

/// `POST /v1/tickets/{id}/messages` response, and the SSE `done` event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SendMessageResponse {
    /// The stored customer message.
    pub message: Message,
    /// The assistant's reply; absent only when a person handles the ticket
    /// (`handled_by`): then no bot reply is generated and the agent answers live.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply: Option<Message>,
    /// What was recalled (empty when `handled_by` is set).
    pub context: Context,
    /// The agent who holds the ticket, when the message went to a person instead of the
    /// assistant; absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub handled_by: Option<crate::Agent>,
}

/// SSE `delta` event payload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamDelta {
    /// A piece of the reply text.
    pub text: String,
}

/// `POST /v1/tickets/{id}/close` request.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CloseRequest {
    /// Satisfaction, 1..=5.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rating: Option<u8>,
    /// Free-text feedback.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

/// What the EverOS flush on close produced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MemoryOutcome {
    /// An episode was extracted.
    Extracted,
    /// Nothing was buffered (e.g. closed twice).
    NoExtraction,
}

/// `POST /v1/tickets/{id}/close` response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CloseResponse {
    /// Always `closed`.
    pub status: TicketStatus,
    /// The flush outcome.
    pub memory: MemoryOutcome,
}

/// `POST /v1/tickets/{id}/escalate` request.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EscalateRequest {
    /// Why the customer wants a person.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// The hand-off summary for a human agent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Handoff {
    /// The ticket.
    pub ticket_id: String,
    /// Who the customer is, as their identity vouches: the EverOS user id, verified or
    /// visitor, and a name only when the host signed it (a JWT's `name`); a name a page
    /// merely passed along is never here. Absent in hand-offs from before it was kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer: Option<Customer>,
    /// Who the customer is (from the profile).
    pub customer_summary: String,
    /// The problem in this ticket.
    pub issue_summary: String,
    /// What was tried in this ticket: steps the customer says they took, steps a reply
    /// suggested (never greetings or acknowledgements).
    pub attempted_solutions: Vec<String>,
    /// e.g. `frustrated`, `neutral`, `positive`.
    pub customer_sentiment: String,
    /// Relevant past episodes.
    pub relevant_history: Vec<HistoryEpisode>,
    /// A note for the agent.
    pub handoff_note: String,
    /// When built, epoch ms.
    pub created_at: i64,
    /// Whether the hand-off webhook accepted it.
    pub delivered: bool,
}

/// `POST /v1/tickets/{id}/escalate` response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EscalateResponse {
    /// The hand-off.
    pub handoff: Handoff,
}

// The widget's codec (see `crate::json`), member for member the serde shapes above.
json_str_enum!(Role { User = "user", Assistant = "assistant" });
json_str_enum!(TicketStatus { Open = "open", Closed = "closed" });
json_str_enum!(MemoryOutcome { Extracted = "extracted", NoExtraction = "no_extraction" });
json_struct!(Ticket {
    id,
    session_id,
    subject,
    status,
    created_at
});
json_struct!(Message {
    id,
    role,
    content,
    created_at
});
json_struct!(CreateTicketRequest { ticket_id, subject });
json_struct!(CreateTicketResponse { ticket, messages });
json_struct!(SendMessageRequest {
    id,
    content,
    sent_at
});
json_struct!(Context { profile, history });
json_struct!(SendMessageResponse {
    message,
    reply: opt,
    context,
    handled_by: opt
});
json_struct!(StreamDelta { text });
json_struct!(CloseRequest {
    rating: opt,
    comment: opt
});
json_struct!(CloseResponse { status, memory });
json_struct!(EscalateRequest { reason: opt });
json_struct!(Handoff {
    ticket_id,
    customer: opt,
    customer_summary,
    issue_summary,
    attempted_solutions,
    customer_sentiment,
    relevant_history,
    handoff_note,
    created_at,
    delivered,
});
json_struct!(EscalateResponse { handoff });

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn send_message_response_round_trips_with_spec_names() {
        let v = json!({
            "message": {"id": "m1", "role": "user", "content": "hi", "created_at": 1},
            "reply": {"id": "m2", "role": "assistant", "content": "hello", "created_at": 2},
            "context": {
                "profile": [{"text": "Name: Ada", "kind": "explicit_info"}],
                "history": [{"id": "e", "session_id": "ticket_0", "summary": "s", "score": 1.5}]
            }
        });
        let r: SendMessageResponse = serde_json::from_value(v.clone()).unwrap();
        assert_eq!(r.reply.as_ref().map(|m| m.role), Some(Role::Assistant));
        assert_eq!(r.handled_by, None);
        assert_eq!(r.context.history[0].score, Some(1.5));
        assert_eq!(serde_json::to_value(&r).unwrap(), v);
    }

    #[test]
    fn a_message_a_person_handles_has_no_reply_and_names_the_agent() {
        let v = json!({
            "message": {"id": "m1", "role": "user", "content": "hi", "created_at": 1},
            "context": {"profile": [], "history": []},
            "handled_by": {"id": "a1", "name": "Sam"}
        });
        let r: SendMessageResponse = serde_json::from_value(v.clone()).unwrap();
        assert_eq!(r.reply, None);
        assert_eq!(r.handled_by.as_ref().map(|a| a.name.as_str()), Some("Sam"));
        assert_eq!(serde_json::to_value(&r).unwrap(), v);
    }

    #[test]
    fn close_bodies_use_snake_case_enums() {
        let r = CloseResponse {
            status: TicketStatus::Closed,
            memory: MemoryOutcome::NoExtraction,
        };
        assert_eq!(
            serde_json::to_value(r).unwrap(),
            json!({"status": "closed", "memory": "no_extraction"})
        );
        let req: CloseRequest = serde_json::from_value(json!({})).unwrap();
        assert_eq!(req, CloseRequest::default());
    }

    #[test]
    fn unknown_role_is_rejected() {
        let bad = json!({"id": "m", "role": "system", "content": "x", "created_at": 1});
        assert!(serde_json::from_value::<Message>(bad).is_err());
    }
}
