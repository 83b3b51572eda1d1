//! What the EverOS in use can do, learned from the server itself and cached: on v2,
//! `GET /health` (version, whether embeddings are configured: without them vector and
//! hybrid search are refused) and whether the delete route exists (everos 1.5.1 has
//! none); the search method the proxy then uses for episodes. Checked at start, by
//! `/readyz` at most once per [`FRESH_FOR`], and again when EverOS refuses a method.

use std::time::Duration;

use serde::Serialize;

/// How long a check answers `/readyz` before EverOS is asked again (so `/readyz` cannot
/// be used to hammer EverOS).
pub const FRESH_FOR: Duration = Duration::from_secs(5);

/// Which EverOS API the proxy speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Api {
    /// EverOS Cloud v1 (legacy): `/api/v1/memories…`.
    V1,
    /// EverOS v2: the self-hosted server (PyPI `everos` 1.x) and EverOS Cloud v2.
    V2,
}

impl Api {
    /// Parses `v1` / `v2`.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "v1" => Some(Self::V1),
            "v2" => Some(Self::V2),
            _ => None,
        }
    }
}

/// The last check, as `/readyz` reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Capabilities {
    /// The API spoken.
    pub api: Api,
    /// Whether the last check reached EverOS.
    pub reachable: bool,
    /// The server's version, when it says.
    pub version: Option<String>,
    /// Whether vector/hybrid search work; `None`: not known (v1, or never reached).
    pub embeddings: Option<bool>,
    /// Whether forgetting a customer is possible; `None`: not known yet.
    pub delete: Option<bool>,
    /// The search method used for episodes.
    pub search_method: String,
    /// When this was checked, epoch ms (0: never).
    #[serde(skip)]
    pub checked_ms: i64,
}

impl Capabilities {
    /// Before any check: the configured method, nothing known.
    pub fn unchecked(api: Api, configured_method: &str) -> Self {
        Self {
            api,
            reachable: false,
            version: None,
            embeddings: None,
            delete: match api {
                Api::V1 => Some(true),
                Api::V2 => None,
            },
            search_method: configured_method.to_owned(),
            checked_ms: 0,
        }
    }
}

/// The method to search episodes with: the configured one, unless EverOS has no
/// embeddings and the configured one needs them (then `keyword`, the only one that works).
pub fn episode_method(configured: &str, embeddings: Option<bool>) -> String {
    let needs_embeddings = matches!(configured, "vector" | "hybrid");
    if needs_embeddings && embeddings == Some(false) {
        "keyword".to_owned()
    } else {
        configured.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_embeddings_only_keyword_is_used() {
        assert_eq!(episode_method("hybrid", Some(false)), "keyword");
        assert_eq!(episode_method("vector", Some(false)), "keyword");
        assert_eq!(episode_method("hybrid", Some(true)), "hybrid");
        assert_eq!(episode_method("hybrid", None), "hybrid");
        assert_eq!(episode_method("agentic", Some(false)), "agentic");
        assert_eq!(Api::parse("v2"), Some(Api::V2));
        assert_eq!(Api::parse("v3"), None);
    }
}
