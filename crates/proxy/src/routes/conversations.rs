//! The customer's conversations on the server: their tickets and one ticket's
//! transcript, paged — what a second device of a verified customer starts from.

use axum::{
    extract::{Query, State},
    Json,
};
use everdesk_api::{QueueState, TicketListResponse, TicketStatus, TicketSummary, TranscriptPage};
use serde::Deserialize;

use crate::{
    error::ProxyError,
    extract::{Authed, TicketPath},
    AppState,
};

/// Largest transcript page.
const MAX_PAGE: usize = 200;

/// `GET /v1/tickets`: the customer's tickets, newest first, each with where it stands
/// (escalated, who joined, the hand-off summary).
pub async fn list(
    State(state): State<AppState>,
    Authed(who): Authed,
) -> Result<Json<TicketListResponse>, ProxyError> {
    let mut tickets: Vec<TicketSummary> = Vec::new();
    for (session_id, c) in state.svc.conversations.of_customer(&who.id).await? {
        let Some(r) = state.svc.tickets.get(&who.id, &c.ticket_id).await? else {
            continue;
        };
        let queue_state = if r.ticket.status == TicketStatus::Closed {
            QueueState::Closed
        } else if c.escalated_at.is_some() {
            QueueState::Escalated
        } else {
            QueueState::Open
        };
        // Listings leave the hand-off out; only escalated tickets have one to fetch.
        let handoff = match c.escalated_at {
            Some(_) => state
                .svc
                .conversations
                .get(&session_id)
                .await?
                .and_then(|full| full.handoff),
            None => None,
        };
        tickets.push(TicketSummary {
            last_message_at: c.last_message_at.max(r.ticket.created_at),
            ticket: r.ticket,
            state: queue_state,
            agent: c.claimed_by,
            handoff,
        });
    }
    tickets.sort_by_key(|t| std::cmp::Reverse(t.ticket.created_at));
    Ok(Json(TicketListResponse { tickets }))
}

/// Paging of a transcript.
#[derive(Debug, Deserialize)]
pub struct PageQuery {
    /// Only messages older than this (epoch ms).
    before: Option<i64>,
    /// Page size, 1-200 (default 50).
    limit: Option<usize>,
}

/// `GET /v1/tickets/{ticket_id}/transcript?before=&limit=`: one page, oldest first.
pub async fn transcript(
    State(state): State<AppState>,
    Authed(who): Authed,
    TicketPath(ticket_id): TicketPath,
    Query(q): Query<PageQuery>,
) -> Result<Json<TranscriptPage>, ProxyError> {
    state
        .svc
        .tickets
        .get(&who.id, &ticket_id)
        .await?
        .ok_or(ProxyError::NotFound)?;
    let limit = q.limit.unwrap_or(50).clamp(1, MAX_PAGE);
    let (messages, before) = state
        .svc
        .store
        .transcript_page(
            &who.id,
            &ticket_id,
            q.before,
            i64::try_from(limit).unwrap_or(50),
        )
        .await?;
    Ok(Json(TranscriptPage { messages, before }))
}
