//! Shared server state: config, storage, the v1 task registry, the v2 queue, test
//! controls, the LLM client and the embedding model.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use crate::config::Config;
use crate::controls::Controls;
use crate::embed::{Embedder, MODEL_NAME};
use crate::error::Error;
use crate::llm::Llm;
use crate::store::Store;
use crate::tasks::Tasks;
use crate::v2::queue::Queue;

/// Everything a handler needs; cheap to clone.
#[derive(Debug, Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    config: Config,
    store: Store,
    tasks: Tasks,
    queue: Queue,
    controls: Controls,
    llm: Option<Llm>,
    embedder: Option<Embedder>,
    generation: AtomicU64,
}

/// Loads the embedding model when one is configured; otherwise, or when it cannot be
/// loaded, says once why vector and hybrid search rank by BM25.
fn load_embedder(config: &Config) -> Option<Embedder> {
    let Some(dir) = config.embedding_model.as_deref() else {
        tracing::info!(
            "embeddings off (no --embedding-model): vector and hybrid search rank by BM25"
        );
        return None;
    };
    match Embedder::start(dir) {
        Ok(e) => {
            tracing::info!(
                model = MODEL_NAME,
                dir = %dir.display(),
                load_ms = e.load_time().as_millis(),
                "embeddings on"
            );
            Some(e)
        }
        Err(err) => {
            tracing::warn!(
                %err,
                dir = %dir.display(),
                "embeddings off: cannot load the model (scripts/setup fetches it); vector and hybrid search rank by BM25"
            );
            None
        }
    }
}

impl AppState {
    /// Opens storage, loads the embedding model (if configured; this blocks for about a
    /// second) and builds the state for `config`.
    pub fn new(config: Config) -> Result<Self, Error> {
        let store = Store::open(&config.storage)?;
        let llm = config.llm.clone().and_then(|c| match Llm::new(c) {
            Ok(l) => Some(l),
            Err(err) => {
                tracing::warn!(%err, "LLM disabled; using deterministic extraction");
                None
            }
        });
        let embedder = load_embedder(&config);
        Ok(Self {
            inner: Arc::new(Inner {
                config,
                store,
                tasks: Tasks::default(),
                queue: Queue::default(),
                controls: Controls::default(),
                llm,
                embedder,
                generation: AtomicU64::new(0),
            }),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// The database.
    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    /// Async-add tasks.
    pub fn tasks(&self) -> &Tasks {
        &self.inner.tasks
    }

    /// The v2 memorize queue and its tasks.
    pub fn queue(&self) -> &Queue {
        &self.inner.queue
    }

    /// Faults and the request log.
    pub fn controls(&self) -> &Controls {
        &self.inner.controls
    }

    /// The LLM, when configured.
    pub fn llm(&self) -> Option<&Llm> {
        self.inner.llm.as_ref()
    }

    /// The embedding model, when loaded.
    pub fn embedder(&self) -> Option<&Embedder> {
        self.inner.embedder.as_ref()
    }

    /// Whether search ranks by meaning (the model is loaded): health's
    /// `capabilities.embed`.
    pub fn embeddings_enabled(&self) -> bool {
        self.inner.embedder.is_some()
    }

    /// Data generation; bumped by a reset so late async adds are dropped.
    pub fn generation(&self) -> u64 {
        self.inner.generation.load(Ordering::SeqCst)
    }

    /// Wipes data, tasks, faults and the log.
    pub async fn reset(&self) -> Result<(), Error> {
        self.inner.generation.fetch_add(1, Ordering::SeqCst);
        self.inner.tasks.clear();
        self.inner.queue.clear();
        self.inner.controls.clear();
        self.inner.store.wipe().await
    }
}
