//! The HTTP long-polling carrier (Engine.IO 4): the tutorial's browser page starts here, as
//! does any Socket.IO client with default options.
//!
//! A `GET` waits for the session's queued packets and answers with up to
//! [`MAX_PACKETS_PER_POLL`] of them (python-engineio refuses a payload of more than 16) joined
//! by the record separator; a `POST` carries the client's packets the same way. One `GET` and
//! one `POST` at a time: a second of either ends the session, as the specification asks. When
//! the client upgrades, a waiting `GET` is answered `6` (noop) and later ones are refused.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::{BufMut, Bytes, BytesMut};
use charla_protocol::inbound::Frame;

use super::responses::{refuse, too_many};
use super::session::{self, Carrier, Context, End, Session};
use super::{Link, Sid};

/// Most packets in one answer to a poll: python-engineio drops the connection when a payload
/// holds more than 16.
pub const MAX_PACKETS_PER_POLL: usize = 16;

/// The Engine.IO payload separator.
const SEPARATOR: u8 = 0x1e;

/// How long a `POST` body may take to arrive.
const BODY_TIMEOUT: Duration = Duration::from_secs(10);

/// `GET` without a session id: opens a session.
pub fn open(ctx: &Arc<Context>, peer: std::net::IpAddr) -> Response {
    let Some(admitted) = ctx.sessions.admit(peer) else {
        return too_many();
    };
    let link = Link::new(Sid::new(), peer, ctx.config.client_queue_bytes);
    let session = Session::new(ctx.clone(), admitted, link, Carrier::Polling);
    let open = session.open_packet(&["websocket"]);
    ctx.sessions.insert(session.id(), session.clone());
    ctx.tasks.spawn(session::run(session));
    text(open)
}

/// Clears a "request in progress" flag when the request ends, answered or abandoned.
struct InProgress<'a>(&'a AtomicBool);

impl Drop for InProgress<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}

/// The open polling session with this id (upgraded sessions no longer take polling
/// requests).
fn session_for(ctx: &Context, sid: Sid) -> Option<Arc<Session>> {
    ctx.sessions
        .get(sid)
        .filter(|s| s.carrier() != Carrier::WebSocket && !s.is_over())
}

/// `GET` with a session id: waits for packets and answers with them.
pub async fn poll(ctx: &Arc<Context>, sid: Sid) -> Response {
    let Some(session) = session_for(ctx, sid) else {
        return refuse(1, "Session ID unknown");
    };
    if session.polling_get.swap(true, Ordering::AcqRel) {
        session.finish(End::ClientBroke("overlapping polls".into()));
        return refuse(3, "Bad request");
    }
    let _in_progress = InProgress(&session.polling_get);
    // Registered before the carrier is checked, so an upgrade starting in between still
    // wakes this poll.
    let upgrading = session.upgrade_started.notified();
    tokio::pin!(upgrading);
    upgrading.as_mut().enable();
    if session.carrier() == Carrier::Upgrading {
        return text(Bytes::from_static(b"6"));
    }
    let max_bytes = ctx.config.max_frame_bytes();
    let queue = session.link().queue();
    let packets = tokio::select! {
        packets = queue.take(MAX_PACKETS_PER_POLL, max_bytes) => packets,
        () = &mut upgrading => std::iter::once(Bytes::from_static(b"6")).collect(),
    };
    if packets.is_empty() {
        // Closed with no farewell left: the session is over.
        return refuse(1, "Session ID unknown");
    }
    text(join(&packets))
}

/// `POST` with a session id: the client's packets.
pub async fn post(ctx: &Arc<Context>, sid: Sid, body: Body) -> Response {
    let Some(session) = session_for(ctx, sid) else {
        return refuse(1, "Session ID unknown");
    };
    if session.polling_post.swap(true, Ordering::AcqRel) {
        session.finish(End::ClientBroke("overlapping posts".into()));
        return refuse(3, "Bad request");
    }
    let _in_progress = InProgress(&session.polling_post);
    let limit = ctx.config.max_frame_bytes();
    let body = match tokio::time::timeout(BODY_TIMEOUT, axum::body::to_bytes(body, limit)).await {
        Ok(Ok(body)) => body,
        Ok(Err(_)) => {
            session.finish(End::ClientBroke("payload too large or cut short".into()));
            return (StatusCode::PAYLOAD_TOO_LARGE, "payload too large\n").into_response();
        }
        Err(_) => {
            session.finish(End::ClientBroke("payload too slow".into()));
            return refuse(3, "Bad request");
        }
    };
    let ok = || {
        (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "text/html; charset=UTF-8")],
            "ok",
        )
            .into_response()
    };
    match receive_payload(&session, &body) {
        Ok(()) => ok(),
        // A clean close (`1`, `41`) is a request well made, as Node answers it.
        Err(End::ClientLeft) => {
            session.finish(End::ClientLeft);
            ok()
        }
        Err(end) => {
            session.finish(end);
            refuse(3, "Bad request")
        }
    }
}

/// Hands each packet of a payload to the session, in order.
fn receive_payload(session: &Session, body: &[u8]) -> Result<(), End> {
    let Ok(text) = std::str::from_utf8(body) else {
        return Err(End::ClientBroke("payload is not UTF-8".into()));
    };
    for packet in text.split(char::from(SEPARATOR)) {
        match packet.strip_prefix('b') {
            Some(base64) => {
                use base64::Engine as _;
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(base64)
                    .map_err(|_| End::ClientBroke("bad base64 in a binary packet".into()))?;
                session.receive(Frame::Binary(&bytes))?;
            }
            None => session.receive(Frame::Text(packet))?,
        }
    }
    Ok(())
}

fn join(packets: &[Bytes]) -> Bytes {
    let size = packets.iter().map(|p| p.len() + 1).sum();
    let mut body = BytesMut::with_capacity(size);
    for (i, packet) in packets.iter().enumerate() {
        if i > 0 {
            body.put_u8(SEPARATOR);
        }
        body.put_slice(packet);
    }
    body.freeze()
}

fn text(body: Bytes) -> Response {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/plain; charset=UTF-8")],
        body,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packets_are_joined_with_the_record_separator() {
        let packets = [Bytes::from("4hello"), Bytes::from("2"), Bytes::from("4x")];
        assert_eq!(&join(&packets)[..], b"4hello\x1e2\x1e4x");
        assert_eq!(&join(&packets[..1])[..], b"4hello");
    }
}
