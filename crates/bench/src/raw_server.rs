//! The floor: the least a Socket.IO chat server can do on tokio-tungstenite.
//!
//! It speaks just enough of the protocol for the benchmark (Engine.IO open, Socket.IO connect)
//! and turns each `chat-message` into a `message` for everyone, text copied verbatim, encoded
//! once and shared. No names, no history, no acks, no heartbeat: what is left is the cost of
//! moving frames, which is what Charla is compared against.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use futures_util::{SinkExt, StreamExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::broadcast;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};

use crate::error::{BenchError, Result};

/// Messages a connection may fall behind before it is cut off (the loss then shows).
const LAG_LIMIT: usize = 1 << 16;
const CHAT_MESSAGE: &str = "42[\"chat-message\",";
const MESSAGE: &str = "42[\"message\",";

/// Serves until the process is stopped.
///
/// # Errors
/// When accepting fails.
pub async fn serve(listener: TcpListener) -> Result<()> {
    let (tx, _) = broadcast::channel::<Utf8Bytes>(LAG_LIMIT);
    let ids = Arc::new(AtomicU64::new(0));
    loop {
        let (tcp, _) = listener.accept().await.map_err(BenchError::io("accept"))?;
        let _ = tcp.set_nodelay(true);
        let id = ids.fetch_add(1, Ordering::Relaxed);
        let tx = tx.clone();
        tokio::spawn(async move {
            if let Err(e) = connection(tcp, tx, id).await {
                eprintln!("raw-server: connection {id}: {e}");
            }
        });
    }
}

async fn connection(tcp: TcpStream, tx: broadcast::Sender<Utf8Bytes>, id: u64) -> Result<()> {
    let config = WebSocketConfig::default().read_buffer_size(4096);
    let mut ws = tokio_tungstenite::accept_async_with_config(tcp, Some(config)).await?;
    let sid = format!("raw{id:016}");
    ws.send(Message::text(format!(
        "0{{\"sid\":\"{sid}\",\"upgrades\":[],\"pingInterval\":25000,\"pingTimeout\":20000,\"maxPayload\":1000000}}"
    )))
    .await?;
    let mut rx = tx.subscribe();
    loop {
        tokio::select! {
            frame = ws.next() => match frame {
                Some(Ok(Message::Text(text))) => {
                    if let Some(rest) = text.strip_prefix(CHAT_MESSAGE) {
                        let _ = tx.send(Utf8Bytes::from(format!("{MESSAGE}{rest}")));
                    } else if text.as_str() == "40" {
                        ws.send(Message::text(format!("40{{\"sid\":\"{sid}\"}}"))).await?;
                    }
                }
                Some(Ok(Message::Close(_))) | None => return Ok(()),
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(e.into()),
            },
            message = rx.recv() => match message {
                Ok(first) => {
                    // Write everything already queued, then flush once.
                    ws.feed(Message::Text(first)).await?;
                    while let Ok(next) = rx.try_recv() {
                        ws.feed(Message::Text(next)).await?;
                    }
                    ws.flush().await?;
                }
                Err(broadcast::error::RecvError::Lagged(n)) => {
                    eprintln!("raw-server: connection {id} fell {n} messages behind; closing it");
                    return Ok(());
                }
                Err(broadcast::error::RecvError::Closed) => return Ok(()),
            },
        }
    }
}
