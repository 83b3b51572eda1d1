//! The session: exchange the host's identity proof (or our visitor token) for a
//! session token, keep it in storage, renew it when it expires or is refused.
//!
//! Without storage of our own (third-party storage blocked) neither token may go to the
//! host page's mirror (see `storage::is_secret`): both stay in memory, a verified
//! customer is re-verified from the host's proof on each load, and a visitor is kept by
//! the proxy's `HttpOnly` visitor cookie on our origin (`POST /v1/session/cookie`).

use everdesk_api::json_struct;
use everdesk_api::{ErrorCode, SessionRequest, SessionResponse};
use leptos::prelude::*;

use super::{host::identity_owner, Chat};
use crate::{
    api::{decode, ApiClient, ApiError, Endpoint},
    ids::now_ms,
    storage::Key,
};

/// Renew a session this long before it expires, ms.
const RENEW_MARGIN_MS: i64 = 60_000;

/// A session token as stored, with the identity it was issued for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredSession {
    /// Fingerprint of the identity (see [`identity_owner`]).
    pub owner: String,
    /// The proxy's answer.
    pub session: SessionResponse,
}
json_struct!(StoredSession { owner, session });

impl Chat {
    /// A valid session token, from storage or freshly issued.
    pub(super) async fn token(&self) -> Result<String, ApiError> {
        let api = self.api()?;
        let identity = self.identity.get_untracked();
        let owner = identity_owner(identity.as_ref());
        let stored = self.store().get::<StoredSession>(&Key::Session);
        if let Some(s) =
            stored.filter(|s| s.owner == owner && s.session.expires_at > now_ms() + RENEW_MARGIN_MS)
        {
            return Ok(s.session.token);
        }
        // Only ever awaited in the customer's scope (see `live::scope`): a session
        // issued after the customer changed is never kept, because this never resumes.
        let session: SessionResponse = match identity {
            Some(proof) => decode(&api.call(None, &Endpoint::session(&proof)).await?)?,
            None => self.visitor_session(&api).await?,
        };
        if let Some(visitor) = &session.visitor_token {
            self.save(&Key::Visitor, visitor);
        }
        let token = session.token.clone();
        self.save(&Key::Session, &StoredSession { owner, session });
        Ok(token)
    }

    /// A visitor session; a visitor token the proxy refuses (rotated key, tampering)
    /// is dropped and a new visitor started.
    async fn visitor_session(&self, api: &ApiClient) -> Result<SessionResponse, ApiError> {
        if !self.store().has_own_storage() {
            let fresh = self.fresh_visitor.get_value();
            match api.call(None, &Endpoint::cookie_session(fresh)).await {
                Ok(text) => {
                    self.fresh_visitor.set_value(false);
                    return decode(&text);
                }
                // A proxy on another origin, or one without the route: the visitor
                // token in the body, kept in memory only (a new visitor per load).
                Err(ApiError::Http {
                    code: ErrorCode::Forbidden | ErrorCode::NotFound,
                    ..
                }) => {}
                Err(e) => return Err(e),
            }
        }
        let visitor_token = self.store().get::<String>(&Key::Visitor);
        let retry_fresh = visitor_token.is_some();
        let ask = |visitor_token| Endpoint::session(&SessionRequest::Visitor { visitor_token });
        let text = match api.call(None, &ask(visitor_token)).await {
            Err(ApiError::Http {
                code: ErrorCode::InvalidIdentity,
                ..
            }) if retry_fresh => {
                self.store().remove(&Key::Visitor);
                api.call(None, &ask(None)).await?
            }
            other => other?,
        };
        decode(&text)
    }

    /// Sends an authenticated request and returns the body text; on
    /// `unauthorized` renews the session once. Awaited only in the customer's scope, so
    /// a renewal never happens for whoever this tab serves after them.
    pub(super) async fn authed(&self, endpoint: Endpoint) -> Result<String, ApiError> {
        let api = self.api()?;
        let token = self.token().await?;
        match api.call(Some(&token), &endpoint).await {
            Err(e) if e.is_unauthorized() => {
                self.store().remove(&Key::Session);
                let token = self.token().await?;
                api.call(Some(&token), &endpoint).await
            }
            other => other,
        }
    }
}
