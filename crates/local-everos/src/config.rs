//! Server configuration: where to listen, the bearer key, storage and the timing knobs.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

/// Where memories are kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Storage {
    /// A private in-memory SQLite database, gone when the server stops.
    InMemory,
    /// A SQLite database (WAL) in this directory; survives restarts.
    DataDir(PathBuf),
}

/// An OpenAI-compatible chat endpoint used for extraction (deterministic fallback on failure).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LlmConfig {
    /// Base URL, e.g. `http://127.0.0.1:11434/v1` (`/chat/completions` is appended).
    pub base_url: String,
    /// Bearer key sent to the endpoint.
    pub api_key: String,
    /// Model name.
    pub model: String,
}

/// How to start the server.
#[derive(Debug, Clone)]
pub struct Config {
    /// Address to listen on; port 0 picks a free port.
    pub listen: SocketAddr,
    /// The bearer key clients must present.
    pub api_key: String,
    /// Where data lives.
    pub storage: Storage,
    /// How long after a cut its profile items become visible (EverOS builds profiles later).
    pub profile_delay: Duration,
    /// How long after a cut its episode becomes visible to search (v1 and v2) and to the
    /// v2 `get` (the v1 `get` sees it at once).
    pub index_lag: Duration,
    /// Extra delay, on top of `index_lag`, before a v2 `method: "keyword"` search finds a
    /// fresh episode (the real server optimises its BM25 index on a 60 s beat).
    pub keyword_lag: Duration,
    /// How many of a user's newest episodes the v2 profile document does not reflect yet:
    /// 1 (the real server with embeddings on) means no profile after the first episode and
    /// the first episode's facts after the second; 0 shows facts as soon as the profile
    /// delay has passed. The v1 API ignores it.
    pub profile_lag_episodes: u32,
    /// Serve the v2 `delete` and `delete_by_ids` routes (everos ≥ 1.6, Cloud v2); off, they
    /// are a plain 404 like everos 1.5.1.
    pub delete_enabled: bool,
    /// Refuse v2 search methods whose provider is missing, as the real server does:
    /// `vector`/`hybrid`/`agentic`/`llm_multiround` answer 422 `PROVIDER_NOT_CONFIGURED`
    /// without embeddings (and `agentic` without a reranker). Off (the default), they are
    /// served with the local ranking.
    pub strict_capabilities: bool,
    /// How long an `async_mode` add stays `processing` before its messages are buffered.
    pub async_delay: Duration,
    /// Mounts the `/_test/` admin surface (faults, request log, reset).
    pub test_controls: bool,
    /// Optional LLM for subject/summary/episode and profile facts.
    pub llm: Option<LlmConfig>,
    /// Directory of the all-MiniLM-L6-v2 model (`config.json`, `tokenizer.json`,
    /// `model.safetensors`; `scripts/setup` fetches it). `None`, or a directory that
    /// cannot be loaded, leaves embeddings off: every method ranks by BM25.
    pub embedding_model: Option<PathBuf>,
}

/// Default profile delay, as on the command line.
pub const DEFAULT_PROFILE_DELAY: Duration = Duration::from_millis(2000);
/// Default v2 profile lag in episodes (the real server with embeddings on).
pub const DEFAULT_PROFILE_LAG_EPISODES: u32 = 1;
/// Default async-add delay, as on the command line.
pub const DEFAULT_ASYNC_DELAY: Duration = Duration::from_millis(200);

impl Config {
    /// An in-memory server on `127.0.0.1:0` with default delays, delete on, lenient
    /// capabilities and no test controls.
    pub fn in_memory(api_key: impl Into<String>) -> Self {
        Self {
            listen: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            api_key: api_key.into(),
            storage: Storage::InMemory,
            profile_delay: DEFAULT_PROFILE_DELAY,
            index_lag: Duration::ZERO,
            keyword_lag: Duration::ZERO,
            profile_lag_episodes: DEFAULT_PROFILE_LAG_EPISODES,
            delete_enabled: true,
            strict_capabilities: false,
            async_delay: DEFAULT_ASYNC_DELAY,
            test_controls: false,
            llm: None,
            embedding_model: None,
        }
    }
}
