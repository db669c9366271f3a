//! A connection as the room sees it, whichever transport carries it.
//!
//! WebSocket clients that connect directly (Charla's own clients, socket.io-client with
//! `transports: ["websocket"]`) are served by [`crate::ws`]: a broadcast is encoded into one
//! frame and each of them gets a reference to it. Everyone else (HTTP long-polling, and
//! polling connections that upgraded) goes through socketioxide, which encodes per socket.

use std::sync::Arc;

use axum::extract::ws::Utf8Bytes;
use serde::Serialize;
use serde_json::value::RawValue;
use socketioxide::extract::{AckSender, SocketRef};
use socketioxide::socket::Sid;
use socketioxide::{SendError, SocketError};
use tokio::sync::Notify;

use crate::frame_queue::FrameQueue;

/// Why a packet could not be queued for a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SendFailure {
    /// The connection's queue is full: it reads slower than the room talks.
    #[error("the client's queue is full")]
    Full,
    /// The connection is gone.
    #[error("the connection is closed")]
    Closed,
    /// The payload could not be encoded (a bug, never a peer's doing).
    #[error("the payload could not be encoded")]
    Encoding,
}

/// An event encoded once for every receiver.
pub struct Encoded {
    event: &'static str,
    json: Box<RawValue>,
    frame: Utf8Bytes,
}

impl Encoded {
    /// Encodes `data` as the payload of `event`.
    ///
    /// # Errors
    /// When `data` cannot be serialized.
    pub fn new<T: Serialize + ?Sized>(event: &'static str, data: &T) -> Result<Self, SendFailure> {
        let json = serde_json::value::to_raw_value(data).map_err(|_| SendFailure::Encoding)?;
        let frame = Utf8Bytes::from(format!("42[\"{event}\",{}]", json.get()));
        Ok(Self { event, json, frame })
    }
}

/// One of this server's own WebSocket connections: a queue of frames and a way to end it.
#[derive(Clone)]
pub struct WsLink {
    id: Sid,
    queue: Arc<FrameQueue>,
    close: Arc<Notify>,
}

impl WsLink {
    /// A link whose frames go into `queue`; `close` is notified to end the connection.
    #[must_use]
    pub fn new(id: Sid, queue: Arc<FrameQueue>, close: Arc<Notify>) -> Self {
        Self { id, queue, close }
    }

    /// Queues a frame that is already encoded.
    ///
    /// # Errors
    /// A full queue or a closed connection.
    pub fn send_frame(&self, frame: Utf8Bytes) -> Result<(), SendFailure> {
        self.queue.push(frame)
    }

    /// Ends the connection (a `41` is sent first, ahead of anything still queued).
    pub fn disconnect(&self) {
        self.close.notify_one();
    }
}

/// A connection in the room.
#[derive(Clone)]
pub enum Link {
    /// Served by socketioxide (polling, or upgraded from polling).
    Sio(SocketRef),
    /// Served by [`crate::ws`].
    Ws(WsLink),
}

impl Link {
    /// The connection's id.
    #[must_use]
    pub fn id(&self) -> Sid {
        match self {
            Self::Sio(socket) => socket.id,
            Self::Ws(link) => link.id,
        }
    }

    /// Queues an event encoded once for many receivers.
    ///
    /// # Errors
    /// A full queue or a closed connection.
    pub fn send(&self, encoded: &Encoded) -> Result<(), SendFailure> {
        match self {
            Self::Sio(socket) => socket
                .emit(encoded.event, &*encoded.json)
                .map_err(sio_failure),
            Self::Ws(link) => link.send_frame(encoded.frame.clone()),
        }
    }

    /// Encodes and queues one event for this connection only.
    ///
    /// # Errors
    /// A full queue, a closed connection, or a payload that does not serialize.
    pub fn emit<T: Serialize + ?Sized>(
        &self,
        event: &'static str,
        data: &T,
    ) -> Result<(), SendFailure> {
        match self {
            Self::Sio(socket) => socket.emit(event, data).map_err(sio_failure),
            Self::Ws(_) => self.send(&Encoded::new(event, data)?),
        }
    }

    /// Ends the connection: socketioxide's as soon as its queue has room for the `41` (so the
    /// client learns it was cut off after the last message it did receive), ours at once.
    pub fn disconnect(&self) {
        match self {
            Self::Sio(socket) => disconnect_when_possible(socket.clone()),
            Self::Ws(link) => link.disconnect(),
        }
    }
}

fn sio_failure(e: SendError) -> SendFailure {
    match e {
        SendError::Socket(SocketError::InternalChannelFull) => SendFailure::Full,
        SendError::Socket(SocketError::Closed) => SendFailure::Closed,
        SendError::Serialize(_) => SendFailure::Encoding,
    }
}

/// Sends `41` to a socketioxide client as soon as there is room for it. Gives up when the socket
/// closes.
fn disconnect_when_possible(socket: SocketRef) {
    tokio::spawn(async move {
        for _ in 0..600 {
            match socket.clone().disconnect() {
                Ok(()) | Err(SocketError::Closed) => return,
                Err(SocketError::InternalChannelFull) => {
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                }
            }
        }
        tracing::warn!(sid = %socket.id, "slow client never drained its queue");
    });
}

/// How a request that asked for an answer gets it.
pub enum Responder {
    /// socketioxide's ack.
    Sio(AckSender),
    /// An ack frame (`43<id>[…]`) on one of our connections.
    Ws {
        /// The connection.
        link: WsLink,
        /// The client's ack id.
        id: u64,
    },
}

impl Responder {
    /// Sends the answer. A connection too slow to take even its ack is cut off: its client
    /// resends under the same `clientId` and is answered again.
    ///
    /// # Errors
    /// When the answer cannot be queued.
    pub fn send<T: Serialize + ?Sized>(self, data: &T) -> Result<(), SendFailure> {
        match self {
            Self::Sio(ack) => ack.send(data).map_err(sio_failure),
            Self::Ws { link, id } => {
                let json = serde_json::to_string(data).map_err(|_| SendFailure::Encoding)?;
                let result = link.send_frame(Utf8Bytes::from(format!("43{id}[{json}]")));
                if result == Err(SendFailure::Full) {
                    link.disconnect();
                }
                result
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_encoded_event_is_one_socket_io_frame() {
        let encoded =
            Encoded::new("message", &serde_json::json!({"text": "hé \"x\""})).expect("encodes");
        let frame = encoded.frame.as_str();
        assert_eq!(frame, r#"42["message",{"text":"hé \"x\""}]"#);
        let packet = charla_protocol::SocketPacket::decode(&frame[1..]).expect("decodes");
        assert!(packet.event_parts().is_some());
    }

    #[tokio::test]
    async fn a_full_queue_is_reported_and_acks_cut_the_link() {
        let queue = Arc::new(FrameQueue::new(1));
        let close = Arc::new(Notify::new());
        let link = WsLink::new(Sid::new(), queue.clone(), close.clone());
        let encoded = Encoded::new("message", "x").expect("encodes");
        assert_eq!(Link::Ws(link.clone()).send(&encoded), Ok(()));
        assert_eq!(
            Link::Ws(link.clone()).send(&encoded),
            Err(SendFailure::Full)
        );
        let ack = Responder::Ws { link, id: 7 };
        assert_eq!(
            ack.send(&serde_json::json!({"ok": true})),
            Err(SendFailure::Full)
        );
        // The cut was requested (a stored permit), and the queued frame is intact.
        tokio::time::timeout(std::time::Duration::from_secs(1), close.notified())
            .await
            .expect("close requested");
        let mut batch = std::collections::VecDeque::new();
        queue.take_all(&mut batch).await;
        assert_eq!(
            batch.front().map(Utf8Bytes::as_str),
            Some(r#"42["message","x"]"#)
        );
    }
}
