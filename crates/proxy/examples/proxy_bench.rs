//! Benchmark (not a test): messages/s and p50/p99 latency of `POST …/messages` through
//! the proxy as production runs it (built-in responder, the embedded local-everos on a
//! data dir), first without the embedding model, then with it; against the same EverOS
//! calls made directly (user add, profile + episodic search, reply add; the difference is
//! the latency the proxy adds) and against the cookbook's Python bot (`cookbook_bot.py`:
//! user add, two vector searches, reply add) on the same backend in the same run, with
//! the same 16 concurrent customers — twice: as the cookbook writes it, through its SDK
//! (`everos-cloud` 0.4.1 from PyPI, in a venv this bench makes in the cache on first
//! use), and as a leaner bot making the same calls with Python's standard library. Each mode runs twice: new customers, and returning
//! ones (each first had one ticket answered and closed, so searches rank a past episode
//! and the proxy cannot skip them). Reported: messages/s (the clock starts once every
//! customer has opened its ticket) and CPU per message over the whole run, counting
//! every process on the path — for the proxy this process (client, proxy and
//! local-everos), for the bot the Python process plus this one's (local-everos) — which
//! on this shared 2-core machine varies much less than wall time.
//! Run: `cargo run --release -p everdesk-proxy --example proxy_bench [-- MODEL_DIR]`
//! (`EVERDESK_BENCH_ONLY="model, returning"`, or the start of a mode's name, runs only those modes;
//! `EVERDESK_BENCH_BOTS=sdk`, `http` or empty chooses the bots).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
    sync::Arc,
    time::{Duration, Instant},
};

use tokio::sync::Barrier;

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

/// CPU seconds this process has used (all threads), from `/proc/self/stat`.
fn cpu_s() -> f64 {
    stat_cpu_s(&std::fs::read_to_string("/proc/self/stat").unwrap())
}

/// User + system CPU seconds of a `/proc/…/stat` line.
fn stat_cpu_s(stat: &str) -> f64 {
    let after = &stat[stat.rfind(')').unwrap() + 2..];
    let f: Vec<&str> = after.split(' ').collect();
    // Fields 14 and 15 (utime, stime) in clock ticks of 1/100 s.
    (f[11].parse::<f64>().unwrap() + f[12].parse::<f64>().unwrap()) / 100.0
}

/// CPU seconds used so far by this process's embedding threads (named `embedder`):
/// the encoder's own cost, apart from everything else on the path.
fn encoder_cpu_s() -> f64 {
    let mut total = 0.0;
    for task in std::fs::read_dir("/proc/self/task").unwrap().flatten() {
        let comm = std::fs::read_to_string(task.path().join("comm")).unwrap_or_default();
        if comm.trim() == "embedder" {
            total += std::fs::read_to_string(task.path().join("stat"))
                .map(|s| stat_cpu_s(&s))
                .unwrap_or(0.0);
        }
    }
    total
}

/// Sends `content` on the customer's ticket through the proxy.
async fn say(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    ticket: &str,
    id: &str,
    content: &str,
) {
    let r = http
        .post(format!("{base}/v1/tickets/{ticket}/messages"))
        .bearer_auth(token)
        .json(&json!({"id": id, "content": content, "sent_at": 0}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let _ = r.bytes().await;
}

async fn via_proxy(
    http: reqwest::Client,
    base: String,
    c: usize,
    history: bool,
    ready: Arc<Barrier>,
) -> (Instant, Vec<Duration>) {
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
    let open = |id: String, subject: &'static str| {
        http.post(format!("{base}/v1/tickets"))
            .bearer_auth(&token)
            .json(&json!({"ticket_id": id, "subject": subject}))
            .send()
    };
    if history {
        open(format!("past-{c}"), "Card payment failed")
            .await
            .unwrap();
        let past = format!("past-{c}");
        say(
            &http,
            &base,
            &token,
            &past,
            "p-1",
            "My card payment failed at checkout",
        )
        .await;
        let r = http
            .post(format!("{base}/v1/tickets/{past}/close"))
            .bearer_auth(&token)
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }
    open(format!("bench-{c}"), "Benchmark ticket")
        .await
        .unwrap();
    ready.wait().await;
    let start = Instant::now();
    let mut out = Vec::with_capacity(MESSAGES);
    let ticket = format!("bench-{c}");
    for m in 0..MESSAGES {
        let t = Instant::now();
        let content = format!("My invoice number {m} was charged twice");
        say(&http, &base, &token, &ticket, &format!("m-{m}"), &content).await;
        out.push(t.elapsed());
    }
    (start, out)
}

async fn direct(
    http: reqwest::Client,
    everos: String,
    key: String,
    c: usize,
    ready: Arc<Barrier>,
) -> (Instant, Vec<Duration>) {
    let user = format!("direct_{c}");
    let post = |path: &str, body: Value| {
        http.post(format!("{everos}{path}"))
            .bearer_auth(&key)
            .json(&body)
            .send()
    };
    ready.wait().await;
    let start = Instant::now();
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
    (start, out)
}

/// Runs `f` for every customer at once: the latencies, the wall time from the moment
/// all were ready, and this process's CPU seconds over the whole run.
async fn run<F, Fut>(f: F) -> (Vec<Duration>, Duration, f64)
where
    F: Fn(usize, Arc<Barrier>) -> Fut,
    Fut: std::future::Future<Output = (Instant, Vec<Duration>)> + Send + 'static,
{
    let cpu = cpu_s();
    let ready = Arc::new(Barrier::new(CUSTOMERS));
    let tasks: Vec<_> = (0..CUSTOMERS)
        .map(|c| tokio::spawn(f(c, ready.clone())))
        .collect();
    let mut all = Vec::new();
    let mut start: Option<Instant> = None;
    for t in tasks {
        let (s, lat) = t.await.unwrap();
        start = Some(start.map_or(s, |x| x.min(s)));
        all.extend(lat);
    }
    (all, start.unwrap().elapsed(), cpu_s() - cpu)
}

/// The proxy as production starts it (`AppState::start`, no EverOS URL: the embedded
/// local-everos on `data_dir`), with or without the embedding model; its base URL and
/// the embedded server.
async fn product(data_dir: &Path, model: &Path) -> (String, Embedded) {
    let mut config = Config::for_tests();
    config.data_dir = data_dir.to_owned();
    config.embedding_model = Some(model.to_owned());
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

/// The PyPI release of the EverOS Python SDK with the cookbook's `client.v1.memories`.
const SDK: &str = "everos-cloud==0.4.1";

/// The interpreter of a venv in the cache with [`SDK`] installed (made on first use: the
/// package index is the only thing it needs).
fn sdk_python() -> PathBuf {
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap();
    let venv = cache.join("everdesk").join("everos-cloud-0.4.1-venv");
    let python = venv.join("bin").join("python");
    let ready = |p: &Path| {
        std::process::Command::new(p)
            .args(["-c", "import everos_cloud"])
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if !ready(&python) {
        println!("making {} with {SDK}", venv.display());
        let ok = std::process::Command::new("python3")
            .args(["-m", "venv"])
            .arg(&venv)
            .status()
            .unwrap()
            .success()
            && std::process::Command::new(&python)
                .args(["-m", "pip", "install", "-q", SDK])
                .status()
                .unwrap()
                .success();
        assert!(ok && ready(&python), "could not install {SDK}");
    }
    python
}

/// Runs `cookbook_bot.py` with `client` (`sdk`: the cookbook as written, through its
/// SDK; `http`: the same calls with the standard library) against `everos`; its
/// messages per second and the CPU seconds per message of the bot and of this process
/// (the backend) while it ran.
fn cookbook(python: &Path, client: &str, everos: &str, key: &str, history: bool) -> (f64, f64) {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/cookbook_bot.py");
    let cpu = cpu_s();
    let encoder = encoder_cpu_s();
    let texts = local_everos::embed::texts_embedded();
    let calls = local_everos::embed::model_calls();
    let mut cmd = std::process::Command::new(python);
    cmd.arg(script)
        .args(["--base", everos, "--key", key, "--client", client])
        .args(["--customers", &CUSTOMERS.to_string()])
        .args(["--messages", &MESSAGES.to_string()]);
    if history {
        cmd.arg("--history");
    }
    let out = cmd.output().unwrap();
    let backend = cpu_s() - cpu;
    let encoder = encoder_cpu_s() - encoder;
    let texts = local_everos::embed::texts_embedded() - texts;
    let calls = local_everos::embed::model_calls() - calls;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    let n = r["messages"].as_f64().unwrap();
    let cpu = (r["cpu_s"].as_f64().unwrap() + backend) / n;
    println!(
        "bot ({client}) {n} messages in {wall:.2}s: {rate:.0} msg/s, p50 {p50:.2}ms, p99 {p99:.2}ms, \
         CPU {ms:.2} ms/msg (bot {bot:.2}, backend {be:.2}), {emb:.2} texts embedded/msg, \
         {batch:.1} per model call, encoder {per_text:.2} ms CPU per text",
        wall = r["wall_s"].as_f64().unwrap(),
        rate = r["msg_per_s"].as_f64().unwrap(),
        p50 = r["p50_ms"].as_f64().unwrap(),
        p99 = r["p99_ms"].as_f64().unwrap(),
        ms = cpu * 1000.0,
        bot = r["cpu_s"].as_f64().unwrap() / n * 1000.0,
        be = backend / n * 1000.0,
        emb = texts as f64 / n,
        batch = texts as f64 / calls.max(1) as f64,
        per_text = encoder / texts.max(1) as f64 * 1000.0,
    );
    (r["msg_per_s"].as_f64().unwrap(), cpu)
}

fn main() {
    // Before the runtime starts any thread, as the binaries do.
    local_everos::embed::one_encoder_thread_unless_configured();
    tokio::runtime::Runtime::new()
        .expect("a tokio runtime")
        .block_on(bench())
}

async fn bench() {
    let model = std::env::args()
        .nth(1)
        .map(PathBuf::from)
        .or_else(local_everos::embed::default_model_dir)
        .unwrap();
    println!(
        "{CUSTOMERS} concurrent customers x {MESSAGES} messages, built-in responder, \
         the embedded local-everos (AppState::start on a temp data dir)"
    );
    // EVERDESK_BENCH_ONLY="model, returning" (or the start of a mode's name) runs only
    // the modes whose name contains it.
    let only = std::env::var("EVERDESK_BENCH_ONLY").ok();
    // EVERDESK_BENCH_BOTS="sdk" (or "http", or "" for the proxy alone): which bots run.
    let bots = std::env::var("EVERDESK_BENCH_BOTS").unwrap_or_else(|_| "sdk,http".into());
    let python = sdk_python();
    let http = reqwest::Client::new();
    let mut summary = Vec::new();
    for (label, dir) in [("no model", PathBuf::from("off")), ("model", model.clone())] {
        for history in [false, true] {
            let who = if history { "returning" } else { "new" };
            if !only
                .as_deref()
                .is_none_or(|o| format!("{label}, {who}").starts_with(o))
            {
                continue;
            }
            let data = tempfile::tempdir().unwrap();
            let (base, embedded) = product(data.path(), &dir).await;
            println!("\n## {label}, {who} customers");
            let (url, key) = (embedded.base_url(), embedded.api_key().to_owned());
            let k = key.clone();
            let direct_run = if history {
                None
            } else {
                Some(run(|c, r| direct(http.clone(), url.clone(), k.clone(), c, r)).await)
            };
            let texts = local_everos::embed::texts_embedded();
            let calls = local_everos::embed::model_calls();
            let encoder = encoder_cpu_s();
            let (p_lat, p_wall, p_cpu) =
                run(|c, r| via_proxy(http.clone(), base.clone(), c, history, r)).await;
            let encoder = encoder_cpu_s() - encoder;
            let texts = local_everos::embed::texts_embedded() - texts;
            let calls = local_everos::embed::model_calls() - calls;
            let proxy_rate = p_lat.len() as f64 / p_wall.as_secs_f64();
            let proxy_cpu = p_cpu / p_lat.len() as f64;
            let per_msg = texts as f64 / p_lat.len() as f64;
            let (p50, p99) = report("proxy", p_lat, p_wall);
            println!(
                "proxy    CPU {:.2} ms/msg (client, proxy and backend), {:.2} texts embedded/msg, \
                 {:.1} per model call, encoder {:.2} ms CPU per text",
                proxy_cpu * 1000.0,
                per_msg,
                texts as f64 / calls.max(1) as f64,
                encoder / texts.max(1) as f64 * 1000.0,
            );
            if let Some((d_lat, d_wall, _)) = direct_run {
                let (d50, d99) = report("direct", d_lat, d_wall);
                println!(
                    "added by the proxy: p50 {:.2?}, p99 {:.2?}",
                    p50.saturating_sub(d50),
                    p99.saturating_sub(d99)
                );
            }
            for client in ["sdk", "http"].into_iter().filter(|c| bots.contains(c)) {
                // One interpreter (the venv's) for both bots.
                let (url2, key2, py) = (url.clone(), key.clone(), python.clone());
                let (cook, cook_cpu) = tokio::task::spawn_blocking(move || {
                    cookbook(&py, client, &url2, &key2, history)
                })
                .await
                .unwrap();
                let line = format!(
                    "{label}, {who} customers: proxy / cookbook bot ({client}) {:.1}x messages/s, \
                     {:.1}x less CPU per message",
                    proxy_rate / cook,
                    cook_cpu / proxy_cpu
                );
                println!("{line}");
                summary.push(line);
            }
            embedded.shutdown().await;
        }
    }
    println!("\n{}", summary.join("\n"));
}
