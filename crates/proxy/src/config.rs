//! Proxy configuration: command-line flags with environment fallbacks (clap).

use std::{net::SocketAddr, path::PathBuf};

use clap::Parser;

/// Everything the proxy can be told at start-up. `--help` documents each option.
#[derive(Debug, Clone, Parser)]
#[command(name = "everdesk-proxy", version, about = "EverDesk proxy: the widget's only server")]
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
}

impl Config {
    /// Defaults suitable for tests: ephemeral port, nothing served.
    pub fn for_tests() -> Self {
        Self::parse_from(["everdesk-proxy", "--listen", "127.0.0.1:0"])
    }
}
