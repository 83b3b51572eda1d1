//! `ProxyError`: the one error type of every handler, turned into the spec's JSON body
//! `{ "error": { code, message, request_id } }` with a stable code and status.

use axum::{
    http::{HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use everdesk_api::{ErrorBody, ErrorCode, ErrorDetail};

/// Every way a request can fail, as the client sees it.
#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    /// 400: malformed or invalid request.
    #[error("{0}")]
    InvalidRequest(String),
    /// 404: no such route or resource.
    #[error("not found")]
    NotFound,
    /// 413: body over the limit.
    #[error("request body too large")]
    PayloadTooLarge,
}

impl ProxyError {
    /// The status and stable code this error maps to.
    pub fn status_and_code(&self) -> (StatusCode, ErrorCode) {
        match self {
            Self::InvalidRequest(_) => (StatusCode::BAD_REQUEST, ErrorCode::InvalidRequest),
            Self::NotFound => (StatusCode::NOT_FOUND, ErrorCode::NotFound),
            Self::PayloadTooLarge => (StatusCode::PAYLOAD_TOO_LARGE, ErrorCode::PayloadTooLarge),
        }
    }
}

impl IntoResponse for ProxyError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        let body = ErrorBody {
            error: ErrorDetail {
                code,
                message: self.to_string(),
                request_id: crate::request_id::current(),
            },
        };
        let mut resp = (status, Json(body)).into_response();
        resp.headers_mut().insert(
            axum::http::header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        );
        resp
    }
}
