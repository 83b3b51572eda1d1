//! The embedded EverOS: when no `EVEROS_BASE_URL` is given, local-everos runs in this
//! process on an ephemeral loopback port with its data in the data dir, and the proxy
//! calls its routes in-process (the same requests and client code as for EverOS Cloud,
//! minus the socket: see `everos::http`; the port stays open for other clients). It loads the
//! sentence-embedding model when there is one (`--embedding-model`, else the cache
//! `scripts/setup` fills), so `/health` announces `embed` and recall goes by meaning.

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
};

use crate::config::EMBEDDING_OFF;
use crate::{Config, StartError};

/// A running embedded EverOS; keep it alive as long as the proxy serves.
#[derive(Debug)]
pub struct Embedded {
    running: local_everos::Running,
    api_key: String,
}

/// The model directory to load: the configured one (none for `off`), else the default
/// cache when it holds the model.
pub fn model_dir(configured: Option<&Path>) -> Option<PathBuf> {
    match configured {
        Some(dir) if dir.as_os_str() == EMBEDDING_OFF => None,
        Some(dir) => Some(dir.to_owned()),
        None => local_everos::embed::default_model_dir()
            .filter(|d| local_everos::embed::looks_like_model(d)),
    }
}

impl Embedded {
    /// Starts local-everos with data under `<data_dir>/everos`, profiles from the first
    /// episode on, and the embedding model when [`model_dir`] finds one.
    pub async fn start(config: &Config) -> Result<Self, StartError> {
        let api_key = crate::identity::keys::random_key();
        let dir = config.data_dir.join("everos");
        crate::data_dir::create_private(&dir).map_err(|source| StartError::DataDir {
            path: dir.display().to_string(),
            source,
        })?;
        let mut everos = local_everos::Config::in_memory(api_key.clone());
        everos.listen = SocketAddr::from(([127, 0, 0, 1], 0));
        everos.storage = local_everos::Storage::DataDir(dir.clone());
        // The demo remembers a name after the first ticket.
        everos.profile_lag_episodes = 0;
        let model = model_dir(config.embedding_model.as_deref());
        everos.embedding_model = model.clone();
        let running = local_everos::spawn(everos)
            .await
            .map_err(|e| StartError::Embedded(e.to_string()))?;
        tracing::info!(
            addr = %running.addr(),
            data = %dir.display(),
            "no EVEROS_BASE_URL given: using the embedded local EverOS; \
             set EVEROS_BASE_URL=https://api.evermind.ai and EVEROS_API_KEY to use EverOS Cloud"
        );
        match (&model, running.embeddings_enabled()) {
            (Some(m), true) => tracing::info!(
                model = %m.display(),
                "recall by meaning: the embedded EverOS loaded the sentence-embedding model \
                 (context and history search hybrid)"
            ),
            (Some(m), false) => tracing::warn!(
                model = %m.display(),
                "recall by keywords only: the embedding model did not load (see above)"
            ),
            (None, _) => tracing::info!(
                "recall by keywords only: no embedding model (scripts/setup fetches it to \
                 ~/.cache/everdesk/models/all-MiniLM-L6-v2; or pass --embedding-model DIR)"
            ),
        }
        Ok(Self { running, api_key })
    }

    /// `http://127.0.0.1:<port>`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.running.addr())
    }

    /// Its routes, to call in-process (the same state and store as its HTTP port).
    pub fn router(&self) -> axum::Router {
        self.running.router()
    }

    /// The per-process key the embedded server expects.
    pub fn api_key(&self) -> &str {
        &self.api_key
    }

    /// Stops the embedded server.
    pub async fn shutdown(self) {
        self.running.shutdown().await;
    }
}
