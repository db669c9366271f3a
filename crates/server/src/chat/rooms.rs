//! Rooms and direct messages: `room-create`, `room-join`, `room-leave`, `rooms`,
//! `room-topic`, `dm-open`, and read markers (`read`).
//!
//! Only owned names have rooms: a guest is in `general` and nowhere else. A DM is a room of
//! two owned names that nobody else can find: every path that names a room the asker is not a
//! member of (`room-join`, `history`, `chat-message`, `typing`, `read`, a join's replay) says
//! `no_such_room` for a DM, exactly as for a room that does not exist.
//!
//! Read markers live in memory and are written once a second ([`Chat::flush_markers`]); a
//! marker only moves forward, and every device of the user is told where it is now.

use std::time::Instant;

use charla_protocol::chat::{
    dm_number, invalid_room, normalize_room_name, DmOpen, Done, ErrorCode, ReadUpTo, Refusal,
    RoomEntered, RoomJoin, RoomKind, RoomList, RoomRef, RoomReplay, RoomTopic, ServerEvent,
    TopicChange, GENERAL_ROOM,
};
use charla_protocol::rules::{normalize_topic, normalize_username, username_key};

use super::log::RoomLog;
use super::reply::Reply;
use super::state::{Chat, ChatState, ROOM_WINDOW_BYTES, ROOM_WINDOW_MESSAGES};
use super::{not_joined, too_many};
use crate::store::{Member, RoomChange, RoomId, GENERAL};
use crate::transport::Link;

/// Rooms (and DMs) one name may be a member of.
pub const MAX_ROOMS_PER_NAME: usize = 500;
/// Public rooms one `rooms` answer lists (the most recently active).
const MAX_LISTED_ROOMS: usize = 500;
/// Rooms retired, and retired rooms purged, at most in one upkeep call (each a write; the
/// retirement under the chat's lock).
const RETIRED_PER_CALL: usize = 4;

/// Who is asking: a joined connection's name.
struct Asker {
    key: String,
    name: String,
    guest: bool,
}

impl Chat {
    fn asker(state: &ChatState, link: &Link) -> Result<Asker, Refusal> {
        let conn = state.conns.get(&link.id()).ok_or_else(not_joined)?;
        let name = conn.username.clone().ok_or_else(not_joined)?;
        Ok(Asker {
            key: conn.key.clone(),
            name,
            guest: conn.device.is_none(),
        })
    }

    /// Like [`Self::asker`], but only an owned name may.
    fn owner(state: &ChatState, link: &Link) -> Result<Asker, Refusal> {
        let asker = Self::asker(state, link)?;
        if asker.guest {
            return Err(guests_only_general());
        }
        Ok(asker)
    }

    /// Answers `room-create`: a new public room, the asker its first member.
    ///
    /// # Errors
    /// A guest; a bad name or topic; a name taken; too many rooms (made by this name, joined
    /// by it, or on the server); the store failed.
    pub fn room_create(&self, link: &Link, request: RoomTopic) -> Result<Reply, Refusal> {
        let mut guard = self.lock();
        let state = &mut *guard;
        let asker = Self::owner(state, link)?;
        let name = normalize_room_name(&request.room).ok_or_else(invalid_room)?;
        let topic = normalize_topic(&request.topic)?;
        if state.rooms.named(&name).is_some() {
            return Err(room_exists(&name));
        }
        self.may_make_a_room(state, &asker, RoomKind::Room, link)?;
        let member = Member {
            key: asker.key.clone(),
            name: asker.name.clone(),
        };
        let room = self.make_room(state, Some(&name), RoomKind::Room, &topic, &[member])?;
        tracing::info!(username = ?asker.name, room = ?name, "room created");
        let entered = self.entered(state, room, &asker.key, (None, None))?;
        // The creator's other devices learn of it too.
        if let Some(log) = state.rooms.get(room) {
            let info = ServerEvent::RoomUpdated(log.info());
            state.tell_name(&asker.key, &info, Some(link.id()), &self.inner.cuts);
        }
        Reply::now(link, &entered)
    }

    /// Answers `room-join`: the asker becomes a member (nothing changes if it was one), and
    /// gets the room with its newest messages (after `since`).
    ///
    /// # Errors
    /// A guest (for any room but `general`); no such room (a DM of others included); too many
    /// rooms; the store failed.
    pub fn room_join(&self, link: &Link, request: RoomJoin) -> Result<Reply, Refusal> {
        let mut guard = self.lock();
        let state = &mut *guard;
        let asker = Self::asker(state, link)?;
        let room = state.visible_room(&request.room, &asker)?;
        let is_member = state
            .rooms
            .get(room)
            .is_some_and(|log| log.has_member(&asker.key));
        if !is_member {
            if state.rooms.count_of(&asker.key) >= MAX_ROOMS_PER_NAME {
                return Err(self.limit_reached(&asker, "rooms joined by one name"));
            }
            self.may_change_rooms(state, &asker)?;
            let member = Member {
                key: asker.key.clone(),
                name: asker.name.clone(),
            };
            self.inner
                .store
                .change_room(
                    room,
                    RoomChange::Join(&member),
                    self.inner.config.clock.now(),
                )
                .map_err(|e| not_written(&e))?;
            state.rooms.add_member(room, &member);
            state.markers_due.insert((asker.key.clone(), room));
            self.announce_member_change(state, room, asker.name.clone(), true, Some(link.id()));
        }
        let entered = self.entered(state, room, &asker.key, (request.since, request.rev))?;
        Reply::now(link, &entered)
    }

    /// Answers `room-leave`.
    ///
    /// # Errors
    /// `general` or a DM (they cannot be left); not a member; the store failed.
    pub fn room_leave(&self, link: &Link, request: &RoomRef) -> Result<Reply, Refusal> {
        let mut guard = self.lock();
        let state = &mut *guard;
        let asker = Self::owner(state, link)?;
        let room = state.visible_room(&request.room, &asker)?;
        let log = state.rooms.get(room).ok_or_else(no_such_room)?;
        if log.is_general() || log.kind == RoomKind::Dm {
            return Err(Refusal::new(
                ErrorCode::InvalidRoom,
                "general and direct messages cannot be left",
            ));
        }
        if !log.has_member(&asker.key) {
            return Err(not_member());
        }
        self.may_change_rooms(state, &asker)?;
        let now = self.inner.config.clock.now();
        self.inner
            .store
            .change_room(room, RoomChange::Leave { key: &asker.key }, now)
            .map_err(|e| not_written(&e))?;
        // Its typing there stops with it.
        let typing_here: Vec<_> = state
            .connections_of(&asker.key)
            .filter(|sid| state.conns.get(sid).is_some_and(|c| c.typing == Some(room)))
            .collect();
        // Only a change is relayed: a leaver who was not typing there says nothing of it.
        if !typing_here.is_empty() {
            for sid in typing_here {
                if let Some(conn) = state.conns.get_mut(&sid) {
                    conn.typing = None;
                }
            }
            let stopped = state.stopped_typing(asker.name.clone(), room);
            state.broadcast_room(room, &stopped, None, &self.inner.cuts);
            if let Some(cluster) = &self.inner.cluster {
                cluster.announce_typing(room, &asker.name, false);
            }
        }
        state.rooms.remove_member(room, &asker.key, now);
        state.markers_due.remove(&(asker.key.clone(), room));
        self.announce_member_change(state, room, asker.name, false, Some(link.id()));
        Reply::now(link, &Done { ok: true })
    }

    /// Answers `rooms`: the public rooms, most recently active first.
    ///
    /// # Errors
    /// Not joined.
    pub fn rooms(&self, link: &Link) -> Result<Reply, Refusal> {
        let state = self.lock();
        let asker = Self::asker(&state, link)?;
        let mut rooms: Vec<&RoomLog> = state
            .rooms
            .all()
            .filter(|log| log.kind == RoomKind::Room)
            .collect();
        rooms.sort_by(|a, b| {
            b.last_activity
                .cmp(&a.last_activity)
                .then_with(|| a.name.cmp(&b.name))
        });
        let online = state.names.len();
        let list = RoomList {
            ok: true,
            rooms: rooms
                .into_iter()
                .take(MAX_LISTED_ROOMS)
                .map(|log| log.summary(log.has_member(&asker.key) && !asker.guest, online))
                .collect(),
        };
        Reply::now(link, &list)
    }

    /// Answers `room-topic`.
    ///
    /// # Errors
    /// A guest; not a member; a topic too long; the store failed.
    pub fn room_topic(&self, link: &Link, request: &RoomTopic) -> Result<Reply, Refusal> {
        let mut guard = self.lock();
        let state = &mut *guard;
        let asker = Self::owner(state, link)?;
        let room = state.member_room(Some(&request.room), &asker.key, false)?;
        let topic = normalize_topic(&request.topic)?;
        self.may_change_rooms(state, &asker)?;
        self.inner
            .store
            .change_room(
                room,
                RoomChange::Topic(&topic),
                self.inner.config.clock.now(),
            )
            .map_err(|e| not_written(&e))?;
        let Some(log) = state.rooms.get_mut(room) else {
            return Err(no_such_room());
        };
        log.topic.clone_from(&topic);
        let change = ServerEvent::RoomTopic(TopicChange {
            room: log.name.clone(),
            topic,
            username: Some(asker.name),
        });
        state.broadcast_room(room, &change, None, &self.inner.cuts);
        Reply::now(link, &Done { ok: true })
    }

    /// Answers `dm-open`: the DM between the asker and another owned name, made the first
    /// time (both then learn of it: `room-updated`).
    ///
    /// # Errors
    /// A guest; oneself; a name nobody owns; too many rooms; the store failed.
    pub fn dm_open(&self, link: &Link, request: &DmOpen) -> Result<Reply, Refusal> {
        let mut guard = self.lock();
        let state = &mut *guard;
        let asker = Self::owner(state, link)?;
        let other_name = normalize_username(&request.username)?;
        let other_key = username_key(&other_name);
        if other_key == asker.key {
            return Err(Refusal::invalid_payload(
                "a direct message needs someone else",
            ));
        }
        let room = if let Some(room) = state.rooms.dm_between(&asker.key, &other_key) {
            room
        } else {
            let shown = state.book.owner(&other_key)?.ok_or_else(|| {
                Refusal::new(
                    ErrorCode::NoSuchUser,
                    format!(
                        "nobody owns the name {other_name}: a guest cannot get direct messages"
                    ),
                )
            })?;
            if state.rooms.count_of(&other_key) >= MAX_ROOMS_PER_NAME {
                return Err(self.limit_reached(&asker, "rooms of the other name"));
            }
            self.may_make_a_room(state, &asker, RoomKind::Dm, link)?;
            let members = [
                Member {
                    key: asker.key.clone(),
                    name: asker.name.clone(),
                },
                Member {
                    key: other_key.clone(),
                    name: shown,
                },
            ];
            let room = self.make_room(state, None, RoomKind::Dm, "", &members)?;
            if let Some(log) = state.rooms.get(room) {
                let info = ServerEvent::RoomUpdated(log.info());
                state.broadcast_room(room, &info, Some(link.id()), &self.inner.cuts);
            }
            room
        };
        let entered = self.entered(state, room, &asker.key, (None, None))?;
        Reply::now(link, &entered)
    }

    /// Answers `read {room, seq}`: the asker's marker moves to `seq` (never back, never past
    /// the newest message), and every connection of the name is told (`read-marker`).
    ///
    /// # Errors
    /// A guest; not a member (no such room, for a DM of others).
    pub fn read(&self, link: &Link, request: &ReadUpTo) -> Result<Reply, Refusal> {
        if let Some(root) = request.thread {
            return self.read_thread(link, (&request.room, root, request.seq));
        }
        let mut guard = self.lock();
        let state = &mut *guard;
        let asker = Self::owner(state, link)?;
        let room = state.member_room(Some(&request.room), &asker.key, false)?;
        state.move_marker(&asker.key, room, request.seq);
        let Some(log) = state.rooms.get(room) else {
            return Err(no_such_room());
        };
        let read = log.marker(&asker.key);
        let marker = log.read_marker(read, self.counts_for(log, &asker.key, read));
        state.tell_name(
            &asker.key,
            &ServerEvent::ReadMarker(marker),
            None,
            &self.inner.cuts,
        );
        Reply::now(link, &Done { ok: true })
    }

    /// Writes the read markers that moved since the last call (once a second, off the
    /// message path).
    pub fn flush_markers(&self) {
        let due: Vec<(String, RoomId, u64)> = {
            let mut state = self.lock();
            let due: Vec<(String, RoomId)> = state.markers_due.drain().collect();
            due.into_iter()
                .filter_map(|(key, room)| {
                    let seq = state.rooms.get(room)?.markers.get(&key).copied()?;
                    Some((key, room, seq))
                })
                .collect()
        };
        if due.is_empty() {
            return;
        }
        if let Err(e) = self.inner.store.save_markers(&due) {
            tracing::warn!(error = %e, markers = due.len(), "could not write read markers; retrying");
            let mut state = self.lock();
            state
                .markers_due
                .extend(due.into_iter().map(|(key, room, _)| (key, room)));
        }
    }

    /// Retires the rooms and DMs nobody has been a member of for the idle time
    /// ([`crate::config::ServerConfig::room_idle`]), a few a call: renamed in the store under
    /// the lock, as every room change is written, so the name is free here and in the store at
    /// once; their messages go over the next calls of [`Self::purge_retired`].
    pub fn retire_idle_rooms(&self) {
        let Some(idle) = self
            .inner
            .config
            .room_idle
            .and_then(|idle| chrono::TimeDelta::from_std(idle).ok())
        else {
            return;
        };
        let Some(cutoff) = self.inner.config.clock.now().checked_sub_signed(idle) else {
            return;
        };
        let mut state = self.lock();
        let idle_rooms = state.rooms.empty_since_before(cutoff);
        for room in idle_rooms.into_iter().take(RETIRED_PER_CALL) {
            match self.inner.store.retire_room(room, cutoff) {
                Ok(true) => state.retiring.push(room),
                // Joined meanwhile on another node: this node hears of it.
                Ok(false) => continue,
                Err(e) => {
                    tracing::warn!(error = %e, room, "could not retire a room nobody is in; retrying");
                    return;
                }
            }
            if let Some(log) = state.rooms.remove(room) {
                tracing::info!(room, name = ?log.name, emptied_at = ?log.emptied_at, "a room nobody was in is removed");
                state.markers_due.retain(|(_, marked)| *marked != room);
            }
        }
    }

    /// Goes on removing retired rooms' messages from the store (a batch each, at most a few
    /// rooms a call), off the chat's lock. Blocking: call it off the async threads.
    pub fn purge_retired(&self) {
        let store = &self.inner.store;
        let rooms: Vec<RoomId> = self
            .lock()
            .retiring
            .iter()
            .take(RETIRED_PER_CALL)
            .copied()
            .collect();
        for room in rooms {
            match store.purge_retired(room) {
                Ok(true) => self.lock().retiring.retain(|r| *r != room),
                Ok(false) => {}
                Err(e) => {
                    tracing::warn!(error = %e, room, "could not remove a retired room's messages; retrying");
                    return;
                }
            }
        }
    }

    /// A room as `key` enters it: its state and its newest messages (after `since`).
    fn entered(
        &self,
        state: &mut ChatState,
        room: RoomId,
        key: &str,
        (since, rev): (Option<u64>, Option<u64>),
    ) -> Result<RoomEntered, Refusal> {
        let budget = self.inner.config.history_bytes();
        let log = state.rooms.get(room).ok_or_else(no_such_room)?;
        let read = log.marker(key);
        let replay: RoomReplay = log.replay((since.filter(|s| *s > 0), rev), budget, true);
        Ok(RoomEntered {
            ok: true,
            room: log.state(read, self.counts_for(log, key, read)),
            replay,
        })
    }

    /// Refuses a new room (or DM: `kind`) past the server's limit for its kind, the rooms one
    /// name may be in, the address's allowance for the day, or the name's rate of creations
    /// and of room changes. Nothing is used up by a refusal.
    fn may_make_a_room(
        &self,
        state: &mut ChatState,
        asker: &Asker,
        kind: RoomKind,
        link: &Link,
    ) -> Result<(), Refusal> {
        let config = &self.inner.config;
        let (cap, what) = match kind {
            RoomKind::Room => (config.max_rooms, "rooms on this server"),
            RoomKind::Dm => (config.max_dms, "direct messages on this server"),
        };
        if state.rooms.count(kind) >= cap {
            return Err(self.limit_reached(asker, what));
        }
        if state.rooms.count_of(&asker.key) >= MAX_ROOMS_PER_NAME {
            return Err(self.limit_reached(asker, "rooms joined by one name"));
        }
        let (now, peer) = (
            Instant::now(),
            super::rate_limit::address_bucket(link.peer()),
        );
        if let Err(wait) = state.limits.new_rooms_today(kind).check(&peer, now) {
            self.inner.limits_hit.warn(|suppressed| {
                tracing::warn!(peer = %peer, username = ?asker.name, ?kind, suppressed, "an address used its allowance of new rooms for the day");
            });
            return Err(daily_allowance_used(kind, wait));
        }
        state
            .limits
            .creations_by_name
            .check(&asker.key, now)
            .map_err(|wait| too_many("new rooms", wait))?;
        self.may_change_rooms(state, asker)?;
        let _ = state.limits.new_rooms_today(kind).take(&peer, now);
        let _ = state.limits.creations_by_name.take(&asker.key, now);
        Ok(())
    }

    /// Takes one of the name's room changes (joining, leaving, a topic, a new room): ten at
    /// once, then one a second, since each is told to every member of the room.
    fn may_change_rooms(&self, state: &mut ChatState, asker: &Asker) -> Result<(), Refusal> {
        state
            .limits.room_changes_by_name
            .take(&asker.key, Instant::now())
            .map_err(|wait| {
                self.inner.limits_hit.warn(|suppressed| {
                    tracing::warn!(username = ?asker.name, suppressed, "room changes limited: joins, leaves or topics in a loop");
                });
                too_many("room changes", wait)
            })
    }

    /// Makes a room (stored first, when there is a store) and holds it.
    fn make_room(
        &self,
        state: &mut ChatState,
        name: Option<&str>,
        kind: RoomKind,
        topic: &str,
        members: &[Member],
    ) -> Result<RoomId, Refusal> {
        let (id, name) = self
            .inner
            .store
            .create_room(name, kind, topic, members, self.inner.config.clock.now())
            .map_err(|e| match e {
                crate::error::Error::RoomExists(name) => room_exists(&name),
                other => not_written(&other),
            })?;
        let log = RoomLog::stored(
            crate::store::StoredRoom {
                id,
                name,
                kind,
                topic: topic.to_owned(),
                members: Vec::new(),
                recent: Vec::new(),
                last_seq: 0,
                last_rev: 0,
                oldest_seq: 1,
                version: 0,
                emptied_at: None,
            },
            super::log::Window::new(ROOM_WINDOW_MESSAGES, ROOM_WINDOW_BYTES),
        );
        state.rooms.insert(log);
        for member in members {
            state.rooms.add_member(id, member);
            state.markers_due.insert((member.key.clone(), id));
        }
        Ok(id)
    }

    /// `limit_reached`, logged (now and then).
    fn limit_reached(&self, asker: &Asker, what: &str) -> Refusal {
        self.inner.limits_hit.warn(|suppressed| {
            tracing::warn!(username = ?asker.name, limit = what, suppressed, "a room limit was reached");
        });
        Refusal::new(
            ErrorCode::LimitReached,
            format!("too many {what}; leave one first"),
        )
    }
}

impl ChatState {
    /// The room a request names, if the asker may see it: `general` for everyone; any public
    /// room for an owned name; a DM only for its two members. Anything else does not exist.
    fn visible_room(&self, name: &str, asker: &Asker) -> Result<RoomId, Refusal> {
        let trimmed = name.trim();
        if trimmed == GENERAL_ROOM {
            return Ok(GENERAL);
        }
        if asker.guest {
            return Err(guests_only_general());
        }
        if dm_number(trimmed).is_some() {
            return self
                .rooms
                .named(trimmed)
                .filter(|id| {
                    self.rooms
                        .get(*id)
                        .is_some_and(|log| log.has_member(&asker.key))
                })
                .ok_or_else(no_such_room);
        }
        let name = normalize_room_name(trimmed).ok_or_else(invalid_room)?;
        self.rooms.named(&name).ok_or_else(no_such_room)
    }

    /// The room a request names (`None`: `general`), if `key` is a member of it.
    pub(super) fn member_room(
        &self,
        name: Option<&str>,
        key: &str,
        guest: bool,
    ) -> Result<RoomId, Refusal> {
        let Some(name) = name else {
            return Ok(GENERAL);
        };
        let asker = Asker {
            key: key.to_owned(),
            name: String::new(),
            guest,
        };
        let room = self.visible_room(name, &asker)?;
        if self.rooms.get(room).is_some_and(|log| log.has_member(key)) {
            Ok(room)
        } else {
            Err(not_member())
        }
    }

    /// Moves `key`'s read marker of `room` forward to `seq` (at most the newest message).
    pub(super) fn move_marker(&mut self, key: &str, room: RoomId, seq: u64) {
        let Some(log) = self.rooms.get_mut(room) else {
            return;
        };
        let seq = seq.min(log.last_seq);
        let marker = log.markers.entry(key.to_owned()).or_insert(0);
        if seq > *marker {
            *marker = seq;
            self.markers_due.insert((key.to_owned(), room));
        }
    }
}

/// `rate_limited` for an address that made its rooms (or DMs) for the day: the wait, and
/// when that is, in words.
fn daily_allowance_used(kind: RoomKind, wait: std::time::Duration) -> Refusal {
    let what = match kind {
        RoomKind::Room => "new rooms",
        RoomKind::Dm => "new direct messages",
    };
    let minutes = wait.as_secs().div_ceil(60).max(1);
    Refusal::later(
        ErrorCode::RateLimited,
        format!(
            "this address has made as many {what} as it may for now; the next in {minutes} min"
        ),
        super::wait_ms(wait),
    )
}

fn guests_only_general() -> Refusal {
    Refusal::new(
        ErrorCode::NotOwned,
        "guests can only use general: join with a device key to own your name",
    )
}

fn room_exists(name: &str) -> Refusal {
    Refusal::new(
        ErrorCode::RoomExists,
        format!("there is a room called {name} already: join it"),
    )
}

fn no_such_room() -> Refusal {
    Refusal::new(ErrorCode::NoSuchRoom, "there is no such room")
}

fn not_member() -> Refusal {
    Refusal::new(ErrorCode::NotMember, "join the room first (room-join)")
}

fn not_written(e: &crate::error::Error) -> Refusal {
    tracing::error!(error = %e, "a room change could not be stored");
    Refusal::later(
        ErrorCode::Unavailable,
        "the server could not store that; try again",
        1000,
    )
}
