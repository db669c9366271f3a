//! Idle memory: what a server holds for each user who joined and is now doing nothing.
//!
//! Users join as real users do (each join tells everyone already there, so the room's
//! presence traffic is N²/2 frames), keep reading and answering pings, and then stay quiet.
//! The reading is taken once that traffic has stopped, so it shows what the server keeps for
//! a joined, idle user, not what it holds in flight.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures_util::{StreamExt, TryStreamExt};
use serde::Serialize;
use tokio::sync::watch;

use crate::conn;
use crate::error::{BenchError, Result};
use crate::flavor::Flavor;
use crate::proc::rss_bytes;

/// What the idle scenario measured.
#[derive(Debug, Clone, Serialize)]
pub struct IdleResult {
    /// Users joined and held open.
    pub connections: usize,
    /// Server resident memory before connecting.
    pub rss_before: u64,
    /// Server resident memory with every user joined and quiet.
    pub rss_after: u64,
    /// `(after - before) / connections`.
    pub bytes_per_connection: f64,
}

/// How long the server is left alone before each reading.
const QUIET: Duration = Duration::from_secs(2);
/// Connections opened at once.
const SETUP_CONCURRENCY: usize = 100;
/// Longest wait for the presence traffic to stop.
const SETTLE_LIMIT: Duration = Duration::from_secs(120);

/// Opens and joins `count` users to the server with process id `pid`, keeps them reading, and
/// measures how its resident memory grew once all is quiet.
///
/// # Errors
/// Connection failures, a refused join, or a process whose memory cannot be read.
pub async fn run(addr: SocketAddr, pid: u32, flavor: Flavor, count: usize) -> Result<IdleResult> {
    tokio::time::sleep(QUIET).await;
    let rss_before = rss_bytes(pid)?;
    let frames = Arc::new(AtomicU64::new(0));
    let (stop, stopped) = watch::channel(false);
    let readers: Vec<tokio::task::JoinHandle<()>> = futures_util::stream::iter(0..count)
        .map(|i| {
            let frames = frames.clone();
            let stopped = stopped.clone();
            async move {
                let mut ws = conn::open(addr).await?;
                conn::join(&mut ws, flavor, &format!("idle{i}")).await?;
                Ok::<_, BenchError>(tokio::spawn(drain(ws, frames, stopped)))
            }
        })
        .buffer_unordered(SETUP_CONCURRENCY)
        .try_collect()
        .await?;
    settle(&frames).await?;
    tokio::time::sleep(QUIET).await;
    let rss_after = rss_bytes(pid)?;
    let _ = stop.send(true);
    for reader in readers {
        let _ = reader.await;
    }
    Ok(IdleResult {
        connections: count,
        rss_before,
        rss_after,
        bytes_per_connection: rss_after.saturating_sub(rss_before) as f64 / count.max(1) as f64,
    })
}

/// Reads (and answers pings) until told to stop, counting frames.
async fn drain(mut ws: conn::Ws, frames: Arc<AtomicU64>, mut stopped: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            frame = conn::next_text(&mut ws) => match frame {
                Ok(_) => { frames.fetch_add(1, Ordering::Relaxed); }
                Err(_) => return,
            },
            _ = stopped.wait_for(|stop| *stop) => return,
        }
    }
}

/// Waits until no frame has arrived for a while.
async fn settle(frames: &AtomicU64) -> Result<()> {
    let limit = tokio::time::Instant::now() + SETTLE_LIMIT;
    let mut last = frames.load(Ordering::Relaxed);
    loop {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let now = frames.load(Ordering::Relaxed);
        if now == last {
            return Ok(());
        }
        if tokio::time::Instant::now() > limit {
            return Err(BenchError::Timeout("presence traffic never settled".into()));
        }
        last = now;
    }
}
