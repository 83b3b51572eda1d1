//! HS256 JWT verification for host-signed identities: `sub` and `exp` required, `exp`
//! at most 24 h ahead; `alg: none`, other algorithms, bad signatures, expired and
//! malformed tokens are refused.

use base64::{engine::general_purpose::URL_SAFE_NO_PAD as B64, Engine};
use hmac::{Hmac, Mac};
use serde::Deserialize;
use sha2::Sha256;

/// The longest a host may make a JWT live, seconds.
pub const MAX_LIFETIME_SECS: i64 = 24 * 3600;
/// Clock skew tolerated between the host and the proxy, seconds.
const SKEW_SECS: i64 = 60;

/// Why a JWT was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JwtError {
    /// Not three base64url JSON parts.
    #[error("malformed token")]
    Malformed,
    /// `alg` is not HS256 (including `none`).
    #[error("unsupported algorithm; only HS256 is accepted")]
    Algorithm,
    /// The signature does not verify with the identity secret.
    #[error("bad signature")]
    Signature,
    /// `sub` or `exp` missing or of the wrong type.
    #[error("missing claim: {0}")]
    MissingClaim(&'static str),
    /// `exp` is in the past.
    #[error("token expired")]
    Expired,
    /// `exp` is more than 24 h ahead.
    #[error("token lifetime exceeds 24 h")]
    TooLong,
}

/// The claims EverDesk reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JwtClaims {
    /// The host's user id.
    pub sub: String,
    /// Display name.
    pub name: Option<String>,
    /// Email.
    pub email: Option<String>,
    /// `role`: `"agent"` for a support agent; absent for customers.
    pub role: Option<String>,
}

#[derive(Deserialize)]
struct Header {
    alg: String,
}

#[derive(Deserialize)]
struct RawClaims {
    sub: Option<serde_json::Value>,
    exp: Option<serde_json::Value>,
    name: Option<String>,
    email: Option<String>,
    role: Option<String>,
}

fn decode_json<T: serde::de::DeserializeOwned>(part: &str) -> Result<T, JwtError> {
    let bytes = B64.decode(part).map_err(|_| JwtError::Malformed)?;
    serde_json::from_slice(&bytes).map_err(|_| JwtError::Malformed)
}

/// Verifies `token` with `secret` at `now_secs` (Unix seconds).
pub fn verify(secret: &[u8], token: &str, now_secs: i64) -> Result<JwtClaims, JwtError> {
    let mut parts = token.trim().split('.');
    let (Some(h), Some(p), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(JwtError::Malformed);
    };
    let header: Header = decode_json(h)?;
    if header.alg != "HS256" {
        return Err(JwtError::Algorithm);
    }
    let sig = B64.decode(s).map_err(|_| JwtError::Malformed)?;
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).map_err(|_| JwtError::Signature)?;
    mac.update(h.as_bytes());
    mac.update(b".");
    mac.update(p.as_bytes());
    mac.verify_slice(&sig).map_err(|_| JwtError::Signature)?;
    let claims: RawClaims = decode_json(p)?;
    let sub = match claims.sub {
        Some(serde_json::Value::String(s)) if !s.is_empty() => s,
        _ => return Err(JwtError::MissingClaim("sub")),
    };
    let exp = claims
        .exp
        .as_ref()
        .and_then(serde_json::Value::as_f64)
        .ok_or(JwtError::MissingClaim("exp"))? as i64;
    if exp + SKEW_SECS <= now_secs {
        return Err(JwtError::Expired);
    }
    if exp > now_secs + MAX_LIFETIME_SECS + SKEW_SECS {
        return Err(JwtError::TooLong);
    }
    Ok(JwtClaims {
        sub,
        name: claims.name,
        email: claims.email,
        role: claims.role,
    })
}

/// Signs claims as an HS256 JWT (what a host backend does; used by tests).
pub fn sign(secret: &[u8], claims: &serde_json::Value) -> String {
    let h = B64.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
    let p = B64.encode(claims.to_string());
    let sig = match Hmac::<Sha256>::new_from_slice(secret) {
        Ok(mut mac) => {
            mac.update(format!("{h}.{p}").as_bytes());
            B64.encode(mac.finalize().into_bytes())
        }
        Err(_) => String::new(),
    };
    format!("{h}.{p}.{sig}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const NOW: i64 = 1_800_000_000;

    #[test]
    fn a_good_token_verifies() {
        let t = sign(b"s", &json!({"sub": "u1", "exp": NOW + 600, "name": "Ada"}));
        let c = verify(b"s", &t, NOW).unwrap();
        assert_eq!((c.sub.as_str(), c.name.as_deref()), ("u1", Some("Ada")));
    }

    #[test]
    fn bad_tokens_are_refused_with_the_reason() {
        let ok = json!({"sub": "u1", "exp": NOW + 600});
        assert_eq!(
            verify(b"x", &sign(b"s", &ok), NOW),
            Err(JwtError::Signature)
        );
        let none_h = B64.encode(br#"{"alg":"none"}"#);
        let p = B64.encode(ok.to_string());
        assert_eq!(
            verify(b"s", &format!("{none_h}.{p}."), NOW),
            Err(JwtError::Algorithm)
        );
        let t = sign(b"s", &json!({"sub": "u1", "exp": NOW - 3600}));
        assert_eq!(verify(b"s", &t, NOW), Err(JwtError::Expired));
        let t = sign(b"s", &json!({"sub": "u1", "exp": NOW + 90_000}));
        assert_eq!(verify(b"s", &t, NOW), Err(JwtError::TooLong));
        let t = sign(b"s", &json!({"exp": NOW + 60}));
        assert_eq!(verify(b"s", &t, NOW), Err(JwtError::MissingClaim("sub")));
        let t = sign(b"s", &json!({"sub": "u"}));
        assert_eq!(verify(b"s", &t, NOW), Err(JwtError::MissingClaim("exp")));
        assert_eq!(verify(b"s", "a.b", NOW), Err(JwtError::Malformed));
        assert_eq!(verify(b"s", "!!.??.zz", NOW), Err(JwtError::Malformed));
    }
}
