//! Shared server state: config, storage, the v1 task registry, the v2 queue, test controls
//! and the LLM client.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use crate::config::Config;
use crate::controls::Controls;
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
    generation: AtomicU64,
}

impl AppState {
    /// Opens storage and builds the state for `config`.
    pub fn new(config: Config) -> Result<Self, Error> {
        let store = Store::open(&config.storage)?;
        let llm = config.llm.clone().and_then(|c| match Llm::new(c) {
            Ok(l) => Some(l),
            Err(err) => {
                tracing::warn!(%err, "LLM disabled; using deterministic extraction");
                None
            }
        });
        Ok(Self {
            inner: Arc::new(Inner {
                config,
                store,
                tasks: Tasks::default(),
                queue: Queue::default(),
                controls: Controls::default(),
                llm,
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
