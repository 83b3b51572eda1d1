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
        let json =
            serde_json::to_string(customer).map_err(|e| StoreError::Decode(e.to_string()))?;
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

    /// The agent holding the conversation `session_id`, if any: one indexed read.
    pub async fn holder(&self, session_id: &str) -> Result<Option<Agent>, StoreError> {
        let row = self
            .store
            .query_one(
                "SELECT claimed_by_id, claimed_by_name FROM conversations WHERE session_id = $1",
                params![session_id],
            )
            .await?;
        Ok(row.and_then(|r| {
            let mut it = r.into_iter().map(crate::store::Val::into_text);
            let id = it.next()??;
            Some(Agent {
                id,
                name: it.next().flatten().unwrap_or_default(),
            })
        }))
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

#[cfg(test)]
mod tests {
    use everdesk_api::{Author, CustomerKind};

    use super::*;
    use crate::{
        store::testing::stores,
        tickets::{tests::record, TicketStore},
    };

    fn msg(id: &str, author: Author, at: i64) -> TranscriptMessage {
        TranscriptMessage {
            id: id.into(),
            author,
            name: (author == Author::Agent).then(|| "Sam".to_owned()),
            content: format!("text {id}"),
            created_at: at,
        }
    }

    fn customer(id: &str) -> Customer {
        Customer {
            kind: CustomerKind::Verified,
            id: id.into(),
            name: Some("Ada".into()),
        }
    }

    fn agent(id: &str) -> Agent {
        Agent {
            id: id.into(),
            name: id.to_uppercase(),
        }
    }

    #[tokio::test]
    async fn messages_are_kept_once_in_order_bounded_and_paged() {
        for s in stores("conv_messages").await {
            let c = Conversations::new(s.clone());
            c.open("s1", &customer("a"), "T-1").await.unwrap();
            c.open("s1", &customer("a"), "T-1").await.unwrap();
            let m1 = msg("m1", Author::Customer, 1);
            assert!(c.append_to("s1", "a", "T-1", &m1).await.unwrap());
            assert!(!c.append_to("s1", "a", "T-1", &m1).await.unwrap(), "twice");
            assert!(
                !c.append_to("nope", "a", "T-9", &m1).await.unwrap(),
                "no conversation"
            );
            // The bound: the oldest leave first (a small bound, for speed).
            for i in 2..=6 {
                let author = if i % 2 == 0 {
                    Author::Bot
                } else {
                    Author::Agent
                };
                let m = msg(&format!("m{i}"), author, i);
                assert!(s.append_message("s1", "a", "T-1", &m, 4).await.unwrap());
            }
            let conv = c.get("s1").await.unwrap().unwrap();
            let all = c.transcript(&conv).await.unwrap();
            let ids: Vec<&str> = all.iter().map(|m| m.id.as_str()).collect();
            assert_eq!(ids, ["m3", "m4", "m5", "m6"]);
            assert_eq!(all[1].author, Author::Bot);
            assert_eq!(all[0].name.as_deref(), Some("Sam"));
            assert_eq!(conv.last_message_at, 6);
            assert_eq!(conv.customer, customer("a"));
            assert_eq!(c.message(&conv, "m5").await.unwrap(), Some(all[2].clone()));
            assert_eq!(c.message(&conv, "m1").await.unwrap(), None, "trimmed");
            // Pages: the newest first page, then what came before it.
            let (page, before) = s.transcript_page("a", "T-1", None, 3).await.unwrap();
            let ids: Vec<&str> = page.iter().map(|m| m.id.as_str()).collect();
            assert_eq!((ids, before), (vec!["m4", "m5", "m6"], Some(4)));
            let (page, before) = s.transcript_page("a", "T-1", Some(4), 3).await.unwrap();
            let ids: Vec<&str> = page.iter().map(|m| m.id.as_str()).collect();
            assert_eq!((ids, before), (vec!["m3"], None));
        }
    }

    #[tokio::test]
    async fn one_agent_holds_a_claim_even_when_many_try_at_once() {
        for s in stores("conv_claim").await {
            let c = Conversations::new(s);
            c.open("s1", &customer("a"), "T-1").await.unwrap();
            let ann = agent("ann");
            assert!(c.claim("s1", &ann).await.is_ok());
            let again = c.claim("s1", &ann).await.unwrap();
            assert_eq!(again.claimed_by, Some(ann.clone()), "again by the holder");
            match c.claim("s1", &agent("bob")).await {
                Err(ClaimError::Taken(holder)) => assert_eq!(holder, ann),
                other => panic!("{other:?}"),
            }
            assert!(matches!(
                c.claim("nope", &ann).await,
                Err(ClaimError::NotFound)
            ));
            // Many agents at once on a free ticket: exactly one wins.
            c.open("s2", &customer("a"), "T-2").await.unwrap();
            let tries = (0..8).map(|i| {
                let c = c.clone();
                tokio::spawn(async move { c.claim("s2", &agent(&format!("a{i}"))).await })
            });
            let results = futures::future::join_all(tries).await;
            let won = results.iter().filter(|r| matches!(r, Ok(Ok(_)))).count();
            let taken = results
                .iter()
                .filter(|r| matches!(r, Ok(Err(ClaimError::Taken(_)))))
                .count();
            assert_eq!((won, taken), (1, 7));
        }
    }

    #[tokio::test]
    async fn listings_order_the_queue_and_carry_only_a_preview() {
        for s in stores("conv_queue").await {
            let tickets = TicketStore::new(s.clone());
            let c = Conversations::new(s.clone());
            for (session, cust, ticket) in [
                ("s1", "a", "T-1"),
                ("s2", "a", "T-2"),
                ("s3", "b", "T-1"),
                ("s4", "b", "T-2"),
            ] {
                let mut r = record(ticket);
                r.ticket.session_id = session.into();
                tickets.insert(cust, r).await.unwrap();
                c.open(session, &customer(cust), ticket).await.unwrap();
            }
            c.append_to("s1", "a", "T-1", &msg("c1", Author::Customer, 10))
                .await
                .unwrap();
            c.append_to("s1", "a", "T-1", &msg("b1", Author::Bot, 11))
                .await
                .unwrap();
            c.append_to("s2", "a", "T-2", &msg("c2", Author::Customer, 20))
                .await
                .unwrap();
            let handoff = Handoff {
                ticket_id: "T-1".into(),
                customer: None,
                customer_summary: "s".into(),
                issue_summary: "x".into(),
                attempted_solutions: vec![],
                customer_sentiment: "neutral".into(),
                relevant_history: vec![],
                handoff_note: "n".into(),
                created_at: 5,
                delivered: false,
            };
            c.escalate("s3", &handoff, 7).await.unwrap();
            c.escalate("s3", &handoff, 9).await.unwrap();
            tickets.close("b", "T-2", None).await.unwrap();
            let queue = c.queue(10).await.unwrap();
            let order: Vec<&str> = queue.iter().map(|(s, _)| s.as_str()).collect();
            assert_eq!(order, ["s3", "s2", "s1"], "escalated, then latest activity");
            assert_eq!(queue[0].1.escalated_at, Some(7), "the first escalation");
            assert_eq!(queue[0].1.handoff, None, "not read for listings");
            assert_eq!(queue[2].1.preview.as_deref(), Some("text c1"));
            assert_eq!(queue[2].1.last_message_at, 11);
            assert_eq!(c.queue(1).await.unwrap().len(), 1);
            let got = c.get("s3").await.unwrap().unwrap();
            assert_eq!(got.handoff, Some(handoff));
            let mut mine: Vec<String> = c
                .of_customer("a")
                .await
                .unwrap()
                .into_iter()
                .map(|(s, _)| s)
                .collect();
            mine.sort();
            assert_eq!(mine, ["s1", "s2"]);
        }
    }

    #[tokio::test]
    async fn conversations_leave_with_their_ticket_and_the_customer() {
        for s in stores("conv_sweep").await {
            let tickets = TicketStore::new(s.clone());
            let c = Conversations::new(s.clone());
            for (session, cust) in [("s1", "a"), ("s2", "b"), ("s3", "b")] {
                let mut r = record(session);
                r.ticket.session_id = session.into();
                tickets.insert(cust, r).await.unwrap();
                c.open(session, &customer(cust), session).await.unwrap();
                c.append_to(session, cust, session, &msg("m", Author::Customer, 1))
                    .await
                    .unwrap();
            }
            s.forget_customer("a", 1).await.unwrap();
            assert!(c.get("s1").await.unwrap().is_none());
            assert!(s.transcript("a", "s1").await.unwrap().is_empty());
            assert!(c.get("s2").await.unwrap().is_some(), "others stay");
            tickets
                .sweep_expired(crate::clock::now_ms() + 1)
                .await
                .unwrap();
            assert!(
                c.get("s2").await.unwrap().is_none(),
                "swept with the ticket"
            );
            assert!(s.transcript("b", "s3").await.unwrap().is_empty());
        }
    }
}
