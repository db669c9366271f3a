//! `charla-server`: parses arguments, binds, and runs the chat until SIGINT or SIGTERM.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use charla_server::{ServerConfig, Storage, DEFAULT_PORT};
use clap::Parser;
use tracing_subscriber::EnvFilter;

/// The Charla chat server (speaks the Socket.IO chat tutorial's protocol).
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    /// Address to listen on.
    #[arg(long, env = "CHARLA_HOST", default_value = "127.0.0.1")]
    host: String,
    /// Port to listen on.
    #[arg(long, env = "CHARLA_PORT", default_value_t = DEFAULT_PORT)]
    port: u16,
    /// History database file, or `:memory:` to keep nothing across restarts.
    #[arg(long, env = "CHARLA_DB", default_value = "charla-data/history.db")]
    db: String,
    /// How many recent messages to keep and replay.
    #[arg(long, env = "CHARLA_HISTORY", default_value_t = 500)]
    history: usize,
    /// A browser origin allowed to connect (repeat, or comma-separate in the env var; `*` for
    /// any). Default: the tutorial's client, http://localhost:5175.
    #[arg(
        long = "allow-origin",
        env = "CHARLA_ALLOW_ORIGINS",
        value_delimiter = ','
    )]
    allow_origin: Vec<String>,
    /// Shared access token clients must send (`io(url, {auth: {token}})`).
    #[arg(long, env = "CHARLA_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// Longest message, in characters.
    #[arg(long, env = "CHARLA_MAX_MESSAGE_CHARS", default_value_t = 4000)]
    max_message_chars: usize,
    /// Messages per second one connection may send, sustained, with a burst of five seconds'
    /// worth; 0 disables the limit.
    #[arg(long, env = "CHARLA_RATE_LIMIT", default_value_t = 10)]
    rate_limit: u32,
    /// Packets queued for one client before it is disconnected as too slow.
    #[arg(long, env = "CHARLA_CLIENT_QUEUE", default_value_t = 4096)]
    client_queue: usize,
}

impl Cli {
    fn config(self) -> ServerConfig {
        let defaults = ServerConfig::default();
        ServerConfig {
            storage: if self.db == ":memory:" {
                Storage::Memory
            } else {
                Storage::Sqlite(PathBuf::from(self.db))
            },
            history_limit: self.history,
            allowed_origins: if self.allow_origin.is_empty() {
                defaults.allowed_origins.clone()
            } else {
                self.allow_origin
            },
            token: self.token.filter(|t| !t.is_empty()),
            max_message_chars: self.max_message_chars,
            rate_limit_per_sec: self.rate_limit,
            client_queue: self.client_queue.max(16),
            ..defaults
        }
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .init();
    let cli = Cli::parse();
    let addr = format!("{}:{}", cli.host, cli.port);
    let listener = match tokio::net::TcpListener::bind(&addr).await {
        Ok(listener) => listener,
        Err(e) => {
            eprintln!("charla-server: cannot listen on {addr}: {e}");
            return ExitCode::FAILURE;
        }
    };
    let local: Option<SocketAddr> = listener.local_addr().ok();
    let config = cli.config();
    tracing::info!(address = ?local, storage = ?config.storage, "Charla server listening");
    match charla_server::run(listener, config, shutdown_signal()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("charla-server: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
