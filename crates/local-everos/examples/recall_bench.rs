//! Recall benchmark (not a test): loads `examples/recall_set.json` (32 customers, each
//! with four closed tickets and a follow-up that paraphrases one of them) into a real
//! local-everos over HTTP, asks each follow-up with `keyword`, `vector` and `hybrid`,
//! and reports recall@1 and recall@3 of the related ticket, plus the model's load time,
//! embedding time per text and resident memory.
//!
//! Run (after `scripts/setup`):
//! `cargo run --release -p local-everos --example recall_bench -- --embedding-model DIR`
//! (DIR defaults to the cache `scripts/setup` fills); `-- --api v2` stores the tickets
//! and searches through the v2 routes instead of v1. `-- --vectors TEXT…` instead
//! prints each text's vector as JSON lines, to compare with `minilm_reference.py`.

use std::collections::HashSet;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use local_everos::embed::{default_model_dir, Embedder};
use local_everos::text::query_terms;
use local_everos::Config;
use serde::Deserialize;
use serde_json::{json, Value};

type BoxError = Box<dyn std::error::Error + Send + Sync>;
const KEY: &str = "bench-key";
const METHODS: &[&str] = &["keyword", "vector", "hybrid"];

#[derive(Deserialize)]
struct Set {
    customers: Vec<Customer>,
}

#[derive(Deserialize)]
struct Customer {
    user_id: String,
    follow_up: String,
    tickets: Vec<Ticket>,
}

#[derive(Deserialize)]
struct Ticket {
    id: String,
    related: bool,
    turns: Vec<String>,
}

/// Resident memory of this process in MiB (Linux).
fn rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

async fn post(
    http: &reqwest::Client,
    base: &str,
    path: &str,
    body: Value,
) -> Result<Value, BoxError> {
    let res = http
        .post(format!("{base}{path}"))
        .bearer_auth(KEY)
        .json(&body)
        .send()
        .await?;
    let status = res.status();
    let v: Value = res.json().await.unwrap_or(Value::Null);
    if !status.is_success() {
        return Err(format!("{path}: {status} {v}").into());
    }
    Ok(v)
}

fn main() -> Result<(), BoxError> {
    // Before the runtime starts any thread, as the binaries do.
    local_everos::embed::one_encoder_thread_unless_configured();
    tokio::runtime::Runtime::new()?.block_on(bench())
}

async fn bench() -> Result<(), BoxError> {
    let mut args = std::env::args().skip(1);
    let mut model = default_model_dir();
    let mut set_path = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/recall_set.json"
    ));
    let mut vectors: Option<Vec<String>> = None;
    let mut verbose = false;
    let mut v2 = false;
    while let Some(a) = args.next() {
        match a.as_str() {
            "--embedding-model" => model = args.next().map(PathBuf::from),
            "--set" => set_path = args.next().map(PathBuf::from).ok_or("--set PATH")?,
            "--verbose" => verbose = true,
            "--api" => v2 = args.next().as_deref() == Some("v2"),
            "--vectors" => vectors = Some(args.by_ref().collect()),
            other => return Err(format!("unknown argument {other}").into()),
        }
    }
    let model =
        model.ok_or("no model directory: pass --embedding-model DIR (scripts/setup fetches it)")?;
    if !local_everos::embed::looks_like_model(&model) {
        return Err(format!("{} holds no model: run scripts/setup", model.display()).into());
    }

    if let Some(texts) = vectors {
        let e = Embedder::start(&model)?;
        for (t, v) in texts.iter().zip(e.embed(texts.clone()).await?) {
            println!("{}", json!({"text": t, "vector": v}));
        }
        return Ok(());
    }

    let set: Set = serde_json::from_str(&std::fs::read_to_string(&set_path)?)?;
    let tickets: usize = set.customers.iter().map(|c| c.tickets.len()).sum();
    println!(
        "set: {} follow-ups, {tickets} past tickets ({})",
        set.customers.len(),
        set_path.display()
    );
    let shared: Vec<usize> = set
        .customers
        .iter()
        .map(|c| {
            let q: HashSet<String> = query_terms(&c.follow_up).into_iter().collect();
            let t: HashSet<String> = c
                .tickets
                .iter()
                .filter(|t| t.related)
                .flat_map(|t| query_terms(&t.turns.join(" ")))
                .collect();
            q.intersection(&t).count()
        })
        .collect();
    println!(
        "content words a follow-up shares with its related ticket: mean {:.2}, max {}, none in {}",
        shared.iter().sum::<usize>() as f64 / shared.len() as f64,
        shared.iter().max().unwrap_or(&0),
        shared.iter().filter(|n| **n == 0).count()
    );

    // Memory and load time: a server with the model against the same process before it.
    let rss_before = rss_mib();
    let mut config = Config::in_memory(KEY);
    config.embedding_model = Some(model.clone());
    config.index_lag = Duration::ZERO;
    let started = Instant::now();
    let server = local_everos::spawn(config).await?;
    let startup = started.elapsed();
    let rss_after = rss_mib();
    println!(
        "server start with the model: {:.0} ms; RSS {:.0} MiB -> {:.0} MiB (+{:.0} MiB)",
        ms(startup),
        rss_before,
        rss_after,
        rss_after - rss_before
    );

    // Embedding speed, measured on a second copy of the model (same thread setup).
    let e = Embedder::start(&model)?;
    println!(
        "model load (tokenizer + weights): {:.0} ms",
        ms(e.load_time())
    );
    let queries: Vec<String> = set.customers.iter().map(|c| c.follow_up.clone()).collect();
    let t = Instant::now();
    for q in &queries {
        e.embed_one(q).await?;
    }
    let per_query = ms(t.elapsed()) / queries.len() as f64;
    let docs: Vec<String> = set
        .customers
        .iter()
        .flat_map(|c| c.tickets.iter().map(|t| t.turns.join(" ")))
        .collect();
    let t = Instant::now();
    e.embed(docs.clone()).await?;
    let per_doc = ms(t.elapsed()) / docs.len() as f64;
    let long =
        vec!["The customer reported that the order was late and asked for a refund. ".repeat(20)];
    let t = Instant::now();
    e.embed(long).await?;
    println!(
        "embedding: {per_query:.1} ms per query (one at a time), {per_doc:.1} ms per ticket (batched), {:.1} ms for one 256-token text",
        ms(t.elapsed())
    );
    drop(e);

    let http = reqwest::Client::new();
    let base = server.base_url();
    let t = Instant::now();
    for c in &set.customers {
        for (n, ticket) in c.tickets.iter().enumerate() {
            let msgs: Vec<Value> = ticket
                .turns
                .iter()
                .enumerate()
                .map(|(i, text)| {
                    let ts = 1_794_400_000_000i64 + (n * 10 + i) as i64 * 1000;
                    if i % 2 == 0 {
                        json!({"role": "user", "sender_id": c.user_id, "timestamp": ts, "content": text})
                    } else {
                        json!({"role": "assistant", "timestamp": ts, "content": text})
                    }
                })
                .collect();
            if v2 {
                let msgs: Vec<Value> = msgs
                    .into_iter()
                    .map(|mut m| {
                        if m["role"] == "assistant" {
                            m["sender_id"] = json!("support_bot");
                        }
                        m
                    })
                    .collect();
                post(
                    &http,
                    &base,
                    "/api/v2/memory/add",
                    json!({"session_id": ticket.id, "async_mode": false, "messages": msgs}),
                )
                .await?;
                post(
                    &http,
                    &base,
                    "/api/v2/memory/flush",
                    json!({"session_id": ticket.id}),
                )
                .await?;
            } else {
                post(&http, &base, "/api/v1/memories", json!({"user_id": c.user_id, "session_id": ticket.id, "async_mode": false, "messages": msgs})).await?;
                post(
                    &http,
                    &base,
                    "/api/v1/memories/flush",
                    json!({"user_id": c.user_id, "session_id": ticket.id}),
                )
                .await?;
            }
        }
    }
    println!(
        "stored {tickets} tickets (add + flush, embedded at the cut) in {:.0} ms",
        ms(t.elapsed())
    );

    println!("\nroute: {}", if v2 { "v2" } else { "v1" });
    println!("\n| method  | recall@1 | recall@3 | mean search ms |\n|---------|----------|----------|----------------|");
    for method in METHODS {
        let (mut at1, mut at3) = (0, 0);
        let t = Instant::now();
        for c in &set.customers {
            let related = c
                .tickets
                .iter()
                .find(|t| t.related)
                .map(|t| t.id.as_str())
                .unwrap_or("");
            let res = if v2 {
                post(
                    &http,
                    &base,
                    "/api/v2/memory/search",
                    json!({"user_id": c.user_id, "query": c.follow_up, "method": method, "top_k": 3}),
                )
                .await?
            } else {
                post(
                    &http,
                    &base,
                    "/api/v1/memories/search",
                    json!({
                    "query": c.follow_up, "method": method, "top_k": 3,
                    "memory_types": ["episodic_memory"], "filters": {"user_id": c.user_id}}),
                )
                .await?
            };
            let hits: Vec<String> = res["data"]["episodes"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|e| e["session_id"].as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default();
            if hits.first().is_some_and(|h| h == related) {
                at1 += 1;
            }
            if hits.iter().any(|h| h == related) {
                at3 += 1;
            } else if verbose {
                println!(
                    "  {method} missed {related}: got {hits:?} for {:?}",
                    c.follow_up
                );
            }
            if verbose && hits.first().is_some_and(|h| h != related) {
                println!("  {method} @1 {:?} instead of {related}", hits.first());
            }
        }
        let n = set.customers.len() as f64;
        println!(
            "| {method:<7} | {:>8.3} | {:>8.3} | {:>14.1} |",
            at1 as f64 / n,
            at3 as f64 / n,
            ms(t.elapsed()) / n
        );
    }
    // For comparison only: reciprocal-rank fusion (k = 60) of the full keyword and
    // vector rankings, computed here (see recall::fusion for why hybrid does not use it).
    let (mut at1, mut at3) = (0, 0);
    for c in &set.customers {
        let related = c
            .tickets
            .iter()
            .find(|t| t.related)
            .map(|t| t.id.as_str())
            .unwrap_or("");
        let mut fused: std::collections::HashMap<String, f64> = std::collections::HashMap::new();
        for method in ["keyword", "vector"] {
            let res = post(
                &http,
                &base,
                "/api/v1/memories/search",
                json!({
                "query": c.follow_up, "method": method, "top_k": 100,
                "memory_types": ["episodic_memory"], "filters": {"user_id": c.user_id}}),
            )
            .await?;
            for (rank, e) in res["data"]["episodes"]
                .as_array()
                .into_iter()
                .flatten()
                .enumerate()
            {
                if let Some(s) = e["session_id"].as_str() {
                    *fused.entry(s.to_owned()).or_default() += 1.0 / (60.0 + rank as f64 + 1.0);
                }
            }
        }
        let mut ranked: Vec<(String, f64)> = fused.into_iter().collect();
        ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        if ranked.first().is_some_and(|(s, _)| s == related) {
            at1 += 1;
        }
        if ranked.iter().take(3).any(|(s, _)| s == related) {
            at3 += 1;
        }
    }
    let n = set.customers.len() as f64;
    println!(
        "| rrf*    | {:>8.3} | {:>8.3} |              - |",
        at1 as f64 / n,
        at3 as f64 / n
    );
    println!(
        "* reciprocal-rank fusion of keyword and vector (v1 searches), computed by this benchmark for comparison"
    );
    server.shutdown().await;
    Ok(())
}
