//! The error body every non-2xx proxy response carries, and its stable codes.

use serde::{Deserialize, Serialize};

use crate::{json_str_enum, json_struct};

/// Stable, snake_case error codes. Clients switch on these, never on messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// 400/422: the request is malformed or fails validation.
    InvalidRequest,
    /// 401: the identity proof (hash, JWT, visitor token) was refused.
    InvalidIdentity,
    /// 401: missing, invalid or expired session token.
    Unauthorized,
    /// 403: the session may not do this.
    Forbidden,
    /// 404: no such route or resource.
    NotFound,
    /// 409: same message id, different content.
    Conflict,
    /// 413: body too large.
    PayloadTooLarge,
    /// 429: slow down; see `Retry-After`.
    RateLimited,
    /// 502/503/504: EverOS or the LLM failed.
    UpstreamUnavailable,
    /// 500: a bug on our side.
    Internal,
    /// 501: the memory service in use cannot do this at all (for example forgetting a
    /// customer on a self-hosted EverOS without delete); nothing was changed.
    NotSupported,
    /// A code this client version does not know yet.
    #[serde(other)]
    Unknown,
}

impl ErrorCode {
    /// Whether a client may retry the same request later and expect success.
    pub fn is_retryable(self) -> bool {
        matches!(
            self,
            Self::RateLimited | Self::UpstreamUnavailable | Self::Internal | Self::Unknown
        )
    }
}

/// The inside of [`ErrorBody`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorDetail {
    /// Stable code.
    pub code: ErrorCode,
    /// Human-readable text; never upstream bodies or secrets.
    pub message: String,
    /// The request id, also sent as `X-Request-Id`.
    pub request_id: String,
}

/// `{ "error": { "code", "message", "request_id" } }`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

// The widget's codec (see `crate::json`), member for member the serde shapes above.
json_str_enum!(ErrorCode {
    InvalidRequest = "invalid_request",
    InvalidIdentity = "invalid_identity",
    Unauthorized = "unauthorized",
    Forbidden = "forbidden",
    NotFound = "not_found",
    Conflict = "conflict",
    PayloadTooLarge = "payload_too_large",
    RateLimited = "rate_limited",
    UpstreamUnavailable = "upstream_unavailable",
    Internal = "internal",
    NotSupported = "not_supported",
} else Unknown = "unknown");
json_struct!(ErrorDetail {
    code,
    message,
    request_id
});
json_struct!(ErrorBody { error });

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn error_body_has_the_spec_shape() {
        let body = ErrorBody {
            error: ErrorDetail {
                code: ErrorCode::PayloadTooLarge,
                message: "too big".into(),
                request_id: "r1".into(),
            },
        };
        assert_eq!(
            serde_json::to_value(&body).unwrap(),
            json!({"error": {"code": "payload_too_large", "message": "too big", "request_id": "r1"}})
        );
    }

    #[test]
    fn unknown_codes_decode_without_failing() {
        let body: ErrorBody = serde_json::from_value(
            json!({"error": {"code": "brand_new_code", "message": "m", "request_id": "r"}}),
        )
        .unwrap();
        assert_eq!(body.error.code, ErrorCode::Unknown);
        assert!(body.error.code.is_retryable());
        assert!(!ErrorCode::Conflict.is_retryable());
    }
}
