//! `POST /v1/session`: identity proof in, session token out.

use axum::{extract::State, Json};
use everdesk_api::{SessionRequest, SessionResponse};
use serde_json::Value;

use crate::{error::ProxyError, extract::ApiJson, AppState};

/// Opens a session for an HMAC-verified, JWT-verified or visitor customer. A body that
/// names a `user_id` without its `user_hash` (or the reverse) is refused rather than
/// silently treated as an anonymous visitor.
pub async fn open(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<Value>,
) -> Result<Json<SessionResponse>, ProxyError> {
    let has = |k: &str| body.get(k).is_some_and(|v| !v.is_null());
    if has("user_id") != has("user_hash") {
        return Err(ProxyError::InvalidIdentity(
            "user_id and user_hash must be given together".into(),
        ));
    }
    let req: SessionRequest = serde_json::from_value(body)
        .map_err(|e| ProxyError::InvalidRequest(format!("invalid session request: {e}")))?;
    state.svc.identity.open_session(req).map(Json)
}
