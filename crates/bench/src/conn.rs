//! One benchmark connection: WebSocket-only Socket.IO handshake, join, and heartbeats.

use std::net::SocketAddr;

use charla_protocol::EnginePacket;
use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};
use tokio_tungstenite::WebSocketStream;

use crate::error::{BenchError, Result};
use crate::flavor::Flavor;

/// A connected WebSocket.
pub type Ws = WebSocketStream<TcpStream>;

/// Read buffer per connection: chat frames are small, and the idle scenario opens 10,000.
const READ_BUFFER: usize = 16 * 1024;

/// Opens a WebSocket to the server and completes the Engine.IO and Socket.IO handshakes.
///
/// # Errors
/// Connection failures, or a handshake the server answered unexpectedly.
pub async fn open(addr: SocketAddr) -> Result<Ws> {
    let tcp = TcpStream::connect(addr)
        .await
        .map_err(BenchError::io(format!("connect to {addr}")))?;
    tcp.set_nodelay(true)
        .map_err(BenchError::io("set TCP_NODELAY"))?;
    let url = format!("ws://{addr}/socket.io/?EIO=4&transport=websocket");
    let config = WebSocketConfig::default().read_buffer_size(READ_BUFFER);
    let (mut ws, _) = tokio_tungstenite::client_async_with_config(url, tcp, Some(config)).await?;
    let open = next_text(&mut ws).await?;
    EnginePacket::decode(&open)
        .ok()
        .and_then(|p| p.open_payload().ok())
        .ok_or_else(|| BenchError::Handshake(format!("expected an open packet, got {open:?}")))?;
    ws.send(Message::text("40")).await?;
    loop {
        let frame = next_text(&mut ws).await?;
        if frame.starts_with("40") {
            return Ok(ws);
        }
        if frame.starts_with("44") {
            return Err(BenchError::Handshake(format!("connect refused: {frame}")));
        }
    }
}

/// Joins as `name`, waiting for the ack where the flavor gives one.
///
/// # Errors
/// A refused join, or a closed connection.
pub async fn join(ws: &mut Ws, flavor: Flavor, name: &str) -> Result<()> {
    const JOIN_ACK: u64 = 0;
    ws.send(Message::text(flavor.join_frame(name, JOIN_ACK)))
        .await?;
    if !flavor.acks_joins() {
        return Ok(());
    }
    loop {
        let frame = next_text(ws).await?;
        if frame.starts_with("430[") {
            if frame.contains("\"ok\":true") {
                return Ok(());
            }
            return Err(BenchError::Handshake(format!("join refused: {frame}")));
        }
    }
}

/// The next text frame, answering pings on the way.
///
/// # Errors
/// A closed connection or a WebSocket error.
pub async fn next_text(ws: &mut Ws) -> Result<Utf8Bytes> {
    loop {
        match ws.next().await {
            Some(Ok(Message::Text(text))) => {
                if answer_ping(ws, &text).await? {
                    continue;
                }
                return Ok(text);
            }
            Some(Ok(Message::Close(_))) | None => {
                return Err(BenchError::Handshake(
                    "the server closed the connection".into(),
                ))
            }
            Some(Ok(_)) => {}
            Some(Err(e)) => return Err(e.into()),
        }
    }
}

/// Answers an Engine.IO ping (`2`) with a pong; whether `frame` was one.
///
/// # Errors
/// When the pong cannot be sent.
pub async fn answer_ping(ws: &mut Ws, frame: &str) -> Result<bool> {
    if frame == "2" {
        ws.send(Message::text("3")).await?;
        return Ok(true);
    }
    Ok(false)
}

/// Emits `event` with `payload` and ack id `id`, and returns the ack's first argument (frames
/// that come meanwhile are dropped: call it before any traffic the caller must count).
///
/// # Errors
/// A closed connection, or an answer that is not JSON.
pub async fn request(
    ws: &mut Ws,
    id: u64,
    event: &str,
    payload: &serde_json::Value,
) -> Result<serde_json::Value> {
    let frame = format!("42{id}{}", serde_json::json!([event, payload]));
    ws.send(Message::text(frame)).await?;
    let prefix = format!("43{id}[");
    loop {
        let frame = next_text(ws).await?;
        if let Some(rest) = frame.strip_prefix(prefix.as_str()) {
            let args: Vec<serde_json::Value> = serde_json::from_str(&format!("[{rest}"))?;
            return Ok(args.into_iter().next().unwrap_or_default());
        }
    }
}

/// [`request`], refusing anything but `{ok: true, …}`.
///
/// # Errors
/// As [`request`], and a refusal.
pub async fn expect_ok(
    ws: &mut Ws,
    id: u64,
    event: &str,
    payload: &serde_json::Value,
) -> Result<serde_json::Value> {
    let answer = request(ws, id, event, payload).await?;
    if answer.get("ok") == Some(&serde_json::Value::Bool(true)) {
        Ok(answer)
    } else {
        Err(BenchError::Handshake(format!("{event} refused: {answer}")))
    }
}
