//! The customer's own memory: `GET /v1/history`, `GET /v1/profile`, `DELETE /v1/me`.

use axum::{
    extract::{Query, State},
    http::StatusCode,
    Json,
};
use everdesk_api::{HistoryQuery, HistoryResponse, ProfileResponse};

use crate::{clock::now_ms, error::ProxyError, extract::Authed, AppState};

/// What "past problems" means when no query is given.
const DEFAULT_HISTORY_QUERY: &str = "issue problem error unable help support";
/// What a profile listing searches for.
const PROFILE_QUERY: &str = "customer profile name preferences plan account";

/// Recalled history across all of this customer's tickets.
pub async fn history(
    State(state): State<AppState>,
    Authed(who): Authed,
    query: Result<Query<HistoryQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<HistoryResponse>, ProxyError> {
    let Query(q) = query.map_err(|_| ProxyError::InvalidRequest("bad query string".into()))?;
    let limit = q.limit.unwrap_or(10);
    if !(1..=100).contains(&limit) {
        return Err(ProxyError::InvalidRequest("limit must be 1-100".into()));
    }
    let query = q.query.as_deref().map(str::trim).filter(|s| !s.is_empty());
    let everos = &state.svc.everos;
    let mut episodes = match query {
        Some(text) => {
            let text: String = text.chars().take(1000).collect();
            everos.episodes(&who.id, &text, limit).await?
        }
        // A listing: the newest episodes (no index lag on v2's `get`).
        None => {
            everos
                .recent_episodes(&who.id, limit, DEFAULT_HISTORY_QUERY)
                .await?
        }
    };
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    state
        .svc
        .recent
        .merge(&who.id, query, &mut episodes, limit, now_ms());
    Ok(Json(HistoryResponse { episodes }))
}

/// What is remembered about the customer.
pub async fn profile(
    State(state): State<AppState>,
    Authed(who): Authed,
) -> Result<Json<ProfileResponse>, ProxyError> {
    let facts = state
        .svc
        .everos
        .profile(&who.id, PROFILE_QUERY, 100)
        .await?;
    Ok(Json(ProfileResponse { facts }))
}

/// Forgets this customer: ends their identity (their session tokens and, for a visitor,
/// their visitor token stop working), then EverOS delete by `user_id`, the proxy's ticket
/// state and the idempotency ledger's entries (stored messages and replies) for them. On an EverOS
/// without delete (everos 1.5.1) nothing is deleted anywhere and the answer is `501
/// not_supported`, so the customer is told the truth.
pub async fn forget(
    State(state): State<AppState>,
    Authed(who): Authed,
) -> Result<StatusCode, ProxyError> {
    // The identity ends first: from here on every request with a token issued so far
    // is refused, so nothing new starts; then the messages already in flight finish
    // (their words would otherwise land in EverOS after the delete), then the delete.
    let prior = crate::fencing::begin(&state, &who.id).await?;
    let deleted = async {
        let _quiet = state.svc.reply_gate.quiet(&who.id).await?;
        crate::fencing::settle(&state, &who.id).await?;
        state
            .svc
            .everos
            .delete_user(&who.id)
            .await
            .map_err(ProxyError::from)
    }
    .await;
    if let Err(e) = deleted {
        crate::fencing::undo(&state, &who.id, prior).await;
        return Err(e);
    }
    state
        .svc
        .store
        .forget_customer(&who.id, crate::clock::now_ms())
        .await?;
    state.svc.recent.forget(&who.id);
    Ok(StatusCode::NO_CONTENT)
}
