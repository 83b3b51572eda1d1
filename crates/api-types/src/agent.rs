//! The agent side of the wire contract: agent sign-in, the queue of tickets across
//! customers, one ticket with its transcript and hand-off, claim, reply, close, and the
//! transcript messages customers and agents both read. Read and written with serde only
//! (the agent inbox is not size-bound like the customer widget).

use serde::{Deserialize, Serialize};

use crate::memory::{HistoryEpisode, ProfileFact};
use crate::session::Customer;
use crate::ticket::{Handoff, Ticket};

/// `POST /v1/agent/session`: an agent proves who they are.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum AgentSessionRequest {
    /// A person: an HS256 JWT the host's backend minted with the identity (or JWT)
    /// secret, with `role: "agent"`, `sub`, `name` and `exp`.
    Jwt {
        /// The compact JWT.
        jwt: String,
    },
    /// An integration (a helpdesk, a chat tool): the proxy's agent API key, and the name
    /// its replies are shown under.
    ApiKey {
        /// `--agent-api-key`.
        api_key: String,
        /// Shown to customers as the author of its replies.
        name: String,
    },
}

/// An agent as customers and other agents see them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Agent {
    /// Stable id: the JWT's `sub`, or `integration` for the API key.
    pub id: String,
    /// Display name.
    pub name: String,
}

/// `200` body of `POST /v1/agent/session`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentSessionResponse {
    /// Bearer token for the agent routes (never accepted on customer routes).
    pub token: String,
    /// Expiry, epoch ms.
    pub expires_at: i64,
    /// Who signed in.
    pub agent: Agent,
}

/// Who wrote a transcript message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Author {
    /// The customer.
    Customer,
    /// The automated assistant.
    Bot,
    /// A person answering for the host.
    Agent,
}

/// One message of a ticket's transcript.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TranscriptMessage {
    /// Message id (client-chosen for customer and agent messages).
    pub id: String,
    /// Who wrote it.
    pub author: Author,
    /// The author's display name (an agent's name; the customer's when known).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Text.
    pub content: String,
    /// Epoch ms.
    pub created_at: i64,
}

/// Where a ticket stands for the support team.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QueueState {
    /// The customer asked for a person.
    Escalated,
    /// Open, answered by the assistant so far.
    Open,
    /// Closed.
    Closed,
}

/// One ticket in the agents' queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueItem {
    /// The ticket (its `session_id` is the key of the agent routes: unique across customers).
    pub ticket: Ticket,
    /// Who the customer is, as their identity vouches.
    pub customer: Customer,
    /// Escalated, open or closed.
    pub state: QueueState,
    /// When the customer asked for a person, epoch ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub escalated_at: Option<i64>,
    /// The agent who claimed it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claimed_by: Option<Agent>,
    /// The latest message's time, epoch ms.
    pub last_message_at: i64,
    /// The latest customer message, shortened.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preview: Option<String>,
}

/// `GET /v1/agent/queue`: escalated tickets first (oldest escalation first), then open
/// ones (most recent activity first).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueResponse {
    /// The tickets.
    pub tickets: Vec<QueueItem>,
}

/// The customer's closing feedback, as agents see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeedbackView {
    /// 1..=5.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rating: Option<u8>,
    /// Free text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

/// `GET /v1/agent/tickets/{session_id}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgentTicketResponse {
    /// The queue entry.
    pub item: QueueItem,
    /// The hand-off built when the customer escalated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub handoff: Option<Handoff>,
    /// The conversation, oldest first.
    pub transcript: Vec<TranscriptMessage>,
    /// What EverOS remembers about the customer.
    pub profile: Vec<ProfileFact>,
    /// The customer's past tickets relevant to this one.
    pub history: Vec<HistoryEpisode>,
    /// The close form's answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub feedback: Option<FeedbackView>,
}

/// `POST /v1/agent/tickets/{session_id}/messages`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentReplyRequest {
    /// Client-chosen id (a UUID); a retry with the same id is answered once.
    pub id: String,
    /// Text, 1-4000 characters.
    pub content: String,
}

/// `200` body of an agent reply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentReplyResponse {
    /// The message as stored.
    pub message: TranscriptMessage,
}

/// `GET /v1/tickets` (customer): the signed-in customer's tickets, newest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TicketListResponse {
    /// The tickets, with where each stands.
    pub tickets: Vec<TicketSummary>,
}

/// One of the customer's tickets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TicketSummary {
    /// The ticket.
    pub ticket: Ticket,
    /// Escalated, open or closed.
    pub state: QueueState,
    /// The agent who joined, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<Agent>,
    /// The latest message's time, epoch ms.
    pub last_message_at: i64,
    /// The hand-off summary, once the customer asked for a person (so another device
    /// shows the same hand-off card); absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub handoff: Option<Handoff>,
}

/// `GET /v1/tickets/{ticket_id}/transcript?before=&limit=` (customer) and its agent twin:
/// one page of a transcript, oldest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TranscriptPage {
    /// The messages of this page, oldest first.
    pub messages: Vec<TranscriptMessage>,
    /// Pass as `before` for the previous page; absent on the first page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<i64>,
}

/// One live event (`GET /v1/events` for a customer, `GET /v1/agent/events` for agents),
/// sent as SSE with `id:` = `seq`; reconnecting with `Last-Event-ID` resumes after it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LiveEvent {
    /// Increasing per stream; the resume point.
    pub seq: i64,
    /// The ticket's customer-facing id.
    pub ticket_id: String,
    /// The ticket's session id (the agent routes' key).
    pub session_id: String,
    /// What happened.
    #[serde(flatten)]
    pub kind: LiveEventKind,
}

/// What a live event says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum LiveEventKind {
    /// A new transcript message.
    Message {
        /// The message.
        message: TranscriptMessage,
    },
    /// An agent claimed the ticket (a person has joined).
    Claimed {
        /// Who.
        agent: Agent,
    },
    /// The ticket was closed.
    Closed,
    /// The customer asked for a person.
    Escalated,
    /// Someone is typing.
    Typing {
        /// Who.
        author: Author,
    },
}

// The widget's codec (see `crate::json`) for what the customer widget reads: the
// customer routes' answers and the live events, member for member the serde shapes.
crate::json_str_enum!(Author {
    Customer = "customer",
    Bot = "bot",
    Agent = "agent"
});
crate::json_str_enum!(QueueState {
    Escalated = "escalated",
    Open = "open",
    Closed = "closed"
});
crate::json_struct!(Agent { id, name });
crate::json_struct!(TranscriptMessage {
    id,
    author,
    name: opt,
    content,
    created_at
});
crate::json_struct!(TicketSummary {
    ticket,
    state,
    agent: opt,
    last_message_at,
    handoff: opt
});
crate::json_struct!(TicketListResponse { tickets });
crate::json_struct!(TranscriptPage {
    messages,
    before: opt
});

impl crate::json::FromJson for LiveEvent {
    fn from_json(value: &crate::json::Json) -> Result<Self, crate::json::JsonError> {
        let f = crate::json::Fields::of(value)?;
        let kind = match f.req::<String>("type")?.as_str() {
            "message" => LiveEventKind::Message {
                message: f.req("message")?,
            },
            "claimed" => LiveEventKind::Claimed {
                agent: f.req("agent")?,
            },
            "closed" => LiveEventKind::Closed,
            "escalated" => LiveEventKind::Escalated,
            "typing" => LiveEventKind::Typing {
                author: f.req("author")?,
            },
            _ => return Err(crate::json::JsonError::expected("a live event type")),
        };
        Ok(Self {
            seq: f.req("seq")?,
            ticket_id: f.req("ticket_id")?,
            session_id: f.req("session_id")?,
            kind,
        })
    }
}

impl crate::json::ToJson for LiveEvent {
    fn write_json(&self, out: &mut String) {
        let mut w = crate::json::ObjWriter::new(out);
        w.field("seq", &self.seq)
            .field("ticket_id", &self.ticket_id)
            .field("session_id", &self.session_id);
        match &self.kind {
            LiveEventKind::Message { message } => {
                w.text("type", "message").field("message", message)
            }
            LiveEventKind::Claimed { agent } => w.text("type", "claimed").field("agent", agent),
            LiveEventKind::Closed => w.text("type", "closed"),
            LiveEventKind::Escalated => w.text("type", "escalated"),
            LiveEventKind::Typing { author } => w.text("type", "typing").field("author", author),
        };
        w.end();
    }
}
