//! The embedding thread: the model lives on one dedicated OS thread, so inference never
//! blocks the async workers and two requests never fight over the two cores. Requests
//! that queue up while it is busy (concurrent searches, each one query) are embedded
//! together in one call — one forward pass per [`sentence`](super::sentence) batch instead
//! of one per query, which on this machine's CPU gives about twice the queries per
//! second (`examples/embed_batch_bench.rs`). [`Embedder`] is the cheap handle to it; the
//! thread ends when the last handle is dropped.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

use crate::embed::{EmbedError, SentenceModel};

type Reply = oneshot::Sender<Result<Vec<Vec<f32>>, EmbedError>>;
type Job = (Vec<String>, Reply);

/// Most texts gathered from waiting requests into one call (a request with more is
/// embedded on its own).
const GATHER_TEXTS: usize = 32;

/// Texts embedded by every embedding thread of this process (benchmarks report it per
/// message).
static TEXTS_EMBEDDED: AtomicU64 = AtomicU64::new(0);

/// Calls of the model (each one batch of gathered texts) by the same threads.
static MODEL_CALLS: AtomicU64 = AtomicU64::new(0);

/// How many texts this process's embedding threads have embedded so far.
pub fn texts_embedded() -> u64 {
    TEXTS_EMBEDDED.load(Ordering::Relaxed)
}

/// How many times those threads have called the model (texts per call = the batching).
pub fn model_calls() -> u64 {
    MODEL_CALLS.load(Ordering::Relaxed)
}

/// A handle to the embedding thread; cheap to clone.
#[derive(Debug, Clone)]
pub struct Embedder {
    jobs: mpsc::Sender<Job>,
    load_time: Duration,
}

impl Embedder {
    /// Loads the model from `dir` (blocking: call it off the async workers) and starts
    /// its thread.
    pub fn start(dir: &Path) -> Result<Self, EmbedError> {
        let started = Instant::now();
        let model = SentenceModel::load(dir)?;
        let load_time = started.elapsed();
        let (jobs, inbox) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("embedder".into())
            .spawn(move || {
                while let Ok(first) = inbox.recv() {
                    run(&model, gather(first, &inbox));
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

/// `first` and the requests already waiting behind it, up to [`GATHER_TEXTS`] texts.
fn gather(first: Job, inbox: &mpsc::Receiver<Job>) -> Vec<Job> {
    let mut texts = first.0.len();
    let mut jobs = vec![first];
    while texts < GATHER_TEXTS {
        match inbox.try_recv() {
            Ok(job) => {
                texts += job.0.len();
                jobs.push(job);
            }
            Err(_) => break,
        }
    }
    jobs
}

/// Embeds `model` over a text list, a panic reported as an error.
fn embed(model: &SentenceModel, texts: &[String]) -> Result<Vec<Vec<f32>>, EmbedError> {
    TEXTS_EMBEDDED.fetch_add(texts.len() as u64, Ordering::Relaxed);
    MODEL_CALLS.fetch_add(1, Ordering::Relaxed);
    catch_unwind(AssertUnwindSafe(|| model.embed(texts))).unwrap_or(Err(EmbedError::Panicked))
}

/// Answers `jobs`: all their texts in one call, each request its own vectors; when that
/// call fails, each request on its own, so one bad text fails only its request.
fn run(model: &SentenceModel, jobs: Vec<Job>) {
    if jobs.len() > 1 {
        let all: Vec<String> = jobs.iter().flat_map(|(t, _)| t.iter().cloned()).collect();
        if let Ok(mut vectors) = embed(model, &all) {
            for (texts, reply) in jobs.into_iter().rev() {
                let mine = vectors.split_off(vectors.len().saturating_sub(texts.len()));
                // The asker may have gone (request cancelled): nothing to do.
                let _ = reply.send(Ok(mine));
            }
            return;
        }
    }
    for (texts, reply) in jobs {
        let _ = reply.send(embed(model, &texts));
    }
}
