//! One room's log as the chat holds it in memory: its name, kind, topic and members, its
//! highest `seq`, the oldest it still keeps, its recent window, and its members' read
//! markers; and [`Rooms`], every room by number, by name, and by member.
//!
//! `general` is a room like the others except that everyone is in it: its member list is
//! empty and never consulted.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use charla_protocol::chat::{
    Changes, ChatMessage, Gap, ReadMarker, RoomInfo, RoomKind, RoomReplay, RoomState, RoomSummary,
    GENERAL_ROOM, MAX_CHANGES_PAGE,
};
use chrono::{DateTime, Utc};

use crate::store::{message_size, Counts, Member, RoomId, StoredRoom, GENERAL};

/// The newest messages of one room, oldest first, bounded in count and in bytes.
pub(super) type Window = crate::store::window::Window<ChatMessage>;

/// How many of the newest `messages` fit in `max_bytes`; at least one (if there is one) when
/// `at_least_one`.
pub(super) fn newest_within<'a>(
    messages: impl IntoIterator<IntoIter = impl DoubleEndedIterator<Item = &'a ChatMessage>>,
    max_bytes: usize,
    at_least_one: bool,
) -> usize {
    let mut bytes = 0;
    let mut count = 0;
    for m in messages.into_iter().rev() {
        let size = message_size(m);
        if (count > 0 || !at_least_one) && bytes + size > max_bytes {
            break;
        }
        bytes += size;
        count += 1;
    }
    count
}

/// Changes of each room remembered (which `rev` changed which `seq`), so that a reconnect
/// replays the changes it missed without asking the store: 2,000 changes, 16 bytes each.
const REMEMBERED_CHANGES: usize = 2_000;

/// One room.
pub(super) struct RoomLog {
    pub(super) id: RoomId,
    /// `general`, `release-2`, `dm:12`.
    pub(super) name: String,
    pub(super) kind: RoomKind,
    pub(super) topic: String,
    /// Name key → name as shown. Empty for `general` (everyone).
    pub(super) members: BTreeMap<String, String>,
    /// The highest `seq` given.
    pub(super) last_seq: u64,
    /// The lowest `seq` still kept (in the store, or in memory without one).
    pub(super) oldest_kept: u64,
    pub(super) window: Window,
    /// Name key → the `seq` up to which that member has read.
    pub(super) markers: HashMap<String, u64>,
    /// When the newest message was sent.
    pub(super) last_activity: Option<DateTime<Utc>>,
    /// The store's version of its name, topic and members this copy reflects (several nodes:
    /// a newer one is read again).
    pub(super) version: u64,
    /// Since when nobody has been a member (`None`: somebody is; always for `general`).
    pub(super) emptied_at: Option<DateTime<Utc>>,
    /// The highest `rev` delivered (the room's change counter).
    pub(super) last_rev: u64,
    /// The newest changes: `rev` → the `seq` it changed.
    changes: BTreeMap<u64, u64>,
    /// Every change after this `rev` is in `changes`.
    changes_known_after: u64,
}

impl RoomLog {
    /// `general`, from what the store loaded of it.
    pub(super) fn general(
        window: Window,
        (last_seq, last_rev): (u64, u64),
        oldest_kept: u64,
    ) -> Self {
        let mut general = Self {
            id: GENERAL,
            name: GENERAL_ROOM.to_owned(),
            kind: RoomKind::Room,
            topic: String::new(),
            members: BTreeMap::new(),
            last_seq,
            oldest_kept,
            window,
            markers: HashMap::new(),
            last_activity: None,
            version: 0,
            emptied_at: None,
            last_rev,
            changes: BTreeMap::new(),
            changes_known_after: last_rev,
        };
        general.last_activity = general.window.messages().back().map(|m| m.timestamp);
        general
    }

    /// A room as the store keeps it.
    pub(super) fn stored(room: StoredRoom, mut window: Window) -> Self {
        let name = room.name;
        for mut message in room.recent {
            message.room = Some(name.clone());
            window.push(message);
        }
        Self {
            id: room.id,
            kind: room.kind,
            topic: room.topic,
            members: room.members.into_iter().map(|m| (m.key, m.name)).collect(),
            last_seq: room.last_seq,
            oldest_kept: room.oldest_seq,
            last_activity: window.messages().back().map(|m| m.timestamp),
            window,
            markers: HashMap::new(),
            version: room.version,
            emptied_at: room.emptied_at,
            last_rev: room.last_rev,
            changes: BTreeMap::new(),
            changes_known_after: room.last_rev,
            name,
        }
    }

    pub(super) fn is_general(&self) -> bool {
        self.id == GENERAL
    }

    /// Whether the name `key` may read and write here (everyone joined may, in `general`).
    pub(super) fn has_member(&self, key: &str) -> bool {
        self.is_general() || self.members.contains_key(key)
    }

    /// The room's `room` field on the wire: absent for `general`.
    pub(super) fn wire_name(&self) -> Option<String> {
        (!self.is_general()).then(|| self.name.clone())
    }

    pub(super) fn info(&self) -> RoomInfo {
        RoomInfo {
            room: self.name.clone(),
            kind: self.kind,
            topic: self.topic.clone(),
            members: self.members.values().cloned().collect(),
            last_seq: self.last_seq,
        }
    }

    pub(super) fn summary(&self, joined: bool, online: usize) -> RoomSummary {
        RoomSummary {
            room: self.name.clone(),
            topic: self.topic.clone(),
            members: if self.is_general() {
                online
            } else {
                self.members.len()
            },
            last_activity: self.last_activity,
            joined,
        }
    }

    /// `key`'s read marker (a member without one has read everything there was when it
    /// joined: it is set then).
    pub(super) fn marker(&self, key: &str) -> u64 {
        self.markers.get(key).copied().unwrap_or(self.last_seq)
    }

    /// Kept messages after `read`.
    pub(super) fn unread_after(&self, read: u64) -> u64 {
        self.last_seq
            .saturating_sub(read.max(self.oldest_kept.saturating_sub(1)))
    }

    /// The room as a member sees it, with its counts (what the store counted for it after
    /// `read`: its unread messages leave out replies in threads it does not follow).
    pub(super) fn state(&self, read: u64, counts: Counts) -> RoomState {
        RoomState {
            room: self.name.clone(),
            kind: self.kind,
            topic: self.topic.clone(),
            members: self.members.values().cloned().collect(),
            last_seq: self.last_seq,
            read,
            unread: self
                .unread_after(read)
                .saturating_sub(counts.unfollowed_replies),
            mentions: counts.mentions,
        }
    }

    /// A member's read marker of the room, with its counts (as [`Self::state`]).
    pub(super) fn read_marker(&self, read: u64, counts: Counts) -> ReadMarker {
        ReadMarker {
            room: self.name.clone(),
            read,
            unread: self
                .unread_after(read)
                .saturating_sub(counts.unfollowed_replies),
            mentions: counts.mentions,
        }
    }

    /// The messages after `since` (or the recent ones, without it), newest first up to
    /// `max_bytes` (the newest one at least, when `at_least_one`); `more` when kept messages
    /// between those and `since` were left out; `gap` for those after `since` the room no
    /// longer keeps; and the messages up to `since` changed after `rev` (none without a
    /// `since`: the messages sent are as they are now).
    pub(super) fn replay(
        &self,
        (since, rev): (Option<u64>, Option<u64>),
        max_bytes: usize,
        at_least_one: bool,
    ) -> RoomReplay {
        let floor = since.unwrap_or(0);
        let gap = since.filter(|s| s + 1 < self.oldest_kept).map(|s| Gap {
            from: s + 1,
            to: self.oldest_kept - 1,
        });
        let window = self.window.messages();
        let newer = window.len() - window.partition_point(|m| m.seq <= Some(floor));
        let count = newest_within(
            window.range(window.len() - newer..),
            max_bytes,
            at_least_one,
        );
        let messages: Vec<ChatMessage> = window.range(window.len() - count..).cloned().collect();
        let first = messages
            .first()
            .and_then(|m| m.seq)
            .unwrap_or(self.last_seq + 1);
        let changes = match since {
            Some(since) => self.changes_after(rev.unwrap_or(0), since, max_bytes),
            None => Changes {
                changes: Vec::new(),
                rev: self.last_rev,
                more: false,
            },
        };
        RoomReplay {
            more: first > (floor + 1).max(self.oldest_kept),
            messages,
            gap,
            changes: Some(changes),
        }
    }

    /// The messages up to `upto` changed after `rev`, as they are now, in the order of their
    /// last change, up to [`MAX_CHANGES_PAGE`] of them and `max_bytes`, from memory. What
    /// memory does not have (changes older than those remembered, a message older than the
    /// window) is left to a `changes` request: `more`, with `rev` where it stopped.
    pub(super) fn changes_after(&self, rev: u64, upto: u64, max_bytes: usize) -> Changes {
        let up_to_here = |rev, more| Changes {
            changes: Vec::new(),
            rev,
            more,
        };
        if rev >= self.last_rev {
            return up_to_here(self.last_rev, false);
        }
        if rev < self.changes_known_after {
            return up_to_here(rev, true);
        }
        // Each message once, at its last change.
        let mut last_change: BTreeMap<u64, u64> = BTreeMap::new();
        for (changed, seq) in self.changes.range(rev + 1..) {
            if *seq <= upto {
                last_change.insert(*seq, *changed);
            }
        }
        let mut order: Vec<(u64, u64)> = last_change.into_iter().map(|(s, r)| (r, s)).collect();
        order.sort_unstable();
        let mut changes = Changes {
            changes: Vec::new(),
            rev: self.last_rev,
            more: false,
        };
        let mut bytes = 0;
        for (changed, seq) in order {
            if seq < self.oldest_kept {
                // Gone since (retention): nothing left to change.
                continue;
            }
            let message = self.window.get(seq);
            let size = message.map_or(0, message_size);
            if message.is_none()
                || changes.changes.len() == MAX_CHANGES_PAGE
                || (bytes + size > max_bytes && !changes.changes.is_empty())
            {
                // Everything before this change is in; the rest is the store's to page.
                changes.rev = changed - 1;
                changes.more = true;
                break;
            }
            bytes += size;
            changes.changes.extend(message.cloned());
        }
        changes
    }

    /// The messages of the window among the room's newest `count` changes, as they are now
    /// (by `seq`).
    pub(super) fn recently_changed(&self, count: usize) -> Vec<ChatMessage> {
        let mut seqs: Vec<u64> = self.changes.values().rev().take(count).copied().collect();
        seqs.sort_unstable();
        seqs.dedup();
        seqs.into_iter()
            .filter_map(|seq| self.window.get(seq).cloned())
            .collect()
    }

    /// A change of one of the room's messages (as it is after it): held in the window, and
    /// remembered for replays. False when it is not newer than what was delivered already.
    pub(super) fn note_change(&mut self, mut message: ChatMessage) -> bool {
        let (rev, Some(seq)) = (message.living.rev, message.seq) else {
            return false;
        };
        if rev <= self.last_rev {
            return false;
        }
        self.last_rev = rev;
        self.changes.insert(rev, seq);
        while self.changes.len() > REMEMBERED_CHANGES {
            if let Some((forgotten, _)) = self.changes.pop_first() {
                self.changes_known_after = forgotten;
            }
        }
        message.room = self.wire_name();
        self.window.update(seq, |held| *held = message);
        true
    }
}

/// Every room, by number, by name, and by member.
#[derive(Default)]
pub(super) struct Rooms {
    by_id: HashMap<RoomId, RoomLog>,
    by_name: HashMap<String, RoomId>,
    /// The two members' keys, in order → their DM.
    dms: HashMap<(String, String), RoomId>,
    /// Name key → the rooms (not `general`) it is a member of.
    of_member: HashMap<String, BTreeSet<RoomId>>,
}

/// The key of a DM between two names, whichever opens it.
pub(super) fn dm_pair(a: &str, b: &str) -> (String, String) {
    if a <= b {
        (a.to_owned(), b.to_owned())
    } else {
        (b.to_owned(), a.to_owned())
    }
}

impl Rooms {
    pub(super) fn insert(&mut self, room: RoomLog) {
        for key in room.members.keys() {
            self.of_member
                .entry(key.clone())
                .or_default()
                .insert(room.id);
        }
        if room.kind == RoomKind::Dm {
            let mut keys = room.members.keys();
            if let (Some(a), Some(b)) = (keys.next(), keys.next()) {
                self.dms.insert(dm_pair(a, b), room.id);
            }
        }
        self.by_name.insert(room.name.clone(), room.id);
        self.by_id.insert(room.id, room);
    }

    pub(super) fn get(&self, id: RoomId) -> Option<&RoomLog> {
        self.by_id.get(&id)
    }

    pub(super) fn get_mut(&mut self, id: RoomId) -> Option<&mut RoomLog> {
        self.by_id.get_mut(&id)
    }

    pub(super) fn general(&self) -> Option<&RoomLog> {
        self.by_id.get(&GENERAL)
    }

    pub(super) fn named(&self, name: &str) -> Option<RoomId> {
        self.by_name.get(name).copied()
    }

    pub(super) fn dm_between(&self, a: &str, b: &str) -> Option<RoomId> {
        self.dms.get(&dm_pair(a, b)).copied()
    }

    /// How many rooms of `kind` there are (`general` is a room).
    pub(super) fn count(&self, kind: RoomKind) -> usize {
        self.by_id.values().filter(|log| log.kind == kind).count()
    }

    /// Forgets a room (not `general`) and everything that finds it; returns it.
    pub(super) fn remove(&mut self, id: RoomId) -> Option<RoomLog> {
        if id == GENERAL {
            return None;
        }
        let log = self.by_id.remove(&id)?;
        self.by_name.retain(|_, room| *room != id);
        self.dms.retain(|_, room| *room != id);
        for key in log.members.keys() {
            if let Some(rooms) = self.of_member.get_mut(key) {
                rooms.remove(&id);
                if rooms.is_empty() {
                    self.of_member.remove(key);
                }
            }
        }
        Some(log)
    }

    /// The rooms (not `general`) nobody has been a member of since before `cutoff`.
    pub(super) fn empty_since_before(&self, cutoff: DateTime<Utc>) -> Vec<RoomId> {
        self.by_id
            .values()
            .filter(|log| log.emptied_at.is_some_and(|at| at < cutoff) && log.members.is_empty())
            .map(|log| log.id)
            .collect()
    }

    /// The rooms (not `general`) `key` is a member of.
    pub(super) fn of(&self, key: &str) -> impl Iterator<Item = RoomId> + '_ {
        self.of_member.get(key).into_iter().flatten().copied()
    }

    pub(super) fn count_of(&self, key: &str) -> usize {
        self.of_member.get(key).map_or(0, BTreeSet::len)
    }

    pub(super) fn all(&self) -> impl Iterator<Item = &RoomLog> {
        self.by_id.values()
    }

    /// Makes `member` a member of `room` (its marker at the room's newest message); false
    /// when it was one already.
    pub(super) fn add_member(&mut self, room: RoomId, member: &Member) -> bool {
        let Some(log) = self.by_id.get_mut(&room) else {
            return false;
        };
        if log.members.contains_key(&member.key) {
            return false;
        }
        log.members.insert(member.key.clone(), member.name.clone());
        log.markers.insert(member.key.clone(), log.last_seq);
        log.emptied_at = None;
        if log.kind == RoomKind::Dm {
            let mut keys = log.members.keys();
            if let (Some(a), Some(b)) = (keys.next(), keys.next()) {
                self.dms.insert(dm_pair(a, b), room);
            }
        }
        self.of_member
            .entry(member.key.clone())
            .or_default()
            .insert(room);
        true
    }

    /// Removes `key` from `room`'s members (a DM loses its pair: it can never be opened again
    /// between these two names, whoever owns them later); a room left without members is
    /// empty from `at`. False when it was not one.
    pub(super) fn remove_member(&mut self, room: RoomId, key: &str, at: DateTime<Utc>) -> bool {
        let Some(log) = self.by_id.get_mut(&room) else {
            return false;
        };
        let Some(_) = log.members.remove(key) else {
            return false;
        };
        log.markers.remove(key);
        if log.members.is_empty() && room != GENERAL && log.emptied_at.is_none() {
            log.emptied_at = Some(at);
        }
        if log.kind == RoomKind::Dm {
            self.dms.retain(|_, id| *id != room);
        }
        if let Some(rooms) = self.of_member.get_mut(key) {
            rooms.remove(&room);
            if rooms.is_empty() {
                self.of_member.remove(key);
            }
        }
        true
    }
}
