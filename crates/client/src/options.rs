//! How a client connects: the server, the name, the outbox file and the timeouts.

use std::path::PathBuf;
use std::time::Duration;

use crate::backoff::Backoff;
use crate::error::Result;
use crate::url;

/// How to connect, and where the outbox lives.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// The normalized WebSocket URL (see [`crate::url::websocket_url`]).
    pub server_url: String,
    /// The name to join with.
    pub username: String,
    /// The shared access token of a private server.
    pub token: Option<String>,
    /// This device's key for the name (see [`crate::device_key`]); `None` joins as a guest.
    pub device_key: Option<String>,
    /// A link code from another device of the name's owner, for the first join only: it
    /// registers `device_key` with the name.
    pub link_code: Option<String>,
    /// The outbox file.
    pub outbox_path: PathBuf,
    /// Reconnection delays.
    pub backoff: Backoff,
    /// Longest wait for the handshake.
    pub connect_timeout: Duration,
    /// How long to wait for the join ack before assuming the tutorial's server.
    pub join_timeout: Duration,
    /// How long an ack may take before the link is considered dead.
    pub ack_timeout: Duration,
}

impl ClientOptions {
    /// Options with the usual timeouts.
    ///
    /// # Errors
    /// When `server` is not a usable address.
    pub fn new(server: &str, username: &str, outbox_path: PathBuf) -> Result<Self> {
        Ok(Self {
            server_url: url::websocket_url(server)?,
            username: username.trim().to_owned(),
            token: None,
            device_key: None,
            link_code: None,
            outbox_path,
            backoff: Backoff::default(),
            connect_timeout: Duration::from_secs(10),
            join_timeout: Duration::from_secs(3),
            ack_timeout: Duration::from_secs(15),
        })
    }
}
