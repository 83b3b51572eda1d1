//! local-everos: an EverOS Cloud v1-compatible memory server (placeholder; see issue 3).

use std::net::SocketAddr;

use axum::{routing::get, Router};

/// How to start the server.
#[derive(Debug, Clone)]
pub struct Config {
    /// Address to listen on; port 0 picks a free port.
    pub listen: SocketAddr,
    /// The bearer key clients must present.
    pub api_key: String,
}

/// A server running in the background of this process.
#[derive(Debug)]
pub struct Running {
    addr: SocketAddr,
}

impl Running {
    /// The bound address (the real port when 0 was asked for).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

/// Builds the router.
pub fn app(_config: &Config) -> Router {
    Router::new().route("/healthz", get(|| async { "ok" }))
}

/// Binds and serves in a background task.
pub async fn spawn(config: Config) -> std::io::Result<Running> {
    let listener = tokio::net::TcpListener::bind(config.listen).await?;
    let addr = listener.local_addr()?;
    let router = app(&config);
    tokio::spawn(async move { axum::serve(listener, router).await });
    Ok(Running { addr })
}
