//! The `everdesk-proxy` binary: read config, set up logging and state, bind, print the
//! listening line, serve until Ctrl-C/SIGTERM, then stop the embedded EverOS.

use std::process::ExitCode;

use clap::Parser;
use everdesk_proxy::{app, serve::serve, AppState, Config};

fn init_logging(json: bool) {
    let filter =
        tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into());
    // Logs go to stderr: stdout carries only the `listening on` line scripts wait for.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down");
}

fn main() -> ExitCode {
    // Before the runtime starts any thread (it changes the environment).
    local_everos::embed::one_encoder_thread_unless_configured();
    match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime.block_on(run()),
        Err(e) => {
            eprintln!("everdesk-proxy: {e}");
            ExitCode::from(1)
        }
    }
}

async fn run() -> ExitCode {
    let config = Config::parse();
    init_logging(config.log_json);
    if let Err(e) = config.validate() {
        eprintln!("everdesk-proxy: {e}");
        return ExitCode::from(2);
    }
    let listen = config.listen;
    let limits = config.serve_limits();
    let (state, embedded) = match AppState::start(config).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("everdesk-proxy: {e}");
            return ExitCode::from(1);
        }
    };
    let listener = match tokio::net::TcpListener::bind(listen).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("everdesk-proxy: --listen {listen}: {e}");
            return ExitCode::from(1);
        }
    };
    let addr = listener.local_addr().unwrap_or(listen);
    println!("listening on http://{addr}");
    tracing::info!(%addr, "everdesk-proxy ready");
    let served = serve(listener, app(state), limits, shutdown_signal()).await;
    if let Some(e) = embedded {
        e.shutdown().await;
    }
    match served {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("everdesk-proxy: {e}");
            ExitCode::from(1)
        }
    }
}
