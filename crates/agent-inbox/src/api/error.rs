//! The inbox's API error: network, the proxy's typed error body, or an undecodable
//! answer; with the sentence an agent is shown.

use everdesk_api::{ErrorBody, ErrorCode};

/// Why a call to the proxy failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ApiError {
    /// No answer (offline, aborted, timed out).
    #[error("network: {0}")]
    Network(String),
    /// A non-2xx answer, with the proxy's code when its body had one.
    #[error("{status} {code:?}: {message}")]
    Status {
        /// HTTP status.
        status: u16,
        /// The proxy's stable code.
        code: ErrorCode,
        /// The proxy's message.
        message: String,
    },
    /// A 2xx answer that is not the expected JSON.
    #[error("decode: {0}")]
    Decode(String),
}

impl ApiError {
    /// Reads a non-2xx answer.
    pub fn from_response(status: u16, body: &str) -> Self {
        match serde_json::from_str::<ErrorBody>(body) {
            Ok(b) => Self::Status {
                status,
                code: b.error.code,
                message: b.error.message,
            },
            Err(_) => Self::Status {
                status,
                code: if status == 401 {
                    ErrorCode::Unauthorized
                } else {
                    ErrorCode::Unknown
                },
                message: format!("HTTP {status}"),
            },
        }
    }

    /// Whether the agent's token is no longer accepted (sign in again).
    pub fn is_unauthorized(&self) -> bool {
        matches!(self, Self::Status { status: 401, .. })
    }

    /// Whether another agent holds the ticket (or it must be claimed first).
    pub fn is_conflict(&self) -> bool {
        matches!(
            self,
            Self::Status {
                code: ErrorCode::Conflict,
                ..
            }
        )
    }

    /// The sentence shown to the agent.
    pub fn user_message(&self) -> String {
        match self {
            Self::Network(_) => "The proxy cannot be reached. Check the connection and try again.".into(),
            Self::Status {
                code: ErrorCode::Conflict,
                ..
            } => "Another agent holds this ticket (or it is not claimed yet). Refresh and try again.".into(),
            Self::Status {
                code: ErrorCode::InvalidIdentity,
                ..
            } => "That token was refused: it must be an agent JWT (role \"agent\") signed with the host's secret and not expired.".into(),
            Self::Status { status: 401, .. } => "Your agent session has ended. Sign in again.".into(),
            Self::Status {
                code: ErrorCode::NotFound,
                ..
            } => "That ticket no longer exists.".into(),
            Self::Status { message, .. } => format!("The proxy refused: {message}"),
            Self::Decode(_) => "The proxy sent an answer the inbox cannot read.".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_typed_error_body_is_read_and_explained() {
        let body = r#"{"error":{"code":"conflict","message":"claimed by Kim","request_id":"r1"}}"#;
        let e = ApiError::from_response(409, body);
        assert!(e.is_conflict());
        assert!(!e.is_unauthorized());
        assert!(e.user_message().contains("Another agent"));
        let e = ApiError::from_response(401, "not json");
        assert!(e.is_unauthorized());
        assert!(e.user_message().contains("Sign in again"));
        let body =
            r#"{"error":{"code":"invalid_identity","message":"not an agent","request_id":"r2"}}"#;
        assert!(ApiError::from_response(401, body)
            .user_message()
            .contains("refused"));
        let e = ApiError::from_response(500, "");
        assert_eq!(
            e,
            ApiError::Status {
                status: 500,
                code: ErrorCode::Unknown,
                message: "HTTP 500".into()
            }
        );
    }
}
