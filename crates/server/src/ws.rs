//! charla-server's own WebSocket transport for clients that connect with WebSocket directly.
//!
//! socketioxide queues each packet per socket and encodes it per socket; in a room of a
//! thousand that is a thousand encodings of every message. Here a connection is one task with
//! one queue of ready frames: a broadcast is encoded once ([`crate::link::Encoded`]) and each
//! queue gets a reference to it; the task writes whatever is queued and flushes once.
//!
//! The protocol is Engine.IO 4 / Socket.IO 5 over WebSocket, as socketioxide and Node speak it:
//! open packet, `40` (with the token check), events and acks, heartbeats (`2` → `3`), `41`.
//! What a client frame means is decided by [`InboundSession`], the Node server's rules.
//! Requests this module does not take (polling, upgrades of polling sessions, other Engine.IO
//! versions) continue to socketioxide.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::{FromRequestParts, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use charla_protocol::inbound::{Frame, InboundSession, Verdict};
use charla_protocol::socketio::{EventName, SocketKind, SocketPacket};
use charla_protocol::OpenPayload;
use futures_util::{SinkExt, StreamExt};
use serde_json::Value as Json;
use socketioxide::socket::Sid;
use std::collections::VecDeque;

use tokio::sync::{watch, Notify};
use tokio::time::Instant;

use crate::config::ServerConfig;
use crate::events;
use crate::frame_queue::FrameQueue;
use crate::link::{Link, Responder, WsLink};
use crate::room::Room;

/// What every connection of this transport shares.
pub struct WsContext {
    room: Room,
    config: Arc<ServerConfig>,
    shutdown: watch::Receiver<bool>,
}

impl WsContext {
    /// Connections join `room` and end when `shutdown` turns true.
    #[must_use]
    pub fn new(room: Room, config: Arc<ServerConfig>, shutdown: watch::Receiver<bool>) -> Self {
        Self {
            room,
            config,
            shutdown,
        }
    }
}

/// WebSocket read buffer to start with (it grows for a larger frame).
const READ_BUFFER: usize = 1024;

/// Axum middleware: takes direct WebSocket connections, passes everything else on.
pub async fn intercept(
    State(ctx): State<Arc<WsContext>>,
    request: Request,
    next: Next,
) -> Response {
    if !is_direct_websocket(&request) {
        return next.run(request).await;
    }
    let (mut parts, _body) = request.into_parts();
    let upgrade = match WebSocketUpgrade::from_request_parts(&mut parts, &()).await {
        Ok(upgrade) => upgrade,
        Err(rejection) => return rejection.into_response(),
    };
    // The same limit socketioxide applies to a whole WebSocket message.
    let limit = ctx.config.max_frame_bytes();
    upgrade
        .read_buffer_size(READ_BUFFER)
        .max_message_size(limit)
        .max_frame_size(limit)
        .on_upgrade(move |socket| serve(socket, ctx))
}

/// `/socket.io/?EIO=4&transport=websocket` without a session id.
fn is_direct_websocket(request: &Request) -> bool {
    let path = request.uri().path();
    if path != "/socket.io/" && path != "/socket.io" {
        return false;
    }
    let query = request.uri().query().unwrap_or("");
    let (mut eio, mut websocket, mut sid) = (false, false, false);
    for pair in query.split('&') {
        match pair.split_once('=').unwrap_or((pair, "")) {
            ("EIO", "4") => eio = true,
            ("transport", "websocket") => websocket = true,
            ("sid", _) => sid = true,
            _ => {}
        }
    }
    eio && websocket && !sid
}

/// One connection, from the open packet to the close.
struct Connection {
    socket: WebSocket,
    ctx: Arc<WsContext>,
    id: Sid,
    link: WsLink,
    queue: Arc<FrameQueue>,
    /// Frames taken from the queue, being written.
    batch: VecDeque<Utf8Bytes>,
    close: Arc<Notify>,
    inbound: InboundSession,
    /// Joined the main namespace (`40` accepted, no `41` since).
    connected: bool,
    /// When the connection ends unless a pong (or, before `40`, a connect) arrives first.
    deadline: Instant,
    awaiting_pong: bool,
}

/// Why a connection ended.
#[derive(Debug)]
enum End {
    ClientLeft,
    ClientBroke(String),
    Cut,
    Timeout,
    Shutdown,
}

async fn serve(socket: WebSocket, ctx: Arc<WsContext>) {
    let id = Sid::new();
    let queue = Arc::new(FrameQueue::new(ctx.config.client_queue));
    let close = Arc::new(Notify::new());
    let link = WsLink::new(id, queue.clone(), close.clone());
    let timeout = ctx.config.ping_interval + ctx.config.ping_timeout;
    let mut conn = Connection {
        socket,
        ctx,
        id,
        link,
        queue,
        batch: VecDeque::new(),
        close,
        inbound: InboundSession::new(),
        connected: false,
        deadline: Instant::now() + timeout,
        awaiting_pong: false,
    };
    let end = conn.run().await;
    // From now on the room finds the link closed and forgets it.
    conn.queue.close();
    match &end {
        End::ClientBroke(why) => tracing::debug!(sid = %id, why, "websocket closed: client error"),
        other => tracing::debug!(sid = %id, reason = ?other, "websocket closed"),
    }
    if conn.connected {
        conn.ctx.room.leave(id);
    }
}

impl Connection {
    async fn run(&mut self) -> End {
        if let Err(e) = self.open().await {
            return End::ClientBroke(e.to_string());
        }
        let mut shutdown = self.ctx.shutdown.clone();
        let mut heartbeat = tokio::time::interval_at(
            Instant::now() + self.ctx.config.ping_interval,
            self.ctx.config.ping_interval,
        );
        loop {
            tokio::select! {
                biased;
                () = self.close.notified() => {
                    self.say_goodbye().await;
                    return End::Cut;
                }
                changed = shutdown.changed() => {
                    if changed.is_err() || *shutdown.borrow() {
                        self.say_goodbye().await;
                        return End::Shutdown;
                    }
                }
                () = self.queue.take_all(&mut self.batch) => {
                    if let Err(e) = self.write_batch().await {
                        return End::ClientBroke(e.to_string());
                    }
                }
                incoming = self.socket.next() => match incoming {
                    Some(Ok(message)) => {
                        if let Some(end) = self.receive(message) {
                            return end;
                        }
                    }
                    Some(Err(e)) => return End::ClientBroke(e.to_string()),
                    None => return End::ClientLeft,
                },
                _ = heartbeat.tick() => {
                    if !self.awaiting_pong {
                        self.awaiting_pong = true;
                        self.deadline = Instant::now() + self.ctx.config.ping_timeout;
                        if let Err(e) = self.socket.send(Message::text("2")).await {
                            return End::ClientBroke(e.to_string());
                        }
                    }
                }
                () = tokio::time::sleep_until(self.deadline), if self.awaiting_pong || !self.connected => {
                    return End::Timeout;
                }
            }
        }
    }

    /// Sends the Engine.IO handshake.
    async fn open(&mut self) -> Result<(), axum::Error> {
        let config = &self.ctx.config;
        let open = OpenPayload {
            sid: self.id.to_string(),
            upgrades: Vec::new(),
            ping_interval: millis(config.ping_interval),
            ping_timeout: millis(config.ping_timeout),
            max_payload: config.max_frame_bytes() as u64,
        };
        let body = serde_json::to_string(&open).unwrap_or_default();
        self.socket.send(Message::text(format!("0{body}"))).await
    }

    /// Writes the frames taken from the queue, then flushes once.
    async fn write_batch(&mut self) -> Result<(), axum::Error> {
        while let Some(frame) = self.batch.pop_front() {
            self.socket.feed(Message::Text(frame)).await?;
        }
        self.socket.flush().await
    }

    /// Tells the client it was disconnected, ahead of anything still queued, and closes.
    async fn say_goodbye(&mut self) {
        let _ = self.socket.send(Message::text("41")).await;
        let _ = self.socket.close().await;
    }

    /// Acts on one frame from the client; `Some` when the connection must end.
    fn receive(&mut self, message: Message) -> Option<End> {
        let verdict = match &message {
            Message::Text(text) => {
                if text.as_str() == "3" {
                    self.awaiting_pong = false;
                    return None;
                }
                // An open or upgrade packet has no business on a WebSocket session; Node
                // ignores them, socketioxide closes, and so does this transport.
                if text.starts_with('0') || text.starts_with('5') {
                    return Some(End::ClientBroke(
                        "open or upgrade packet from a client".into(),
                    ));
                }
                self.inbound.classify(Frame::Text(text.as_str()))
            }
            Message::Binary(bytes) => self.inbound.classify(Frame::Binary(bytes)),
            Message::Close(_) => return Some(End::ClientLeft),
            Message::Ping(_) | Message::Pong(_) => return None,
        };
        match verdict {
            Verdict::Dispatch(packet) => self.dispatch(packet),
            Verdict::Ignore | Verdict::AwaitAttachments(_) => None,
            Verdict::Close(reason) => Some(End::ClientBroke(format!("{reason:?}"))),
        }
    }

    fn dispatch(&mut self, packet: SocketPacket) -> Option<End> {
        match packet.kind {
            SocketKind::Connect => {
                self.connect(packet.namespace.as_str(), packet.data.as_ref());
                None
            }
            SocketKind::Disconnect => {
                if self.connected {
                    self.connected = false;
                    self.ctx.room.leave(self.id);
                    // Without a namespace, the connection has until the usual timeout to rejoin.
                    self.deadline = Instant::now()
                        + self.ctx.config.ping_interval
                        + self.ctx.config.ping_timeout;
                }
                None
            }
            _ if !self.connected => Some(End::ClientBroke("not connected".into())),
            SocketKind::Event | SocketKind::BinaryEvent => {
                let link = Link::Ws(self.link.clone());
                let ack = packet.ack_id.map(|id| Responder::Ws {
                    link: self.link.clone(),
                    id,
                });
                match packet.event_parts() {
                    _ if packet.kind == SocketKind::BinaryEvent => events::refuse(
                        &link,
                        ack,
                        events::invalid_payload("binary events are not supported"),
                    ),
                    Some((EventName::Text(name), args)) => {
                        events::handle(&self.ctx.room, &link, name, args, ack);
                    }
                    // Node ignores a numeric event name; socketioxide closes the connection, and
                    // so does this transport, so both kinds of connection behave alike.
                    Some((EventName::Number(_), _)) | None => {
                        return Some(End::ClientBroke("numeric event name".into()));
                    }
                }
                None
            }
            // Acks from the client answer nothing this server asks.
            SocketKind::Ack | SocketKind::BinaryAck | SocketKind::ConnectError => None,
        }
    }

    /// Answers a `40`: accepted (`40{"sid":…}`), or refused (`44…`) for another namespace or a
    /// wrong token.
    fn connect(&mut self, namespace: &str, auth: Option<&Json>) {
        let reply = if namespace != "/" {
            format!("44{namespace},{{\"message\":\"Invalid namespace\"}}")
        } else if !self.token_ok(auth) {
            tracing::info!(sid = %self.id, "refused a connection with a wrong or missing token");
            "44{\"message\":\"invalid token\"}".to_owned()
        } else {
            self.connected = true;
            format!("40{{\"sid\":\"{}\"}}", self.id)
        };
        // Queued before the room knows the link, so it precedes every broadcast.
        if self.link_push(reply) && self.connected {
            self.ctx.room.connect(&Link::Ws(self.link.clone()));
        }
    }

    fn token_ok(&self, auth: Option<&Json>) -> bool {
        match &self.ctx.config.token {
            None => true,
            Some(expected) => {
                auth.and_then(|a| a.get("token")).and_then(Json::as_str) == Some(expected.as_str())
            }
        }
    }

    fn link_push(&self, frame: String) -> bool {
        self.link.send_frame(Utf8Bytes::from(frame)).is_ok()
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(uri: &str) -> Request {
        Request::builder()
            .uri(uri)
            .body(axum::body::Body::empty())
            .expect("request")
    }

    #[test]
    fn only_direct_websocket_v4_connections_are_taken() {
        assert!(is_direct_websocket(&request(
            "/socket.io/?EIO=4&transport=websocket"
        )));
        assert!(is_direct_websocket(&request(
            "/socket.io/?transport=websocket&EIO=4&t=x"
        )));
        for other in [
            "/socket.io/?EIO=4&transport=polling",
            "/socket.io/?EIO=4&transport=websocket&sid=abc",
            "/socket.io/?EIO=3&transport=websocket",
            "/healthz",
            "/other/?EIO=4&transport=websocket",
        ] {
            assert!(!is_direct_websocket(&request(other)), "{other}");
        }
    }
}
