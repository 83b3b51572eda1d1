//! Keeps the server-side conversation in step with the customer flows: the opening
//! message, each exchange, the escalation and the close go into the ticket's transcript
//! and out as live events to the customer's other devices and to agents.

use everdesk_api::{
    Author, Customer, Handoff, LiveEventKind, Message, Role, Ticket, TranscriptMessage,
};

use crate::{
    identity::SessionCustomer,
    store::{Statement, StoreError, TranscriptWrite},
    AppState,
};

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
    if let Err(e) = try_record(state, who, ticket, messages, Vec::new()).await {
        tracing::warn!(error = %e, "transcript not recorded");
    }
}

/// Records a customer exchange with the ticket (`statements`, see
/// `TicketStore::exchange_statements`) and its transcript `messages` in one transaction,
/// then publishes the new ones. Unlike [`record`] a failure is the caller's: the
/// exchange is not kept either (the retry writes both; transcript messages are kept
/// once per id).
pub async fn record_exchange(
    state: &AppState,
    who: &SessionCustomer,
    ticket: &Ticket,
    messages: &[Message],
    statements: Vec<Statement>,
) -> Result<(), StoreError> {
    try_record(state, who, ticket, messages, statements).await
}

async fn try_record(
    state: &AppState,
    who: &SessionCustomer,
    ticket: &Ticket,
    messages: &[Message],
    before: Vec<Statement>,
) -> Result<(), StoreError> {
    let customer_json =
        serde_json::to_string(&vouched(who)).map_err(|e| StoreError::Decode(e.to_string()))?;
    let mut kinds = Vec::with_capacity(messages.len());
    let mut rows = Vec::with_capacity(messages.len());
    for m in messages {
        let message = transcript_message(m, who);
        let kind = LiveEventKind::Message {
            message: message.clone(),
        };
        let json = serde_json::to_string(&kind).map_err(|e| StoreError::Decode(e.to_string()))?;
        rows.push((message, json));
        kinds.push(kind);
    }
    let write = TranscriptWrite {
        before,
        session_id: ticket.session_id.clone(),
        customer: who.id.clone(),
        customer_json,
        ticket: ticket.id.clone(),
        messages: rows,
        keep: i64::try_from(crate::conversations::MAX_MESSAGES).unwrap_or(i64::MAX),
        at_ms: crate::clock::now_ms(),
    };
    // The conversation, the messages, their counts and their live events in one
    // transaction; the events go out after it commits.
    let store = &state.svc.store;
    state
        .svc
        .live
        .publish_written(&who.id, &ticket.id, &ticket.session_id, async move {
            let seqs = store.record_transcript(write).await?;
            Ok(seqs
                .into_iter()
                .zip(kinds)
                .filter_map(|(seq, kind)| seq.map(|seq| (seq, kind)))
                .collect())
        })
        .await
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
