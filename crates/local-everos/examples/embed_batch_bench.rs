//! Benchmark (not a test): throughput and CPU time of embedding short queries one at a
//! time versus in batches of 2–32 on this machine, the measurement behind the embedding
//! thread's batching of concurrent queries (`src/embed/worker.rs`). CPU time is the
//! process's (all threads: candle's rayon workers spin while they wait), read from
//! `/proc/self/task/*/schedstat`, so a busy machine shows in wall time more than in it.
//! Run: `cargo run --release -p local-everos --example embed_batch_bench [-- MODEL_DIR]`
//! (`RAYON_NUM_THREADS` sizes candle's thread pool; `EMBED_BENCH_QUERIES` is the number
//! of queries per batch size, 64 by default; `EMBED_BENCH_BATCHES=1,16` picks the batch
//! sizes; `EMBED_BENCH_MIXED=1` gives the queries different lengths, 10 to 45 tokens, as
//! concurrent customers' messages have, instead of one 12-token shape).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use local_everos::embed::SentenceModel;

/// CPU time used so far by every live thread of this process (Linux; zero elsewhere).
fn cpu_time() -> Duration {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return Duration::ZERO;
    };
    let nanos: u64 = tasks
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("schedstat")).ok())
        .filter_map(|s| s.split_whitespace().next()?.parse::<u64>().ok())
        .sum();
    Duration::from_nanos(nanos)
}

fn main() {
    local_everos::embed::one_encoder_thread_unless_configured();
    let dir = std::env::args()
        .nth(1)
        .map(std::path::PathBuf::from)
        .or_else(local_everos::embed::default_model_dir)
        .unwrap();
    let n: usize = std::env::var("EMBED_BENCH_QUERIES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(64);
    let t = Instant::now();
    let model = SentenceModel::load(&dir).unwrap();
    println!("load: {:.0?}", t.elapsed());
    let mixed = std::env::var_os("EMBED_BENCH_MIXED").is_some();
    let queries: Vec<String> = (0..n)
        .map(|m| {
            let mut q = format!("My invoice number {m} was charged twice");
            if mixed {
                // 0 to 5 more clauses of 6 tokens, in an order that mixes lengths in a batch.
                for _ in 0..(m * 7) % 6 {
                    q.push_str(" and the refund has not arrived yet");
                }
            }
            q
        })
        .collect();
    model.embed(&queries[..4]).unwrap();
    let total = (Instant::now(), cpu_time());
    let batches: Vec<usize> = std::env::var("EMBED_BENCH_BATCHES")
        .ok()
        .map(|v| v.split(',').filter_map(|b| b.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![1, 2, 4, 8, 16, 32]);
    for batch in batches {
        let rounds = n / batch;
        let (t, cpu) = (Instant::now(), cpu_time());
        for r in 0..rounds {
            model.embed(&queries[r * batch..(r + 1) * batch]).unwrap();
        }
        let done = (rounds * batch) as u32;
        let per = t.elapsed() / done;
        let cpu = (cpu_time() - cpu) / done;
        println!(
            "batch {batch:>2}: {per:.2?} per query, {:.0} queries/s, {cpu:.2?} CPU per query",
            1.0 / per.as_secs_f64()
        );
    }
    println!(
        "all: {:.2?} wall, {:.2?} CPU",
        total.0.elapsed(),
        cpu_time() - total.1
    );
}
