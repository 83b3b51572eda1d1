//! The EverOS Cloud v1 client: the only code that talks to EverOS. Writes (add, flush,
//! delete) are sent exactly once — never retried blindly (EverOS issue #274: a timed-out
//! add may still have been applied); reads (search) retry 429/5xx/timeouts with backoff
//! and jitter, honouring `Retry-After`. Every call is scoped to one customer's `user_id`.

mod wire;

use std::{sync::Arc, time::Duration};

use axum::http::StatusCode;
use bytes::Bytes;
use everdesk_api::{HistoryEpisode, MemoryOutcome, ProfileFact};
use rand::Rng;
use serde_json::Value;

use crate::{error::ProxyError, metrics::Metrics};
pub use wire::{parse_iso_ms, WireMessage};

/// Search method of every profile lookup. EverOS silently drops `profile` from a
/// `keyword` search (profiles are vector-only, contract §3.3), so the configured method,
/// which may be `keyword`, applies to episodes only.
const PROFILE_METHOD: &str = "hybrid";

/// Longest `Retry-After` the proxy will wait inside one request.
const MAX_RETRY_WAIT: Duration = Duration::from_secs(5);

/// How an EverOS call failed. Bodies are logged at debug level only, never carried.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UpstreamError {
    /// EverOS answered with a non-success status.
    #[error("EverOS answered {status}")]
    Status {
        /// HTTP status.
        status: u16,
        /// `Retry-After`, when sent.
        retry_after: Option<Duration>,
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
}

impl UpstreamError {
    /// Whether a write that failed this way may nevertheless have been applied.
    pub fn outcome_unknown(&self) -> bool {
        matches!(self, Self::Timeout | Self::Decode)
    }

    fn retryable(&self) -> bool {
        match self {
            Self::Status { status, .. } => *status == 429 || *status >= 500,
            Self::Timeout | Self::Connect => true,
            Self::Decode => false,
        }
    }
}

impl From<UpstreamError> for ProxyError {
    fn from(e: UpstreamError) -> Self {
        let status = match e {
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

/// Connection settings for [`Everos`].
#[derive(Debug, Clone)]
pub struct EverosSettings {
    /// Base URL without the `/api/v1` suffix.
    pub base_url: String,
    /// Bearer key.
    pub api_key: String,
    /// Search method for episodes (`hybrid` by default); profiles always use `hybrid`.
    pub method: String,
    /// Connect timeout.
    pub connect_timeout: Duration,
    /// Whole-request timeout.
    pub timeout: Duration,
    /// Extra attempts for reads.
    pub read_retries: u32,
}

/// EverOS Cloud v1 client.
#[derive(Clone)]
pub struct Everos {
    http: reqwest::Client,
    settings: Arc<EverosSettings>,
    metrics: Arc<Metrics>,
}

impl std::fmt::Debug for Everos {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Everos")
            .field("base_url", &self.settings.base_url)
            .finish_non_exhaustive()
    }
}

impl Everos {
    /// A client for `settings`, counting failures in `metrics`.
    pub fn new(settings: EverosSettings, metrics: Arc<Metrics>) -> Self {
        let http = reqwest::Client::builder()
            .connect_timeout(settings.connect_timeout)
            .timeout(settings.timeout)
            .build()
            .unwrap_or_default();
        let mut settings = settings;
        settings.base_url = settings.base_url.trim_end_matches('/').to_owned();
        Self {
            http,
            settings: Arc::new(settings),
            metrics,
        }
    }

    /// The base URL in use.
    pub fn base_url(&self) -> &str {
        &self.settings.base_url
    }

    async fn once(&self, op: &str, path: &str, body: &Value) -> Result<Bytes, UpstreamError> {
        let url = format!("{}{path}", self.settings.base_url);
        let sent = self
            .http
            .post(&url)
            .bearer_auth(&self.settings.api_key)
            .json(body)
            .send()
            .await;
        let resp = match sent {
            Ok(r) => r,
            Err(e) if e.is_connect() => return Err(UpstreamError::Connect),
            Err(e) => {
                tracing::debug!(op, error = %e, "EverOS request failed");
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
        if status.is_success() {
            return Ok(bytes);
        }
        tracing::debug!(op, %status, body = %String::from_utf8_lossy(&bytes), "EverOS error body");
        Err(UpstreamError::Status {
            status: status.as_u16(),
            retry_after,
        })
    }

    /// A write: exactly one attempt.
    async fn write(
        &self,
        op: &'static str,
        path: &str,
        body: &Value,
    ) -> Result<Bytes, UpstreamError> {
        let out = self.once(op, path, body).await;
        if let Err(e) = &out {
            self.failed(op, e);
        }
        out
    }

    /// A read: retried on 429/5xx/timeouts with backoff and jitter.
    async fn read(
        &self,
        op: &'static str,
        path: &str,
        body: &Value,
    ) -> Result<Bytes, UpstreamError> {
        let mut attempt = 0;
        loop {
            match self.once(op, path, body).await {
                Ok(b) => return Ok(b),
                Err(e) if e.retryable() && attempt < self.settings.read_retries => {
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
                Err(e) => {
                    self.failed(op, &e);
                    return Err(e);
                }
            }
        }
    }

    fn failed(&self, op: &'static str, e: &UpstreamError) {
        self.metrics.upstream_error(op);
        tracing::warn!(op, error = %e, request_id = %crate::request_id::current(), "EverOS call failed");
    }

    /// Appends messages to `(user_id, session_id)`; `async_mode: false`. Never retried.
    pub async fn add(
        &self,
        user_id: &str,
        session_id: &str,
        messages: &[WireMessage<'_>],
    ) -> Result<(), UpstreamError> {
        let body = wire::add_body(user_id, session_id, messages);
        self.write("add", "/api/v1/memories", &body).await.map(drop)
    }

    /// Flushes `(user_id, session_id)` into an episode. Never retried.
    pub async fn flush(
        &self,
        user_id: &str,
        session_id: &str,
    ) -> Result<MemoryOutcome, UpstreamError> {
        let body = wire::flush_body(user_id, session_id);
        let bytes = self.write("flush", "/api/v1/memories/flush", &body).await?;
        wire::parse_flush(&bytes).ok_or(UpstreamError::Decode)
    }

    /// Profile facts of `user_id` relevant to `query` (read from `data.profiles`), always
    /// searched with `hybrid` whatever method is configured (see `PROFILE_METHOD`).
    pub async fn profile(
        &self,
        user_id: &str,
        query: &str,
        top_k: u32,
    ) -> Result<Vec<ProfileFact>, UpstreamError> {
        let body = wire::search_body(user_id, None, query, PROFILE_METHOD, "profile", top_k);
        let bytes = self
            .read("search", "/api/v1/memories/search", &body)
            .await?;
        wire::parse_profiles(&bytes).ok_or(UpstreamError::Decode)
    }

    /// Episodes of `user_id` relevant to `query` (read from `data.episodes`).
    pub async fn episodes(
        &self,
        user_id: &str,
        query: &str,
        top_k: u32,
    ) -> Result<Vec<HistoryEpisode>, UpstreamError> {
        let body = wire::search_body(
            user_id,
            None,
            query,
            &self.settings.method,
            "episodic_memory",
            top_k,
        );
        let bytes = self
            .read("search", "/api/v1/memories/search", &body)
            .await?;
        wire::parse_episodes(&bytes).ok_or(UpstreamError::Decode)
    }

    /// Whether a user turn with exactly `content` is buffered in `(user_id, session_id)`:
    /// the check before re-sending an add whose outcome was unknown.
    pub async fn has_raw_user_message(
        &self,
        user_id: &str,
        session_id: &str,
        content: &str,
    ) -> Result<bool, UpstreamError> {
        let body = wire::search_body(
            user_id,
            Some(session_id),
            content,
            "keyword",
            "raw_message",
            100,
        );
        let bytes = self
            .read("search", "/api/v1/memories/search", &body)
            .await?;
        let texts = wire::parse_raw_texts(&bytes).ok_or(UpstreamError::Decode)?;
        Ok(texts.iter().any(|t| t == content))
    }

    /// Deletes everything stored for `user_id`. Never retried.
    pub async fn delete_user(&self, user_id: &str) -> Result<(), UpstreamError> {
        let body = wire::delete_user_body(user_id);
        self.write("delete", "/api/v1/memories/delete", &body)
            .await
            .map(drop)
    }

    /// Readiness: EverOS answers an authenticated request (a task lookup; 404 is fine).
    pub async fn ready(&self) -> bool {
        let url = format!("{}/api/v1/tasks/everdesk-readyz", self.settings.base_url);
        let sent = self
            .http
            .get(url)
            .bearer_auth(&self.settings.api_key)
            .timeout(Duration::from_secs(2))
            .send()
            .await;
        match sent {
            Ok(r) => r.status().is_success() || r.status() == reqwest::StatusCode::NOT_FOUND,
            Err(_) => false,
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

    #[test]
    fn upstream_errors_map_to_documented_statuses() {
        let code = |e: UpstreamError| match ProxyError::from(e) {
            ProxyError::Upstream(s) => s.as_u16(),
            _ => 0,
        };
        assert_eq!(code(UpstreamError::Timeout), 504);
        assert_eq!(code(UpstreamError::Connect), 503);
        assert_eq!(
            code(UpstreamError::Status {
                status: 429,
                retry_after: None
            }),
            503
        );
        assert_eq!(
            code(UpstreamError::Status {
                status: 500,
                retry_after: None
            }),
            502
        );
        assert!(UpstreamError::Timeout.outcome_unknown());
        assert!(!UpstreamError::Status {
            status: 500,
            retry_after: None
        }
        .outcome_unknown());
    }

    #[test]
    fn backoff_grows() {
        assert!(backoff(0) <= Duration::from_millis(150));
        assert!(backoff(3) >= Duration::from_millis(800));
    }
}
