//! The one task that owns the connection: connects, joins, keeps the heartbeat, sends the
//! outbox, matches acks, reconnects with backoff, and reports everything as [`ClientEvent`]s.
//!
//! # Order and refusals that mean *later*
//!
//! Charla's server gives `seq`s in arrival order, and may refuse any message for now
//! (`rate_limited`, `unavailable`). If several messages were in flight when one was refused,
//! a later one could still be accepted (a token comes back in the bucket between the two), and
//! the refused one, sent again, would land after it: the sender's order broken, for good. So on a
//! server that acks, a message goes only once the previous one's ack is in: at most one is in
//! flight, and a refused one is the next to go again. After a refusal that means *later*,
//! nothing goes until the server's `retryAfterMs` (capped, with a little jitter; a second when it
//! gives none) has passed. The cost is one round trip per message when many are queued, which on
//! a rate-limited server is below the rate anyway. The tutorial's server never acks nor refuses:
//! there everything pending goes at once, as before.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use charla_protocol::chat::{
    parse_ack, ChatMessage, ClientRequest, DeviceForgotten, DeviceLink, ErrorCode, HistoryPage,
    HistoryRequest, JoinAck, JoinRequest, OutgoingMessage, Refusal, RoomEntered, RoomJoin,
    RoomReplay, SendAck, ServerEvent, INVALID_TOKEN, MAX_HISTORY_PAGE,
};
use charla_protocol::{EnginePacket, EventName, SocketKind, SocketPacket};
use futures_util::StreamExt;
use rand::Rng;
use serde_json::Value;
use tokio::sync::{mpsc, oneshot};
use tokio::time::{sleep_until, Instant};
use tokio_tungstenite::tungstenite::Message;

use crate::backoff::Backoff;
use crate::error::{Error, Result};
use crate::options::ClientOptions;
use crate::outbox::{Outbox, OutboxEntry};
use crate::report::{ClientEvent, ConnectionStatus, DisconnectReason};
use crate::transport::{self, ConnectError, Ws};

/// What the handle asks of the task.
pub(crate) enum Command {
    Send(String, Option<String>, oneshot::Sender<Result<OutboxEntry>>),
    Retry(String, oneshot::Sender<Result<()>>),
    Discard(String, oneshot::Sender<Result<()>>),
    Typing(Option<String>, bool),
    /// A request whose answer goes back as it came (rooms, DMs, pages, markers, search).
    Ask(ClientRequest, oneshot::Sender<Result<Value>>),
    LinkCode(oneshot::Sender<Result<DeviceLink>>),
    ForgetDevice(oneshot::Sender<Result<DeviceForgotten>>),
    ReconnectNow,
    Disconnect(oneshot::Sender<()>),
}

/// The wait after a refusal that means *later* when the server gives no `retryAfterMs`.
const DEFAULT_RETRY_WAIT: Duration = Duration::from_secs(1);
/// The longest wait a server's hint may impose; a longer one is taken as this.
const MAX_RETRY_WAIT: Duration = Duration::from_secs(60);
/// The shortest wait, so that a hint of 0 cannot make a tight loop of refusals.
const MIN_RETRY_WAIT: Duration = Duration::from_millis(10);

/// How long to hold the outbox after a refusal that means *later*: the server's hint (or
/// [`DEFAULT_RETRY_WAIT`]) kept within bounds, plus up to 10 % so that clients refused together
/// do not come back together. `draw` is uniform in `[0, 1)`.
fn retry_wait(retry_after_ms: Option<u64>, draw: f64) -> Duration {
    let hint = retry_after_ms
        .map_or(DEFAULT_RETRY_WAIT, Duration::from_millis)
        .clamp(MIN_RETRY_WAIT, MAX_RETRY_WAIT);
    hint + hint.mul_f64(0.1 * draw.clamp(0.0, 1.0))
}

enum Ending {
    /// The link broke: reconnect after a delay.
    Lost(String),
    /// Refused in a way retrying won't fix: wait for `reconnect_now`.
    Refused {
        reason: String,
        cause: DisconnectReason,
    },
    /// `disconnect()` or every handle dropped.
    Stopped,
}

enum Pending {
    Join,
    Chat(String),
    History,
    LinkCode(oneshot::Sender<Result<DeviceLink>>),
    ForgetDevice(oneshot::Sender<Result<DeviceForgotten>>),
    /// A [`Command::Ask`]: what was asked (to learn from its answer), and where the answer goes.
    Asked(ClientRequest, oneshot::Sender<Result<Value>>),
}

/// Pages of history fetched at most while catching up after a reconnect; what lies beyond is
/// reported as a gap of messages not loaded (they stay on the server).
const MAX_CATCH_UP_PAGES: usize = 200;

/// A join answered with only the newest part of what was missed: older pages are being
/// fetched, back to `since`, before the join is reported.
struct CatchUp {
    ack: JoinAck,
    since: u64,
    /// Older messages fetched so far, oldest first.
    older: Vec<ChatMessage>,
    pages: usize,
}

pub(crate) struct Actor {
    options: ClientOptions,
    commands: mpsc::UnboundedReceiver<Command>,
    events: mpsc::UnboundedSender<ClientEvent>,
    outbox: Outbox,
    backoff: Backoff,
    /// The server's addresses (one, or each node of a cluster) and the one tried now.
    addresses: Vec<String>,
    address: usize,
    /// Connections lost or refused in a row since the last join: once every address has
    /// failed once, the next try waits for the backoff.
    failures_in_row: usize,
    /// The highest `seq` of `general` reported, in `epoch`'s numbering.
    last_seq: u64,
    /// The highest `seq` reported of each other room (rooms with nothing reported are not
    /// here): what a join asks the server to replay after.
    room_seqs: BTreeMap<String, u64>,
    /// The server's history epoch `last_seq` belongs to (from the last join ack).
    epoch: Option<String>,
    /// After a refusal that means *later*: nothing is sent before this (see the module's doc).
    /// Kept across reconnects, since the server's limit may outlive one connection.
    resend_at: Option<Instant>,
}

/// The state of one connection.
struct Session {
    ws: Ws,
    joined: bool,
    compat: bool,
    next_ack: u64,
    acks: HashMap<u64, (Pending, Instant)>,
    /// Messages that arrived before the join was answered, reported right after the join's
    /// history: reporting one of these first would advance `last_seq` past the history and hide
    /// it. Charla's history usually holds them already (then they are no-ops); the tutorial's
    /// server has no history, and these are all there is of the seconds before the join timed
    /// out.
    early: Vec<ChatMessage>,
    /// The join was answered (the tutorial's server never answers it).
    join_answered: bool,
    catch_up: Option<CatchUp>,
}

impl Actor {
    pub(crate) fn new(
        options: ClientOptions,
        commands: mpsc::UnboundedReceiver<Command>,
        events: mpsc::UnboundedSender<ClientEvent>,
    ) -> Self {
        let outbox = Outbox::load(&options.outbox_path);
        Self {
            backoff: options.backoff.clone(),
            addresses: crate::url::addresses(&options.server_url)
                .map(str::to_owned)
                .collect(),
            address: 0,
            failures_in_row: 0,
            options,
            commands,
            events,
            outbox,
            last_seq: 0,
            room_seqs: BTreeMap::new(),
            epoch: None,
            resend_at: None,
        }
    }

    fn emit(&self, event: ClientEvent) {
        // The owner stopped listening; the connection keeps its promises regardless.
        let _ = self.events.send(event);
    }

    fn emit_outbox(&self) {
        self.emit(ClientEvent::Outbox {
            entries: self.outbox.entries().to_vec(),
        });
    }

    pub(crate) async fn run(mut self) {
        self.emit_outbox();
        self.emit(ClientEvent::Status(ConnectionStatus::Connecting));
        loop {
            let ending = self.connect_once().await;
            self.outbox.unsend_all();
            match ending {
                Ending::Stopped => return self.stopped(),
                Ending::Lost(reason) => {
                    let delay = self.next_address_delay();
                    tracing::info!(%reason, delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX), "connection lost; reconnecting");
                    self.emit(ClientEvent::Status(ConnectionStatus::Reconnecting {
                        attempt: u32::try_from(self.failures_in_row).unwrap_or(u32::MAX),
                        delay,
                        reason,
                    }));
                    if !self.wait(Some(Instant::now() + delay)).await {
                        return self.stopped();
                    }
                }
                Ending::Refused {
                    reason,
                    cause: DisconnectReason::ConnectRefused,
                } if self.another_address_untried() => {
                    tracing::warn!(%reason, "refused by this node; trying the next");
                    self.next_address_delay();
                }
                Ending::Refused { reason, cause } => {
                    tracing::warn!(%reason, "refused by the server; waiting for a retry");
                    self.emit(ClientEvent::Status(ConnectionStatus::Disconnected {
                        reason,
                        cause,
                    }));
                    if !self.wait(None).await {
                        return self.stopped();
                    }
                    self.backoff.reset();
                    self.failures_in_row = 0;
                }
            }
            self.emit(ClientEvent::Status(ConnectionStatus::Connecting));
        }
    }

    /// Moves to the next address and says how long to wait before trying it: at once while
    /// some address has not failed since the last join (a node is down, another may be up),
    /// the backoff's delay once all have.
    fn next_address_delay(&mut self) -> Duration {
        self.failures_in_row = self.failures_in_row.saturating_add(1);
        if self.addresses.len() > 1 {
            self.address = (self.address + 1) % self.addresses.len();
            tracing::info!(address = %self.addresses[self.address], "trying the next address");
            if self.failures_in_row % self.addresses.len() != 0 {
                return Duration::ZERO;
            }
        }
        self.backoff.next_delay()
    }

    /// Whether some address has not failed since the last join.
    fn another_address_untried(&self) -> bool {
        self.failures_in_row + 1 < self.addresses.len()
    }

    fn stopped(&self) {
        self.emit(ClientEvent::Status(ConnectionStatus::Disconnected {
            reason: "disconnected".into(),
            cause: DisconnectReason::Stopped,
        }));
    }

    /// Waits until `until` (or forever) while serving commands offline. `false` means stop.
    async fn wait(&mut self, until: Option<Instant>) -> bool {
        loop {
            let command = match until {
                Some(at) => tokio::select! {
                    command = self.commands.recv() => command,
                    () = sleep_until(at) => return true,
                },
                None => self.commands.recv().await,
            };
            match command {
                None => return false,
                Some(Command::Disconnect(done)) => {
                    let _ = done.send(());
                    return false;
                }
                Some(Command::ReconnectNow) => return true,
                Some(other) => self.offline_command(other),
            }
        }
    }

    fn offline_command(&mut self, command: Command) {
        match command {
            Command::Send(text, room, reply) => {
                let _ = reply.send(self.accept(text, room));
            }
            Command::Ask(_, reply) => {
                let _ = reply.send(Err(Error::Offline));
            }
            Command::Retry(id, reply) => {
                let result = self.outbox.retry(&id);
                self.emit_outbox();
                let _ = reply.send(result);
            }
            Command::Discard(id, reply) => {
                let result = self.outbox.discard(&id);
                self.emit_outbox();
                let _ = reply.send(result);
            }
            Command::LinkCode(reply) => {
                let _ = reply.send(Err(Error::Offline));
            }
            Command::ForgetDevice(reply) => {
                let _ = reply.send(Err(Error::Offline));
            }
            Command::Typing(..) | Command::ReconnectNow | Command::Disconnect(_) => {}
        }
    }

    fn accept(&mut self, text: String, room: Option<String>) -> Result<OutboxEntry> {
        if text.trim().is_empty() {
            return Err(Error::EmptyMessage);
        }
        let entry = self.outbox.add(text, room)?;
        self.emit_outbox();
        Ok(entry)
    }

    async fn connect_once(&mut self) -> Ending {
        let address = self.addresses.get(self.address).map_or("", String::as_str);
        let (ws, open) = match transport::connect(
            address,
            self.options.token.as_deref(),
            self.options.connect_timeout,
        )
        .await
        {
            Ok(connected) => connected,
            Err(ConnectError::Transient(reason)) => return Ending::Lost(reason),
            Err(ConnectError::Refused(reason)) => {
                return Ending::Refused {
                    reason,
                    cause: DisconnectReason::ConnectRefused,
                }
            }
            Err(ConnectError::InvalidToken) => {
                return Ending::Refused {
                    reason: INVALID_TOKEN.to_owned(),
                    cause: DisconnectReason::InvalidToken,
                }
            }
        };
        let heartbeat = Duration::from_millis(open.ping_interval + open.ping_timeout);
        let mut session = Session {
            ws,
            joined: false,
            compat: false,
            next_ack: 0,
            acks: HashMap::new(),
            early: Vec::new(),
            join_answered: false,
            catch_up: None,
        };
        // The tutorial's server ignores `since`; Charla's replays what came after it, in the
        // numbering of `epoch`.
        let join = ClientRequest::Join(JoinRequest {
            username: self.options.username.clone(),
            since: Some(self.last_seq),
            epoch: self.epoch.clone(),
            key: self.options.device_key.clone(),
            link: self.options.link_code.clone(),
            rooms: self.room_seqs.clone(),
        });
        if let Err(e) = session.emit(&join, Some(Pending::Join)).await {
            return e;
        }
        let join_deadline = Instant::now() + self.options.join_timeout;
        let mut alive_until = Instant::now() + heartbeat;
        loop {
            let ack_deadline = session
                .acks
                .values()
                .map(|(_, at)| *at + self.options.ack_timeout)
                .min();
            tokio::select! {
                frame = session.ws.next() => {
                    alive_until = Instant::now() + heartbeat;
                    let text = match frame {
                        Some(Ok(Message::Text(text))) => text,
                        Some(Ok(Message::Close(_))) | None => return Ending::Lost("the server closed the connection".into()),
                        Some(Err(e)) => {
                            tracing::debug!(error = %e, "read failed");
                            return Ending::Lost("the connection was lost".into());
                        }
                        Some(Ok(_)) => continue,
                    };
                    if let Some(ending) = self.on_frame(&mut session, &text).await {
                        return ending;
                    }
                }
                command = self.commands.recv() => {
                    if let Some(ending) = self.on_command(&mut session, command).await {
                        return ending;
                    }
                }
                () = sleep_until(alive_until) => return Ending::Lost("no heartbeat from the server".into()),
                () = sleep_until(join_deadline), if !session.joined && !session.join_answered => {
                    // The tutorial's server never acks: chat without Charla's additions.
                    tracing::info!("no join ack; the server is the tutorial's (compatibility mode)");
                    session.acks.clear();
                    session.compat = true;
                    let presence = JoinAck {
                        ok: true,
                        username: self.options.username.clone(),
                        users: Vec::new(),
                        history: Vec::new(),
                        epoch: None,
                        more: false,
                        gap: None,
                        owned: false,
                        rooms: Vec::new(),
                        replay: BTreeMap::new(),
                    };
                    if let Some(ending) = self.on_joined(&mut session, presence, Vec::new()).await {
                        return ending;
                    }
                }
                () = sleep_until(ack_deadline.unwrap_or(alive_until)), if ack_deadline.is_some() => {
                    return Ending::Lost("the server stopped answering".into());
                }
                () = sleep_until(self.resend_at.unwrap_or(alive_until)), if self.resend_at.is_some() && session.joined => {
                    if let Some(ending) = self.flush(&mut session, false).await {
                        return ending;
                    }
                }
            }
        }
    }

    /// Reports a join: `presence` is the ack's (its history is in `history`), then its rooms
    /// and what it replayed of them.
    async fn on_joined(
        &mut self,
        session: &mut Session,
        mut presence: JoinAck,
        history: Vec<ChatMessage>,
    ) -> Option<Ending> {
        session.joined = true;
        self.backoff.reset();
        self.failures_in_row = 0;
        if presence.owned && self.options.link_code.take().is_some() {
            tracing::info!("this device is linked to the name; its key proves it from now on");
        }
        let fresh: Vec<ChatMessage> = history.into_iter().filter(|m| self.is_new(m)).collect();
        self.emit(ClientEvent::Status(ConnectionStatus::Connected {
            compat: session.compat,
        }));
        let rooms = std::mem::take(&mut presence.rooms);
        let replay = std::mem::take(&mut presence.replay);
        self.emit(ClientEvent::Joined {
            username: presence.username,
            users: presence.users,
            owned: presence.owned,
            history: fresh,
        });
        if !rooms.is_empty() {
            // Rooms this name left (on another device, while this one was away) are no longer
            // asked for.
            self.room_seqs
                .retain(|name, _| rooms.iter().any(|r| &r.room == name));
            self.emit(ClientEvent::Rooms { rooms });
        }
        for (room, replayed) in replay {
            self.report_replay(&room, replayed);
        }
        for message in std::mem::take(&mut session.early) {
            self.on_message(session, message);
        }
        self.flush(session, false).await
    }

    /// Whether a message has not been reported yet; records it as reported. Messages without
    /// a `seq` come from the tutorial's server, which never sends one twice (and whose ids are
    /// not unique: two messages in one millisecond share one). Each room counts on its own.
    fn is_new(&mut self, message: &ChatMessage) -> bool {
        let last = match &message.room {
            None => &mut self.last_seq,
            Some(room) => self.room_seqs.entry(room.clone()).or_insert(0),
        };
        match message.seq {
            Some(seq) if seq <= *last => false,
            Some(seq) => {
                *last = seq;
                true
            }
            None => true,
        }
    }

    /// Reports what the server replayed of a room (after a join, or on entering it): the gap
    /// it no longer keeps, the messages it left out for size (still kept: paged on demand),
    /// then the new messages.
    fn report_replay(&mut self, room: &str, replay: RoomReplay) {
        let since = self.room_seqs.get(room).copied().unwrap_or(0);
        if let Some(gap) = replay.gap {
            self.emit(ClientEvent::Gap {
                room: Some(room.to_owned()),
                from: gap.from,
                to: gap.to,
                kept: false,
            });
        }
        let first = replay.messages.first().and_then(|m| m.seq);
        if let Some(first) = first.filter(|f| replay.more && *f > since + 1) {
            let from = replay.gap.map_or(since + 1, |gap| gap.to + 1);
            if from < first {
                self.emit(ClientEvent::Gap {
                    room: Some(room.to_owned()),
                    from,
                    to: first - 1,
                    kept: true,
                });
            }
        }
        for mut message in replay.messages {
            message.room = Some(room.to_owned());
            if self.is_new(&message) {
                self.emit(ClientEvent::Message(message));
            }
        }
    }

    /// A join was accepted: forget the old numbering if the server's history started over,
    /// report a gap the server names, and either report the join now or first fetch the older
    /// messages it left out (down to `since`).
    async fn on_join_ack(&mut self, session: &mut Session, ack: JoinAck) -> Option<Ending> {
        session.join_answered = true;
        let since = self.last_seq;
        let started_over = match (&self.epoch, &ack.epoch) {
            (Some(known), Some(now)) => known != now,
            _ => false,
        };
        if ack.epoch.is_some() {
            self.epoch.clone_from(&ack.epoch);
        }
        if started_over {
            tracing::info!("the server's history started over; forgetting what we knew");
            self.last_seq = 0;
            self.room_seqs.clear();
            self.emit(ClientEvent::HistoryReset);
            return self.finish_join(session, ack, Vec::new()).await;
        }
        if let Some(gap) = ack.gap {
            self.emit(ClientEvent::Gap {
                room: None,
                from: gap.from,
                to: gap.to,
                kept: false,
            });
        }
        if ack.more && since > 0 {
            session.catch_up = Some(CatchUp {
                ack,
                since,
                older: Vec::new(),
                pages: 0,
            });
            return self.next_page(session).await;
        }
        self.finish_join(session, ack, Vec::new()).await
    }

    /// Asks for the page before the oldest message of the catch-up so far.
    async fn next_page(&mut self, session: &mut Session) -> Option<Ending> {
        let catch_up = session.catch_up.as_ref()?;
        let before = catch_up
            .older
            .first()
            .or(catch_up.ack.history.first())
            .and_then(|m| m.seq)
            .unwrap_or(self.last_seq + 1);
        let request = ClientRequest::History(HistoryRequest {
            room: None,
            before,
            limit: MAX_HISTORY_PAGE,
        });
        session.emit(&request, Some(Pending::History)).await.err()
    }

    /// A page of the catch-up arrived: keep it and ask for the next, or report the join.
    async fn on_history(&mut self, session: &mut Session, reply: &Value) -> Option<Ending> {
        let mut catch_up = session.catch_up.take()?;
        let page = match parse_ack::<HistoryPage>(reply) {
            Ok(page) => page,
            Err(error) if error.is_transient() => {
                // Asked again after the wait the server gives (short: a busy reader).
                let wait = retry_wait(error.retry_after_ms, rand::rng().random());
                tokio::time::sleep(wait).await;
                session.catch_up = Some(catch_up);
                return self.next_page(session).await;
            }
            Err(error) => {
                tracing::warn!(code = ?error.code, message = %error.message, "history refused; reporting what came");
                let older = std::mem::take(&mut catch_up.older);
                self.report_not_loaded(&catch_up, &older);
                return self.finish_join(session, catch_up.ack, older).await;
            }
        };
        let since = catch_up.since;
        let reached = page
            .messages
            .first()
            .and_then(|m| m.seq)
            .is_none_or(|first| first <= since + 1);
        let mut older: Vec<ChatMessage> = page
            .messages
            .into_iter()
            .filter(|m| m.seq.is_some_and(|seq| seq > since))
            .collect();
        older.append(&mut catch_up.older);
        catch_up.older = older;
        catch_up.pages += 1;
        if reached || !page.more {
            let older = std::mem::take(&mut catch_up.older);
            return self.finish_join(session, catch_up.ack, older).await;
        }
        if catch_up.pages >= MAX_CATCH_UP_PAGES {
            let older = std::mem::take(&mut catch_up.older);
            self.report_not_loaded(&catch_up, &older);
            return self.finish_join(session, catch_up.ack, older).await;
        }
        session.catch_up = Some(catch_up);
        self.next_page(session).await
    }

    /// Says which missed messages were not fetched (they are still on the server).
    fn report_not_loaded(&self, catch_up: &CatchUp, older: &[ChatMessage]) {
        let first = older
            .first()
            .or(catch_up.ack.history.first())
            .and_then(|m| m.seq);
        if let Some(first) = first.filter(|f| *f > catch_up.since + 1) {
            self.emit(ClientEvent::Gap {
                room: None,
                from: catch_up.since + 1,
                to: first - 1,
                kept: true,
            });
        }
    }

    /// Reports the join with the history it brought, older pages first.
    async fn finish_join(
        &mut self,
        session: &mut Session,
        mut ack: JoinAck,
        mut older: Vec<ChatMessage>,
    ) -> Option<Ending> {
        older.append(&mut ack.history);
        self.on_joined(session, ack, older).await
    }

    /// Sends pending outbox entries, oldest first: on a server that acks, the next one only
    /// when no other awaits its ack, and none while a refusal's wait lasts (see the module's
    /// doc); on the tutorial's server, all of them. Reports the outbox when anything was sent or
    /// `changed` says the caller changed it.
    async fn flush(&mut self, session: &mut Session, changed: bool) -> Option<Ending> {
        let mut changed = changed;
        let held = self.resend_at.is_some_and(|at| at > Instant::now());
        if session.joined && !held {
            self.resend_at = None;
            while session.compat || !session.chat_in_flight() {
                let Some(entry) = self.outbox.pending().next().cloned() else {
                    break;
                };
                let message = ClientRequest::ChatMessage(OutgoingMessage {
                    username: Some(self.options.username.clone()),
                    text: entry.text.clone(),
                    client_id: Some(entry.client_id.clone()),
                    room: entry.room.clone(),
                });
                let expect = (!session.compat).then(|| Pending::Chat(entry.client_id.clone()));
                if let Err(e) = session.emit(&message, expect).await {
                    return Some(e);
                }
                self.outbox.mark_sent(&entry.client_id);
                changed = true;
            }
        }
        if changed {
            self.emit_outbox();
        }
        None
    }

    async fn on_command(
        &mut self,
        session: &mut Session,
        command: Option<Command>,
    ) -> Option<Ending> {
        match command {
            None => Some(Ending::Stopped),
            Some(Command::Disconnect(done)) => {
                let _ = transport::send_packet(
                    &mut session.ws,
                    &SocketPacket {
                        kind: SocketKind::Disconnect,
                        namespace: "/".into(),
                        ack_id: None,
                        attachments: 0,
                        data: None,
                    },
                )
                .await;
                let _ = session.ws.close(None).await;
                let _ = done.send(());
                Some(Ending::Stopped)
            }
            Some(Command::ReconnectNow) => None,
            Some(Command::LinkCode(reply)) if session.joined && !session.compat => {
                let request = ClientRequest::DeviceLink;
                session
                    .emit(&request, Some(Pending::LinkCode(reply)))
                    .await
                    .err()
            }
            Some(Command::ForgetDevice(reply)) if session.joined && !session.compat => {
                let request = ClientRequest::DeviceForget;
                session
                    .emit(&request, Some(Pending::ForgetDevice(reply)))
                    .await
                    .err()
            }
            Some(Command::Typing(room, typing)) => {
                if session.joined {
                    if let Err(e) = session
                        .emit(&ClientRequest::Typing { room, typing }, None)
                        .await
                    {
                        return Some(e);
                    }
                }
                None
            }
            Some(Command::Ask(mut request, reply)) if session.joined && !session.compat => {
                if let ClientRequest::RoomJoin(RoomJoin { room, since: None }) = &request {
                    // Only what this client has not reported yet.
                    let since = self.room_seqs.get(room).copied();
                    request = ClientRequest::RoomJoin(RoomJoin {
                        room: room.clone(),
                        since,
                    });
                }
                let pending = Pending::Asked(request.clone(), reply);
                session.emit(&request, Some(pending)).await.err()
            }
            Some(other) => {
                self.offline_command(other);
                self.flush(session, false).await
            }
        }
    }

    async fn on_frame(&mut self, session: &mut Session, text: &str) -> Option<Ending> {
        let packet = match EnginePacket::decode(text) {
            Ok(EnginePacket::Ping(body)) => {
                return transport::send(&mut session.ws, EnginePacket::Pong(body).encode())
                    .await
                    .err()
                    .map(|e| Ending::Lost(e.to_string()));
            }
            Ok(EnginePacket::Close) => {
                return Some(Ending::Lost("the server closed the session".into()))
            }
            Ok(EnginePacket::Message(body)) => {
                match SocketPacket::decode(&body).and_then(SocketPacket::require_text) {
                    Ok(packet) => packet,
                    Err(e) => {
                        tracing::warn!(error = %e, "ignoring a packet from the server");
                        return None;
                    }
                }
            }
            Ok(_) => return None,
            Err(e) => {
                tracing::warn!(error = %e, "ignoring a frame from the server");
                return None;
            }
        };
        match packet.kind {
            SocketKind::Event => self.on_event(session, &packet),
            SocketKind::Ack => {
                let id = packet.ack_id?;
                let (pending, _) = session.acks.remove(&id)?;
                let first = packet
                    .data
                    .as_ref()
                    .and_then(Value::as_array)
                    .and_then(|a| a.first())
                    .cloned()
                    .unwrap_or(Value::Null);
                self.on_ack(session, pending, &first).await
            }
            SocketKind::Disconnect => Some(Ending::Lost("the server disconnected us".into())),
            _ => None,
        }
    }

    async fn on_ack(
        &mut self,
        session: &mut Session,
        pending: Pending,
        reply: &Value,
    ) -> Option<Ending> {
        match pending {
            Pending::History => self.on_history(session, reply).await,
            Pending::Join => match parse_ack::<JoinAck>(reply) {
                Ok(ack) => self.on_join_ack(session, ack).await,
                Err(error) => {
                    let reason = error.message.clone();
                    let code = error.code;
                    let retryable = code == ErrorCode::UsernameTaken || error.is_transient();
                    self.emit(ClientEvent::Error(error));
                    // A taken name is often our own previous connection, not yet timed out; a
                    // server that is busy or counting refusals is asked again later.
                    Some(if retryable {
                        Ending::Lost(reason)
                    } else {
                        Ending::Refused {
                            reason,
                            cause: DisconnectReason::JoinRefused { code },
                        }
                    })
                }
            },
            Pending::Asked(request, answer) => {
                self.learn_from(&request, reply);
                let _ = answer.send(Ok(reply.clone()));
                None
            }
            Pending::LinkCode(answer) => {
                let _ = answer.send(parse_ack::<DeviceLink>(reply).map_err(Error::Refused));
                None
            }
            Pending::ForgetDevice(answer) => {
                let result = parse_ack::<DeviceForgotten>(reply).map_err(Error::Refused);
                let forgotten = result.is_ok();
                let _ = answer.send(result);
                // The server took the name from this connection: nothing more to do on it.
                forgotten.then_some(Ending::Stopped)
            }
            Pending::Chat(client_id) => {
                let result = match parse_ack::<SendAck>(reply) {
                    // Gone already when it was discarded while in flight; then nothing changes.
                    Ok(_) => self.outbox.delivered(&client_id),
                    Err(error) if error.is_transient() => {
                        // *Later*: pending again, and nothing goes before the wait is over, so
                        // that this one is still the next to be accepted.
                        let wait = retry_wait(error.retry_after_ms, rand::rng().random());
                        tracing::info!(%client_id, code = ?error.code, message = %error.message, wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX), "message refused for now; resending after the wait");
                        self.resend_at = Some(Instant::now() + wait);
                        Ok(self.outbox.unsend(&client_id))
                    }
                    Err(Refusal { code, message, .. }) => {
                        tracing::info!(%client_id, ?code, %message, "message refused");
                        self.outbox.fail(&client_id, code, message).map(|()| true)
                    }
                };
                let changed = result.unwrap_or_else(|e| {
                    tracing::error!(error = %e, "could not update the outbox");
                    false
                });
                self.flush(session, changed).await
            }
        }
    }

    fn on_event(&mut self, session: &mut Session, packet: &SocketPacket) -> Option<Ending> {
        let (EventName::Text(name), args) = packet.event_parts()? else {
            return None;
        };
        // An event of a shape this client does not know is skipped, as is an unknown one.
        match ServerEvent::decode(name, args).ok()?? {
            ServerEvent::RoomUpdated(info) => self.emit(ClientEvent::RoomUpdated(info)),
            ServerEvent::RoomTopic(change) => self.emit(ClientEvent::RoomTopic(change)),
            ServerEvent::MemberJoined(change) => self.emit(ClientEvent::MemberJoined(change)),
            ServerEvent::MemberLeft(change) => {
                if change.username == self.options.username {
                    // Another device of this name left it: nothing of it is asked for again.
                    self.room_seqs.remove(&change.room);
                }
                self.emit(ClientEvent::MemberLeft(change));
            }
            ServerEvent::ReadMarker(marker) => self.emit(ClientEvent::ReadMarker(marker)),
            ServerEvent::Message(message) => {
                if session.joined {
                    self.on_message(session, message);
                } else {
                    session.early.push(message);
                }
            }
            ServerEvent::UserJoined { username, guest } => {
                self.emit(ClientEvent::UserJoined { username, guest });
            }
            ServerEvent::UserLeft(username) => self.emit(ClientEvent::UserLeft { username }),
            ServerEvent::Users { users, guests } => self.emit(ClientEvent::Users { users, guests }),
            ServerEvent::Typing(notice) => self.emit(ClientEvent::Typing {
                username: notice.username,
                typing: notice.typing,
                room: notice.room,
            }),
            ServerEvent::Error(refusal) if refusal.code == ErrorCode::NameReleased => {
                // An operator freed the name: joining it again would claim it anew, which is
                // for the person to decide, not for a reconnect loop.
                let reason = refusal.message.clone();
                self.emit(ClientEvent::Error(refusal));
                return Some(Ending::Refused {
                    reason,
                    cause: DisconnectReason::JoinRefused {
                        code: ErrorCode::NameReleased,
                    },
                });
            }
            ServerEvent::Error(refusal) => self.emit(ClientEvent::Error(refusal)),
        }
        None
    }

    fn on_message(&mut self, session: &Session, message: ChatMessage) {
        let new = self.is_new(&message);
        if new {
            self.emit(ClientEvent::Message(message.clone()));
        }
        // After the message itself, so whoever waits for an empty outbox has seen it.
        self.confirm_echo(session, &message);
    }

    /// On the tutorial's server, which has no acks, our own message coming back confirms it (by
    /// author and text, oldest first). On Charla's server only the ack does: the server sends it
    /// once the message is stored, while the echo may come before that, and a message the
    /// server never stored (it crashed in between) must stay in the outbox to be sent again.
    fn confirm_echo(&mut self, session: &Session, message: &ChatMessage) {
        if !session.compat {
            return;
        }
        let client_id = match &message.client_id {
            Some(id) => Some(id.clone()),
            None if message.username == self.options.username => self
                .outbox
                .sent_with_text(&message.text)
                .map(|e| e.client_id.clone()),
            None => None,
        };
        if let Some(id) = client_id {
            match self.outbox.delivered(&id) {
                Ok(true) => self.emit_outbox(),
                Ok(false) => {}
                Err(e) => tracing::error!(error = %e, "could not update the outbox"),
            }
        }
    }
}

impl Actor {
    /// What an answered request changes here: entering a room reports its new messages (and
    /// the room from then on is replayed at each join); leaving one forgets it.
    fn learn_from(&mut self, request: &ClientRequest, reply: &Value) {
        match request {
            ClientRequest::RoomCreate(_)
            | ClientRequest::RoomJoin(_)
            | ClientRequest::DmOpen(_) => {
                if let Ok(entered) = parse_ack::<RoomEntered>(reply) {
                    let room = entered.room.room.clone();
                    self.room_seqs.entry(room.clone()).or_insert(0);
                    // Reported before the room's messages: what they are counted against.
                    self.emit(ClientEvent::RoomEntered(entered.room.clone()));
                    self.report_replay(&room, entered.replay);
                }
            }
            ClientRequest::RoomLeave(left) if reply.get("ok") == Some(&Value::Bool(true)) => {
                self.room_seqs.remove(&left.room);
            }
            _ => {}
        }
    }
}

impl Session {
    /// Whether a chat message awaits its ack.
    fn chat_in_flight(&self) -> bool {
        self.acks
            .values()
            .any(|(pending, _)| matches!(pending, Pending::Chat(_)))
    }

    async fn emit(
        &mut self,
        request: &ClientRequest,
        expect: Option<Pending>,
    ) -> std::result::Result<(), Ending> {
        let ack_id = expect.map(|pending| {
            let id = self.next_ack;
            self.next_ack += 1;
            self.acks.insert(id, (pending, Instant::now()));
            id
        });
        let packet = SocketPacket::event(request.name(), request.encode(), ack_id);
        transport::send_packet(&mut self.ws, &packet)
            .await
            .map_err(|e| {
                tracing::debug!(error = %e, "write failed");
                Ending::Lost("the connection was lost".into())
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_waits_follow_the_hint_within_bounds() {
        assert_eq!(retry_wait(Some(99), 0.0), Duration::from_millis(99));
        assert_eq!(retry_wait(None, 0.0), DEFAULT_RETRY_WAIT);
        assert_eq!(retry_wait(Some(0), 0.0), MIN_RETRY_WAIT);
        assert_eq!(retry_wait(Some(u64::MAX), 0.0), MAX_RETRY_WAIT);
        let jittered = retry_wait(Some(1000), 0.999);
        assert!(
            jittered >= Duration::from_secs(1) && jittered < Duration::from_millis(1100),
            "{jittered:?}: never earlier than the hint, at most 10 % later"
        );
    }
}
