//! Asking EverOS what it can do, and caching the answer: on v2 `GET /health` (version,
//! embeddings) and whether the delete route exists; on Cloud v1 (no health route) an
//! authenticated task lookup. Checked at start, by `/readyz` at most once per
//! [`caps::FRESH_FOR`] (concurrent probes share one check), and again when EverOS
//! refuses a method or a delete.

use std::time::Duration;

use serde_json::json;

use super::{caps, http::ROUTE_MISSING, v2, Api, Capabilities, Everos, UpstreamError};

/// Timeout of the capability checks (`/health`, the delete route).
const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

impl Everos {
    /// Asks EverOS now what it can do, logs what changed, and caches it. Callers that
    /// ask while a check is running share the next result: one that started after they
    /// asked answers them all (a burst of `/readyz` probes is one check, not one each).
    pub async fn check(&self) -> Capabilities {
        let asked = crate::clock::now_ms();
        let _one = self.checking.lock().await;
        let before = self.capabilities();
        if before.checked_ms >= asked {
            return before;
        }
        self.check_now(before).await
    }

    /// The check itself; the caller holds `checking`.
    async fn check_now(&self, before: Capabilities) -> Capabilities {
        let mut caps = before.clone();
        caps.checked_ms = crate::clock::now_ms();
        match self.settings.api {
            Api::V1 => {
                // Cloud v1 has no health route: an authenticated task lookup (404 is fine).
                let probe = self
                    .transport
                    .once(
                        "ready",
                        "/api/v1/tasks/everdesk-readyz",
                        None,
                        Some(CHECK_TIMEOUT),
                    )
                    .await;
                caps.reachable = matches!(
                    probe,
                    Ok(_) | Err(UpstreamError::Status { status: 404, .. })
                );
            }
            Api::V2 => {
                let health = self
                    .transport
                    .once("health", v2::HEALTH, None, Some(CHECK_TIMEOUT))
                    .await;
                match health.ok().and_then(|b| v2::parse_health(&b)) {
                    Some(h) => {
                        caps.reachable = true;
                        caps.version = h.version;
                        caps.embeddings = Some(h.embed);
                    }
                    None => caps.reachable = false,
                }
                if caps.reachable {
                    // A GET on the POST-only delete route: 405 when it exists, FastAPI's
                    // plain 404 when it does not (everos 1.5.1). Never a real delete.
                    let probe = self
                        .transport
                        .once("health", v2::DELETE, None, Some(CHECK_TIMEOUT))
                        .await;
                    caps.delete = match probe {
                        Err(e) if e.code() == Some(ROUTE_MISSING) => Some(false),
                        Err(UpstreamError::Status { status: 404, .. }) => Some(false),
                        Err(UpstreamError::Status { .. }) | Ok(_) => Some(true),
                        Err(_) => before.delete,
                    };
                }
            }
        }
        caps.search_method = caps::episode_method(&self.settings.method, caps.embeddings);
        // The first check always says what it found (an EverOS down at start included).
        let first = before.checked_ms == 0;
        let changed = Capabilities {
            checked_ms: before.checked_ms,
            ..caps.clone()
        } != before;
        if first || changed {
            log_capabilities(self.base_url(), &caps, &self.settings.method);
        }
        self.set_caps(caps.clone());
        caps
    }

    /// Readiness for `/readyz`: the cached check while fresh, else a new one.
    /// Probes that arrive while a check runs wait for it and share its answer.
    pub async fn ready(&self) -> Capabilities {
        let fresh = |caps: &Capabilities| {
            let age = crate::clock::now_ms().saturating_sub(caps.checked_ms);
            caps.checked_ms > 0 && u128::try_from(age).unwrap_or(0) < caps::FRESH_FOR.as_millis()
        };
        let caps = self.capabilities();
        if fresh(&caps) {
            return caps;
        }
        let _one = self.checking.lock().await;
        let caps = self.capabilities();
        if fresh(&caps) {
            return caps;
        }
        self.check_now(caps).await
    }
}

/// One line saying what EverOS can do and what the proxy does about it.
fn log_capabilities(base_url: &str, caps: &Capabilities, configured: &str) {
    let fields = json!(caps);
    if !caps.reachable {
        tracing::warn!(everos = %base_url, "EverOS not reachable; will check again");
        return;
    }
    if caps.search_method != configured {
        tracing::warn!(
            everos = %base_url, capabilities = %fields,
            "EverOS has no embeddings: searching episodes with {} instead of {configured}",
            caps.search_method
        );
    } else {
        tracing::info!(everos = %base_url, capabilities = %fields,
            "EverOS capabilities: searching episodes with {}", caps.search_method);
    }
    if caps.delete == Some(false) {
        tracing::warn!(
            everos = %base_url,
            "EverOS has no delete route: forget-me requests will be refused (not_supported)"
        );
    }
}
