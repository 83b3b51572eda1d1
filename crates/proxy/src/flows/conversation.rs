//! Keeps the server-side conversation in step with the customer flows: the opening
//! message, each exchange, the escalation and the close go into the ticket's transcript
//! and out as live events to the customer's other devices and to agents.

use everdesk_api::{
    Author, Customer, Handoff, LiveEventKind, Message, Role, Ticket, TranscriptMessage,
};

use crate::{identity::SessionCustomer, store::StoreError, AppState};

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

/// Appends `messages` to the ticket's transcript (starting its conversation if there is
/// none) and publishes the new ones. The customer's exchange has happened either way: a
/// storage failure is logged, not the customer's error.
pub async fn record(
    state: &AppState,
    who: &SessionCustomer,
    ticket: &Ticket,
    messages: &[Message],
) {
    if let Err(e) = try_record(state, who, ticket, messages).await {
        tracing::warn!(error = %e, "transcript not recorded");
    }
}

async fn try_record(
    state: &AppState,
    who: &SessionCustomer,
    ticket: &Ticket,
    messages: &[Message],
) -> Result<(), StoreError> {
    let c = &state.svc.conversations;
    c.open(&ticket.session_id, &vouched(who), &ticket.id)
        .await?;
    for m in messages {
        let message = transcript_message(m, who);
        if c.append_to(&ticket.session_id, &who.id, &ticket.id, &message)
            .await?
        {
            state
                .svc
                .live
                .publish(
                    &who.id,
                    &ticket.id,
                    &ticket.session_id,
                    LiveEventKind::Message { message },
                )
                .await;
        }
    }
    Ok(())
}

/// Records an escalation and tells agents.
pub async fn escalated(
    state: &AppState,
    who: &SessionCustomer,
    ticket: &Ticket,
    handoff: &Handoff,
) -> Result<(), StoreError> {
    let c = &state.svc.conversations;
    c.open(&ticket.session_id, &vouched(who), &ticket.id)
        .await?;
    c.escalate(&ticket.session_id, handoff, handoff.created_at)
        .await?;
    state
        .svc
        .live
        .publish(
            &who.id,
            &ticket.id,
            &ticket.session_id,
            LiveEventKind::Escalated,
        )
        .await;
    Ok(())
}

/// Tells the customer's devices and agents that the ticket closed.
pub async fn closed(state: &AppState, customer_id: &str, ticket: &Ticket) {
    state
        .svc
        .live
        .publish(
            customer_id,
            &ticket.id,
            &ticket.session_id,
            LiveEventKind::Closed,
        )
        .await;
}
