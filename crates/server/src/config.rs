//! The server's settings, with the defaults the tutorial's clients expect.

use std::path::PathBuf;
use std::time::Duration;

/// Where history is kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Storage {
    /// Nothing survives a restart.
    Memory,
    /// An SQLite file (created when missing).
    Sqlite(PathBuf),
}

/// Everything `run` needs to know.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Where history lives.
    pub storage: Storage,
    /// How many recent messages are kept and replayed.
    pub history_limit: usize,
    /// Browser origins allowed to connect (`*` allows any). Clients sending no `Origin` (native
    /// apps) are always allowed.
    pub allowed_origins: Vec<String>,
    /// A shared secret clients must send as `40{"token":…}`; `None` for an open server.
    pub token: Option<String>,
    /// Longest message text, in characters.
    pub max_message_chars: usize,
    /// Messages a connection may send per second, sustained (0: no limit).
    pub rate_limit_per_sec: u32,
    /// Packets queued for one client before it is disconnected as too slow.
    pub client_queue: usize,
    /// Engine.IO heartbeat interval.
    pub ping_interval: Duration,
    /// How long a pong may take.
    pub ping_timeout: Duration,
}

/// The tutorial's port.
pub const DEFAULT_PORT: u16 = 3050;
/// The tutorial's browser client's origin (Vite on 5175).
pub const TUTORIAL_ORIGIN: &str = "http://localhost:5175";

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            storage: Storage::Memory,
            history_limit: 500,
            allowed_origins: vec![
                TUTORIAL_ORIGIN.to_owned(),
                "http://127.0.0.1:5175".to_owned(),
            ],
            token: None,
            max_message_chars: 4000,
            rate_limit_per_sec: 10,
            client_queue: 4096,
            ping_interval: Duration::from_secs(25),
            ping_timeout: Duration::from_secs(20),
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

    /// Whether a browser page from `origin` may connect.
    #[must_use]
    pub fn origin_allowed(&self, origin: &str) -> bool {
        self.allowed_origins
            .iter()
            .any(|o| o == "*" || o.eq_ignore_ascii_case(origin))
    }
}
