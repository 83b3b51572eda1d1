//! Benchmark (not a test): what the proxy's storage costs per message. The proxy as
//! production starts it (built-in responder, the embedded local-everos without the model
//! on a temp data dir), its state in SQLite (`everdesk.db`) and, when
//! `EVERDESK_BENCH_DATABASE_URL` names one, in PostgreSQL; messages/s and p50/p99 of
//! `POST …/messages`, against the same EverOS calls made directly (the difference is
//! the latency the proxy adds). 16 concurrent customers × 50 messages.
//! Run: `cargo run --release -p everdesk-proxy --example store_bench`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{
    net::SocketAddr,
    path::Path,
    time::{Duration, Instant},
};

use everdesk_proxy::{app, AppState, Config, Embedded};
use serde_json::{json, Value};

const CUSTOMERS: usize = 16;
const MESSAGES: usize = 50;

fn pct(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

fn report(name: &str, mut lat: Vec<Duration>, wall: Duration) -> (Duration, Duration) {
    lat.sort();
    let (p50, p99) = (pct(&lat, 0.50), pct(&lat, 0.99));
    println!(
        "{name:<8} {n} messages in {wall:.2?}: {rate:.0} msg/s, p50 {p50:.2?}, p99 {p99:.2?}",
        n = lat.len(),
        rate = lat.len() as f64 / wall.as_secs_f64()
    );
    (p50, p99)
}

async fn via_proxy(http: reqwest::Client, base: String, c: usize) -> Vec<Duration> {
    let s: Value = http
        .post(format!("{base}/v1/session"))
        .json(&json!({}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = s["token"].as_str().unwrap().to_owned();
    http.post(format!("{base}/v1/tickets"))
        .bearer_auth(&token)
        .json(&json!({"ticket_id": format!("bench-{c}"), "subject": "Benchmark ticket"}))
        .send()
        .await
        .unwrap();
    let mut out = Vec::with_capacity(MESSAGES);
    for m in 0..MESSAGES {
        let t = Instant::now();
        let r = http
            .post(format!("{base}/v1/tickets/bench-{c}/messages"))
            .bearer_auth(&token)
            .json(&json!({"id": format!("m-{m}"), "content": format!("My invoice number {m} was charged twice"), "sent_at": 0}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let _ = r.bytes().await;
        out.push(t.elapsed());
    }
    out
}

/// The EverOS calls the proxy makes for one message (Cloud v1, which the proxy is set
/// to speak here): user add, profile and episodic searches, reply add.
async fn direct(http: reqwest::Client, everos: String, key: String, c: usize) -> Vec<Duration> {
    let user = format!("direct_{c}");
    let post = |path: &str, body: Value| {
        http.post(format!("{everos}{path}"))
            .bearer_auth(&key)
            .json(&body)
            .send()
    };
    let mut out = Vec::with_capacity(MESSAGES);
    for m in 0..MESSAGES {
        let t = Instant::now();
        let content = format!("My invoice number {m} was charged twice");
        let ts = 1_800_000_000_000i64 + (m as i64) * 2;
        let add = |role: &str, ts: i64, content: &str| {
            json!({"user_id": user, "session_id": "ticket_b", "async_mode": false,
                   "messages": [{"role": role, "timestamp": ts, "content": content}]})
        };
        post("/api/v1/memories", add("user", ts, &content))
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        let search = |t: &str| json!({"filters": {"user_id": user}, "query": content, "method": "hybrid", "memory_types": [t], "top_k": 5});
        let (a, b) = tokio::join!(
            post("/api/v1/memories/search", search("profile")),
            post("/api/v1/memories/search", search("episodic_memory"))
        );
        a.unwrap().bytes().await.unwrap();
        b.unwrap().bytes().await.unwrap();
        post(
            "/api/v1/memories",
            add("assistant", ts + 1, "Thanks, noted."),
        )
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
        out.push(t.elapsed());
    }
    out
}

async fn run<F, Fut>(f: F) -> (Vec<Duration>, Duration)
where
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = Vec<Duration>> + Send + 'static,
{
    let start = Instant::now();
    let tasks: Vec<_> = (0..CUSTOMERS).map(|c| tokio::spawn(f(c))).collect();
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    (all, start.elapsed())
}

/// The proxy as production starts it on `data_dir`, without the model, its state in
/// `database_url` (None: SQLite in the data dir); its base URL and the embedded EverOS.
async fn product(data_dir: &Path, database_url: Option<String>) -> (String, Embedded) {
    let mut config = Config::for_tests();
    config.data_dir = data_dir.to_owned();
    config.embedding_model = Some("off".into());
    config.everos_api = "v1".into();
    config.database_url = database_url;
    config.rate_customer_burst = 1_000_000;
    config.rate_ip_burst = 1_000_000;
    config.rate_visitor_burst = 1_000_000;
    let (state, embedded) = AppState::start(config).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let router = app(state).into_make_service_with_connect_info::<SocketAddr>();
    tokio::spawn(async move { axum::serve(listener, router).await });
    (base, embedded.unwrap())
}

#[tokio::main]
async fn main() {
    println!(
        "{CUSTOMERS} concurrent customers x {MESSAGES} messages, built-in responder, \
         the embedded local-everos without the model"
    );
    let mut backends = vec![("sqlite", None)];
    match std::env::var("EVERDESK_BENCH_DATABASE_URL") {
        Ok(url) if !url.is_empty() => backends.push(("postgres", Some(url))),
        _ => println!("(EVERDESK_BENCH_DATABASE_URL unset: PostgreSQL not measured)"),
    }
    let http = reqwest::Client::new();
    for (label, url) in backends {
        let data = tempfile::tempdir().unwrap();
        let (base, embedded) = product(data.path(), url).await;
        println!("\n## {label}");
        let (everos, key) = (embedded.base_url(), embedded.api_key().to_owned());
        let (d_lat, d_wall) = run(|c| direct(http.clone(), everos.clone(), key.clone(), c)).await;
        let (p_lat, p_wall) = run(|c| via_proxy(http.clone(), base.clone(), c)).await;
        let (d50, d99) = report("direct", d_lat, d_wall);
        let (p50, p99) = report("proxy", p_lat, p_wall);
        println!(
            "added by the proxy: p50 {:.2?}, p99 {:.2?}",
            p50.saturating_sub(d50),
            p99.saturating_sub(d99)
        );
    }
}
