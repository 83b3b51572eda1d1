//! everdesk-proxy: the widget's only server. `app(state)` builds the whole router so
//! tests drive exactly what `main` serves.

pub mod config;
pub mod error;
pub mod request_id;
mod routes;
mod static_files;

use std::sync::Arc;

use axum::{middleware, Router};
pub use config::Config;
pub use error::ProxyError;

/// Shared, immutable state of a running proxy.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The configuration the proxy started with.
    pub config: Arc<Config>,
}

impl AppState {
    /// State from a configuration.
    pub fn new(config: Config) -> Self {
        Self {
            config: Arc::new(config),
        }
    }
}

/// The complete router: API routes, the widget files when configured, request ids.
pub fn app(state: AppState) -> Router {
    let router = routes::router().with_state(state.clone());
    let router = match &state.config.widget_dir {
        Some(dir) => router.merge(static_files::router(dir)),
        None => router.fallback(not_found),
    };
    router.layer(middleware::from_fn(request_id::layer))
}

/// The typed 404 for any path that is neither a route nor a file.
async fn not_found() -> ProxyError {
    ProxyError::NotFound
}
