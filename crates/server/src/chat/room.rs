//! The chat room: one ordered log, presence and identity, behind one lock.
//!
//! Identity: a name is held by the connections joined under it. A guest's name (nobody owns it)
//! by one connection; an owned name by any number, one or more per device of its owner, and it
//! is listed once: `user-joined` when the first of them joins, `user-left` when the last leaves.
//! Whether a join may take a name is the [`NameBook`]'s answer, asked under the lock, so a claim
//! and the presence it makes are one step.
//!
//! Every operation that changes what clients see (publishing a stored message, a join, a
//! leave) takes the lock, updates the state and queues the resulting packets to each client
//! *while holding it*. Queuing is a non-blocking push into each connection's queue, so holding
//! a `std::sync::Mutex` is right here, and it is what gives every receiver the same order: no
//! two broadcasts interleave, and a joiner's history ack always lands before the first live
//! message after it.
//!
//! A message is stored before anyone sees it: [`Room::chat`] stores the draft (the store gives
//! it its `seq` in the commit) and only then broadcasts it and answers the sender, all under
//! the lock, so `seq` order is the order everyone sees. A failed write leaves no trace: the
//! message is refused as `unavailable`, and its retry is stored afresh.

use std::collections::{hash_map::Entry, HashMap, HashSet, VecDeque};
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use chrono::TimeDelta;

use charla_protocol::chat::{
    ChatMessage, DeviceForgotten, ErrorCode, Gap, HistoryPage, HistoryRequest, JoinAck,
    JoinRequest, OutgoingMessage, Refusal, SendAck, ServerEvent, TypingNotice, MAX_HISTORY_PAGE,
};
use charla_protocol::rules::{check_text, normalize_username, username_key};
use smallvec::{smallvec, SmallVec};
use tokio::sync::Semaphore;

use super::rate_limit::Limiters;
use super::reply::{self, Reply};
use crate::config::{ServerConfig, Storage};
use crate::names::{Became, Credential, DeviceId, NameBook, Standing};
use crate::store::{Draft, Loaded, NotStored, StoreHandle, GENERAL};
use crate::throttle::Throttle;
use crate::transport::{Encoded, Link, SendFailure, Sid};

/// How many `clientId`s are remembered for de-duplication, at least.
pub const MIN_REMEMBERED_CLIENT_IDS: usize = 10_000;
/// `history` pages read from disk at once, server-wide.
const CONCURRENT_READS: usize = 4;
/// Typing starts one name may announce: one a second, three at once.
const TYPING_PER_SEC: u32 = 1;
const TYPING_BURST: u32 = 3;
/// Refused joins of owned names (a wrong key or link code) one name, and one address, may
/// have: one a second, ten at once.
const REFUSED_JOINS_PER_SEC: u32 = 1;
const REFUSED_JOINS_BURST: u32 = 10;
/// Names one address may claim: twenty at once (an office starting Charla on its first
/// morning), then two a minute. Claims are kept for months: unbounded, one script could squat
/// every common name.
const CLAIMS_PER_MINUTE: u32 = 2;
const CLAIMS_BURST: u32 = 20;
/// Link codes one name may ask for: five at once, then two a minute.
const LINK_CODES_PER_MINUTE: u32 = 2;
const LINK_CODES_BURST: u32 = 5;

/// The shared room. Cheap to clone.
#[derive(Clone)]
pub struct Room {
    inner: Arc<Shared>,
}

struct Shared {
    state: Mutex<RoomState>,
    store: Option<StoreHandle>,
    config: Arc<ServerConfig>,
    epoch: String,
    reads: Arc<Semaphore>,
    cuts: Throttle,
    typing_floods: Throttle,
    refused_joins: Throttle,
}

struct Conn {
    link: Link,
    username: Option<String>,
    /// The name's uniqueness key ([`username_key`]), computed once at the join.
    key: String,
    /// The device that proved the name; `None` for a guest.
    device: Option<DeviceId>,
    typing: bool,
    reading_history: bool,
}

/// The connections that hold one name.
struct Holder {
    /// The name as the first of them joined with it.
    name: String,
    connections: SmallVec<[Sid; 2]>,
    /// Nobody owns the name.
    guest: bool,
}

/// (username key, clientId)
type DedupeKey = (String, String);

struct RoomState {
    /// The highest `seq` published.
    last_seq: u64,
    /// The lowest `seq` still kept (in the store, or in memory without one).
    oldest_kept: u64,
    /// The most recent messages, oldest first.
    window: VecDeque<ChatMessage>,
    conns: HashMap<Sid, Conn>,
    /// username key → the connections that hold the name.
    names: HashMap<String, Holder>,
    book: Arc<NameBook>,
    refused_by_name: Limiters<String>,
    refused_by_address: Limiters<IpAddr>,
    claims_by_address: Limiters<IpAddr>,
    link_codes_by_name: Limiters<String>,
    accepted: AcceptedIds,
    by_name: Limiters<String>,
    by_address: Limiters<IpAddr>,
    typing_starts: Limiters<String>,
}

/// `clientId`s already stored, per author, with the ack they got, oldest evicted first.
struct AcceptedIds {
    acks: HashMap<DedupeKey, SendAck>,
    order: VecDeque<DedupeKey>,
    capacity: usize,
}

impl AcceptedIds {
    fn insert(&mut self, key: DedupeKey, ack: SendAck) {
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

/// What a join replays.
struct Replay {
    messages: Vec<ChatMessage>,
    more: bool,
    gap: Option<Gap>,
}

impl Room {
    /// A room resuming from what the store held (`store` is `None` for a history kept only
    /// in memory).
    #[must_use]
    pub fn new(
        loaded: Loaded,
        store: Option<StoreHandle>,
        book: Arc<NameBook>,
        config: Arc<ServerConfig>,
    ) -> Self {
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
        Self {
            inner: Arc::new(Shared {
                state: Mutex::new(RoomState {
                    last_seq: loaded.last_seq,
                    oldest_kept: loaded.oldest_seq,
                    window: loaded.recent.into(),
                    conns: HashMap::new(),
                    names: HashMap::new(),
                    book,
                    refused_by_name: Limiters::with_burst(
                        REFUSED_JOINS_PER_SEC,
                        REFUSED_JOINS_BURST,
                    ),
                    refused_by_address: Limiters::with_burst(
                        REFUSED_JOINS_PER_SEC,
                        REFUSED_JOINS_BURST,
                    ),
                    claims_by_address: Limiters::per_minute(CLAIMS_PER_MINUTE, CLAIMS_BURST),
                    link_codes_by_name: Limiters::per_minute(
                        LINK_CODES_PER_MINUTE,
                        LINK_CODES_BURST,
                    ),
                    accepted,
                    by_name: Limiters::new(config.rate_limit_per_sec),
                    by_address: Limiters::new(config.rate_limit_per_address_per_sec),
                    typing_starts: Limiters::with_burst(TYPING_PER_SEC, TYPING_BURST),
                }),
                store,
                epoch: loaded.epoch,
                config,
                reads: Arc::new(Semaphore::new(CONCURRENT_READS)),
                cuts: Throttle::new(),
                typing_floods: Throttle::new(),
                refused_joins: Throttle::new(),
            }),
        }
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
        self.lock().conns.entry(link.id()).or_insert_with(|| Conn {
            link: link.clone(),
            username: None,
            key: String::new(),
            device: None,
            typing: false,
            reading_history: false,
        });
    }

    /// Binds a username to the connection, answers with the users and the history the client
    /// lacks (when an answer is wanted), tells everyone else (unless another device of the same
    /// owner holds the name already).
    ///
    /// # Errors
    /// A bad name, a guest's name in use, an owned name without its key (`name_owned`), a bad
    /// link code, too many of those, or a connection that has joined already.
    pub fn join(
        &self,
        link: &Link,
        request: JoinRequest,
        answer_wanted: bool,
    ) -> Result<Reply, Refusal> {
        let sid = link.id();
        let mut guard = self.lock();
        let state = &mut *guard;
        let conn = state.conns.get(&sid).ok_or_else(gone)?;
        if let Some(current) = &conn.username {
            // Refused before anything is built: repeating `join` costs the server nothing.
            return Err(Refusal::new(
                ErrorCode::AlreadyJoined,
                format!("this connection already joined as {current}"),
            ));
        }
        let name = normalize_username(&request.username)?;
        let key = username_key(&name);
        let held_by_owner = match state.names.get(&key) {
            Some(holder) if holder.guest => return Err(taken(sid, &name)),
            Some(_) => true,
            None => false,
        };
        let standing = self.authorize(state, link, &key, &name, &request, held_by_owner)?;
        let device = match standing {
            Standing::Owner { device, .. } => Some(device),
            // Released by an operator a moment ago, its devices not yet told.
            Standing::Guest if held_by_owner => return Err(taken(sid, &name)),
            Standing::Guest => None,
        };
        if held_by_owner
            && matches!(
                standing,
                Standing::Owner {
                    how: Became::Claimed,
                    ..
                }
            )
        {
            // Free in the book, yet held: by devices an operator released a moment ago. They
            // lose it now, before it is someone else's.
            let released: HashSet<DeviceId> = state
                .names
                .get(&key)
                .into_iter()
                .flat_map(|holder| holder.connections.iter())
                .filter_map(|held| state.conns.get(held).and_then(|c| c.device))
                .collect();
            state.unjoin_devices(&released, Some(name_released()), &self.inner.cuts);
        }
        let guest = device.is_none();
        let conn = state.conns.get_mut(&sid).ok_or_else(gone)?;
        conn.username = Some(name.clone());
        conn.key.clone_from(&key);
        conn.device = device;
        let first = match state.names.entry(key) {
            Entry::Occupied(mut holder) => {
                holder.get_mut().connections.push(sid);
                false
            }
            Entry::Vacant(free) => {
                free.insert(Holder {
                    name: name.clone(),
                    connections: smallvec![sid],
                    guest,
                });
                true
            }
        };
        link.mark_joined();

        let (users, guests) = state.users();
        // A `since` from another epoch counts for nothing here: the client starts over.
        let same_epoch = request
            .epoch
            .as_deref()
            .is_none_or(|e| e == self.inner.epoch);
        let since = request.since.filter(|s| *s > 0 && same_epoch);
        let reply = if answer_wanted {
            let replay = state.replay(since, self.inner.config.history_bytes());
            Reply::now(
                link,
                &JoinAck {
                    ok: true,
                    username: name.clone(),
                    users: users.clone(),
                    history: replay.messages,
                    epoch: Some(self.inner.epoch.clone()),
                    more: replay.more,
                    gap: replay.gap,
                    owned: !guest,
                },
            )?
        } else {
            Reply::Nothing
        };
        if let Err(e) = link.emit(&ServerEvent::Users { users, guests }) {
            tracing::debug!(sid = %sid, error = %e, "could not send users");
        }
        tracing::info!(sid = %sid, username = ?name, ?standing, "joined");
        if first {
            state.broadcast(
                &ServerEvent::UserJoined {
                    username: name,
                    guest,
                },
                Some(sid),
                &self.inner.cuts,
            );
        }
        Ok(reply)
    }

    /// Asks the name book who a join is. Refused attempts at an owned name (a wrong key or
    /// link code) are limited per name and per address, and logged: an address past its limit
    /// is refused before the book is asked; the right key is always let in, so flooding a name
    /// with wrong keys cannot lock its owner out.
    fn authorize(
        &self,
        state: &mut RoomState,
        link: &Link,
        key: &str,
        name: &str,
        request: &JoinRequest,
        in_use: bool,
    ) -> Result<Standing, Refusal> {
        let now = Instant::now();
        let peer = link.peer();
        state
            .refused_by_address
            .check(&peer, now)
            .map_err(|wait| too_many("refused joins", wait))?;
        let credential = match (&request.key, &request.link) {
            (Some(device_key), Some(code)) => Credential::Link {
                key: device_key,
                code,
            },
            (Some(device_key), None) => Credential::Key(device_key),
            (None, _) => Credential::Nothing,
        };
        let may_claim = state.claims_by_address.check(&peer, now);
        match state
            .book
            .authorize(key, name, credential, in_use, may_claim.is_ok())
        {
            Ok(
                claimed @ Standing::Owner {
                    how: Became::Claimed,
                    ..
                },
            ) => {
                let _ = state.claims_by_address.take(&peer, now);
                Ok(claimed)
            }
            Err(refused) if refused.code == ErrorCode::RateLimited => {
                let wait = may_claim.err().unwrap_or(Duration::from_secs(60));
                tracing::warn!(sid = %link.id(), peer = %peer, username = ?name, "too many names claimed from one address");
                Err(Refusal::later(
                    ErrorCode::RateLimited,
                    refused.message,
                    wait_ms(wait),
                ))
            }
            Err(refused)
                if matches!(refused.code, ErrorCode::NameOwned | ErrorCode::InvalidLink) =>
            {
                let by_name = state.refused_by_name.take(&key.to_owned(), now);
                let by_address = state.refused_by_address.take(&peer, now);
                self.inner.refused_joins.warn(|suppressed| {
                    tracing::warn!(sid = %link.id(), peer = %peer, username = ?name, code = ?refused.code, suppressed, "refused a join of an owned name");
                });
                Err(match by_name.and(by_address) {
                    Ok(()) => refused,
                    Err(wait) => too_many("refused joins", wait),
                })
            }
            other => other,
        }
    }

    /// Answers `device-link`: a code another device of this name's owner joins with, once,
    /// within ten minutes.
    ///
    /// # Errors
    /// Not joined; joined as a guest; the book cannot be written.
    pub fn device_link(&self, link: &Link, answer_wanted: bool) -> Result<Reply, Refusal> {
        let device = self.device_of(link)?;
        if !answer_wanted {
            // A code nobody would see.
            return Ok(Reply::Nothing);
        }
        let book = {
            let mut guard = self.lock();
            let state = &mut *guard;
            let key = state
                .conns
                .get(&link.id())
                .map(|c| c.key.clone())
                .ok_or_else(not_joined)?;
            state
                .link_codes_by_name
                .take(&key, Instant::now())
                .map_err(|wait| too_many("link codes", wait))?;
            state.book.clone()
        };
        let code = book.link_code(device)?;
        Reply::now(link, &code)
    }

    /// Answers `device-forget`: revokes this connection's device; every connection of it leaves
    /// the name (the name is free when it was its last device).
    ///
    /// # Errors
    /// Not joined; joined as a guest; the book cannot be written.
    pub fn device_forget(&self, link: &Link, answer_wanted: bool) -> Result<Reply, Refusal> {
        let device = self.device_of(link)?;
        let mut guard = self.lock();
        let state = &mut *guard;
        let released = state.book.forget(device)?;
        let reply = if answer_wanted {
            Reply::now(link, &DeviceForgotten { ok: true, released })?
        } else {
            Reply::Nothing
        };
        let revoked = [device].into_iter().collect();
        state.unjoin_devices(&revoked, None, &self.inner.cuts);
        Ok(reply)
    }

    /// Takes names away from connections whose device an operator removed from the book
    /// (`charla-server names release`): each is told why (`error` `name_released`) and is no
    /// longer joined. Called once a second; does nothing unless another process wrote the book.
    pub fn drop_revoked(&self) {
        let mut guard = self.lock();
        let state = &mut *guard;
        let conns = &state.conns;
        let connected = || conns.values().filter_map(|c| c.device).collect();
        let revoked: HashSet<DeviceId> = match state.book.revoked(connected) {
            Ok(revoked) => revoked.into_iter().collect(),
            Err(e) => {
                tracing::warn!(error = %e, "could not check the name book for released names");
                return;
            }
        };
        if !revoked.is_empty() {
            tracing::info!(
                devices = revoked.len(),
                "names released by an operator: their connections are told"
            );
            state.unjoin_devices(&revoked, Some(name_released()), &self.inner.cuts);
        }
    }

    /// Removes messages older than the retention age, if one is set: from the store, and from
    /// the recent window, so no join or page gives them any more; a client that had not seen
    /// them is told the gap on its next join.
    pub fn expire_old(&self) {
        let Some(age) = self.inner.config.retention_age else {
            return;
        };
        let Some(cutoff) = TimeDelta::from_std(age)
            .ok()
            .and_then(|age| self.inner.config.clock.now().checked_sub_signed(age))
        else {
            return;
        };
        let oldest = if let Some(store) = &self.inner.store {
            store.expire_before(GENERAL, cutoff).unwrap_or_else(|e| {
                tracing::warn!(error = %e, "could not remove messages past the retention age");
                None
            })
        } else {
            let state = self.lock();
            state
                .window
                .front()
                .filter(|m| m.timestamp < cutoff)
                .map(|_| {
                    state
                        .window
                        .iter()
                        .find(|m| m.timestamp >= cutoff)
                        .and_then(|m| m.seq)
                        .unwrap_or(state.last_seq + 1)
                })
        };
        if let Some(oldest) = oldest {
            let mut state = self.lock();
            state.oldest_kept = state.oldest_kept.max(oldest);
            while state.window.front().is_some_and(|m| m.seq < Some(oldest)) {
                state.window.pop_front();
            }
        }
    }

    /// Notes every connected device as seen now (a device connected for months is not idle).
    pub fn touch_connected(&self) {
        let state = self.lock();
        for device in state.conns.values().filter_map(|c| c.device) {
            state.book.mark_seen(device);
        }
    }

    /// Writes the last-seen times of devices that left since the last call.
    pub fn flush_seen(&self) {
        let book = self.lock().book.clone();
        if let Err(e) = book.flush_seen() {
            tracing::warn!(error = %e, "could not record when devices were last seen; retrying");
        }
    }

    /// The device a joined connection proved its name with.
    fn device_of(&self, link: &Link) -> Result<DeviceId, Refusal> {
        let state = self.lock();
        let conn = state.conns.get(&link.id()).ok_or_else(not_joined)?;
        conn.username.as_ref().ok_or_else(not_joined)?;
        conn.device.ok_or_else(|| {
            Refusal::new(
                ErrorCode::NotOwned,
                "this connection joined as a guest: join with a device key to own the name",
            )
        })
    }

    /// Answers `history {before, limit}`: the newest messages before `before`, from memory
    /// when the recent window has them, else read from disk off the async threads.
    ///
    /// # Errors
    /// Not joined; too many reads at once.
    pub fn history(
        &self,
        link: &Link,
        request: HistoryRequest,
        answer_wanted: bool,
    ) -> Result<Reply, Refusal> {
        let limit = request.limit.clamp(1, MAX_HISTORY_PAGE);
        let max_bytes = self.inner.config.history_bytes();
        let mut guard = self.lock();
        let state = &mut *guard;
        let conn = state.conns.get(&link.id()).ok_or_else(not_joined)?;
        conn.username.as_ref().ok_or_else(not_joined)?;
        if !answer_wanted {
            // Nobody to answer: nothing to do.
            return Ok(Reply::Nothing);
        }
        let below = state
            .window
            .partition_point(|m| m.seq < Some(request.before));
        let window_front = state
            .window
            .front()
            .and_then(|m| m.seq)
            .unwrap_or(state.last_seq + 1);
        let store = match &self.inner.store {
            Some(store) if below < limit && window_front > state.oldest_kept => store.clone(),
            _ => {
                let messages: Vec<ChatMessage> = state
                    .window
                    .range(below.saturating_sub(limit)..below)
                    .cloned()
                    .collect();
                return Reply::now(link, &page(messages, state.oldest_kept, max_bytes));
            }
        };
        let conn = state.conns.get_mut(&link.id()).ok_or_else(not_joined)?;
        if conn.reading_history {
            return Err(Refusal::later(
                ErrorCode::RateLimited,
                "one history request at a time",
                100,
            ));
        }
        let Ok(permit) = self.inner.reads.clone().try_acquire_owned() else {
            return Err(Refusal::later(
                ErrorCode::Unavailable,
                "the server is busy reading history",
                200,
            ));
        };
        conn.reading_history = true;
        let oldest = state.oldest_kept;
        let room = self.clone();
        let sid = link.id();
        drop(guard);
        Ok(Reply::Later(tokio::task::spawn_blocking(move || {
            let result = store.page_before(GENERAL, request.before, limit);
            drop(permit);
            if let Some(conn) = room.lock().conns.get_mut(&sid) {
                conn.reading_history = false;
            }
            match result {
                Ok(messages) => reply::encode(&page(messages, oldest, max_bytes)),
                Err(e) => {
                    tracing::error!(error = %e, "could not read history");
                    Err(Refusal::later(
                        ErrorCode::Unavailable,
                        "history could not be read",
                        1000,
                    ))
                }
            }
        })))
    }

    /// Accepts a message: stores it (which gives it the next `seq`), then broadcasts it and
    /// answers with its ack. A `clientId` seen before is acked again instead.
    ///
    /// # Errors
    /// Not joined, empty or too long, over the rate limit, or not stored.
    pub fn chat(
        &self,
        link: &Link,
        outgoing: OutgoingMessage,
        answer_wanted: bool,
    ) -> Result<Reply, Refusal> {
        let config = &self.inner.config;
        let sid = link.id();
        let mut guard = self.lock();
        let state = &mut *guard;
        let conn = state.conns.get_mut(&sid).ok_or_else(|| missing(link))?;
        let username = conn.username.clone().ok_or_else(not_joined)?;
        check_text(&outgoing.text, config.max_message_chars)?;
        let name_key = conn.key.clone();
        let guest = conn.device.is_none();

        let dedupe_key = outgoing
            .client_id
            .as_ref()
            .map(|id| (name_key.clone(), id.clone()));
        if let Some(key) = &dedupe_key {
            if let Some(previous) = state.accepted.acks.get(key) {
                tracing::debug!(sid = %sid, "retry of a stored message acked again");
                return if answer_wanted {
                    Reply::now(link, previous)
                } else {
                    Ok(Reply::Nothing)
                };
            }
        }
        // Both buckets must have a token; one is taken from each only when both do.
        let now = Instant::now();
        let peer = link.peer();
        state
            .by_name
            .check(&name_key, now)
            .and(state.by_address.check(&peer, now))
            .map_err(|wait| too_many("messages", wait))?;
        let _ = state.by_name.take(&name_key, now);
        let _ = state.by_address.take(&peer, now);
        if let Some(conn) = state.conns.get_mut(&sid) {
            conn.typing = false;
        }

        let draft = Draft {
            id_prefix: sid.to_string(),
            username,
            text: outgoing.text,
            client_id: outgoing.client_id,
            guest,
        };
        // On the server's clock, the one retention reads.
        let at = charla_protocol::timestamp::millis(config.clock.now());
        let message = match &self.inner.store {
            None => draft.into_message(state.last_seq + 1, at),
            Some(store) => store
                .append(GENERAL, draft, at)
                .map_err(|NotStored(reason)| {
                    tracing::warn!(reason, "a message was refused: it could not be stored");
                    Refusal::later(
                        ErrorCode::Unavailable,
                        "the server could not store the message; it will be retried",
                        1000,
                    )
                })?,
        };
        let ack = state.publish(message, dedupe_key, config, &self.inner.cuts);
        if answer_wanted {
            Reply::now(link, &ack)
        } else {
            Ok(Reply::Nothing)
        }
    }

    /// Relays a change of typing state to everyone else. Starting to type is rate-limited per
    /// name (a flood is dropped, with a log line now and then); stopping always goes through.
    ///
    /// # Errors
    /// Not joined.
    pub fn typing(&self, link: &Link, typing: bool) -> Result<Reply, Refusal> {
        let sid = link.id();
        let mut guard = self.lock();
        let state = &mut *guard;
        let conn = state.conns.get_mut(&sid).ok_or_else(not_joined)?;
        let username = conn.username.clone().ok_or_else(not_joined)?;
        if conn.typing == typing {
            return Ok(Reply::Nothing);
        }
        if typing && state.typing_starts.take(&conn.key, Instant::now()).is_err() {
            self.inner.typing_floods.warn(|suppressed| {
                tracing::warn!(sid = %sid, username = ?username, suppressed, "typing flood: changes dropped");
            });
            return Ok(Reply::Nothing);
        }
        if let Some(conn) = state.conns.get_mut(&sid) {
            conn.typing = typing;
        }
        state.broadcast(
            &ServerEvent::Typing(TypingNotice { username, typing }),
            Some(sid),
            &self.inner.cuts,
        );
        Ok(Reply::Nothing)
    }

    /// Forgets a connection; its name is free again and everyone is told it left.
    pub fn leave(&self, sid: Sid) {
        let mut state = self.lock();
        state.remove_all(vec![sid], &self.inner.cuts);
    }
}

/// An answer to `history`: `messages` trimmed to `max_bytes` from the oldest side.
fn page(mut messages: Vec<ChatMessage>, oldest_kept: u64, max_bytes: usize) -> HistoryPage {
    let keep = newest_within(&messages, max_bytes);
    messages.drain(..messages.len() - keep);
    let first = messages.first().and_then(|m| m.seq);
    HistoryPage {
        ok: true,
        more: first.is_some_and(|f| f > oldest_kept),
        messages,
    }
}

/// How many of the newest `messages` fit in `max_bytes` (at least one, if there is one).
fn newest_within<'a>(
    messages: impl IntoIterator<IntoIter = impl DoubleEndedIterator<Item = &'a ChatMessage>>,
    max_bytes: usize,
) -> usize {
    let mut bytes = 0;
    let mut count = 0;
    for m in messages.into_iter().rev() {
        let size = approximate_size(m);
        if count > 0 && bytes + size > max_bytes {
            break;
        }
        bytes += size;
        count += 1;
    }
    count
}

/// A message's size in JSON, near enough (escapes aside) to bound a reply.
fn approximate_size(m: &ChatMessage) -> usize {
    m.text.len() + m.username.len() + m.id.len() + m.client_id.as_ref().map_or(0, String::len) + 96
}

impl RoomState {
    /// Every name joined, once each, and those of them that are guests'.
    fn users(&self) -> (Vec<String>, Vec<String>) {
        // Sorted by the keys computed at each join: normalizing and case-folding thousands of
        // names at every comparison made a join of the 3,000th user take tens of milliseconds
        // under the lock.
        let mut holders: Vec<(&str, &Holder)> = self
            .names
            .iter()
            .map(|(key, h)| (key.as_str(), h))
            .collect();
        holders.sort_unstable_by(|a, b| a.0.cmp(b.0));
        let users = holders.iter().map(|(_, h)| h.name.clone()).collect();
        let guests = holders
            .iter()
            .filter(|(_, h)| h.guest)
            .map(|(_, h)| h.name.clone())
            .collect();
        (users, guests)
    }

    /// Lets go of `sid`'s hold on the name `key`; true when nobody holds it any more.
    fn release_hold(&mut self, sid: Sid, key: &str, device: Option<DeviceId>) -> bool {
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

    /// Takes the name away from every connection of `devices` (they stay connected, not
    /// joined), telling each `notice` first when there is one, and everyone else of the names
    /// nobody holds any more.
    fn unjoin_devices(
        &mut self,
        devices: &HashSet<DeviceId>,
        notice: Option<Refusal>,
        cuts: &Throttle,
    ) {
        let sids: Vec<Sid> = self
            .conns
            .iter()
            .filter(|(_, c)| c.device.is_some_and(|d| devices.contains(&d)))
            .map(|(sid, _)| *sid)
            .collect();
        let mut left = Vec::new();
        let mut stopped_typing = Vec::new();
        for sid in sids {
            let Some(conn) = self.conns.get_mut(&sid) else {
                continue;
            };
            let (name, key, device, typing) = (
                conn.username.take(),
                std::mem::take(&mut conn.key),
                conn.device.take(),
                std::mem::take(&mut conn.typing),
            );
            if let Some(notice) = &notice {
                if let Err(e) = conn.link.emit(&ServerEvent::Error(notice.clone())) {
                    tracing::debug!(sid = %sid, error = %e, "could not tell a connection its name is gone");
                }
            }
            if self.release_hold(sid, &key, device) {
                left.extend(name);
            } else if typing {
                // Another device still holds the name: only its typing stops.
                stopped_typing.extend(name);
            }
        }
        for username in stopped_typing {
            let stopped = ServerEvent::Typing(TypingNotice {
                username,
                typing: false,
            });
            self.broadcast(&stopped, None, cuts);
        }
        for name in left {
            self.broadcast(&ServerEvent::UserLeft(name), None, cuts);
        }
    }

    /// The messages after `since` (or the recent ones, without it), newest first up to
    /// `max_bytes`; `more` when kept messages between those and `since` were left out; `gap`
    /// for those after `since` the server no longer keeps.
    fn replay(&self, since: Option<u64>, max_bytes: usize) -> Replay {
        let floor = since.unwrap_or(0);
        let gap = since.filter(|s| s + 1 < self.oldest_kept).map(|s| Gap {
            from: s + 1,
            to: self.oldest_kept - 1,
        });
        let newer = self.window.len() - self.window.partition_point(|m| m.seq <= Some(floor));
        let newest = self.window.range(self.window.len() - newer..);
        let count = newest_within(newest, max_bytes);
        let messages: Vec<ChatMessage> = self
            .window
            .range(self.window.len() - count..)
            .cloned()
            .collect();
        let first = messages
            .first()
            .and_then(|m| m.seq)
            .unwrap_or(self.last_seq + 1);
        Replay {
            more: first > (floor + 1).max(self.oldest_kept),
            messages,
            gap,
        }
    }

    /// Makes a stored message visible (the window, the dedupe memory, every member) and
    /// returns its ack.
    fn publish(
        &mut self,
        message: ChatMessage,
        dedupe_key: Option<DedupeKey>,
        config: &ServerConfig,
        cuts: &Throttle,
    ) -> SendAck {
        let seq = message.seq.unwrap_or(self.last_seq + 1);
        self.last_seq = seq;
        self.window.push_back(message.clone());
        while self.window.len() > config.history_limit {
            self.window.pop_front();
        }
        self.oldest_kept = match (&config.storage, config.retention_messages) {
            (Storage::Memory, _) => self.window.front().and_then(|m| m.seq).unwrap_or(seq + 1),
            (Storage::Sqlite(_), Some(keep)) => {
                self.oldest_kept.max((seq + 1).saturating_sub(keep))
            }
            (Storage::Sqlite(_), None) => self.oldest_kept,
        };
        let ack = send_ack(&message, seq);
        if let Some(key) = dedupe_key {
            self.accepted.insert(key, ack.clone());
        }
        self.broadcast(&ServerEvent::Message(message), None, cuts);
        ack
    }

    /// Queues `event` to every connection but `except`. Connections whose queue is full are
    /// cut (they reconnect and replay with `since`), closed ones forgotten, and the others are
    /// told they left.
    ///
    /// The payload is encoded once; every queue gets a reference to the same bytes.
    fn broadcast(&mut self, event: &ServerEvent, except: Option<Sid>, cuts: &Throttle) {
        let gone = self.send_all(event, except, cuts);
        self.remove_all(gone, cuts);
    }

    /// Queues `event` to every connection but `except`; returns those that must be removed.
    fn send_all(&self, event: &ServerEvent, except: Option<Sid>, cuts: &Throttle) -> Vec<Sid> {
        let name = event.name();
        let encoded = match Encoded::new(event) {
            Ok(encoded) => encoded,
            Err(e) => {
                tracing::error!(event = name, error = %e, "could not encode an event");
                return Vec::new();
            }
        };
        let mut gone = Vec::new();
        for (sid, conn) in &self.conns {
            if Some(*sid) == except {
                continue;
            }
            match conn.link.send(&encoded) {
                Ok(()) => {}
                Err(SendFailure::Full) => {
                    cuts.warn(|suppressed| {
                        tracing::warn!(
                            sid = %sid,
                            peer = %conn.link.peer(),
                            username = ?conn.username.as_deref().unwrap_or(""),
                            suppressed,
                            "client queue full; disconnecting it (it will reconnect and replay)"
                        );
                    });
                    conn.link.disconnect();
                    gone.push(*sid);
                }
                Err(SendFailure::Closed) => gone.push(*sid),
                Err(e) => {
                    tracing::error!(sid = %sid, event = name, error = %e, "could not send an event");
                }
            }
        }
        gone
    }

    /// Removes connections and tells the others who left — iteratively: a `user-left` that
    /// finds more full queues adds them to the work list instead of recursing (thousands of
    /// clients stalled by one network blip must not overflow the stack).
    fn remove_all(&mut self, mut gone: Vec<Sid>, cuts: &Throttle) {
        let mut rounds = 0usize;
        while !gone.is_empty() {
            rounds += 1;
            let mut left = Vec::new();
            for sid in gone.drain(..) {
                let Some(conn) = self.conns.remove(&sid) else {
                    continue;
                };
                if let Some(name) = conn.username {
                    tracing::info!(sid = %sid, username = ?name, "left");
                    if self.release_hold(sid, &conn.key, conn.device) {
                        left.push(ServerEvent::UserLeft(name));
                    } else if conn.typing {
                        // Another device still holds the name: only its typing stops.
                        left.push(ServerEvent::Typing(TypingNotice {
                            username: name,
                            typing: false,
                        }));
                    }
                }
            }
            for event in left {
                gone.extend(self.send_all(&event, None, cuts));
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

fn send_ack(message: &ChatMessage, seq: u64) -> SendAck {
    SendAck {
        ok: true,
        id: message.id.clone(),
        seq,
        timestamp: message.timestamp,
    }
}

/// The refusal for a connection the room does not hold: one it has just cut is told to try
/// again (it will, after reconnecting), anything else to join first.
fn missing(link: &Link) -> Refusal {
    if link.is_closing() {
        gone()
    } else {
        not_joined()
    }
}

fn not_joined() -> Refusal {
    Refusal::new(ErrorCode::NotJoined, "join the chat first")
}

fn gone() -> Refusal {
    Refusal::later(ErrorCode::Unavailable, "the connection is closing", 1000)
}

fn name_released() -> Refusal {
    Refusal::new(
        ErrorCode::NameReleased,
        "an operator released this name; pick a name to join again",
    )
}

fn taken(sid: Sid, name: &str) -> Refusal {
    tracing::debug!(sid = %sid, username = ?name, "username taken");
    Refusal::new(
        ErrorCode::UsernameTaken,
        format!("{name} is already in the chat"),
    )
}

/// A limiter's wait, as a refusal's `retryAfterMs` (at least 1).
fn wait_ms(wait: Duration) -> u64 {
    u64::try_from(wait.as_millis()).unwrap_or(u64::MAX).max(1)
}

/// `rate_limited`: too many of `what`; try again after `wait`.
fn too_many(what: &str, wait: Duration) -> Refusal {
    let ms = wait_ms(wait);
    Refusal::later(
        ErrorCode::RateLimited,
        format!("too many {what}; retry in {ms} ms"),
        ms,
    )
}
