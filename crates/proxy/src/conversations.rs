//! Conversations on the server: where each ticket stands for the support team (the
//! customer as vouched, escalated when, the hand-off built then, claimed by whom, the
//! latest activity) and its transcript, in the database (`conversations` and
//! `transcript_messages`), so a restart, a customer's other device and every replica
//! read the same. Keyed by the ticket's EverOS session id, which is unique across
//! customers. The ticket itself (subject, status, feedback) stays in [`crate::tickets`].
//! Bounded: at most [`MAX_MESSAGES`] messages per ticket; conversations leave with their
//! ticket (the TTL sweep, the cap on tickets, forget-me). Listings never read whole
//! transcripts: only the newest customer message (the preview) and the latest time.

use everdesk_api::{Agent, Customer, Handoff, TranscriptMessage};

use crate::{
    params,
    store::{Row, Store, StoreError},
};

/// Most transcript messages kept per ticket (the oldest leave first).
pub const MAX_MESSAGES: usize = 2_000;

/// What the team side knows of one ticket.
#[derive(Debug, Clone, PartialEq)]
pub struct Conversation {
    /// Who the customer is, as their identity vouches.
    pub customer: Customer,
    /// The customer's ticket id.
    pub ticket_id: String,
    /// When the customer asked for a person.
    pub escalated_at: Option<i64>,
    /// The hand-off built then (not read for listings).
    pub handoff: Option<Handoff>,
    /// The agent who claimed it.
    pub claimed_by: Option<Agent>,
    /// The newest message's time (0 with none).
    pub last_message_at: i64,
    /// The newest customer message's text, if any.
    pub preview: Option<String>,
}

/// Why a claim was refused.
#[derive(Debug, thiserror::Error)]
pub enum ClaimError {
    /// No such ticket.
    #[error("no such ticket")]
    NotFound,
    /// Another agent holds it.
    #[error("claimed by {}", .0.name)]
    Taken(Agent),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The columns every read selects, then `FROM conversations c` and the rest; the
/// hand-off only when `$handoff` is `c.handoff` (listings pass `NULL`).
macro_rules! select {
    ($handoff:literal, $rest:literal) => {
        concat!(
            "SELECT c.session_id, c.customer_json, c.ticket, c.escalated_at, ",
            $handoff,
            ", c.claimed_by_id, c.claimed_by_name, c.last_message_at,
               (SELECT m.body FROM transcript_messages m
                WHERE m.customer = c.customer AND m.ticket = c.ticket
                  AND m.author_kind = 'customer'
                ORDER BY m.seq DESC LIMIT 1)
             FROM conversations c ",
            $rest
        )
    };
}

const GET: &str = select!("c.handoff", "WHERE c.session_id = $1");
/// Escalated first (longest waiting first), then open by latest activity; not closed.
const QUEUE: &str = select!(
    "NULL",
    "JOIN tickets t ON t.customer = c.customer AND t.ticket = c.ticket
     WHERE t.status <> 'closed'
     ORDER BY CASE WHEN c.escalated_at IS NULL THEN 1 ELSE 0 END, c.escalated_at,
              c.last_message_at DESC, c.session_id
     LIMIT $1"
);
const OF_CUSTOMER: &str = select!("NULL", "WHERE c.customer = $1");

/// Every conversation, in the database.
#[derive(Debug, Clone)]
pub struct Conversations {
    store: Store,
}

impl Conversations {
    /// Conversations kept in `store`.
    pub fn new(store: Store) -> Self {
        Self { store }
    }

    /// Starts (or keeps) the conversation of a ticket.
    pub async fn open(
        &self,
        session_id: &str,
        customer: &Customer,
        ticket_id: &str,
    ) -> Result<(), StoreError> {
        let json = serde_json::to_string(customer).map_err(|e| StoreError::Decode(e.to_string()))?;
        self.store
            .exec(
                "INSERT INTO conversations (session_id, customer, customer_json, ticket, updated_ms)
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (session_id) DO NOTHING",
                params![
                    session_id,
                    &customer.id,
                    json,
                    ticket_id,
                    crate::clock::now_ms()
                ],
            )
            .await?;
        Ok(())
    }

    /// Appends a message unless one with its id is there (or the conversation is
    /// unknown); `true` when added.
    pub async fn append(
        &self,
        session_id: &str,
        c: &Conversation,
        message: &TranscriptMessage,
    ) -> Result<bool, StoreError> {
        self.append_to(session_id, &c.customer.id, &c.ticket_id, message)
            .await
    }

    /// As [`Conversations::append`], naming the customer and ticket.
    pub async fn append_to(
        &self,
        session_id: &str,
        customer_id: &str,
        ticket_id: &str,
        message: &TranscriptMessage,
    ) -> Result<bool, StoreError> {
        let keep = i64::try_from(MAX_MESSAGES).unwrap_or(i64::MAX);
        self.store
            .append_message(session_id, customer_id, ticket_id, message, keep)
            .await
    }

    /// The message with this id, if the ticket's transcript has it.
    pub async fn message(
        &self,
        c: &Conversation,
        id: &str,
    ) -> Result<Option<TranscriptMessage>, StoreError> {
        self.store.message(&c.customer.id, &c.ticket_id, id).await
    }

    /// The whole transcript (at most [`MAX_MESSAGES`]), oldest first.
    pub async fn transcript(&self, c: &Conversation) -> Result<Vec<TranscriptMessage>, StoreError> {
        self.store.transcript(&c.customer.id, &c.ticket_id).await
    }

    /// Records an escalation (the first time is kept) and its hand-off (the latest).
    pub async fn escalate(
        &self,
        session_id: &str,
        handoff: &Handoff,
        at: i64,
    ) -> Result<(), StoreError> {
        let json = serde_json::to_string(handoff).map_err(|e| StoreError::Decode(e.to_string()))?;
        self.store
            .exec(
                "UPDATE conversations SET escalated_at = COALESCE(escalated_at, $2), handoff = $3
                 WHERE session_id = $1",
                params![session_id, at, json],
            )
            .await?;
        Ok(())
    }

    /// Claims a ticket for `agent`: free or already theirs → the conversation. One
    /// conditional UPDATE, so two agents (on any replicas) never both hold it.
    pub async fn claim(&self, session_id: &str, agent: &Agent) -> Result<Conversation, ClaimError> {
        let n = self
            .store
            .exec(
                "UPDATE conversations SET claimed_by_id = $2, claimed_by_name = $3
                 WHERE session_id = $1 AND (claimed_by_id IS NULL OR claimed_by_id = $2)",
                params![session_id, &agent.id, &agent.name],
            )
            .await?;
        let c = self.get(session_id).await?.ok_or(ClaimError::NotFound)?;
        if n > 0 {
            return Ok(c);
        }
        Err(c.claimed_by.map_or(ClaimError::NotFound, ClaimError::Taken))
    }

    /// One conversation.
    pub async fn get(&self, session_id: &str) -> Result<Option<Conversation>, StoreError> {
        let row = self.store.query_one(GET, params![session_id]).await?;
        row.map(|r| decode(r).map(|(_, c)| c)).transpose()
    }

    /// The conversations agents work on, with their session ids, as the queue orders
    /// them: escalated first (longest waiting first), then open ones (latest activity
    /// first); closed tickets are not listed. At most `limit`.
    pub async fn queue(&self, limit: usize) -> Result<Vec<(String, Conversation)>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = self.store.query(QUEUE, params![limit]).await?;
        rows.into_iter().map(decode).collect()
    }

    /// A customer's conversations, with their session ids.
    pub async fn of_customer(
        &self,
        customer_id: &str,
    ) -> Result<Vec<(String, Conversation)>, StoreError> {
        let rows = self.store.query(OF_CUSTOMER, params![customer_id]).await?;
        rows.into_iter().map(decode).collect()
    }
}

fn decode(row: Row) -> Result<(String, Conversation), StoreError> {
    let bad = || StoreError::Decode("conversation row".into());
    let mut it = row.into_iter();
    let mut next = || it.next().ok_or_else(bad);
    let session_id = next()?.into_text().ok_or_else(bad)?;
    let customer: Customer = serde_json::from_str(next()?.text().ok_or_else(bad)?)
        .map_err(|e| StoreError::Decode(e.to_string()))?;
    let ticket_id = next()?.into_text().ok_or_else(bad)?;
    let escalated_at = next()?.int();
    let handoff = match next()?.into_text() {
        Some(json) => {
            Some(serde_json::from_str(&json).map_err(|e| StoreError::Decode(e.to_string()))?)
        }
        None => None,
    };
    let claimed_id = next()?.into_text();
    let claimed_name = next()?.into_text();
    let claimed_by = claimed_id.map(|id| Agent {
        id,
        name: claimed_name.unwrap_or_default(),
    });
    let last_message_at = next()?.int().unwrap_or(0);
    let preview = next()?.into_text();
    Ok((
        session_id,
        Conversation {
            customer,
            ticket_id,
            escalated_at,
            handoff,
            claimed_by,
            last_message_at,
            preview,
        },
    ))
}
