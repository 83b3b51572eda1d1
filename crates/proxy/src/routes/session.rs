//! `POST /v1/session`: identity proof in, session token out. Minting a new anonymous
//! visitor is limited per client IP (`--rate-visitor-per-min`/`--rate-visitor-burst`), so
//! a flood of fresh visitors cannot become a flood of billed replies.

use axum::{extract::State, Extension, Json};
use everdesk_api::{SessionRequest, SessionResponse};
use serde_json::Value;

use super::ClientKey;
use crate::{error::ProxyError, extract::ApiJson, AppState};

/// The members that carry an identity proof: wrong in any way, the proof is refused.
const PROOF_KEYS: [&str; 4] = ["user_id", "user_hash", "jwt", "visitor_token"];

/// Opens a session for an HMAC-verified, JWT-verified or visitor customer. The keys
/// present choose the proof (`jwt`, else `user_id`/`user_hash`, else visitor; `null`
/// counts as absent). A proof member that is not a string, or a `user_id` without its
/// `user_hash` (or the reverse), is `401 invalid_identity`; any other malformed body is
/// `400 invalid_request`. Neither is ever treated as an anonymous visitor. A new visitor
/// beyond the client's visitor bucket is `429 rate_limited`.
pub async fn open(
    State(state): State<AppState>,
    client: Option<Extension<ClientKey>>,
    ApiJson(body): ApiJson<Value>,
) -> Result<Json<SessionResponse>, ProxyError> {
    check_proof(&body)?;
    let req: SessionRequest = serde_json::from_value(body)
        .map_err(|e| ProxyError::InvalidRequest(format!("invalid session request: {e}")))?;
    if matches!(
        req,
        SessionRequest::Visitor {
            visitor_token: None
        }
    ) {
        let key = client.map_or_else(|| "unknown".to_owned(), |Extension(ClientKey(k))| k);
        state
            .svc
            .visitor_limit
            .check(&key)
            .await
            .map_err(ProxyError::RateLimited)?;
    }
    state.svc.identity.open_session(req).map(Json)
}

/// Refuses a body whose proof members are malformed (401), before it is decoded.
fn check_proof(body: &Value) -> Result<(), ProxyError> {
    let given = |k: &str| body.get(k).filter(|v| !v.is_null());
    if let Some(key) = PROOF_KEYS
        .into_iter()
        .find(|k| given(k).is_some_and(|v| !v.is_string()))
    {
        return Err(ProxyError::InvalidIdentity(format!(
            "{key} must be a string"
        )));
    }
    if given("jwt").is_none() && given("user_id").is_some() != given("user_hash").is_some() {
        return Err(ProxyError::InvalidIdentity(
            "user_id and user_hash must be given together".into(),
        ));
    }
    Ok(())
}
