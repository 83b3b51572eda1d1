//! Ended identities, across replicas: when a customer is forgotten the store records the
//! moment (a fence), and from then on every session token issued up to it is refused and
//! a forgotten visitor's token no longer resumes them (a new, empty visitor instead). The
//! fence is set before the forget deletes anything, so work that started earlier cannot
//! store the customer's words after it; it is lifted again if nothing was forgotten.

use crate::{clock::now_ms, error::ProxyError, identity::SessionCustomer, AppState};

fn storage(e: crate::store::StoreError) -> ProxyError {
    tracing::warn!(error = %e, "fence check failed");
    ProxyError::Storage
}

/// Refuses a session whose customer was forgotten after its token was issued.
pub async fn still_valid(state: &AppState, who: &SessionCustomer) -> Result<(), ProxyError> {
    match state
        .svc
        .store
        .fenced_since(&who.id)
        .await
        .map_err(storage)?
    {
        Some(at) if who.issued_at <= at => Err(ProxyError::Unauthorized),
        _ => Ok(()),
    }
}

/// Ends `customer`'s identity now; returns what [`undo`] needs if the forget fails.
pub async fn begin(state: &AppState, customer: &str) -> Result<Option<i64>, ProxyError> {
    state
        .svc
        .store
        .set_fence(customer, now_ms())
        .await
        .map_err(storage)
}

/// Longest a forget waits for the customer's messages in flight on any replica.
const SETTLE_WAIT: std::time::Duration = std::time::Duration::from_secs(30);

/// Waits until none of `customer`'s messages is being handled on any replica (their
/// claims released or expired); after [`begin`], no new one can start. `503` if that
/// takes longer than [`SETTLE_WAIT`] (the caller lifts the fence; the client retries).
pub async fn settle(state: &AppState, customer: &str) -> Result<(), ProxyError> {
    let deadline = tokio::time::Instant::now() + SETTLE_WAIT;
    loop {
        let held = state
            .svc
            .ledger
            .claims_held(customer)
            .await
            .map_err(storage)?;
        if held == 0 {
            return Ok(());
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(ProxyError::Busy(5));
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// Lifts the fence [`begin`] set (nothing was forgotten after all).
pub async fn undo(state: &AppState, customer: &str, prior: Option<i64>) {
    if let Err(e) = state.svc.store.restore_fence(customer, prior).await {
        tracing::error!(error = %e, "a fence could not be lifted after a failed forget");
    }
}

/// The visitor token, if it may resume its visitor: `None` for a forgotten visitor (or
/// one the store cannot vouch for), so the caller starts a new one.
pub async fn resumable(state: &AppState, token: Option<String>) -> Option<String> {
    let token = token?;
    let Some(vid) = state.svc.identity.visitor_of(&token) else {
        return Some(token); // not ours: open_session answers it with the typed error
    };
    match state.svc.store.fenced_since(&vid).await {
        Ok(None) => Some(token),
        Ok(Some(_)) => None,
        Err(e) => {
            tracing::warn!(error = %e, "fence check failed; starting a new visitor");
            None
        }
    }
}
