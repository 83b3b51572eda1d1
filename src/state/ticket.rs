//! Tickets as the widget keeps them: the per-ticket record (messages, status,
//! hand-off, last-read, rating) and the list summary, with the rules for merging
//! confirmations, unread counts and ordering.

use everdesk_api::json_struct;
use everdesk_api::{Handoff, HistoryEpisode, Message, QueueState, TicketStatus};

use super::message::{ChatMessage, Delivery};
use super::sort::sort_by;

/// Everything stored for one ticket.
/// Members marked `default` may be absent in storage (older records).
#[derive(Debug, Clone, PartialEq)]
pub struct TicketRecord {
    /// Client-chosen ticket id.
    pub id: String,
    /// Subject line.
    pub subject: String,
    /// Open or closed.
    pub status: TicketStatus,
    /// Creation time, epoch ms.
    pub created_at: i64,
    /// Messages in time order.
    pub messages: Vec<ChatMessage>,
    /// The hand-off summary, once escalated.
    pub handoff: Option<Handoff>,
    /// Past tickets recalled for this one (from the latest reply's context).
    pub recalled: Vec<HistoryEpisode>,
    /// Time of the newest message the customer has seen, epoch ms.
    pub last_read_at: i64,
    /// Rating given on close, 1..=5.
    pub rating: Option<u8>,
    /// Whether the proxy knows this ticket yet (false while created offline).
    pub synced: bool,
    /// The name of the person who joined (claimed the ticket), if one did.
    pub agent: Option<String>,
}
json_struct!(TicketRecord {
    id,
    subject,
    status,
    created_at,
    messages: default,
    handoff: default,
    recalled: default,
    last_read_at: default,
    rating: default,
    synced: default,
    agent: opt,
});

impl TicketRecord {
    /// A new open ticket, not yet known to the proxy.
    pub fn new(id: String, subject: String, created_at: i64) -> Self {
        Self {
            id,
            subject,
            status: TicketStatus::Open,
            created_at,
            messages: Vec::new(),
            handoff: None,
            recalled: Vec::new(),
            last_read_at: created_at,
            rating: None,
            synced: false,
            agent: None,
        }
    }

    /// A ticket known only from the server's list (opened on another device); its
    /// messages are loaded when it is opened.
    pub fn from_server(summary: &everdesk_api::TicketSummary) -> Self {
        let t = &summary.ticket;
        let mut record = Self::new(t.id.clone(), t.subject.clone(), t.created_at);
        record.merge_server(summary);
        record.last_read_at = summary.last_message_at;
        record
    }

    /// Takes what the server's list says about this ticket: known there, closed,
    /// who joined.
    pub fn merge_server(&mut self, summary: &everdesk_api::TicketSummary) {
        self.synced = true;
        if summary.state == QueueState::Closed {
            self.status = TicketStatus::Closed;
        }
        if let Some(agent) = &summary.agent {
            self.agent = Some(agent.name.clone());
        }
        if self.handoff.is_none() {
            self.handoff.clone_from(&summary.handoff);
        }
    }

    /// Adds a message from the server (transcript page, live event) unless one with
    /// its id is here already (our own copy keeps its delivery state). True if added.
    pub fn add_from_server(&mut self, message: ChatMessage) -> bool {
        if self.messages.iter().any(|m| m.id == message.id) {
            return false;
        }
        self.messages.push(message);
        sort_by(&mut self.messages, |a, b| a.created_at < b.created_at);
        true
    }

    /// Whether a message with this id is here.
    pub fn has_message(&self, id: &str) -> bool {
        self.messages.iter().any(|m| m.id == id)
    }

    /// Whether the customer may still write.
    pub fn is_open(&self) -> bool {
        self.status == TicketStatus::Open
    }

    /// Adds messages the proxy confirmed (opening message, reply), skipping ids
    /// already present (a second tab or a retried request returns the same ones).
    pub fn add_confirmed(&mut self, messages: impl IntoIterator<Item = Message>) {
        for message in messages {
            match self.messages.iter_mut().find(|m| m.id == message.id) {
                Some(existing) => *existing = ChatMessage::confirmed(message),
                None => self.messages.push(ChatMessage::confirmed(message)),
            }
        }
        sort_by(&mut self.messages, |a, b| a.created_at < b.created_at);
    }

    /// Shows a just-typed message as sending.
    pub fn add_pending(&mut self, message: ChatMessage) {
        if !self.messages.iter().any(|m| m.id == message.id) {
            self.messages.push(message);
            sort_by(&mut self.messages, |a, b| a.created_at < b.created_at);
        }
    }

    /// Sets the delivery state of a customer message.
    pub fn set_delivery(&mut self, id: &str, delivery: Delivery) {
        if let Some(m) = self.messages.iter_mut().find(|m| m.id == id) {
            m.delivery = delivery;
        }
    }

    /// The proxy confirmed message `id`: keep our copy's time (the order the customer
    /// saw), mark it sent, and add the reply (none when a person handles the ticket).
    pub fn confirm(&mut self, id: &str, reply: Option<Message>) {
        self.set_delivery(id, Delivery::Sent);
        self.add_confirmed(reply);
    }

    /// Time of the newest message, or creation.
    pub fn updated_at(&self) -> i64 {
        self.messages
            .last()
            .map_or(self.created_at, |m| m.created_at.max(self.created_at))
    }

    /// Replies the customer has not seen yet.
    pub fn unread(&self) -> u32 {
        let n = self
            .messages
            .iter()
            .filter(|m| m.is_incoming() && m.created_at > self.last_read_at)
            .count();
        u32::try_from(n).unwrap_or(u32::MAX)
    }

    /// The customer has seen everything up to now.
    pub fn mark_read(&mut self) {
        self.last_read_at = self.updated_at();
    }

    /// Customer messages that are not confirmed yet.
    pub fn pending_count(&self) -> usize {
        self.messages
            .iter()
            .filter(|m| m.delivery != Delivery::Sent)
            .count()
    }

    /// The list entry for this ticket.
    pub fn summary(&self) -> TicketSummary {
        TicketSummary {
            id: self.id.clone(),
            subject: self.subject.clone(),
            status: self.status,
            created_at: self.created_at,
            updated_at: self.updated_at(),
            unread: self.unread(),
            preview: self
                .messages
                .last()
                .map(|m| m.content.chars().take(80).collect())
                .unwrap_or_default(),
        }
    }
}

/// A ticket as the list shows it.
/// Members marked `default` may be absent in storage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketSummary {
    /// Ticket id.
    pub id: String,
    /// Subject line.
    pub subject: String,
    /// Open or closed.
    pub status: TicketStatus,
    /// Creation time, epoch ms.
    pub created_at: i64,
    /// Time of the newest message, epoch ms.
    pub updated_at: i64,
    /// Unread replies.
    pub unread: u32,
    /// Start of the newest message.
    pub preview: String,
}
json_struct!(TicketSummary {
    id,
    subject,
    status,
    created_at,
    updated_at,
    unread: default,
    preview: default
});

/// Replaces (or adds) `summary` in `list` and keeps the list newest first.
pub fn upsert_summary(list: &mut Vec<TicketSummary>, summary: TicketSummary) {
    match list.iter_mut().find(|t| t.id == summary.id) {
        Some(existing) => *existing = summary,
        None => list.push(summary),
    }
    sort_newest_first(list);
}

/// Open tickets before closed ones; within each, newest activity first; ties by id.
pub fn sort_newest_first(list: &mut [TicketSummary]) {
    sort_by(list, |a, b| {
        let open = |t: &TicketSummary| t.status == TicketStatus::Open;
        open(b)
            .cmp(&open(a))
            .then(b.updated_at.cmp(&a.updated_at))
            .then(a.id.cmp(&b.id))
            .is_lt()
    });
}

/// Unread replies across all tickets (the launcher badge).
pub fn total_unread(list: &[TicketSummary]) -> u32 {
    list.iter().map(|t| t.unread).sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use everdesk_api::Role;

    fn reply(id: &str, at: i64) -> Message {
        Message {
            id: id.into(),
            role: Role::Assistant,
            content: format!("reply {id}"),
            created_at: at,
        }
    }

    #[test]
    fn confirm_marks_sent_and_adds_the_reply_once() {
        let mut t = TicketRecord::new("t".into(), "Help".into(), 10);
        t.add_pending(ChatMessage::pending("m1".into(), "hi".into(), 20));
        assert_eq!(t.pending_count(), 1);
        t.confirm("m1", Some(reply("r1", 21)));
        t.confirm("m1", Some(reply("r1", 21)));
        assert_eq!(t.pending_count(), 0);
        assert_eq!(t.messages.len(), 2);
        assert_eq!(t.messages[1].id, "r1");
        // Handled by a person: delivered, and no bot reply.
        t.add_pending(ChatMessage::pending("m2".into(), "still there?".into(), 30));
        t.confirm("m2", None);
        assert_eq!((t.pending_count(), t.messages.len()), (0, 3));
    }

    #[test]
    fn unread_counts_only_new_replies_and_mark_read_clears() {
        let mut t = TicketRecord::new("t".into(), "Help".into(), 10);
        t.add_confirmed([reply("open", 11)]);
        t.add_pending(ChatMessage::pending("m1".into(), "hi".into(), 20));
        t.confirm("m1", Some(reply("r1", 21)));
        assert_eq!(t.unread(), 2);
        t.mark_read();
        assert_eq!(t.unread(), 0);
        assert_eq!(t.summary().preview, "reply r1");
    }

    fn said(id: &str, author: everdesk_api::Author, at: i64) -> ChatMessage {
        ChatMessage::from_transcript(everdesk_api::TranscriptMessage {
            id: id.into(),
            author,
            name: Some("Sam".into()),
            content: format!("text {id}"),
            created_at: at,
        })
    }

    #[test]
    fn server_messages_merge_once_in_time_order_and_keep_our_copy() {
        use everdesk_api::Author;
        let mut t = TicketRecord::new("t".into(), "Help".into(), 10);
        t.add_pending(ChatMessage::pending("m1".into(), "hi".into(), 20));
        assert!(t.add_from_server(said("a1", Author::Agent, 30)));
        assert!(
            !t.add_from_server(said("a1", Author::Agent, 30)),
            "dedupe by id"
        );
        // The customer's own message, echoed by the stream: our copy (sending) stays.
        assert!(!t.add_from_server(said("m1", Author::Customer, 20)));
        assert!(t.add_from_server(said("b0", Author::Bot, 15)));
        let ids: Vec<_> = t.messages.iter().map(|m| m.id.as_str()).collect();
        assert_eq!(ids, ["b0", "m1", "a1"]);
        assert_eq!(t.messages[1].delivery, Delivery::Sending);
        assert_eq!(t.messages[2].name.as_deref(), Some("Sam"));
        assert_eq!(t.messages[0].name, None, "only agents are named");
        assert_eq!(t.unread(), 2, "agent and bot replies count as unread");
    }

    #[test]
    fn a_server_ticket_becomes_a_record_with_its_state_and_agent() {
        let summary = everdesk_api::TicketSummary {
            ticket: everdesk_api::Ticket {
                id: "t9".into(),
                session_id: "s".into(),
                subject: "Refund".into(),
                status: TicketStatus::Open,
                created_at: 5,
            },
            state: QueueState::Closed,
            agent: Some(everdesk_api::Agent {
                id: "a".into(),
                name: "Sam".into(),
            }),
            last_message_at: 50,
            handoff: everdesk_api::json::from_str(
                r#"{"ticket_id": "t9", "customer_summary": "Ada", "issue_summary": "Refund",
                    "attempted_solutions": [], "customer_sentiment": "neutral",
                    "relevant_history": [], "handoff_note": "", "created_at": 40,
                    "delivered": true}"#,
            )
            .ok(),
        };
        let r = TicketRecord::from_server(&summary);
        assert!(r.synced && !r.is_open());
        assert_eq!(r.agent.as_deref(), Some("Sam"));
        assert!(
            r.handoff.is_some() && r.handoff == summary.handoff,
            "the hand-off card follows"
        );
        assert_eq!(r.summary().unread, 0);
        let mut open = TicketRecord::new("t9".into(), "Refund".into(), 5);
        open.merge_server(&everdesk_api::TicketSummary {
            state: QueueState::Open,
            agent: None,
            ..summary
        });
        assert!(open.is_open() && open.synced && open.agent.is_none());
    }

    #[test]
    fn pending_messages_keep_typed_order() {
        let mut t = TicketRecord::new("t".into(), "Help".into(), 10);
        t.add_pending(ChatMessage::pending("b".into(), "second".into(), 30));
        t.add_pending(ChatMessage::pending("a".into(), "first".into(), 20));
        t.add_pending(ChatMessage::pending("a".into(), "dup".into(), 20));
        let ids: Vec<_> = t.messages.iter().map(|m| m.id.as_str()).collect();
        assert_eq!(ids, ["a", "b"]);
    }

    #[test]
    fn list_is_open_first_then_newest() {
        let mut list = Vec::new();
        let mut closed = TicketRecord::new("c".into(), "Old".into(), 500).summary();
        closed.status = TicketStatus::Closed;
        upsert_summary(&mut list, closed);
        upsert_summary(
            &mut list,
            TicketRecord::new("a".into(), "A".into(), 100).summary(),
        );
        upsert_summary(
            &mut list,
            TicketRecord::new("b".into(), "B".into(), 200).summary(),
        );
        let ids: Vec<_> = list.iter().map(|t| t.id.as_str()).collect();
        assert_eq!(ids, ["b", "a", "c"]);
        let mut again = TicketRecord::new("a".into(), "A".into(), 100);
        again.add_confirmed([reply("r", 900)]);
        upsert_summary(&mut list, again.summary());
        assert_eq!(list[0].id, "a");
        assert_eq!(list.len(), 3);
        assert_eq!(total_unread(&list), 1);
    }
}
