//! Ticket routes: create, close (with the close form's rating and comment), escalate.

use axum::{extract::State, http::StatusCode, Json};
use everdesk_api::{
    CloseRequest, CloseResponse, CreateTicketRequest, CreateTicketResponse, EscalateRequest,
    EscalateResponse,
};

use crate::{
    error::ProxyError,
    extract::{ApiJson, Authed, TicketPath},
    flows::ticket,
    tickets::Feedback,
    AppState,
};

/// Longest accepted close comment, characters (422 above).
pub const MAX_COMMENT_CHARS: usize = 2_000;

/// `POST /v1/tickets`: 201 new, 200 existing.
pub async fn create(
    State(state): State<AppState>,
    Authed(who): Authed,
    ApiJson(req): ApiJson<CreateTicketRequest>,
) -> Result<(StatusCode, Json<CreateTicketResponse>), ProxyError> {
    let (created, resp) = ticket::create(&state, &who, req).await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(resp)))
}

/// `POST /v1/tickets/{id}/close`: the rating and comment are kept with the ticket.
pub async fn close(
    State(state): State<AppState>,
    Authed(who): Authed,
    TicketPath(id): TicketPath,
    ApiJson(req): ApiJson<CloseRequest>,
) -> Result<Json<CloseResponse>, ProxyError> {
    let feedback = feedback(&state, req)?;
    if let Some(rating) = feedback.as_ref().and_then(|f| f.rating) {
        tracing::info!(ticket = %id, rating, "ticket rated");
    }
    // A message still being answered is stored before the session is flushed.
    let _quiet = state.svc.reply_gate.quiet(&who.id).await?;
    ticket::close(&state, &who, &id, feedback).await.map(Json)
}

/// The close form's answers, checked (rating 1-5, comment at most
/// [`MAX_COMMENT_CHARS`]) and redacted like everything stored; `None` when empty.
fn feedback(state: &AppState, req: CloseRequest) -> Result<Option<Feedback>, ProxyError> {
    if req.rating.is_some_and(|r| !(1..=5).contains(&r)) {
        return Err(ProxyError::InvalidRequest("rating must be 1-5".into()));
    }
    let comment = req
        .comment
        .map(|c| c.trim().to_owned())
        .filter(|c| !c.is_empty());
    if comment
        .as_ref()
        .is_some_and(|c| c.chars().count() > MAX_COMMENT_CHARS)
    {
        return Err(ProxyError::Unprocessable(format!(
            "comment must be at most {MAX_COMMENT_CHARS} characters"
        )));
    }
    let comment = match comment {
        Some(c) if state.config.store_redaction => Some(crate::redact::for_store(&c)),
        other => other,
    };
    if req.rating.is_none() && comment.is_none() {
        return Ok(None);
    }
    Ok(Some(Feedback {
        rating: req.rating,
        comment,
        at: crate::clock::now_ms(),
    }))
}

/// `POST /v1/tickets/{id}/escalate`.
pub async fn escalate(
    State(state): State<AppState>,
    Authed(who): Authed,
    TicketPath(id): TicketPath,
    ApiJson(req): ApiJson<EscalateRequest>,
) -> Result<Json<EscalateResponse>, ProxyError> {
    // As for close: the hand-off flushes, so a reply on its way is stored first.
    let _quiet = state.svc.reply_gate.quiet(&who.id).await?;
    ticket::escalate(&state, &who, &id, req.reason)
        .await
        .map(Json)
}
