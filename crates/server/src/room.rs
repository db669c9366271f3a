//! The chat room: one ordered log, presence and identity, behind one lock.
//!
//! Every operation that changes what clients see (accepting a message, a join, a leave) takes
//! the lock, updates the state and queues the resulting packets to each client *while holding
//! it*. Queuing is a non-blocking push into each socket's channel, so holding a
//! `std::sync::Mutex` is right here, and it is what gives every receiver the same order: no two
//! broadcasts interleave, and a joiner's history ack always lands before the first live message
//! after it.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use charla_protocol::chat::{
    events, ChatMessage, ErrorCode, JoinAck, JoinRequest, OutgoingMessage, SendAck, TypingNotice,
};
use serde::Serialize;
use socketioxide::socket::Sid;

use crate::config::ServerConfig;
use crate::identity::{check_text, normalize_username, username_key, Rejection};
use crate::link::{Encoded, Link, Responder, SendFailure};
use crate::rate_limit::RateLimiter;
use crate::store::{Loaded, StoreHandle};

/// How many `clientId`s are remembered for de-duplication, at least.
const MIN_REMEMBERED_CLIENT_IDS: usize = 10_000;

/// The shared room. Cheap to clone.
#[derive(Clone)]
pub struct Room {
    inner: Arc<Shared>,
}

struct Shared {
    state: Mutex<RoomState>,
    store: StoreHandle,
    config: Arc<ServerConfig>,
}

struct Conn {
    link: Link,
    username: Option<String>,
    limiter: RateLimiter,
    typing: bool,
}

struct RoomState {
    last_seq: u64,
    history: VecDeque<ChatMessage>,
    conns: HashMap<Sid, Conn>,
    /// username key → the connection that holds the name.
    names: HashMap<String, Sid>,
    accepted: AcceptedIds,
}

/// `clientId`s already accepted, per author, with the ack they got, oldest evicted first.
struct AcceptedIds {
    acks: HashMap<(String, String), SendAck>,
    order: VecDeque<(String, String)>,
    capacity: usize,
}

impl AcceptedIds {
    fn get(&self, key: &(String, String)) -> Option<&SendAck> {
        self.acks.get(key)
    }

    fn insert(&mut self, key: (String, String), ack: SendAck) {
        if self.acks.insert(key.clone(), ack).is_none() {
            self.order.push_back(key);
        }
        while self.order.len() > self.capacity {
            if let Some(old) = self.order.pop_front() {
                self.acks.remove(&old);
            }
        }
    }
}

/// The client's ack callback, if it asked for one. Operations take it when they answer; one
/// left in place after an error is the caller's to answer with the refusal.
pub type Ack = Option<Responder>;

impl Room {
    /// A room resuming from what the store held.
    #[must_use]
    pub fn new(loaded: Loaded, store: StoreHandle, config: Arc<ServerConfig>) -> Self {
        let mut accepted = AcceptedIds {
            acks: HashMap::new(),
            order: VecDeque::new(),
            capacity: config.history_limit.max(MIN_REMEMBERED_CLIENT_IDS),
        };
        for m in &loaded.history {
            if let (Some(client_id), Some(seq)) = (&m.client_id, m.seq) {
                accepted.insert(
                    (username_key(&m.username), client_id.clone()),
                    send_ack(m, seq),
                );
            }
        }
        Self {
            inner: Arc::new(Shared {
                state: Mutex::new(RoomState {
                    last_seq: loaded.last_seq,
                    history: loaded.history.into(),
                    conns: HashMap::new(),
                    names: HashMap::new(),
                    accepted,
                }),
                store,
                config,
            }),
        }
    }

    /// The store behind the room.
    #[must_use]
    pub fn store(&self) -> &StoreHandle {
        &self.inner.store
    }

    fn lock(&self) -> MutexGuard<'_, RoomState> {
        // A panic while holding the lock cannot leave the state half-updated in a way that
        // matters more than stopping the whole chat would, so poisoning is ignored.
        self.inner
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Registers a connection as an audience of the room (idempotent).
    pub fn connect(&self, link: &Link) {
        let per_sec = self.inner.config.rate_limit_per_sec;
        self.lock().conns.entry(link.id()).or_insert_with(|| Conn {
            link: link.clone(),
            username: None,
            limiter: RateLimiter::new(per_sec, Instant::now()),
            typing: false,
        });
    }

    /// Binds a username to the connection, acks the users and history, tells everyone else.
    ///
    /// # Errors
    /// A rejection for a bad or taken name, or a second name on one connection.
    pub fn join(&self, link: &Link, request: JoinRequest, ack: &mut Ack) -> Result<(), Rejection> {
        let name = normalize_username(&request.username)?;
        let key = username_key(&name);
        self.connect(link);
        let sid = link.id();
        let mut state = self.lock();
        let state = &mut *state;
        if let Some(holder) = state.names.get(&key).filter(|holder| **holder != sid) {
            tracing::debug!(sid = %sid, holder = %holder, name, "username taken");
            return Err(Rejection {
                code: ErrorCode::UsernameTaken,
                message: format!("{name} is already in the chat"),
            });
        }
        let conn = state.conns.get_mut(&sid).ok_or_else(gone)?;
        let first_join = match &conn.username {
            Some(current) if username_key(current) != key => {
                return Err(Rejection {
                    code: ErrorCode::AlreadyJoined,
                    message: format!("this connection already joined as {current}"),
                })
            }
            Some(_) => false,
            None => true,
        };
        conn.username = Some(name.clone());
        state.names.insert(key, sid);

        let users = state.users();
        let history: Vec<ChatMessage> = match request.since {
            Some(since) => state
                .history
                .iter()
                .filter(|m| m.seq > Some(since))
                .cloned()
                .collect(),
            None => state.history.iter().cloned().collect(),
        };
        if let Some(ack) = ack.take() {
            let reply = JoinAck {
                ok: true,
                username: name.clone(),
                users: users.clone(),
                history,
            };
            if let Err(e) = ack.send(&reply) {
                tracing::warn!(sid = %sid, error = %e, "could not ack join");
            }
        }
        if let Err(e) = link.emit(events::USERS, &users) {
            tracing::warn!(sid = %sid, error = %e, "could not send users");
        }
        if first_join {
            tracing::info!(sid = %sid, username = %name, "joined");
            state.broadcast(events::USER_JOINED, &name, Some(sid));
        }
        Ok(())
    }

    /// Accepts a message: gives it the next `seq`, broadcasts it, stores it, and acks it once
    /// stored. A `clientId` seen before is acked again instead.
    ///
    /// # Errors
    /// Not joined, empty or too long, or over the rate limit.
    pub fn chat(
        &self,
        link: &Link,
        outgoing: OutgoingMessage,
        ack: &mut Ack,
    ) -> Result<(), Rejection> {
        let max_chars = self.inner.config.max_message_chars;
        let mut state = self.lock();
        let state = &mut *state;
        let sid = link.id();
        let conn = state.conns.get_mut(&sid).ok_or_else(not_joined)?;
        let username = conn.username.clone().ok_or_else(not_joined)?;
        check_text(&outgoing.text, max_chars)?;

        let dedupe_key = outgoing
            .client_id
            .as_ref()
            .map(|id| (username_key(&username), id.clone()));
        if let Some(previous) = dedupe_key.as_ref().and_then(|k| state.accepted.get(k)) {
            tracing::debug!(sid = %sid, "retry of an accepted message acked again");
            let previous = previous.clone();
            if let Some(ack) = ack.take() {
                self.inner
                    .store
                    .after_pending(Box::new(move |_| send_or_log(ack, &previous)));
            }
            return Ok(());
        }
        conn.limiter
            .try_take(Instant::now())
            .map_err(rate_limited)?;
        conn.typing = false;

        state.last_seq += 1;
        let seq = state.last_seq;
        let message = ChatMessage {
            id: format!("{sid}-{seq}"),
            username,
            text: outgoing.text,
            timestamp: charla_protocol::timestamp::now_millis(),
            seq: Some(seq),
            client_id: outgoing.client_id,
        };
        let reply = send_ack(&message, seq);
        if let Some(key) = dedupe_key {
            state.accepted.insert(key, reply.clone());
        }
        state.history.push_back(message.clone());
        while state.history.len() > self.inner.config.history_limit {
            state.history.pop_front();
        }
        state.broadcast(events::MESSAGE, &message, None);

        let after = ack.take().map(|ack| -> crate::store::AfterWrite {
            Box::new(move |written| {
                if written {
                    send_or_log(ack, &reply);
                } else {
                    let refusal = charla_protocol::chat::Refusal::new(
                        ErrorCode::Unavailable,
                        "the server could not store the message; retry",
                    );
                    send_or_log(ack, &refusal);
                }
            })
        });
        self.inner.store.append(message, after);
        Ok(())
    }

    /// Relays a change of typing state to everyone else.
    ///
    /// # Errors
    /// Not joined.
    pub fn typing(&self, link: &Link, typing: bool) -> Result<(), Rejection> {
        let sid = link.id();
        let mut state = self.lock();
        let conn = state.conns.get_mut(&sid).ok_or_else(not_joined)?;
        let username = conn.username.clone().ok_or_else(not_joined)?;
        if conn.typing != typing {
            conn.typing = typing;
            state.broadcast(
                events::TYPING,
                &TypingNotice { username, typing },
                Some(sid),
            );
        }
        Ok(())
    }

    /// Forgets a connection; its name is free again and everyone is told it left.
    pub fn leave(&self, sid: Sid) {
        let mut state = self.lock();
        state.remove(sid);
    }

    /// Names of everyone joined, sorted.
    #[must_use]
    pub fn users(&self) -> Vec<String> {
        self.lock().users()
    }
}

impl RoomState {
    fn users(&self) -> Vec<String> {
        let mut users: Vec<String> = self
            .conns
            .values()
            .filter_map(|c| c.username.clone())
            .collect();
        users.sort_by_key(|u| username_key(u));
        users
    }

    /// Queues `event` to every connection but `except`. A connection whose queue is full is
    /// dropped from the room and disconnected (so it reconnects and replays with `since`), and
    /// one found closed is forgotten; either way the others hear it left.
    ///
    /// The payload is encoded once; each of this server's WebSocket connections gets a
    /// reference to the same frame.
    fn broadcast<T: Serialize + ?Sized>(
        &mut self,
        event: &'static str,
        data: &T,
        except: Option<Sid>,
    ) {
        let encoded = match Encoded::new(event, data) {
            Ok(encoded) => encoded,
            Err(e) => {
                tracing::error!(event, error = %e, "could not encode an event");
                return;
            }
        };
        let mut slow = Vec::new();
        let mut closed = Vec::new();
        for (sid, conn) in &self.conns {
            if Some(*sid) == except {
                continue;
            }
            match conn.link.send(&encoded) {
                Ok(()) => {}
                Err(SendFailure::Full) => slow.push(*sid),
                Err(SendFailure::Closed) => closed.push(*sid),
                Err(e) => tracing::error!(sid = %sid, event, error = %e, "could not send an event"),
            }
        }
        for sid in slow {
            if let Some(conn) = self.conns.get(&sid) {
                tracing::warn!(
                    sid = %sid,
                    username = conn.username.as_deref().unwrap_or(""),
                    "client queue full; disconnecting it (it will reconnect and replay)"
                );
                conn.link.disconnect();
            }
            self.remove(sid);
        }
        for sid in closed {
            self.remove(sid);
        }
    }

    fn remove(&mut self, sid: Sid) {
        let Some(conn) = self.conns.remove(&sid) else {
            return;
        };
        if let Some(name) = conn.username {
            self.names.remove(&username_key(&name));
            tracing::info!(sid = %sid, username = %name, "left");
            self.broadcast(events::USER_LEFT, &name, None);
        }
    }
}

fn send_ack(message: &ChatMessage, seq: u64) -> SendAck {
    SendAck {
        ok: true,
        id: message.id.clone(),
        seq,
        timestamp: message.timestamp,
    }
}

fn send_or_log<T: Serialize + ?Sized>(ack: Responder, data: &T) {
    if let Err(e) = ack.send(data) {
        tracing::warn!(error = %e, "could not send an ack");
    }
}

fn not_joined() -> Rejection {
    Rejection {
        code: ErrorCode::NotJoined,
        message: "join the chat first".into(),
    }
}

fn gone() -> Rejection {
    Rejection {
        code: ErrorCode::Unavailable,
        message: "the connection is closing".into(),
    }
}

fn rate_limited(wait: Duration) -> Rejection {
    Rejection {
        code: ErrorCode::RateLimited,
        message: format!("too many messages; retry in {} ms", wait.as_millis().max(1)),
    }
}
