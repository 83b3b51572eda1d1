//! Proxy-signed tokens: session tokens (stateless, expiring) and visitor tokens (a
//! visitor id that survives reloads). Format `<b64url(json claims)>.<b64url(HMAC-SHA256)>`,
//! with a `typ` claim so one kind can never be used as the other.

use base64::{engine::general_purpose::URL_SAFE_NO_PAD as B64, Engine};
use hmac::{Hmac, Mac};
use serde::{de::DeserializeOwned, Deserialize, Serialize};
use sha2::Sha256;

use everdesk_api::CustomerKind;

type HmacSha256 = Hmac<Sha256>;

/// Claims of a session token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionClaims {
    /// Always `"session"`.
    pub typ: String,
    /// The EverOS `user_id` this session acts for.
    pub sub: String,
    /// Verified or visitor.
    pub kind: CustomerKind,
    /// Display name, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Expiry, epoch ms.
    pub exp: i64,
    /// Issued at, epoch ms (0 in tokens from before it was kept).
    #[serde(default)]
    pub iat: i64,
    /// Whether the host signed `name` (a JWT claim) rather than just passing it along.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub name_vouched: bool,
}

/// Claims of an agent session token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentClaims {
    /// Always `"agent"`.
    pub typ: String,
    /// The agent's id (the JWT's `sub`, or `integration`).
    pub sub: String,
    /// Display name.
    pub name: String,
    /// Expiry, epoch ms.
    pub exp: i64,
}

/// Claims of a visitor token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VisitorClaims {
    /// Always `"visitor"`.
    pub typ: String,
    /// The visitor's EverOS `user_id` (`visitor_<random>`).
    pub vid: String,
}

/// Signs and verifies proxy tokens with the proxy's signing key.
#[derive(Clone)]
pub struct Signer {
    key: Vec<u8>,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Signer(<redacted>)")
    }
}

impl Signer {
    /// A signer with this key.
    pub fn new(key: &[u8]) -> Self {
        Self { key: key.to_vec() }
    }

    fn mac(&self) -> HmacSha256 {
        // HMAC accepts keys of any length, so this cannot fail.
        match HmacSha256::new_from_slice(&self.key) {
            Ok(mac) => mac,
            Err(_) => unreachable!("HMAC takes keys of any size"),
        }
    }

    /// Serializes and signs `claims`.
    pub fn sign<T: Serialize>(&self, claims: &T) -> String {
        let json = serde_json::to_vec(claims).unwrap_or_default();
        let payload = B64.encode(json);
        let mut mac = self.mac();
        mac.update(payload.as_bytes());
        let sig = B64.encode(mac.finalize().into_bytes());
        format!("{payload}.{sig}")
    }

    /// Checks the signature in constant time and decodes the claims; `None` if anything is off.
    pub fn verify<T: DeserializeOwned>(&self, token: &str) -> Option<T> {
        let (payload, sig) = token.split_once('.')?;
        let sig = B64.decode(sig).ok()?;
        let mut mac = self.mac();
        mac.update(payload.as_bytes());
        mac.verify_slice(&sig).ok()?;
        serde_json::from_slice(&B64.decode(payload).ok()?).ok()
    }

    /// A session token and its claims.
    pub fn session(&self, claims: &SessionClaims) -> String {
        self.sign(claims)
    }

    /// Verifies a session token and that it has not expired at `now_ms`.
    pub fn verify_session(&self, token: &str, now_ms: i64) -> Option<SessionClaims> {
        let claims: SessionClaims = self.verify(token)?;
        (claims.typ == "session" && claims.exp > now_ms).then_some(claims)
    }

    /// Verifies an agent token and that it has not expired at `now_ms`.
    pub fn verify_agent(&self, token: &str, now_ms: i64) -> Option<AgentClaims> {
        let claims: AgentClaims = self.verify(token)?;
        (claims.typ == "agent" && claims.exp > now_ms).then_some(claims)
    }

    /// A visitor token for `vid`.
    pub fn visitor(&self, vid: &str) -> String {
        self.sign(&VisitorClaims {
            typ: "visitor".into(),
            vid: vid.to_owned(),
        })
    }

    /// The visitor id in a genuine visitor token.
    pub fn verify_visitor(&self, token: &str) -> Option<String> {
        let claims: VisitorClaims = self.verify(token)?;
        (claims.typ == "visitor" && claims.vid.starts_with(super::VISITOR_PREFIX))
            .then_some(claims.vid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(exp: i64) -> SessionClaims {
        SessionClaims {
            typ: "session".into(),
            sub: "u1".into(),
            kind: CustomerKind::Verified,
            name: None,
            exp,
            iat: 0,
            name_vouched: false,
        }
    }

    #[test]
    fn session_tokens_round_trip_and_expire() {
        let s = Signer::new(b"k");
        let t = s.session(&claims(100));
        assert_eq!(s.verify_session(&t, 99).unwrap().sub, "u1");
        assert!(s.verify_session(&t, 100).is_none());
    }

    #[test]
    fn tampered_foreign_and_cross_kind_tokens_fail() {
        let s = Signer::new(b"k");
        let t = s.session(&claims(100));
        let (p, sig) = t.split_once('.').unwrap();
        let forged = B64.encode(br#"{"typ":"session","sub":"u2","kind":"verified","exp":100}"#);
        assert!(s.verify_session(&format!("{forged}.{sig}"), 1).is_none());
        assert!(Signer::new(b"other").verify_session(&t, 1).is_none());
        assert!(s.verify_session(&format!("{p}."), 1).is_none());
        let v = s.visitor("visitor_abc");
        assert_eq!(s.verify_visitor(&v).as_deref(), Some("visitor_abc"));
        assert!(s.verify_session(&v, 1).is_none());
        assert!(s.verify_visitor(&t).is_none());
    }
}
