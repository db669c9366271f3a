//! The server's settings, with the defaults the tutorial's clients expect, and the bounds on
//! what one peer can make the server hold.

use std::path::PathBuf;
use std::time::Duration;

use crate::clock::Clock;
use crate::proxy::TrustedProxies;

/// Where history is kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Storage {
    /// Nothing survives a restart; only the recent window (`history_limit`) is kept.
    Memory,
    /// An `SQLite` file (created when missing).
    Sqlite(PathBuf),
    /// A PostgreSQL database (`postgres://user@host/db`), which several nodes may share; its
    /// schema is made and migrated at start.
    Postgres(String),
}

/// Everything `run` needs to know.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Where history lives.
    pub storage: Storage,
    /// How many recent messages are kept in memory and given to a client joining afresh.
    pub history_limit: usize,
    /// With `SQLite`, keep at most this many messages (`None`: all of them).
    pub retention_messages: Option<u64>,
    /// Keep messages at most this long (`None`: for ever). Older ones are removed within a
    /// second of reaching the age; clients that had not seen them are told of the gap.
    pub retention_age: Option<Duration>,
    /// With `SQLite`, the largest the database file may grow, in bytes (`None`: no cap). When
    /// it is full, messages are refused as `unavailable`.
    pub db_max_bytes: Option<u64>,
    /// Browser origins allowed to connect (`*` allows any). Clients sending no `Origin` (native
    /// apps), or one equal to the request's own `Host`, are always allowed.
    pub allowed_origins: Vec<String>,
    /// A shared secret clients must send as `40{"token":…}`; `None` for an open server.
    pub token: Option<String>,
    /// Longest message text, in characters.
    pub max_message_chars: usize,
    /// Messages one user name may send per second, sustained (0: no limit).
    pub rate_limit_per_sec: u32,
    /// Messages one address may send per second, sustained, all names together (0: no limit).
    pub rate_limit_per_address_per_sec: u32,
    /// Bytes queued for one client before it is disconnected as too slow.
    pub client_queue_bytes: usize,
    /// Engine.IO heartbeat interval.
    pub ping_interval: Duration,
    /// How long a pong may take; also the deadline for one write to a client.
    pub ping_timeout: Duration,
    /// How long a connection may stay without joining the chat.
    pub join_timeout: Duration,
    /// How long a client may take to send a request head (and stay idle between requests).
    pub header_timeout: Duration,
    /// Open connections (and sessions) on the whole server.
    pub max_connections: usize,
    /// Open connections (and sessions) from one address.
    pub max_connections_per_address: usize,
    /// Reverse proxies whose `X-Forwarded-For` / `Forwarded` headers say the client's address
    /// (which the caps and limits per address then count); nobody by default.
    pub trusted_proxies: TrustedProxies,
    /// A name whose devices were all unseen this long is free again.
    pub name_idle: Duration,
    /// Public rooms the server holds at most (`general` included).
    pub max_rooms: usize,
    /// Direct messages the server holds at most (their own limit: a server full of rooms
    /// still opens DMs).
    pub max_dms: usize,
    /// A room or DM nobody has been a member of for this long is removed, with its messages
    /// (`None`: never).
    pub room_idle: Option<Duration>,
    /// New rooms one address may make a day (its burst, refilled evenly over the day; 0: no
    /// limit): filling the rooms cap takes days, not seconds.
    pub rooms_per_address_per_day: u32,
    /// New direct messages one address may open a day (as for rooms; 0: no limit).
    pub dms_per_address_per_day: u32,
    /// Names one address may claim a minute, after a burst of 20 (0: no limit).
    pub claims_per_minute: u32,
    /// Longest a search may run inside the database before it is stopped (and the asker told
    /// to narrow it).
    pub search_budget: Duration,
    /// Searches that may run at once on the server (each on a database connection of its
    /// own); more are refused `rate_limited`. One per connection at a time, whatever this is.
    pub max_searches: usize,
    /// Where `/metrics` (and `/healthz`) are served besides the chat's port; `None`: on the
    /// chat's port.
    pub metrics_addr: Option<std::net::SocketAddr>,
    /// Where "now" comes from for names and link codes (tests move it).
    pub clock: Clock,
}

/// The default of [`ServerConfig::name_idle`], in days.
pub const DEFAULT_NAME_IDLE_DAYS: u64 = 365;

/// The tutorial's port.
pub const DEFAULT_PORT: u16 = 3050;
/// The tutorial's browser client's origin (Vite on 5175).
pub const TUTORIAL_ORIGIN: &str = "http://localhost:5175";

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            storage: Storage::Memory,
            history_limit: 500,
            retention_messages: None,
            retention_age: None,
            db_max_bytes: None,
            allowed_origins: vec![
                TUTORIAL_ORIGIN.to_owned(),
                "http://127.0.0.1:5175".to_owned(),
            ],
            token: None,
            max_message_chars: 4000,
            rate_limit_per_sec: 10,
            rate_limit_per_address_per_sec: 30,
            client_queue_bytes: 1024 * 1024,
            ping_interval: Duration::from_secs(25),
            ping_timeout: Duration::from_secs(20),
            join_timeout: Duration::from_secs(30),
            header_timeout: Duration::from_secs(10),
            max_connections: 10_000,
            max_connections_per_address: 256,
            trusted_proxies: TrustedProxies::default(),
            name_idle: Duration::from_secs(DEFAULT_NAME_IDLE_DAYS * 24 * 3600),
            max_rooms: 10_000,
            max_dms: 20_000,
            room_idle: Some(Duration::from_secs(30 * 24 * 3600)),
            rooms_per_address_per_day: 50,
            dms_per_address_per_day: 500,
            claims_per_minute: 2,
            search_budget: Duration::from_secs(2),
            max_searches: 2,
            metrics_addr: None,
            clock: Clock::system(),
        }
    }
}

impl ServerConfig {
    /// The largest frame a client may send: a maximal message, every character escaped as
    /// `\uXXXX` in JSON, plus room for the envelope. Anything bigger closes that connection.
    #[must_use]
    pub fn max_frame_bytes(&self) -> usize {
        (self.max_message_chars.saturating_mul(6) + 4096).max(16 * 1024)
    }

    /// The most history bytes one answer (a join's, a page's) carries: well under a client's
    /// queue, so the answer is never what makes a client too slow.
    #[must_use]
    pub fn history_bytes(&self) -> usize {
        (self.client_queue_bytes / 4).clamp(16 * 1024, 256 * 1024)
    }

    /// Whether a browser page from `origin` may connect.
    #[must_use]
    pub fn origin_allowed(&self, origin: &str) -> bool {
        self.allowed_origins
            .iter()
            .any(|o| o == "*" || o.eq_ignore_ascii_case(origin))
    }
}
