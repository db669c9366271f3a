//! `charla-server`: parses arguments, binds, and runs the chat until SIGINT or SIGTERM; or, with
//! `names list` / `names release NAME`, looks after owned names (while the server runs or not).

use std::io::IsTerminal;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use charla_server::proxy::{AddressBlock, TrustedProxies};
use charla_server::{ServerConfig, Storage, DEFAULT_NAME_IDLE_DAYS, DEFAULT_PORT};
use clap::parser::ValueSource;
use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use tracing_subscriber::EnvFilter;

/// The Charla chat server (speaks the Socket.IO chat tutorial's protocol).
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    /// A settings file (TOML): its keys are these long options (`port = 3050`,
    /// `allow-origin = ["https://chat.example.org"]`); options given here and `CHARLA_*`
    /// variables override it.
    #[arg(long, env = "CHARLA_CONFIG", global = true)]
    config: Option<PathBuf>,
    /// Also serve `/metrics` and `/healthz` on this address (e.g. `127.0.0.1:9090`), and
    /// `/metrics` only there. Default: on the chat's port.
    #[arg(long, env = "CHARLA_METRICS_ADDR")]
    metrics_addr: Option<SocketAddr>,
    /// Address to listen on.
    #[arg(long, env = "CHARLA_HOST", default_value = "127.0.0.1")]
    host: String,
    /// Port to listen on.
    #[arg(long, env = "CHARLA_PORT", default_value_t = DEFAULT_PORT)]
    port: u16,
    /// History database: an SQLite file (owned names are kept beside it: `history.db` →
    /// `history.names.db`), `postgres://user@host/db` (a PostgreSQL database several nodes
    /// can share), or `:memory:` to keep nothing across restarts.
    #[arg(
        long,
        env = "CHARLA_DB",
        default_value = "charla-data/history.db",
        global = true
    )]
    db: String,
    /// A name whose devices were all unseen for this many days is free again (0: never).
    #[arg(long, env = "CHARLA_NAME_IDLE_DAYS", default_value_t = DEFAULT_NAME_IDLE_DAYS, global = true)]
    name_idle_days: u64,
    /// How many recent messages to keep in memory and give to a client joining afresh.
    #[arg(long, env = "CHARLA_HISTORY", default_value_t = 500)]
    history: usize,
    /// Keep at most this many messages per room (default: all of them).
    #[arg(
        long = "retention-messages-per-room",
        alias = "retention-messages",
        env = "CHARLA_RETENTION_MESSAGES_PER_ROOM"
    )]
    retention_messages: Option<u64>,
    /// Keep messages at most this many days (default: for ever).
    #[arg(long, env = "CHARLA_RETENTION_DAYS")]
    retention_days: Option<u64>,
    /// Largest size of the database file, in MiB (default: no cap). When it is reached,
    /// messages are refused as unavailable, and logged.
    #[arg(long, env = "CHARLA_DB_MAX_MB")]
    db_max_mb: Option<u64>,
    /// A browser origin allowed to connect (repeat, or comma-separate in the env var; `*` for
    /// any). Default: the tutorial's client, <http://localhost:5175>.
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
    /// Messages per second one user name may send, sustained, with a burst of five seconds'
    /// worth; 0 disables the limits (per name and per address).
    #[arg(long, env = "CHARLA_RATE_LIMIT", default_value_t = 10)]
    rate_limit: u32,
    /// Messages per second one address may send, all names together (burst: five seconds'
    /// worth).
    #[arg(long, env = "CHARLA_RATE_LIMIT_PER_ADDRESS", default_value_t = 30)]
    rate_limit_per_address: u32,
    /// Names one address may claim a minute after its first 20 (0: no limit, for load tests).
    #[arg(long, env = "CHARLA_CLAIMS_PER_MINUTE", default_value_t = 2)]
    claims_per_minute: u32,
    /// Public rooms the server holds at most, `general` included.
    #[arg(long, env = "CHARLA_MAX_ROOMS", default_value_t = 10_000)]
    max_rooms: usize,
    /// Direct messages the server holds at most (a limit of their own).
    #[arg(long, env = "CHARLA_MAX_DMS", default_value_t = 20_000)]
    max_dms: usize,
    /// A room or DM nobody has been a member of for this many days is removed, with its
    /// messages (0: never).
    #[arg(long, env = "CHARLA_ROOM_IDLE_DAYS", default_value_t = 30)]
    room_idle_days: u64,
    /// New rooms one address may make a day (0: no limit).
    #[arg(long, env = "CHARLA_ROOMS_PER_ADDRESS_PER_DAY", default_value_t = 50)]
    rooms_per_address_per_day: u32,
    /// New direct messages one address may open a day (0: no limit).
    #[arg(long, env = "CHARLA_DMS_PER_ADDRESS_PER_DAY", default_value_t = 500)]
    dms_per_address_per_day: u32,
    /// Longest a search may run, in milliseconds; past it the search is stopped and the asker
    /// told to narrow it.
    #[arg(long, env = "CHARLA_SEARCH_TIMEOUT_MS", default_value_t = 2000)]
    search_timeout_ms: u64,
    /// Searches that may run at once on the server (each holds a database connection and a
    /// core); more are refused as rate limited.
    #[arg(long, env = "CHARLA_MAX_SEARCHES", default_value_t = 2)]
    max_searches: usize,
    /// Bytes queued for one client before it is disconnected as too slow.
    #[arg(long, env = "CHARLA_CLIENT_QUEUE_BYTES", default_value_t = 1024 * 1024)]
    client_queue_bytes: usize,
    /// Engine.IO ping interval, in milliseconds.
    #[arg(long, env = "CHARLA_PING_INTERVAL", default_value_t = 25_000)]
    ping_interval: u64,
    /// Engine.IO ping timeout (and the deadline of one write), in milliseconds.
    #[arg(long, env = "CHARLA_PING_TIMEOUT", default_value_t = 20_000)]
    ping_timeout: u64,
    /// Seconds a connection may stay without joining the chat.
    #[arg(long, env = "CHARLA_JOIN_TIMEOUT", default_value_t = 30)]
    join_timeout: u64,
    /// Seconds a client may take to send a request head (and stay idle between requests).
    #[arg(long, env = "CHARLA_HEADER_TIMEOUT", default_value_t = 10)]
    header_timeout: u64,
    /// Open connections on the whole server (lowered to what the open-files limit allows).
    #[arg(long, env = "CHARLA_MAX_CONNECTIONS", default_value_t = 10_000)]
    max_connections: usize,
    /// Open connections from one address.
    #[arg(
        long,
        env = "CHARLA_MAX_CONNECTIONS_PER_ADDRESS",
        default_value_t = 256
    )]
    max_connections_per_address: usize,
    /// A reverse proxy in front of the server (an address or a CIDR block; repeat, or
    /// comma-separate in the env var): from it only, the client's address is read from
    /// `X-Forwarded-For` (or `Forwarded`), and the limits per address count that.
    #[arg(
        long = "trusted-proxy",
        env = "CHARLA_TRUSTED_PROXIES",
        value_delimiter = ','
    )]
    trusted_proxy: Vec<AddressBlock>,
}

/// What else the binary does besides serving.
#[derive(Debug, Subcommand)]
enum Command {
    /// Owned names: who owns what, and freeing a name.
    Names {
        #[command(subcommand)]
        action: NamesAction,
    },
}

#[derive(Debug, Subcommand)]
enum NamesAction {
    /// Every owned name: its devices, when one was last seen, whether it is idle.
    List,
    /// Frees a name: its devices lose it (connected ones are told within a second), and the
    /// next join claims it.
    Release {
        /// The name (compared as joins compare names: `Alice` is `alice`).
        name: String,
    },
}

impl Cli {
    fn storage(&self) -> Storage {
        if self.db == ":memory:" {
            Storage::Memory
        } else if self.db.starts_with("postgres://") || self.db.starts_with("postgresql://") {
            Storage::Postgres(self.db.clone())
        } else {
            Storage::Sqlite(PathBuf::from(&self.db))
        }
    }

    fn name_idle(&self) -> Duration {
        match self.name_idle_days {
            0 => Duration::MAX,
            days => Duration::from_secs(days.saturating_mul(24 * 3600)),
        }
    }

    fn config(self) -> ServerConfig {
        let defaults = ServerConfig::default();
        let no_limit = self.rate_limit == 0;
        ServerConfig {
            storage: self.storage(),
            name_idle: self.name_idle(),
            history_limit: self.history,
            retention_messages: self.retention_messages.filter(|n| *n > 0),
            retention_age: self
                .retention_days
                .filter(|days| *days > 0)
                .map(|days| Duration::from_secs(days.saturating_mul(24 * 3600))),
            db_max_bytes: self.db_max_mb.map(|mb| mb.saturating_mul(1024 * 1024)),
            allowed_origins: if self.allow_origin.is_empty() {
                defaults.allowed_origins.clone()
            } else {
                self.allow_origin
            },
            token: self.token.filter(|t| !t.is_empty()),
            max_message_chars: self.max_message_chars,
            rate_limit_per_sec: self.rate_limit,
            rate_limit_per_address_per_sec: if no_limit {
                0
            } else {
                self.rate_limit_per_address
            },
            claims_per_minute: self.claims_per_minute,
            max_rooms: self.max_rooms.max(1),
            max_dms: self.max_dms,
            room_idle: (self.room_idle_days > 0)
                .then(|| Duration::from_secs(self.room_idle_days.saturating_mul(24 * 3600))),
            rooms_per_address_per_day: self.rooms_per_address_per_day,
            dms_per_address_per_day: self.dms_per_address_per_day,
            search_budget: Duration::from_millis(self.search_timeout_ms.max(1)),
            max_searches: self.max_searches.max(1),
            client_queue_bytes: self.client_queue_bytes.max(16 * 1024),
            ping_interval: Duration::from_millis(self.ping_interval.max(1)),
            ping_timeout: Duration::from_millis(self.ping_timeout.max(1)),
            join_timeout: Duration::from_secs(self.join_timeout.max(1)),
            header_timeout: Duration::from_secs(self.header_timeout.max(1)),
            max_connections: self.max_connections.max(1),
            max_connections_per_address: self.max_connections_per_address.max(1),
            trusted_proxies: TrustedProxies::new(self.trusted_proxy),
            metrics_addr: self.metrics_addr,
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
        // Colour codes only for a person at a terminal, never into a log file.
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr)
        .init();
    let mut cli = match parse_arguments() {
        Ok(cli) => cli,
        Err(Refused::Usage(e)) => e.exit(),
        Err(Refused::File(e)) => {
            eprintln!("charla-server: {e}");
            return ExitCode::from(2);
        }
    };
    if cli.retention_messages.is_none() {
        match legacy_retention_messages() {
            Ok(kept) => cli.retention_messages = kept,
            Err(e) => {
                eprintln!("charla-server: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    if let Some(Command::Names { action }) = &cli.command {
        return names(&cli, action);
    }
    // Each connection is a file descriptor: take all the system allows.
    if let Err(e) = rlimit::increase_nofile_limit(u64::MAX) {
        tracing::warn!(error = %e, "could not raise the open-files limit");
    }
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

/// Why the arguments (with the settings file's) were refused.
enum Refused {
    Usage(clap::Error),
    File(charla_server::config_file::ConfigFileError),
}

/// The command line, with the settings file's options (`--config`) put before it: each one
/// that neither the command line nor its `CHARLA_*` variable sets. An unknown key in the file
/// is refused like an unknown option.
fn parse_arguments() -> Result<Cli, Refused> {
    let given: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let command = Cli::command();
    let matches = command
        .clone()
        .try_get_matches_from(&given)
        .map_err(Refused::Usage)?;
    let Some(path) = matches.get_one::<PathBuf>("config") else {
        return Cli::from_arg_matches(&matches).map_err(Refused::Usage);
    };
    let settings = charla_server::config_file::read(path).map_err(Refused::File)?;
    let mut arguments = given.clone();
    // Every value of the file is checked, those the command line overrides too: a broken file
    // is found the day it is written, not the day an override is taken away.
    let mut whole_file = vec![given.first().cloned().unwrap_or_default()];
    let mut from_file = Vec::new();
    for setting in settings {
        let known = command.get_arguments().find(|arg| {
            arg.get_long() == Some(setting.option.as_str()) && arg.get_id() != "config"
        });
        let Some(arg) = known else {
            return Err(Refused::Usage(command.clone().error(
                clap::error::ErrorKind::UnknownArgument,
                format!(
                    "the settings file {} has `{}`, which is not an option of charla-server",
                    path.display(),
                    setting.option
                ),
            )));
        };
        let overridden = matches!(
            matches.value_source(arg.get_id().as_str()),
            Some(ValueSource::CommandLine | ValueSource::EnvVariable)
        );
        let mut these: Vec<std::ffi::OsString> = Vec::new();
        if setting.values.is_empty() {
            these.push(format!("--{}", setting.option).into());
        }
        for value in setting.values {
            these.push(format!("--{}={value}", setting.option).into());
        }
        whole_file.extend(these.iter().cloned());
        if !overridden {
            from_file.extend(these);
        }
    }
    Cli::try_parse_from(whole_file).map_err(|e| {
        Refused::Usage(command.clone().error(
            clap::error::ErrorKind::ValueValidation,
            format!("in the settings file {}: {e}", path.display()),
        ))
    })?;
    arguments.splice(1..1, from_file);
    Cli::try_parse_from(arguments).map_err(Refused::Usage)
}

/// `charla-server names …`: works on the name book directly (an `SQLite` book is in WAL mode,
/// a PostgreSQL one is shared: a running server and this command see each other's changes).
fn names(cli: &Cli, action: &NamesAction) -> ExitCode {
    let now = chrono::Utc::now();
    let (place, done) = match cli.storage() {
        Storage::Memory => {
            eprintln!(
                "charla-server: with --db :memory: names live in the running server's memory only"
            );
            return ExitCode::FAILURE;
        }
        Storage::Postgres(url) => {
            // The blocking client has a runtime of its own: not on this one's thread.
            let idle = cli.name_idle();
            let action = match action {
                NamesAction::List => None,
                NamesAction::Release { name } => Some(name.clone()),
            };
            let done = std::thread::spawn(move || match action {
                None => charla_server::names::list_postgres(&url, idle, now).map(Answer::Listed),
                Some(name) => charla_server::names::release_postgres(&url, &name)
                    .map(|devices| Answer::Released(name, devices)),
            })
            .join()
            .unwrap_or_else(|_| {
                Err(charla_server::Error::Postgres(
                    "the names command's thread failed".into(),
                ))
            });
            ("the PostgreSQL database".to_owned(), done)
        }
        Storage::Sqlite(_) => {
            let Some(path) = cli.storage().names_path() else {
                return ExitCode::FAILURE;
            };
            if !path.exists() {
                eprintln!(
                    "charla-server: no name book at {} (nothing owned yet, or another --db)",
                    path.display()
                );
                return ExitCode::FAILURE;
            }
            let done = match action {
                NamesAction::List => {
                    charla_server::names::list(&path, cli.name_idle(), now).map(Answer::Listed)
                }
                NamesAction::Release { name } => charla_server::names::release(&path, name)
                    .map(|devices| Answer::Released(name.clone(), devices)),
            };
            (path.display().to_string(), done)
        }
    };
    match done {
        Ok(answer) => {
            answer.print();
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("charla-server: {place}: {e}");
            ExitCode::FAILURE
        }
    }
}

/// What a `names` command found.
enum Answer {
    Listed(Vec<charla_server::names::NameEntry>),
    Released(String, Option<u32>),
}

impl Answer {
    fn print(&self) {
        match self {
            Self::Listed(names) => {
                println!(
                    "{:<32}  {:>7}  {:<24}  STATE",
                    "NAME", "DEVICES", "LAST SEEN"
                );
                for entry in names {
                    println!(
                        "{:<32}  {:>7}  {:<24}  {}",
                        entry.name,
                        entry.devices,
                        entry.last_seen.format("%Y-%m-%d %H:%M:%S UTC"),
                        if entry.idle {
                            "idle (free to claim)"
                        } else {
                            "owned"
                        }
                    );
                }
                println!("{} owned name(s)", names.len());
            }
            Self::Released(name, Some(devices)) => {
                println!("released {name} ({devices} device(s))");
            }
            Self::Released(name, None) => println!("{name} was not owned; nothing to release"),
        }
    }
}

/// `CHARLA_RETENTION_MESSAGES`, the variable's name before retention was per room: still read,
/// so a deployment configured by environment keeps its retention.
fn legacy_retention_messages() -> Result<Option<u64>, String> {
    let Ok(value) = std::env::var("CHARLA_RETENTION_MESSAGES") else {
        return Ok(None);
    };
    let kept = value
        .trim()
        .parse()
        .map_err(|_| format!("CHARLA_RETENTION_MESSAGES={value:?} is not a number of messages"))?;
    tracing::warn!(
        "CHARLA_RETENTION_MESSAGES is read as CHARLA_RETENTION_MESSAGES_PER_ROOM, its new name"
    );
    Ok(Some(kept))
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
