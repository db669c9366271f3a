//! One Engine.IO / Socket.IO session, whichever carrier brings its frames: the handshake, the
//! heartbeat, the namespace, the deadlines, and what each client frame means.
//!
//! A session task ([`run`]) owns the clock: it queues a ping every `pingInterval` and ends the
//! session when the pong is not back within `pingTimeout` — whatever the carrier's write side
//! is doing, so a client that stopped reading cannot keep a session alive — and it ends
//! sessions that never join. Carriers feed client frames to [`Session::receive`] and drain the
//! session's [`Link`] queue; when anything ends the session ([`Session::finish`]), the queue is
//! closed with a farewell, the room forgets the link, and every carrier stops.

use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use bytes::Bytes;
use charla_protocol::chat::{Refusal, INVALID_TOKEN};
use charla_protocol::inbound::{Frame, InboundSession, Verdict};
use charla_protocol::socketio::{EventName, SocketKind, SocketPacket};
use charla_protocol::OpenPayload;
use serde_json::Value as Json;
use tokio::sync::{watch, Notify};
use tokio::time::{sleep_until, Instant};

use tokio_util::task::TaskTracker;

use super::registry::{Admitted, Sessions};
use super::{Application, Link, Responder, Sid};
use crate::config::ServerConfig;
use crate::throttle::Throttle;

/// What every session shares.
pub struct Context {
    pub(crate) app: Arc<dyn Application>,
    pub(crate) config: Arc<ServerConfig>,
    pub(crate) shutdown: watch::Receiver<bool>,
    pub(crate) sessions: Sessions<Session>,
    /// Session and carrier tasks, so shutdown can wait for their farewells.
    pub(crate) tasks: TaskTracker,
    /// Log lines for sessions the server ended, by reason.
    pub(crate) closures: ClosureLogs,
}

/// One throttle per way the server ends a session, so that a flood of one kind (clients that
/// never join, say) neither fills the log nor hides the others.
#[derive(Default)]
pub struct ClosureLogs {
    pub(crate) ping_timeouts: Throttle,
    pub(crate) never_joined: Throttle,
    pub(crate) stalled_writes: Throttle,
    pub(crate) cuts: Throttle,
}

impl Context {
    /// Sessions hand their events to `app`, run under `tasks`, and end when `shutdown` turns
    /// true.
    #[must_use]
    pub fn new(
        app: Arc<dyn Application>,
        config: Arc<ServerConfig>,
        shutdown: watch::Receiver<bool>,
        tasks: TaskTracker,
    ) -> Self {
        let sessions = Sessions::new(config.max_connections, config.max_connections_per_address);
        Self {
            app,
            config,
            shutdown,
            sessions,
            tasks,
            closures: ClosureLogs::default(),
        }
    }
}

impl Context {
    /// Open sessions carried by a WebSocket, and by long-polling (upgrading ones included).
    #[must_use]
    pub fn sessions_by_carrier(&self) -> (usize, usize) {
        let all = self.sessions.all();
        let websocket = all
            .iter()
            .filter(|s| s.carrier() == Carrier::WebSocket)
            .count();
        (websocket, all.len() - websocket)
    }
}

/// Namespaces a client may ask for and be refused before the connection is closed.
const MAX_REFUSED_CONNECTS: u8 = 3;

/// How a session ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum End {
    /// The client closed it (Engine.IO `1`, Socket.IO `41`, a WebSocket close, EOF).
    ClientLeft,
    /// The client broke the protocol, or its connection failed.
    ClientBroke(String),
    /// The room cut it: its queue was full.
    Cut,
    /// No pong within `pingTimeout` of a ping.
    PingTimeout,
    /// No `join` within the join timeout.
    NeverJoined,
    /// A write did not complete within its deadline.
    WriteStalled,
    /// The server is shutting down.
    Shutdown,
}

impl End {
    /// Whether the server, not the client, ended it (the client is told with `41`).
    fn by_server(&self) -> bool {
        matches!(self, Self::Cut | Self::Shutdown | Self::NeverJoined)
    }
}

/// What carries the session's frames now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Carrier {
    /// HTTP long-polling.
    Polling = 0,
    /// Polling, with a WebSocket upgrade under way.
    Upgrading = 1,
    /// A WebSocket.
    WebSocket = 2,
}

/// One session. Shared (`Arc`) by its task and its carriers.
pub struct Session {
    link: Link,
    /// Counted against the session limits until dropped.
    _admitted: Admitted,
    ctx: Arc<Context>,
    core: Mutex<Core>,
    awaiting_pong: AtomicBool,
    carrier: AtomicU8,
    end: Mutex<Option<End>>,
    over: watch::Sender<bool>,
    /// Polling: a `GET` is being answered.
    pub(crate) polling_get: AtomicBool,
    /// Polling: a `POST` is being read.
    pub(crate) polling_post: AtomicBool,
    /// Wakes a pending polling `GET` so it answers `6` (the client is upgrading).
    pub(crate) upgrade_started: Notify,
    /// The client left the main namespace (`41`): the join deadline starts again.
    namespace_left: Notify,
}

struct Core {
    inbound: InboundSession,
    /// Joined the main namespace (`40` accepted).
    connected: bool,
    refused_connects: u8,
}

impl Session {
    /// A new session from `peer`, carried by `carrier`, whose frames queue in `link`.
    #[must_use]
    pub fn new(ctx: Arc<Context>, admitted: Admitted, link: Link, carrier: Carrier) -> Arc<Self> {
        Arc::new(Self {
            link,
            _admitted: admitted,
            ctx,
            core: Mutex::new(Core {
                inbound: InboundSession::new(),
                connected: false,
                refused_connects: 0,
            }),
            awaiting_pong: AtomicBool::new(false),
            carrier: AtomicU8::new(carrier as u8),
            end: Mutex::new(None),
            over: watch::channel(false).0,
            polling_get: AtomicBool::new(false),
            polling_post: AtomicBool::new(false),
            upgrade_started: Notify::new(),
            namespace_left: Notify::new(),
        })
    }

    /// The session's id.
    #[must_use]
    pub fn id(&self) -> Sid {
        self.link.id()
    }

    /// The session's link (its outgoing queue).
    #[must_use]
    pub fn link(&self) -> &Link {
        &self.link
    }

    /// The server's settings.
    #[must_use]
    pub fn config(&self) -> &crate::config::ServerConfig {
        &self.ctx.config
    }

    /// The tasks shutdown waits for.
    #[must_use]
    pub fn tasks(&self) -> &tokio_util::task::TaskTracker {
        &self.ctx.tasks
    }

    /// What carries it now.
    #[must_use]
    pub fn carrier(&self) -> Carrier {
        match self.carrier.load(Ordering::Acquire) {
            0 => Carrier::Polling,
            1 => Carrier::Upgrading,
            _ => Carrier::WebSocket,
        }
    }

    /// Moves from `from` to `to`; false when the session was not carried by `from`.
    pub fn switch_carrier(&self, from: Carrier, to: Carrier) -> bool {
        self.carrier
            .compare_exchange(from as u8, to as u8, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    }

    /// The Engine.IO open packet for this session.
    #[must_use]
    pub fn open_packet(&self, upgrades: &[&str]) -> Bytes {
        let config = &self.ctx.config;
        let open = OpenPayload {
            sid: self.id().to_string(),
            upgrades: upgrades.iter().map(|u| (*u).to_owned()).collect(),
            ping_interval: millis(config.ping_interval),
            ping_timeout: millis(config.ping_timeout),
            max_payload: config.max_frame_bytes() as u64,
        };
        // Serializing a struct of strings and numbers cannot fail.
        let body = serde_json::to_string(&open).unwrap_or_default();
        Bytes::from(format!("0{body}"))
    }

    fn core(&self) -> MutexGuard<'_, Core> {
        // A panic in a handler leaves nothing here half-updated that matters more than the
        // session going on.
        self.core
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Ends the session (the first reason given wins). Idempotent.
    pub fn finish(&self, reason: End) {
        {
            let mut end = self
                .end
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if end.is_none() {
                *end = Some(reason);
            }
        }
        self.link.disconnect();
    }

    /// Whether the session has ended (or is ending).
    #[must_use]
    pub fn is_over(&self) -> bool {
        *self.over.borrow()
    }

    /// Completes once the session is over.
    pub async fn until_over(&self) {
        let mut over = self.over.subscribe();
        // `wait_for` checks the current value first; an error means the sender is gone,
        // which is the session gone too.
        let _ = over.wait_for(|over| *over).await;
    }

    /// Acts on one frame from the client.
    ///
    /// # Errors
    /// How the session must end, when the frame ends it.
    pub fn receive(&self, frame: Frame<'_>) -> Result<(), End> {
        if let Frame::Text(text) = frame {
            match text {
                "3" => {
                    self.awaiting_pong.store(false, Ordering::Release);
                    return Ok(());
                }
                // Engine.IO close: the session ends (both transports).
                "1" => return Err(End::ClientLeft),
                // An open or upgrade packet has no business here (the WebSocket carrier takes
                // `5` itself while upgrading); Node ignores them, socketioxide closes, and so
                // does this server.
                _ if text.starts_with('0') || text.starts_with('5') => {
                    return Err(End::ClientBroke(
                        "open or upgrade packet from a client".into(),
                    ))
                }
                _ => {}
            }
        }
        let mut core = self.core();
        match core.inbound.classify(frame) {
            Verdict::Dispatch(packet) => self.dispatch(&mut core, packet),
            Verdict::Ignore | Verdict::AwaitAttachments(_) => Ok(()),
            Verdict::Close(reason) => Err(End::ClientBroke(format!("{reason:?}"))),
        }
    }

    fn dispatch(&self, core: &mut Core, packet: SocketPacket) -> Result<(), End> {
        match packet.kind {
            SocketKind::Connect => self.connect(core, &packet.namespace, packet.data.as_ref()),
            // Leaving the main namespace leaves the chat, not the Engine.IO session: it stays,
            // with its heartbeat, and may connect (`40`) again, as with the reference server
            // (socket.io-client closes the session itself right after). Until it does, the
            // join deadline holds it again.
            SocketKind::Disconnect => {
                if core.connected {
                    core.connected = false;
                    self.ctx.app.left(self.id());
                    // A session that had joined gets a join deadline again; one that never
                    // did keeps its first (cycling `40`/`41` does not put it off).
                    if self.link.is_joined() {
                        self.link.unmark_joined();
                        self.namespace_left.notify_one();
                    }
                }
                Ok(())
            }
            _ if !core.connected => Err(End::ClientBroke("not connected".into())),
            SocketKind::Event | SocketKind::BinaryEvent => {
                let ack = packet
                    .ack_id
                    .map(|id| Responder::new(self.link.clone(), id));
                match packet.event_parts() {
                    _ if packet.kind == SocketKind::BinaryEvent => self.ctx.app.refuse(
                        &self.link,
                        ack,
                        Refusal::invalid_payload("binary events are not supported"),
                    ),
                    Some((EventName::Text(name), args)) => {
                        self.ctx.app.event(&self.link, name, args, ack);
                    }
                    // Node ignores a numeric event name; socketioxide closes the connection,
                    // and so does this server.
                    Some((EventName::Number(_), _)) | None => {
                        return Err(End::ClientBroke("numeric event name".into()));
                    }
                }
                Ok(())
            }
            // Acks from the client answer nothing this server asks.
            SocketKind::Ack | SocketKind::BinaryAck | SocketKind::ConnectError => Ok(()),
        }
    }

    /// Answers a `40`: accepted (`40{"sid":…}`), or refused (`44…`) for another namespace or a
    /// wrong token. Refused namespaces are not remembered, and a client refused too often is
    /// disconnected.
    fn connect(&self, core: &mut Core, namespace: &str, auth: Option<&Json>) -> Result<(), End> {
        let (reply, accepted) = if namespace != "/" {
            (
                format!("44{namespace},{{\"message\":\"Invalid namespace\"}}"),
                false,
            )
        } else if !self.token_ok(auth) {
            tracing::info!(sid = %self.id(), "refused a connection with a wrong or missing token");
            (format!("44{{\"message\":\"{INVALID_TOKEN}\"}}"), false)
        } else {
            core.connected = true;
            core.inbound.accept_namespace(namespace);
            (format!("40{{\"sid\":\"{}\"}}", self.id()), true)
        };
        if !accepted {
            core.refused_connects += 1;
            if core.refused_connects > MAX_REFUSED_CONNECTS {
                return Err(End::ClientBroke(
                    "too many refused namespace connects".into(),
                ));
            }
        }
        // Queued before the room knows the link, so it precedes every broadcast.
        match self.link.send_packet(Bytes::from(reply)) {
            Ok(()) if accepted => self.ctx.app.connected(&self.link),
            Ok(()) => {}
            // A client that does not read its refusals is of no use to keep.
            Err(e) => return Err(End::ClientBroke(format!("could not answer a connect: {e}"))),
        }
        Ok(())
    }

    fn token_ok(&self, auth: Option<&Json>) -> bool {
        match &self.ctx.config.token {
            None => true,
            Some(expected) => {
                auth.and_then(|a| a.get("token")).and_then(Json::as_str) == Some(expected.as_str())
            }
        }
    }
}

/// Runs the session's clock until it ends, then cleans up: closes the queue with a farewell,
/// takes the link out of the room and the session out of the registry.
pub async fn run(session: Arc<Session>) {
    let config = session.ctx.config.clone();
    let mut shutdown = session.ctx.shutdown.clone();
    let started = Instant::now();
    let mut next_ping = started + config.ping_interval;
    let mut pong_due: Option<Instant> = None;
    let mut join_due = started + config.join_timeout;
    let mut join_checked = false;
    let reason = loop {
        tokio::select! {
            () = session.link.closed() => {
                break session.end.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone().unwrap_or(End::Cut);
            }
            changed = shutdown.changed() => {
                if changed.is_err() || *shutdown.borrow() {
                    break End::Shutdown;
                }
            }
            () = sleep_until(next_ping), if pong_due.is_none() => {
                next_ping += config.ping_interval;
                session.awaiting_pong.store(true, Ordering::Release);
                // A queue too full for a ping belongs to a client the room is cutting; the
                // deadline below ends it either way.
                let _ = session.link.send_packet(Bytes::from_static(b"2"));
                pong_due = Some(Instant::now() + config.ping_timeout);
            }
            () = sleep_until(pong_due.unwrap_or(started)), if pong_due.is_some() => {
                if session.awaiting_pong.load(Ordering::Acquire) {
                    break End::PingTimeout;
                }
                pong_due = None;
            }
            () = sleep_until(join_due), if !join_checked => {
                if !session.link.is_joined() {
                    break End::NeverJoined;
                }
                join_checked = true;
            }
            () = session.namespace_left.notified() => {
                join_due = Instant::now() + config.join_timeout;
                join_checked = false;
            }
        }
    };
    close(&session, reason);
}

fn close(session: &Arc<Session>, reason: End) {
    let connected = session.core().connected;
    let mut farewell = Vec::new();
    if connected && reason.by_server() {
        farewell.push(Bytes::from_static(b"41"));
    }
    if session.carrier() != Carrier::WebSocket {
        // A pending poll learns the session is over: `6` when the client closed it (as Node
        // answers), `1` otherwise.
        farewell.push(Bytes::from_static(if reason == End::ClientLeft {
            b"6"
        } else {
            b"1"
        }));
    }
    session.link.queue().close_with(farewell);
    if connected {
        session.ctx.app.left(session.id());
    }
    session.ctx.sessions.remove(session.id());
    tracing::trace!(sid = %session.id(), "session removed");
    let _ = session.over.send(true);
    match &reason {
        End::ClientLeft | End::Shutdown => {
            tracing::debug!(sid = %session.id(), reason = ?reason, "session closed");
        }
        End::ClientBroke(why) => {
            tracing::debug!(sid = %session.id(), why, "session closed: client error");
        }
        // What a flood of peers can cause is logged at most every ten seconds per kind.
        End::PingTimeout | End::NeverJoined | End::WriteStalled | End::Cut => {
            let logs = &session.ctx.closures;
            let throttle = match reason {
                End::PingTimeout => &logs.ping_timeouts,
                End::NeverJoined => &logs.never_joined,
                End::WriteStalled => &logs.stalled_writes,
                _ => &logs.cuts,
            };
            throttle.warn(|suppressed| {
                tracing::info!(sid = %session.id(), peer = %session.link.peer(), reason = ?reason, suppressed, "session closed");
            });
        }
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}
