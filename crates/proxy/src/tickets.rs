//! Server-side ticket state per customer, in the database: subject, creation time,
//! status, the opening message and the latest exchanges of the ticket (for idempotent
//! create, harmless double close, and the hand-off's attempted solutions), and the
//! customer's closing feedback (rating and comment) for agents to read. Bounded: at
//! most [`MAX_TICKETS_PER_CUSTOMER`] tickets per customer (closed, then oldest, go
//! first) and [`MAX_EXCHANGES`] exchanges per ticket (oldest go first); over all
//! customers, tickets untouched for the TTL leave and the oldest closed ones leave first
//! beyond the global cap (`tickets/expiry.rs`).

mod claim;
mod expiry;

pub use claim::Claim;
pub use expiry::Limits;

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use everdesk_api::{Message, Ticket, TicketStatus};
use serde::{Deserialize, Serialize};

use crate::{
    params,
    store::{Statement, Store, StoreError, Val},
};

/// Most customer messages (and replies) kept per ticket: enough for the hand-off's
/// "what was tried"; EverOS keeps the whole conversation.
pub const MAX_EXCHANGES: usize = 50;
/// Most tickets kept per customer; beyond it the oldest (closed first) are dropped.
pub const MAX_TICKETS_PER_CUSTOMER: usize = 500;

/// What the proxy remembers about one ticket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketRecord {
    /// The ticket as reported to clients.
    pub ticket: Ticket,
    /// The opening assistant message.
    pub opening: Message,
    /// The latest customer messages, in order (as stored, after store redaction).
    pub customer_messages: Vec<String>,
    /// The latest assistant replies, in order.
    pub replies: Vec<String>,
    /// What the customer said when closing (absent in records from before it was kept).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub feedback: Option<Feedback>,
}

/// The close form's answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Feedback {
    /// Satisfaction, 1..=5.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rating: Option<u8>,
    /// Free text (after store redaction when it is on).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// When it was given, epoch ms.
    pub at: i64,
}

type Key = (String, String);

/// All tickets of all customers, keyed by (customer id, ticket id).
#[derive(Debug)]
pub struct TicketStore {
    store: Store,
    create_locks: Mutex<HashMap<Key, Arc<tokio::sync::Mutex<()>>>>,
    /// The TTL and the global cap, and when this process last swept.
    expiry: expiry::Expiry,
}

fn status_name(s: TicketStatus) -> &'static str {
    match s {
        TicketStatus::Open => "open",
        TicketStatus::Closed => "closed",
    }
}

fn json<T: Serialize>(v: &T) -> Result<String, StoreError> {
    serde_json::to_string(v).map_err(|e| StoreError::Decode(e.to_string()))
}

const INSERT_EXCHANGE: &str = "INSERT INTO ticket_exchanges (customer, ticket, message, reply)
    SELECT $1, $2, $3, $4 WHERE EXISTS
      (SELECT 1 FROM tickets WHERE customer = $1 AND ticket = $2)";
/// Keeps the newest [`MAX_EXCHANGES`] (`$3`) exchanges of a ticket.
const TRIM_EXCHANGES: &str = "DELETE FROM ticket_exchanges WHERE customer = $1 AND ticket = $2
    AND seq <= (SELECT seq FROM ticket_exchanges WHERE customer = $1 AND ticket = $2
                ORDER BY seq DESC LIMIT 1 OFFSET $3)";
/// Drops a customer's oldest tickets, closed ones first, beyond [`MAX_TICKETS_PER_CUSTOMER`].
const CAP_EXCHANGES: &str = "DELETE FROM ticket_exchanges WHERE customer = $1 AND ticket IN
    (SELECT ticket FROM tickets WHERE customer = $1
     ORDER BY CASE WHEN status = 'open' THEN 1 ELSE 0 END, created_at, ticket
     LIMIT (SELECT CASE WHEN COUNT(*) > $2 THEN COUNT(*) - $2 ELSE 0 END
            FROM tickets WHERE customer = $1))";
const CAP_TICKETS: &str = "DELETE FROM tickets WHERE customer = $1 AND ticket IN
    (SELECT ticket FROM tickets WHERE customer = $1
     ORDER BY CASE WHEN status = 'open' THEN 1 ELSE 0 END, created_at, ticket
     LIMIT (SELECT CASE WHEN COUNT(*) > $2 THEN COUNT(*) - $2 ELSE 0 END
            FROM tickets WHERE customer = $1))";

impl TicketStore {
    /// The tickets kept in `store`.
    pub fn new(store: Store) -> Self {
        Self {
            store,
            create_locks: Mutex::default(),
            expiry: expiry::Expiry::new(Limits::default()),
        }
    }

    /// The same store with this TTL and global cap.
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.expiry = expiry::Expiry::new(limits);
        self
    }

    /// A lock serialising creation of one ticket in this process (so concurrent creates
    /// add once).
    pub fn create_lock(&self, customer: &str, ticket: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut locks = self.create_locks.lock().unwrap_or_else(|e| e.into_inner());
        locks.retain(|_, l| Arc::strong_count(l) > 1);
        locks
            .entry((customer.to_owned(), ticket.to_owned()))
            .or_default()
            .clone()
    }

    /// The record of a ticket.
    pub async fn get(
        &self,
        customer: &str,
        ticket: &str,
    ) -> Result<Option<TicketRecord>, StoreError> {
        self.read(customer, ticket, true)
            .await
            .map(|r| r.map(|(record, _)| record))
    }

    /// The record of a ticket without its exchanges (`customer_messages` and `replies`
    /// empty), and how many exchanges it holds: one statement, for the message path.
    pub async fn head(
        &self,
        customer: &str,
        ticket: &str,
    ) -> Result<Option<(TicketRecord, usize)>, StoreError> {
        self.read(customer, ticket, false).await
    }

    async fn read(
        &self,
        customer: &str,
        ticket: &str,
        exchanges: bool,
    ) -> Result<Option<(TicketRecord, usize)>, StoreError> {
        let Some(row) = self
            .store
            .query_one(
                "SELECT session_id, subject, status, created_at, opening, feedback,
                   (SELECT COUNT(*) FROM ticket_exchanges e
                    WHERE e.customer = $1 AND e.ticket = $2)
                 FROM tickets WHERE customer = $1 AND ticket = $2",
                params![customer, ticket],
            )
            .await?
        else {
            return Ok(None);
        };
        let bad = |what: &str| StoreError::Decode(format!("ticket {what}"));
        let mut it = row.into_iter();
        let mut next = || it.next().unwrap_or(Val::Null);
        let session_id = next().into_text().ok_or_else(|| bad("session"))?;
        let subject = next().into_text().ok_or_else(|| bad("subject"))?;
        let status = match next().text() {
            Some("closed") => TicketStatus::Closed,
            _ => TicketStatus::Open,
        };
        let created_at = next().int().ok_or_else(|| bad("created_at"))?;
        let opening: Message = next()
            .text()
            .and_then(|t| serde_json::from_str(t).ok())
            .ok_or_else(|| bad("opening"))?;
        let feedback: Option<Feedback> = next().text().and_then(|t| serde_json::from_str(t).ok());
        let count = usize::try_from(next().int().unwrap_or(0)).unwrap_or(0);
        let exchanges = if exchanges {
            self.store
                .query(
                    "SELECT message, reply FROM ticket_exchanges
                     WHERE customer = $1 AND ticket = $2 ORDER BY seq",
                    params![customer, ticket],
                )
                .await?
        } else {
            Vec::new()
        };
        let (customer_messages, replies) = exchanges
            .into_iter()
            .map(|r| {
                let mut it = r.into_iter().map(|v| v.into_text().unwrap_or_default());
                (it.next().unwrap_or_default(), it.next().unwrap_or_default())
            })
            .unzip();
        Ok(Some((
            TicketRecord {
                ticket: Ticket {
                    id: ticket.to_owned(),
                    session_id,
                    subject,
                    status,
                    created_at,
                },
                opening,
                customer_messages,
                replies,
                feedback,
            },
            count,
        )))
    }

    /// Stores a ticket (replacing one with its id), with the exchanges it holds.
    pub async fn insert(&self, customer: &str, record: TicketRecord) -> Result<(), StoreError> {
        self.store
            .batch(Self::insert_statements(customer, &record)?)
            .await
    }

    /// The statements of [`TicketStore::insert`], to run in a caller's transaction.
    fn insert_statements(
        customer: &str,
        record: &TicketRecord,
    ) -> Result<Vec<Statement>, StoreError> {
        let t = &record.ticket;
        let feedback = record.feedback.as_ref().map(json).transpose()?;
        let mut statements: Vec<Statement> = vec![
            (
                "DELETE FROM ticket_exchanges WHERE customer = $1 AND ticket = $2",
                params![customer, &t.id],
            ),
            (
                "INSERT INTO tickets
                   (customer, ticket, session_id, subject, status, created_at, opening, feedback,
                    touched_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
                 ON CONFLICT (customer, ticket) DO UPDATE SET
                   session_id = excluded.session_id, subject = excluded.subject,
                   status = excluded.status, created_at = excluded.created_at,
                   opening = excluded.opening, feedback = excluded.feedback,
                   touched_at = excluded.touched_at",
                params![
                    customer,
                    &t.id,
                    &t.session_id,
                    &t.subject,
                    status_name(t.status),
                    t.created_at,
                    json(&record.opening)?,
                    feedback,
                    crate::clock::now_ms().max(t.created_at)
                ],
            ),
        ];
        let skip = record.customer_messages.len().saturating_sub(MAX_EXCHANGES);
        for (m, r) in record
            .customer_messages
            .iter()
            .zip(&record.replies)
            .skip(skip)
        {
            statements.push((INSERT_EXCHANGE, params![customer, &t.id, m, r]));
        }
        let cap = i64::try_from(MAX_TICKETS_PER_CUSTOMER).unwrap_or(i64::MAX);
        statements.push((CAP_EXCHANGES, params![customer, cap]));
        statements.push((CAP_TICKETS, params![customer, cap]));
        Ok(statements)
    }

    /// Appends one exchange (customer message and reply) to a ticket.
    pub async fn record_exchange(
        &self,
        customer: &str,
        ticket: &str,
        message: &str,
        reply: &str,
    ) -> Result<(), StoreError> {
        self.store
            .batch(Self::exchange_statements(customer, ticket, message, reply))
            .await
    }

    /// The statements of [`TicketStore::record_exchange`], to run in a caller's
    /// transaction.
    pub fn exchange_statements(
        customer: &str,
        ticket: &str,
        message: &str,
        reply: &str,
    ) -> Vec<Statement> {
        let keep = i64::try_from(MAX_EXCHANGES).unwrap_or(i64::MAX);
        let now = crate::clock::now_ms();
        vec![
            (INSERT_EXCHANGE, params![customer, ticket, message, reply]),
            (TRIM_EXCHANGES, params![customer, ticket, keep]),
            // At most once a minute per ticket (TTLs are hours): a message in a busy
            // conversation then dirties no ticket page and none of its two indexes.
            (
                "UPDATE tickets SET touched_at = $3
                 WHERE customer = $1 AND ticket = $2 AND touched_at < $4",
                params![customer, ticket, now, now - 60_000],
            ),
        ]
    }

    /// Marks a ticket closed, keeping `feedback` when given (a later close's feedback
    /// replaces an earlier one); returns whether it was open.
    pub async fn close(
        &self,
        customer: &str,
        ticket: &str,
        feedback: Option<Feedback>,
    ) -> Result<bool, StoreError> {
        let feedback = feedback.as_ref().map(json).transpose()?;
        let closed = self
            .store
            .exec(
                "UPDATE tickets SET status = 'closed', feedback = COALESCE($3, feedback),
                   touched_at = $4
                 WHERE customer = $1 AND ticket = $2 AND status = 'open'",
                params![customer, ticket, feedback.clone(), crate::clock::now_ms()],
            )
            .await?;
        if closed == 0 && feedback.is_some() {
            self.store
                .exec(
                    "UPDATE tickets SET feedback = $3 WHERE customer = $1 AND ticket = $2",
                    params![customer, ticket, feedback],
                )
                .await?;
        }
        Ok(closed == 1)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::store::testing::stores;
    use everdesk_api::Role;

    /// An open ticket `id` with no exchanges.
    pub(crate) fn record(id: &str) -> TicketRecord {
        TicketRecord {
            ticket: Ticket {
                id: id.into(),
                session_id: format!("ticket_{id}"),
                subject: "s".into(),
                status: TicketStatus::Open,
                created_at: 1,
            },
            opening: Message {
                id: "o".into(),
                role: Role::Assistant,
                content: "Ticket opened: s".into(),
                created_at: 1,
            },
            customer_messages: vec![],
            replies: vec![],
            feedback: None,
        }
    }

    #[tokio::test]
    async fn tickets_are_per_customer_close_once_and_keep_feedback() {
        for store in stores("tickets").await {
            let s = TicketStore::new(store.clone());
            s.insert("a", record("1")).await.unwrap();
            assert!(s.get("b", "1").await.unwrap().is_none());
            s.record_exchange("a", "1", "hi", "hello").await.unwrap();
            s.record_exchange("b", "1", "no ticket", "x").await.unwrap();
            let got = s.get("a", "1").await.unwrap().unwrap();
            assert_eq!(
                (got.customer_messages, got.replies),
                (vec!["hi".to_owned()], vec!["hello".to_owned()])
            );
            assert_eq!(got.opening, record("1").opening);
            let said = Feedback {
                rating: Some(4),
                comment: Some("quick, thanks".into()),
                at: 5,
            };
            assert!(s.close("a", "1", None).await.unwrap());
            assert!(!s.close("a", "1", Some(said.clone())).await.unwrap());
            let got = s.get("a", "1").await.unwrap().unwrap();
            assert_eq!(
                (got.ticket.status, got.feedback),
                (TicketStatus::Closed, Some(said.clone()))
            );
            assert!(!s.close("a", "1", None).await.unwrap());
            assert_eq!(s.get("a", "1").await.unwrap().unwrap().feedback, Some(said));
            // Another TicketStore on the same database (a restart, another replica).
            let other = TicketStore::new(store.clone());
            assert_eq!(
                other.get("a", "1").await.unwrap().unwrap().replies,
                ["hello"]
            );
            store.forget_customer("a", 9).await.unwrap();
            assert!(s.get("a", "1").await.unwrap().is_none());
        }
    }

    #[tokio::test]
    async fn tickets_and_exchanges_are_bounded() {
        for store in stores("tickets_bounds").await {
            let s = TicketStore::new(store);
            s.insert("a", record("t")).await.unwrap();
            for i in 0..MAX_EXCHANGES + 5 {
                s.record_exchange("a", "t", &format!("m{i}"), "r")
                    .await
                    .unwrap();
            }
            let r = s.get("a", "t").await.unwrap().unwrap();
            assert_eq!(r.customer_messages.len(), MAX_EXCHANGES);
            assert_eq!(r.customer_messages[0], "m5", "the oldest go first");
            for i in 0..=MAX_TICKETS_PER_CUSTOMER {
                let mut rec = record(&format!("x{i}"));
                rec.ticket.created_at = 10 + i as i64;
                if i == 1 {
                    rec.ticket.status = TicketStatus::Closed;
                }
                s.insert("a", rec).await.unwrap();
            }
            assert!(
                s.get("a", "x1").await.unwrap().is_none(),
                "the closed one went first"
            );
            assert!(s.get("a", "t").await.unwrap().is_none(), "then the oldest");
            assert!(s.get("a", "x0").await.unwrap().is_some());
            assert!(s.get("b", "x0").await.unwrap().is_none());
        }
    }
}
