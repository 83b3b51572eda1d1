//! The embedded EverOS: when no `EVEROS_BASE_URL` is given, local-everos runs in this
//! process on an ephemeral loopback port with its data in the data dir, and the proxy
//! talks to it over HTTP with the same client code as for EverOS Cloud.

use std::{net::SocketAddr, path::Path};

use crate::StartError;

/// A running embedded EverOS; keep it alive as long as the proxy serves.
#[derive(Debug)]
pub struct Embedded {
    running: local_everos::Running,
    api_key: String,
}

impl Embedded {
    /// Starts local-everos with data under `<data_dir>/everos`.
    pub async fn start(data_dir: &Path) -> Result<Self, StartError> {
        let api_key = crate::identity::keys::random_key();
        let dir = data_dir.join("everos");
        crate::data_dir::create_private(&dir).map_err(|source| StartError::DataDir {
            path: dir.display().to_string(),
            source,
        })?;
        let mut config = local_everos::Config::in_memory(api_key.clone());
        config.listen = SocketAddr::from(([127, 0, 0, 1], 0));
        config.storage = local_everos::Storage::DataDir(dir.clone());
        let running = local_everos::spawn(config)
            .await
            .map_err(|e| StartError::Embedded(e.to_string()))?;
        tracing::info!(
            addr = %running.addr(),
            data = %dir.display(),
            "no EVEROS_BASE_URL given: using the embedded local EverOS; \
             set EVEROS_BASE_URL=https://api.evermind.ai and EVEROS_API_KEY to use EverOS Cloud"
        );
        Ok(Self { running, api_key })
    }

    /// `http://127.0.0.1:<port>`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.running.addr())
    }

    /// The per-process key the embedded server expects.
    pub fn api_key(&self) -> &str {
        &self.api_key
    }

    /// Stops the embedded server.
    pub async fn shutdown(self) {
        self.running.shutdown().await;
    }
}
