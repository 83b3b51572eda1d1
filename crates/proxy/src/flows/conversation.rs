//! Keeps the server-side conversation in step with the customer flows: the opening
//! message, each exchange, the escalation and the close go into the ticket's transcript
//! and out as live events to the customer's other devices and to agents.

use everdesk_api::{
    Author, Customer, Handoff, LiveEventKind, Message, Role, Ticket, TranscriptMessage,
};

use crate::{identity::SessionCustomer, AppState};

/// The customer as their identity vouches (a name only when the host signed it).
pub fn vouched(who: &SessionCustomer) -> Customer {
    Customer {
        kind: who.kind,
        id: who.id.clone(),
        name: who.name.clone().filter(|_| who.name_vouched),
    }
}

fn transcript_message(m: &Message, who: &SessionCustomer) -> TranscriptMessage {
    match m.role {
        Role::User => TranscriptMessage {
            id: m.id.clone(),
            author: Author::Customer,
            name: who.name.clone(),
            content: m.content.clone(),
            created_at: m.created_at,
        },
        Role::Assistant => TranscriptMessage {
            id: m.id.clone(),
            author: Author::Bot,
            name: None,
            content: m.content.clone(),
            created_at: m.created_at,
        },
    }
}

/// Appends `messages` to the ticket's transcript (starting it if this proxy has none)
/// and publishes the new ones.
pub fn record(state: &AppState, who: &SessionCustomer, ticket: &Ticket, messages: &[Message]) {
    let c = &state.svc.conversations;
    c.open(&ticket.session_id, vouched(who), &ticket.id);
    for m in messages {
        let message = transcript_message(m, who);
        if c.append(&ticket.session_id, message.clone()) {
            state.svc.live.publish(
                &who.id,
                &ticket.id,
                &ticket.session_id,
                LiveEventKind::Message { message },
            );
        }
    }
}

/// Records an escalation and tells agents.
pub fn escalated(state: &AppState, who: &SessionCustomer, ticket: &Ticket, handoff: &Handoff) {
    let c = &state.svc.conversations;
    c.open(&ticket.session_id, vouched(who), &ticket.id);
    c.escalate(&ticket.session_id, handoff.clone(), handoff.created_at);
    state.svc.live.publish(
        &who.id,
        &ticket.id,
        &ticket.session_id,
        LiveEventKind::Escalated,
    );
}

/// Tells the customer's devices and agents that the ticket closed.
pub fn closed(state: &AppState, customer_id: &str, ticket: &Ticket) {
    state.svc.live.publish(
        customer_id,
        &ticket.id,
        &ticket.session_id,
        LiveEventKind::Closed,
    );
}
