//! The chat's state behind its one lock: connections, the names they hold, every room's log,
//! the rate limits and the de-duplication memory; and how an event reaches a room's audience.
//!
//! Every operation that changes what clients see (a stored message, a join, a leave, a member
//! joining a room) takes the lock, updates the state and queues the resulting packets to each
//! client *while holding it*. Queuing is a non-blocking push into each connection's queue, so
//! holding a `std::sync::Mutex` is right here, and it is what gives every receiver the same
//! order: no two broadcasts interleave, and a joiner's ack always lands before the first live
//! message after it. One lock for every room: each message is stored under it anyway (one
//! `SQLite` writer), and a room's broadcast costs what its audience costs.
//!
//! The audience of `general` is every connection, joined or not (the tutorial's server sends to
//! every socket); of any other room, the connections of its members' names.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

use charla_protocol::chat::{ChatMessage, ErrorCode, SendAck, ServerEvent, TypingNotice};
use charla_protocol::rules::username_key;
use smallvec::SmallVec;
use tokio::sync::Semaphore;

use super::limits::Limits;
use super::log::{RoomLog, Rooms, Window};
use crate::config::ServerConfig;
use crate::metrics::Metrics;
use crate::names::{DeviceId, NameBook};
use crate::store::{ClusterHandle, HeldName, Opened, RoomId, StoreHandle, GENERAL, RETIRED_PREFIX};
use crate::throttle::Throttle;
use crate::transport::{Encoded, Link, SendFailure, Sid};

/// How long the store may go unanswering (two missed probes) before every client is sent
/// away; requests that need it are refused from the first miss.
const SEND_AWAY_AFTER: std::time::Duration = std::time::Duration::from_millis(900);
/// How many `clientId`s are remembered for de-duplication, at least.
pub const MIN_REMEMBERED_CLIENT_IDS: usize = 10_000;
/// `history` pages read from disk at once, server-wide.
const CONCURRENT_READS: usize = 4;
/// Messages of a room other than `general` kept in memory (older ones are read from disk).
pub(crate) const ROOM_WINDOW_MESSAGES: usize = 50;
/// Bytes of a room other than `general` kept in memory: with 10,000 rooms, 640 MiB at most.
pub(crate) const ROOM_WINDOW_BYTES: usize = 64 * 1024;

/// The chat. Cheap to clone.
#[derive(Clone)]
pub struct Chat {
    pub(super) inner: Arc<Shared>,
}

pub(super) struct Shared {
    state: Mutex<ChatState>,
    pub(super) store: StoreHandle,
    /// What other nodes store and hold, when several serve the same people.
    pub(super) cluster: Option<ClusterHandle>,
    pub(super) config: Arc<ServerConfig>,
    pub(super) epoch: String,
    pub(super) reads: Arc<Semaphore>,
    /// Searches running, at most [`ServerConfig::max_searches`].
    pub(super) searches: Arc<Semaphore>,
    pub(super) cuts: Fanout,
    pub(super) metrics: Arc<Metrics>,
    pub(super) typing_floods: Throttle,
    pub(super) refused_joins: Throttle,
    pub(super) limits_hit: Throttle,
    pub(super) presence_failures: Throttle,
    /// Where messages queued for a store over the network go to be delivered, in the order
    /// queued (made on first use: see [`super::cluster`]).
    pub(super) finisher:
        std::sync::OnceLock<tokio::sync::mpsc::Sender<super::cluster::finish::Finish>>,
}

pub(super) struct Conn {
    pub(super) link: Link,
    pub(super) username: Option<String>,
    /// The name's uniqueness key ([`username_key`]), computed once at the join.
    pub(super) key: String,
    /// The device that proved the name; `None` for a guest.
    pub(super) device: Option<DeviceId>,
    /// The room this connection is typing in, if any.
    pub(super) typing: Option<RoomId>,
    pub(super) reading_history: bool,
    pub(super) searching: bool,
}

/// The connections that hold one name.
pub(super) struct Holder {
    /// The name as the first of them joined with it.
    pub(super) name: String,
    pub(super) connections: SmallVec<[Sid; 2]>,
    /// Nobody owns the name.
    pub(super) guest: bool,
}

/// What a fan-out reports to: clients cut off (their queue was full) go to the log, at most
/// every few seconds, and to the metrics with the messages delivered.
pub(super) struct Fanout {
    log: Throttle,
    metrics: Arc<Metrics>,
}

impl Fanout {
    /// A message read back from the store was delivered `lag` after it was accepted.
    pub(super) fn heard_late(&self, lag: std::time::Duration) {
        self.metrics.heard_late(lag);
    }

    /// Messages (not other events) queued to `count` receivers.
    fn delivered(&self, event: &ServerEvent, count: usize) {
        if matches!(event, ServerEvent::Message(_)) && count > 0 {
            self.metrics.delivered(count);
        }
    }
}

/// (username key, clientId)
pub(super) type DedupeKey = (String, String);

pub(super) struct ChatState {
    pub(super) conns: HashMap<Sid, Conn>,
    /// username key → the connections that hold the name.
    pub(super) names: HashMap<String, Holder>,
    /// Names held on other nodes (several nodes on one database), by key.
    pub(super) elsewhere: HashMap<String, HeldName>,
    pub(super) rooms: Rooms,
    pub(super) book: Arc<NameBook>,
    /// Every limit per name and per address.
    pub(super) limits: Limits,
    /// Rooms nobody was in for the idle time, forgotten here and being removed from the store
    /// (their messages go in batches).
    pub(super) retiring: Vec<RoomId>,
    /// Since when the store has not answered, and whether the clients were sent away.
    pub(super) database_down_since: Option<std::time::Instant>,
    pub(super) clients_sent_away: bool,
    pub(super) accepted: AcceptedIds,
    /// Read markers moved since they were last written: (name key, room).
    pub(super) markers_due: HashSet<(String, RoomId)>,
}

/// `clientId`s already stored, per author, with the ack they got, oldest evicted first.
pub(super) struct AcceptedIds {
    pub(super) acks: HashMap<DedupeKey, SendAck>,
    order: VecDeque<DedupeKey>,
    capacity: usize,
}

impl AcceptedIds {
    pub(super) fn insert(&mut self, key: DedupeKey, ack: SendAck) {
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

pub(super) fn send_ack(message: &ChatMessage, seq: u64) -> SendAck {
    SendAck {
        ok: true,
        id: message.id.clone(),
        seq,
        timestamp: message.timestamp,
        room: message.room.clone(),
    }
}

impl Chat {
    /// A chat resuming from what the store held.
    #[must_use]
    pub fn new(
        opened: Opened,
        book: Arc<NameBook>,
        config: Arc<ServerConfig>,
        metrics: Arc<Metrics>,
    ) -> Self {
        let Opened {
            store,
            cluster,
            loaded,
        } = opened;
        let mut accepted = AcceptedIds {
            acks: HashMap::new(),
            order: VecDeque::new(),
            capacity: config.history_limit.max(MIN_REMEMBERED_CLIENT_IDS),
        };
        for m in &loaded.recent_ids {
            if let (Some(client_id), Some(seq)) = (&m.client_id, m.seq) {
                accepted.insert(
                    (username_key(&m.username), client_id.clone()),
                    send_ack(m, seq),
                );
            }
        }
        let mut general_window = Window::new(config.history_limit, usize::MAX);
        for message in loaded.recent {
            general_window.push(message);
        }
        let mut rooms = Rooms::default();
        rooms.insert(RoomLog::general(
            general_window,
            (loaded.last_seq, loaded.last_rev),
            loaded.oldest_seq,
        ));
        let mut retiring = Vec::new();
        for room in loaded.rooms {
            if room.name.starts_with(RETIRED_PREFIX) {
                // Removed before a restart, not yet to the end: its removal goes on.
                retiring.push(room.id);
                continue;
            }
            let window = Window::new(ROOM_WINDOW_MESSAGES, ROOM_WINDOW_BYTES);
            rooms.insert(RoomLog::stored(room, window));
        }
        for (key, room, seq) in loaded.markers {
            if let Some(log) = rooms.get_mut(room) {
                log.markers.insert(key, seq);
            }
        }
        let searches = config.max_searches.max(1);
        Self {
            inner: Arc::new(Shared {
                state: Mutex::new(ChatState {
                    conns: HashMap::new(),
                    names: HashMap::new(),
                    elsewhere: HashMap::new(),
                    rooms,
                    book,
                    limits: Limits::new(&config),
                    retiring,
                    database_down_since: None,
                    clients_sent_away: false,
                    accepted,
                    markers_due: HashSet::new(),
                }),
                store,
                cluster,
                epoch: loaded.epoch,
                config,
                reads: Arc::new(Semaphore::new(CONCURRENT_READS)),
                searches: Arc::new(Semaphore::new(searches)),
                cuts: Fanout {
                    log: Throttle::new(),
                    metrics: metrics.clone(),
                },
                metrics,
                typing_floods: Throttle::new(),
                refused_joins: Throttle::new(),
                limits_hit: Throttle::new(),
                presence_failures: Throttle::new(),
                finisher: std::sync::OnceLock::new(),
            }),
        }
    }

    /// Whether the history store answers within `within`. Blocking: call it off the async
    /// threads.
    ///
    /// # Errors
    /// [`crate::error::Error::Unreachable`] when it does not.
    pub fn check_store(&self, within: std::time::Duration) -> crate::error::Result<()> {
        self.inner.store.check(within)
    }

    /// Whether the shared database answered lately (a store of this node's own always does).
    #[must_use]
    pub fn database_reachable(&self) -> bool {
        self.inner
            .cluster
            .as_ref()
            .is_none_or(|cluster| cluster.is_reachable())
    }

    /// Sends every client away when the store has not answered for [`SEND_AWAY_AFTER`]
    /// (once, until it answers again): each reconnects, and one that knows other nodes moves
    /// to one of them rather than wait here. One slow answer only has requests refused: every
    /// node shares the database, and sending every client of every node away at once for one
    /// stall would bring them all back to it together. Called a few times a second, apart
    /// from the upkeep (whose writes may be the ones waiting for the database).
    pub fn follow_database(&self) {
        let reachable = self.database_reachable();
        let mut state = self.lock();
        let since = match (reachable, state.database_down_since) {
            (true, None) => return,
            (true, Some(_)) => {
                state.database_down_since = None;
                if state.clients_sent_away {
                    state.clients_sent_away = false;
                    tracing::info!("the database answers again: clients are welcome");
                }
                return;
            }
            (false, None) => {
                state.database_down_since = Some(std::time::Instant::now());
                return;
            }
            (false, Some(since)) => since,
        };
        if state.clients_sent_away || since.elapsed() < SEND_AWAY_AFTER {
            return;
        }
        state.clients_sent_away = true;
        let links: Vec<Link> = state.conns.values().map(|conn| conn.link.clone()).collect();
        tracing::warn!(
            connections = links.len(),
            "the database does not answer: every client is sent away (those that know other nodes move to one)"
        );
        drop(state);
        for link in links {
            link.disconnect();
        }
    }

    /// Distinct names joined now.
    #[must_use]
    pub fn joined_users(&self) -> usize {
        self.lock().names.len()
    }

    /// A `chat-message` was refused with `code`.
    pub(super) fn count_refused_message(&self, code: ErrorCode) {
        let name = serde_json::to_value(code)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_else(|| "unknown".to_owned());
        self.inner.metrics.refused(&name);
    }

    pub(super) fn lock(&self) -> MutexGuard<'_, ChatState> {
        // A panic while holding the lock cannot leave the state half-updated in a way that
        // matters more than stopping the whole chat would, so poisoning is ignored.
        self.inner
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Registers a connection as an audience of `general` (idempotent).
    pub fn connect(&self, link: &Link) {
        self.lock().conns.entry(link.id()).or_insert_with(|| Conn {
            link: link.clone(),
            username: None,
            key: String::new(),
            device: None,
            typing: None,
            reading_history: false,
            searching: false,
        });
    }

    /// Forgets a connection; its name is free again and everyone is told it left.
    pub fn leave(&self, sid: Sid) {
        let mut state = self.lock();
        if let (Some(cluster), Some(conn)) = (&self.inner.cluster, state.conns.get(&sid)) {
            if let (Some(room), Some(name)) = (conn.typing, &conn.username) {
                // Its typing stops on the other nodes too.
                cluster.announce_typing(room, name, false);
            }
        }
        state.remove_all(vec![sid], &self.inner.cuts);
    }
}

impl ChatState {
    /// Every name joined, here or on another node, once each, and those of them that are
    /// guests'.
    pub(super) fn users(&self) -> (Vec<String>, Vec<String>) {
        // Sorted by the keys computed at each join: normalizing and case-folding thousands of
        // names at every comparison made a join of the 3,000th user take tens of milliseconds
        // under the lock.
        let mut holders: Vec<(&str, &str, bool)> = self
            .names
            .iter()
            .map(|(key, h)| (key.as_str(), h.name.as_str(), h.guest))
            .chain(
                self.elsewhere
                    .iter()
                    .filter(|(key, _)| !self.names.contains_key(*key))
                    .map(|(key, h)| (key.as_str(), h.name.as_str(), h.guest)),
            )
            .collect();
        holders.sort_unstable_by(|a, b| a.0.cmp(b.0));
        let users = holders
            .iter()
            .map(|(_, name, _)| (*name).to_owned())
            .collect();
        let guests = holders
            .iter()
            .filter(|(_, _, guest)| *guest)
            .map(|(_, name, _)| (*name).to_owned())
            .collect();
        (users, guests)
    }

    /// Lets go of `sid`'s hold on the name `key`; true when nobody holds it any more.
    pub(super) fn release_hold(&mut self, sid: Sid, key: &str, device: Option<DeviceId>) -> bool {
        if let Some(device) = device {
            self.book.mark_seen(device);
        }
        let Some(holder) = self.names.get_mut(key) else {
            return false;
        };
        holder.connections.retain(|held| *held != sid);
        if holder.connections.is_empty() {
            self.names.remove(key);
            true
        } else {
            false
        }
    }

    /// The connections of a name, if it is joined.
    pub(super) fn connections_of(&self, key: &str) -> impl Iterator<Item = Sid> + '_ {
        self.names
            .get(key)
            .into_iter()
            .flat_map(|holder| holder.connections.iter().copied())
    }

    /// The connections a room's events go to.
    pub(super) fn audience(&self, room: RoomId) -> Vec<Sid> {
        match self.rooms.get(room) {
            Some(log) if log.is_general() => self.conns.keys().copied().collect(),
            Some(log) => log
                .members
                .keys()
                .flat_map(|key| self.connections_of(key))
                .collect(),
            None => Vec::new(),
        }
    }

    /// Queues `event` to a room's audience but `except`. Connections whose queue is full are
    /// cut (they reconnect and replay), closed ones forgotten, and the others told they left.
    pub(super) fn broadcast_room(
        &mut self,
        room: RoomId,
        event: &ServerEvent,
        except: Option<Sid>,
        cuts: &Fanout,
    ) {
        if room == GENERAL {
            self.broadcast(event, except, cuts);
        } else {
            let audience = self.audience(room);
            let gone = self.send_to(event, audience.into_iter(), except, cuts);
            self.remove_all(gone, cuts);
        }
    }

    /// Queues `event` to every connection of the name `key` but `except`.
    pub(super) fn tell_name(
        &mut self,
        key: &str,
        event: &ServerEvent,
        except: Option<Sid>,
        cuts: &Fanout,
    ) {
        let targets: Vec<Sid> = self.connections_of(key).collect();
        let gone = self.send_to(event, targets.into_iter(), except, cuts);
        self.remove_all(gone, cuts);
    }

    /// Queues `event` to one connection (cut, like any other, when its queue is full).
    pub(super) fn tell_connection(&mut self, sid: Sid, event: &ServerEvent, cuts: &Fanout) {
        let gone = self.send_to(event, std::iter::once(sid), None, cuts);
        self.remove_all(gone, cuts);
    }

    /// Queues `event` to every connection but `except` (`general`'s audience).
    ///
    /// The payload is encoded once; every queue gets a reference to the same bytes.
    pub(super) fn broadcast(&mut self, event: &ServerEvent, except: Option<Sid>, cuts: &Fanout) {
        let gone = self.send_all(event, except, cuts);
        self.remove_all(gone, cuts);
    }

    /// Queues `event` to every connection but `except`; returns those that must be removed.
    fn send_all(&self, event: &ServerEvent, except: Option<Sid>, cuts: &Fanout) -> Vec<Sid> {
        let Some(encoded) = encode(event) else {
            return Vec::new();
        };
        let mut attempted = 0;
        let gone: Vec<Sid> = self
            .conns
            .iter()
            .filter(|(sid, _)| Some(**sid) != except)
            .filter_map(|(sid, conn)| {
                attempted += 1;
                deliver(*sid, conn, &encoded, event.name(), cuts)
            })
            .collect();
        cuts.delivered(event, attempted - gone.len());
        gone
    }

    /// Queues `event` to `targets` but `except`; returns those that must be removed.
    fn send_to(
        &self,
        event: &ServerEvent,
        targets: impl Iterator<Item = Sid>,
        except: Option<Sid>,
        cuts: &Fanout,
    ) -> Vec<Sid> {
        let Some(encoded) = encode(event) else {
            return Vec::new();
        };
        let mut attempted = 0;
        let gone: Vec<Sid> = targets
            .filter(|sid| Some(*sid) != except)
            .filter_map(|sid| {
                let conn = self.conns.get(&sid)?;
                attempted += 1;
                deliver(sid, conn, &encoded, event.name(), cuts)
            })
            .collect();
        cuts.delivered(event, attempted - gone.len());
        gone
    }

    /// The event that says `username` stopped typing in `room`.
    pub(super) fn stopped_typing(&self, username: String, room: RoomId) -> ServerEvent {
        ServerEvent::Typing(TypingNotice {
            username,
            typing: false,
            room: self
                .rooms
                .get(room)
                .and_then(super::log::RoomLog::wire_name),
        })
    }

    /// Removes connections and tells the others who left — iteratively: a `user-left` that
    /// finds more full queues adds them to the work list instead of recursing (thousands of
    /// clients stalled by one network blip must not overflow the stack).
    pub(super) fn remove_all(&mut self, mut gone: Vec<Sid>, cuts: &Fanout) {
        let mut rounds = 0usize;
        while !gone.is_empty() {
            rounds += 1;
            let mut left: Vec<(RoomId, ServerEvent)> = Vec::new();
            for sid in gone.drain(..) {
                let Some(conn) = self.conns.remove(&sid) else {
                    continue;
                };
                let Some(name) = conn.username else {
                    continue;
                };
                tracing::info!(sid = %sid, username = ?name, "left");
                let last = self.release_hold(sid, &conn.key, conn.device);
                if let Some(room) = conn.typing.filter(|room| !last || *room != GENERAL) {
                    // Another device still holds the name, or the room is not `general`
                    // (whose `user-left` says it all): only its typing stops.
                    left.push((room, self.stopped_typing(name.clone(), room)));
                }
                // Held on another node still: still online.
                if last && !self.elsewhere.contains_key(&conn.key) {
                    left.push((GENERAL, ServerEvent::UserLeft(name)));
                }
            }
            for (room, event) in left {
                let audience = self.audience(room);
                gone.extend(self.send_to(&event, audience.into_iter(), None, cuts));
            }
        }
        if rounds > 1 {
            tracing::warn!(
                rounds,
                remaining = self.conns.len(),
                "slow clients cut in a cascade"
            );
        }
    }
}

/// An event, encoded once for every queue it goes to.
fn encode(event: &ServerEvent) -> Option<Encoded> {
    Encoded::new(event)
        .map_err(|e| tracing::error!(event = event.name(), error = %e, "could not encode an event"))
        .ok()
}

/// Queues an encoded event to one connection; `Some(sid)` when the connection must be removed
/// (its queue was full: it is cut, and reconnects to replay; or it is closed).
fn deliver(sid: Sid, conn: &Conn, encoded: &Encoded, event: &str, cuts: &Fanout) -> Option<Sid> {
    match conn.link.send(encoded) {
        Ok(()) => None,
        Err(SendFailure::Full) => {
            cuts.metrics.cut_off();
            cuts.log.warn(|suppressed| {
                tracing::warn!(
                    sid = %sid,
                    peer = %conn.link.peer(),
                    username = ?conn.username.as_deref().unwrap_or(""),
                    suppressed,
                    "client queue full; disconnecting it (it will reconnect and replay)"
                );
            });
            conn.link.disconnect();
            Some(sid)
        }
        Err(SendFailure::Closed) => Some(sid),
        Err(e) => {
            tracing::error!(sid = %sid, event, error = %e, "could not send an event");
            None
        }
    }
}
