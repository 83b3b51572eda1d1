//! Test harness: local-everos with test controls on port 0, the proxy served on port 0
//! (in memory, or like production on a data dir so it can be restarted), or the proxy
//! binary as a child process (so it can be killed outright), and helpers for sessions,
//! tickets, messages, faults and the EverOS request log.
//!
//! The proxy's state is in SQLite (in memory, or `everdesk.db` in the data dir) unless
//! `EVERDESK_TEST_STORE=postgres`: then every proxy started here keeps it in PostgreSQL
//! (`EVERDESK_TEST_DATABASE_URL`), each in a fresh schema of its own (a restart keeps its
//! schema), so the whole suite runs on either backend (`scripts/test` runs both).
//!
//! These suites pin the proxy to EverOS Cloud **v1** (legacy), whose wire format they
//! assert request by request; the v2 behaviour (the default) is covered by `scenarios`
//! (local-everos and the real self-hosted EverOS) and by the v2 runs of `crash`.

use std::{
    io::{BufRead, BufReader},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::Duration,
};

use everdesk_proxy::{app, identity::hmac_hash, store::Store, AppState, Config};
use serde_json::{json, Value};

/// The host-shared identity secret the harness configures.
pub const SECRET: &str = "host-identity-secret-0123456789";
/// The EverOS key.
pub const EVEROS_KEY: &str = "test-everos-key";

/// A running local-everos + proxy pair.
pub struct Harness {
    /// Proxy base URL.
    pub base: String,
    /// local-everos base URL.
    pub everos: String,
    /// HTTP client.
    pub http: reqwest::Client,
    _everos: local_everos::Running,
    /// The proxy config and running proxy, when started on a data dir.
    /// The proxy is `None` once stopped by [`Harness::store`].
    persisted: Option<(Config, Option<Stoppable>)>,
    /// The proxy binary, when started by [`start_binary_with`].
    process: Option<ProxyProcess>,
}

/// Starts both with defaults.
pub async fn start() -> Harness {
    start_with(|_| {}).await
}

/// Starts both, letting the test adjust the proxy config.
pub async fn start_with(tweak: impl FnOnce(&mut Config)) -> Harness {
    let (running, mut c) = everos_and_config().await;
    tweak(&mut c);
    let base = serve(c).await;
    Harness {
        base,
        everos: running.base_url(),
        http: reqwest::Client::new(),
        _everos: running,
        persisted: None,
        process: None,
    }
}

/// Starts both; the proxy is set up like production (`AppState::start`): signing key,
/// ticket state and idempotency ledger live in `data_dir`, so [`Harness::restart`] works.
pub async fn start_persisted(data_dir: &Path) -> Harness {
    let (running, mut c) = everos_and_config().await;
    c.data_dir = data_dir.to_owned();
    c.database_url = suite_database().await;
    persisted(running, c).await
}

/// [`start_persisted`] with the state in SQLite (`everdesk.db` in `data_dir`) whatever
/// the suite's store: for tests about the data dir's files.
pub async fn start_persisted_on_sqlite(data_dir: &Path) -> Harness {
    let (running, mut c) = everos_and_config().await;
    c.data_dir = data_dir.to_owned();
    persisted(running, c).await
}

async fn persisted(running: local_everos::Running, c: Config) -> Harness {
    let proxy = serve_started(c.clone()).await;
    Harness {
        base: proxy.base.clone(),
        everos: running.base_url(),
        http: reqwest::Client::new(),
        _everos: running,
        persisted: Some((c, Some(proxy))),
        process: None,
    }
}

/// Starts local-everos in process and the `everdesk-proxy` binary as a child process on
/// `data_dir`, speaking EverOS `api` (`v1` or `v2`), so [`Harness::kill_and_restart`]
/// can kill it outright, mid-request.
/// `more` command-line options are kept for the restart.
pub async fn start_binary_with(data_dir: &Path, api: &'static str, more: &[&str]) -> Harness {
    let (running, _) = everos_and_config().await;
    let everos = running.base_url();
    let mut extra: Vec<String> = more.iter().map(|s| (*s).to_owned()).collect();
    if !more.contains(&"--database-url") {
        if let Some(url) = suite_database().await {
            extra.extend(["--database-url".to_owned(), url]);
        }
    }
    let process = ProxyProcess::spawn(&everos, data_dir, api, extra).await;
    Harness {
        base: process.base.clone(),
        everos,
        http: reqwest::Client::new(),
        _everos: running,
        persisted: None,
        process: Some(process),
    }
}

/// A database URL for a proxy binary on the test PostgreSQL (`EVERDESK_TEST_DATABASE_URL`),
/// scoped to a fresh schema of its own (created and migrated here); `None`, with a notice
/// naming `test`, when that variable is unset.
pub async fn test_database(test: &str) -> Option<String> {
    match database_env() {
        Some(url) => Some(fresh_schema(&url).await),
        None => {
            // `scripts/test` always starts PostgreSQL: under CI a skip would hide a failure.
            assert!(
                std::env::var_os("CI").is_none_or(|v| v.is_empty()),
                "{test}: EVERDESK_TEST_DATABASE_URL is unset under CI"
            );
            eprintln!("NOTICE: {test}: EVERDESK_TEST_DATABASE_URL is unset, PostgreSQL skipped");
            None
        }
    }
}

/// `EVERDESK_TEST_DATABASE_URL`, when set.
fn database_env() -> Option<String> {
    std::env::var("EVERDESK_TEST_DATABASE_URL")
        .ok()
        .filter(|url| !url.is_empty())
}

/// Whether the suite runs on PostgreSQL (`EVERDESK_TEST_STORE=postgres`; unset or
/// `sqlite`: SQLite). Anything else is a mistake, not a silent SQLite run.
pub fn suite_on_postgres() -> bool {
    match std::env::var("EVERDESK_TEST_STORE").as_deref() {
        Ok("postgres") => true,
        Ok("sqlite" | "") | Err(_) => false,
        Ok(other) => panic!("EVERDESK_TEST_STORE={other:?}: expected sqlite or postgres"),
    }
}

/// The database URL of a fresh schema when the suite runs on PostgreSQL; `None` on
/// SQLite.
pub async fn suite_database() -> Option<String> {
    if !suite_on_postgres() {
        return None;
    }
    let url = database_env().expect(
        "EVERDESK_TEST_STORE=postgres needs EVERDESK_TEST_DATABASE_URL (scripts/test-postgres)",
    );
    Some(fresh_schema(&url).await)
}

/// `url` scoped to a new schema (created and migrated here), as the proxy binary takes it.
async fn fresh_schema(url: &str) -> String {
    let schema = format!("p_{}", uuid::Uuid::new_v4().simple());
    Store::postgres_in_schema(url, Some(&schema)).await.unwrap();
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}options=-c%20search_path%3D{schema}")
}

/// The state of a proxy built without a data dir: on `config.database_url` when set,
/// else on a fresh PostgreSQL schema when the suite runs there, else in-memory SQLite.
pub async fn state(mut config: Config) -> AppState {
    if config.database_url.is_none() {
        config.database_url = suite_database().await;
    }
    match &config.database_url {
        Some(url) => {
            let store = Store::postgres(url).await.unwrap();
            AppState::with_store(config, store)
        }
        None => AppState::new(config),
    }
}

/// The signing key replicas share (their session tokens are good on each other).
const REPLICA_SIGNING_KEY: &str = "replica-signing-key-0123456789-0123456789";

/// Two proxy binaries, replicas A and B, on one PostgreSQL database (`database_url`)
/// and one local-everos, sharing the signing key, with `more` options; the harness
/// speaks to A (`base`), B's base URL is returned. Each has its own data dir under `root`.
pub async fn start_replicas(root: &Path, database_url: &str, more: &[&str]) -> (Harness, ReplicaB) {
    let (running, _) = everos_and_config().await;
    let everos = running.base_url();
    let mut extra = vec![
        "--database-url".to_owned(),
        database_url.to_owned(),
        "--signing-key".to_owned(),
        REPLICA_SIGNING_KEY.to_owned(),
    ];
    extra.extend(more.iter().map(|s| (*s).to_owned()));
    let a = ProxyProcess::spawn(&everos, &root.join("a"), "v2", extra.clone()).await;
    let b = ProxyProcess::spawn(&everos, &root.join("b"), "v2", extra).await;
    let harness = Harness {
        base: a.base.clone(),
        everos,
        http: reqwest::Client::new(),
        _everos: running,
        persisted: None,
        process: Some(a),
    };
    (
        harness,
        ReplicaB {
            base: b.base.clone(),
            _process: b,
        },
    )
}

/// Replica B of [`start_replicas`]; stopped when dropped.
pub struct ReplicaB {
    /// B's base URL.
    pub base: String,
    _process: ProxyProcess,
}

/// The base URL a proxy binary started with piped stdout prints first
/// (`listening on http://ADDR`), read off the async threads.
pub async fn listening_base(child: &mut Child) -> String {
    let stdout = child.stdout.take().unwrap();
    let line = tokio::task::spawn_blocking(move || {
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).map(|_| line)
    })
    .await
    .unwrap()
    .unwrap();
    line.trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line: {line:?}"))
        .to_owned()
}

/// The proxy binary running as a child process; killed when dropped.
struct ProxyProcess {
    child: Child,
    base: String,
    data_dir: PathBuf,
    api: &'static str,
    /// More command-line options (kept for a restart).
    extra: Vec<String>,
}

impl ProxyProcess {
    /// Starts the binary against `everos` on `data_dir` and waits until it listens.
    async fn spawn(everos: &str, data_dir: &Path, api: &'static str, extra: Vec<String>) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_everdesk-proxy"))
            .args(["--listen", "127.0.0.1:0", "--everos-base-url", everos])
            .args(["--everos-api", api])
            .args(["--everos-api-key", EVEROS_KEY, "--identity-secret", SECRET])
            .args(["--everos-timeout-ms", "10000", "--data-dir"])
            .arg(data_dir)
            .args(&extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let base = listening_base(&mut child).await;
        Self {
            child,
            base,
            data_dir: data_dir.to_owned(),
            api,
            extra,
        }
    }
}

impl Drop for ProxyProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn everos_and_config() -> (local_everos::Running, Config) {
    let mut ec = local_everos::Config::in_memory(EVEROS_KEY);
    ec.test_controls = true;
    ec.profile_delay = Duration::from_millis(150);
    ec.index_lag = Duration::ZERO;
    let running = local_everos::spawn(ec).await.unwrap();
    let mut c = Config::for_tests();
    c.everos_api = "v1".into();
    c.everos_base_url = Some(running.base_url());
    c.everos_api_key = Some(EVEROS_KEY.into());
    c.identity_secret = Some(SECRET.into());
    c.everos_timeout_ms = 800;
    c.everos_connect_timeout_ms = 500;
    (running, c)
}

/// A proxy served until [`Stoppable::stop`].
struct Stoppable {
    base: String,
    stop: tokio::sync::oneshot::Sender<()>,
    served: tokio::task::JoinHandle<()>,
}

impl Stoppable {
    /// Stops accepting, lets open connections finish, and waits until the proxy (and with
    /// it its state: files, in-memory ledger) is gone.
    async fn stop(self) {
        let _ = self.stop.send(());
        tokio::time::timeout(Duration::from_secs(10), self.served)
            .await
            .expect("the proxy did not stop")
            .unwrap();
    }
}

/// Serves a proxy set up by `AppState::start` with `config` on port 0.
async fn serve_started(config: Config) -> Stoppable {
    let (state, embedded) = AppState::start(config).await.unwrap();
    assert!(embedded.is_none(), "tests give an EverOS URL");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let limits = state.config.serve_limits();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let served = tokio::spawn(async move {
        everdesk_proxy::serve::serve(listener, app(state), limits, async move {
            let _ = stopped.await;
        })
        .await
        .unwrap();
    });
    Stoppable {
        base: format!("http://{addr}"),
        stop,
        served,
    }
}

/// Serves a proxy with `config` on port 0 (its state as [`state`] makes it); returns
/// its base URL.
pub async fn serve(config: Config) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let limits = config.serve_limits();
    let never = std::future::pending::<()>();
    let state = state(config).await;
    tokio::spawn(everdesk_proxy::serve::serve(
        listener,
        app(state),
        limits,
        never,
    ));
    format!("http://{addr}")
}

/// A response's status and JSON body (Null when not JSON).
pub struct Reply {
    /// Status code.
    pub status: u16,
    /// Headers.
    pub headers: reqwest::header::HeaderMap,
    /// Body as JSON.
    pub body: Value,
}

impl Reply {
    /// The error code of an error body.
    pub fn code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or("")
    }
}

async fn reply(resp: reqwest::Response) -> Reply {
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let bytes = resp.bytes().await.unwrap();
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Reply {
        status,
        headers,
        body,
    }
}

impl Harness {
    /// How many buffered-message lookups (the proxy checking an add of unknown outcome:
    /// v1 `raw_message` searches, v2 searches filtered to a session) EverOS received.
    pub async fn raw_message_checks(&self) -> usize {
        let searches = self.requests(Some("search")).await;
        searches
            .iter()
            .filter(|r| {
                r["body"]["memory_types"][0] == "raw_message"
                    || (r["body"]["filters"]["session_id"].is_string()
                        && r["body"]["filters"]["user_id"].is_null())
            })
            .count()
    }

    /// The proxy's Prometheus metrics text.
    pub async fn metrics(&self) -> String {
        let resp = self.http.get(format!("{}/metrics", self.base)).send().await;
        resp.unwrap().text().await.unwrap()
    }

    /// Stops the proxy (unless stopped already) and starts a new one on the same data dir,
    /// config and EverOS (only for a harness from [`start_persisted`]).
    pub async fn restart(&mut self) {
        let (config, proxy) = self
            .persisted
            .take()
            .expect("restart needs start_persisted");
        if let Some(proxy) = proxy {
            proxy.stop().await;
        }
        // A fresh client: nothing pooled from the old proxy is reused.
        self.http = reqwest::Client::new();
        let proxy = serve_started(config.clone()).await;
        self.base = proxy.base.clone();
        self.persisted = Some((config, Some(proxy)));
    }

    /// The database of a proxy from [`start_persisted`], opened anew: the same PostgreSQL
    /// schema, or `everdesk.db` in its data dir — then the proxy stops first, since one
    /// process owns an SQLite file ([`Harness::restart`] starts it again).
    pub async fn store(&mut self) -> Store {
        let (config, proxy) = self
            .persisted
            .as_mut()
            .expect("store needs start_persisted");
        match &config.database_url {
            Some(url) => Store::postgres(url).await.unwrap(),
            None => {
                if let Some(proxy) = proxy.take() {
                    proxy.stop().await;
                }
                let path = config.data_dir.join(everdesk_proxy::store::SQLITE_FILE);
                Store::sqlite_file(&path).unwrap()
            }
        }
    }

    /// Kills the proxy binary outright (SIGKILL: no graceful shutdown, no cleanup) and
    /// starts it again on the same data dir (only for a harness from [`start_binary_with`]).
    pub async fn kill_and_restart(&mut self) {
        let old = self
            .process
            .take()
            .expect("kill_and_restart needs start_binary_with");
        let (data_dir, api, extra) = (old.data_dir.clone(), old.api, old.extra.clone());
        drop(old);
        self.http = reqwest::Client::new();
        let process = ProxyProcess::spawn(&self.everos, &data_dir, api, extra).await;
        self.base = process.base.clone();
        self.process = Some(process);
    }

    /// Kills the proxy binary outright (SIGKILL), without a restart.
    pub fn kill(&mut self) {
        drop(self.process.take().expect("kill needs a proxy binary"));
    }

    /// POST JSON with an optional bearer token.
    pub async fn post(&self, path: &str, token: Option<&str>, body: Value) -> Reply {
        let mut req = self.http.post(format!("{}{path}", self.base)).json(&body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        reply(req.send().await.unwrap()).await
    }

    /// GET with an optional bearer token.
    pub async fn get(&self, path: &str, token: Option<&str>) -> Reply {
        let mut req = self.http.get(format!("{}{path}", self.base));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        reply(req.send().await.unwrap()).await
    }

    /// DELETE with a bearer token.
    pub async fn delete(&self, path: &str, token: &str) -> Reply {
        let req = self
            .http
            .delete(format!("{}{path}", self.base))
            .bearer_auth(token);
        reply(req.send().await.unwrap()).await
    }

    /// A session for a verified customer (HMAC).
    pub async fn verified(&self, user_id: &str) -> String {
        let hash = hmac_hash::compute(SECRET.as_bytes(), user_id);
        let r = self
            .post(
                "/v1/session",
                None,
                json!({"user_id": user_id, "user_hash": hash}),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        r.body["token"].as_str().unwrap().to_owned()
    }

    /// Creates a ticket; returns the response.
    pub async fn ticket(&self, token: &str, id: &str, subject: &str) -> Reply {
        self.post(
            "/v1/tickets",
            Some(token),
            json!({"ticket_id": id, "subject": subject}),
        )
        .await
    }

    /// Sends a message.
    pub async fn say(&self, token: &str, ticket: &str, id: &str, content: &str) -> Reply {
        self.post(
            &format!("/v1/tickets/{ticket}/messages"),
            Some(token),
            json!({"id": id, "content": content, "sent_at": 1}),
        )
        .await
    }

    /// The customer's profile facts, polled until some arrive (EverOS extracts them
    /// after a flush) or two seconds pass.
    pub async fn profile_facts(&self, token: &str) -> Vec<Value> {
        let mut facts = Vec::new();
        for _ in 0..40 {
            facts = self.get("/v1/profile", Some(token)).await.body["facts"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            if !facts.is_empty() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        facts
    }

    /// Queues an EverOS fault.
    pub async fn fault(&self, fault: Value) {
        let r = self
            .http
            .post(format!("{}/_test/faults", self.everos))
            .json(&fault)
            .send()
            .await
            .unwrap();
        assert!(
            r.status().is_success(),
            "fault refused: {}",
            r.text().await.unwrap()
        );
    }

    /// The EverOS request log, optionally for one route.
    pub async fn requests(&self, route: Option<&str>) -> Vec<Value> {
        let url = match route {
            Some(r) => format!("{}/_test/requests?route={r}", self.everos),
            None => format!("{}/_test/requests", self.everos),
        };
        let v: Value = self
            .http
            .get(url)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        v["requests"].as_array().cloned().unwrap_or_default()
    }

    /// Adds whose messages contain `content` and that were not refused (a refused add
    /// stores nothing; a late one whose client gave up stays logged without a status).
    pub async fn stored_adds_of(&self, content: &str) -> usize {
        self.requests(Some("add"))
            .await
            .iter()
            .filter(|r| r["status"].as_u64().is_none_or(|s| s < 400))
            .filter(|r| {
                r["body"]["messages"]
                    .as_array()
                    .is_some_and(|ms| ms.iter().any(|m| m["content"] == content))
            })
            .count()
    }
}

/// The user id a logged EverOS request is about (top level or in filters).
pub fn user_of(req: &Value) -> Option<String> {
    req["body"]["user_id"]
        .as_str()
        .or_else(|| req["body"]["filters"]["user_id"].as_str())
        .map(str::to_owned)
}
