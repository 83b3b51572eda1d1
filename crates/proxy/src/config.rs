//! Proxy configuration: command-line flags with environment fallbacks (clap), and the
//! start-up validation that names the offending option.

use std::{net::SocketAddr, path::PathBuf, time::Duration};

use clap::{ArgAction, Parser};

/// Everything the proxy can be told at start-up. `--help` documents each option.
#[derive(Debug, Clone, Parser)]
#[command(
    name = "everdesk-proxy",
    version,
    about = "EverDesk proxy: the widget's only server"
)]
pub struct Config {
    /// Address to listen on; port 0 picks a free port (the real one is printed).
    #[arg(long, env = "EVERDESK_LISTEN", default_value = "127.0.0.1:8787")]
    pub listen: SocketAddr,

    /// Serve the built widget, loader and demo pages from this directory.
    #[arg(long, env = "EVERDESK_WIDGET_DIR")]
    pub widget_dir: Option<PathBuf>,

    /// Largest accepted request body, in bytes.
    #[arg(long, env = "EVERDESK_BODY_LIMIT", default_value_t = 64 * 1024)]
    pub body_limit: usize,

    /// Days a ticket untouched (no message, no close) stays in the proxy's state; EverOS
    /// keeps its memory regardless.
    #[arg(long, env = "EVERDESK_TICKET_TTL_DAYS", default_value_t = 180)]
    pub ticket_ttl_days: u64,

    /// Most tickets the proxy keeps over all customers; beyond it the oldest closed ones
    /// leave first, and a new ticket is refused (503) only when all kept ones are open.
    #[arg(long, env = "EVERDESK_MAX_TICKETS", default_value_t = 1_000_000)]
    pub max_tickets: usize,

    /// Connections served at once; more clients wait in the listen backlog.
    #[arg(long, env = "EVERDESK_MAX_CONNECTIONS", default_value_t = 1024)]
    pub max_connections: usize,

    /// Seconds a client may take to send a request's head, and to start its next request
    /// on a kept-alive connection; then the connection is closed.
    #[arg(long, env = "EVERDESK_HEADER_TIMEOUT_SECS", default_value_t = 10)]
    pub header_timeout_secs: u64,

    /// Seconds a client may pause in the middle of a request body; then it gets 400
    /// `invalid_request` and the connection is closed.
    #[arg(long, env = "EVERDESK_BODY_TIMEOUT_SECS", default_value_t = 15)]
    pub body_timeout_secs: u64,

    /// EverOS base URL: a self-hosted EverOS (e.g. http://127.0.0.1:1995) or EverOS Cloud
    /// (https://api.evermind.ai). Unset: run the embedded local EverOS.
    #[arg(long, env = "EVEROS_BASE_URL")]
    pub everos_base_url: Option<String>,

    /// The EverOS API to speak: v2 (the self-hosted server, PyPI `everos` 1.x, and EverOS
    /// Cloud v2) or v1 (EverOS Cloud v1, legacy).
    #[arg(long, env = "EVEROS_API", default_value = "v2", value_parser = ["v1", "v2"])]
    pub everos_api: String,

    /// Reuse a customer's profile document and whether they have any episode for up to a
    /// minute across a ticket's messages (v2): `auto` = only with the embedded EverOS,
    /// whose only writer is this proxy; `on` also for an external EverOS (safe only when
    /// this one proxy writes to it: another replica's or app's flush would show up to a
    /// minute late); `off` = read on every message.
    #[arg(long, env = "EVERDESK_MEMORY_SNAPSHOTS", default_value = "auto", value_parser = ["auto", "on", "off"])]
    pub memory_snapshots: String,

    /// EverOS API key: required for EverOS Cloud v1, sent as a Bearer key to Cloud v2;
    /// a self-hosted EverOS needs none. Never logged, never returned.
    #[arg(long, env = "EVEROS_API_KEY", hide_env_values = true)]
    pub everos_api_key: Option<String>,

    /// Data directory: the embedded EverOS's data, the generated signing key, ticket state, the idempotency ledger.
    #[arg(long, env = "EVERDESK_DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,

    /// PostgreSQL database for the proxy's state (`postgres://user:pass@host/db`), shared
    /// by several replicas. Unset: SQLite, `everdesk.db` in the data dir. Never logged.
    #[arg(long, env = "EVERDESK_DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,

    /// The sentence-embedding model (all-MiniLM-L6-v2) the embedded EverOS loads to
    /// recall by meaning (vector and hybrid search). Unset: the cache `scripts/setup`
    /// fills (`~/.cache/everdesk/models/all-MiniLM-L6-v2`) when it holds the model;
    /// `off`: no model (keyword search). Ignored with --everos-base-url.
    #[arg(long, env = "EVERDESK_EMBEDDING_MODEL")]
    pub embedding_model: Option<PathBuf>,

    /// EverOS search method for recalled episodes (context and history): keyword, vector,
    /// hybrid or agentic. On v2 without embeddings, keyword is used instead (logged and
    /// shown in /readyz). v1 profile facts are always searched with hybrid (keyword drops
    /// them); v2 reads the one profile document.
    #[arg(long, env = "EVERDESK_SEARCH_METHOD", default_value = "hybrid",
          value_parser = ["keyword", "vector", "hybrid", "agentic"])]
    pub search_method: String,

    /// EverOS connect timeout, milliseconds.
    #[arg(
        long,
        env = "EVERDESK_EVEROS_CONNECT_TIMEOUT_MS",
        default_value_t = 2_000
    )]
    pub everos_connect_timeout_ms: u64,

    /// EverOS request timeout, milliseconds (an add that times out has an unknown outcome).
    #[arg(long, env = "EVERDESK_EVEROS_TIMEOUT_MS", default_value_t = 30_000)]
    pub everos_timeout_ms: u64,

    /// How long an add whose answer never came (a timeout) may still land in EverOS,
    /// milliseconds. A retry of that message within this window that does not find it
    /// yet is answered 503 (try again later) instead of adding it a second time.
    #[arg(long, env = "EVERDESK_EVEROS_SETTLE_MS", default_value_t = 60_000)]
    pub everos_settle_ms: u64,

    /// Extra attempts for EverOS reads (search/get) on 429/5xx/timeouts. Writes never retry.
    #[arg(long, env = "EVERDESK_EVEROS_READ_RETRIES", default_value_t = 2)]
    pub everos_read_retries: u32,

    /// Secret shared with the host backend for HMAC user hashes (and HS256 JWTs unless
    /// --jwt-secret is set). Unset: visitors only.
    #[arg(long, env = "EVERDESK_IDENTITY_SECRET", hide_env_values = true)]
    pub identity_secret: Option<String>,

    /// Separate secret for HS256 JWTs (≥ 16 chars, not the identity secret). Set: JWTs verify
    /// only with it and user hashes only with --identity-secret. Unset: JWTs verify with the
    /// identity secret, so a host that lets users choose their own user id hands out JWT
    /// signatures as user hashes (a warning says so at start).
    #[arg(long, env = "EVERDESK_JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: Option<String>,

    /// Agent API key (≥ 24 chars) for integrations (a helpdesk, a chat tool) that answer
    /// customers through the agent routes. Unset: agents sign in only with a JWT that has
    /// `role: "agent"`.
    #[arg(long, env = "EVERDESK_AGENT_API_KEY", hide_env_values = true)]
    pub agent_api_key: Option<String>,

    /// Proxy key signing session and visitor tokens (≥ 32 chars). Unset: generated once, kept in the data dir.
    #[arg(long, env = "EVERDESK_SIGNING_KEY", hide_env_values = true)]
    pub signing_key: Option<String>,

    /// Session token lifetime, seconds.
    #[arg(long, env = "EVERDESK_SESSION_TTL_SECS", default_value_t = 12 * 3600)]
    pub session_ttl_secs: u64,

    /// Idempotency ledger: most remembered message ids.
    #[arg(long, env = "EVERDESK_LEDGER_CAPACITY", default_value_t = 10_000)]
    pub ledger_capacity: usize,

    /// Idempotency ledger: how long a message id is remembered, seconds.
    #[arg(long, env = "EVERDESK_LEDGER_TTL_SECS", default_value_t = 24 * 3600)]
    pub ledger_ttl_secs: u64,

    /// Idempotency ledger: how long a replica's claim on a message in flight holds without
    /// renewal (renewed while held), ms; a replica killed mid-message is taken over after it.
    #[arg(long, env = "EVERDESK_LEDGER_LEASE_MS", default_value_t = 10_000)]
    pub ledger_lease_ms: u64,

    /// Rate limit per customer: sustained requests per minute.
    #[arg(long, env = "EVERDESK_RATE_CUSTOMER_PER_MIN", default_value_t = 60)]
    pub rate_customer_per_min: u32,

    /// Rate limit per customer: burst size.
    #[arg(long, env = "EVERDESK_RATE_CUSTOMER_BURST", default_value_t = 20)]
    pub rate_customer_burst: u32,

    /// Rate limit per client IP: sustained requests per minute.
    #[arg(long, env = "EVERDESK_RATE_IP_PER_MIN", default_value_t = 600)]
    pub rate_ip_per_min: u32,

    /// Rate limit per client IP: burst size.
    #[arg(long, env = "EVERDESK_RATE_IP_BURST", default_value_t = 120)]
    pub rate_ip_burst: u32,

    /// New anonymous visitors (`POST /v1/session` without a visitor token) per client IP:
    /// sustained per minute.
    #[arg(long, env = "EVERDESK_RATE_VISITOR_PER_MIN", default_value_t = 10)]
    pub rate_visitor_per_min: u32,

    /// New anonymous visitors per client IP: burst size.
    #[arg(long, env = "EVERDESK_RATE_VISITOR_BURST", default_value_t = 5)]
    pub rate_visitor_burst: u32,

    /// Replies generated at once, over all customers; beyond it a message waits up to
    /// --reply-wait-ms, then gets 503 with Retry-After. Each customer has one reply at a time.
    #[arg(long, env = "EVERDESK_MAX_CONCURRENT_REPLIES", default_value_t = 16)]
    pub max_concurrent_replies: u32,

    /// How long a message waits for its turn to be answered (the customer's previous reply,
    /// or a free slot under --max-concurrent-replies), milliseconds; then 429 or 503.
    #[arg(long, env = "EVERDESK_REPLY_WAIT_MS", default_value_t = 2_000)]
    pub reply_wait_ms: u64,

    /// Reverse proxies in front of this one, comma-separated addresses or CIDR blocks
    /// (e.g. 127.0.0.1,10.0.0.0/8): from these peers the client address for the per-IP
    /// rate limit is read from `X-Forwarded-For`. Unset: the TCP peer is the client.
    #[arg(long, env = "EVERDESK_TRUSTED_PROXIES", value_delimiter = ',')]
    pub trusted_proxies: Vec<String>,

    /// Browser origins allowed by CORS, comma-separated (the proxy's own origin is always allowed).
    #[arg(long, env = "EVERDESK_ALLOWED_ORIGINS", value_delimiter = ',')]
    pub allowed_origins: Vec<String>,

    /// Origins of the host pages allowed to embed the widget frame, comma-separated
    /// (e.g. https://shop.example.com): sent as the frame page's CSP `frame-ancestors`
    /// and checked by the frame against its `?host=`. Unset: any site may embed it.
    #[arg(long, env = "EVERDESK_ALLOWED_HOSTS", value_delimiter = ',')]
    pub allowed_hosts: Vec<String>,

    /// OpenAI-compatible base URL for replies (e.g. http://127.0.0.1:11434/v1). Unset: built-in responder.
    #[arg(long, env = "EVERDESK_LLM_BASE_URL")]
    pub llm_base_url: Option<String>,

    /// Bearer key for the LLM endpoint.
    #[arg(long, env = "EVERDESK_LLM_API_KEY", hide_env_values = true)]
    pub llm_api_key: Option<String>,

    /// Model name for the LLM endpoint (required with --llm-base-url).
    #[arg(long, env = "EVERDESK_LLM_MODEL")]
    pub llm_model: Option<String>,

    /// LLM request timeout, milliseconds.
    #[arg(long, env = "EVERDESK_LLM_TIMEOUT_MS", default_value_t = 60_000)]
    pub llm_timeout_ms: u64,

    /// Most tokens an LLM answer may have (`max_tokens` of every request).
    #[arg(long, env = "EVERDESK_LLM_MAX_TOKENS", default_value_t = 512)]
    pub llm_max_tokens: u32,

    /// Mask card numbers and stated passwords before messages are stored in EverOS.
    #[arg(long, env = "EVERDESK_STORE_REDACTION", default_value_t = true, action = ArgAction::Set)]
    pub store_redaction: bool,

    /// From which customer message in a ticket the built-in responder offers a human.
    #[arg(long, env = "EVERDESK_OFFER_HUMAN_AFTER", default_value_t = 3)]
    pub offer_human_after: usize,

    /// URL receiving escalation hand-offs as signed JSON POSTs.
    #[arg(long, env = "EVERDESK_HANDOFF_WEBHOOK_URL")]
    pub handoff_webhook_url: Option<String>,

    /// HMAC key for `X-EverDesk-Signature` on hand-off webhooks (required with the URL):
    /// the signature covers `"<X-EverDesk-Timestamp>.<body>"`.
    #[arg(long, env = "EVERDESK_HANDOFF_WEBHOOK_SECRET", hide_env_values = true)]
    pub handoff_webhook_secret: Option<String>,

    /// Log as JSON lines instead of human-readable text.
    #[arg(long, env = "EVERDESK_LOG_JSON", default_value_t = false)]
    pub log_json: bool,
}

/// The `--embedding-model` value that turns embeddings off.
pub const EMBEDDING_OFF: &str = "off";

/// A configuration that must not start, naming the option at fault.
#[derive(Debug, thiserror::Error)]
#[error("invalid configuration: {option}: {reason}")]
pub struct ConfigError {
    /// The flag, e.g. `--everos-api-key`.
    pub option: &'static str,
    /// What is wrong with it.
    pub reason: String,
}

fn bad(option: &'static str, reason: &str) -> ConfigError {
    ConfigError {
        option,
        reason: reason.to_owned(),
    }
}

fn is_http_url(url: &str) -> bool {
    url.starts_with("http://") || url.starts_with("https://")
}

impl Config {
    /// The connection limits [`crate::serve::serve`] applies.
    pub fn serve_limits(&self) -> crate::serve::Limits {
        crate::serve::Limits {
            max_connections: self.max_connections,
            header_timeout: std::time::Duration::from_secs(self.header_timeout_secs),
            body_timeout: std::time::Duration::from_secs(self.body_timeout_secs),
        }
    }

    /// Defaults suitable for tests: ephemeral port, nothing served.
    pub fn for_tests() -> Self {
        Self::parse_from(["everdesk-proxy", "--listen", "127.0.0.1:0"])
    }

    /// Refuses combinations that cannot work, naming the option.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if let (None, Some(dir)) = (&self.everos_base_url, &self.embedding_model) {
            if dir.as_os_str() != EMBEDDING_OFF && !local_everos::embed::looks_like_model(dir) {
                return Err(bad(
                    "--embedding-model",
                    "is not a model directory (config.json, tokenizer.json, model.safetensors): \
                     run scripts/setup, or pass off to run without embeddings",
                ));
            }
        }
        if let Some(url) = &self.everos_base_url {
            if !is_http_url(url) {
                return Err(bad("--everos-base-url", "must be an http(s) URL"));
            }
            if self.everos_api == "v1" && self.everos_api_key.as_deref().unwrap_or("").is_empty() {
                return Err(bad(
                    "--everos-api-key",
                    "required with --everos-base-url for EverOS Cloud v1",
                ));
            }
        }
        if self
            .identity_secret
            .as_deref()
            .is_some_and(|s| s.len() < 16)
        {
            return Err(bad("--identity-secret", "must be at least 16 characters"));
        }
        if let Some(key) = self.agent_api_key.as_deref() {
            if key.len() < 24 {
                return Err(bad("--agent-api-key", "must be at least 24 characters"));
            }
        }
        if let Some(jwt) = self.jwt_secret.as_deref() {
            if jwt.len() < 16 {
                return Err(bad("--jwt-secret", "must be at least 16 characters"));
            }
            if self.identity_secret.as_deref() == Some(jwt) {
                return Err(bad(
                    "--jwt-secret",
                    "must differ from --identity-secret (its point is a separate key)",
                ));
            }
        }
        if self.signing_key.as_deref().is_some_and(|s| s.len() < 32) {
            return Err(bad("--signing-key", "must be at least 32 characters"));
        }
        if let Some(url) = &self.llm_base_url {
            if !is_http_url(url) {
                return Err(bad("--llm-base-url", "must be an http(s) URL"));
            }
            if self.llm_model.as_deref().unwrap_or("").is_empty() {
                return Err(bad("--llm-model", "required with --llm-base-url"));
            }
        }
        if let Some(url) = &self.handoff_webhook_url {
            if !is_http_url(url) {
                return Err(bad("--handoff-webhook-url", "must be an http(s) URL"));
            }
            if self
                .handoff_webhook_secret
                .as_deref()
                .unwrap_or("")
                .is_empty()
            {
                return Err(bad(
                    "--handoff-webhook-secret",
                    "required with --handoff-webhook-url",
                ));
            }
        }
        let positive = [
            ("--body-limit", self.body_limit as u64),
            ("--max-connections", self.max_connections as u64),
            ("--ticket-ttl-days", self.ticket_ttl_days),
            ("--max-tickets", self.max_tickets as u64),
            ("--header-timeout-secs", self.header_timeout_secs),
            ("--body-timeout-secs", self.body_timeout_secs),
            ("--everos-timeout-ms", self.everos_timeout_ms),
            (
                "--everos-connect-timeout-ms",
                self.everos_connect_timeout_ms,
            ),
            ("--session-ttl-secs", self.session_ttl_secs),
            ("--ledger-capacity", self.ledger_capacity as u64),
            ("--ledger-ttl-secs", self.ledger_ttl_secs),
            ("--ledger-lease-ms", self.ledger_lease_ms),
            (
                "--rate-customer-per-min",
                u64::from(self.rate_customer_per_min),
            ),
            ("--rate-customer-burst", u64::from(self.rate_customer_burst)),
            ("--rate-ip-per-min", u64::from(self.rate_ip_per_min)),
            ("--rate-ip-burst", u64::from(self.rate_ip_burst)),
            (
                "--rate-visitor-per-min",
                u64::from(self.rate_visitor_per_min),
            ),
            ("--rate-visitor-burst", u64::from(self.rate_visitor_burst)),
            (
                "--max-concurrent-replies",
                u64::from(self.max_concurrent_replies),
            ),
            ("--llm-max-tokens", u64::from(self.llm_max_tokens)),
        ];
        for (option, value) in positive {
            if value == 0 {
                return Err(bad(option, "must be greater than 0"));
            }
        }
        if self
            .trusted_proxies
            .iter()
            .any(|p| crate::client_ip::IpBlock::parse(p).is_none())
        {
            return Err(bad(
                "--trusted-proxies",
                "each entry must be an IP address or CIDR block like 10.0.0.0/8",
            ));
        }
        if self
            .allowed_origins
            .iter()
            .any(|o| !is_http_url(o) || o.ends_with('/'))
        {
            return Err(bad(
                "--allowed-origins",
                "each origin must look like https://shop.example.com (no path, no trailing slash)",
            ));
        }
        if !self
            .allowed_hosts
            .iter()
            .all(|o| crate::frame_page::is_origin(o))
        {
            return Err(bad(
                "--allowed-hosts",
                "each origin must look like https://shop.example.com (no path, no trailing slash)",
            ));
        }
        Ok(())
    }

    /// The `--trusted-proxies` blocks (validated by [`Config::validate`]).
    pub fn trusted_proxy_blocks(&self) -> Vec<crate::client_ip::IpBlock> {
        self.trusted_proxies
            .iter()
            .filter_map(|p| crate::client_ip::IpBlock::parse(p))
            .collect()
    }

    /// EverOS connect timeout.
    pub fn everos_connect_timeout(&self) -> Duration {
        Duration::from_millis(self.everos_connect_timeout_ms)
    }

    /// EverOS request timeout.
    pub fn everos_timeout(&self) -> Duration {
        Duration::from_millis(self.everos_timeout_ms)
    }

    /// The EverOS API to speak (validated by clap).
    pub fn everos_api(&self) -> crate::everos::Api {
        crate::everos::Api::parse(&self.everos_api).unwrap_or(crate::everos::Api::V2)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Config {
        let mut all = vec!["everdesk-proxy"];
        all.extend_from_slice(args);
        Config::parse_from(all)
    }

    #[test]
    fn defaults_are_valid() {
        let c = Config::for_tests();
        assert!(c.validate().is_ok());
        assert!(c.store_redaction);
        assert_eq!(c.search_method, "hybrid");
        assert_eq!(c.llm_max_tokens, 512);
        assert_eq!(c.max_concurrent_replies, 16);
        assert_eq!((c.rate_visitor_per_min, c.rate_visitor_burst), (10, 5));
        assert!(c.jwt_secret.is_none());
    }

    #[test]
    fn invalid_combinations_name_the_option() {
        let e = parse(&["--everos-base-url", "https://x", "--everos-api", "v1"])
            .validate()
            .unwrap_err();
        assert_eq!(e.option, "--everos-api-key");
        // A self-hosted v2 server has no auth: no key needed.
        let self_hosted = parse(&["--everos-base-url", "http://127.0.0.1:1995"]);
        assert!(self_hosted.validate().is_ok());
        assert_eq!(self_hosted.everos_api(), crate::everos::Api::V2);
        let e = parse(&["--llm-base-url", "http://l"])
            .validate()
            .unwrap_err();
        assert_eq!(e.option, "--llm-model");
        let e = parse(&["--jwt-secret", "short"]).validate().unwrap_err();
        assert_eq!(e.option, "--jwt-secret");
        let same = "the-same-secret-0123";
        let e = parse(&["--identity-secret", same, "--jwt-secret", same])
            .validate()
            .unwrap_err();
        assert_eq!(e.option, "--jwt-secret");
        let e = parse(&["--max-concurrent-replies", "0"])
            .validate()
            .unwrap_err();
        assert_eq!(e.option, "--max-concurrent-replies");
        let e = parse(&["--signing-key", "short"]).validate().unwrap_err();
        assert_eq!(e.option, "--signing-key");
        let e = parse(&["--rate-ip-burst", "0"]).validate().unwrap_err();
        assert_eq!(e.option, "--rate-ip-burst");
        let e = parse(&["--trusted-proxies", "127.0.0.1,10.0.0.0/99"])
            .validate()
            .unwrap_err();
        assert_eq!(e.option, "--trusted-proxies");
        let ok = parse(&["--trusted-proxies", "127.0.0.1,10.0.0.0/8"]);
        assert!(ok.validate().is_ok());
        assert_eq!(ok.trusted_proxy_blocks().len(), 2);
        let e = parse(&["--allowed-origins", "https://a.com/"])
            .validate()
            .unwrap_err();
        assert_eq!(e.option, "--allowed-origins");
        assert!(e.to_string().contains("--allowed-origins"));
        let e = parse(&["--allowed-hosts", "https://a.com,https://b.com/x"])
            .validate()
            .unwrap_err();
        assert_eq!(e.option, "--allowed-hosts");
        let ok = parse(&["--allowed-hosts", "https://a.com,http://127.0.0.1:8787"]);
        assert!(ok.validate().is_ok());
        assert_eq!(ok.allowed_hosts.len(), 2);
    }

    #[test]
    fn store_redaction_can_be_switched_off() {
        assert!(!parse(&["--store-redaction", "false"]).store_redaction);
    }
}
