//! A chat message as the widget keeps it: the wire fields plus its delivery status.

use everdesk_api::{
    json::{Fields, FromJson, Json, JsonError, ObjWriter, ToJson},
    json_struct,
};
use everdesk_api::{Author, Message, Role, TranscriptMessage};

/// Where a customer message is on its way to the proxy.
/// Stored as `{"state":"sending"}`, `{"state":"sent"}` or
/// `{"state":"failed","reason":"…"}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Delivery {
    /// In the outbox; being sent or waiting to be.
    Sending,
    /// Confirmed by the proxy.
    Sent,
    /// The last attempt failed; the customer can retry. It stays in the outbox.
    Failed {
        /// Why, in words for the customer.
        reason: String,
    },
}

impl FromJson for Delivery {
    fn from_json(value: &Json) -> Result<Self, JsonError> {
        let f = Fields::of(value)?;
        match f.req::<String>("state")?.as_str() {
            "sending" => Ok(Self::Sending),
            "sent" => Ok(Self::Sent),
            "failed" => Ok(Self::Failed {
                reason: f.req("reason")?,
            }),
            other => Err(JsonError(format!("unknown delivery state `{other}`"))),
        }
    }
}

impl ToJson for Delivery {
    fn write_json(&self, out: &mut String) {
        let mut w = ObjWriter::new(out);
        match self {
            Self::Sending => w.text("state", "sending"),
            Self::Sent => w.text("state", "sent"),
            Self::Failed { reason } => w.text("state", "failed").field("reason", reason),
        };
        w.end();
    }
}

/// One message of a conversation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatMessage {
    /// Client id for customer messages (the idempotency key), proxy id for replies.
    pub id: String,
    /// Author.
    pub role: Role,
    /// Plain text; rendered through the safe rich-text renderer only.
    pub content: String,
    /// Epoch ms, strictly increasing within a ticket for customer messages.
    pub created_at: i64,
    /// Delivery status; replies are always `Sent`.
    pub delivery: Delivery,
    /// The person who wrote a reply (an agent), shown on the bubble; `None` for the
    /// customer and the assistant.
    pub name: Option<String>,
}
json_struct!(ChatMessage {
    id,
    role,
    content,
    created_at,
    delivery,
    name: opt
});

impl ChatMessage {
    /// A customer message that was just typed and not yet confirmed.
    pub fn pending(id: String, content: String, created_at: i64) -> Self {
        Self {
            id,
            role: Role::User,
            content,
            created_at,
            delivery: Delivery::Sending,
            name: None,
        }
    }

    /// A message the proxy confirmed or wrote.
    pub fn confirmed(message: Message) -> Self {
        Self {
            id: message.id,
            role: message.role,
            content: message.content,
            created_at: message.created_at,
            delivery: Delivery::Sent,
            name: None,
        }
    }

    /// A message of the server's transcript (another device's, or an agent's).
    pub fn from_transcript(message: TranscriptMessage) -> Self {
        let agent = message.author == Author::Agent;
        Self {
            id: message.id,
            role: if message.author == Author::Customer {
                Role::User
            } else {
                Role::Assistant
            },
            content: message.content,
            created_at: message.created_at,
            delivery: Delivery::Sent,
            name: message.name.filter(|_| agent),
        }
    }

    /// Whether this came from support rather than the customer.
    pub fn is_incoming(&self) -> bool {
        self.role == Role::Assistant
    }
}
