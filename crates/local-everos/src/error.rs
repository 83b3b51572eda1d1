//! Errors: the HTTP error a handler answers (rendered by [`crate::server`] as the Cloud v1
//! engine shape `{"code","message","request_id","timestamp","path"}` or, on the v2 paths,
//! as `{"request_id","error":{"code","message","timestamp","path"}}`) and the library's
//! startup/storage errors.

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

/// Why the server could not start or a storage call failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Binding or reading the listener failed.
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
    /// SQLite failed.
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// A stored JSON column could not be decoded.
    #[error("stored json: {0}")]
    Json(#[from] serde_json::Error),
    /// A blocking storage task panicked or was cancelled.
    #[error("storage task failed: {0}")]
    Join(String),
    /// The storage lock was poisoned by a panic.
    #[error("storage lock poisoned")]
    Poisoned,
    /// The embedding model failed.
    #[error("embeddings: {0}")]
    Embed(#[from] crate::embed::EmbedError),
}

/// An error answered to a client. The body is rendered by [`crate::server`]'s error layer,
/// which knows the request path; this value travels as a response extension.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// `HTTP_ERROR` or `SYSTEM_ERROR` (the Cloud v1 code).
    pub code: &'static str,
    /// The v2 `error.code` (`INVALID_INPUT`, `NOT_FOUND`, …); `None` derives it from the
    /// status (see [`ApiError::v2_error_code`]).
    pub v2_code: Option<&'static str>,
    /// Human-readable reason.
    pub message: String,
    /// Optional `Retry-After` seconds (injected 429/503).
    pub retry_after: Option<u64>,
}

impl ApiError {
    /// An error with code `HTTP_ERROR`.
    pub fn http(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            code: "HTTP_ERROR",
            v2_code: None,
            message: message.into(),
            retry_after: None,
        }
    }

    /// An error with an explicit v2 code (the v1 rendering keeps `HTTP_ERROR`).
    pub fn v2(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            v2_code: Some(code),
            ..Self::http(status, message)
        }
    }

    /// 422 `INVALID_INPUT` (v2 validation failure).
    pub fn invalid_input(message: impl Into<String>) -> Self {
        Self::v2(StatusCode::UNPROCESSABLE_ENTITY, "INVALID_INPUT", message)
    }

    /// The v2 `error.code`: the explicit one, else derived from the status the way the
    /// real server's exception handlers map them.
    pub fn v2_error_code(&self) -> &'static str {
        if let Some(code) = self.v2_code {
            return code;
        }
        match self.status.as_u16() {
            400 => "BAD_REQUEST",
            401 => "UNAUTHORIZED",
            404 => "NOT_FOUND",
            409 => "CONFLICT",
            413 => "PAYLOAD_TOO_LARGE",
            415 => "UNSUPPORTED_FORMAT",
            422 => "INVALID_INPUT",
            429 => "QUEUE_SATURATED",
            503 => "EXTERNAL_SERVICE_UNAVAILABLE",
            s if s >= 500 => "INTERNAL_ERROR",
            _ => "BAD_REQUEST",
        }
    }

    /// 422 validation failure.
    pub fn validation(message: impl Into<String>) -> Self {
        Self::http(StatusCode::UNPROCESSABLE_ENTITY, message)
    }

    /// 400 bad request.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::http(StatusCode::BAD_REQUEST, message)
    }

    /// 404 not found.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::http(StatusCode::NOT_FOUND, message)
    }

    /// 401 unauthorized.
    pub fn unauthorized() -> Self {
        Self::http(StatusCode::UNAUTHORIZED, "Invalid or missing API key")
    }
}

impl From<Error> for ApiError {
    fn from(err: Error) -> Self {
        tracing::error!(error = %err, "internal error");
        Self {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            code: "SYSTEM_ERROR",
            v2_code: Some("INTERNAL_ERROR"),
            message: "Internal server error".into(),
            retry_after: None,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut res = self.status.into_response();
        if let Some(secs) = self.retry_after {
            res.headers_mut()
                .insert("retry-after", HeaderValue::from(secs));
        }
        res.extensions_mut().insert(self);
        res
    }
}
