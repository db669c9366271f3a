//! One connection's life, from the handshake to its [`Ending`]: the join is sent, then frames,
//! the handle's commands and the deadlines (heartbeat, acks, the join's answer, a refusal's wait)
//! are served until the link breaks, the server refuses, or the owner stops. Requests that
//! expect an answer are remembered by ack id ([`Pending`]) and their answers matched here.
//!
//! What a connection learns goes up to the [`Actor`], which outlives it; what only this
//! connection needs (acks awaited, messages that came before the join's answer, a catch-up
//! under way) is its [`Session`], dropped with it. The join and its catch-up are [`join`]'s,
//! the messages that come in [`incoming`]'s, the changes to messages that come in
//! [`changes`]'s, the outbox's sending [`sending`]'s.

mod changes;
mod incoming;
mod join;
mod sending;

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use charla_protocol::chat::{
    parse_ack, ChatMessage, ClientRequest, DeviceForgotten, DeviceLink, ErrorCode, JoinRequest,
    RoomJoin, ServerEvent, INVALID_TOKEN,
};
use charla_protocol::{EnginePacket, EventName, OpenPayload, SocketKind, SocketPacket};
use futures_util::StreamExt;
use serde_json::Value;
use tokio::sync::oneshot;
use tokio::time::{sleep_until, Instant};
use tokio_tungstenite::tungstenite::{self, Message};

use super::{Actor, Command, Ending};
use crate::error::{Error, Result};
use crate::report::{ClientEvent, DisconnectReason};
use crate::transport::{self, ConnectError, Ws};

/// A request sent with an ack id: what its answer is for.
enum Pending {
    Join,
    /// An outbox item (a message or a change), by its `clientId`.
    Outbox(String),
    History,
    /// A page of a room's changes after `after`, up to `seq` `upto`.
    Changes {
        room: String,
        after: u64,
        upto: u64,
    },
    LinkCode(oneshot::Sender<Result<DeviceLink>>),
    ForgetDevice(oneshot::Sender<Result<DeviceForgotten>>),
    /// A [`Command::Ask`]: what was asked (to learn from its answer), and where the answer goes.
    Asked(ClientRequest, oneshot::Sender<Result<Value>>),
}

/// The state of one connection.
struct Session {
    ws: Ws,
    joined: bool,
    compat: bool,
    next_ack: u64,
    acks: HashMap<u64, (Pending, Instant)>,
    /// Messages (and changes to them) that arrived before the join was answered, reported right
    /// after the join's history: reporting one of these first would advance `last_seq` past the
    /// history and hide it. Charla's history usually holds them already (then they are no-ops);
    /// the tutorial's server has no history, and these are all there is of the seconds before
    /// the join timed out.
    early: Vec<Early>,
    /// The join was answered (the tutorial's server never answers it).
    join_answered: bool,
    catch_up: Option<join::CatchUp>,
    /// Rooms (`general` by its name) whose changes are being paged: their `rev` stays where
    /// paging is, whatever comes live (see [`changes`]).
    paging: BTreeSet<String>,
}

/// What came before the join's answer, kept in the order it came.
enum Early {
    Message(ChatMessage),
    Updated(ChatMessage),
}

impl Actor {
    /// One connection to the address tried now, from the handshake to its end.
    pub(super) async fn connect_once(&mut self) -> Ending {
        let (ws, open) = match self.open().await {
            Ok(opened) => opened,
            Err(ending) => return ending,
        };
        let heartbeat = Duration::from_millis(open.ping_interval + open.ping_timeout);
        let mut session = Session::new(ws);
        if let Err(e) = session
            .emit(&self.join_request(), Some(Pending::Join))
            .await
        {
            return e;
        }
        self.serve(&mut session, heartbeat).await
    }

    /// The WebSocket and the Socket.IO handshake; how the server refused, if it did.
    async fn open(&self) -> std::result::Result<(Ws, OpenPayload), Ending> {
        let address = self.addresses.get(self.address).map_or("", String::as_str);
        transport::connect(
            address,
            self.options.token.as_deref(),
            self.options.connect_timeout,
        )
        .await
        .map_err(|error| match error {
            ConnectError::Transient(reason) => Ending::Lost(reason),
            ConnectError::Refused(reason) => Ending::Refused {
                reason,
                cause: DisconnectReason::ConnectRefused,
            },
            ConnectError::InvalidToken => Ending::Refused {
                reason: INVALID_TOKEN.to_owned(),
                cause: DisconnectReason::InvalidToken,
            },
        })
    }

    /// The join. The tutorial's server ignores `since`; Charla's replays what came after it,
    /// in the numbering of `epoch`, and after each room's `seq` in `rooms`.
    fn join_request(&self) -> ClientRequest {
        ClientRequest::Join(JoinRequest {
            username: self.options.username.clone(),
            since: Some(self.last_seq),
            epoch: self.epoch.clone(),
            key: self.options.device_key.clone(),
            link: self.options.link_code.clone(),
            rooms: self.room_seqs.clone(),
            revs: self.revs.clone(),
        })
    }

    /// Serves the connection until it ends: frames (each one proves the server alive for
    /// another `heartbeat`), commands, an ack that takes too long, a join nobody answers (the
    /// tutorial's server), and the end of a refusal's wait.
    async fn serve(&mut self, session: &mut Session, heartbeat: Duration) -> Ending {
        let join_deadline = Instant::now() + self.options.join_timeout;
        let mut alive_until = Instant::now() + heartbeat;
        loop {
            let ack_deadline = session.ack_deadline(self.options.ack_timeout);
            let ending = tokio::select! {
                frame = session.ws.next() => {
                    alive_until = Instant::now() + heartbeat;
                    self.on_ws_frame(session, frame).await
                }
                command = self.commands.recv() => self.on_command(session, command).await,
                () = sleep_until(alive_until) => Some(Ending::Lost("no heartbeat from the server".into())),
                () = sleep_until(join_deadline), if !session.joined && !session.join_answered => {
                    self.on_no_join_answer(session).await
                }
                () = sleep_until(ack_deadline.unwrap_or(alive_until)), if ack_deadline.is_some() => {
                    Some(Ending::Lost("the server stopped answering".into()))
                }
                () = sleep_until(self.resend_at.unwrap_or(alive_until)), if self.resend_at.is_some() && session.joined => {
                    self.flush(session, false).await
                }
            };
            if let Some(ending) = ending {
                return ending;
            }
        }
    }

    /// A WebSocket frame: text is the server's; a close or a failed read ends the connection.
    async fn on_ws_frame(
        &mut self,
        session: &mut Session,
        frame: Option<std::result::Result<Message, tungstenite::Error>>,
    ) -> Option<Ending> {
        match frame {
            Some(Ok(Message::Text(text))) => self.on_frame(session, &text).await,
            Some(Ok(Message::Close(_))) | None => {
                Some(Ending::Lost("the server closed the connection".into()))
            }
            Some(Err(e)) => {
                tracing::debug!(error = %e, "read failed");
                Some(Ending::Lost("the connection was lost".into()))
            }
            Some(Ok(_)) => None,
        }
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
                if let ClientRequest::RoomJoin(RoomJoin {
                    room, since: None, ..
                }) = &request
                {
                    // Only what this client has not reported yet.
                    let since = self.room_seqs.get(room).copied();
                    request = ClientRequest::RoomJoin(RoomJoin {
                        room: room.clone(),
                        since,
                        rev: self.revs.get(room).copied(),
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
            Pending::Join => self.on_join_answer(session, reply).await,
            Pending::Changes { room, after, upto } => {
                self.on_changes_page(session, &room, (after, upto), reply)
                    .await
            }
            Pending::Asked(request, answer) => {
                let ending = self.learn_from(session, &request, reply).await;
                let _ = answer.send(Ok(reply.clone()));
                ending
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
            Pending::Outbox(client_id) => self.on_sent(session, &client_id, reply).await,
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
                    self.forget_room(&change.room);
                }
                self.emit(ClientEvent::MemberLeft(change));
            }
            ServerEvent::ReadMarker(marker) => self.emit(ClientEvent::ReadMarker(marker)),
            ServerEvent::Message(message) | ServerEvent::ThreadMessage(message) => {
                if session.joined {
                    self.on_message(session, message);
                } else {
                    session.early.push(Early::Message(message));
                }
            }
            ServerEvent::MessageUpdated(message) => {
                if session.joined {
                    self.on_updated(session, message);
                } else {
                    session.early.push(Early::Updated(message));
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
}

impl Session {
    fn new(ws: Ws) -> Self {
        Self {
            ws,
            joined: false,
            compat: false,
            next_ack: 0,
            acks: HashMap::new(),
            early: Vec::new(),
            join_answered: false,
            catch_up: None,
            paging: BTreeSet::new(),
        }
    }

    /// When the oldest request still awaiting its ack has waited `timeout`, if any awaits.
    fn ack_deadline(&self, timeout: Duration) -> Option<Instant> {
        self.acks.values().map(|(_, at)| *at + timeout).min()
    }

    /// Sends `request`, with an ack id when `expect` says what its answer is for.
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
