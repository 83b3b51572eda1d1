//! `ProxyError`: the one error type of every handler, turned into the spec's JSON body
//! `{ "error": { code, message, request_id } }` with a stable code and status.

use axum::{
    http::{header, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use everdesk_api::{ErrorBody, ErrorCode, ErrorDetail};

/// Every way a request can fail, as the client sees it.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ProxyError {
    /// 400: malformed or invalid request.
    #[error("{0}")]
    InvalidRequest(String),
    /// 401: the identity proof was refused.
    #[error("{0}")]
    InvalidIdentity(String),
    /// 401: missing, invalid or expired session token.
    #[error("missing, invalid or expired session token")]
    Unauthorized,
    /// 403: the session may not do this.
    #[error("{0}")]
    Forbidden(String),
    /// 404: no such route or resource.
    #[error("not found")]
    NotFound,
    /// 409: the request conflicts with what was already done.
    #[error("{0}")]
    Conflict(String),
    /// 413: body over the limit.
    #[error("request body too large")]
    PayloadTooLarge,
    /// 429: too many requests; retry after this many seconds.
    #[error("too many requests, retry in {0} s")]
    RateLimited(u64),
    /// 502/503/504: EverOS, the LLM or the webhook failed. Carries only the status.
    #[error("the memory or reply service is unavailable, please retry")]
    Upstream(StatusCode),
    /// 500: a bug on our side; the detail is logged, not returned.
    #[error("internal error")]
    Internal,
}

impl ProxyError {
    /// The status and stable code this error maps to.
    pub fn status_and_code(&self) -> (StatusCode, ErrorCode) {
        match self {
            Self::InvalidRequest(_) => (StatusCode::BAD_REQUEST, ErrorCode::InvalidRequest),
            Self::InvalidIdentity(_) => (StatusCode::UNAUTHORIZED, ErrorCode::InvalidIdentity),
            Self::Unauthorized => (StatusCode::UNAUTHORIZED, ErrorCode::Unauthorized),
            Self::Forbidden(_) => (StatusCode::FORBIDDEN, ErrorCode::Forbidden),
            Self::NotFound => (StatusCode::NOT_FOUND, ErrorCode::NotFound),
            Self::Conflict(_) => (StatusCode::CONFLICT, ErrorCode::Conflict),
            Self::PayloadTooLarge => (StatusCode::PAYLOAD_TOO_LARGE, ErrorCode::PayloadTooLarge),
            Self::RateLimited(_) => (StatusCode::TOO_MANY_REQUESTS, ErrorCode::RateLimited),
            Self::Upstream(status) => (*status, ErrorCode::UpstreamUnavailable),
            Self::Internal => (StatusCode::INTERNAL_SERVER_ERROR, ErrorCode::Internal),
        }
    }

    /// The spec's error body for this error, with the current request id.
    pub fn body(&self) -> ErrorBody {
        let (_, code) = self.status_and_code();
        ErrorBody {
            error: ErrorDetail {
                code,
                message: self.to_string(),
                request_id: crate::request_id::current(),
            },
        }
    }
}

impl IntoResponse for ProxyError {
    fn into_response(self) -> Response {
        let (status, _) = self.status_and_code();
        let mut resp = (status, Json(self.body())).into_response();
        let headers = resp.headers_mut();
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if let Self::RateLimited(secs) = self {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs.max(1)));
        }
        resp
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_variant_has_a_stable_code() {
        let cases = [
            (ProxyError::Unauthorized, 401, ErrorCode::Unauthorized),
            (ProxyError::Conflict("x".into()), 409, ErrorCode::Conflict),
            (ProxyError::RateLimited(3), 429, ErrorCode::RateLimited),
            (
                ProxyError::Upstream(StatusCode::GATEWAY_TIMEOUT),
                504,
                ErrorCode::UpstreamUnavailable,
            ),
        ];
        for (err, status, code) in cases {
            assert_eq!(
                err.status_and_code(),
                (StatusCode::from_u16(status).unwrap(), code)
            );
        }
    }

    #[test]
    fn rate_limited_carries_retry_after() {
        let resp = ProxyError::RateLimited(7).into_response();
        assert_eq!(resp.headers()[header::RETRY_AFTER], "7");
    }
}
