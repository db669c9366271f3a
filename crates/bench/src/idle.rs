//! Idle memory: what a server holds for each connection that is doing nothing.

use std::net::SocketAddr;
use std::time::Duration;

use futures_util::{StreamExt, TryStreamExt};
use serde::Serialize;

use crate::conn;
use crate::error::{BenchError, Result};
use crate::proc::rss_bytes;

/// What the idle scenario measured.
#[derive(Debug, Clone, Serialize)]
pub struct IdleResult {
    /// Connections held open.
    pub connections: usize,
    /// Server resident memory before connecting.
    pub rss_before: u64,
    /// Server resident memory with every connection open and quiet.
    pub rss_after: u64,
    /// `(after - before) / connections`.
    pub bytes_per_connection: f64,
}

/// How long the server is left alone before each reading.
const QUIET: Duration = Duration::from_secs(2);

/// Opens `count` Socket.IO connections (handshake done, in the chat's audience, no name) to the
/// server with process id `pid` and measures how its resident memory grew.
///
/// # Errors
/// Connection failures, or a process whose memory cannot be read.
pub async fn run(addr: SocketAddr, pid: u32, count: usize) -> Result<IdleResult> {
    tokio::time::sleep(QUIET).await;
    let rss_before = rss_bytes(pid)?;
    let connections: Vec<conn::Ws> = futures_util::stream::iter(0..count)
        .map(|_| conn::open(addr))
        .buffer_unordered(200)
        .try_collect()
        .await?;
    if connections.len() != count {
        return Err(BenchError::Handshake("not every connection opened".into()));
    }
    tokio::time::sleep(QUIET).await;
    let rss_after = rss_bytes(pid)?;
    drop(connections);
    Ok(IdleResult {
        connections: count,
        rss_before,
        rss_after,
        bytes_per_connection: rss_after.saturating_sub(rss_before) as f64 / count.max(1) as f64,
    })
}
