//! Identity: turns a `POST /v1/session` proof (HMAC user hash, HS256 JWT, visitor token
//! or nothing) into a customer and a proxy-signed session token, and verifies that
//! token on every other route. The only place that decides which EverOS `user_id` a
//! request may touch.
//!
//! User hashes and JWTs are both HMAC-SHA256, so with one shared secret a user hash *is*
//! a JWT signature: a host that lets users choose their own user id and hashes
//! `<header>.<payload>` for them has signed a JWT for any `sub`. A separate JWT secret
//! (`--jwt-secret`, [`Identity::with_jwt_secret`]) closes that: each proof then verifies
//! only with its own key.

pub mod agents;
pub mod hmac_hash;
pub mod jwt;
pub mod keys;
pub mod tokens;

use everdesk_api::{Customer, CustomerKind, SessionRequest, SessionResponse};
use rand::RngCore;

use crate::error::ProxyError;
use tokens::{SessionClaims, Signer};

/// EverOS `user_id` prefix of anonymous visitors; host ids may not use it.
pub const VISITOR_PREFIX: &str = "visitor_";
/// Longest accepted host user id.
const MAX_USER_ID_LEN: usize = 256;

/// The customer a session acts for, as read from a verified session token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionCustomer {
    /// The EverOS `user_id`.
    pub id: String,
    /// Verified or visitor.
    pub kind: CustomerKind,
    /// Display name, when known.
    pub name: Option<String>,
    /// When the session token was issued, epoch ms (0 for tokens from before it was kept).
    pub issued_at: i64,
    /// Whether the host signed the name (a JWT's `name`); a name passed beside a user
    /// hash is the page's word only.
    pub name_vouched: bool,
}

/// Identity secrets and token lifetimes.
#[derive(Debug, Clone)]
pub struct Identity {
    identity_secret: Option<Vec<u8>>,
    /// The JWT key when it is not the identity secret.
    jwt_secret: Option<Vec<u8>>,
    signer: Signer,
    session_ttl_ms: i64,
    /// `--agent-api-key`, for integrations.
    agent_api_key: Option<Vec<u8>>,
}

fn now_ms() -> i64 {
    crate::clock::now_ms()
}

fn check_host_user_id(user_id: &str) -> Result<(), ProxyError> {
    if user_id.is_empty() || user_id.len() > MAX_USER_ID_LEN {
        return Err(ProxyError::InvalidIdentity(
            "user id must be 1-256 characters".into(),
        ));
    }
    if user_id.starts_with(VISITOR_PREFIX) || user_id.starts_with("gen_") {
        return Err(ProxyError::InvalidIdentity(
            "host user ids may not start with a reserved prefix (visitor_, gen_)".into(),
        ));
    }
    if user_id.chars().any(char::is_control) {
        return Err(ProxyError::InvalidIdentity(
            "user id contains control characters".into(),
        ));
    }
    Ok(())
}

impl Identity {
    /// Identity with an optional host-shared secret and the proxy's signing key.
    pub fn new(identity_secret: Option<&str>, signing_key: &[u8], session_ttl_secs: u64) -> Self {
        Self {
            identity_secret: identity_secret.map(|s| s.as_bytes().to_vec()),
            jwt_secret: None,
            signer: Signer::new(signing_key),
            session_ttl_ms: i64::try_from(session_ttl_secs.saturating_mul(1000))
                .unwrap_or(i64::MAX),
            agent_api_key: None,
        }
    }

    /// Integrations sign in as agents with this key (`None`: only agent JWTs).
    pub fn with_agent_api_key(mut self, key: Option<&str>) -> Self {
        self.agent_api_key = key.filter(|k| !k.is_empty()).map(|k| k.as_bytes().to_vec());
        self
    }

    /// JWTs verify only with `jwt_secret` when one is given (user hashes then only with
    /// the identity secret); `None` keeps the one shared secret for both.
    pub fn with_jwt_secret(mut self, jwt_secret: Option<&str>) -> Self {
        self.jwt_secret = jwt_secret.map(|s| s.as_bytes().to_vec());
        self
    }

    fn hmac_secret(&self) -> Result<&[u8], ProxyError> {
        self.identity_secret.as_deref().ok_or_else(not_configured)
    }

    fn jwt_secret(&self) -> Result<&[u8], ProxyError> {
        self.jwt_secret
            .as_deref()
            .or(self.identity_secret.as_deref())
            .ok_or_else(not_configured)
    }

    /// Exchanges an identity proof for a session.
    pub fn open_session(&self, req: SessionRequest) -> Result<SessionResponse, ProxyError> {
        let (customer, visitor_token, name_vouched) = match req {
            SessionRequest::Hmac {
                user_id,
                user_hash,
                name,
                ..
            } => {
                check_host_user_id(&user_id)?;
                if !hmac_hash::verify(self.hmac_secret()?, &user_id, &user_hash) {
                    return Err(ProxyError::InvalidIdentity(
                        "user_hash does not match".into(),
                    ));
                }
                (verified(user_id, name), None, false)
            }
            SessionRequest::Jwt { jwt } => {
                let claims = jwt::verify(self.jwt_secret()?, &jwt, now_ms() / 1000)
                    .map_err(|e| ProxyError::InvalidIdentity(format!("JWT refused: {e}")))?;
                if claims.role.is_some() {
                    // An agent's (or any other role's) token never acts as a customer.
                    return Err(ProxyError::InvalidIdentity(
                        "this JWT carries a role; customers sign in without one".into(),
                    ));
                }
                check_host_user_id(&claims.sub)?;
                let vouched = claims.name.is_some();
                (verified(claims.sub, claims.name), None, vouched)
            }
            SessionRequest::Visitor { visitor_token } => {
                let vid = match visitor_token {
                    Some(t) => self.signer.verify_visitor(&t).ok_or_else(|| {
                        ProxyError::InvalidIdentity("visitor token is not valid".into())
                    })?,
                    None => new_visitor_id(),
                };

                let token = self.signer.visitor(&vid);
                let customer = Customer {
                    kind: CustomerKind::Visitor,
                    id: vid,
                    name: None,
                };
                (customer, Some(token), false)
            }
        };
        let now = now_ms();
        let expires_at = now.saturating_add(self.session_ttl_ms);
        let token = self.signer.session(&SessionClaims {
            typ: "session".into(),
            sub: customer.id.clone(),
            kind: customer.kind,
            name: customer.name.clone(),
            exp: expires_at,
            iat: now,
            name_vouched,
        });
        Ok(SessionResponse {
            token,
            expires_at,
            customer,
            visitor_token,
        })
    }

    /// The customer of a valid, unexpired session token (whether the customer was
    /// forgotten since is [`crate::fencing::still_valid`]'s to say).
    pub fn verify_session(&self, token: &str) -> Result<SessionCustomer, ProxyError> {
        let claims = self
            .signer
            .verify_session(token, now_ms())
            .ok_or(ProxyError::Unauthorized)?;
        let who = SessionCustomer {
            id: claims.sub,
            kind: claims.kind,
            name: claims.name,
            issued_at: claims.iat,
            name_vouched: claims.name_vouched,
        };
        Ok(who)
    }

    /// The visitor id in a genuine visitor token.
    pub fn visitor_of(&self, token: &str) -> Option<String> {
        self.signer.verify_visitor(token)
    }
}

fn not_configured() -> ProxyError {
    ProxyError::InvalidIdentity(
        "verified identities are not configured on this proxy; only visitors".into(),
    )
}

fn verified(id: String, name: Option<String>) -> Customer {
    Customer {
        kind: CustomerKind::Verified,
        id,
        name: name.filter(|n| !n.trim().is_empty()),
    }
}

fn new_visitor_id() -> String {
    let mut bytes = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    format!("{VISITOR_PREFIX}{}", hex::encode(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn identity() -> Identity {
        Identity::new(Some("host-secret-0123456789"), b"signing", 60)
    }

    #[test]
    fn visitor_gets_a_stable_id_back() {
        let id = identity();
        let first = id
            .open_session(SessionRequest::Visitor {
                visitor_token: None,
            })
            .unwrap();
        assert!(first.customer.id.starts_with(VISITOR_PREFIX));
        let again = id
            .open_session(SessionRequest::Visitor {
                visitor_token: first.visitor_token.clone(),
            })
            .unwrap();
        assert_eq!(again.customer.id, first.customer.id);
        let who = id.verify_session(&again.token).unwrap();
        assert_eq!(who.id, first.customer.id);
    }

    #[test]
    fn hmac_identities_are_checked_and_prefixes_refused() {
        let id = identity();
        let hash = hmac_hash::compute(b"host-secret-0123456789", "cust_1");
        let ok = id.open_session(SessionRequest::Hmac {
            user_id: "cust_1".into(),
            user_hash: hash.clone(),
            name: Some("Ada".into()),
            email: None,
        });
        assert_eq!(ok.unwrap().customer.name.as_deref(), Some("Ada"));
        let forged = id.open_session(SessionRequest::Hmac {
            user_id: "cust_2".into(),
            user_hash: hash,
            name: None,
            email: None,
        });
        assert!(matches!(forged, Err(ProxyError::InvalidIdentity(_))));
        let h = hmac_hash::compute(b"host-secret-0123456789", "visitor_x");
        let prefixed = id.open_session(SessionRequest::Hmac {
            user_id: "visitor_x".into(),
            user_hash: h,
            name: None,
            email: None,
        });
        assert!(matches!(prefixed, Err(ProxyError::InvalidIdentity(_))));
    }

    /// The host's user id `<header>.<payload>` turns its user hash into a JWT signature.
    fn forge_from_user_hash(host_secret: &[u8], sub: &str) -> String {
        use base64::{engine::general_purpose::URL_SAFE_NO_PAD as B64, Engine};
        let h = B64.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
        let exp = now_ms() / 1000 + 600;
        let p = B64.encode(format!(r#"{{"sub":"{sub}","exp":{exp}}}"#));
        let user_id = format!("{h}.{p}");
        let user_hash = hmac_hash::compute(host_secret, &user_id);
        format!("{user_id}.{}", B64.encode(hex::decode(user_hash).unwrap()))
    }

    #[test]
    fn a_separate_jwt_secret_stops_user_hashes_from_signing_jwts() {
        let secret = "host-secret-0123456789";
        let forged = forge_from_user_hash(secret.as_bytes(), "victim");
        let shared = identity().open_session(SessionRequest::Jwt {
            jwt: forged.clone(),
        });
        assert_eq!(shared.unwrap().customer.id, "victim", "the attack works");
        let separate = identity().with_jwt_secret(Some("jwt-secret-abcdefghij"));
        let r = separate.open_session(SessionRequest::Jwt { jwt: forged });
        assert!(matches!(r, Err(ProxyError::InvalidIdentity(_))));
        // Each proof still verifies with its own key.
        let good = jwt::sign(
            b"jwt-secret-abcdefghij",
            &serde_json::json!({"sub": "u1", "exp": now_ms() / 1000 + 600}),
        );
        let ok = separate.open_session(SessionRequest::Jwt { jwt: good });
        assert_eq!(ok.unwrap().customer.id, "u1");
        let hashed = separate.open_session(SessionRequest::Hmac {
            user_id: "u2".into(),
            user_hash: hmac_hash::compute(secret.as_bytes(), "u2"),
            name: None,
            email: None,
        });
        assert!(hashed.is_ok());
        let by_shared_key = jwt::sign(
            secret.as_bytes(),
            &serde_json::json!({"sub": "u1", "exp": now_ms() / 1000 + 600}),
        );
        let r = separate.open_session(SessionRequest::Jwt { jwt: by_shared_key });
        assert!(matches!(r, Err(ProxyError::InvalidIdentity(_))));
    }

    #[test]
    fn without_a_secret_only_visitors_are_accepted() {
        let id = Identity::new(None, b"k", 60);
        let r = id.open_session(SessionRequest::Jwt {
            jwt: "a.b.c".into(),
        });
        assert!(matches!(r, Err(ProxyError::InvalidIdentity(_))));
    }
}
