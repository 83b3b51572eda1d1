//! everdesk-proxy: the widget's only server. `app(state)` builds the whole router so
//! tests drive exactly what `main` serves; `AppState::start` is the production set-up
//! (signing key, embedded EverOS, the database holding ticket state and the idempotency
//! ledger: SQLite in the data dir, or PostgreSQL for several replicas).

mod agent_page;
pub mod attempts;
pub mod client_ip;
pub mod clock;
pub mod config;
pub mod conversations;
mod cors;
mod data_dir;
mod embedded;
pub mod error;
mod escalation;
pub mod everos;
mod extract;
pub mod fencing;
mod flows;
mod frame_page;
pub mod identity;
pub mod ledger;
pub mod live;
pub mod llm;
pub mod metrics;
mod prompt;
pub mod rate_limit;
pub mod recent;
pub mod redact;
pub mod reply_gate;
pub mod request_id;
pub mod responder;
mod routes;
pub mod serve;
mod static_files;
pub mod store;
pub mod tickets;
pub mod visitor_cookie;
mod webhook;

use std::{sync::Arc, time::Duration};

use axum::{extract::DefaultBodyLimit, middleware, Router};
pub use config::{Config, ConfigError};
pub use embedded::Embedded;
pub use error::ProxyError;

use everos::{Everos, EverosSettings};
use identity::Identity;
use ledger::Ledger;
use llm::Llm;
use metrics::Metrics;
use rate_limit::RateLimiter;
use reply_gate::ReplyGate;
use store::Store;
use tickets::TicketStore;
use webhook::Webhook;

/// Shared state of a running proxy.
#[derive(Clone)]
pub struct AppState {
    /// The configuration the proxy started with.
    pub config: Arc<Config>,
    pub(crate) svc: Arc<Services>,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("everos", &self.svc.everos.base_url())
            .finish_non_exhaustive()
    }
}

/// The services handlers use.
pub(crate) struct Services {
    pub everos: Everos,
    pub identity: Identity,
    /// The database behind the tickets, the ledger and the fences.
    pub store: Store,
    pub tickets: TicketStore,
    pub ledger: Ledger,
    pub clock: clock::SessionClock,
    /// Just-closed tickets, until EverOS's index shows them.
    pub recent: recent::RecentlyClosed,
    /// Flushes whose outcome is unknown, until they may be re-sent.
    pub unsettled_flushes: clock::Unsettled,
    pub customer_limit: RateLimiter,
    pub ip_limit: RateLimiter,
    /// New anonymous visitors per client IP.
    pub visitor_limit: RateLimiter,
    /// Replies generated at once: one per customer, a cap overall.
    pub reply_gate: ReplyGate,
    /// `--trusted-proxies`, parsed.
    pub trusted_proxies: Vec<client_ip::IpBlock>,
    pub metrics: Arc<Metrics>,
    pub llm: Option<Llm>,
    pub webhook: Option<Webhook>,
    /// Transcripts and the team's view of each ticket.
    pub conversations: conversations::Conversations,
    /// Live events for customers' devices and agents.
    pub live: live::Live,
}

/// Why the proxy could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// A configuration problem, naming the option.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The data dir could not be created.
    #[error("data dir {path}: {source}")]
    DataDir {
        /// The path.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The signing key file in the data dir is unusable (never silently replaced).
    #[error(transparent)]
    SigningKey(#[from] identity::keys::KeyError),
    /// The database could not be opened or migrated.
    #[error("database: {0}")]
    Store(#[from] store::StoreError),
    /// The embedded EverOS failed to start.
    #[error("embedded EverOS failed to start: {0}")]
    Embedded(String),
}

impl AppState {
    /// State for `config` with an in-memory database (SQLite) and, when no signing key is
    /// configured, a random one for this process. EverOS is `config.everos_base_url`
    /// (unset: an unreachable placeholder — use [`AppState::start`] to embed one).
    ///
    /// # Panics
    /// If SQLite cannot open a database in memory (out of memory).
    pub fn new(config: Config) -> Self {
        let store = match Store::in_memory() {
            Ok(store) => store,
            Err(e) => panic!("an in-memory SQLite database: {e}"),
        };
        Self::with_store(config, store)
    }

    /// State for `config` on `store` (open and migrated; for example a PostgreSQL schema of
    /// a test's own), otherwise as [`AppState::new`]: no data dir, no embedded EverOS.
    pub fn with_store(config: Config, store: Store) -> Self {
        let key = config
            .signing_key
            .clone()
            .unwrap_or_else(identity::keys::random_key);
        let base = config
            .everos_base_url
            .clone()
            .unwrap_or_else(|| "http://127.0.0.1:9".to_owned());
        let api_key = config.everos_api_key.clone().unwrap_or_default();
        Self::build(config, &key, base, api_key, store, None)
    }

    /// Production set-up: validates the config, loads or creates the signing key in the
    /// data dir, starts the embedded EverOS when no EverOS URL is given, opens the
    /// database (PostgreSQL at `--database-url`, else SQLite in the data dir), migrates
    /// it, and imports the journals of earlier versions once.
    pub async fn start(config: Config) -> Result<(Self, Option<Embedded>), StartError> {
        config.validate()?;
        let data_err = |source| StartError::DataDir {
            path: config.data_dir.display().to_string(),
            source,
        };
        data_dir::create_private(&config.data_dir).map_err(data_err)?;
        let key = identity::keys::load_or_create(config.signing_key.as_deref(), &config.data_dir)?;
        warn_about_identity(&config);
        if config.widget_dir.is_some() && config.allowed_hosts.is_empty() {
            tracing::warn!(
                "no EVERDESK_ALLOWED_HOSTS: any site may embed the widget and drive it as its \
                 host page (set it to the origins of your site's pages)"
            );
        }
        let (base, api_key, embedded) = match &config.everos_base_url {
            Some(url) => (
                url.clone(),
                config.everos_api_key.clone().unwrap_or_default(),
                None,
            ),
            None => {
                let e = Embedded::start(&config).await?;
                (e.base_url(), e.api_key().to_owned(), Some(e))
            }
        };
        // The embedded EverOS is called in-process (its HTTP port still serves others).
        let in_process = embedded.as_ref().map(Embedded::router);
        let store = open_store(&config).await?;
        let ttl = Duration::from_secs(config.ledger_ttl_secs);
        store::import::journals(&config.data_dir, &store, ttl, clock::now_ms()).await?;
        if !store.is_shared() {
            // One process owns an SQLite file: ticket claims left in it are a killed
            // proxy's, and the next retry takes them over at once.
            TicketStore::new(store.clone()).expire_claims().await?;
        }
        let state = Self::build(config, &key, base, api_key, store, in_process);
        // What EverOS can do (embeddings, delete), logged once; `/readyz` re-checks.
        state.svc.everos.check().await;
        Ok((state, embedded))
    }

    fn build(
        config: Config,
        signing_key: &str,
        base_url: String,
        api_key: String,
        store: Store,
        in_process: Option<axum::Router>,
    ) -> Self {
        let ledger = Ledger::new(
            store.clone(),
            config.ledger_capacity,
            Duration::from_secs(config.ledger_ttl_secs),
        )
        .with_lease(Duration::from_millis(config.ledger_lease_ms));
        let tickets = TicketStore::new(store.clone()).with_limits(tickets::Limits {
            ttl: Duration::from_secs(config.ticket_ttl_days.saturating_mul(24 * 3600)),
            max_tickets: config.max_tickets,
        });
        let metrics = Arc::new(Metrics::default());
        let mut everos = Everos::new(
            EverosSettings {
                base_url,
                api_key,
                api: config.everos_api(),
                method: config.search_method.clone(),
                connect_timeout: config.everos_connect_timeout(),
                timeout: config.everos_timeout(),
                read_retries: config.everos_read_retries,
            },
            metrics.clone(),
        );
        let snapshots = match config.memory_snapshots.as_str() {
            "on" => true,
            "off" => false,
            _ => in_process.is_some(),
        };
        everos = everos.with_memory_snapshots(snapshots);
        if let Some(router) = in_process {
            everos = everos.in_process(router);
        }
        let llm = match (&config.llm_base_url, &config.llm_model) {
            (Some(url), Some(model)) => Some(Llm::new(llm::LlmSettings {
                base_url: url.clone(),
                api_key: config.llm_api_key.clone(),
                model: model.clone(),
                timeout: Duration::from_millis(config.llm_timeout_ms),
                max_tokens: config.llm_max_tokens,
            })),
            _ => None,
        };
        let webhook = match (&config.handoff_webhook_url, &config.handoff_webhook_secret) {
            (Some(url), Some(secret)) => Some(Webhook::new(url.clone(), secret.clone())),
            _ => None,
        };
        let svc = Services {
            everos,
            identity: Identity::new(
                config.identity_secret.as_deref(),
                signing_key.as_bytes(),
                config.session_ttl_secs,
            )
            .with_jwt_secret(config.jwt_secret.as_deref())
            .with_agent_api_key(config.agent_api_key.as_deref()),
            store: store.clone(),
            tickets,
            ledger,
            clock: clock::SessionClock::default(),
            recent: recent::RecentlyClosed::default(),
            unsettled_flushes: clock::Unsettled::default(),
            customer_limit: RateLimiter::new(
                config.rate_customer_per_min,
                config.rate_customer_burst,
            )
            .shared(&store, "customer"),
            ip_limit: RateLimiter::new(config.rate_ip_per_min, config.rate_ip_burst)
                .shared(&store, "ip"),
            visitor_limit: RateLimiter::new(config.rate_visitor_per_min, config.rate_visitor_burst)
                .shared(&store, "visitor"),
            reply_gate: ReplyGate::new(
                usize::try_from(config.max_concurrent_replies).unwrap_or(usize::MAX),
                Duration::from_millis(config.reply_wait_ms),
            ),
            trusted_proxies: config.trusted_proxy_blocks(),
            metrics,
            llm,
            webhook,
            conversations: conversations::Conversations::new(store.clone()),
            live: live::Live::new(store.clone()),
        };
        Self {
            config: Arc::new(config),
            svc: Arc::new(svc),
        }
    }
}

/// Start-up warnings about how customers are verified.
fn warn_about_identity(config: &Config) {
    match (&config.identity_secret, &config.jwt_secret) {
        (None, None) => tracing::warn!(
            "no EVERDESK_IDENTITY_SECRET: only anonymous visitors are accepted \
             (set it to verify customers by HMAC user_hash or JWT)"
        ),
        (Some(_), None) => tracing::warn!(
            "JWTs are accepted with the identity secret that also signs user hashes: if your \
             users can choose their own user id, a user hash can be turned into a JWT for \
             any user; set EVERDESK_JWT_SECRET to a separate key (see README, Configuration)"
        ),
        _ => {}
    }
}

/// The database: PostgreSQL at `--database-url`, else `everdesk.db` in the data dir
/// (opened off the async threads).
async fn open_store(config: &Config) -> Result<Store, StartError> {
    if let Some(url) = &config.database_url {
        let store = Store::postgres(url).await?;
        tracing::info!("state in PostgreSQL");
        return Ok(store);
    }
    let path = config.data_dir.join(store::SQLITE_FILE);
    let store = tokio::task::spawn_blocking(move || Store::sqlite_file(&path))
        .await
        .map_err(|e| store::StoreError::Task(e.to_string()))??;
    Ok(store)
}

/// The complete router: API routes and the widget files when configured, in
/// [`with_layers`].
pub fn app(state: AppState) -> Router {
    let router = routes::router(state.clone());
    let router = match &state.config.widget_dir {
        Some(dir) => router.merge(static_files::router(dir, &state.config.allowed_hosts)),
        None => router.fallback(not_found),
    };
    with_layers(router.method_not_allowed_fallback(not_found), &state)
}

/// What wraps every route: request ids, CORS, metrics, error bodies in the spec's
/// shape (also for a handler that panicked), the body limit.
pub fn with_layers(router: Router, state: &AppState) -> Router {
    router
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(
            error::panic_response,
        ))
        .layer(DefaultBodyLimit::max(state.config.body_limit))
        .layer(middleware::from_fn(error::typed_errors))
        .layer(middleware::from_fn_with_state(
            state.svc.metrics.clone(),
            metrics::layer,
        ))
        .layer(cors::layer(&state.config.allowed_origins))
        .layer(middleware::from_fn(request_id::layer))
}

/// The typed 404 for any path that is neither a route nor a file.
async fn not_found() -> ProxyError {
    ProxyError::NotFound
}
