//! Every resource a peer can make the server hold has a bound: these tests drive the real
//! `charla-server` binary past each bound the hardening issue found missing, and print the
//! figures it measured (run with `--nocapture`).
//!
//! - A stall cascade (thousands of clients whose windows fill at once) is removed iteratively:
//!   no stack overflow.
//! - A repeated `join` over long-polling is refused cheaply: no history copied per request.
//! - Clients that stop reading are reaped by the write deadline and the heartbeat.
//! - Refused namespaces are not remembered, and repeated refusals close the connection (before
//!   `/` is joined; after, they do not: a server bug, see the ignored test).
//! - Request heads have a deadline, connections have caps (global and per address, refusals
//!   logged at a limited rate), and a connection that never joins is closed.
//!
//! The clients here are raw: WebSocket framing written by hand over a `TcpSocket` (so a socket
//! can be given a tiny receive buffer), and HTTP/1.1 written by hand for long-polling.

mod common;

use std::net::SocketAddr;
use std::ops::Range;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::{Buf, BytesMut};
use charla_testkit::{eventually, poll, Deadline};
use common::process::{http_exchange, ServerProcess};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::{watch, Semaphore};
use tokio::task::JoinSet;

/// One test at a time, even when the harness runs tests in parallel: each spawns a server and
/// measures it, and the big one takes both cores.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// How long a single exchange with the server may take before the test gives up on it.
const STEP: Duration = Duration::from_secs(20);

fn raise_open_files_limit() {
    if let Err(e) = rlimit::increase_nofile_limit(u64::MAX) {
        println!("could not raise the open-files limit: {e}");
    }
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

fn other(message: impl Into<String>) -> std::io::Error {
    std::io::Error::other(message.into())
}

/// `work`, or a `TimedOut` error after [`STEP`].
async fn within_step<T>(
    what: &str,
    work: impl std::future::Future<Output = std::io::Result<T>>,
) -> std::io::Result<T> {
    tokio::time::timeout(STEP, work).await.unwrap_or_else(|_| {
        Err(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            format!("{what}: nothing within {STEP:?}"),
        ))
    })
}

// ---------------------------------------------------------------------------------------------
// A raw WebSocket / Socket.IO client.
// ---------------------------------------------------------------------------------------------

/// A TCP connection to `addr`. When `receive_buffer` is given, `SO_RCVBUF` is set before
/// connecting (so the window it advertises stays that small), and so is an Ethernet-sized
/// MSS: loopback's 64 KiB segments would let the server's send buffer start at megabytes (it is
/// sized from the initial window in segments), which no client across a real network gets.
async fn tcp(addr: SocketAddr, receive_buffer: Option<u32>) -> std::io::Result<TcpStream> {
    let socket = socket2::Socket::new(
        socket2::Domain::IPV4,
        socket2::Type::STREAM,
        Some(socket2::Protocol::TCP),
    )?;
    if let Some(size) = receive_buffer {
        socket.set_recv_buffer_size(size as usize)?;
        socket.set_tcp_mss(1460)?;
    }
    socket.set_nonblocking(true)?;
    let socket = TcpSocket::from_std_stream(socket.into());
    let stream = socket.connect(addr).await?;
    stream.set_nodelay(true)?;
    Ok(stream)
}

/// A WebSocket speaking Engine.IO 4 / Socket.IO 5 text packets.
struct Ws {
    rd: OwnedReadHalf,
    wr: OwnedWriteHalf,
    buf: BytesMut,
}

/// The next complete server frame in `buf`: its opcode, where its payload is, and its length.
fn frame_at(buf: &[u8]) -> Option<(u8, Range<usize>, usize)> {
    if buf.len() < 2 {
        return None;
    }
    let opcode = buf[0] & 0x0f;
    let (len, mut at) = match buf[1] & 0x7f {
        126 if buf.len() >= 4 => (usize::from(u16::from_be_bytes([buf[2], buf[3]])), 4),
        127 if buf.len() >= 10 => {
            let mut n = [0u8; 8];
            n.copy_from_slice(&buf[2..10]);
            (usize::try_from(u64::from_be_bytes(n)).ok()?, 10)
        }
        126 | 127 => return None,
        n => (usize::from(n), 2),
    };
    if buf[1] & 0x80 != 0 {
        at += 4;
    }
    (buf.len() >= at + len).then_some((opcode, at..at + len, at + len))
}

/// A masked text frame (the mask is all zeros, which RFC 6455 allows: the payload is as is).
fn text_frame(text: &str) -> Vec<u8> {
    let len = text.len();
    let mut frame = Vec::with_capacity(len + 14);
    frame.push(0x81);
    if let Some(short) = u8::try_from(len).ok().filter(|l| *l < 126) {
        frame.push(0x80 | short);
    } else if let Ok(len) = u16::try_from(len) {
        frame.push(0x80 | 0x7e);
        frame.extend_from_slice(&len.to_be_bytes());
    } else {
        frame.push(0x80 | 127);
        frame.extend_from_slice(&(len as u64).to_be_bytes());
    }
    frame.extend_from_slice(&[0, 0, 0, 0]);
    frame.extend_from_slice(text.as_bytes());
    frame
}

/// `42<ack>["event",…args]`.
fn event(ack: Option<u64>, name: &str, args: &[Value]) -> String {
    let mut array = vec![json!(name)];
    array.extend_from_slice(args);
    let ack = ack.map(|id| id.to_string()).unwrap_or_default();
    format!("42{ack}{}", Value::Array(array))
}

impl Ws {
    /// Opens `/socket.io/?EIO=4&transport=websocket` and reads the Engine.IO open packet.
    async fn open(addr: SocketAddr, receive_buffer: Option<u32>) -> std::io::Result<Self> {
        within_step("opening", Self::open_now(addr, receive_buffer)).await
    }

    async fn open_now(addr: SocketAddr, receive_buffer: Option<u32>) -> std::io::Result<Self> {
        let (rd, mut wr) = tcp(addr, receive_buffer).await?.into_split();
        let request = format!(
            "GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: {addr}\r\n\
             Upgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        );
        wr.write_all(request.as_bytes()).await?;
        let mut ws = Self {
            rd,
            wr,
            buf: BytesMut::with_capacity(4096),
        };
        loop {
            if let Some(end) = ws.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&ws.buf[..end]).into_owned();
                if !head.starts_with("HTTP/1.1 101") {
                    return Err(other(format!("upgrade refused: {head}")));
                }
                ws.buf.advance(end + 4);
                break;
            }
            if ws.buf.len() > 16 * 1024 || ws.rd.read_buf(&mut ws.buf).await? == 0 {
                return Err(other("no upgrade answer"));
            }
        }
        match ws.recv().await? {
            Some(open) if open.starts_with("0{") => Ok(ws),
            other_packet => Err(other(format!("expected the open packet: {other_packet:?}"))),
        }
    }

    async fn send(&mut self, text: &str) -> std::io::Result<()> {
        self.wr.write_all(&text_frame(text)).await
    }

    /// The next text frame; `None` once the server closed.
    async fn recv(&mut self) -> std::io::Result<Option<String>> {
        loop {
            if let Some((opcode, payload, used)) = frame_at(&self.buf) {
                let text =
                    (opcode == 1).then(|| String::from_utf8_lossy(&self.buf[payload]).into_owned());
                self.buf.advance(used);
                match (opcode, text) {
                    (_, Some(text)) => return Ok(Some(text)),
                    (0x8, _) => return Ok(None),
                    _ => continue,
                }
            }
            self.buf.reserve(64 * 1024);
            if within_step("reading", self.rd.read_buf(&mut self.buf)).await? == 0 {
                return Ok(None);
            }
        }
    }

    /// The next Socket.IO packet (an Engine.IO message, without its `4`), answering pings;
    /// `None` once the server closed (or sent `41`).
    async fn packet(&mut self) -> std::io::Result<Option<String>> {
        loop {
            let Some(text) = self.recv().await? else {
                return Ok(None);
            };
            match text.as_bytes().first() {
                Some(b'2') => self.send("3").await?,
                Some(b'1') => return Ok(None),
                Some(b'4') if text == "41" => return Ok(None),
                Some(b'4') => return Ok(Some(text[1..].to_owned())),
                _ => {}
            }
        }
    }

    /// Sends `40` and waits for the server to accept it.
    async fn connect(&mut self) -> std::io::Result<()> {
        within_step("connecting", self.connect_now()).await
    }

    async fn connect_now(&mut self) -> std::io::Result<()> {
        self.send("40").await?;
        loop {
            match self.packet().await? {
                Some(p) if p.starts_with("0{") => return Ok(()),
                Some(p) if p.starts_with('4') => return Err(other(format!("refused: {p}"))),
                Some(_) => {}
                None => return Err(other("closed while connecting")),
            }
        }
    }

    /// Connects and joins as `name` (ack id 0); the join ack.
    async fn join(&mut self, name: &str) -> std::io::Result<Value> {
        self.connect().await?;
        self.send(&event(Some(0), "join", &[json!(name)])).await?;
        let ack = self.ack(0, |_| {}).await?;
        match ack {
            Some(ack) if ack["ok"] == json!(true) => Ok(ack),
            Some(ack) => Err(other(format!("join refused: {ack}"))),
            None => Err(other("closed while joining")),
        }
    }

    /// Reads until the ack `id` arrives (`None` if the connection closes first); every other
    /// packet goes to `seen`.
    async fn ack(&mut self, id: u64, seen: impl FnMut(&str)) -> std::io::Result<Option<Value>> {
        within_step("waiting for an ack", self.ack_now(id, seen)).await
    }

    async fn ack_now(
        &mut self,
        id: u64,
        mut seen: impl FnMut(&str),
    ) -> std::io::Result<Option<Value>> {
        let prefix = format!("3{id}[");
        loop {
            let Some(packet) = self.packet().await? else {
                return Ok(None);
            };
            if let Some(rest) = packet.strip_prefix(&prefix[..prefix.len() - 1]) {
                let args: Vec<Value> =
                    serde_json::from_str(rest).map_err(|e| other(e.to_string()))?;
                return Ok(Some(args.into_iter().next().unwrap_or(Value::Null)));
            }
            seen(&packet);
        }
    }

    /// Reads what has arrived and throws it away, answering Engine.IO pings; the bytes read
    /// (0 once the server closed).
    async fn drain(&mut self) -> std::io::Result<usize> {
        self.buf.reserve(16 * 1024);
        let n = self.rd.read_buf(&mut self.buf).await?;
        let mut pings = 0;
        while let Some((opcode, payload, used)) = frame_at(&self.buf) {
            if opcode == 1 && self.buf[payload] == *b"2" {
                pings += 1;
            }
            self.buf.advance(used);
        }
        for _ in 0..pings {
            self.send("3").await?;
        }
        Ok(n)
    }
}

/// Whether `packet` is the event `name`; its arguments.
fn event_args(packet: &str, name: &str) -> Option<Vec<Value>> {
    if !packet.starts_with(&format!("2[\"{name}\"")) {
        return None;
    }
    let mut array: Vec<Value> = serde_json::from_str(&packet[1..]).ok()?;
    array.remove(0);
    Some(array)
}

/// A new client joins as `name` and chats: it gets its own message back and the ack. Returns
/// who the join ack said is in the room.
async fn joins_and_chats(addr: SocketAddr, name: &str) -> std::io::Result<Vec<String>> {
    let mut ws = Ws::open(addr, None).await?;
    let ack = ws.join(name).await?;
    let users: Vec<String> = serde_json::from_value(ack["users"].clone()).unwrap_or_default();
    let text = format!("hello from {name}");
    ws.send(&event(Some(1), "chat-message", &[json!({ "text": text })]))
        .await?;
    let mut echoed = false;
    let ack = ws
        .ack(1, |p| {
            if event_args(p, "message").is_some_and(|a| a[0]["text"] == json!(text)) {
                echoed = true;
            }
        })
        .await?
        .ok_or_else(|| other("closed before the message ack"))?;
    if ack["ok"] != json!(true) {
        return Err(other(format!("message refused: {ack}")));
    }
    while !echoed {
        let packet = ws
            .packet()
            .await?
            .ok_or_else(|| other("closed before the echo"))?;
        echoed = event_args(&packet, "message").is_some_and(|a| a[0]["text"] == json!(text));
    }
    Ok(users)
}

/// Like [`joins_and_chats`], retried for a while (a place given back is noticed
/// asynchronously by the server).
async fn eventually_joins_and_chats(addr: SocketAddr, name: &str) -> Vec<String> {
    let deadline = Deadline::within(Duration::from_secs(10)).every(Duration::from_millis(200));
    eventually(
        deadline,
        &format!("{name} joining and chatting"),
        async || match tokio::time::timeout(STEP, joins_and_chats(addr, name)).await {
            Ok(Ok(users)) => Ok(users),
            Ok(Err(e)) => {
                println!("  (join as {name} not yet possible: {e})");
                Err(e)
            }
            Err(elapsed) => panic!("{name} timed out joining and chatting: {elapsed}"),
        },
    )
    .await
}

// ---------------------------------------------------------------------------------------------
// A crowd of clients that join, read, then stop reading.
// ---------------------------------------------------------------------------------------------

/// Clients that join (at most `concurrency` joining at once), keep reading (answering pings)
/// until told to stop, then hold their sockets open without reading until released.
struct StalledCrowd {
    stop: watch::Sender<bool>,
    release: watch::Sender<bool>,
    tasks: JoinSet<()>,
    joined: Arc<AtomicUsize>,
    failures: Arc<Mutex<Vec<String>>>,
    drained: Arc<AtomicU64>,
}

impl StalledCrowd {
    fn spawn(addr: SocketAddr, count: usize, prefix: &str, concurrency: usize) -> Self {
        let (stop, _) = watch::channel(false);
        let (release, _) = watch::channel(false);
        let joined = Arc::new(AtomicUsize::new(0));
        let failures = Arc::new(Mutex::new(Vec::new()));
        let drained = Arc::new(AtomicU64::new(0));
        let gate = Arc::new(Semaphore::new(concurrency));
        let mut tasks = JoinSet::new();
        for i in 0..count {
            let name = format!("{prefix}{i:04}");
            let (mut stopped, mut released) = (stop.subscribe(), release.subscribe());
            let (joined, failures, drained, gate) = (
                joined.clone(),
                failures.clone(),
                drained.clone(),
                gate.clone(),
            );
            tasks.spawn(async move {
                let mut ws = {
                    let Ok(_permit) = gate.acquire().await else {
                        return;
                    };
                    let joining = async {
                        let mut ws = Ws::open(addr, Some(4096)).await?;
                        ws.join(&name).await?;
                        Ok::<_, std::io::Error>(ws)
                    };
                    match tokio::time::timeout(STEP, joining).await {
                        Ok(Ok(ws)) => ws,
                        Ok(Err(e)) => {
                            failures.lock().expect("lock").push(format!("{name}: {e}"));
                            return;
                        }
                        Err(_) => {
                            failures
                                .lock()
                                .expect("lock")
                                .push(format!("{name}: join timed out"));
                            return;
                        }
                    }
                };
                joined.fetch_add(1, Ordering::Relaxed);
                loop {
                    tokio::select! {
                        read = ws.drain() => match read {
                            Ok(0) | Err(_) => break,
                            Ok(n) => { drained.fetch_add(n as u64, Ordering::Relaxed); }
                        },
                        _ = stopped.wait_for(|s| *s) => break,
                    }
                }
                // Stalled: the socket stays open, nothing is read.
                let _ = released.wait_for(|r| *r).await;
                drop(ws);
            });
        }
        Self {
            stop,
            release,
            tasks,
            joined,
            failures,
            drained,
        }
    }

    /// Waits until all `count` have joined; panics with the first failures otherwise.
    async fn wait_joined(&self, count: usize, limit: Duration) {
        let started = Instant::now();
        loop {
            let joined = self.joined.load(Ordering::Relaxed);
            let failures = self.failures.lock().expect("lock").clone();
            assert!(
                failures.is_empty(),
                "{} of {count} clients could not join (joined: {joined}); first: {:?}",
                failures.len(),
                &failures[..failures.len().min(5)]
            );
            if joined == count {
                return;
            }
            assert!(
                started.elapsed() < limit,
                "only {joined} of {count} clients joined within {limit:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits until the crowd has read nothing for `quiet` (everything sent to it is read).
    async fn wait_quiet(&self, quiet: Duration, limit: Duration) {
        let started = Instant::now();
        let mut last = self.drained.load(Ordering::Relaxed);
        let mut since = Instant::now();
        while since.elapsed() < quiet && started.elapsed() < limit {
            tokio::time::sleep(Duration::from_millis(50)).await;
            let now = self.drained.load(Ordering::Relaxed);
            if now != last {
                last = now;
                since = Instant::now();
            }
        }
    }

    fn stop_reading(&self) {
        let _ = self.stop.send(true);
    }

    /// Closes every socket.
    async fn release(mut self) {
        let _ = self.release.send(true);
        let _ = tokio::time::timeout(Duration::from_secs(10), async {
            while self.tasks.join_next().await.is_some() {}
        })
        .await;
    }
}

/// How many members whose names start with `prefix` the server's log says left.
fn left_in_log(server: &ServerProcess, prefix: &str) -> usize {
    let name = format!("username=\"{prefix}");
    server
        .log()
        .lines()
        .filter(|l| l.contains(": left ") && l.contains(&name))
        .count()
}

/// What [`speak_until_cut`] saw.
struct Speech {
    sent: usize,
    user_left_seen: usize,
    /// How many times the speaker itself was cut (and came back under a new name).
    speakers_cut: usize,
    peak_rss_kib: u64,
}

/// A joined client (`speaker`) sends `text` as messages, one at a time and `pace` apart, until
/// the server's log says `count` members named `prefix…` left (at most `max_messages`). A
/// speaker the server cuts too (a storm of `user-left` fills its queue as well) comes back under
/// a new name, as a real client reconnects, at most ten times.
async fn speak_until_cut(
    server: &ServerProcess,
    mut speaker: Ws,
    text: &str,
    prefix: &str,
    count: usize,
    max_messages: usize,
    pace: Duration,
) -> Speech {
    let mut speech = Speech {
        sent: 0,
        user_left_seen: 0,
        speakers_cut: 0,
        peak_rss_kib: server.rss_kib(),
    };
    let mut next_id = 1;
    while speech.sent < max_messages && left_in_log(server, prefix) < count {
        let id = next_id;
        next_id += 1;
        let mut cut = speaker
            .send(&event(Some(id), "chat-message", &[json!({ "text": text })]))
            .await
            .is_err();
        if !cut {
            speech.sent += 1;
            let mut user_left = 0;
            let ack = speaker
                .ack(id, |p| {
                    if p.starts_with("2[\"user-left\"") {
                        user_left += 1;
                    }
                })
                .await;
            speech.user_left_seen += user_left;
            speech.peak_rss_kib = speech.peak_rss_kib.max(server.rss_kib());
            match ack {
                Ok(Some(ack)) if ack["ok"] == json!(true) => {}
                // Cut by the room, its session not closed yet: "try again" (it reconnects).
                Ok(Some(ack)) if ack["error"]["code"] == json!("unavailable") => cut = true,
                Ok(Some(ack)) => panic!("message refused: {ack}"),
                Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {
                    panic!("no ack for message {id}: {e}")
                }
                Ok(None) | Err(_) => cut = true,
            }
        }
        if cut {
            speech.speakers_cut += 1;
            assert!(speech.speakers_cut <= 10, "the speaker was cut ten times");
            speaker = Ws::open(server.addr, None)
                .await
                .expect("the speaker reconnects");
            speaker
                .join(&format!("speaker{}", speech.speakers_cut))
                .await
                .expect("the speaker joins again");
            next_id = 1;
        }
        tokio::time::sleep(pace).await;
    }
    speech
}

// ---------------------------------------------------------------------------------------------
// 1. Stall cascade.
// ---------------------------------------------------------------------------------------------

/// Clients in the cascade: the 2,500 and more. `CHARLA_CASCADE_CLIENTS` overrides it.
/// (Measured on 2 cores against a debug server: 3,000 joins take about 40 s, the whole test
/// about 70 s.)
const CASCADE_CLIENTS: usize = 3000;

fn cascade_clients() -> usize {
    std::env::var("CHARLA_CASCADE_CLIENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(CASCADE_CLIENTS)
}

/// Thousands of joined clients stalled at once are cut without recursion: the server lives on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stall_cascade_does_not_overflow_the_stack() {
    let _serial = SERIAL.lock().await;
    raise_open_files_limit();
    let started = Instant::now();
    let mut server = ServerProcess::start(&[
        "--client-queue-bytes",
        "65536",
        "--max-connections-per-address",
        "10000",
        "--max-message-chars",
        "100000",
        "--rate-limit",
        "0",
        "--db",
        ":memory:",
    ])
    .await;
    let addr = server.addr;
    let base_rss = server.rss_kib();

    let clients = cascade_clients();
    // Joins queue on the room's lock anyway: more at once would only wait longer each.
    let crowd = StalledCrowd::spawn(addr, clients, "st", 32);
    crowd.wait_joined(clients, Duration::from_secs(240)).await;
    let join_phase = started.elapsed();
    let mut speaker = Ws::open(addr, None).await.expect("speaker connects");
    let ack = speaker.join("speaker").await.expect("speaker joins");
    assert_eq!(ack["users"].as_array().map(Vec::len), Some(clients + 1));
    crowd
        .wait_quiet(Duration::from_millis(500), Duration::from_secs(20))
        .await;
    let joined_rss = server.rss_kib();
    let joined_fds = server.open_fds();
    println!(
        "cascade: {} clients joined in {:.1} s ({} server); server RSS {:.1} MiB \
         (started at {:.1} MiB), {joined_fds} open fds",
        clients,
        join_phase.as_secs_f64(),
        server_build(),
        mib(joined_rss),
        mib(base_rss)
    );

    crowd.stop_reading();
    let cascade_start = Instant::now();
    let text = "x".repeat(60_000);
    let speech = speak_until_cut(&server, speaker, &text, "st", clients, 40, Duration::ZERO).await;
    // Measured, not asserted: the cut is judged below.
    let _ = poll(STEP, async || left_in_log(&server, "st") >= clients).await;
    let cascade = cascade_start.elapsed();
    let cut = left_in_log(&server, "st");
    let peak_rss = speech.peak_rss_kib.max(server.rss_kib());
    let cascade_line = server
        .log()
        .lines()
        .find(|l| l.contains("slow clients cut in a cascade"))
        .map(str::to_owned);

    assert!(
        server.is_alive(),
        "the server died:\n{}",
        tail(&server.log())
    );
    assert!(!server.log().contains("overflowed its stack"));
    assert!(server.healthy().await, "/healthz answers after the cascade");
    assert_eq!(
        cut, clients,
        "every stalled client was cut (the log says who left)"
    );
    let users = eventually_joins_and_chats(addr, "fresh").await;
    assert!(
        users.iter().all(|u| !u.starts_with("st")),
        "no stalled client is still in the room: {users:?}"
    );
    tokio::time::sleep(Duration::from_secs(4)).await;
    let after_rss = server.rss_kib();
    let after_fds = server.open_fds();
    println!(
        "cascade: {} messages of 60,000 chars cut {cut} stalled clients in {:.2} s; the speaker \
         saw {} user-left{}; server RSS peak {:.1} MiB, {:.1} MiB 4 s later; open fds \
         {joined_fds} -> {after_fds}; log: {}",
        speech.sent,
        cascade.as_secs_f64(),
        speech.user_left_seen,
        if speech.speakers_cut > 0 {
            format!(
                " and was cut itself {} time(s) (its queue filled with them) and came back",
                speech.speakers_cut
            )
        } else {
            String::new()
        },
        mib(peak_rss),
        mib(after_rss),
        cascade_line.as_deref().unwrap_or("(all cut in one round)")
    );
    crowd.release().await;
    println!(
        "cascade: whole test {:.1} s",
        started.elapsed().as_secs_f64()
    );
}

/// Which build the server under test is, for the figures.
fn server_build() -> &'static str {
    if common::process::server_binary_overridden() {
        "CHARLA_SERVER_BIN"
    } else if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    }
}

/// How many sessions the log says were closed, by reason (`reason=Cut: 3, …`).
fn close_reasons(server: &ServerProcess) -> String {
    let mut counts = std::collections::BTreeMap::<String, usize>::new();
    for line in server
        .log()
        .lines()
        .filter(|l| l.contains("session closed"))
    {
        if let Some(at) = line.find("reason=") {
            let reason = line[at..].split_whitespace().next().unwrap_or("");
            *counts.entry(reason.to_owned()).or_default() += 1;
        }
    }
    let counts: Vec<String> = counts.iter().map(|(r, n)| format!("{r}: {n}")).collect();
    counts.join(", ")
}

fn tail(log: &str) -> String {
    let lines: Vec<&str> = log.lines().collect();
    lines[lines.len().saturating_sub(30)..].join("\n")
}

// ---------------------------------------------------------------------------------------------
// 2. Join amplification over long-polling.
// ---------------------------------------------------------------------------------------------

/// An HTTP/1.1 exchange on a fresh connection: status and body.
async fn http(addr: SocketAddr, method: &str, path: &str, body: &[u8]) -> Option<(u16, String)> {
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    if !body.is_empty() {
        request.push_str("Content-Type: text/plain;charset=UTF-8\r\n");
    }
    request.push_str("\r\n");
    let mut bytes = request.into_bytes();
    bytes.extend_from_slice(body);
    let response = http_exchange(addr, &bytes, Duration::from_secs(10)).await?;
    let (head, body) = response.split_once("\r\n\r\n")?;
    let status = head.split(' ').nth(1)?.parse().ok()?;
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(body)
    } else {
        body.to_owned()
    };
    Some((status, body))
}

fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let Ok(size) = usize::from_str_radix(size.trim(), 16) else {
            break;
        };
        if size == 0 || rest.len() < size {
            break;
        }
        out.push_str(&rest[..size]);
        body = rest[size..].trim_start_matches("\r\n");
    }
    out
}

/// 300 `join`s in one polling POST: 299 refused as `already_joined`, the server grows < 32 MiB.
#[tokio::test]
async fn repeated_joins_over_polling_are_refused_cheaply() {
    let _serial = SERIAL.lock().await;
    let server =
        ServerProcess::start(&["--history", "500", "--rate-limit", "0", "--db", ":memory:"]).await;
    let addr = server.addr;

    // 500 messages of 3,900 characters in history.
    let mut helper = Ws::open(addr, None).await.expect("helper connects");
    helper.join("helper").await.expect("helper joins");
    let text = "h".repeat(3900);
    for window in 0..50u64 {
        for i in 0..10 {
            let id = 1 + window * 10 + i;
            helper
                .send(&event(Some(id), "chat-message", &[json!({ "text": text })]))
                .await
                .expect("send");
        }
        for i in 0..10 {
            let id = 1 + window * 10 + i;
            let ack = helper
                .ack(id, |_| {})
                .await
                .expect("ack in time")
                .expect("helper not cut");
            assert_eq!(ack["ok"], json!(true), "{ack}");
        }
    }
    drop(helper);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let before = server.rss_kib();

    let base = "/socket.io/?EIO=4&transport=polling";
    let (status, open) = http(addr, "GET", base, b"").await.expect("handshake");
    assert_eq!(status, 200, "{open}");
    let open: Value =
        serde_json::from_str(open.strip_prefix('0').expect("open packet")).expect("open payload");
    let sid = open["sid"].as_str().expect("sid").to_owned();
    let path = format!("{base}&sid={sid}");
    let (status, body) = http(addr, "POST", &path, b"40").await.expect("post 40");
    assert_eq!((status, body.as_str()), (200, "ok"));
    let joins: Vec<String> = (0..300)
        .map(|i| event(Some(i), "join", &[json!("mallory")]))
        .collect();
    let payload = joins.join("\x1e");
    let (status, body) = http(addr, "POST", &path, payload.as_bytes())
        .await
        .expect("post joins");
    assert_eq!((status, body.as_str()), (200, "ok"));

    let mut acks: Vec<(u64, Value)> = Vec::new();
    let mut polls = 0;
    let mut received = 0;
    let mut peak = server.rss_kib();
    while acks.len() < 300 && polls < 100 {
        polls += 1;
        let Some((status, body)) = http(addr, "GET", &path, b"").await else {
            break;
        };
        assert_eq!(status, 200, "{body}");
        received += body.len();
        peak = peak.max(server.rss_kib());
        for packet in body.split('\x1e') {
            if packet == "2" {
                let _ = http(addr, "POST", &path, b"3").await;
            } else if let Some(rest) = packet.strip_prefix("43") {
                let at = rest.find('[').expect("ack args");
                let id: u64 = rest[..at].parse().expect("ack id");
                let args: Vec<Value> = serde_json::from_str(&rest[at..]).expect("ack json");
                acks.push((id, args.into_iter().next().unwrap_or(Value::Null)));
            }
        }
    }
    let after = server.rss_kib();
    println!(
        "join amplification: 300 joins in one POST of {} bytes; {} acks in {polls} polls, \
         {received} bytes received; first ack carried {} messages; server RSS {:.1} MiB before, \
         peak {:.1}, {:.1} after (+{:.1} MiB)",
        payload.len(),
        acks.len(),
        acks.first()
            .and_then(|(_, a)| a["history"].as_array().map(Vec::len))
            .unwrap_or(0),
        mib(before),
        mib(peak),
        mib(after),
        mib(peak.saturating_sub(before))
    );
    assert_eq!(acks.len(), 300, "every join is answered");
    assert_eq!(acks[0].0, 0);
    assert_eq!(acks[0].1["ok"], json!(true), "the first join is accepted");
    for (id, ack) in &acks[1..] {
        assert_eq!(
            ack["error"]["code"],
            json!("already_joined"),
            "join {id}: {ack}"
        );
    }
    assert!(
        peak.saturating_sub(before) < 32 * 1024,
        "the server grew by {:.1} MiB",
        mib(peak.saturating_sub(before))
    );
}

// ---------------------------------------------------------------------------------------------
// 3. Clients that stop reading are reaped.
// ---------------------------------------------------------------------------------------------

/// 100 clients stuck in writes they never read are reaped within the heartbeat's deadline.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_that_stop_reading_are_reaped() {
    let _serial = SERIAL.lock().await;
    raise_open_files_limit();
    let server = ServerProcess::start(&[
        "--ping-interval",
        "1000",
        "--ping-timeout",
        "1000",
        "--client-queue-bytes",
        "65536",
        "--rate-limit",
        "0",
        "--max-message-chars",
        "100000",
        "--max-connections-per-address",
        "1000",
        "--db",
        ":memory:",
    ])
    .await;
    let addr = server.addr;
    let base_fds = server.open_fds();
    let base_rss = server.rss_kib();

    let crowd = StalledCrowd::spawn(addr, 100, "sl", 100);
    crowd.wait_joined(100, Duration::from_secs(20)).await;
    let mut speaker = Ws::open(addr, None).await.expect("speaker connects");
    speaker.join("speaker").await.expect("speaker joins");
    crowd
        .wait_quiet(Duration::from_millis(300), Duration::from_secs(5))
        .await;
    let joined_fds = server.open_fds();
    let joined_rss = server.rss_kib();

    // Paced, so that the server's writers keep up until the sockets are full: then they are
    // stuck in writes the clients will never make room for, which is the case to reap.
    let pace = Duration::from_millis(100);
    crowd.stop_reading();
    let stopped = Instant::now();
    let text = "x".repeat(20_000);
    let speech = speak_until_cut(&server, speaker, &text, "sl", 100, 100, pace).await;
    let deadline = Deadline::within(Duration::from_secs(5)).every(Duration::from_millis(20));
    let _ = poll(deadline, async || left_in_log(&server, "sl") >= 100).await;
    let cut_at = stopped.elapsed();
    assert_eq!(left_in_log(&server, "sl"), 100, "the room says they left");

    // pingInterval + pingTimeout + 1 s margin, then 5 s more at most.
    let deadline = Duration::from_secs(3) + Duration::from_secs(5);
    let mut peak_rss = speech.peak_rss_kib;
    let mut fds = server.open_fds();
    while fds > base_fds + 5 && stopped.elapsed() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
        peak_rss = peak_rss.max(server.rss_kib());
        fds = server.open_fds();
    }
    let reaped_at = stopped.elapsed();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let after_rss = server.rss_kib();
    println!(
        "reaping: 100 clients stopped reading; {} messages of 20,000 chars, all 100 left the room \
         after {:.2} s ({}; {} throttled log line(s) for stalled writes), sockets closed after {:.2} s \
         (deadline {:.0} s); open fds {base_fds} at start, {joined_fds} joined, {fds} after; RSS \
         {:.1} MiB at start, {:.1} joined, peak {:.1}, {:.1} after",
        speech.sent,
        cut_at.as_secs_f64(),
        close_reasons(&server),
        server.log_lines_with("reason=WriteStalled"),
        reaped_at.as_secs_f64(),
        deadline.as_secs_f64(),
        mib(base_rss),
        mib(joined_rss),
        mib(peak_rss),
        mib(after_rss)
    );
    assert!(
        fds <= base_fds + 5,
        "the server still holds {fds} fds (baseline {base_fds}) {:.1} s after they stopped",
        reaped_at.as_secs_f64()
    );
    assert!(
        after_rss < base_rss + 24 * 1024,
        "the server keeps {:.1} MiB more than at the start",
        mib(after_rss.saturating_sub(base_rss))
    );
    crowd.release().await;
}

// ---------------------------------------------------------------------------------------------
// 4. Namespaces.
// ---------------------------------------------------------------------------------------------

/// Asks for namespaces `names` one at a time; how many were refused with `44` before the server
/// closed the connection (`None`: never closed).
async fn refused_until_closed(
    ws: &mut Ws,
    names: impl Iterator<Item = String>,
) -> (usize, Option<usize>) {
    let mut refused = 0;
    for (i, name) in names.enumerate() {
        if ws.send(&format!("40/{name},")).await.is_err() {
            return (refused, Some(i + 1));
        }
        let reply = tokio::time::timeout(Duration::from_secs(5), ws.packet()).await;
        match reply {
            Ok(Ok(Some(p))) if p.starts_with(&format!("4/{name},")) => refused += 1,
            Ok(Ok(Some(p))) => panic!("unexpected answer to namespace {i}: {p:.80}"),
            Ok(Ok(None) | Err(_)) => return (refused, Some(i + 1)),
            Err(elapsed) => panic!("no answer to namespace {i}: {elapsed}"),
        }
    }
    (refused, None)
}

/// A client refused namespace after namespace is closed within 5 tries, frame-sized names too.
#[tokio::test]
async fn refused_namespaces_close_the_connection() {
    let _serial = SERIAL.lock().await;
    let server = ServerProcess::start(&["--db", ":memory:"]).await;
    let addr = server.addr;

    let mut ws = Ws::open(addr, None).await.expect("connects");
    let (refused, closed) = refused_until_closed(&mut ws, (1..=20).map(|i| format!("ns{i}"))).await;
    println!("namespaces: {refused} refusals (44), then closed at attempt {closed:?}");
    assert!(refused >= 1, "a refusal is answered with 44");
    assert!(
        closed.is_some_and(|n| n <= 5),
        "closed within 5 attempts, got {closed:?}"
    );

    // Names as big as the frame limit allows (28,096 bytes with 4,000-character messages).
    let huge = 28_000;
    let before = server.rss_kib();
    let mut attempts = 0;
    for c in 0..200 {
        let mut ws = Ws::open(addr, None).await.expect("connects");
        let names = (0..10).map(|i| {
            format!(
                "{}{i}",
                char::from(b'a' + u8::try_from(c % 26).unwrap_or(0))
                    .to_string()
                    .repeat(huge)
            )
        });
        let (_, closed) = refused_until_closed(&mut ws, names).await;
        assert!(
            closed.is_some_and(|n| n <= 5),
            "closed within 5 attempts, got {closed:?}"
        );
        attempts += closed.unwrap_or(0);
    }
    let after = server.rss_kib();
    println!(
        "namespaces: 200 connections asked for {attempts} namespaces of {huge} characters; \
         server RSS {:.1} -> {:.1} MiB",
        mib(before),
        mib(after)
    );
    assert!(
        after < before + 16 * 1024,
        "the server grew by {:.1} MiB",
        mib(after.saturating_sub(before))
    );
}

/// 2,000 refused namespaces of 28,000 characters on one connection do not grow the server.
#[tokio::test]
async fn a_connected_client_asking_for_namespaces_does_not_grow_the_server() {
    let _serial = SERIAL.lock().await;
    let server = ServerProcess::start(&["--db", ":memory:"]).await;
    let mut ws = Ws::open(server.addr, None).await.expect("connects");
    ws.connect().await.expect("40 accepted");
    let huge = 28_000;
    let before = server.rss_kib();
    let names = (0..2000).map(|i| format!("{}{i}", "n".repeat(huge)));
    let (refused, closed) = refused_until_closed(&mut ws, names).await;
    let after = server.rss_kib();
    println!(
        "namespaces after 40: {refused} refusals of {huge}-character names (closed at attempt \
         {closed:?}); server RSS {:.1} -> {:.1} MiB",
        mib(before),
        mib(after)
    );
    assert!(refused >= 1, "a refusal is answered with 44");
    assert!(
        after < before + 16 * 1024,
        "the server grew by {:.1} MiB",
        mib(after.saturating_sub(before))
    );
}

/// A client connected to `/` that keeps asking for other namespaces is closed within 5 tries.
#[tokio::test]
async fn a_connected_client_refused_repeatedly_is_disconnected() {
    let _serial = SERIAL.lock().await;
    let server = ServerProcess::start(&["--db", ":memory:"]).await;
    let mut ws = Ws::open(server.addr, None).await.expect("connects");
    ws.connect().await.expect("40 accepted");
    let (refused, closed) = refused_until_closed(&mut ws, (1..=20).map(|i| format!("ns{i}"))).await;
    println!("namespaces after 40: {refused} refusals, then closed at attempt {closed:?}");
    assert!(
        closed.is_some_and(|n| n <= 5),
        "closed within 5 attempts, got {closed:?} after {refused} refusals"
    );
}

// ---------------------------------------------------------------------------------------------
// 5. Request heads, connection caps, join timeout.
// ---------------------------------------------------------------------------------------------

/// Reads from `tcp` until the server closes it (or `wait` passes): what it sent, and whether it
/// closed.
async fn read_until_closed(tcp: &mut TcpStream, wait: Duration) -> (String, bool) {
    let mut got = Vec::new();
    let closed = tokio::time::timeout(wait, async {
        let mut chunk = [0u8; 1024];
        loop {
            match tcp.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => got.extend_from_slice(&chunk[..n]),
            }
        }
    })
    .await
    .is_ok();
    (String::from_utf8_lossy(&got).into_owned(), closed)
}

/// A half-sent request head (and a silent connection) is cut off by a 1 s header timeout.
#[tokio::test]
async fn a_half_sent_request_head_times_out() {
    let _serial = SERIAL.lock().await;
    let server = ServerProcess::start(&["--header-timeout", "1", "--db", ":memory:"]).await;

    let mut tcp = TcpStream::connect(server.addr).await.expect("connects");
    tcp.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .await
        .expect("writes");
    let started = Instant::now();
    let (sent, closed) = read_until_closed(&mut tcp, Duration::from_secs(10)).await;
    let half_head = started.elapsed();

    let mut idle = TcpStream::connect(server.addr).await.expect("connects");
    let started = Instant::now();
    let (_, idle_closed) = read_until_closed(&mut idle, Duration::from_secs(10)).await;
    let nothing = started.elapsed();
    println!(
        "header timeout 1 s: a half-sent head was closed after {:.2} s (server sent {:?}); a \
         silent connection after {:.2} s",
        half_head.as_secs_f64(),
        sent.lines().next().unwrap_or(""),
        nothing.as_secs_f64()
    );
    assert!(closed && half_head <= Duration::from_secs(3), "half head");
    assert!(idle_closed && nothing <= Duration::from_secs(3), "no bytes");
    assert!(server.healthy().await);
}

/// Tries to connect and is refused: a `503` or a close. A connection the server takes sends
/// nothing and stays open for its header timeout (30 s in these tests), so waiting up to 10 s
/// tells the two apart however slowly a loaded machine runs the server (a 2 s wait did not,
/// once, with two busy loops beside a cold CI run).
async fn refused(addr: SocketAddr) -> Option<String> {
    let mut tcp = TcpStream::connect(addr).await.ok()?;
    let (sent, closed) = read_until_closed(&mut tcp, Duration::from_secs(10)).await;
    (closed && !sent.starts_with("HTTP/1.1 200")).then_some(sent)
}

/// Opens `n` idle TCP connections and waits until the server has taken them.
async fn idle_connections(server: &ServerProcess, n: usize) -> Vec<TcpStream> {
    // The start's health checks count against the caps until the server has dropped them,
    // which a busy machine can put off past their answers: none may be left.
    eventually(
        Deadline::within(Duration::from_secs(20)).every(Duration::from_millis(20)),
        "the server holds no connection before the test opens its own",
        async || server.held_connections() == 0,
    )
    .await;
    let mut conns = Vec::new();
    for _ in 0..n {
        conns.push(TcpStream::connect(server.addr).await.expect("connects"));
    }
    let deadline = Deadline::within(Duration::from_secs(5)).every(Duration::from_millis(20));
    // Taken or not, the caller judges what the server does with them.
    let _ = poll(deadline, async || server.held_connections() >= n).await;
    conns
}

/// Past 20 connections per address: a 503, one log line for 201 refusals; freed places reused.
#[tokio::test]
async fn connections_per_address_are_capped_and_refusals_logged_sparingly() {
    let _serial = SERIAL.lock().await;
    let server = ServerProcess::start(&[
        "--max-connections-per-address",
        "20",
        "--header-timeout",
        "30",
        "--db",
        ":memory:",
    ])
    .await;
    let idle = idle_connections(&server, 20).await;

    let first = refused(server.addr)
        .await
        .expect("the 21st connection is refused");
    let started = Instant::now();
    let mut refusals = 1;
    for _ in 0..200 {
        assert!(refused(server.addr).await.is_some(), "still refused");
        refusals += 1;
    }
    let lines = server.log_lines_with("limit reached");
    println!(
        "per-address cap 20: the 21st got {:?}; {refusals} refusals in {:.2} s made {lines} log \
         line(s): {}",
        first.lines().next().unwrap_or("(closed)"),
        started.elapsed().as_secs_f64(),
        server
            .log()
            .lines()
            .find(|l| l.contains("limit reached"))
            .unwrap_or("")
    );
    assert!(first.starts_with("HTTP/1.1 503"), "{first:?}");
    assert!((1..=3).contains(&lines), "{lines} log lines");

    drop(idle);
    eventually_joins_and_chats(server.addr, "after-cap").await;
}

/// Past 30 connections on the server: a 503 and a log line; a freed place lets a client chat.
#[tokio::test]
async fn the_global_connection_cap_holds() {
    let _serial = SERIAL.lock().await;
    let server = ServerProcess::start(&[
        "--max-connections",
        "30",
        "--header-timeout",
        "30",
        "--db",
        ":memory:",
    ])
    .await;
    let mut idle = idle_connections(&server, 30).await;
    let answer = refused(server.addr)
        .await
        .expect("the 31st connection is refused");
    let line = server
        .log()
        .lines()
        .find(|l| l.contains("limit reached"))
        .unwrap_or("")
        .to_owned();
    println!(
        "global cap 30: the 31st got {:?}; log: {line}",
        answer.lines().next().unwrap_or("(closed)")
    );
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer:?}");
    assert!(line.contains("connections on the server"), "{line}");

    idle.truncate(29);
    eventually_joins_and_chats(server.addr, "after-global-cap").await;
}

/// With a 1 s join timeout, connections that never join are closed within 3 s; members stay.
#[tokio::test]
async fn clients_that_never_join_are_closed() {
    let _serial = SERIAL.lock().await;
    let server = ServerProcess::start(&["--join-timeout", "1", "--db", ":memory:"]).await;
    let addr = server.addr;

    let mut member = Ws::open(addr, None).await.expect("connects");
    member.join("member").await.expect("joins");
    let mut lurker = Ws::open(addr, None).await.expect("connects");
    lurker.connect().await.expect("40 accepted");
    let mut silent = Ws::open(addr, None).await.expect("connects");
    let started = Instant::now();

    let lurker_closed = tokio::time::timeout(Duration::from_secs(10), async {
        while let Ok(Some(_)) = lurker.packet().await {}
    })
    .await
    .is_ok();
    let lurker_after = started.elapsed();
    let silent_closed = tokio::time::timeout(Duration::from_secs(10), async {
        while let Ok(Some(_)) = silent.packet().await {}
    })
    .await
    .is_ok();
    let silent_after = started.elapsed();
    tokio::time::sleep(Duration::from_millis(1500)).await;

    member
        .send(&event(
            Some(1),
            "chat-message",
            &[json!({"text": "still here"})],
        ))
        .await
        .expect("the member can still send");
    let ack = member
        .ack(1, |_| {})
        .await
        .expect("ack in time")
        .expect("the member is still connected");
    println!(
        "join timeout 1 s: a client that sent 40 but never joined was closed after {:.2} s, one \
         that never sent 40 after {:.2} s; the member chats {:.1} s later: {}",
        lurker_after.as_secs_f64(),
        silent_after.as_secs_f64(),
        started.elapsed().as_secs_f64(),
        ack["ok"]
    );
    assert!(lurker_closed && lurker_after <= Duration::from_secs(3));
    assert!(silent_closed && silent_after <= Duration::from_secs(3));
    assert_eq!(ack["ok"], json!(true));
}
