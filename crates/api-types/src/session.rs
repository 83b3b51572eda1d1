//! `POST /v1/session`: the identity exchange that yields a session token.

use serde::{Deserialize, Serialize};

use crate::json::{Fields, FromJson, Json, JsonError, ObjWriter, ToJson};
use crate::{json_str_enum, json_struct};

/// One of the three identity proofs. Untagged: the fields present decide the variant,
/// tried in this order (HMAC, JWT, visitor). `{}` is an anonymous visitor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum SessionRequest {
    /// Verified customer, HMAC-SHA256 of `user_id` with the identity secret.
    Hmac {
        /// The host's customer id.
        user_id: String,
        /// Lowercase hex HMAC of `user_id`.
        user_hash: String,
        /// Display name, if the host knows it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        name: Option<String>,
        /// Email, if the host knows it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        email: Option<String>,
    },
    /// Verified customer, HS256 JWT signed with the identity secret.
    Jwt {
        /// The compact JWT.
        jwt: String,
    },
    /// Anonymous visitor, optionally returning with a token from an earlier session.
    Visitor {
        /// The proxy-signed visitor token kept by the widget.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        visitor_token: Option<String>,
    },
}

/// Whether the customer was verified by the host or is an anonymous visitor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CustomerKind {
    /// Proven by HMAC or JWT from the host's backend.
    Verified,
    /// Anonymous, proxy-signed id.
    Visitor,
}

/// Who the session acts for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Customer {
    /// Verified or visitor.
    pub kind: CustomerKind,
    /// The EverOS `user_id`.
    pub id: String,
    /// Display name, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// `200` body of `POST /v1/session`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionResponse {
    /// Bearer token for every other route.
    pub token: String,
    /// When `token` expires, epoch ms.
    pub expires_at: i64,
    /// Who this session acts for.
    pub customer: Customer,
    /// For visitors: the token to present next time to stay the same visitor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visitor_token: Option<String>,
}

// The widget's codec (see `crate::json`), member for member the serde shapes above.
json_str_enum!(CustomerKind { Verified = "verified", Visitor = "visitor" });
json_struct!(Customer {
    kind,
    id,
    name: opt
});
json_struct!(SessionResponse {
    token,
    expires_at,
    customer,
    visitor_token: opt
});

impl FromJson for SessionRequest {
    /// Like serde's untagged read: HMAC when `user_id` and `user_hash` are both there,
    /// else a JWT when `jwt` is, else a visitor.
    fn from_json(value: &Json) -> Result<Self, JsonError> {
        let f = Fields::of(value)?;
        if let (Ok(user_id), Ok(user_hash)) = (f.req("user_id"), f.req("user_hash")) {
            if let (Ok(name), Ok(email)) = (f.opt("name"), f.opt("email")) {
                return Ok(Self::Hmac {
                    user_id,
                    user_hash,
                    name,
                    email,
                });
            }
        }
        if let Ok(jwt) = f.req("jwt") {
            return Ok(Self::Jwt { jwt });
        }
        f.opt("visitor_token")
            .map(|visitor_token| Self::Visitor { visitor_token })
            .map_err(|_| JsonError::new("data did not match any variant of SessionRequest"))
    }
}

impl ToJson for SessionRequest {
    fn write_json(&self, out: &mut String) {
        let mut w = ObjWriter::new(out);
        match self {
            Self::Hmac {
                user_id,
                user_hash,
                name,
                email,
            } => {
                w.field("user_id", user_id).field("user_hash", user_hash);
                w.opt("name", name.as_ref().map(|v| v as &dyn ToJson));
                w.opt("email", email.as_ref().map(|v| v as &dyn ToJson));
            }
            Self::Jwt { jwt } => {
                w.field("jwt", jwt);
            }
            Self::Visitor { visitor_token } => {
                w.opt(
                    "visitor_token",
                    visitor_token.as_ref().map(|v| v as &dyn ToJson),
                );
            }
        }
        w.end();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn decode(v: serde_json::Value) -> SessionRequest {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn request_variants_are_chosen_by_fields() {
        assert!(matches!(
            decode(json!({"user_id": "u", "user_hash": "h"})),
            SessionRequest::Hmac { .. }
        ));
        assert!(matches!(
            decode(json!({"jwt": "a.b.c"})),
            SessionRequest::Jwt { .. }
        ));
        assert_eq!(
            decode(json!({})),
            SessionRequest::Visitor {
                visitor_token: None
            }
        );
        assert_eq!(
            decode(json!({"visitor_token": "v"})),
            SessionRequest::Visitor {
                visitor_token: Some("v".into())
            }
        );
    }

    #[test]
    fn response_round_trips_with_spec_names() {
        let resp = SessionResponse {
            token: "t".into(),
            expires_at: 1_794_400_000_000,
            customer: Customer {
                kind: CustomerKind::Visitor,
                id: "visitor_abc".into(),
                name: None,
            },
            visitor_token: Some("vt".into()),
        };
        let v = serde_json::to_value(&resp).unwrap();
        assert_eq!(
            v,
            json!({"token": "t", "expires_at": 1_794_400_000_000i64,
                   "customer": {"kind": "visitor", "id": "visitor_abc"}, "visitor_token": "vt"})
        );
        assert_eq!(serde_json::from_value::<SessionResponse>(v).unwrap(), resp);
    }
}
