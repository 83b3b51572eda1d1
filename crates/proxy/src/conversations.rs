//! Conversations on the server: each ticket's transcript (customer, assistant and agent
//! messages) and where it stands for the support team (escalated when, claimed by whom,
//! the hand-off built then), keyed by the ticket's EverOS session id, which is unique
//! across customers. The ticket itself (subject, status, feedback) stays in
//! [`crate::tickets`]; this adds what agents and a customer's other devices read.
//! Bounded: at most [`MAX_MESSAGES`] messages per ticket and [`MAX_CONVERSATIONS`]
//! conversations are kept.

use std::{
    collections::{HashMap, HashSet},
    sync::Mutex,
};

use everdesk_api::{Agent, Customer, Handoff, TranscriptMessage};

/// Most transcript messages kept per ticket (the oldest leave first).
pub const MAX_MESSAGES: usize = 2_000;
/// Most conversations kept; beyond it the least recently active hundredth leaves.
pub const MAX_CONVERSATIONS: usize = 100_000;

/// What the team side knows of one ticket.
#[derive(Debug, Clone, PartialEq)]
pub struct Conversation {
    /// Who the customer is, as their identity vouches.
    pub customer: Customer,
    /// The customer's ticket id.
    pub ticket_id: String,
    /// Oldest first.
    pub transcript: Vec<TranscriptMessage>,
    /// When the customer asked for a person.
    pub escalated_at: Option<i64>,
    /// The hand-off built then.
    pub handoff: Option<Handoff>,
    /// The agent who claimed it.
    pub claimed_by: Option<Agent>,
}

impl Conversation {
    /// The newest message's time (0 with none).
    pub fn last_message_at(&self) -> i64 {
        self.transcript.last().map_or(0, |m| m.created_at)
    }

    /// A copy for listings, whose transcript keeps only what a list shows (the newest
    /// customer message and the newest message): a queue or ticket list must not copy
    /// every transcript in full.
    fn listed(&self) -> Self {
        let newest = self.transcript.last();
        let customer = self
            .transcript
            .iter()
            .rev()
            .find(|m| m.author == everdesk_api::Author::Customer);
        let mut transcript: Vec<TranscriptMessage> = customer.into_iter().cloned().collect();
        if let Some(m) = newest.filter(|m| customer.is_none_or(|c| c.id != m.id)) {
            transcript.push(m.clone());
        }
        Self {
            customer: self.customer.clone(),
            ticket_id: self.ticket_id.clone(),
            transcript,
            escalated_at: self.escalated_at,
            handoff: None,
            claimed_by: self.claimed_by.clone(),
        }
    }
}

/// Why a claim was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClaimError {
    /// No such ticket.
    NotFound,
    /// Another agent holds it.
    Taken(Agent),
}

#[derive(Debug, Default)]
struct Inner {
    by_session: HashMap<String, Conversation>,
    by_customer: HashMap<String, HashSet<String>>,
}

impl Inner {
    /// Drops the `n` conversations whose latest message is oldest (a linear pass, once
    /// per hundredth of the cap).
    fn evict_idlest(&mut self, n: usize) {
        let mut by_age: Vec<(i64, String)> = self
            .by_session
            .iter()
            .map(|(k, c)| (c.last_message_at(), k.clone()))
            .collect();
        by_age.sort_unstable();
        for (_, session) in by_age.into_iter().take(n) {
            if let Some(c) = self.by_session.remove(&session) {
                if let Some(set) = self.by_customer.get_mut(&c.customer.id) {
                    set.remove(&session);
                    if set.is_empty() {
                        self.by_customer.remove(&c.customer.id);
                    }
                }
            }
        }
    }
}

/// Every conversation, in memory.
#[derive(Debug, Default)]
pub struct Conversations {
    inner: Mutex<Inner>,
}

impl Conversations {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Starts (or keeps) the conversation of a ticket.
    pub fn open(&self, session_id: &str, customer: Customer, ticket_id: &str) {
        let mut inner = self.lock();
        if inner.by_session.len() >= MAX_CONVERSATIONS && !inner.by_session.contains_key(session_id)
        {
            inner.evict_idlest(MAX_CONVERSATIONS / 100 + 1);
        }
        inner
            .by_customer
            .entry(customer.id.clone())
            .or_default()
            .insert(session_id.to_owned());
        inner
            .by_session
            .entry(session_id.to_owned())
            .or_insert_with(|| Conversation {
                customer,
                ticket_id: ticket_id.to_owned(),
                transcript: Vec::new(),
                escalated_at: None,
                handoff: None,
                claimed_by: None,
            });
    }

    /// Appends a message unless one with its id is there; `true` when added.
    pub fn append(&self, session_id: &str, message: TranscriptMessage) -> bool {
        let mut inner = self.lock();
        let Some(c) = inner.by_session.get_mut(session_id) else {
            return false;
        };
        if c.transcript.iter().any(|m| m.id == message.id) {
            return false;
        }
        c.transcript.push(message);
        if c.transcript.len() > MAX_MESSAGES {
            let extra = c.transcript.len() - MAX_MESSAGES;
            c.transcript.drain(..extra);
        }
        true
    }

    /// The message with this id, if the transcript has it.
    pub fn message(&self, session_id: &str, id: &str) -> Option<TranscriptMessage> {
        let inner = self.lock();
        inner
            .by_session
            .get(session_id)?
            .transcript
            .iter()
            .find(|m| m.id == id)
            .cloned()
    }

    /// Records an escalation (the first time is kept) and its hand-off (the latest).
    pub fn escalate(&self, session_id: &str, handoff: Handoff, at: i64) {
        let mut inner = self.lock();
        if let Some(c) = inner.by_session.get_mut(session_id) {
            c.escalated_at.get_or_insert(at);
            c.handoff = Some(handoff);
        }
    }

    /// Claims a ticket for `agent`: free or already theirs → the conversation.
    pub fn claim(&self, session_id: &str, agent: &Agent) -> Result<Conversation, ClaimError> {
        let mut inner = self.lock();
        let c = inner
            .by_session
            .get_mut(session_id)
            .ok_or(ClaimError::NotFound)?;
        match &c.claimed_by {
            Some(holder) if holder.id != agent.id => Err(ClaimError::Taken(holder.clone())),
            _ => {
                c.claimed_by = Some(agent.clone());
                Ok(c.clone())
            }
        }
    }

    /// One conversation.
    pub fn get(&self, session_id: &str) -> Option<Conversation> {
        self.lock().by_session.get(session_id).cloned()
    }

    /// Every conversation, with its session id, as listings need it (see
    /// [`Conversation::listed`]).
    pub fn all(&self) -> Vec<(String, Conversation)> {
        let inner = self.lock();
        inner
            .by_session
            .iter()
            .map(|(k, v)| (k.clone(), v.listed()))
            .collect()
    }

    /// A customer's conversations, with their session ids, as listings need them (see
    /// [`Conversation::listed`]).
    pub fn of_customer(&self, customer_id: &str) -> Vec<(String, Conversation)> {
        let inner = self.lock();
        let Some(sessions) = inner.by_customer.get(customer_id) else {
            return Vec::new();
        };
        sessions
            .iter()
            .filter_map(|s| inner.by_session.get(s).map(|c| (s.clone(), c.listed())))
            .collect()
    }

    /// Forgets a customer's conversations (O(their tickets)).
    pub fn forget_customer(&self, customer_id: &str) {
        let mut inner = self.lock();
        if let Some(sessions) = inner.by_customer.remove(customer_id) {
            for s in sessions {
                inner.by_session.remove(&s);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use everdesk_api::{Author, CustomerKind};

    use super::*;

    fn msg(id: &str, at: i64) -> TranscriptMessage {
        TranscriptMessage {
            id: id.into(),
            author: Author::Customer,
            name: None,
            content: "hi".into(),
            created_at: at,
        }
    }

    fn customer(id: &str) -> Customer {
        Customer {
            kind: CustomerKind::Verified,
            id: id.into(),
            name: None,
        }
    }

    #[test]
    fn messages_are_kept_once_in_order_and_bounded() {
        let c = Conversations::default();
        c.open("s1", customer("a"), "T-1");
        assert!(c.append("s1", msg("m1", 1)));
        assert!(!c.append("s1", msg("m1", 1)), "same id twice");
        assert!(!c.append("unknown", msg("m2", 2)));
        for i in 0..MAX_MESSAGES + 5 {
            c.append("s1", msg(&format!("x{i}"), i as i64 + 2));
        }
        let t = c.get("s1").unwrap().transcript;
        assert_eq!(t.len(), MAX_MESSAGES);
        // Listings carry only the newest customer message and the newest message.
        let listed = &c.all()[0].1;
        assert_eq!(
            listed.transcript.len(),
            1,
            "the newest message is the customer's"
        );
        assert_eq!(listed.last_message_at(), t[t.len() - 1].created_at);
        assert!(t.windows(2).all(|w| w[0].created_at < w[1].created_at));
    }

    #[test]
    fn one_agent_holds_a_claim() {
        let c = Conversations::default();
        c.open("s1", customer("a"), "T-1");
        let ann = Agent {
            id: "ann".into(),
            name: "Ann".into(),
        };
        let bob = Agent {
            id: "bob".into(),
            name: "Bob".into(),
        };
        assert!(c.claim("s1", &ann).is_ok());
        assert!(c.claim("s1", &ann).is_ok(), "again by the holder");
        assert_eq!(c.claim("s1", &bob), Err(ClaimError::Taken(ann)));
        assert_eq!(c.claim("nope", &bob), Err(ClaimError::NotFound));
    }

    #[test]
    fn forgetting_a_customer_removes_only_theirs() {
        let c = Conversations::default();
        c.open("s1", customer("a"), "T-1");
        c.open("s2", customer("b"), "T-1");
        c.forget_customer("a");
        assert!(c.get("s1").is_none());
        assert!(c.get("s2").is_some());
        assert_eq!(c.of_customer("b").len(), 1);
    }
}
