//! The server's error type.

/// What can stop the server from starting or running.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The history database could not be opened, read or written.
    #[error("history store: {0}")]
    Store(#[from] rusqlite::Error),
    /// The history database's directory could not be created.
    #[error("history store directory {path}: {source}")]
    StoreDir {
        /// The directory.
        path: std::path::PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A stored message could not be read back.
    #[error("history store holds an unreadable message: {0}")]
    Corrupt(String),
    /// PostgreSQL could not be reached, or refused a statement.
    #[error("PostgreSQL: {0}")]
    Postgres(String),
    /// A database's schema could not be brought up to date, or is newer than this server's.
    #[error("schema: {0}")]
    Schema(String),
    /// A room of that name exists already (made by another node a moment before).
    #[error("a room called {0} exists already")]
    RoomExists(String),
    /// A search ran past its time budget (and was stopped).
    #[error("the search took longer than {} ms", .0.as_millis())]
    SearchTimedOut(std::time::Duration),
    /// The history store did not answer (a health check).
    #[error("history store unreachable: {0}")]
    Unreachable(String),
    /// An address given for a listener could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: std::net::SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// Serving failed.
    #[error("serving: {0}")]
    Io(#[from] std::io::Error),
}

/// Shorthand for results of this crate.
pub type Result<T> = std::result::Result<T, Error>;
