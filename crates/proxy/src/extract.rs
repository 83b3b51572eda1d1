//! Request extractors that fail in the spec's error shape: `ApiJson` (malformed JSON →
//! 400 `invalid_request`, oversize → 413 `payload_too_large`), `Authed` (Bearer session
//! token → the customer, plus the per-customer rate limit) and `TicketPath` (ticket id
//! format checked → 400).

use axum::{
    extract::{FromRequest, FromRequestParts, Path, Request},
    http::{header, request::Parts, StatusCode},
};
use bytes::Bytes;
use everdesk_api::limits;
use serde::de::DeserializeOwned;

use crate::{error::ProxyError, identity::SessionCustomer, AppState};

/// A JSON body decoded with our error shape; an empty body reads as `{}`.
#[derive(Debug, Clone)]
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ProxyError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ProxyError> {
        let bytes = Bytes::from_request(req, state).await.map_err(|rej| {
            if rej.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ProxyError::PayloadTooLarge
            } else {
                ProxyError::InvalidRequest("could not read the request body".into())
            }
        })?;
        let body: &[u8] = if bytes.iter().all(u8::is_ascii_whitespace) {
            b"{}"
        } else {
            &bytes
        };
        serde_json::from_slice(body)
            .map(ApiJson)
            .map_err(|e| ProxyError::InvalidRequest(format!("invalid JSON body: {e}")))
    }
}

/// The customer of the request's session token.
#[derive(Debug, Clone)]
pub struct Authed(pub SessionCustomer);

impl FromRequestParts<AppState> for Authed {
    type Rejection = ProxyError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ProxyError> {
        let token = bearer(parts).ok_or(ProxyError::Unauthorized)?;
        let customer = state.svc.identity.verify_session(token)?;
        crate::fencing::still_valid(state, &customer).await?;
        state
            .svc
            .customer_limit
            .check(&customer.id)
            .await
            .map_err(ProxyError::RateLimited)?;
        Ok(Authed(customer))
    }
}

/// The agent of the request's agent token (customer session tokens are refused).
#[derive(Debug, Clone)]
pub struct AgentAuthed(pub everdesk_api::Agent);

impl FromRequestParts<AppState> for AgentAuthed {
    type Rejection = ProxyError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ProxyError> {
        let token = bearer(parts).ok_or(ProxyError::Unauthorized)?;
        let agent = state.svc.identity.verify_agent(token)?;
        state
            .svc
            .customer_limit
            .check(&format!("agent:{}", agent.id))
            .await
            .map_err(ProxyError::RateLimited)?;
        Ok(AgentAuthed(agent))
    }
}

/// The Bearer token of a request, trimmed.
fn bearer(parts: &Parts) -> Option<&str> {
    parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim)
}

/// A `{ticket_id}` path segment in the spec's format.
#[derive(Debug, Clone)]
pub struct TicketPath(pub String);

impl<S: Send + Sync> FromRequestParts<S> for TicketPath {
    type Rejection = ProxyError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ProxyError> {
        let Path(id) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|_| ProxyError::InvalidRequest("bad ticket id".into()))?;
        check_ticket_id(&id)?;
        Ok(TicketPath(id))
    }
}

/// 400 unless `id` matches `[A-Za-z0-9_-]{1,64}`.
pub fn check_ticket_id(id: &str) -> Result<(), ProxyError> {
    if limits::is_valid_ticket_id(id) {
        Ok(())
    } else {
        Err(ProxyError::InvalidRequest(
            "ticket id must match [A-Za-z0-9_-]{1,64}".into(),
        ))
    }
}
