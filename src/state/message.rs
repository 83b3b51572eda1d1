//! A chat message as the widget keeps it: the wire fields plus its delivery status.

use everdesk_api::{Message, Role};
use serde::{Deserialize, Serialize};

/// Where a customer message is on its way to the proxy.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case", try_from = "RawDelivery")]
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

/// [`Delivery`] as stored, read as a plain struct: the same JSON as the tagged enum,
/// without serde's buffering of internally tagged enums (smaller wasm).
#[derive(Deserialize)]
struct RawDelivery {
    /// `sending`, `sent` or `failed`.
    state: String,
    /// Only for `failed`, where it is required.
    reason: Option<String>,
}

impl TryFrom<RawDelivery> for Delivery {
    type Error = String;

    fn try_from(raw: RawDelivery) -> Result<Self, Self::Error> {
        match (raw.state.as_str(), raw.reason) {
            ("sending", _) => Ok(Self::Sending),
            ("sent", _) => Ok(Self::Sent),
            ("failed", Some(reason)) => Ok(Self::Failed { reason }),
            ("failed", None) => Err("missing field `reason`".to_owned()),
            (other, _) => Err(format!("unknown delivery state `{other}`")),
        }
    }
}

/// One message of a conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
}

impl ChatMessage {
    /// A customer message that was just typed and not yet confirmed.
    pub fn pending(id: String, content: String, created_at: i64) -> Self {
        Self {
            id,
            role: Role::User,
            content,
            created_at,
            delivery: Delivery::Sending,
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
        }
    }

    /// Whether this came from support rather than the customer.
    pub fn is_incoming(&self) -> bool {
        self.role == Role::Assistant
    }
}
