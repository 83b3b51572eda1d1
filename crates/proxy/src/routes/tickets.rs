//! Ticket routes: create, close, escalate.

use axum::{extract::State, http::StatusCode, Json};
use everdesk_api::{
    CloseRequest, CloseResponse, CreateTicketRequest, CreateTicketResponse, EscalateRequest,
    EscalateResponse,
};

use crate::{
    error::ProxyError,
    extract::{ApiJson, Authed, TicketPath},
    flows::ticket,
    AppState,
};

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

/// `POST /v1/tickets/{id}/close`.
pub async fn close(
    State(state): State<AppState>,
    Authed(who): Authed,
    TicketPath(id): TicketPath,
    ApiJson(req): ApiJson<CloseRequest>,
) -> Result<Json<CloseResponse>, ProxyError> {
    if req.rating.is_some_and(|r| !(1..=5).contains(&r)) {
        return Err(ProxyError::InvalidRequest("rating must be 1-5".into()));
    }
    if let Some(rating) = req.rating {
        tracing::info!(ticket = %id, rating, "ticket rated");
    }
    ticket::close(&state, &who, &id).await.map(Json)
}

/// `POST /v1/tickets/{id}/escalate`.
pub async fn escalate(
    State(state): State<AppState>,
    Authed(who): Authed,
    TicketPath(id): TicketPath,
    ApiJson(req): ApiJson<EscalateRequest>,
) -> Result<Json<EscalateResponse>, ProxyError> {
    ticket::escalate(&state, &who, &id, req.reason)
        .await
        .map(Json)
}
