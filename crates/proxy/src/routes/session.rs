//! `POST /v1/session`: identity proof in, session token out; and the visitor-cookie
//! routes `POST`/`DELETE /v1/session/cookie`, where a frame without storage of its own
//! keeps its visitor (see [`crate::visitor_cookie`]). Minting a new anonymous visitor is
//! limited per client IP (`--rate-visitor-per-min`/`--rate-visitor-burst`), so a flood of
//! fresh visitors cannot become a flood of billed replies.

use axum::{
    extract::State,
    http::{header, HeaderMap, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    Extension, Json,
};
use everdesk_api::{SessionRequest, SessionResponse};
use serde_json::Value;

use super::ClientKey;
use crate::{error::ProxyError, extract::ApiJson, visitor_cookie, AppState};

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
    // A forgotten visitor's token opens a new, empty visitor.
    let req = match req {
        SessionRequest::Visitor { visitor_token } => SessionRequest::Visitor {
            visitor_token: crate::fencing::resumable(&state, visitor_token).await,
        },
        other => other,
    };
    if matches!(
        req,
        SessionRequest::Visitor {
            visitor_token: None
        }
    ) {
        check_new_visitor(&state, client).await?;
    }
    state.svc.identity.open_session(req).map(Json)
}

/// A new visitor counts against the client's visitor bucket.
async fn check_new_visitor(
    state: &AppState,
    client: Option<Extension<ClientKey>>,
) -> Result<(), ProxyError> {
    let key = client.map_or_else(|| "unknown".to_owned(), |Extension(ClientKey(k))| k);
    state
        .svc
        .visitor_limit
        .check(&key)
        .await
        .map_err(ProxyError::RateLimited)
}

/// `POST /v1/session/cookie`: a visitor session for the widget's own frame, the visitor
/// kept in the `HttpOnly` visitor cookie instead of a `visitor_token` in the body. The
/// cookie's visitor is resumed (a missing or no longer valid one, or `{"fresh": true}`,
/// starts a new visitor and replaces the cookie). Same-origin requests only
/// (`403 forbidden` otherwise), so another site cannot resume the visitor through the
/// browser's cookie; the response never carries the visitor token.
pub async fn open_with_cookie(
    State(state): State<AppState>,
    client: Option<Extension<ClientKey>>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<Value>,
) -> Result<Response, ProxyError> {
    require_same_origin(&headers)?;
    let fresh = match body.get("fresh") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(fresh)) => *fresh,
        Some(_) => {
            return Err(ProxyError::InvalidRequest(
                "fresh must be true or false".into(),
            ))
        }
    };
    let identity = &state.svc.identity;
    let cookie_token = visitor_cookie::read(&headers).filter(|_| !fresh);
    let kept = crate::fencing::resumable(&state, cookie_token)
        .await
        .and_then(|token| {
            identity
                .open_session(SessionRequest::Visitor {
                    visitor_token: Some(token),
                })
                .ok()
        });
    let mut session = match kept {
        Some(session) => session,
        None => {
            check_new_visitor(&state, client).await?;
            identity.open_session(SessionRequest::Visitor {
                visitor_token: None,
            })?
        }
    };
    let cookie = session
        .visitor_token
        .take()
        .and_then(|token| visitor_cookie::set(&headers, &token));
    let mut response = Json(session).into_response();
    let out = response.headers_mut();
    out.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Some(cookie) = cookie {
        out.append(header::SET_COOKIE, cookie);
    }
    Ok(response)
}

/// `DELETE /v1/session/cookie`: forgets the visitor cookie (the host's logout, forget
/// me). Same-origin requests only. `204`.
pub async fn clear_cookie(headers: HeaderMap) -> Result<Response, ProxyError> {
    require_same_origin(&headers)?;
    let mut response = StatusCode::NO_CONTENT.into_response();
    if let Some(cookie) = visitor_cookie::clear(&headers) {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    Ok(response)
}

fn require_same_origin(headers: &HeaderMap) -> Result<(), ProxyError> {
    if visitor_cookie::same_origin(headers) {
        Ok(())
    } else {
        Err(ProxyError::Forbidden(
            "the visitor cookie is only for the widget's own origin".into(),
        ))
    }
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
