//! How connections reach the chat: the Engine.IO / Socket.IO session, carried by a WebSocket
//! or by HTTP long-polling, and what the room holds of each connection ([`Link`]).
//!
//! The chat sees only [`Link`] (a queue of encoded frames, a place kept in it for an answer, and
//! a way to end the connection) and [`Responder`] (a way to answer one request). A broadcast is
//! encoded once ([`Encoded`]) and every queue gets a reference to the same bytes, whichever
//! carrier drains it.
//!
//! - [`session`]: the Engine.IO / Socket.IO session, the same for both carriers: handshake,
//!   heartbeat, namespace, deadlines, and the frames a client sends.
//! - [`websocket`]: the WebSocket carrier (direct connections, and upgrades of polling ones).
//! - [`polling`]: the HTTP long-polling carrier.
//! - [`queue`]: a connection's outgoing frames, bounded in bytes.
//! - [`route`]: which carrier takes a request.
//! - [`registry`]: the open sessions, and how many the server and one address may hold.
//! - [`responses`]: the endpoint's own HTTP answers (protocol errors, too many connections).

mod polling;
mod queue;
mod registry;
mod responses;
pub(crate) mod route;
mod session;
mod websocket;

use std::fmt;
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use charla_protocol::chat::{Refusal, ServerEvent};
use serde_json::Value as Json;
use tokio::sync::Notify;

use queue::FrameQueue;
pub use queue::SendFailure;

/// A session id: 128 random bits, unguessable (a polling client proves who it is by the id in
/// its URL), shown as 22 characters of base64url.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Sid([u8; 16]);

impl Sid {
    /// A fresh random id.
    #[must_use]
    pub fn new() -> Self {
        Self(rand::random())
    }

    /// Reads an id as [`fmt::Display`] writes it.
    #[must_use]
    pub fn parse(text: &str) -> Option<Self> {
        use base64::Engine as _;
        let mut bytes = [0u8; 16];
        let decoded = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(text)
            .ok()?;
        (decoded.len() == 16).then(|| {
            bytes.copy_from_slice(&decoded);
            Self(bytes)
        })
    }
}

impl Default for Sid {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Display for Sid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use base64::Engine as _;
        f.write_str(&base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(self.0))
    }
}

impl fmt::Debug for Sid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// What the transport hands to the application above it (the chat): each connection that
/// enters the namespace, each event it sends, and its end. The transport knows nothing else of
/// the chat.
pub trait Application: Send + Sync + 'static {
    /// A connection entered the namespace: it may now receive broadcasts.
    fn connected(&self, link: &Link);
    /// The connection sent the event `name`; `ack` is there when it asked for an answer.
    fn event(&self, link: &Link, name: &str, args: &[Json], ack: Option<Responder>);
    /// The connection sent something the transport refuses for the application to answer (a
    /// binary event).
    fn refuse(&self, link: &Link, ack: Option<Responder>, refusal: Refusal);
    /// The connection ended.
    fn left(&self, id: Sid);
}

/// An event encoded once for every receiver: the Engine.IO text packet `42["event",…]`.
pub struct Encoded {
    frame: Bytes,
}

impl Encoded {
    /// Encodes `event`.
    ///
    /// # Errors
    /// When its payload cannot be serialized (never, for the protocol's plain data).
    pub fn new(event: &ServerEvent) -> Result<Self, SendFailure> {
        let json = event.to_json().map_err(|_| SendFailure::Encoding)?;
        Ok(Self {
            frame: Bytes::from(format!("42{json}")),
        })
    }

    /// The encoded packet.
    #[cfg(test)]
    pub fn frame(&self) -> &Bytes {
        &self.frame
    }
}

/// A connection as the room sees it. Cheap to clone.
#[derive(Clone)]
pub struct Link {
    inner: Arc<LinkInner>,
}

struct LinkInner {
    id: Sid,
    peer: IpAddr,
    queue: FrameQueue,
    close: Notify,
    closing: AtomicBool,
    joined: AtomicBool,
    /// The session offered a wrong key or link code for an owned name (kept for the session's
    /// life, whatever namespace connects come and go).
    guessed_wrong: AtomicBool,
}

impl Link {
    /// A link for session `id` from `peer`, whose frames wait in a queue of `queue_bytes`.
    #[must_use]
    pub fn new(id: Sid, peer: IpAddr, queue_bytes: usize) -> Self {
        Self {
            inner: Arc::new(LinkInner {
                id,
                peer,
                queue: FrameQueue::new(queue_bytes),
                close: Notify::new(),
                closing: AtomicBool::new(false),
                joined: AtomicBool::new(false),
                guessed_wrong: AtomicBool::new(false),
            }),
        }
    }

    /// The session's id.
    #[must_use]
    pub fn id(&self) -> Sid {
        self.inner.id
    }

    /// The address the connection comes from.
    #[must_use]
    pub fn peer(&self) -> IpAddr {
        self.inner.peer
    }

    /// The outgoing queue (for the carrier that drains it).
    #[must_use]
    pub fn queue(&self) -> &FrameQueue {
        &self.inner.queue
    }

    /// Queues an event encoded once for many receivers.
    ///
    /// # Errors
    /// A full queue or a closed connection.
    pub fn send(&self, encoded: &Encoded) -> Result<(), SendFailure> {
        self.inner.queue.push(encoded.frame.clone())
    }

    /// Queues a packet that is already encoded.
    ///
    /// # Errors
    /// A full queue or a closed connection.
    pub fn send_packet(&self, packet: Bytes) -> Result<(), SendFailure> {
        self.inner.queue.push(packet)
    }

    /// Encodes and queues one event for this connection only.
    ///
    /// # Errors
    /// A full queue, a closed connection, or a payload that does not serialize.
    pub fn emit(&self, event: &ServerEvent) -> Result<(), SendFailure> {
        self.send(&Encoded::new(event)?)
    }

    /// Keeps a place at the end of the queue for an answer decided now (see
    /// [`queue::FrameQueue::keep_place`]).
    #[must_use]
    pub fn keep_reply_place(&self) -> ReplyPlace {
        self.inner.queue.keep_place();
        ReplyPlace {
            link: self.clone(),
            filled: false,
        }
    }

    /// Asks the session to end (the room cuts a client that cannot keep up this way). The
    /// session sends `41` when its carrier can still write, then closes.
    pub fn disconnect(&self) {
        self.inner.closing.store(true, Ordering::Release);
        self.inner.close.notify_one();
    }

    /// Whether [`Link::disconnect`] was called.
    #[must_use]
    pub fn is_closing(&self) -> bool {
        self.inner.closing.load(Ordering::Acquire)
    }

    /// Records that the connection joined the chat (it is past the join timeout's reach).
    pub fn mark_joined(&self) {
        self.inner.joined.store(true, Ordering::Release);
    }

    /// Records that the session offered a wrong key or link code for an owned name.
    pub fn note_wrong_guess(&self) {
        self.inner.guessed_wrong.store(true, Ordering::Release);
    }

    /// Whether the session ever offered a wrong key or link code.
    #[must_use]
    pub fn guessed_wrong(&self) -> bool {
        self.inner.guessed_wrong.load(Ordering::Acquire)
    }

    /// Records that the connection left the chat (`41`): the join deadline holds it again.
    pub fn unmark_joined(&self) {
        self.inner.joined.store(false, Ordering::Release);
    }

    /// Whether the connection has joined.
    #[must_use]
    pub fn is_joined(&self) -> bool {
        self.inner.joined.load(Ordering::Acquire)
    }

    /// Completes once [`Link::disconnect`] has been called (a permit is stored if nobody waits).
    pub async fn closed(&self) {
        if !self.is_closing() {
            self.inner.close.notified().await;
        }
    }
}

/// A place kept in a connection's queue for an answer; given up when dropped unfilled.
pub struct ReplyPlace {
    link: Link,
    filled: bool,
}

impl Drop for ReplyPlace {
    fn drop(&mut self) {
        if !self.filled {
            self.link.queue().give_up_place();
        }
    }
}

/// How a request that asked for an answer gets it: an ack packet (`43<id>[…]`).
pub struct Responder {
    link: Link,
    id: u64,
}

impl Responder {
    /// The answer to request `id` goes to `link`.
    #[must_use]
    pub fn new(link: Link, id: u64) -> Self {
        Self { link, id }
    }

    /// Sends the answer (`json`, already encoded) in its kept `place`, or at the end of the
    /// queue. An answer without a place that finds the queue full cuts the connection off: its
    /// client resends under the same `clientId` and is answered again.
    ///
    /// # Errors
    /// When the answer cannot be queued.
    pub fn send_json(self, json: &str, place: Option<ReplyPlace>) -> Result<(), SendFailure> {
        let packet = Bytes::from(format!("43{}[{json}]", self.id));
        if let Some(mut place) = place {
            place.filled = true;
            self.link.queue().fill_place(packet)
        } else {
            let result = self.link.send_packet(packet);
            if result == Err(SendFailure::Full) {
                self.link.disconnect();
            }
            result
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    #[test]
    fn an_encoded_event_is_one_socket_io_packet() {
        let encoded = Encoded::new(&ServerEvent::UserJoined {
            username: "hé \"x\"".into(),
            guest: false,
        })
        .expect("encodes");
        let frame = std::str::from_utf8(encoded.frame()).expect("utf-8");
        assert_eq!(frame, r#"42["user-joined","hé \"x\""]"#);
        let packet = charla_protocol::SocketPacket::decode(&frame[1..]).expect("decodes");
        assert!(packet.event_parts().is_some());
    }

    #[test]
    fn session_ids_round_trip_and_differ() {
        let a = Sid::new();
        assert_eq!(Sid::parse(&a.to_string()), Some(a));
        assert_eq!(a.to_string().len(), 22);
        assert_ne!(a, Sid::new());
        assert_eq!(Sid::parse("short"), None);
    }

    #[tokio::test]
    async fn a_full_queue_is_reported_and_acks_cut_the_link() {
        let link = Link::new(Sid::new(), Ipv4Addr::LOCALHOST.into(), 48);
        let encoded = Encoded::new(&ServerEvent::UserLeft("x".into())).expect("encodes");
        assert_eq!(link.send(&encoded), Ok(()));
        assert_eq!(link.send(&encoded), Ok(()));
        assert_eq!(link.send(&encoded), Err(SendFailure::Full));
        let ack = Responder::new(link.clone(), 7);
        assert_eq!(
            ack.send_json(r#"{"ok":true}"#, None),
            Err(SendFailure::Full)
        );
        tokio::time::timeout(std::time::Duration::from_secs(1), link.closed())
            .await
            .expect("close requested");
        let batch = link.queue().take(usize::MAX, usize::MAX).await;
        assert_eq!(batch.len(), 2, "the queued frames are intact");
    }
}
