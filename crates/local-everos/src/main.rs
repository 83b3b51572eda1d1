//! The `local-everos` binary: parse flags, serve, print the listening line.

use clap::Parser;

/// Command-line flags.
#[derive(Debug, Parser)]
#[command(about = "An EverOS Cloud v1-compatible memory server")]
struct Args {
    /// Address to listen on (port 0 picks a free one).
    #[arg(long, env = "LOCAL_EVEROS_LISTEN", default_value = "127.0.0.1:8788")]
    listen: std::net::SocketAddr,
    /// Bearer key clients must present.
    #[arg(long, env = "LOCAL_EVEROS_API_KEY", default_value = "local-dev-key")]
    api_key: String,
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let args = Args::parse();
    let running = local_everos::spawn(local_everos::Config {
        listen: args.listen,
        api_key: args.api_key,
    })
    .await?;
    println!("listening on http://{}", running.addr());
    tokio::signal::ctrl_c().await
}
