//! `POST /v1/session`: the identity exchange that yields a session token.

use std::fmt;

use serde::{
    de::{self, IgnoredAny, MapAccess, Visitor},
    Deserialize, Deserializer, Serialize,
};

use crate::json::{Fields, FromJson, Json, JsonError, ObjWriter, ToJson};
use crate::{json_str_enum, json_struct};

/// One of the three identity proofs. The keys present decide the variant, then its
/// members are read strictly: `jwt` → JWT; else `user_id` or `user_hash` → HMAC (both
/// required); else a visitor. A key whose value is `null` counts as absent, so `{}` is an
/// anonymous visitor; any known member of the wrong type is an error, never a visitor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
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

/// The known members of a session request, each a string or absent (`null` = absent),
/// before the variant is chosen. Both codecs read into this, so they choose alike.
#[derive(Default)]
struct Proof {
    user_id: Option<String>,
    user_hash: Option<String>,
    name: Option<String>,
    email: Option<String>,
    jwt: Option<String>,
    visitor_token: Option<String>,
}

/// The member names of [`Proof`], in its order.
const PROOF_KEYS: [&str; 6] = [
    "user_id",
    "user_hash",
    "name",
    "email",
    "jwt",
    "visitor_token",
];

impl Proof {
    /// The member slot named `key`, if it is a known one.
    fn slot(&mut self, key: &str) -> Option<&mut Option<String>> {
        Some(match key {
            "user_id" => &mut self.user_id,
            "user_hash" => &mut self.user_hash,
            "name" => &mut self.name,
            "email" => &mut self.email,
            "jwt" => &mut self.jwt,
            "visitor_token" => &mut self.visitor_token,
            _ => return None,
        })
    }

    /// The variant the present keys choose: `jwt`, else `user_id`/`user_hash` (both
    /// required), else a visitor.
    fn into_request(self) -> Result<SessionRequest, &'static str> {
        if let Some(jwt) = self.jwt {
            return Ok(SessionRequest::Jwt { jwt });
        }
        match (self.user_id, self.user_hash) {
            (Some(user_id), Some(user_hash)) => Ok(SessionRequest::Hmac {
                user_id,
                user_hash,
                name: self.name,
                email: self.email,
            }),
            (None, Some(_)) => Err("missing field `user_id`"),
            (Some(_), None) => Err("missing field `user_hash`"),
            (None, None) => Ok(SessionRequest::Visitor {
                visitor_token: self.visitor_token,
            }),
        }
    }
}

impl<'de> Deserialize<'de> for SessionRequest {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(ProofVisitor)
    }
}

/// Reads a JSON object into a [`Proof`], refusing repeated known keys.
struct ProofVisitor;

impl<'de> Visitor<'de> for ProofVisitor {
    type Value = SessionRequest;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a session request object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<SessionRequest, A::Error> {
        let mut proof = Proof::default();
        let mut seen = [false; PROOF_KEYS.len()];
        while let Some(key) = map.next_key::<String>()? {
            let Some(i) = PROOF_KEYS.iter().position(|k| *k == key) else {
                map.next_value::<IgnoredAny>()?;
                continue;
            };
            if std::mem::replace(&mut seen[i], true) {
                return Err(de::Error::duplicate_field(PROOF_KEYS[i]));
            }
            let value = map.next_value::<Option<String>>()?;
            if let Some(slot) = proof.slot(&key) {
                *slot = value;
            }
        }
        proof.into_request().map_err(de::Error::custom)
    }
}

impl FromJson for SessionRequest {
    /// As serde reads it: the present keys choose the variant, known members are strings.
    fn from_json(value: &Json) -> Result<Self, JsonError> {
        let f = Fields::of(value)?;
        let mut proof = Proof::default();
        for key in PROOF_KEYS {
            if let Some(slot) = proof.slot(key) {
                *slot = f.opt(key)?;
            }
        }
        proof.into_request().map_err(JsonError::new)
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

    #[test]
    fn a_malformed_proof_is_refused_by_both_codecs_not_read_as_a_visitor() {
        for bad in [
            json!({"user_id": "u", "user_hash": 123}),
            json!({"user_id": "u"}),
            json!({"user_hash": "h"}),
            json!({"user_id": "u", "user_hash": "h", "name": 5}),
            json!({"user_id": "u", "user_hash": "h", "email": false}),
            json!({"jwt": 123}),
            json!({"jwt": "a.b.c", "name": 5}),
            json!({"visitor_token": 5}),
            json!({"visitor_token": "v", "user_hash": 1}),
            json!([]),
        ] {
            let text = bad.to_string();
            assert!(
                serde_json::from_str::<SessionRequest>(&text).is_err(),
                "serde read {text}"
            );
            assert!(
                crate::json::from_str::<SessionRequest>(&text).is_err(),
                "codec read {text}"
            );
        }
    }

    #[test]
    fn the_keys_present_choose_the_variant_in_both_codecs() {
        let cases = [
            (
                json!({"jwt": "j", "user_id": "u", "user_hash": "h"}),
                SessionRequest::Jwt { jwt: "j".into() },
            ),
            (
                json!({"user_id": "u", "user_hash": "h", "visitor_token": "v", "x": 1}),
                SessionRequest::Hmac {
                    user_id: "u".into(),
                    user_hash: "h".into(),
                    name: None,
                    email: None,
                },
            ),
            (
                json!({"user_id": null, "user_hash": null, "jwt": null, "name": null}),
                SessionRequest::Visitor {
                    visitor_token: None,
                },
            ),
        ];
        for (doc, want) in cases {
            let text = doc.to_string();
            assert_eq!(serde_json::from_str::<SessionRequest>(&text).unwrap(), want);
            assert_eq!(
                crate::json::from_str::<SessionRequest>(&text).unwrap(),
                want
            );
        }
    }
}
