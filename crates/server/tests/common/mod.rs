//! Test support: a real server on `127.0.0.1:0`, and a small raw Socket.IO client that speaks
//! the wire protocol through `charla-protocol` (so tests can also send malformed frames).

#![allow(dead_code, missing_docs)]

pub mod process;

/// Device keys of three owners (64 hex digits each).
pub const KEY_A: &str = "a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1";
pub const KEY_B: &str = "b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2";
pub const KEY_C: &str = "c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3";

/// The code of a refusal, failing the test when `ack` is not one.
pub fn code_of(ack: &Value) -> charla_protocol::chat::ErrorCode {
    charla_protocol::chat::Refusal::from_ack(ack)
        .unwrap_or_else(|| panic!("a refusal, got {ack}"))
        .code
}

/// The stores a story runs on: on disk (`SQLite`, or PostgreSQL under `scripts/pg.sh`), and in
/// memory; each named for the test's messages.
pub fn stores(dir: &tempfile::TempDir) -> [(&'static str, charla_server::ServerConfig); 2] {
    [
        (
            "on disk",
            charla_server::ServerConfig {
                storage: charla_testkit::storage_in(dir.path()),
                ..TestServer::unlimited()
            },
        ),
        ("in memory", TestServer::unlimited()),
    ]
}

/// An answer read as `T`, failing the test (with the answer) when it is not one.
pub fn parse<T: serde::de::DeserializeOwned>(ack: Value) -> T {
    serde_json::from_value(ack.clone()).unwrap_or_else(|e| panic!("{e}: {ack}"))
}

use std::collections::VecDeque;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::time::Duration;

use charla_protocol::chat::JoinAck;
use charla_protocol::{EnginePacket, EventName, SocketKind, SocketPacket};
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub const WAIT: Duration = Duration::from_secs(10);

pub use charla_testkit::TestServer;

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

/// A WebSocket to `server` from the local address `from` (127.0.0.2, 127.0.0.3…: Linux routes
/// all of 127/8 to the loopback, so tests can be several addresses).
pub async fn open_ws_from(
    server: &TestServer,
    from: std::net::IpAddr,
) -> Result<Ws, tokio_tungstenite::tungstenite::Error> {
    let socket = tokio::net::TcpSocket::new_v4()?;
    socket.bind(SocketAddr::new(from, 0))?;
    let stream = socket.connect(server.addr).await?;
    let request = server.url().into_client_request()?;
    let (ws, _) = tokio_tungstenite::client_async(request, MaybeTlsStream::Plain(stream)).await?;
    Ok(ws)
}

impl TestClient {
    /// Handshake only: the Engine.IO open packet has been read, no `40` sent yet.
    pub async fn engine_only(server: &TestServer) -> Self {
        let ws = open_ws(server, None).await.expect("websocket opens");
        Self::opened(ws).await
    }

    /// Connected to `/` from the local address `from`.
    pub async fn connect_from(server: &TestServer, from: std::net::IpAddr) -> Self {
        let ws = open_ws_from(server, from).await.expect("websocket opens");
        let mut client = Self::opened(ws).await;
        client
            .send_frame(&format!("4{}", SocketPacket::connect(None).encode()))
            .await;
        let reply = client.next_packet().await.expect("connect reply");
        assert_eq!(reply.kind, SocketKind::Connect, "{reply:?}");
        client.connect_reply = Some(reply);
        client
    }

    /// A WebSocket just opened: its Engine.IO open packet read.
    async fn opened(mut ws: Ws) -> Self {
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

    /// The next text frame as it came, pings not answered: `None` when nothing came within
    /// `wait`, `Some(None)` when the connection closed.
    pub async fn next_raw(&mut self, wait: Duration) -> Option<Option<String>> {
        tokio::time::timeout(wait, next_text(&mut self.ws))
            .await
            .ok()
    }

    /// The next Socket.IO packet (pings answered); `None` when the connection closes.
    pub async fn next_packet(&mut self) -> Option<SocketPacket> {
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

// --- Draining a client without panicking (for tests where the server goes away) ---

impl TestClient {
    /// The next event (any name), reading frames as needed; `None` when the connection closes
    /// or nothing arrives within `wait`.
    pub async fn next_event(&mut self, wait: Duration) -> Option<Event> {
        tokio::time::timeout(wait, async {
            loop {
                if let Some(event) = self.events.pop_front() {
                    return Some(event);
                }
                self.pump_inner().await?;
            }
        })
        .await
        .ok()
        .flatten()
    }

    /// Reads (buffering events and acks) until the connection closes or `wait` has passed;
    /// true when it closed. A `41` from the server does not count as closed.
    pub async fn drain(&mut self, wait: Duration) -> bool {
        tokio::time::timeout(wait, async { while self.pump_inner().await.is_some() {} })
            .await
            .is_ok()
    }

    /// Like [`TestClient::emit_ack_later`], but `None` instead of a panic when the connection
    /// is gone.
    pub async fn try_emit_ack_later(&mut self, event: &str, args: Vec<Value>) -> Option<u64> {
        let id = self.next_ack;
        self.next_ack += 1;
        let packet = SocketPacket::event(event, args, Some(id));
        self.ws
            .send(Message::text(format!("4{}", packet.encode())))
            .await
            .ok()
            .map(|()| id)
    }

    /// Emits `event` once per argument list, with ack ids, in one write (the frames reach the
    /// server together); the ids, or `None` when the connection is gone.
    pub async fn try_emit_ack_batch(
        &mut self,
        event: &str,
        batch: Vec<Vec<Value>>,
    ) -> Option<Vec<u64>> {
        let mut ids = Vec::with_capacity(batch.len());
        for args in batch {
            let id = self.next_ack;
            self.next_ack += 1;
            let packet = SocketPacket::event(event, args, Some(id));
            self.ws
                .feed(Message::text(format!("4{}", packet.encode())))
                .await
                .ok()?;
            ids.push(id);
        }
        self.ws.flush().await.ok()?;
        Some(ids)
    }

    /// Reads one frame (buffering events and acks); false when the connection closed or
    /// nothing came within `wait`.
    pub async fn pump_once(&mut self, wait: Duration) -> bool {
        matches!(
            tokio::time::timeout(wait, self.pump_inner()).await,
            Ok(Some(_))
        )
    }

    /// How many acks are buffered.
    pub fn acks_waiting(&self) -> usize {
        self.acks.len()
    }

    /// The acks received so far and not yet taken: `(id, arguments)`.
    pub fn take_acks(&mut self) -> Vec<(u64, Vec<Value>)> {
        self.acks.drain(..).collect()
    }

    /// The events called `name` received so far and not yet taken.
    pub fn take_events(&mut self, name: &str) -> Vec<Vec<Value>> {
        let (wanted, rest): (VecDeque<Event>, VecDeque<Event>) =
            self.events.drain(..).partition(|e| e.name == name);
        self.events = rest;
        wanted.into_iter().map(|e| e.args).collect()
    }
}

// --- A raw HTTP/1.1 client, for Engine.IO long-polling ---

/// An HTTP response as read off the wire.
#[derive(Debug, Clone)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpResponse {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body split into Engine.IO packets (`\x1e`-separated).
    pub fn packets(&self) -> Vec<String> {
        self.text().split('\x1e').map(str::to_owned).collect()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// One request on a fresh connection (`Connection: close`), `Content-Length` always sent; the
/// response is read to its end (`Content-Length`, chunked, or EOF). `Host` is `addr` unless
/// `headers` names one.
pub async fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> std::io::Result<HttpResponse> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = TcpStream::connect(addr).await?;
    let mut head = format!("{method} {path} HTTP/1.1\r\n");
    if !headers.iter().any(|(n, _)| n.eq_ignore_ascii_case("host")) {
        let _ = write!(head, "Host: {addr}\r\n");
    }
    for (name, value) in headers {
        let _ = write!(head, "{name}: {value}\r\n");
    }
    let _ = write!(
        head,
        "Connection: close\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(body).await?;
    stream.flush().await?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await?;
    parse_response(&raw)
}

fn parse_response(raw: &[u8]) -> std::io::Result<HttpResponse> {
    let bad = |why: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, why.to_owned());
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| bad("no end of head"))?;
    let head = std::str::from_utf8(&raw[..end]).map_err(|_| bad("head not UTF-8"))?;
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| bad("no status"))?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let rest = &raw[end + 4..];
    let find = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
    };
    let body = if let Some(length) = find("content-length") {
        let length: usize = length.parse().map_err(|_| bad("bad content-length"))?;
        rest.get(..length)
            .ok_or_else(|| bad("body cut short"))?
            .to_vec()
    } else if find("transfer-encoding").is_some_and(|t| t.eq_ignore_ascii_case("chunked")) {
        let mut body = Vec::new();
        let mut at = rest;
        loop {
            let line_end = at
                .windows(2)
                .position(|w| w == b"\r\n")
                .ok_or_else(|| bad("bad chunk"))?;
            let size_text = std::str::from_utf8(&at[..line_end]).map_err(|_| bad("bad chunk"))?;
            let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)
                .map_err(|_| bad("bad chunk size"))?;
            at = &at[line_end + 2..];
            if size == 0 {
                break;
            }
            body.extend_from_slice(at.get(..size).ok_or_else(|| bad("chunk cut short"))?);
            at = at.get(size + 2..).unwrap_or_default();
        }
        body
    } else {
        rest.to_vec()
    };
    Ok(HttpResponse {
        status,
        headers,
        body,
    })
}

/// A Socket.IO client over raw Engine.IO long-polling: one `GET` at a time (a poll is never
/// abandoned half-way: a server would see the next one as overlapping), pings answered.
pub struct PollingClient {
    pub addr: SocketAddr,
    pub sid: String,
    pub open: charla_protocol::OpenPayload,
    next_ack: u64,
    events: VecDeque<Event>,
    acks: VecDeque<(u64, Vec<Value>)>,
    /// Non-message packets seen by [`PollingClient::pump`] (`40…`, `41`, `1`, `6`).
    pub others: Vec<String>,
}

impl PollingClient {
    /// Opens a session (`GET` without `sid`).
    pub async fn open(addr: SocketAddr) -> Self {
        let response = http(addr, "GET", "/socket.io/?EIO=4&transport=polling", &[], b"")
            .await
            .expect("handshake request");
        assert_eq!(response.status, 200, "handshake: {}", response.text());
        let text = response.text();
        let open = EnginePacket::decode(&text)
            .expect("open packet")
            .open_payload()
            .expect("handshake JSON");
        Self {
            addr,
            sid: open.sid.clone(),
            open,
            next_ack: 0,
            events: VecDeque::new(),
            acks: VecDeque::new(),
            others: Vec::new(),
        }
    }

    pub fn path(&self) -> String {
        format!("/socket.io/?EIO=4&transport=polling&sid={}", self.sid)
    }

    /// One `GET` (waits as long as the server holds it, up to [`WAIT`] plus the ping interval).
    pub async fn get(&self) -> HttpResponse {
        let limit = WAIT + Duration::from_millis(self.open.ping_interval);
        tokio::time::timeout(limit, http(self.addr, "GET", &self.path(), &[], b""))
            .await
            .expect("a poll is answered in time")
            .expect("poll request")
    }

    /// One `POST` of `packets`, joined by the record separator.
    pub async fn post(&self, packets: &[&str]) -> HttpResponse {
        let body = packets.join("\x1e");
        tokio::time::timeout(
            WAIT,
            http(self.addr, "POST", &self.path(), &[], body.as_bytes()),
        )
        .await
        .expect("a post is answered in time")
        .expect("post request")
    }

    /// `40`, then polls until the connect reply.
    pub async fn connect(&mut self) {
        let response = self.post(&["40"]).await;
        assert_eq!(response.status, 200, "{}", response.text());
        while !self.others.iter().any(|p| p.starts_with("40")) {
            self.pump()
                .await
                .expect("the session stays open until connected");
        }
    }

    /// Open, connected and joined as `name`.
    pub async fn joined(addr: SocketAddr, name: &str) -> (Self, JoinAck) {
        let mut client = Self::open(addr).await;
        client.connect().await;
        let ack = client.emit_ack("join", vec![json!(name)]).await;
        let ack: JoinAck = serde_json::from_value(ack).expect("join accepted");
        (client, ack)
    }

    pub async fn emit(&self, event: &str, args: Vec<Value>) {
        let packet = SocketPacket::event(event, args, None);
        let response = self.post(&[&format!("4{}", packet.encode())]).await;
        assert_eq!(response.status, 200, "{}", response.text());
    }

    pub async fn emit_ack_later(&mut self, event: &str, args: Vec<Value>) -> u64 {
        let id = self.next_ack;
        self.next_ack += 1;
        let packet = SocketPacket::event(event, args, Some(id));
        let response = self.post(&[&format!("4{}", packet.encode())]).await;
        assert_eq!(response.status, 200, "{}", response.text());
        id
    }

    /// Emits with an ack id and polls until the ack, buffering events meanwhile.
    pub async fn emit_ack(&mut self, event: &str, args: Vec<Value>) -> Value {
        let id = self.emit_ack_later(event, args).await;
        self.ack(id).await
    }

    pub async fn ack(&mut self, id: u64) -> Value {
        loop {
            if let Some(pos) = self.acks.iter().position(|(i, _)| *i == id) {
                let (_, args) = self.acks.remove(pos).expect("present");
                return args.into_iter().next().unwrap_or(Value::Null);
            }
            self.pump()
                .await
                .unwrap_or_else(|| panic!("session closed while waiting for ack {id}"));
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
                .unwrap_or_else(|| panic!("session closed while waiting for {name}"));
        }
    }

    /// The events called `name` received so far and not yet taken.
    pub fn take_events(&mut self, name: &str) -> Vec<Vec<Value>> {
        let (wanted, rest): (VecDeque<Event>, VecDeque<Event>) =
            self.events.drain(..).partition(|e| e.name == name);
        self.events = rest;
        wanted.into_iter().map(|e| e.args).collect()
    }

    /// One poll: buffers events and acks, answers pings; returns the raw packets, or `None`
    /// when the poll was refused (the session is over).
    pub async fn pump(&mut self) -> Option<Vec<String>> {
        let response = self.get().await;
        if response.status != 200 {
            return None;
        }
        let packets = response.packets();
        for packet in &packets {
            match packet.as_str() {
                "2" => {
                    let _ = self.post(&["3"]).await;
                }
                p if p.starts_with('4') => {
                    let decoded = SocketPacket::decode(&p[1..]).expect("server packets decode");
                    match decoded.kind {
                        SocketKind::Event => {
                            if let Some((EventName::Text(name), args)) = decoded.event_parts() {
                                self.events.push_back(Event {
                                    name: name.to_owned(),
                                    args: args.to_vec(),
                                });
                            }
                        }
                        SocketKind::Ack => {
                            let args = decoded
                                .data
                                .as_ref()
                                .and_then(Value::as_array)
                                .cloned()
                                .unwrap_or_default();
                            self.acks
                                .push_back((decoded.ack_id.unwrap_or(u64::MAX), args));
                        }
                        _ => self.others.push(p.to_owned()),
                    }
                }
                p => self.others.push(p.to_owned()),
            }
        }
        Some(packets)
    }
}

// --- The real binary, signalled by PID ---

/// A `charla-server` process on 127.0.0.1 (`--port 0`: the port is read from its log), with
/// extra environment variables, stopped by SIGTERM or SIGKILL to its PID; killed when dropped.
/// ([`process::ServerProcess`] is the one with memory and log assertions.)
pub struct ServerChild {
    child: std::process::Child,
    pub port: u16,
    log: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

impl ServerChild {
    /// Starts the binary with `args` (after `--host 127.0.0.1 --port 0`) and extra
    /// environment variables.
    pub fn spawn(args: &[&str], envs: &[(&str, &str)]) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let log = dir.path().join("server.log");
        let stderr = std::fs::File::create(&log).expect("log file");
        let child = std::process::Command::new(env!("CARGO_BIN_EXE_charla-server"))
            .args(["--host", "127.0.0.1", "--port", "0"])
            .args(args)
            .env("RUST_LOG", "info")
            .envs(envs.iter().copied())
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(stderr)
            .spawn()
            .expect("the server starts");
        Self {
            child,
            port: 0,
            log,
            _dir: dir,
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Everything it logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits until it says where it listens and accepts connections there.
    pub async fn ready(&mut self) -> TestServer {
        for _ in 0..400 {
            assert!(
                matches!(self.child.try_wait(), Ok(None)),
                "the server exited:\n{}",
                self.log()
            );
            if self.port == 0 {
                self.port = listening_port(&self.log()).unwrap_or(0);
            }
            if self.port != 0 && TcpStream::connect(("127.0.0.1", self.port)).await.is_ok() {
                return TestServer::external(self.port);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("server did not start:\n{}", self.log());
    }

    /// SIGTERM to its PID, then waits (bounded) for it to exit.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let status = std::process::Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill -TERM failed");
        for _ in 0..300 {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return status;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("the server did not exit within 15 s of SIGTERM");
    }

    /// SIGKILL to its PID (at once, no `kill` process to start): no chance to flush anything.
    pub fn kill_hard(&mut self) -> std::process::ExitStatus {
        self.child.kill().expect("SIGKILL sent");
        self.child.wait().expect("reaped")
    }

    /// Stops the process where it is (SIGSTOP), as a machine that stalls does.
    pub fn pause(&self) {
        self.signal("-STOP");
    }

    /// Lets a paused process go on (SIGCONT).
    pub fn resume(&self) {
        self.signal("-CONT");
    }

    fn signal(&self, which: &str) {
        let status = std::process::Command::new("kill")
            .args([which, &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill {which} failed");
    }
}

/// The port in the "listening" log line (`address=Some(127.0.0.1:PORT)`).
fn listening_port(log: &str) -> Option<u16> {
    logged_address(log, "Charla server listening").map(|a| a.port())
}

/// The address in the first log line that says `says` (`address=Some(127.0.0.1:PORT)`).
pub fn logged_address(log: &str, says: &str) -> Option<SocketAddr> {
    let line = log.lines().find(|l| l.contains(says))?;
    let start = line.find("address=Some(")? + "address=Some(".len();
    let end = start + line[start..].find(')')?;
    line[start..end].parse().ok()
}

impl Drop for ServerChild {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
