//! The EverOS client: the only code that talks to EverOS. It speaks EverOS v2 (the
//! self-hosted server and Cloud v2; the default) or Cloud v1 (legacy), chosen by
//! `--everos-api`; the rest of the proxy calls the same methods either way. Writes (add,
//! flush, delete) are sent exactly once — never retried blindly (a timed-out add may
//! still land); reads retry (see `http`). Every call is scoped to one customer.
//!
//! - `http`: transport (HTTP, or in-process to the embedded EverOS), retries and
//!   [`UpstreamError`] (both v2 error shapes);
//! - `ids`: session ids bound to one customer, sender ids, v2 owner ids;
//! - `v1`, `v2`: the two wire formats; `parse`: lenient readers both share;
//! - `caps`: what the server can do (embeddings, delete); `check`: asking it, cached;
//! - `known`: a customer's profile and whether they have episodes, reused briefly (v2).

mod caps;
mod check;
mod http;
pub mod ids;
mod known;
mod parse;
mod v1;
mod v2;

use std::{
    sync::{Arc, RwLock},
    time::{Duration, Instant},
};

use everdesk_api::{HistoryEpisode, MemoryOutcome, ProfileFact};

use crate::metrics::Metrics;
pub use caps::{Api, Capabilities};
pub use http::UpstreamError;
use http::{Transport, ROUTE_MISSING};
pub use parse::parse_iso_ms;

/// Search method of every v1 profile lookup. EverOS v1 silently drops `profile` from a
/// `keyword` search (profiles are vector-only, contract §3.3), so the configured method,
/// which may be `keyword`, applies to episodes only. (v2 reads the one profile document
/// with `get`, which needs no method.)
const V1_PROFILE_METHOD: &str = "hybrid";

/// The upstream code of a method EverOS cannot serve (no embeddings).
const PROVIDER_NOT_CONFIGURED: &str = "PROVIDER_NOT_CONFIGURED";

/// One message of an add.
#[derive(Debug, Clone)]
pub struct WireMessage<'a> {
    /// `user` or `assistant`.
    pub role: &'a str,
    /// Strictly increasing epoch ms per session.
    pub timestamp: i64,
    /// Text.
    pub content: &'a str,
    /// Display name of the sender (v2 `sender_name`), when known.
    pub sender_name: Option<&'a str>,
}

/// Connection settings for [`Everos`].
#[derive(Debug, Clone)]
pub struct EverosSettings {
    /// Base URL without the `/api/…` suffix.
    pub base_url: String,
    /// Bearer key; empty for a self-hosted server (which has no auth).
    pub api_key: String,
    /// The API to speak.
    pub api: Api,
    /// Search method for episodes (`hybrid` by default); without embeddings on v2,
    /// `keyword` is used instead.
    pub method: String,
    /// Connect timeout.
    pub connect_timeout: Duration,
    /// Whole-request timeout.
    pub timeout: Duration,
    /// Extra attempts for reads.
    pub read_retries: u32,
}

/// The EverOS client.
#[derive(Clone)]
pub struct Everos {
    transport: Transport,
    settings: Arc<EverosSettings>,
    metrics: Arc<Metrics>,
    caps: Arc<RwLock<Capabilities>>,
    /// One capability check at a time.
    checking: Arc<tokio::sync::Mutex<()>>,
    /// Customers' memory as last read (v2).
    known: Arc<known::Known>,
    /// The base URL as logged: without user info, query or fragment.
    shown_url: Arc<str>,
}

impl std::fmt::Debug for Everos {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Everos")
            .field("base_url", &self.shown_url)
            .field("api", &self.settings.api)
            .finish_non_exhaustive()
    }
}

impl Everos {
    /// A client for `settings`, counting failures in `metrics`.
    pub fn new(settings: EverosSettings, metrics: Arc<Metrics>) -> Self {
        let transport = Transport::new(
            &settings.base_url,
            &settings.api_key,
            settings.connect_timeout,
            settings.timeout,
            settings.read_retries,
        );
        let caps = Capabilities::unchecked(settings.api, &settings.method);
        let shown_url = shown_url(&settings.base_url).into();
        Self {
            shown_url,
            transport,
            settings: Arc::new(settings),
            metrics,
            caps: Arc::new(RwLock::new(caps)),
            checking: Arc::default(),
            known: Arc::default(),
        }
    }

    /// This client calling `router` (the embedded EverOS's routes) in-process instead of
    /// over HTTP: the same requests and answers, no socket.
    pub fn in_process(mut self, router: axum::Router) -> Self {
        self.transport = self.transport.in_process(router);
        self
    }

    /// The base URL in use, as it may be shown or logged: credentials in it (user info,
    /// a query) are left out.
    pub fn base_url(&self) -> &str {
        &self.shown_url
    }

    /// The API spoken.
    pub fn api(&self) -> Api {
        self.settings.api
    }

    /// The capabilities as last checked.
    pub fn capabilities(&self) -> Capabilities {
        self.caps.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn set_caps(&self, caps: Capabilities) {
        *self.caps.write().unwrap_or_else(|e| e.into_inner()) = caps;
    }

    fn method(&self) -> String {
        self.capabilities().search_method
    }

    fn failed(&self, op: &'static str, e: &UpstreamError) {
        self.metrics.upstream_error(op);
        tracing::warn!(op, error = %e, request_id = %crate::request_id::current(), "EverOS call failed");
    }

    async fn write(
        &self,
        op: &'static str,
        path: &str,
        body: &serde_json::Value,
    ) -> Result<bytes::Bytes, UpstreamError> {
        let out = self.transport.write(op, path, body).await;
        if let Err(e) = &out {
            self.failed(op, e);
        }
        out
    }

    async fn read(
        &self,
        op: &'static str,
        path: &str,
        body: &serde_json::Value,
    ) -> Result<bytes::Bytes, UpstreamError> {
        let out = self.transport.read(op, path, body).await;
        if let Err(e) = &out {
            self.failed(op, e);
        }
        out
    }

    /// Appends `messages` to the customer's session; v2 buffers them
    /// (`defer_extraction`) until [`Self::flush`]. Never retried.
    pub async fn add(
        &self,
        user_id: &str,
        session_id: &str,
        messages: &[WireMessage<'_>],
    ) -> Result<(), UpstreamError> {
        let (path, body) = match self.settings.api {
            Api::V1 => (v1::ADD, v1::add_body(user_id, session_id, messages)),
            Api::V2 => (
                v2::ADD,
                v2::add_body(&ids::v2_owner(user_id), session_id, messages),
            ),
        };
        self.write("add", path, &body).await.map(drop)
    }

    /// Turns the session's buffered messages into an episode. Never retried.
    pub async fn flush(
        &self,
        user_id: &str,
        session_id: &str,
    ) -> Result<MemoryOutcome, UpstreamError> {
        self.known.changing(user_id, Instant::now());
        let bytes = match self.settings.api {
            Api::V1 => {
                let body = v1::flush_body(user_id, session_id);
                let b = self.write("flush", v1::FLUSH, &body).await?;
                return v1::parse_flush(&b).ok_or(UpstreamError::Decode);
            }
            Api::V2 => {
                self.write("flush", v2::FLUSH, &v2::flush_body(session_id))
                    .await?
            }
        };
        v2::parse_flush(&bytes).ok_or(UpstreamError::Decode)
    }

    /// What is remembered about the customer: v2's one profile document (read with
    /// `get`, all of it), or v1's profile items relevant to `query`.
    pub async fn profile(
        &self,
        user_id: &str,
        query: &str,
        top_k: u32,
    ) -> Result<Vec<ProfileFact>, UpstreamError> {
        match self.settings.api {
            Api::V1 => {
                let body =
                    v1::search_body(user_id, None, query, V1_PROFILE_METHOD, "profile", top_k);
                let bytes = self.read("search", v1::SEARCH, &body).await?;
                v1::parse_profiles(&bytes).ok_or(UpstreamError::Decode)
            }
            Api::V2 => {
                let body = v2::get_body(&ids::v2_owner(user_id), "profile", 1);
                let bytes = self.read("get", v2::GET, &body).await?;
                v2::parse_profile(&bytes).ok_or(UpstreamError::Decode)
            }
        }
    }

    /// The customer's episodes relevant to `query`, best first, at most `top_k`.
    pub async fn episodes(
        &self,
        user_id: &str,
        query: &str,
        top_k: u32,
    ) -> Result<Vec<HistoryEpisode>, UpstreamError> {
        let method = self.method();
        match self.settings.api {
            Api::V1 => {
                let body = v1::search_body(user_id, None, query, &method, "episodic_memory", top_k);
                let bytes = self.read("search", v1::SEARCH, &body).await?;
                v1::parse_episodes(&bytes).ok_or(UpstreamError::Decode)
            }
            Api::V2 => {
                let owner = ids::v2_owner(user_id);
                let body = v2::search_body(&owner, query, &method, top_k, None);
                let bytes = match self.read("search", v2::SEARCH, &body).await {
                    Err(e) if e.code() == Some(PROVIDER_NOT_CONFIGURED) && method != "keyword" => {
                        // Embeddings went away since the last check: learn it, use keyword.
                        self.check().await;
                        let body = v2::search_body(&owner, query, "keyword", top_k, None);
                        self.read("search", v2::SEARCH, &body).await?
                    }
                    other => other?,
                };
                v2::parse_episodes(&bytes).ok_or(UpstreamError::Decode)
            }
        }
    }

    /// The context of a customer's message: [`Self::profile`] and [`Self::episodes`] for
    /// `query`. On v2 the profile document and whether the customer has any episode are
    /// reused for up to a minute (see `known`: forgotten when this proxy flushes or deletes
    /// the customer's memory), so a message re-reads neither, and a customer without
    /// episodes costs no search (nor the query's embedding) at all.
    pub async fn context(
        &self,
        user_id: &str,
        query: &str,
        top_k: u32,
    ) -> (
        Result<Vec<ProfileFact>, UpstreamError>,
        Result<Vec<HistoryEpisode>, UpstreamError>,
    ) {
        if self.settings.api == Api::V1 {
            return tokio::join!(
                self.profile(user_id, query, top_k),
                self.episodes(user_id, query, top_k)
            );
        }
        if let Some(known) = self.known.fresh(user_id, Instant::now()) {
            let episodes = if known.has_episodes {
                self.episodes(user_id, query, top_k).await
            } else {
                Ok(Vec::new())
            };
            return (Ok(known.profile), episodes);
        }
        let read_at = Instant::now();
        if !self.known.may_keep(user_id, read_at) {
            // Just flushed by this proxy: read as before, keep nothing.
            return tokio::join!(
                self.profile(user_id, query, top_k),
                self.episodes(user_id, query, top_k)
            );
        }
        let (profile, episodes, newest) = tokio::join!(
            self.profile(user_id, query, top_k),
            self.episodes(user_id, query, top_k),
            self.recent_episodes(user_id, 1, query)
        );
        if let (Ok(profile), Ok(episodes), Ok(newest)) = (&profile, &episodes, &newest) {
            let snapshot = known::Snapshot {
                profile: profile.clone(),
                has_episodes: !episodes.is_empty() || !newest.is_empty(),
            };
            self.known.keep(user_id, snapshot, read_at, Instant::now());
        }
        (profile, episodes)
    }

    /// The customer's newest episodes (v2: `get`, which needs no index to catch up; v1:
    /// a search for `fallback_query`).
    pub async fn recent_episodes(
        &self,
        user_id: &str,
        limit: u32,
        fallback_query: &str,
    ) -> Result<Vec<HistoryEpisode>, UpstreamError> {
        match self.settings.api {
            Api::V1 => self.episodes(user_id, fallback_query, limit).await,
            Api::V2 => {
                let body = v2::get_body(&ids::v2_owner(user_id), "episode", limit);
                let bytes = self.read("get", v2::GET, &body).await?;
                v2::parse_episodes(&bytes).ok_or(UpstreamError::Decode)
            }
        }
    }

    /// Whether the customer turn sent at `timestamp` is buffered in the customer's own
    /// `session_id` (a session bound to this customer: see `ids`): the check before
    /// re-sending an add whose outcome was unknown. Matched by its timestamp, which is
    /// unique per session (an earlier "ok" with the same text is not this one); see
    /// `Pending::is_turn` (in `parse`) for servers that report coarser times or none.
    pub async fn has_pending_user_message(
        &self,
        user_id: &str,
        session_id: &str,
        content: &str,
        timestamp: i64,
    ) -> Result<bool, UpstreamError> {
        let pending = match self.settings.api {
            Api::V1 => {
                let body = v1::search_body(
                    user_id,
                    Some(session_id),
                    content,
                    "keyword",
                    "raw_message",
                    100,
                );
                let bytes = self.read("search", v1::SEARCH, &body).await?;
                v1::parse_pending(&bytes).ok_or(UpstreamError::Decode)?
            }
            Api::V2 => {
                let owner = ids::v2_owner(user_id);
                let body = v2::search_body(&owner, content, "keyword", 100, Some(session_id));
                let bytes = self.read("search", v2::SEARCH, &body).await?;
                v2::parse_pending(&bytes)
                    .ok_or(UpstreamError::Decode)?
                    .into_iter()
                    .filter(|p| {
                        p.sender_id.as_deref().is_none_or(|s| s == owner.as_ref())
                            && p.role.as_deref().is_none_or(|r| r == "user")
                    })
                    .collect()
            }
        };
        Ok(pending.iter().any(|p| p.is_turn(content, timestamp)))
    }

    /// Deletes everything stored for the customer. Never retried. On a server without a
    /// delete route (everos 1.5.1) nothing can be deleted: [`UpstreamError::Unsupported`].
    pub async fn delete_user(&self, user_id: &str) -> Result<(), UpstreamError> {
        self.known.changing(user_id, Instant::now());
        match self.settings.api {
            Api::V1 => {
                let body = v1::delete_user_body(user_id);
                self.write("delete", v1::DELETE, &body).await.map(drop)
            }
            Api::V2 => {
                if self.capabilities().delete.is_none() {
                    self.check().await;
                }
                if self.capabilities().delete == Some(false) {
                    return Err(UpstreamError::Unsupported("deleting memories"));
                }
                let body = v2::delete_body(&ids::v2_owner(user_id));
                match self.write("delete", v2::DELETE, &body).await {
                    Err(e) if e.code() == Some(ROUTE_MISSING) => {
                        self.check().await;
                        Err(UpstreamError::Unsupported("deleting memories"))
                    }
                    other => other.map(drop),
                }
            }
        }
    }
}

/// `url` without user info, query or fragment (which may hold credentials), for logs.
fn shown_url(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(mut u) => {
            let _ = u.set_username("");
            let _ = u.set_password(None);
            u.set_query(None);
            u.set_fragment(None);
            u.as_str().trim_end_matches('/').to_owned()
        }
        Err(_) => "(unparsable EverOS URL)".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::shown_url;

    #[test]
    fn logged_urls_carry_no_credentials() {
        assert_eq!(
            shown_url("https://ops:k3y@everos.example.com:8443/base/?token=k3y#x"),
            "https://everos.example.com:8443/base"
        );
        assert_eq!(shown_url("http://127.0.0.1:1995"), "http://127.0.0.1:1995");
        assert!(!shown_url("not a url k3y").contains("k3y"));
    }
}
