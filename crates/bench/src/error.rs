//! What can go wrong while benchmarking, as one error type.

use std::path::PathBuf;

/// A failure that ends a benchmark run.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// A socket or file operation failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The WebSocket layer failed.
    #[error("websocket: {0}")]
    WebSocket(#[from] tokio_tungstenite::tungstenite::Error),
    /// The server answered the Socket.IO handshake or a join in an unexpected way.
    #[error("handshake: {0}")]
    Handshake(String),
    /// Something did not happen in time.
    #[error("timed out: {0}")]
    Timeout(String),
    /// A server process could not be started or died.
    #[error("server {name}: {reason} (log: {})", log.display())]
    Server {
        /// Which server.
        name: String,
        /// What happened.
        reason: String,
        /// Its log file.
        log: PathBuf,
    },
    /// The JSON report could not be written.
    #[error("report: {0}")]
    Report(#[from] serde_json::Error),
}

impl BenchError {
    /// Wraps an I/O error with what was being done.
    pub fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> Self {
        let context = context.into();
        move |source| Self::Io { context, source }
    }
}

/// Result with [`BenchError`].
pub type Result<T> = std::result::Result<T, BenchError>;
