//! The WebSocket carrier: a direct WebSocket session, or the upgrade of a polling one.
//!
//! The HTTP upgrade is answered here and the TCP stream taken back from hyper, then split: a
//! reader task parses client frames ([`frame::Reader`]) and hands them to the session; a
//! writer task drains the session's queue in batches, each a single vectored write of the
//! shared packet bytes behind their frame headers, under a deadline. The two halves never wait
//! for each other, so a stuck write cannot stop the heartbeat (the session's task) from ending
//! a client that stopped reading.

pub mod frame;

use std::io::IoSlice;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::Request;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::{Bytes, BytesMut};
use charla_protocol::inbound::Frame;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;

use super::responses::{refuse, too_many};
use super::session::{self, Carrier, Context, End, Session};
use super::{Link, Sid};
use crate::listener::ConnSlot;
use frame::{Incoming, Reader, ServerHead, CLOSE_NORMAL};

/// Most packets written in one batch.
const BATCH_PACKETS: usize = 64;
/// Most bytes written in one batch (one packet may be bigger on its own).
const BATCH_BYTES: usize = 256 * 1024;
/// Room made to read into when the socket is readable; more for a bigger frame. The buffer is
/// dropped whenever it is empty.
const READ_CHUNK: usize = 512;
/// How long the client has to finish an upgrade (`2probe` … `5`).
const UPGRADE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long the farewell (`41`, the close frame) may take to write.
const FAREWELL_TIMEOUT: Duration = Duration::from_secs(2);

/// `GET /socket.io/?EIO=4&transport=websocket[&sid=…]`: answers the upgrade and starts the
/// carrier once hyper hands the connection over.
pub fn accept(
    ctx: &Arc<Context>,
    sid: Option<Sid>,
    peer: IpAddr,
    mut request: Request,
) -> Response {
    let Some(key) = handshake_key(request.headers()) else {
        return refuse(3, "Bad request");
    };
    let upgrading = match sid {
        None => None,
        Some(sid) => match ctx.sessions.get(sid) {
            Some(session) if session.switch_carrier(Carrier::Polling, Carrier::Upgrading) => {
                Some(session)
            }
            // Already upgraded, or another upgrade under way: as the reference server does,
            // the WebSocket is opened and closed at once; the session goes on undisturbed.
            Some(_) => return open_and_close(ctx, request, &key),
            None => return refuse(1, "Session ID unknown"),
        },
    };
    let admitted = match &upgrading {
        Some(_) => None,
        None => match ctx.sessions.admit(peer) {
            Some(admitted) => Some(admitted),
            None => return too_many(),
        },
    };
    let slot = request.extensions_mut().remove::<ConnSlot>();
    let on_upgrade = hyper::upgrade::on(&mut request);
    let ctx = ctx.clone();
    ctx.tasks.clone().spawn(async move {
        let Ok(Some(stream)) = on_upgrade.await.map(take_tcp) else {
            tracing::debug!(%peer, "websocket upgrade did not complete");
            if let Some(session) = upgrading {
                session.switch_carrier(Carrier::Upgrading, Carrier::Polling);
            }
            return;
        };
        match (upgrading, admitted) {
            // Boxed: the upgrade's handshake state would otherwise size every direct
            // connection's task, for its whole life.
            (Some(session), _) => Box::pin(upgrade(session, stream, slot)).await,
            (None, Some(admitted)) => {
                let link = Link::new(Sid::new(), peer, ctx.config.client_queue_bytes);
                let session = Session::new(ctx.clone(), admitted, link, Carrier::WebSocket);
                // First in the queue, before anything can be broadcast to the session.
                let _ = session.link().send_packet(session.open_packet(&[]));
                ctx.sessions.insert(session.id(), session.clone());
                ctx.tasks.spawn(session::run(session.clone()));
                carry(session, stream, slot).await;
            }
            (None, None) => {}
        }
    });
    switching_protocols(&key)
}

/// `101`: the WebSocket handshake's answer to `key`.
fn switching_protocols(key: &[u8]) -> Response {
    let mut response = StatusCode::SWITCHING_PROTOCOLS.into_response();
    let headers = response.headers_mut();
    headers.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
    headers.insert(header::CONNECTION, HeaderValue::from_static("Upgrade"));
    if let Ok(accept) = HeaderValue::from_str(&frame::accept_key(key)) {
        headers.insert(header::SEC_WEBSOCKET_ACCEPT, accept);
    }
    response
}

/// Opens the WebSocket and closes it at once (a normal close frame, within the farewell's
/// deadline): the answer to one that names a session already carried by a WebSocket, or being
/// upgraded. The session itself is not touched.
fn open_and_close(ctx: &Arc<Context>, mut request: Request, key: &[u8]) -> Response {
    // The socket keeps its place under the connection caps until it is closed.
    let slot = request.extensions_mut().remove::<ConnSlot>();
    let on_upgrade = hyper::upgrade::on(&mut request);
    ctx.tasks.spawn(async move {
        let _slot = slot;
        if let Ok(Some(stream)) = on_upgrade.await.map(take_tcp) {
            let mut tcp = stream.tcp;
            let _ = tokio::time::timeout(FAREWELL_TIMEOUT, async {
                tcp.write_all(&CLOSE_NORMAL).await?;
                tcp.shutdown().await
            })
            .await;
        }
    });
    switching_protocols(key)
}

/// The client's `Sec-WebSocket-Key`, when the request is a valid WebSocket upgrade.
fn handshake_key(headers: &HeaderMap) -> Option<Vec<u8>> {
    let has_token = |name: header::HeaderName, token: &str| {
        headers.get_all(name).iter().any(|v| {
            v.to_str()
                .is_ok_and(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case(token)))
        })
    };
    let ok = has_token(header::UPGRADE, "websocket")
        && has_token(header::CONNECTION, "upgrade")
        && headers
            .get(header::SEC_WEBSOCKET_VERSION)
            .is_some_and(|v| v == "13");
    let key = headers
        .get(header::SEC_WEBSOCKET_KEY)?
        .as_bytes()
        .trim_ascii();
    (ok && key.len() == 24).then(|| key.to_vec())
}

/// The connection's TCP stream and what hyper had already read from it.
struct Stream {
    tcp: TcpStream,
    read: BytesMut,
}

fn take_tcp(upgraded: hyper::upgrade::Upgraded) -> Option<Stream> {
    let parts = upgraded.downcast::<TokioIo<TcpStream>>().ok()?;
    Some(Stream {
        tcp: parts.io.into_inner(),
        read: BytesMut::from(&parts.read_buf[..]),
    })
}

/// Completes the upgrade of a polling session (`2probe` → `3probe`, a noop to the waiting
/// poll, then `5`) and carries it from then on; on failure the session goes on polling.
async fn upgrade(session: Arc<Session>, stream: Stream, slot: Option<ConnSlot>) {
    let Stream { tcp, mut read } = stream;
    let (mut reader_half, mut writer_half) = tcp.into_split();
    let mut reader = Reader::new(session.config().max_frame_bytes());
    let probe = async {
        let first = read_message(&mut reader_half, &mut reader, &mut read).await?;
        if first != Incoming::Text("2probe".into()) {
            return Err(End::ClientBroke("upgrade without a probe".into()));
        }
        write_frames(&mut writer_half, &[Bytes::from_static(b"3probe")])
            .await
            .map_err(|e| End::ClientBroke(e.to_string()))?;
        // The waiting poll (if any) answers `6`, so the client can finish the upgrade.
        session.upgrade_started.notify_waiters();
        loop {
            match read_message(&mut reader_half, &mut reader, &mut read).await? {
                Incoming::Text(text) if text == "5" => return Ok(()),
                // A pong for a ping that was queued before the upgrade, or a WebSocket ping.
                Incoming::Text(text) if text == "3" => session.receive(Frame::Text(&text))?,
                Incoming::Ping(_) | Incoming::Pong => {}
                _ => return Err(End::ClientBroke("unexpected frame while upgrading".into())),
            }
        }
    };
    match tokio::time::timeout(UPGRADE_TIMEOUT, probe).await {
        Ok(Ok(())) => {
            session.switch_carrier(Carrier::Upgrading, Carrier::WebSocket);
            tracing::debug!(sid = %session.id(), "upgraded to websocket");
            run_halves(session, reader_half, writer_half, reader, read, slot).await;
        }
        Ok(Err(end)) => {
            tracing::debug!(sid = %session.id(), reason = ?end, "upgrade abandoned");
            session.switch_carrier(Carrier::Upgrading, Carrier::Polling);
        }
        Err(_) => {
            tracing::debug!(sid = %session.id(), "upgrade timed out");
            session.switch_carrier(Carrier::Upgrading, Carrier::Polling);
        }
    }
}

/// Carries a session over `stream` until the session is over.
async fn carry(session: Arc<Session>, stream: Stream, slot: Option<ConnSlot>) {
    let Stream { tcp, read } = stream;
    let (reader_half, writer_half) = tcp.into_split();
    let reader = Reader::new(session.config().max_frame_bytes());
    run_halves(session, reader_half, writer_half, reader, read, slot).await;
}

async fn run_halves(
    session: Arc<Session>,
    mut reader_half: OwnedReadHalf,
    writer_half: OwnedWriteHalf,
    mut reader: Reader,
    mut buf: BytesMut,
    slot: Option<ConnSlot>,
) {
    // A WebSocket ping's pong; only the latest is kept (RFC 6455 allows that).
    let pongs = Arc::new(PongSlot::default());
    let write_timeout = session.config().ping_timeout;
    let mut writer = session.tasks().spawn(write_loop(
        session.clone(),
        writer_half,
        pongs.clone(),
        write_timeout,
    ));
    let reading = async {
        loop {
            match read_message(&mut reader_half, &mut reader, &mut buf).await? {
                Incoming::Text(text) => session.receive(Frame::Text(&text))?,
                Incoming::Binary(bytes) => session.receive(Frame::Binary(&bytes))?,
                Incoming::Ping(payload) => {
                    pongs.put(payload);
                }
                Incoming::Pong => {}
                Incoming::Close => return Err::<(), End>(End::ClientLeft),
            }
        }
    };
    tokio::select! {
        Err(end) = reading => session.finish(end),
        () = session.until_over() => {}
    }
    // The writer sends the farewell and the close frame, or gives up at its deadline.
    if tokio::time::timeout(FAREWELL_TIMEOUT + Duration::from_secs(1), &mut writer)
        .await
        .is_err()
    {
        writer.abort();
    }
    drop(slot);
}

/// Reads until one whole message is in `buf`, and takes it. An idle connection holds no read
/// buffer: it waits for the socket to be readable and only then makes room to read into.
async fn read_message(
    half: &mut OwnedReadHalf,
    reader: &mut Reader,
    buf: &mut BytesMut,
) -> Result<Incoming, End> {
    loop {
        match reader.next(buf) {
            Ok(Some(message)) => {
                if buf.is_empty() {
                    *buf = BytesMut::new();
                }
                return Ok(message);
            }
            Ok(None) => {}
            Err(e) => return Err(End::ClientBroke(e.to_string())),
        }
        if let Err(e) = half.readable().await {
            return Err(End::ClientBroke(e.to_string()));
        }
        let wanted = Reader::wanted(buf)
            .saturating_sub(buf.len())
            .max(READ_CHUNK);
        buf.reserve(wanted);
        match half.try_read_buf(buf) {
            Ok(0) => return Err(End::ClientLeft),
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(e) => return Err(End::ClientBroke(e.to_string())),
        }
    }
}

/// The pong owed for the latest WebSocket ping, handed from the reader to the writer. (A
/// channel would cost each connection a kilobyte of slots for a message that is rare.)
#[derive(Default)]
struct PongSlot {
    payload: std::sync::Mutex<Option<Bytes>>,
    ready: tokio::sync::Notify,
}

impl PongSlot {
    fn put(&self, payload: Bytes) {
        *self
            .payload
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(payload);
        self.ready.notify_one();
    }

    async fn take(&self) -> Bytes {
        loop {
            let taken = self
                .payload
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .take();
            if let Some(payload) = taken {
                return payload;
            }
            self.ready.notified().await;
        }
    }
}

async fn write_loop(
    session: Arc<Session>,
    mut half: OwnedWriteHalf,
    pongs: Arc<PongSlot>,
    write_timeout: Duration,
) {
    loop {
        let packets = tokio::select! {
            biased;
            payload = pongs.take() => {
                let head = ServerHead::pong(payload.len());
                let write = async {
                    half.write_all(head.as_bytes()).await?;
                    half.write_all(&payload).await
                };
                if tokio::time::timeout(write_timeout, write).await.map_or(true, |r| r.is_err()) {
                    session.finish(End::WriteStalled);
                    return;
                }
                continue;
            }
            packets = session.link().queue().take(BATCH_PACKETS, BATCH_BYTES) => packets,
        };
        if packets.is_empty() {
            // The session is over and its farewell written: close the WebSocket.
            let close = async {
                half.write_all(&CLOSE_NORMAL).await?;
                half.shutdown().await
            };
            let _ = tokio::time::timeout(FAREWELL_TIMEOUT, close).await;
            return;
        }
        match tokio::time::timeout(write_timeout, write_frames(&mut half, &packets)).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                session.finish(End::ClientBroke(format!("write failed: {e}")));
                return;
            }
            Err(_) => {
                // Logged (at most every ten seconds) when the session closes.
                session.finish(End::WriteStalled);
                return;
            }
        }
    }
}

/// Writes each packet as one text frame, with as few system calls as the socket allows.
async fn write_frames<W: AsyncWrite + Unpin>(
    out: &mut W,
    packets: &[Bytes],
) -> std::io::Result<()> {
    if let [packet] = packets {
        // The usual case at fan-out: one frame, and no allocation.
        let head = ServerHead::text(packet.len());
        let mut slices = [IoSlice::new(head.as_bytes()), IoSlice::new(packet)];
        write_all_slices(out, &mut slices).await?;
        return out.flush().await;
    }
    // Headers and payloads interleaved; at most 2 × BATCH_PACKETS slices a call, under IOV_MAX.
    for chunk in packets.chunks(BATCH_PACKETS) {
        let heads: Vec<ServerHead> = chunk.iter().map(|p| ServerHead::text(p.len())).collect();
        let mut slices: Vec<IoSlice<'_>> = Vec::with_capacity(chunk.len() * 2);
        for (head, packet) in heads.iter().zip(chunk) {
            slices.push(IoSlice::new(head.as_bytes()));
            slices.push(IoSlice::new(packet));
        }
        write_all_slices(out, &mut slices).await?;
    }
    out.flush().await
}

/// Writes every byte of `slices`, through short writes.
async fn write_all_slices<W: AsyncWrite + Unpin>(
    out: &mut W,
    slices: &mut [IoSlice<'_>],
) -> std::io::Result<()> {
    let mut remaining = slices;
    while !remaining.is_empty() {
        let written = out.write_vectored(remaining).await?;
        if written == 0 {
            return Err(std::io::ErrorKind::WriteZero.into());
        }
        IoSlice::advance_slices(&mut remaining, written);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    use tokio::io::AsyncReadExt;

    #[tokio::test]
    async fn frames_are_written_whole_through_partial_writes() {
        let (mut one, mut other_end) = tokio::io::duplex(5);
        let single = tokio::spawn(async move {
            let mut got = vec![0u8; 2 + 6];
            other_end.read_exact(&mut got).await.expect("reads");
            got
        });
        write_frames(&mut one, &[Bytes::from("4hello")])
            .await
            .expect("writes one");
        assert_eq!(single.await.expect("no panic"), b"\x81\x064hello");

        // A pipe with a tiny buffer forces many short writes.
        let (mut ours, mut theirs) = tokio::io::duplex(7);
        let packets = vec![Bytes::from("42[\"a\"]"), Bytes::from("x".repeat(300))];
        let expected: Vec<u8> = packets
            .iter()
            .flat_map(|p| {
                let mut bytes = ServerHead::text(p.len()).as_bytes().to_vec();
                bytes.extend_from_slice(p);
                bytes
            })
            .collect();
        let reading = tokio::spawn(async move {
            let mut got = vec![0u8; expected.len()];
            theirs.read_exact(&mut got).await.expect("reads");
            (got, expected)
        });
        write_frames(&mut ours, &packets).await.expect("writes");
        let (got, expected) = reading.await.expect("no panic");
        assert_eq!(got, expected);
    }

    #[test]
    fn only_complete_upgrade_requests_have_a_key() {
        let mut headers = HeaderMap::new();
        headers.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
        headers.insert(
            header::CONNECTION,
            HeaderValue::from_static("keep-alive, Upgrade"),
        );
        headers.insert(
            header::SEC_WEBSOCKET_VERSION,
            HeaderValue::from_static("13"),
        );
        assert_eq!(handshake_key(&headers), None);
        headers.insert(
            header::SEC_WEBSOCKET_KEY,
            HeaderValue::from_static("dGhlIHNhbXBsZSBub25jZQ=="),
        );
        assert!(handshake_key(&headers).is_some());
        headers.insert(header::SEC_WEBSOCKET_VERSION, HeaderValue::from_static("8"));
        assert_eq!(handshake_key(&headers), None);
    }
}
