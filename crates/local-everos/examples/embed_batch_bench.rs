//! Benchmark (not a test): throughput of embedding short queries one at a time versus
//! in batches of 2–32 on this machine, the measurement behind the embedding thread's
//! batching of concurrent queries (`src/embed/worker.rs`).
//! Run: `cargo run --release -p local-everos --example embed_batch_bench [-- MODEL_DIR]`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Instant;

use local_everos::embed::SentenceModel;

fn main() {
    let dir = std::env::args()
        .nth(1)
        .map(std::path::PathBuf::from)
        .or_else(local_everos::embed::default_model_dir)
        .unwrap();
    let model = SentenceModel::load(&dir).unwrap();
    let queries: Vec<String> = (0..64)
        .map(|m| format!("My invoice number {m} was charged twice"))
        .collect();
    model.embed(&queries[..4]).unwrap();
    for batch in [1usize, 2, 4, 8, 16, 32] {
        let rounds = 64 / batch;
        let t = Instant::now();
        for r in 0..rounds {
            model.embed(&queries[r * batch..(r + 1) * batch]).unwrap();
        }
        let per = t.elapsed() / 64;
        println!(
            "batch {batch:>2}: {per:.2?} per query, {:.0} queries/s",
            1.0 / per.as_secs_f64()
        );
    }
}
