//! `ProxyError`: the one error type of every handler, turned into the spec's JSON body
//! `{ "error": { code, message, request_id } }` with a stable code and status; and
//! `typed_errors`, the middleware that gives any other error response that body.

use axum::{
    extract::Request,
    http::{header, HeaderValue, StatusCode},
    middleware::Next,
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
    /// 422: well-formed, but a value is out of bounds (e.g. a comment too long).
    #[error("{0}")]
    Unprocessable(String),
    /// 413: body over the limit.
    #[error("request body too large")]
    PayloadTooLarge,
    /// 429: too many requests; retry after this many seconds.
    #[error("too many requests, retry in {0} s")]
    RateLimited(u64),
    /// 503: the proxy is at its limit of replies generated at once; retry after this many
    /// seconds (code `upstream_unavailable`, with `Retry-After`).
    #[error("too busy to answer now, retry in {0} s")]
    Busy(u64),
    /// 502/503/504: EverOS, the LLM or the webhook failed. Carries only the status.
    #[error("the memory or reply service is unavailable, please retry")]
    Upstream(StatusCode),
    /// 503: the proxy's database failed (logged); retry in a second (code
    /// `upstream_unavailable`, with `Retry-After`).
    #[error("the proxy's storage is unavailable, please retry")]
    Storage,
    /// 500: a bug on our side; the detail is logged, not returned.
    #[error("internal error")]
    Internal,
    /// 501: the memory service in use cannot do this (what it cannot do); nothing changed.
    #[error("the memory service in use does not support {0}; nothing was changed")]
    NotSupported(&'static str),
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
            Self::Unprocessable(_) => (StatusCode::UNPROCESSABLE_ENTITY, ErrorCode::InvalidRequest),
            Self::PayloadTooLarge => (StatusCode::PAYLOAD_TOO_LARGE, ErrorCode::PayloadTooLarge),
            Self::RateLimited(_) => (StatusCode::TOO_MANY_REQUESTS, ErrorCode::RateLimited),
            Self::Busy(_) => (
                StatusCode::SERVICE_UNAVAILABLE,
                ErrorCode::UpstreamUnavailable,
            ),
            Self::Upstream(status) => (*status, ErrorCode::UpstreamUnavailable),
            Self::Storage => (
                StatusCode::SERVICE_UNAVAILABLE,
                ErrorCode::UpstreamUnavailable,
            ),
            Self::Internal => (StatusCode::INTERNAL_SERVER_ERROR, ErrorCode::Internal),
            Self::NotSupported(_) => (StatusCode::NOT_IMPLEMENTED, ErrorCode::NotSupported),
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

impl From<crate::store::StoreError> for ProxyError {
    fn from(e: crate::store::StoreError) -> Self {
        tracing::warn!(error = %e, "storage failed");
        Self::Storage
    }
}

impl IntoResponse for ProxyError {
    fn into_response(self) -> Response {
        let (status, _) = self.status_and_code();
        let mut resp = (status, Json(self.body())).into_response();
        let headers = resp.headers_mut();
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if let Self::RateLimited(secs) | Self::Busy(secs) = self {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs.max(1)));
        }
        if let Self::Storage = self {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(1u64));
        }
        resp
    }
}

/// The stable code for an error `status` that no [`ProxyError`] produced.
fn code_for_status(status: StatusCode) -> ErrorCode {
    match status.as_u16() {
        401 => ErrorCode::Unauthorized,
        403 => ErrorCode::Forbidden,
        404 | 405 => ErrorCode::NotFound,
        409 => ErrorCode::Conflict,
        413 => ErrorCode::PayloadTooLarge,
        429 => ErrorCode::RateLimited,
        502..=504 => ErrorCode::UpstreamUnavailable,
        400..=499 => ErrorCode::InvalidRequest,
        _ => ErrorCode::Internal,
    }
}

/// Whether `resp` already carries a JSON body (ours, from [`ProxyError`]).
fn is_json(resp: &Response) -> bool {
    resp.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"))
}

/// The answer to a request whose handler panicked (with `CatchPanicLayer`): logged,
/// and a typed `500 internal` instead of a dropped connection.
pub fn panic_response(panic: Box<dyn std::any::Any + Send + 'static>) -> Response {
    let what = panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_default();
    tracing::error!(panic = %what, "a request handler panicked");
    ProxyError::Internal.into_response()
}

/// Middleware: a 4xx/5xx response whose body is not JSON (a framework default, or the
/// widget file server's empty 412/416/500) gets the spec's error body for its status,
/// keeping its status and headers. Runs inside the request-id scope.
pub async fn typed_errors(req: Request, next: Next) -> Response {
    let resp = next.run(req).await;
    let status = resp.status();
    if !(status.is_client_error() || status.is_server_error()) || is_json(&resp) {
        return resp;
    }
    let body = ErrorBody {
        error: ErrorDetail {
            code: code_for_status(status),
            message: status
                .canonical_reason()
                .unwrap_or("request failed")
                .to_lowercase(),
            request_id: crate::request_id::current(),
        },
    };
    let (mut parts, _) = resp.into_parts();
    let (typed, body) = Json(body).into_response().into_parts();
    parts.headers.remove(header::CONTENT_LENGTH);
    if let Some(ct) = typed.headers.get(header::CONTENT_TYPE) {
        parts.headers.insert(header::CONTENT_TYPE, ct.clone());
    }
    parts
        .headers
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Response::from_parts(parts, body)
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
        let busy = ProxyError::Busy(2);
        assert_eq!(
            busy.status_and_code(),
            (
                StatusCode::SERVICE_UNAVAILABLE,
                ErrorCode::UpstreamUnavailable
            )
        );
        assert_eq!(busy.into_response().headers()[header::RETRY_AFTER], "2");
    }

    #[tokio::test]
    async fn foreign_error_bodies_are_replaced_by_the_typed_one() {
        use axum::{body::Body, middleware, routing::get, Router};
        use tower::ServiceExt;

        let app = Router::new()
            .route(
                "/range",
                get(|| async {
                    (
                        StatusCode::RANGE_NOT_SATISFIABLE,
                        [(header::CONTENT_RANGE, "bytes */10")],
                        "",
                    )
                }),
            )
            .route("/ours", get(|| async { ProxyError::Conflict("c".into()) }))
            .route("/fine", get(|| async { "ok" }))
            .layer(middleware::from_fn(typed_errors));
        let call = |uri: &'static str| {
            app.clone()
                .oneshot(Request::get(uri).body(Body::empty()).unwrap())
        };
        let read = |resp: Response| async move {
            let bytes = axum::body::to_bytes(resp.into_body(), 4096).await.unwrap();
            serde_json::from_slice::<ErrorBody>(&bytes).ok()
        };

        let resp = call("/range").await.unwrap();
        assert_eq!(resp.status(), StatusCode::RANGE_NOT_SATISFIABLE);
        assert_eq!(resp.headers()[header::CONTENT_RANGE], "bytes */10");
        assert_eq!(resp.headers()[header::CONTENT_TYPE], "application/json");
        let body = read(resp).await.unwrap();
        assert_eq!(body.error.code, ErrorCode::InvalidRequest);
        assert_eq!(body.error.message, "range not satisfiable");

        let body = read(call("/ours").await.unwrap()).await.unwrap();
        assert_eq!(
            (body.error.code, body.error.message.as_str()),
            (ErrorCode::Conflict, "c")
        );
        assert_eq!(read(call("/fine").await.unwrap()).await, None);
    }

    #[test]
    fn statuses_map_to_the_documented_codes() {
        for (status, code) in [
            (400, ErrorCode::InvalidRequest),
            (405, ErrorCode::NotFound),
            (412, ErrorCode::InvalidRequest),
            (422, ErrorCode::InvalidRequest),
            (503, ErrorCode::UpstreamUnavailable),
            (500, ErrorCode::Internal),
        ] {
            assert_eq!(code_for_status(StatusCode::from_u16(status).unwrap()), code);
        }
    }
}
