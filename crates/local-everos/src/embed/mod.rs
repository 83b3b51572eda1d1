//! Sentence embeddings for recall by meaning: all-MiniLM-L6-v2 run in Rust on the CPU
//! (candle + Hugging Face's tokenizer), loaded once from a model directory (the one
//! `scripts/setup` fetches) and run on a dedicated thread, never on the async workers.
//!
//! A vector is what sentence-transformers computes for this model: the text's first
//! [`sentence::MAX_TOKENS`] tokens through the BERT encoder, mean-pooled over the
//! attention mask and L2-normalised, so the cosine of two vectors is their dot product.

pub mod bert;
mod fused;
mod kernels;
pub mod sentence;
pub mod worker;

use std::path::{Path, PathBuf};

pub use sentence::{SentenceModel, DIM};
pub use worker::{model_calls, texts_embedded, Embedder};

/// The model's name in logs.
pub const MODEL_NAME: &str = "all-MiniLM-L6-v2";

/// Why the model could not be loaded or run.
#[derive(Debug, thiserror::Error)]
pub enum EmbedError {
    /// A model file could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// `config.json` is not a BERT config this encoder supports.
    #[error("config.json: {0}")]
    Config(String),
    /// The tokenizer could not be loaded or failed on a text.
    #[error("tokenizer: {0}")]
    Tokenizer(String),
    /// A tensor operation failed (missing or misshapen weights, …).
    #[error("model: {0}")]
    Tensor(#[from] candle_core::Error),
    /// The model thread panicked on a batch.
    #[error("the embedding thread panicked")]
    Panicked,
    /// The model thread is gone.
    #[error("the embedding thread stopped")]
    Stopped,
}

/// Where `scripts/setup` unpacks the model: `$XDG_CACHE_HOME` (or `$HOME/.cache`)
/// `/everdesk/models/all-MiniLM-L6-v2`. `None` without a home directory.
pub fn default_model_dir() -> Option<PathBuf> {
    let cache = match std::env::var_os("XDG_CACHE_HOME") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => PathBuf::from(std::env::var_os("HOME")?).join(".cache"),
    };
    Some(cache.join("everdesk/models").join(MODEL_NAME))
}

/// Whether `dir` holds the files [`SentenceModel::load`] reads.
pub fn looks_like_model(dir: &Path) -> bool {
    ["config.json", "tokenizer.json", "model.safetensors"]
        .iter()
        .all(|f| dir.join(f).is_file())
}

/// Cosine similarity of two L2-normalised vectors (their dot product); 0 when the
/// lengths differ (a vector from another model).
pub fn cosine(a: &[f32], b: &[f32]) -> f64 {
    if a.len() != b.len() {
        return 0.0;
    }
    a.iter()
        .zip(b)
        .map(|(x, y)| f64::from(*x) * f64::from(*y))
        .sum()
}

/// A vector as stored: f32 little-endian.
pub fn to_blob(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// A stored vector; `None` when the blob is not [`DIM`] f32s (another model's).
pub fn from_blob(b: &[u8]) -> Option<Vec<f32>> {
    if b.len() != DIM * 4 {
        return None;
    }
    Some(
        b.chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect(),
    )
}

/// Makes candle run the encoder on the calling thread alone unless the operator chose
/// otherwise: candle splits matrix products over `RAYON_NUM_THREADS` threads (default:
/// every core) and its quantized kernels over `CANDLE_NUM_THREADS`; when neither is set
/// this sets both to 1. Measured on this 2-core machine (`examples/embed_batch_bench.rs`,
/// README): a second thread cuts a lone query's wall time by a fifth at best for about
/// 40% more CPU per query, and makes a batch of 16 slower in both when the other core is
/// busy (its workers spin waiting for work); running the encoder inside a one-thread
/// rayon pool instead still lets candle split each product in two, which cost 20–40%
/// more CPU at batches of 8–16.
///
/// Call it first thing in `main`, before any other thread starts (the binaries start
/// their tokio runtime after it): changing the environment while another thread may
/// read it is undefined behaviour in C libraries. Without it the encoder is correct,
/// only costlier.
pub fn one_encoder_thread_unless_configured() {
    let set = |var: &str| std::env::var_os(var).is_some_and(|v| !v.is_empty());
    if !set("RAYON_NUM_THREADS") && !set("CANDLE_NUM_THREADS") {
        std::env::set_var("RAYON_NUM_THREADS", "1");
        std::env::set_var("CANDLE_NUM_THREADS", "1");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blobs_round_trip_and_reject_other_sizes() {
        let v: Vec<f32> = (0..DIM).map(|i| i as f32 / 7.0 - 3.0).collect();
        let b = to_blob(&v);
        assert_eq!(b.len(), DIM * 4);
        assert_eq!(&b[..4], &v[0].to_le_bytes());
        assert_eq!(from_blob(&b), Some(v));
        assert_eq!(from_blob(&b[..8]), None);
    }

    #[test]
    fn cosine_of_unit_vectors() {
        let a = [0.6f32, 0.8];
        assert!((cosine(&a, &a) - 1.0).abs() < 1e-6);
        assert!(cosine(&a, &[0.8, -0.6]).abs() < 1e-6);
        assert_eq!(cosine(&a, &[1.0]), 0.0);
    }
}
