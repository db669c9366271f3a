//! The one task that owns the connection: connects, joins, keeps the heartbeat, sends the
//! outbox, matches acks, reconnects with backoff, and reports everything as [`ClientEvent`]s.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use charla_protocol::chat::{
    events, parse_ack, ChatMessage, ErrorBody, ErrorCode, JoinAck, SendAck, TypingNotice,
};
use charla_protocol::{EnginePacket, EventName, SocketKind, SocketPacket};
use futures_util::StreamExt;
use serde_json::{json, Value};
use tokio::sync::{mpsc, oneshot};
use tokio::time::{sleep_until, Instant};
use tokio_tungstenite::tungstenite::Message;

use crate::backoff::Backoff;
use crate::error::{Error, Result};
use crate::events::{ClientEvent, ConnectionStatus};
use crate::outbox::{Outbox, OutboxEntry};
use crate::transport::{self, ConnectError, Ws};
use crate::ClientOptions;

/// What the handle asks of the task.
pub(crate) enum Command {
    Send(String, oneshot::Sender<Result<OutboxEntry>>),
    Retry(String, oneshot::Sender<Result<()>>),
    Discard(String, oneshot::Sender<Result<()>>),
    Typing(bool),
    ReconnectNow,
    Disconnect(oneshot::Sender<()>),
}

enum Ending {
    /// The link broke: reconnect after a delay.
    Lost(String),
    /// Refused in a way retrying won't fix: wait for `reconnect_now`.
    Refused(String),
    /// `disconnect()` or every handle dropped.
    Stopped,
}

enum Pending {
    Join,
    Chat(String),
}

pub(crate) struct Actor {
    options: ClientOptions,
    commands: mpsc::UnboundedReceiver<Command>,
    events: mpsc::UnboundedSender<ClientEvent>,
    outbox: Outbox,
    backoff: Backoff,
    last_seq: u64,
    seen_ids: HashSet<String>,
}

/// The state of one connection.
struct Session {
    ws: Ws,
    joined: bool,
    compat: bool,
    next_ack: u64,
    acks: HashMap<u64, (Pending, Instant)>,
    /// Messages that arrived before the join was answered. The join's history covers them, and
    /// must be reported first: reporting one of these first would advance `last_seq` past the
    /// history and hide it.
    early: Vec<ChatMessage>,
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
            options,
            commands,
            events,
            outbox,
            last_seq: 0,
            seen_ids: HashSet::new(),
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
                Ending::Stopped => {
                    self.emit(ClientEvent::Status(ConnectionStatus::Disconnected {
                        reason: "disconnected".into(),
                    }));
                    return;
                }
                Ending::Lost(reason) => {
                    let delay = self.backoff.next_delay();
                    tracing::info!(%reason, delay_ms = delay.as_millis() as u64, "connection lost; reconnecting");
                    self.emit(ClientEvent::Status(ConnectionStatus::Reconnecting {
                        attempt: self.backoff.attempts(),
                        delay,
                        reason,
                    }));
                    if !self.wait(Some(Instant::now() + delay)).await {
                        return self.stopped();
                    }
                }
                Ending::Refused(reason) => {
                    tracing::warn!(%reason, "refused by the server; waiting for a retry");
                    self.emit(ClientEvent::Status(ConnectionStatus::Disconnected {
                        reason,
                    }));
                    if !self.wait(None).await {
                        return self.stopped();
                    }
                    self.backoff.reset();
                }
            }
            self.emit(ClientEvent::Status(ConnectionStatus::Connecting));
        }
    }

    fn stopped(&self) {
        self.emit(ClientEvent::Status(ConnectionStatus::Disconnected {
            reason: "disconnected".into(),
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
            Command::Send(text, reply) => {
                let _ = reply.send(self.accept(text));
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
            Command::Typing(_) | Command::ReconnectNow | Command::Disconnect(_) => {}
        }
    }

    fn accept(&mut self, text: String) -> Result<OutboxEntry> {
        if text.trim().is_empty() {
            return Err(Error::EmptyMessage);
        }
        let entry = self.outbox.add(text)?;
        self.emit_outbox();
        Ok(entry)
    }

    async fn connect_once(&mut self) -> Ending {
        let (ws, open) = match transport::connect(
            &self.options.server_url,
            self.options.token.as_deref(),
            self.options.connect_timeout,
        )
        .await
        {
            Ok(connected) => connected,
            Err(ConnectError::Transient(reason)) => return Ending::Lost(reason),
            Err(ConnectError::Refused(reason)) => return Ending::Refused(reason),
        };
        let heartbeat = Duration::from_millis(open.ping_interval + open.ping_timeout);
        let mut session = Session {
            ws,
            joined: false,
            compat: false,
            next_ack: 0,
            acks: HashMap::new(),
            early: Vec::new(),
        };
        let join_args = vec![
            json!(self.options.username),
            json!({ "since": self.last_seq }),
        ];
        if let Err(e) = session
            .emit(events::JOIN, join_args, Some(Pending::Join))
            .await
        {
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
                () = sleep_until(join_deadline), if !session.joined => {
                    // The tutorial's server never acks: chat without Charla's additions.
                    tracing::info!("no join ack; the server is the tutorial's (compatibility mode)");
                    session.acks.clear();
                    session.compat = true;
                    if let Some(ending) = self.on_joined(&mut session, self.options.username.clone(), Vec::new(), Vec::new()).await {
                        return ending;
                    }
                }
                () = sleep_until(ack_deadline.unwrap_or(alive_until)), if ack_deadline.is_some() => {
                    return Ending::Lost("the server stopped answering".into());
                }
            }
        }
    }

    async fn on_joined(
        &mut self,
        session: &mut Session,
        username: String,
        users: Vec<String>,
        history: Vec<ChatMessage>,
    ) -> Option<Ending> {
        session.joined = true;
        self.backoff.reset();
        let fresh: Vec<ChatMessage> = history.into_iter().filter(|m| self.is_new(m)).collect();
        self.emit(ClientEvent::Status(ConnectionStatus::Connected {
            compat: session.compat,
        }));
        self.emit(ClientEvent::Joined {
            username,
            users,
            history: fresh,
        });
        self.flush(session).await
    }

    /// Whether a message has not been reported yet; records it as reported.
    fn is_new(&mut self, message: &ChatMessage) -> bool {
        match message.seq {
            Some(seq) if seq <= self.last_seq => false,
            Some(seq) => {
                self.last_seq = seq;
                true
            }
            None => self.seen_ids.insert(message.id.clone()),
        }
    }

    /// Sends every pending outbox entry, in order.
    async fn flush(&mut self, session: &mut Session) -> Option<Ending> {
        let pending: Vec<OutboxEntry> = self.outbox.pending().cloned().collect();
        if pending.is_empty() {
            return None;
        }
        for entry in pending {
            let body = json!({ "username": self.options.username, "text": entry.text, "clientId": entry.client_id });
            let expect = (!session.compat).then(|| Pending::Chat(entry.client_id.clone()));
            if let Err(e) = session.emit(events::CHAT_MESSAGE, vec![body], expect).await {
                return Some(e);
            }
            self.outbox.mark_sent(&entry.client_id);
        }
        self.emit_outbox();
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
            Some(Command::Typing(typing)) => {
                if session.joined {
                    if let Err(e) = session
                        .emit(events::TYPING, vec![json!(typing)], None)
                        .await
                    {
                        return Some(e);
                    }
                }
                None
            }
            Some(other) => {
                self.offline_command(other);
                if session.joined {
                    self.flush(session).await
                } else {
                    None
                }
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
            SocketKind::Event => self.on_event(session, &packet).await,
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
            Pending::Join => match parse_ack::<JoinAck>(reply) {
                Ok(ack) => {
                    self.on_joined(session, ack.username, ack.users, ack.history)
                        .await
                }
                Err(error) => {
                    let reason = error.message.clone();
                    let retryable = error.code == ErrorCode::UsernameTaken;
                    self.emit(ClientEvent::Error(error));
                    // A taken name is often our own previous connection, not yet timed out.
                    Some(if retryable {
                        Ending::Lost(reason)
                    } else {
                        Ending::Refused(reason)
                    })
                }
            },
            Pending::Chat(client_id) => {
                let result = match parse_ack::<SendAck>(reply) {
                    // Usually the echo has confirmed it already; then nothing changes.
                    Ok(_) => self.outbox.delivered(&client_id),
                    Err(ErrorBody { code, message }) => {
                        tracing::info!(%client_id, ?code, %message, "message refused");
                        self.outbox.fail(&client_id, code, message).map(|()| true)
                    }
                };
                match result {
                    Ok(true) => self.emit_outbox(),
                    Ok(false) => {}
                    Err(e) => tracing::error!(error = %e, "could not update the outbox"),
                }
                None
            }
        }
    }

    async fn on_event(&mut self, session: &mut Session, packet: &SocketPacket) -> Option<Ending> {
        let (EventName::Text(name), args) = packet.event_parts()? else {
            return None;
        };
        let first = args.first().cloned().unwrap_or(Value::Null);
        let as_string = || first.as_str().map(str::to_owned);
        match name {
            events::MESSAGE => {
                let message: ChatMessage = serde_json::from_value(first.clone()).ok()?;
                if session.joined {
                    self.on_message(session, message);
                } else {
                    session.early.push(message);
                }
            }
            events::USER_JOINED => self.emit(ClientEvent::UserJoined {
                username: as_string()?,
            }),
            events::USER_LEFT => self.emit(ClientEvent::UserLeft {
                username: as_string()?,
            }),
            events::USERS => self.emit(ClientEvent::Users {
                users: serde_json::from_value(first).ok()?,
            }),
            events::TYPING => {
                let notice: TypingNotice = serde_json::from_value(first).ok()?;
                self.emit(ClientEvent::Typing {
                    username: notice.username,
                    typing: notice.typing,
                });
            }
            events::ERROR => self.emit(ClientEvent::Error(serde_json::from_value(first).ok()?)),
            _ => {}
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

impl Session {
    async fn emit(
        &mut self,
        event: &str,
        args: Vec<Value>,
        expect: Option<Pending>,
    ) -> std::result::Result<(), Ending> {
        let ack_id = expect.map(|pending| {
            let id = self.next_ack;
            self.next_ack += 1;
            self.acks.insert(id, (pending, Instant::now()));
            id
        });
        transport::send_packet(&mut self.ws, &SocketPacket::event(event, args, ack_id))
            .await
            .map_err(|e| {
                tracing::debug!(error = %e, "write failed");
                Ending::Lost("the connection was lost".into())
            })
    }
}
