//! The `local-everos` binary: parse flags (each also an env var), serve, print the
//! listening line, stop on a signal.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{ArgGroup, Parser};
use local_everos::{Config, LlmConfig, Storage};

/// An EverOS-compatible memory server speaking v2 and Cloud v1 over one store (EverDesk's
/// local backend and test fake).
#[derive(Debug, Parser)]
#[command(version, about, group(ArgGroup::new("storage").required(true).args(["data_dir", "in_memory"])))]
struct Args {
    /// Address to listen on (port 0 picks a free one).
    #[arg(long, env = "LOCAL_EVEROS_LISTEN", default_value = "127.0.0.1:8788")]
    listen: SocketAddr,
    /// Bearer key clients must present.
    #[arg(long, env = "LOCAL_EVEROS_API_KEY", hide_env_values = true)]
    api_key: String,
    /// Keep data in a SQLite database (WAL) in this directory.
    #[arg(long, env = "LOCAL_EVEROS_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// Keep data in memory only.
    #[arg(long, env = "LOCAL_EVEROS_IN_MEMORY")]
    in_memory: bool,
    /// Milliseconds after a cut before its profile facts are visible.
    #[arg(long, env = "LOCAL_EVEROS_PROFILE_DELAY_MS", default_value_t = 2000)]
    profile_delay_ms: u64,
    /// Milliseconds after a cut before its episode is visible to search and the v2 get (the
    /// v1 get sees it at once).
    #[arg(long, env = "LOCAL_EVEROS_INDEX_LAG_MS", default_value_t = 0)]
    index_lag_ms: u64,
    /// Extra milliseconds before a v2 keyword search finds a fresh episode.
    #[arg(long, env = "LOCAL_EVEROS_KEYWORD_LAG_MS", default_value_t = 0)]
    keyword_lag_ms: u64,
    /// How many of a user's newest episodes the v2 profile does not reflect yet (1 = like
    /// the real server: no profile after the first episode; 0 = at once).
    #[arg(long, env = "LOCAL_EVEROS_PROFILE_LAG_EPISODES", default_value_t = 1)]
    profile_lag_episodes: u32,
    /// Answer the v2 delete routes with a plain 404, like everos 1.5.1.
    #[arg(long, env = "LOCAL_EVEROS_NO_DELETE")]
    no_delete: bool,
    /// Refuse v2 vector/hybrid/agentic/llm_multiround searches with 422
    /// PROVIDER_NOT_CONFIGURED (no embeddings or reranker here), like the real server.
    #[arg(long, env = "LOCAL_EVEROS_STRICT_CAPABILITIES")]
    strict_capabilities: bool,
    /// Milliseconds an async add waits before it is processed (v1: stays `processing`;
    /// v2: once its turn in the session's queue comes).
    #[arg(long, env = "LOCAL_EVEROS_ASYNC_DELAY_MS", default_value_t = 200)]
    async_delay_ms: u64,
    /// Mount the /_test/ admin surface (faults, request log, reset). Never in production.
    #[arg(long, env = "LOCAL_EVEROS_TEST_CONTROLS")]
    test_controls: bool,
    /// OpenAI-compatible base URL for LLM extraction (e.g. http://127.0.0.1:11434/v1).
    #[arg(long, env = "LOCAL_EVEROS_LLM_BASE_URL", requires = "llm_model")]
    llm_base_url: Option<String>,
    /// API key for the LLM endpoint.
    #[arg(
        long,
        env = "LOCAL_EVEROS_LLM_API_KEY",
        default_value = "none",
        hide_env_values = true
    )]
    llm_api_key: String,
    /// Model name for the LLM endpoint.
    #[arg(long, env = "LOCAL_EVEROS_LLM_MODEL")]
    llm_model: Option<String>,
    /// Directory of the all-MiniLM-L6-v2 model (scripts/setup fetches it into
    /// ~/.cache/everdesk/models/all-MiniLM-L6-v2): vector and hybrid search by meaning.
    /// Without it they rank by BM25.
    #[arg(long, env = "LOCAL_EVEROS_EMBEDDING_MODEL")]
    embedding_model: Option<PathBuf>,
}

impl Args {
    fn into_config(self) -> Config {
        let storage = match self.data_dir {
            Some(dir) => Storage::DataDir(dir),
            None => Storage::InMemory,
        };
        let llm = match (self.llm_base_url, self.llm_model) {
            (Some(base_url), Some(model)) => Some(LlmConfig {
                base_url,
                api_key: self.llm_api_key,
                model,
            }),
            _ => None,
        };
        Config {
            listen: self.listen,
            api_key: self.api_key,
            storage,
            profile_delay: Duration::from_millis(self.profile_delay_ms),
            index_lag: Duration::from_millis(self.index_lag_ms),
            keyword_lag: Duration::from_millis(self.keyword_lag_ms),
            profile_lag_episodes: self.profile_lag_episodes,
            delete_enabled: !self.no_delete,
            strict_capabilities: self.strict_capabilities,
            async_delay: Duration::from_millis(self.async_delay_ms),
            test_controls: self.test_controls,
            llm,
            embedding_model: self.embedding_model,
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(err) = tokio::signal::ctrl_c().await {
            tracing::warn!(%err, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { () = ctrl_c => {}, () = term => {} }
}

fn main() -> Result<(), local_everos::Error> {
    // Before the runtime starts any thread (it changes the environment).
    local_everos::embed::one_encoder_thread_unless_configured();
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(serve())
}

async fn serve() -> Result<(), local_everos::Error> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "local_everos=info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let running = local_everos::spawn(Args::parse().into_config()).await?;
    {
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        writeln!(out, "listening on {}", running.base_url())?;
        out.flush()?;
    }
    shutdown_signal().await;
    running.shutdown().await;
    Ok(())
}
