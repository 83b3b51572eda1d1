//! `ApiError`: every way a call to the proxy can fail, decoded once from the
//! response, with what the UI should say and whether a retry can help.

use everdesk_api::{ErrorBody, ErrorCode};
use thiserror::Error;

use crate::i18n::Strings;

/// A failed call to the proxy.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ApiError {
    /// No response: offline, DNS, CORS, connection reset, aborted.
    #[error("network error: {0}")]
    Network(String),
    /// The proxy answered with an error body.
    #[error("{status} {}: {message}", .code.as_json_str())]
    Http {
        /// HTTP status.
        status: u16,
        /// Stable code from the body (`Unknown` when the body was not ours).
        code: ErrorCode,
        /// The proxy's message.
        message: String,
        /// Seconds from `Retry-After`, when sent.
        retry_after: Option<u32>,
    },
    /// The response was not the JSON we expected.
    #[error("unexpected response: {0}")]
    Decode(String),
    /// The widget has no proxy URL configured.
    #[error("no proxy URL configured")]
    NotConfigured,
    /// This tab forgot the customer the request was for (identity change, wipe) while
    /// it ran: its outcome is dropped, never applied to the next customer.
    #[error("superseded by another customer")]
    Superseded,
}

impl ApiError {
    /// Builds the error for a non-2xx response from its status and body text.
    pub fn from_response(status: u16, body: &str, retry_after: Option<u32>) -> Self {
        match everdesk_api::json::from_str::<ErrorBody>(body) {
            Ok(body) => Self::Http {
                status,
                code: body.error.code,
                message: body.error.message,
                retry_after,
            },
            Err(_) => Self::Http {
                status,
                code: ErrorCode::Unknown,
                message: format!("HTTP {status}"),
                retry_after,
            },
        }
    }

    /// Whether sending the same request again later may succeed.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Network(_) => true,
            Self::Http { code, status, .. } => code.is_retryable() || *status >= 500,
            Self::Decode(_) | Self::NotConfigured | Self::Superseded => false,
        }
    }

    /// The stable code the host's `error` listeners get: the proxy's error code,
    /// or `network`, `invalid_response` or `not_configured` for failures before one.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Network(_) => "network",
            Self::Http { code, .. } => code.as_json_str(),
            Self::Decode(_) => "invalid_response",
            Self::NotConfigured => "not_configured",
            Self::Superseded => "superseded",
        }
    }

    /// How long the proxy asked us to wait (`Retry-After`), ms; 0 when it did not.
    pub fn wait_ms(&self) -> i64 {
        match self {
            Self::Http {
                retry_after: Some(secs),
                ..
            } => i64::from(*secs) * 1_000,
            _ => 0,
        }
    }

    /// Whether the session token must be renewed (expired or revoked).
    pub fn is_unauthorized(&self) -> bool {
        matches!(
            self,
            Self::Http {
                code: ErrorCode::Unauthorized,
                ..
            }
        )
    }

    /// What to tell the customer, in their language.
    pub fn user_message(&self, s: &Strings) -> &'static str {
        match self {
            Self::Network(_) => s.error_network,
            Self::Http {
                code: ErrorCode::RateLimited,
                ..
            } => s.error_rate_limited,
            Self::Http {
                code: ErrorCode::NotSupported,
                ..
            } => s.error_not_supported,
            _ => s.error_generic,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::i18n::EN;

    #[test]
    fn host_codes_and_waits() {
        let limited = ApiError::from_response(
            429,
            r#"{"error":{"code":"rate_limited","message":"slow down","request_id":"r"}}"#,
            Some(7),
        );
        assert_eq!((limited.code(), limited.wait_ms()), ("rate_limited", 7_000));
        let offline = ApiError::Network("failed to fetch".into());
        assert_eq!((offline.code(), offline.wait_ms()), ("network", 0));
        assert_eq!(ApiError::Decode("x".into()).code(), "invalid_response");
        assert_eq!(ApiError::NotConfigured.code(), "not_configured");
    }

    #[test]
    fn our_error_bodies_are_decoded() {
        let body =
            r#"{"error":{"code":"conflict","message":"different content","request_id":"r"}}"#;
        let err = ApiError::from_response(409, body, None);
        assert_eq!(
            err,
            ApiError::Http {
                status: 409,
                code: ErrorCode::Conflict,
                message: "different content".into(),
                retry_after: None
            }
        );
        assert!(!err.is_retryable());
    }

    #[test]
    fn foreign_bodies_still_give_a_typed_error() {
        let err = ApiError::from_response(502, "<html>Bad gateway</html>", None);
        assert!(matches!(
            err,
            ApiError::Http {
                code: ErrorCode::Unknown,
                status: 502,
                ..
            }
        ));
        assert!(err.is_retryable());
        assert_eq!(err.user_message(&EN), EN.error_generic);
    }

    #[test]
    fn classification_drives_retry_and_renewal() {
        assert!(ApiError::Network("offline".into()).is_retryable());
        let rate = ApiError::from_response(
            429,
            r#"{"error":{"code":"rate_limited","message":"m","request_id":"r"}}"#,
            Some(3),
        );
        assert!(rate.is_retryable());
        assert_eq!(rate.user_message(&EN), EN.error_rate_limited);
        let expired = ApiError::from_response(
            401,
            r#"{"error":{"code":"unauthorized","message":"m","request_id":"r"}}"#,
            None,
        );
        assert!(expired.is_unauthorized());
        assert!(!expired.is_retryable());
    }
}
