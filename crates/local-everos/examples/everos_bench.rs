//! Benchmark (not a test): over real HTTP against an in-memory server, insert 10,000
//! episodes (add + flush across many users), then measure adds/s and searches/s.
//! Run: `cargo run --release -p local-everos --example everos_bench`.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use serde_json::json;

const USERS: usize = 1000;
const EPISODES: usize = 10_000;
const SEARCHES: usize = 10_000;
const CONCURRENCY: usize = 32;
const KEY: &str = "bench-key";
const TOPICS: &[&str] = &[
    "refund",
    "invoice",
    "router",
    "wifi",
    "password",
    "login",
    "shipping",
    "delivery",
    "printer",
    "subscription",
    "upgrade",
    "cancel",
    "battery",
    "screen",
    "charger",
    "warranty",
    "discount",
    "coupon",
    "account",
    "email",
    "billing",
    "crash",
    "update",
    "sync",
    "backup",
    "storage",
];

type BoxError = Box<dyn std::error::Error + Send + Sync>;

fn topic(i: usize) -> &'static str {
    TOPICS[i % TOPICS.len()]
}

/// Runs `total` jobs over `CONCURRENCY` workers; returns elapsed seconds.
async fn run<F, Fut>(total: usize, job: F) -> Result<f64, BoxError>
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<(), BoxError>> + Send,
{
    let next = Arc::new(AtomicUsize::new(0));
    let job = Arc::new(job);
    let start = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..CONCURRENCY {
        let (next, job) = (next.clone(), job.clone());
        workers.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= total {
                    return Ok::<(), BoxError>(());
                }
                job(i).await?;
            }
        }));
    }
    for w in workers {
        w.await??;
    }
    Ok(start.elapsed().as_secs_f64())
}

fn main() -> Result<(), BoxError> {
    // Before the runtime starts any thread, as the binaries do.
    local_everos::embed::one_encoder_thread_unless_configured();
    tokio::runtime::Runtime::new()?.block_on(bench())
}

async fn bench() -> Result<(), BoxError> {
    let running = local_everos::spawn(local_everos::Config::in_memory(KEY)).await?;
    let base = running.base_url();
    let http = reqwest::Client::new();

    let (h, b) = (http.clone(), base.clone());
    let add_secs = run(EPISODES, move |i| {
        let (h, b) = (h.clone(), b.clone());
        async move {
            let user = format!("user{}", i % USERS);
            let session = format!("ticket{i}");
            let msgs = json!([
                {"role": "user", "timestamp": 1_794_400_000_000i64 + i as i64,
                 "content": format!("Hi, my {} has a problem with the {} after the {}.", topic(i), topic(i / 7), topic(i / 13))},
                {"role": "assistant", "timestamp": 1_794_400_000_500i64 + i as i64,
                 "content": format!("I fixed the {} issue and sent a {} confirmation.", topic(i), topic(i / 3))},
            ]);
            let body = json!({"user_id": user, "session_id": session, "async_mode": false, "messages": msgs});
            h.post(format!("{b}/api/v1/memories")).bearer_auth(KEY).json(&body).send().await?.error_for_status()?;
            Ok(())
        }
    })
    .await?;

    let (h, b) = (http.clone(), base.clone());
    let flush_secs = run(EPISODES, move |i| {
        let (h, b) = (h.clone(), b.clone());
        async move {
            let body = json!({"user_id": format!("user{}", i % USERS), "session_id": format!("ticket{i}")});
            h.post(format!("{b}/api/v1/memories/flush")).bearer_auth(KEY).json(&body).send().await?.error_for_status()?;
            Ok(())
        }
    })
    .await?;

    let (h, b) = (http.clone(), base.clone());
    let search_secs = run(SEARCHES, move |i| {
        let (h, b) = (h.clone(), b.clone());
        async move {
            let body = json!({"query": format!("{} {} problem", topic(i), topic(i / 5)),
                              "filters": {"user_id": format!("user{}", (i * 7) % USERS)},
                              "method": "hybrid", "memory_types": ["episodic_memory", "profile"], "top_k": 10});
            let res: serde_json::Value = h
                .post(format!("{b}/api/v1/memories/search")).bearer_auth(KEY).json(&body).send().await?
                .error_for_status()?.json().await?;
            if !res["data"]["episodes"].is_array() {
                return Err("bad search answer".into());
            }
            Ok(())
        }
    })
    .await?;

    let rate = |n: usize, s: f64| n as f64 / s;
    println!("episodes inserted: {EPISODES} ({USERS} users, concurrency {CONCURRENCY})");
    println!(
        "adds:     {:>8.0} /s  ({EPISODES} in {add_secs:.2}s)",
        rate(EPISODES, add_secs)
    );
    println!(
        "flushes:  {:>8.0} /s  ({EPISODES} in {flush_secs:.2}s)",
        rate(EPISODES, flush_secs)
    );
    println!(
        "searches: {:>8.0} /s  ({SEARCHES} in {search_secs:.2}s)",
        rate(SEARCHES, search_secs)
    );
    running.shutdown().await;
    Ok(())
}
