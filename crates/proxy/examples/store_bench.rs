//! Benchmark (not a test): what the proxy's storage costs per message, side by side in
//! one run. The same load (16 concurrent customers × 50 messages, built-in responder) goes
//! to the `everdesk-proxy` binary as production runs it, speaking Cloud v1 to a
//! local-everos started here as the embedded one is (a data dir, no model; a fresh one
//! per run), with its state
//! - in SQLite (`everdesk.db` in a fresh data dir),
//! - in PostgreSQL when `EVERDESK_BENCH_DATABASE_URL` names a database (a fresh schema
//!   per run),
//! - in the JSON Lines journals of an earlier version when `EVERDESK_BENCH_JOURNALS_BIN`
//!   names that version's binary;
//! - in SQLite through another build of this proxy when `EVERDESK_BENCH_BEFORE_BIN` names
//!   it (to see what a change buys, side by side).
//!
//! Per message it prints the proxy's CPU time and what it handed to `write`-family system
//! calls (bytes and calls, files and sockets alike: `/proc/PID/io`).
//!
//! The runs interleave (journals, SQLite, PostgreSQL, then again), `EVERDESK_BENCH_ROUNDS`
//! rounds (default 2). Each run first makes the proxy's EverOS calls for the same load
//! directly; the difference is the latency the proxy adds.
//! Run: `cargo build --release -p everdesk-proxy --bin everdesk-proxy --example store_bench`,
//! then `target/release/examples/store_bench` (the proxy binary is taken from next to it,
//! or from `EVERDESK_BENCH_PROXY_BIN`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{
    io::{BufRead, BufReader},
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use everdesk_proxy::store::Store;
use serde_json::{json, Value};

const CUSTOMERS: usize = 16;
const MESSAGES: usize = 50;
const EVEROS_KEY: &str = "bench-everos-key";

fn pct(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

/// One load's numbers.
struct Measured {
    rate: f64,
    p50: Duration,
    p99: Duration,
}

fn measure(mut lat: Vec<Duration>, wall: Duration) -> Measured {
    lat.sort();
    Measured {
        rate: lat.len() as f64 / wall.as_secs_f64(),
        p50: pct(&lat, 0.50),
        p99: pct(&lat, 0.99),
    }
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
async fn direct(http: reqwest::Client, everos: String, c: usize) -> Vec<Duration> {
    let user = format!("direct_{c}");
    let post = |path: &str, body: Value| {
        http.post(format!("{everos}{path}"))
            .bearer_auth(EVEROS_KEY)
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

async fn run<F, Fut>(f: F) -> Measured
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
    measure(all, start.elapsed())
}

/// A local-everos as the proxy embeds it (a data dir under `dir`, profiles from the first
/// episode, no model), on its own port.
async fn everos(dir: &std::path::Path) -> local_everos::Running {
    let mut c = local_everos::Config::in_memory(EVEROS_KEY);
    c.storage = local_everos::Storage::DataDir(dir.join("everos"));
    c.profile_lag_episodes = 0;
    local_everos::spawn(c).await.unwrap()
}

/// A proxy binary as a child process; killed when dropped.
struct Proxy {
    child: Child,
    base: String,
}

/// Bytes a process has handed to `write`-family system calls so far and how many such
/// calls (`wchar`, `syscw` of `/proc/PID/io`: files and sockets alike); `None` off Linux.
fn written(pid: u32) -> Option<(u64, u64)> {
    let io = std::fs::read_to_string(format!("/proc/{pid}/io")).ok()?;
    let field = |name: &str| {
        io.lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().parse::<u64>().ok())
    };
    Some((field("wchar:")?, field("syscw:")?))
}

/// CPU time a process has used so far (user + system, all threads), from
/// `/proc/PID/stat` in clock ticks of 10 ms; `None` off Linux.
fn cpu_time(pid: u32) -> Option<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which may hold spaces), from field 3 on.
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(Duration::from_millis(ticks * 10))
}

impl Proxy {
    async fn spawn(
        bin: &PathBuf,
        everos: &str,
        data_dir: &std::path::Path,
        extra: &[String],
    ) -> Self {
        let unlimited = "1000000";
        let mut child = Command::new(bin)
            .args(["--listen", "127.0.0.1:0", "--everos-api", "v1"])
            .args(["--everos-base-url", everos, "--everos-api-key", EVEROS_KEY])
            .args([
                "--rate-customer-burst",
                unlimited,
                "--rate-ip-burst",
                unlimited,
            ])
            .args(["--rate-visitor-burst", unlimited, "--data-dir"])
            .arg(data_dir)
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("{}: {e}", bin.display()));
        let stdout = child.stdout.take().unwrap();
        let line = tokio::task::spawn_blocking(move || {
            let mut line = String::new();
            BufReader::new(stdout).read_line(&mut line).map(|_| line)
        })
        .await
        .unwrap()
        .unwrap();
        let base = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("{}: {line:?}", bin.display()))
            .to_owned();
        Self { child, base }
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `url` scoped to a new, migrated schema.
async fn fresh_schema(url: &str) -> String {
    let schema = format!("bench_{}", uuid::Uuid::new_v4().simple());
    Store::postgres_in_schema(url, Some(&schema)).await.unwrap();
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}options=-c%20search_path%3D{schema}")
}

/// What a run is against.
#[derive(Clone)]
struct Backend {
    label: &'static str,
    bin: PathBuf,
    postgres: Option<String>,
}

/// One run: a fresh EverOS and data dir, the direct calls, then the load via the proxy.
async fn one_run(
    http: &reqwest::Client,
    b: &Backend,
) -> (Measured, Measured, Option<Duration>, Option<(u64, u64)>) {
    let dir = tempfile::tempdir().unwrap();
    let everos = everos(dir.path()).await;
    let base_url = everos.base_url();
    let extra = match &b.postgres {
        Some(url) => vec!["--database-url".to_owned(), fresh_schema(url).await],
        None => Vec::new(),
    };
    let proxy = Proxy::spawn(&b.bin, &base_url, &dir.path().join("data"), &extra).await;
    let d = run(|c| direct(http.clone(), base_url.clone(), c)).await;
    let base = proxy.base.clone();
    let pid = proxy.child.id();
    let before = cpu_time(pid);
    let wrote_before = written(pid);
    let p = run(|c| via_proxy(http.clone(), base.clone(), c)).await;
    let cpu = cpu_time(pid).zip(before).map(|(after, before)| {
        after.saturating_sub(before) / u32::try_from(CUSTOMERS * MESSAGES).unwrap()
    });
    let n = (CUSTOMERS * MESSAGES) as u64;
    let wrote = written(pid)
        .zip(wrote_before)
        .map(|((b1, c1), (b0, c0))| ((b1 - b0) / n, (c1 - c0) / n));
    drop(proxy);
    (d, p, cpu, wrote)
}

fn ms(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1000.0)
}

#[tokio::main]
async fn main() {
    let here = std::env::current_exe().unwrap();
    let proxy_bin = std::env::var_os("EVERDESK_BENCH_PROXY_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            here.parent()
                .unwrap()
                .parent()
                .unwrap()
                .join("everdesk-proxy")
        });
    let rounds: usize = std::env::var("EVERDESK_BENCH_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(2);
    let mut backends = Vec::new();
    match std::env::var_os("EVERDESK_BENCH_JOURNALS_BIN") {
        Some(bin) => backends.push(Backend {
            label: "journals",
            bin: bin.into(),
            postgres: None,
        }),
        None => println!("(EVERDESK_BENCH_JOURNALS_BIN unset: the journals not measured)"),
    }
    if let Some(bin) = std::env::var_os("EVERDESK_BENCH_BEFORE_BIN") {
        backends.push(Backend {
            label: "sqlite-before",
            bin: bin.into(),
            postgres: None,
        });
    }
    backends.push(Backend {
        label: "sqlite",
        bin: proxy_bin.clone(),
        postgres: None,
    });
    match std::env::var("EVERDESK_BENCH_DATABASE_URL") {
        Ok(url) if !url.is_empty() => backends.push(Backend {
            label: "postgres",
            bin: proxy_bin,
            postgres: Some(url),
        }),
        _ => println!("(EVERDESK_BENCH_DATABASE_URL unset: PostgreSQL not measured)"),
    }
    println!(
        "{CUSTOMERS} concurrent customers x {MESSAGES} messages, built-in responder, Cloud v1 \
         to local-everos (data dir, no model), {rounds} interleaved rounds"
    );
    println!("\n| round | state in | proxy msg/s | proxy p50 / p99 ms | direct p50 / p99 ms | added p50 / p99 ms | proxy CPU per message | written per message (bytes / calls) |");
    println!("|---|---|---|---|---|---|---|---|");
    let http = reqwest::Client::new();
    let mut rates: Vec<(&str, f64)> = Vec::new();
    for round in 1..=rounds {
        for b in &backends {
            let (d, p, cpu, wrote) = one_run(&http, b).await;
            let cpu = cpu.map_or("?".to_owned(), |c| format!("{} µs", c.as_micros()));
            let wrote = wrote.map_or("?".to_owned(), |(b, c)| format!("{b} / {c}"));
            println!(
                "| {round} | {} | {:.0} | {} / {} | {} / {} | {} / {} | {cpu} | {wrote} |",
                b.label,
                p.rate,
                ms(p.p50),
                ms(p.p99),
                ms(d.p50),
                ms(d.p99),
                ms(p.p50.saturating_sub(d.p50)),
                ms(p.p99.saturating_sub(d.p99)),
            );
            rates.push((b.label, p.rate));
        }
    }
    let mean = |label: &str| {
        let r: Vec<f64> = rates
            .iter()
            .filter(|(l, _)| *l == label)
            .map(|(_, r)| *r)
            .collect();
        (!r.is_empty()).then(|| r.iter().sum::<f64>() / r.len() as f64)
    };
    println!();
    for b in &backends {
        if let Some(r) = mean(b.label) {
            println!("{}: mean {r:.0} msg/s", b.label);
        }
    }
    if let (Some(s), Some(j)) = (mean("sqlite"), mean("journals")) {
        println!("SQLite / journals (msg/s): {:.2}", s / j);
    }
}
