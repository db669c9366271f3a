//! Messages other nodes stored (several nodes on one PostgreSQL): read from the store in `seq`
//! order and delivered here as if they had been stored here, so every node's clients see each
//! room in one order, with no gap.
//!
//! A room's `last_seq` in memory is the newest message this node delivered. The store
//! announces what other nodes store ([`crate::store::Heard`]) and the chat reads the rows
//! after that `seq`: a lost or coalesced announcement costs nothing, the next one (or the
//! once-a-second look at every room's head) reads everything up to it. A message this node
//! stores whose `seq` is past the next one has the rows in between delivered first
//! ([`queued`]).
//!
//! Changes to messages are delivered the same way, in `rev` order ([`changes`]).
//!
//! Rooms other nodes make or change (topic, members) are read again from the store when it
//! announces them, or when the look finds a room whose version is newer than this copy (or a
//! room this node does not know): the difference is told to the clients here as if the change
//! had been made here. A room another node removed (renamed as retired, or gone from the
//! heads) is forgotten. Read markers moved on other nodes are told to the name's devices here.

mod changes;
pub(in crate::chat) mod finish;
mod presence;
mod queued;

use std::collections::{BTreeMap, BTreeSet};

use charla_protocol::chat::{ChatMessage, ServerEvent, TopicChange};
use charla_protocol::rules::username_key;

use crate::chat::log::{RoomLog, Window};
use crate::chat::state::{Chat, ChatState, ROOM_WINDOW_BYTES, ROOM_WINDOW_MESSAGES};
use crate::store::{ClusterHandle, Heard, Member, RoomId, StoredRoom, GENERAL, RETIRED_PREFIX};

/// Messages read from the store at once while catching a room up.
const CATCH_UP_BATCH: usize = 500;

impl Chat {
    /// Catches up what `heard` names: one room, or every room behind the store. Blocking:
    /// call it off the async threads.
    pub fn heard(&self, heard: &[Heard]) {
        let Some(cluster) = self.inner.cluster.clone() else {
            return;
        };
        // Rooms behind, each with the newest `seq` known to be committed in it.
        let mut rooms: BTreeMap<RoomId, u64> = BTreeMap::new();
        let mut changed = BTreeSet::new();
        // Rooms whose messages changed past what was delivered here.
        let mut revised = BTreeSet::new();
        let mut look = false;
        let mut presence = false;
        for item in heard {
            match item {
                Heard::Stored { room, seq } => {
                    if self.delivered_up_to(*room).is_some_and(|last| *seq > last) {
                        let known = rooms.entry(*room).or_default();
                        *known = (*known).max(*seq);
                    }
                }
                Heard::Changed { room, rev } => {
                    if self
                        .changes_delivered_up_to(*room)
                        .is_some_and(|last| *rev > last)
                    {
                        revised.insert(*room);
                    }
                }
                Heard::Room(room) => {
                    changed.insert(*room);
                }
                Heard::Marker { room, key, seq } => self.marker_moved(*room, key, *seq),
                Heard::Presence => presence = true,
                Heard::Typing { room, name, typing } => self.typing_elsewhere(*room, name, *typing),
                Heard::Look => look = true,
            }
        }
        if look {
            match cluster.heads() {
                Ok(heads) => {
                    let state = self.lock();
                    // A room known here but not in the heads may be gone, or made here after
                    // the heads were read: read again under the lock, where it is decided.
                    let stored: BTreeSet<RoomId> = heads.iter().map(|head| head.room).collect();
                    changed.extend(
                        state
                            .rooms
                            .all()
                            .map(|log| log.id)
                            .filter(|id| *id != GENERAL && !stored.contains(id)),
                    );
                    for head in heads {
                        match state.rooms.get(head.room) {
                            Some(log) => {
                                if head.last_seq > log.last_seq {
                                    let known = rooms.entry(head.room).or_default();
                                    *known = (*known).max(head.last_seq);
                                }
                                if head.version > log.version {
                                    changed.insert(head.room);
                                }
                                if head.last_rev > log.last_rev {
                                    revised.insert(head.room);
                                }
                            }
                            None => {
                                changed.insert(head.room);
                            }
                        }
                    }
                }
                Err(e) => tracing::warn!(error = %e, "could not read the rooms' heads; retrying"),
            }
        }
        for room in changed {
            self.refresh_room(&cluster, room);
        }
        for (room, known) in rooms {
            self.catch_up(&cluster, room, known);
        }
        // After the messages: a change waits for its message.
        for room in revised {
            self.catch_up_changes(room);
        }
        if presence {
            self.sync_presence();
        }
    }

    /// Reads `room` again and tells the clients here what changed. The read is made under
    /// the chat's lock, as this node's own room changes are written under it: the copy read
    /// has every change this node made (room changes are rare; messages are not read here).
    fn refresh_room(&self, cluster: &ClusterHandle, room: RoomId) {
        let mut guard = self.lock();
        let state = &mut *guard;
        let stored = match cluster.changed_room(room, ROOM_WINDOW_MESSAGES) {
            Ok(Some(stored)) if !stored.name.starts_with(RETIRED_PREFIX) => stored,
            Ok(_) => {
                // Removed (nobody was in it for the idle time), or being removed, by a node.
                Self::forget_room(state, room);
                return;
            }
            Err(e) => {
                tracing::warn!(error = %e, room, "could not read a room another node changed; the next look retries");
                return;
            }
        };
        match state.rooms.get(room).map(|log| log.version) {
            Some(version) if stored.version <= version => {}
            Some(_) => self.apply_room_change(state, stored),
            None => self.add_room_made_elsewhere(state, stored),
        }
    }

    /// A room another node made: its members connected here are told of it.
    fn add_room_made_elsewhere(&self, state: &mut ChatState, stored: StoredRoom) {
        if state.rooms.named(&stored.name).is_some() {
            tracing::warn!(room = stored.id, name = ?stored.name, "a room made elsewhere has the name of another known here; ignored");
            return;
        }
        let members: Vec<String> = stored.members.iter().map(|m| m.key.clone()).collect();
        let log = RoomLog::stored(stored, Window::new(ROOM_WINDOW_MESSAGES, ROOM_WINDOW_BYTES));
        let info = ServerEvent::RoomUpdated(log.info());
        tracing::info!(room = log.id, name = ?log.name, "a room made on another node");
        state.rooms.insert(log);
        for key in members {
            state.tell_name(&key, &info, None, &self.inner.cuts);
        }
    }

    /// A room another node changed: members in and out, and its topic, told as this node
    /// tells its own changes.
    fn apply_room_change(&self, state: &mut ChatState, stored: StoredRoom) {
        let room = stored.id;
        let Some(log) = state.rooms.get_mut(room) else {
            return;
        };
        log.version = stored.version;
        let topic_changed = log.topic != stored.topic;
        log.topic = stored.topic;
        let before = log.members.clone();
        let after: BTreeMap<String, String> = stored
            .members
            .into_iter()
            .map(|m| (m.key, m.name))
            .collect();
        for (key, name) in &after {
            if !before.contains_key(key) {
                state.rooms.add_member(
                    room,
                    &Member {
                        key: key.clone(),
                        name: name.clone(),
                    },
                );
                self.announce_member_change(state, room, name.clone(), true, None);
            }
        }
        for (key, name) in before {
            if !after.contains_key(&key) {
                state
                    .rooms
                    .remove_member(room, &key, self.inner.config.clock.now());
                state.markers_due.remove(&(key, room));
                self.announce_member_change(state, room, name, false, None);
            }
        }
        if topic_changed {
            if let Some(log) = state.rooms.get(room) {
                let change = ServerEvent::RoomTopic(TopicChange {
                    room: log.name.clone(),
                    topic: log.topic.clone(),
                    username: None,
                });
                state.broadcast_room(room, &change, None, &self.inner.cuts);
            }
        }
    }

    /// Forgets a room another node removed (nobody was in it).
    fn forget_room(state: &mut ChatState, room: RoomId) {
        if state.rooms.remove(room).is_some() {
            tracing::info!(room, "a room removed on another node is forgotten here");
            state.markers_due.retain(|(_, marked)| *marked != room);
        }
    }

    /// Someone on another node started or stopped typing: told to the room's audience here.
    fn typing_elsewhere(&self, room: RoomId, name: &str, typing: bool) {
        let mut guard = self.lock();
        let state = &mut *guard;
        let Some(log) = state.rooms.get(room) else {
            return;
        };
        let notice = crate::chat::identity::typing_notice(name.to_owned(), typing, log.wire_name());
        state.broadcast_room(room, &notice, None, &self.inner.cuts);
    }

    /// A read marker another node stored: kept here, and told to the name's devices here.
    fn marker_moved(&self, room: RoomId, key: &str, seq: u64) {
        let mut guard = self.lock();
        let state = &mut *guard;
        let Some(log) = state.rooms.get_mut(room) else {
            return;
        };
        if !log.has_member(key) && !log.is_general() {
            return;
        }
        if log.markers.get(key).is_some_and(|read| *read >= seq) {
            return;
        }
        log.markers.insert(key.to_owned(), seq);
        if state.connections_of(key).next().is_none() {
            return;
        }
        let Some(log) = state.rooms.get(room) else {
            return;
        };
        let read = log.marker(key);
        let marker = log.read_marker(read, self.counts_for(log, key, read));
        state.tell_name(
            key,
            &ServerEvent::ReadMarker(marker),
            None,
            &self.inner.cuts,
        );
    }

    /// The newest `seq` this node delivered in `room`; `None` for a room it does not know.
    pub(in crate::chat) fn delivered_up_to(&self, room: RoomId) -> Option<u64> {
        self.lock().rooms.get(room).map(|log| log.last_seq)
    }

    /// Delivers `room`'s stored messages past the newest delivered here, in `seq` order;
    /// `known` is committed (announced, or a head), so rows up to it that cannot be read were
    /// removed by retention.
    fn catch_up(&self, cluster: &ClusterHandle, room: RoomId, known: u64) {
        loop {
            let Some(after) = self.delivered_up_to(room) else {
                return;
            };
            let missing = match cluster.page_after(room, after, CATCH_UP_BATCH) {
                Ok(missing) => missing,
                Err(e) => {
                    tracing::warn!(error = %e, room, "could not read what other nodes stored; retrying");
                    return;
                }
            };
            let complete = missing.len() < CATCH_UP_BATCH;
            let mut guard = self.lock();
            let state = &mut *guard;
            match missing.first().and_then(|m| m.seq) {
                Some(first) => state.skip_removed(room, after, first),
                None => state.skip_removed(room, after, known + 1),
            }
            for message in missing {
                state.publish_stored(room, message, &self.inner.config, &self.inner.cuts);
            }
            drop(guard);
            if complete {
                return;
            }
        }
    }
}

impl ChatState {
    /// What the store holds of `room` after `after` (the newest delivered here when it was
    /// read) starts at `first`. Rows are committed in `seq` order, so when `first` is not the
    /// next one, the rows between were stored and then removed by retention before this node
    /// delivered them (it was stalled or cut off), and with them every older row (retention
    /// removes the oldest first): the room goes on at `first`, and clients are told the gap as
    /// for any message retention removed. Nothing when a message was delivered meanwhile.
    pub(in crate::chat) fn skip_removed(&mut self, room: RoomId, after: u64, first: u64) {
        let Some(log) = self.rooms.get_mut(room) else {
            return;
        };
        if log.last_seq != after || first <= after + 1 {
            return;
        }
        tracing::warn!(
            room,
            from = after + 1,
            to = first - 1,
            "messages other nodes stored were removed by retention before this node delivered them"
        );
        log.last_seq = first - 1;
        log.oldest_kept = log.oldest_kept.max(first);
        log.window.drop_below(first);
    }

    /// Delivers a message another node stored, if it is the room's next one here (an older
    /// one was delivered already: it is skipped).
    pub(in crate::chat) fn publish_stored(
        &mut self,
        room: RoomId,
        mut message: ChatMessage,
        config: &crate::config::ServerConfig,
        cuts: &crate::chat::state::Fanout,
    ) {
        let Some(log) = self.rooms.get(room) else {
            return;
        };
        if message.seq != Some(log.last_seq + 1) {
            return;
        }
        message.room = log.wire_name();
        let lag = (config.clock.now() - message.timestamp)
            .to_std()
            .unwrap_or_default();
        cuts.heard_late(lag);
        let dedupe = message
            .client_id
            .as_ref()
            .map(|id| (username_key(&message.username), id.clone()));
        self.publish(room, message, dedupe, config, cuts);
    }
}
