//! The embedding thread: the model lives on one dedicated OS thread and embeds one
//! request's texts at a time, so inference never blocks the async workers and two
//! requests never fight over the two cores. [`Embedder`] is the cheap handle to it; the
//! thread ends when the last handle is dropped.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

use crate::embed::{EmbedError, SentenceModel};

type Reply = oneshot::Sender<Result<Vec<Vec<f32>>, EmbedError>>;

/// A handle to the embedding thread; cheap to clone.
#[derive(Debug, Clone)]
pub struct Embedder {
    jobs: mpsc::Sender<(Vec<String>, Reply)>,
    load_time: Duration,
}

impl Embedder {
    /// Loads the model from `dir` (blocking: call it off the async workers) and starts
    /// its thread.
    pub fn start(dir: &Path) -> Result<Self, EmbedError> {
        let started = Instant::now();
        let model = SentenceModel::load(dir)?;
        let load_time = started.elapsed();
        let (jobs, inbox) = mpsc::channel::<(Vec<String>, Reply)>();
        std::thread::Builder::new()
            .name("embedder".into())
            .spawn(move || {
                for (texts, reply) in inbox {
                    let result = catch_unwind(AssertUnwindSafe(|| model.embed(&texts)))
                        .unwrap_or(Err(EmbedError::Panicked));
                    // The asker may have gone (request cancelled): nothing to do.
                    let _ = reply.send(result);
                }
            })
            .map_err(|source| EmbedError::Io {
                path: dir.to_owned(),
                source,
            })?;
        Ok(Self { jobs, load_time })
    }

    /// How long loading the model took.
    pub fn load_time(&self) -> Duration {
        self.load_time
    }

    /// One unit vector per text, in order, computed on the embedding thread.
    pub async fn embed(&self, texts: Vec<String>) -> Result<Vec<Vec<f32>>, EmbedError> {
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        let (reply, answer) = oneshot::channel();
        self.jobs
            .send((texts, reply))
            .map_err(|_| EmbedError::Stopped)?;
        answer.await.map_err(|_| EmbedError::Stopped)?
    }

    /// The vector of one text.
    pub async fn embed_one(&self, text: &str) -> Result<Vec<f32>, EmbedError> {
        self.embed(vec![text.to_owned()])
            .await?
            .pop()
            .ok_or(EmbedError::Stopped)
    }
}
