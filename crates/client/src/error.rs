//! The client's error type.

use std::path::PathBuf;

/// What can go wrong in the client.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The server address cannot be used.
    #[error("bad server address {url:?}: {reason}")]
    BadUrl {
        /// What was given.
        url: String,
        /// Why it does not work.
        reason: String,
    },
    /// A local file could not be read or written.
    #[error("{path}: {source}")]
    File {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// No directory for local files could be found (no home directory).
    #[error("no place for local files: set CHARLA_CONFIG_DIR and CHARLA_DATA_DIR")]
    NoHome,
    /// The connection task has stopped.
    #[error("the client has stopped")]
    Stopped,
    /// No message with that client id is in the outbox.
    #[error("no unsent message {0}")]
    UnknownMessage(String),
    /// The text cannot be sent (empty).
    #[error("the message is empty")]
    EmptyMessage,
    /// A reaction that is not one emoji.
    #[error("a reaction is one emoji")]
    InvalidEmoji,
    /// The request needs the server, and the client is not joined now.
    #[error("not connected to the chat; try again when it is back")]
    Offline,
    /// The server refused the request.
    #[error("{0}")]
    Refused(charla_protocol::chat::Refusal),
}

/// Shorthand for results of this crate.
pub type Result<T> = std::result::Result<T, Error>;
