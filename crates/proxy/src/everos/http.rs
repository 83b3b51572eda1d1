//! The HTTP transport to EverOS: one attempt per write (adds and flushes are never
//! retried blindly: a timed-out add may still land), reads retried on 429/5xx/timeouts
//! with backoff and jitter, honouring `Retry-After`; and [`UpstreamError`], how a call
//! failed. Upstream bodies are logged at debug level only and never carried further:
//! they can hold server file paths.

use std::time::Duration;

use axum::http::StatusCode;
use bytes::Bytes;
use rand::Rng;
use serde_json::Value;

use crate::error::ProxyError;

/// Longest `Retry-After` the proxy will wait inside one request.
const MAX_RETRY_WAIT: Duration = Duration::from_secs(5);

/// How an EverOS call failed. Bodies are logged at debug level only, never carried.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UpstreamError {
    /// EverOS answered with a non-success status.
    #[error("EverOS answered {status}{}", code.as_deref().map(|c| format!(" {c}")).unwrap_or_default())]
    Status {
        /// HTTP status.
        status: u16,
        /// `Retry-After`, when sent.
        retry_after: Option<Duration>,
        /// The upstream error code (`INVALID_INPUT`, `PROVIDER_NOT_CONFIGURED`, …; v2's
        /// handled envelope), or `route_missing` for FastAPI's plain `{"detail": "Not
        /// Found"}`. A stable word, never the upstream message.
        code: Option<String>,
    },
    /// No answer in time: a write may or may not have been applied.
    #[error("EverOS timed out")]
    Timeout,
    /// EverOS could not be reached; nothing was applied.
    #[error("EverOS unreachable")]
    Connect,
    /// EverOS answered 2xx with a body we could not read.
    #[error("EverOS answered with an unreadable body")]
    Decode,
    /// The EverOS in use cannot do this at all (for example delete on everos 1.5.1).
    #[error("EverOS does not support {0}")]
    Unsupported(&'static str),
}

/// The code word EverOS v2 uses for a route it does not have (FastAPI's plain 404).
pub const ROUTE_MISSING: &str = "route_missing";

impl UpstreamError {
    /// Whether a write that failed this way may nevertheless have been applied.
    pub fn outcome_unknown(&self) -> bool {
        matches!(self, Self::Timeout | Self::Decode)
    }

    /// The upstream error code, when EverOS sent one.
    pub fn code(&self) -> Option<&str> {
        match self {
            Self::Status { code, .. } => code.as_deref(),
            _ => None,
        }
    }

    fn retryable(&self) -> bool {
        match self {
            Self::Status { status, .. } => *status == 429 || *status >= 500,
            Self::Timeout | Self::Connect => true,
            Self::Decode | Self::Unsupported(_) => false,
        }
    }
}

impl From<UpstreamError> for ProxyError {
    fn from(e: UpstreamError) -> Self {
        let status = match e {
            UpstreamError::Unsupported(what) => return ProxyError::NotSupported(what),
            UpstreamError::Timeout => StatusCode::GATEWAY_TIMEOUT,
            UpstreamError::Connect => StatusCode::SERVICE_UNAVAILABLE,
            UpstreamError::Status {
                status: 429 | 503, ..
            } => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::BAD_GATEWAY,
        };
        ProxyError::Upstream(status)
    }
}

/// The stable error code in an EverOS error body, in any of the shapes EverOS uses:
/// v2's handled `{"error": {"code"}}`, FastAPI's plain `{"detail": "Not Found"}` (a
/// missing route: [`ROUTE_MISSING`]) and v1's flat `{"code"}`. Only a short word made of
/// `[A-Za-z0-9_]` is kept: the code is logged and matched on, never a message.
pub fn error_code(status: u16, body: &[u8]) -> Option<String> {
    let v: Value = serde_json::from_slice(body).ok()?;
    let word = |s: &str| {
        (!s.is_empty()
            && s.len() <= 64
            && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'))
        .then(|| s.to_owned())
    };
    if let Some(code) = v.pointer("/error/code").and_then(Value::as_str) {
        return word(code);
    }
    if let Some(detail) = v.get("detail") {
        // FastAPI's own 404 for an unknown route: a string, no request id.
        return match (status, detail.as_str()) {
            (404, Some("Not Found")) => Some(ROUTE_MISSING.to_owned()),
            (405, _) => Some("method_not_allowed".to_owned()),
            (422, _) => Some("INVALID_INPUT".to_owned()),
            _ => None,
        };
    }
    v.get("code").and_then(Value::as_str).and_then(word)
}

/// The reqwest client and the bearer key (none for a self-hosted server).
#[derive(Clone)]
pub struct Transport {
    http: reqwest::Client,
    base_url: String,
    api_key: Option<String>,
    read_retries: u32,
    /// Whole-request timeout.
    timeout: Duration,
    /// The embedded EverOS's routes, called in-process instead of over its HTTP port.
    local: Option<axum::Router>,
}

impl Transport {
    /// A transport to `base_url` (trailing `/` dropped) with these timeouts.
    pub fn new(
        base_url: &str,
        api_key: &str,
        connect_timeout: Duration,
        timeout: Duration,
        read_retries: u32,
    ) -> Self {
        let http = reqwest::Client::builder()
            .connect_timeout(connect_timeout)
            .timeout(timeout)
            .build()
            .unwrap_or_default();
        Self {
            http,
            base_url: base_url.trim_end_matches('/').to_owned(),
            api_key: (!api_key.is_empty()).then(|| api_key.to_owned()),
            read_retries,
            timeout,
            local: None,
        }
    }

    /// Sends every request to `router` in-process (the embedded EverOS: the same routes,
    /// state and store as its HTTP port) instead of over HTTP.
    pub fn in_process(mut self, router: axum::Router) -> Self {
        self.local = Some(router);
        self
    }

    /// [`Self::once`] through the in-process router: the same request (method, path,
    /// bearer key, JSON body), status, `Retry-After` and body, without a socket.
    async fn once_local(
        &self,
        router: &axum::Router,
        path: &str,
        body: Option<&Value>,
        timeout: Option<Duration>,
    ) -> Result<(StatusCode, Option<Duration>, Bytes), UpstreamError> {
        use tower::ServiceExt;
        let mut req = axum::http::Request::builder()
            .method(if body.is_some() { "POST" } else { "GET" })
            .uri(path);
        if let Some(key) = &self.api_key {
            req = req.header(axum::http::header::AUTHORIZATION, format!("Bearer {key}"));
        }
        let bytes = match body {
            Some(b) => {
                req = req.header(axum::http::header::CONTENT_TYPE, "application/json");
                serde_json::to_vec(b).map_err(|_| UpstreamError::Decode)?
            }
            None => Vec::new(),
        };
        let req = req
            .body(axum::body::Body::from(bytes))
            .map_err(|_| UpstreamError::Connect)?;
        let call = async {
            let resp = router
                .clone()
                .oneshot(req)
                .await
                .map_err(|_| UpstreamError::Connect)?;
            let retry_after = resp
                .headers()
                .get(axum::http::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map(Duration::from_secs);
            let status = resp.status();
            let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
                .await
                .map_err(|_| UpstreamError::Decode)?;
            Ok((status, retry_after, bytes))
        };
        tokio::time::timeout(timeout.unwrap_or(self.timeout), call)
            .await
            .map_err(|_| UpstreamError::Timeout)?
    }

    fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let req = self
            .http
            .request(method, format!("{}{path}", self.base_url));
        match &self.api_key {
            Some(key) => req.bearer_auth(key),
            None => req,
        }
    }

    /// [`Self::once`] over HTTP: status, `Retry-After` and body.
    async fn once_http(
        &self,
        op: &str,
        path: &str,
        body: Option<&Value>,
        timeout: Option<Duration>,
    ) -> Result<(StatusCode, Option<Duration>, Bytes), UpstreamError> {
        let mut req = match body {
            Some(b) => self.request(reqwest::Method::POST, path).json(b),
            None => self.request(reqwest::Method::GET, path),
        };
        if let Some(t) = timeout {
            req = req.timeout(t);
        }
        let resp = match req.send().await {
            Ok(r) => r,
            Err(e) if e.is_connect() => return Err(UpstreamError::Connect),
            Err(e) => {
                tracing::debug!(op, error = %e.without_url(), "EverOS request failed");
                return Err(UpstreamError::Timeout);
            }
        };
        let status = resp.status();
        let retry_after = resp
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let bytes = match resp.bytes().await {
            Ok(b) => b,
            Err(e) if e.is_timeout() => return Err(UpstreamError::Timeout),
            Err(_) => return Err(UpstreamError::Decode),
        };
        Ok((status, retry_after, bytes))
    }

    /// One request; `body` is sent as JSON when given (POST), else a GET.
    pub async fn once(
        &self,
        op: &str,
        path: &str,
        body: Option<&Value>,
        timeout: Option<Duration>,
    ) -> Result<Bytes, UpstreamError> {
        let (status, retry_after, bytes) = match &self.local {
            Some(router) => self.once_local(router, path, body, timeout).await?,
            None => self.once_http(op, path, body, timeout).await?,
        };
        if status.is_success() {
            return Ok(bytes);
        }
        tracing::debug!(op, %status, body = %String::from_utf8_lossy(&bytes), "EverOS error body");
        Err(UpstreamError::Status {
            status: status.as_u16(),
            retry_after,
            code: error_code(status.as_u16(), &bytes),
        })
    }

    /// A write: exactly one attempt.
    pub async fn write(
        &self,
        op: &'static str,
        path: &str,
        body: &Value,
    ) -> Result<Bytes, UpstreamError> {
        self.once(op, path, Some(body), None).await
    }

    /// A read: retried on 429/5xx/timeouts with backoff and jitter.
    pub async fn read(
        &self,
        op: &'static str,
        path: &str,
        body: &Value,
    ) -> Result<Bytes, UpstreamError> {
        let mut attempt = 0;
        loop {
            match self.once(op, path, Some(body), None).await {
                Ok(b) => return Ok(b),
                Err(e) if e.retryable() && attempt < self.read_retries => {
                    let wait = match &e {
                        UpstreamError::Status {
                            retry_after: Some(d),
                            ..
                        } => (*d).min(MAX_RETRY_WAIT),
                        _ => backoff(attempt),
                    };
                    tracing::debug!(op, attempt, ?wait, error = %e, "retrying EverOS read");
                    tokio::time::sleep(wait).await;
                    attempt += 1;
                }
                Err(e) => return Err(e),
            }
        }
    }
}

fn backoff(attempt: u32) -> Duration {
    let base = 100u64.saturating_mul(1 << attempt.min(6));
    let jitter = rand::thread_rng().gen_range(0..=base / 2);
    Duration::from_millis(base + jitter)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(status: u16) -> UpstreamError {
        UpstreamError::Status {
            status,
            retry_after: None,
            code: None,
        }
    }

    #[test]
    fn upstream_errors_map_to_documented_statuses() {
        let code = |e: UpstreamError| match ProxyError::from(e) {
            ProxyError::Upstream(s) => s.as_u16(),
            ProxyError::NotSupported(_) => 501,
            _ => 0,
        };
        assert_eq!(code(UpstreamError::Timeout), 504);
        assert_eq!(code(UpstreamError::Connect), 503);
        assert_eq!(code(status(429)), 503);
        assert_eq!(code(status(500)), 502);
        assert_eq!(code(status(422)), 502);
        assert_eq!(code(UpstreamError::Unsupported("delete")), 501);
        assert!(UpstreamError::Timeout.outcome_unknown());
        assert!(!status(500).outcome_unknown());
    }

    #[test]
    fn both_error_shapes_give_a_code_and_never_the_message() {
        let handled = br#"{"request_id":"ab","error":{"code":"INVALID_INPUT","message":"sender_id: bad /srv/app/x.py","timestamp":"t","path":"/api/v2/memory/add"}}"#;
        assert_eq!(error_code(422, handled).as_deref(), Some("INVALID_INPUT"));
        assert_eq!(
            error_code(404, br#"{"detail":"Not Found"}"#).as_deref(),
            Some(ROUTE_MISSING)
        );
        assert_eq!(
            error_code(405, br#"{"detail":"Method Not Allowed"}"#).as_deref(),
            Some("method_not_allowed")
        );
        assert_eq!(
            error_code(422, br#"{"detail":[{"loc":["body"],"msg":"x"}]}"#).as_deref(),
            Some("INVALID_INPUT")
        );
        // v1's flat engine body; a message-like "code" is not a code.
        assert_eq!(
            error_code(400, br#"{"code":"InvalidParameter"}"#).as_deref(),
            Some("InvalidParameter")
        );
        assert_eq!(
            error_code(500, br#"{"error":{"code":"see /etc/passwd"}}"#),
            None
        );
        assert_eq!(error_code(502, b"<html>bad gateway</html>"), None);
        let shown = status(422).to_string();
        assert!(!shown.contains('/'), "{shown}");
    }

    #[test]
    fn backoff_grows() {
        assert!(backoff(0) <= Duration::from_millis(150));
        assert!(backoff(3) >= Duration::from_millis(800));
    }
}
