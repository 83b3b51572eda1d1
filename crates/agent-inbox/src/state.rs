//! The inbox's pure rules: queue order, how a live event changes the queue and the
//! open ticket, labels for badges and authors, the typing throttle. No browser here,
//! so every rule has a native test.

use everdesk_api::{
    Agent, Author, Customer, CustomerKind, LiveEvent, LiveEventKind, QueueItem, QueueState,
    TicketStatus, TranscriptMessage,
};

/// What the caller must do after applying an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Follow {
    /// Nothing: the local copy is up to date.
    Done,
    /// The event names something not held locally: fetch it again.
    Refetch,
}

/// Sorts like the proxy: escalated first (oldest escalation first), then open (latest
/// activity first); closed tickets are dropped.
pub fn sort_queue(queue: &mut Vec<QueueItem>) {
    queue.retain(|i| i.state != QueueState::Closed);
    queue.sort_by(|a, b| match (a.state, b.state) {
        (QueueState::Escalated, QueueState::Escalated) => a
            .escalated_at
            .unwrap_or(a.last_message_at)
            .cmp(&b.escalated_at.unwrap_or(b.last_message_at)),
        (QueueState::Escalated, _) => std::cmp::Ordering::Less,
        (_, QueueState::Escalated) => std::cmp::Ordering::Greater,
        _ => b.last_message_at.cmp(&a.last_message_at),
    });
}

/// A customer message shortened for the queue.
pub fn preview(text: &str) -> String {
    const MAX: usize = 120;
    let text = text.trim();
    match text.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{}…", text[..cut].trim_end()),
        None => text.to_owned(),
    }
}

/// Applies a live event to the queue.
pub fn apply_to_queue(queue: &mut Vec<QueueItem>, event: &LiveEvent) -> Follow {
    let found = queue
        .iter_mut()
        .find(|i| i.ticket.session_id == event.session_id);
    let follow = match (&event.kind, found) {
        (LiveEventKind::Typing { .. }, _) => return Follow::Done,
        (LiveEventKind::Escalated, _) => Follow::Refetch,
        (LiveEventKind::Closed, _) => {
            queue.retain(|i| i.ticket.session_id != event.session_id);
            Follow::Done
        }
        (_, None) => Follow::Refetch,
        (LiveEventKind::Message { message }, Some(item)) => {
            item.last_message_at = item.last_message_at.max(message.created_at);
            if message.author == Author::Customer {
                item.preview = Some(preview(&message.content));
            }
            Follow::Done
        }
        (LiveEventKind::Claimed { agent }, Some(item)) => {
            item.claimed_by = Some(agent.clone());
            Follow::Done
        }
    };
    sort_queue(queue);
    follow
}

/// Applies a live event to the open ticket (`item` and its transcript); events of other
/// tickets are ignored.
pub fn apply_to_ticket(
    item: &mut QueueItem,
    transcript: &mut Vec<TranscriptMessage>,
    event: &LiveEvent,
) -> Follow {
    if item.ticket.session_id != event.session_id {
        return Follow::Done;
    }
    match &event.kind {
        LiveEventKind::Message { message } => {
            add_message(transcript, message.clone());
            item.last_message_at = item.last_message_at.max(message.created_at);
            Follow::Done
        }
        LiveEventKind::Claimed { agent } => {
            item.claimed_by = Some(agent.clone());
            Follow::Done
        }
        LiveEventKind::Closed => {
            item.state = QueueState::Closed;
            item.ticket.status = TicketStatus::Closed;
            Follow::Done
        }
        // The hand-off is built when the customer escalates: fetch it.
        LiveEventKind::Escalated => Follow::Refetch,
        LiveEventKind::Typing { .. } => Follow::Done,
    }
}

/// Adds a message once (the stream repeats the agent's own replies), keeping time order.
pub fn add_message(transcript: &mut Vec<TranscriptMessage>, message: TranscriptMessage) {
    if transcript.iter().any(|m| m.id == message.id) {
        return;
    }
    let at = transcript
        .iter()
        .rposition(|m| m.created_at <= message.created_at)
        .map_or(0, |i| i + 1);
    transcript.insert(at, message);
}

/// Whether `me` holds the ticket.
pub fn claimed_by_me(item: &QueueItem, me: &Agent) -> bool {
    item.claimed_by.as_ref().is_some_and(|a| a.id == me.id)
}

/// The queue badge's text.
pub fn state_label(state: QueueState) -> &'static str {
    match state {
        QueueState::Escalated => "Escalated",
        QueueState::Open => "Open",
        QueueState::Closed => "Closed",
    }
}

/// Who holds a ticket, as the queue says it.
pub fn claim_label(claimed_by: Option<&Agent>, me: Option<&Agent>) -> String {
    match (claimed_by, me) {
        (None, _) => "Unclaimed".to_owned(),
        (Some(a), Some(me)) if a.id == me.id => "Claimed by you".to_owned(),
        (Some(a), _) => format!("Claimed by {}", a.name),
    }
}

/// The customer as the identity vouches: name (or id) and verified or visitor.
pub fn customer_label(customer: &Customer) -> String {
    let kind = match customer.kind {
        CustomerKind::Verified => "verified",
        CustomerKind::Visitor => "visitor",
    };
    match &customer.name {
        Some(name) => format!("{name} ({kind})"),
        None => format!("{} ({kind})", customer.id),
    }
}

/// A transcript author's label: the kind and, when known, the name.
pub fn author_label(message: &TranscriptMessage) -> String {
    let kind = match message.author {
        Author::Customer => "Customer",
        Author::Bot => "Assistant",
        Author::Agent => "Agent",
    };
    match &message.name {
        Some(name) if !name.trim().is_empty() => format!("{kind} · {name}"),
        _ => kind.to_owned(),
    }
}

/// Sends "typing" at most once per interval.
#[derive(Debug, Clone)]
pub struct Throttle {
    interval_ms: f64,
    last: Option<f64>,
}

impl Throttle {
    /// A throttle letting one call through per `interval_ms`.
    pub fn new(interval_ms: f64) -> Self {
        Self {
            interval_ms,
            last: None,
        }
    }

    /// Whether a call at `now_ms` may go out (and if so, remembers it).
    pub fn ready(&mut self, now_ms: f64) -> bool {
        match self.last {
            Some(last) if now_ms - last < self.interval_ms => false,
            _ => {
                self.last = Some(now_ms);
                true
            }
        }
    }

    /// Forgets the last call (after a reply is sent, the next keystroke counts again).
    pub fn reset(&mut self) {
        self.last = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use everdesk_api::Ticket;

    fn item(sid: &str, state: QueueState, last: i64, escalated_at: Option<i64>) -> QueueItem {
        QueueItem {
            ticket: Ticket {
                id: sid.to_owned(),
                session_id: sid.to_owned(),
                subject: format!("subject {sid}"),
                status: TicketStatus::Open,
                created_at: 0,
            },
            customer: Customer {
                kind: CustomerKind::Visitor,
                id: "v1".into(),
                name: None,
            },
            state,
            escalated_at,
            claimed_by: None,
            last_message_at: last,
            preview: None,
        }
    }

    fn msg(id: &str, author: Author, at: i64) -> TranscriptMessage {
        TranscriptMessage {
            id: id.into(),
            author,
            name: None,
            content: format!("text {id}"),
            created_at: at,
        }
    }

    fn event(sid: &str, kind: LiveEventKind) -> LiveEvent {
        LiveEvent {
            seq: 1,
            ticket_id: sid.into(),
            session_id: sid.into(),
            kind,
        }
    }

    fn ids(q: &[QueueItem]) -> Vec<&str> {
        q.iter().map(|i| i.ticket.session_id.as_str()).collect()
    }

    #[test]
    fn escalated_come_first_oldest_escalation_first_then_latest_activity() {
        let mut q = vec![
            item("open-old", QueueState::Open, 10, None),
            item("esc-late", QueueState::Escalated, 5, Some(300)),
            item("closed", QueueState::Closed, 99, None),
            item("open-new", QueueState::Open, 50, None),
            item("esc-early", QueueState::Escalated, 90, Some(100)),
        ];
        sort_queue(&mut q);
        assert_eq!(ids(&q), ["esc-early", "esc-late", "open-new", "open-old"]);
    }

    #[test]
    fn a_customer_message_moves_its_ticket_up_and_updates_the_preview() {
        let mut q = vec![
            item("a", QueueState::Open, 20, None),
            item("b", QueueState::Open, 10, None),
        ];
        let ev = event(
            "b",
            LiveEventKind::Message {
                message: msg("m1", Author::Customer, 30),
            },
        );
        assert_eq!(apply_to_queue(&mut q, &ev), Follow::Done);
        assert_eq!(ids(&q), ["b", "a"]);
        assert_eq!(q[0].preview.as_deref(), Some("text m1"));
        // An agent's message moves it but keeps the customer's preview.
        let ev = event(
            "a",
            LiveEventKind::Message {
                message: msg("m2", Author::Agent, 40),
            },
        );
        apply_to_queue(&mut q, &ev);
        assert_eq!(ids(&q), ["a", "b"]);
        assert_eq!(q[0].preview, None);
    }

    #[test]
    fn claims_closes_and_unknown_tickets() {
        let mut q = vec![item("a", QueueState::Escalated, 1, Some(1))];
        let sam = Agent {
            id: "sam".into(),
            name: "Sam".into(),
        };
        let claimed = event("a", LiveEventKind::Claimed { agent: sam.clone() });
        assert_eq!(apply_to_queue(&mut q, &claimed), Follow::Done);
        assert_eq!(q[0].claimed_by.as_ref(), Some(&sam));
        let unknown = event(
            "zz",
            LiveEventKind::Message {
                message: msg("m", Author::Customer, 2),
            },
        );
        assert_eq!(apply_to_queue(&mut q, &unknown), Follow::Refetch);
        assert_eq!(
            apply_to_queue(&mut q, &event("zz", LiveEventKind::Escalated)),
            Follow::Refetch
        );
        assert_eq!(
            apply_to_queue(&mut q, &event("a", LiveEventKind::Closed)),
            Follow::Done
        );
        assert!(q.is_empty());
    }

    #[test]
    fn the_open_ticket_takes_each_message_once_in_time_order() {
        let mut it = item("a", QueueState::Escalated, 1, Some(1));
        let mut t = vec![msg("m1", Author::Customer, 10), msg("m3", Author::Bot, 30)];
        let ev = |m: TranscriptMessage| event("a", LiveEventKind::Message { message: m });
        apply_to_ticket(&mut it, &mut t, &ev(msg("m2", Author::Agent, 20)));
        apply_to_ticket(&mut it, &mut t, &ev(msg("m2", Author::Agent, 20)));
        apply_to_ticket(&mut it, &mut t, &ev(msg("m4", Author::Customer, 40)));
        let order: Vec<&str> = t.iter().map(|m| m.id.as_str()).collect();
        assert_eq!(order, ["m1", "m2", "m3", "m4"]);
        assert_eq!(it.last_message_at, 40);
        // Another ticket's event changes nothing.
        let other = event("b", LiveEventKind::Closed);
        apply_to_ticket(&mut it, &mut t, &other);
        assert_eq!(it.state, QueueState::Escalated);
        apply_to_ticket(&mut it, &mut t, &event("a", LiveEventKind::Closed));
        assert_eq!(it.state, QueueState::Closed);
        assert_eq!(it.ticket.status, TicketStatus::Closed);
    }

    #[test]
    fn labels_name_the_customer_as_vouched_and_the_claimer() {
        let dana = Customer {
            kind: CustomerKind::Verified,
            id: "demo-dana".into(),
            name: Some("Dana".into()),
        };
        assert_eq!(customer_label(&dana), "Dana (verified)");
        let visitor = Customer {
            kind: CustomerKind::Visitor,
            id: "v_123".into(),
            name: None,
        };
        assert_eq!(customer_label(&visitor), "v_123 (visitor)");
        let sam = Agent {
            id: "sam".into(),
            name: "Sam".into(),
        };
        let kim = Agent {
            id: "kim".into(),
            name: "Kim".into(),
        };
        assert_eq!(claim_label(None, Some(&sam)), "Unclaimed");
        assert_eq!(claim_label(Some(&sam), Some(&sam)), "Claimed by you");
        assert_eq!(claim_label(Some(&kim), Some(&sam)), "Claimed by Kim");
        let mut m = msg("m", Author::Agent, 1);
        m.name = Some("Sam".into());
        assert_eq!(author_label(&m), "Agent · Sam");
        assert_eq!(author_label(&msg("b", Author::Bot, 1)), "Assistant");
    }

    #[test]
    fn previews_are_shortened_on_a_character_boundary() {
        assert_eq!(preview("  short "), "short");
        let long = "é".repeat(200);
        let p = preview(&long);
        assert_eq!(p.chars().count(), 121);
        assert!(p.ends_with('…'));
    }

    #[test]
    fn typing_goes_out_once_per_interval() {
        let mut t = Throttle::new(3000.0);
        assert!(t.ready(1000.0));
        assert!(!t.ready(2000.0));
        assert!(!t.ready(3999.0));
        assert!(t.ready(4000.0));
        t.reset();
        assert!(t.ready(4001.0));
    }
}
