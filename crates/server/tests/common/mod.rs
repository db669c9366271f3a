//! Test support: a real server on `127.0.0.1:0`, and a small raw Socket.IO client that speaks
//! the wire protocol through `charla-protocol` (so tests can also send malformed frames).

#![allow(dead_code, missing_docs)]

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::Duration;

use charla_protocol::chat::JoinAck;
use charla_protocol::{EnginePacket, EventName, SocketKind, SocketPacket};
use charla_server::ServerConfig;
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub const WAIT: Duration = Duration::from_secs(10);

/// A server running in this process until dropped or stopped.
pub struct TestServer {
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<charla_server::Result<()>>>,
}

impl TestServer {
    pub async fn start(config: ServerConfig) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("local addr");
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(charla_server::run(listener, config, async move {
            let _ = stopped.await;
        }));
        Self {
            addr,
            stop: Some(stop),
            task: Some(task),
        }
    }

    /// A handle on a server running in another process.
    pub fn external(port: u16) -> Self {
        Self {
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            stop: None,
            task: None,
        }
    }

    /// Open server with no rate limit, in memory.
    pub async fn open() -> Self {
        Self::start(ServerConfig {
            rate_limit_per_sec: 0,
            rate_limit_per_address_per_sec: 0,
            ..ServerConfig::default()
        })
        .await
    }

    /// Graceful shutdown; returns once the server has stored everything.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            tokio::time::timeout(WAIT, task)
                .await
                .expect("server stops in time")
                .expect("no panic")
                .expect("runs cleanly");
        }
    }

    pub fn url(&self) -> String {
        format!("ws://{}/socket.io/?EIO=4&transport=websocket", self.addr)
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// An event received: name and arguments.
#[derive(Debug, Clone)]
pub struct Event {
    pub name: String,
    pub args: Vec<Value>,
}

pub struct TestClient {
    ws: Ws,
    next_ack: u64,
    events: VecDeque<Event>,
    acks: VecDeque<(u64, Vec<Value>)>,
    pub connect_reply: Option<SocketPacket>,
}

pub async fn open_ws(
    server: &TestServer,
    origin: Option<&str>,
) -> Result<Ws, tokio_tungstenite::tungstenite::Error> {
    let mut request = server.url().into_client_request()?;
    if let Some(origin) = origin {
        request
            .headers_mut()
            .insert("origin", origin.parse().expect("header value"));
    }
    let (ws, _) = tokio_tungstenite::connect_async(request).await?;
    Ok(ws)
}

impl TestClient {
    /// Handshake only: the Engine.IO open packet has been read, no `40` sent yet.
    pub async fn engine_only(server: &TestServer) -> Self {
        let mut ws = open_ws(server, None).await.expect("websocket opens");
        let first = next_text(&mut ws).await.expect("open packet");
        assert!(
            first.starts_with("0{"),
            "expected the open packet, got {first:?}"
        );
        Self {
            ws,
            next_ack: 0,
            events: VecDeque::new(),
            acks: VecDeque::new(),
            connect_reply: None,
        }
    }

    /// Connected to `/` with the given auth payload; `connect_reply` holds `40…` or `44…`.
    pub async fn connect_with(server: &TestServer, auth: Option<Value>) -> Self {
        let mut client = Self::engine_only(server).await;
        client
            .send_frame(&format!("4{}", SocketPacket::connect(auth).encode()))
            .await;
        let reply = client.next_packet().await.expect("connect reply");
        client.connect_reply = Some(reply);
        client
    }

    pub async fn connect(server: &TestServer) -> Self {
        let client = Self::connect_with(server, None).await;
        assert_eq!(
            client.connect_reply.as_ref().map(|p| p.kind),
            Some(SocketKind::Connect)
        );
        client
    }

    pub async fn joined(server: &TestServer, name: &str) -> (Self, JoinAck) {
        let mut client = Self::connect(server).await;
        let ack = client.emit_ack("join", vec![json!(name)]).await;
        let ack: JoinAck = serde_json::from_value(ack).expect("join accepted");
        (client, ack)
    }

    pub async fn send_frame(&mut self, text: &str) {
        self.ws.send(Message::text(text)).await.expect("send");
    }

    pub async fn send_binary(&mut self, bytes: &[u8]) {
        self.ws
            .send(Message::binary(bytes.to_vec()))
            .await
            .expect("send");
    }

    pub async fn emit(&mut self, event: &str, args: Vec<Value>) {
        let packet = SocketPacket::event(event, args, None);
        self.send_frame(&format!("4{}", packet.encode())).await;
    }

    /// Emits with an ack id and returns the ack's first argument, buffering events meanwhile.
    pub async fn emit_ack(&mut self, event: &str, args: Vec<Value>) -> Value {
        let id = self.emit_ack_later(event, args).await;
        self.ack(id).await
    }

    pub async fn emit_ack_later(&mut self, event: &str, args: Vec<Value>) -> u64 {
        let id = self.next_ack;
        self.next_ack += 1;
        let packet = SocketPacket::event(event, args, Some(id));
        self.send_frame(&format!("4{}", packet.encode())).await;
        id
    }

    pub async fn ack(&mut self, id: u64) -> Value {
        loop {
            if let Some(pos) = self.acks.iter().position(|(i, _)| *i == id) {
                let (_, args) = self.acks.remove(pos).expect("present");
                return args.into_iter().next().unwrap_or(Value::Null);
            }
            self.pump()
                .await
                .unwrap_or_else(|| panic!("connection closed while waiting for ack {id}"));
        }
    }

    /// The next event called `name`; other events stay buffered.
    pub async fn event(&mut self, name: &str) -> Vec<Value> {
        loop {
            if let Some(pos) = self.events.iter().position(|e| e.name == name) {
                return self.events.remove(pos).expect("present").args;
            }
            self.pump()
                .await
                .unwrap_or_else(|| panic!("connection closed while waiting for {name}"));
        }
    }

    /// Whether an event called `name` arrives within `wait`.
    pub async fn gets_within(&mut self, name: &str, wait: Duration) -> bool {
        tokio::time::timeout(wait, async {
            loop {
                if self.events.iter().any(|e| e.name == name) {
                    return true;
                }
                if self.pump_inner().await.is_none() {
                    return false;
                }
            }
        })
        .await
        .unwrap_or(false)
    }

    /// True when the server closes the connection (or sends `41`) within [`WAIT`].
    pub async fn is_closed_by_server(&mut self) -> bool {
        tokio::time::timeout(WAIT, async {
            loop {
                match self.pump_inner().await {
                    None => return true,
                    Some(Some(p)) if p.kind == SocketKind::Disconnect => return true,
                    Some(_) => {}
                }
            }
        })
        .await
        .unwrap_or(false)
    }

    async fn pump(&mut self) -> Option<()> {
        tokio::time::timeout(WAIT, self.pump_inner())
            .await
            .expect("timed out waiting for the server")
            .map(|_| ())
    }

    /// Reads one frame: buffers events and acks, answers pings. `None` when closed; the packet
    /// when it was something else.
    async fn pump_inner(&mut self) -> Option<Option<SocketPacket>> {
        let packet = self.next_packet().await?;
        match packet.kind {
            SocketKind::Event => {
                if let Some((EventName::Text(name), args)) = packet.event_parts() {
                    self.events.push_back(Event {
                        name: name.to_owned(),
                        args: args.to_vec(),
                    });
                }
                Some(None)
            }
            SocketKind::Ack => {
                let args = packet
                    .data
                    .as_ref()
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default();
                self.acks
                    .push_back((packet.ack_id.unwrap_or(u64::MAX), args));
                Some(None)
            }
            _ => Some(Some(packet)),
        }
    }

    async fn next_packet(&mut self) -> Option<SocketPacket> {
        loop {
            let text = next_text(&mut self.ws).await?;
            match EnginePacket::decode(&text).expect("server frames decode") {
                EnginePacket::Ping(body) => {
                    let pong = EnginePacket::Pong(body).encode();
                    if self.ws.send(Message::text(pong)).await.is_err() {
                        return None;
                    }
                }
                EnginePacket::Message(body) => {
                    return Some(SocketPacket::decode(&body).expect("server packets decode"))
                }
                EnginePacket::Close => return None,
                _ => {}
            }
        }
    }
}

async fn next_text(ws: &mut Ws) -> Option<String> {
    loop {
        match ws.next().await? {
            Ok(Message::Text(text)) => return Some(text.to_string()),
            Ok(Message::Close(_)) | Err(_) => return None,
            Ok(_) => {}
        }
    }
}

/// The `text` of every `message` event, in order.
pub fn texts(events: &[Vec<Value>]) -> Vec<String> {
    events
        .iter()
        .map(|args| args[0]["text"].as_str().unwrap_or_default().to_owned())
        .collect()
}
