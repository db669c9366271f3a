//! `--db :memory:`: a store that keeps each room's newest messages in memory, no more of them
//! than the chat's window of the room holds, and nothing across a restart (its `seq`s start
//! over with a new epoch at every start).
//!
//! The chat then runs as it does on a database: every message is given its `seq` here, pages,
//! mention counts, retention and searches are answered here. Rooms' names, topics, members
//! and read markers live in the chat's memory, which is all this store would hold of them: it
//! keeps none of them twice. Searches match words as the chat marks them in snippets
//! ([`charla_protocol::query::Needle`]), newest first.

use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use charla_protocol::chat::{ChatMessage, RoomKind};
use charla_protocol::query::{holds_all, Needle};
use chrono::{DateTime, Utc};

use super::living::{self, Effect, State, StoredReactions};
use super::window::{Held, Window};
use super::{
    new_epoch, only_in_thread, Appended, Change, ChangeRefused, Changed, Counts, Draft, Followed,
    Found, Loaded, Member, NotStored, RoomChange, RoomId, Scanned, Selection, Store, StoreOptions,
    EXPIRE_BATCH, GENERAL,
};

mod threads;
use crate::error::Result;

/// The store kept in memory.
pub struct MemoryStore {
    rooms: Mutex<Rooms>,
    /// `general`'s window: messages (its bytes are not bounded).
    recent: usize,
    /// Every other room's window: messages and bytes.
    room_recent: usize,
    room_recent_bytes: usize,
}

/// Every room's newest messages.
struct Rooms {
    by_id: HashMap<RoomId, Kept>,
    /// The number the next room gets.
    next_room: RoomId,
    /// The next message's position in the order of the whole store (a search's `before`).
    next_position: u64,
    /// Changes applied with a `clientId`: (room, author key, id) → (seq, rev), the newest
    /// [`KEPT_CHANGE_IDS`].
    change_ids: HashMap<(RoomId, String, String), (u64, u64)>,
    change_order: VecDeque<(RoomId, String, String)>,
    /// Names claimed afresh, and since when: their messages from before are nobody's.
    forgotten: HashMap<String, DateTime<Utc>>,
    /// Who follows each thread (room, root), with the `seq` each has read up to.
    follows: threads::Follows,
}

/// Changes' `clientId`s remembered (a retry of an older one is applied again).
const KEPT_CHANGE_IDS: usize = 10_000;

/// One room's newest messages, bounded as the chat's window of it is.
struct Kept {
    last_seq: u64,
    /// The room's change counter.
    last_rev: u64,
    window: Window<Entry>,
    /// The room's name as messages carry it (`None` for `general`), so a kept message weighs
    /// what the chat's copy of it weighs.
    wire_name: Option<String>,
}

/// A kept message, with what only the store needs of it.
struct Entry {
    position: u64,
    message: ChatMessage,
    /// The keys of the names it mentions.
    mentions: Vec<String>,
    /// Its author's name key (`None`: a guest's).
    author_key: Option<String>,
    /// Its reactions, with the names' keys.
    reactions: StoredReactions,
}

impl Held for Entry {
    fn message(&self) -> &ChatMessage {
        &self.message
    }
}

/// An empty store, and what the chat starts with: nothing, and a new epoch.
#[must_use]
pub fn open(options: StoreOptions) -> (MemoryStore, Loaded) {
    let store = MemoryStore {
        rooms: Mutex::new(Rooms {
            by_id: HashMap::new(),
            next_room: GENERAL + 1,
            next_position: 1,
            change_ids: HashMap::new(),
            change_order: VecDeque::new(),
            forgotten: HashMap::new(),
            follows: threads::Follows::default(),
        }),
        recent: options.recent.max(1),
        room_recent: options.room_recent.max(1),
        room_recent_bytes: options.room_recent_bytes,
    };
    let loaded = Loaded {
        recent: Vec::new(),
        recent_ids: Vec::new(),
        rooms: Vec::new(),
        markers: Vec::new(),
        last_seq: 0,
        last_rev: 0,
        oldest_seq: 1,
        epoch: new_epoch(),
    };
    (store, loaded)
}

impl MemoryStore {
    fn rooms(&self) -> MutexGuard<'_, Rooms> {
        // Every change below leaves the rooms whole: one a panicking thread left is usable.
        self.rooms
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn empty_room(&self, room: RoomId, wire_name: Option<String>) -> Kept {
        let (max_messages, max_bytes) = if room == GENERAL {
            (self.recent, usize::MAX)
        } else {
            (self.room_recent, self.room_recent_bytes)
        };
        Kept {
            last_seq: 0,
            last_rev: 0,
            window: Window::new(max_messages, max_bytes),
            wire_name,
        }
    }
}

impl Kept {
    /// The lowest `seq` kept (`last_seq + 1` when none is).
    fn oldest(&self) -> u64 {
        self.window.front_seq().unwrap_or(self.last_seq + 1)
    }
}

impl Store for MemoryStore {
    fn check(&self, _within: Duration) -> Result<()> {
        Ok(())
    }

    fn append(
        &self,
        room: RoomId,
        draft: Draft,
        at: DateTime<Utc>,
    ) -> std::result::Result<Appended, NotStored> {
        let mut guard = self.rooms();
        let rooms = &mut *guard;
        let position = rooms.next_position;
        rooms.next_position += 1;
        let kept = rooms
            .by_id
            .entry(room)
            .or_insert_with(|| self.empty_room(room, None));
        kept.last_seq += 1;
        let mentions = draft.mentions.iter().map(|m| m.key.clone()).collect();
        let author_key = draft.author_key.clone();
        let message = draft.into_message(kept.last_seq, at);
        let mut copy = message.clone();
        copy.room.clone_from(&kept.wire_name);
        kept.window.push(Entry {
            position,
            message: copy,
            mentions,
            author_key,
            reactions: StoredReactions::default(),
        });
        if message.thread.is_some() {
            rooms.follows.replied(room, kept, &message);
        }
        // The chat's memory of `clientId`s answers retries before they get here.
        Ok(Appended::New(message))
    }

    fn expire_before(&self, room: RoomId, cutoff: DateTime<Utc>) -> Result<Option<u64>> {
        let mut rooms = self.rooms();
        let Some(kept) = rooms.by_id.get_mut(&room) else {
            return Ok(None);
        };
        let is_old = |kept: &Kept| {
            kept.window
                .messages()
                .front()
                .is_some_and(|e| e.message.timestamp < cutoff)
        };
        if !is_old(kept) {
            return Ok(None);
        }
        let mut removed = 0;
        while removed < EXPIRE_BATCH && is_old(kept) {
            kept.window.pop_front();
            removed += 1;
        }
        Ok(Some(kept.oldest()))
    }

    fn read(&self, room: RoomId, which: Selection) -> Result<Vec<ChatMessage>> {
        let rooms = self.rooms();
        let Some(kept) = rooms.by_id.get(&room) else {
            return Ok(Vec::new());
        };
        let messages = kept.window.messages();
        let mut read: Vec<ChatMessage> = match which {
            Selection::Before { before, limit } => {
                let below = messages.partition_point(|e| e.message.seq < Some(before));
                let mut page: Vec<ChatMessage> = messages
                    .range(..below)
                    .rev()
                    .filter(|e| !only_in_thread(&e.message))
                    .take(limit)
                    .map(|e| e.message.clone())
                    .collect();
                page.reverse();
                page
            }
            Selection::Thread {
                root,
                before,
                limit,
            } => {
                let mut page: Vec<ChatMessage> = messages
                    .iter()
                    .rev()
                    .filter(|e| e.message.thread == Some(root) && e.message.seq < Some(before))
                    .take(limit)
                    .map(|e| e.message.clone())
                    .collect();
                page.reverse();
                page
            }
            Selection::Seq(seq) => kept
                .window
                .get(seq)
                .map(|e| e.message.clone())
                .into_iter()
                .collect(),
            Selection::ChangedAfter { rev, upto, limit } => {
                let mut changed: Vec<&Entry> = messages
                    .iter()
                    .filter(|e| e.message.living.rev > rev && e.message.seq <= Some(upto))
                    .collect();
                changed.sort_by_key(|e| e.message.living.rev);
                changed.truncate(limit);
                changed.into_iter().map(|e| e.message.clone()).collect()
            }
            Selection::Pinned => {
                let mut pinned: Vec<&Entry> = messages
                    .iter()
                    .filter(|e| e.message.living.pinned.is_some())
                    .collect();
                pinned.sort_by_key(|e| {
                    std::cmp::Reverse(e.message.living.pinned.as_ref().map(|p| p.at))
                });
                pinned.into_iter().map(|e| e.message.clone()).collect()
            }
        };
        for message in &mut read {
            // The copies carry the room's name, as the chat's do; the store's answers do not.
            message.room = None;
        }
        Ok(read)
    }

    fn change_message(
        &self,
        room: RoomId,
        seq: u64,
        change: &Change<'_>,
        at: DateTime<Utc>,
    ) -> std::result::Result<Changed, ChangeRefused> {
        let mut guard = self.rooms();
        let rooms = &mut *guard;
        let id_key = change
            .client_id
            .map(|id| (room, change.by.key.clone(), id.to_owned()));
        if let Some((seq, rev)) = id_key.as_ref().and_then(|k| rooms.change_ids.get(k)) {
            return Ok(Changed::Retried {
                seq: *seq,
                rev: *rev,
            });
        }
        let Some(kept) = rooms.by_id.get_mut(&room) else {
            return Err(ChangeRefused::NoSuchMessage);
        };
        let pins = kept
            .window
            .messages()
            .iter()
            .filter(|e| e.message.living.pinned.is_some())
            .count();
        let Some(entry) = kept.window.get(seq) else {
            return Err(ChangeRefused::NoSuchMessage);
        };
        let author_key = entry.author_key.clone().filter(|key| {
            rooms
                .forgotten
                .get(key)
                // Both in milliseconds, as messages' times are kept.
                .is_none_or(|since| {
                    entry.message.timestamp.timestamp_millis() >= since.timestamp_millis()
                })
        });
        let mut state = State::of(&entry.message, author_key, entry.reactions.clone());
        let effect = living::apply(&mut state, change, at, || Ok(pins))?;
        let mut message = entry.message.clone();
        message.room = None;
        if effect == Effect::Nothing {
            return Ok(Changed::Unchanged(message));
        }
        kept.last_rev += 1;
        let rev = kept.last_rev;
        state.show_on(&mut message, rev);
        if effect == Effect::Text {
            message.mentions = change.mentions.iter().map(|m| m.name.clone()).collect();
        }
        let mention_keys: Option<Vec<String>> = match effect {
            Effect::Text => Some(change.mentions.iter().map(|m| m.key.clone()).collect()),
            Effect::Deleted => Some(Vec::new()),
            _ => None,
        };
        let wire_name = kept.wire_name.clone();
        kept.window.update(seq, |entry| {
            entry.message = message.clone();
            entry.message.room = wire_name;
            entry.reactions = state.reactions;
            if let Some(keys) = mention_keys {
                entry.mentions = keys;
            }
        });
        if let Some(key) = id_key {
            rooms.change_ids.insert(key.clone(), (seq, rev));
            rooms.change_order.push_back(key);
            while rooms.change_order.len() > KEPT_CHANGE_IDS {
                if let Some(old) = rooms.change_order.pop_front() {
                    rooms.change_ids.remove(&old);
                }
            }
        }
        Ok(Changed::Applied(message))
    }

    fn create_room(
        &self,
        name: Option<&str>,
        _kind: RoomKind,
        _topic: &str,
        _members: &[Member],
        _at: DateTime<Utc>,
    ) -> Result<(RoomId, String)> {
        // The chat checks the name, and keeps the room's topic and members itself.
        let mut rooms = self.rooms();
        let id = rooms.next_room;
        rooms.next_room += 1;
        let name = name.map_or_else(|| format!("dm:{id}"), str::to_owned);
        let kept = self.empty_room(id, Some(name.clone()));
        rooms.by_id.insert(id, kept);
        Ok((id, name))
    }

    fn change_room(&self, room: RoomId, change: RoomChange<'_>, _at: DateTime<Utc>) -> Result<()> {
        // Members and topics live in the chat's memory; threads' markers here.
        if let RoomChange::ThreadRead { key, root, seq } = change {
            self.rooms().follows.read(room, root, key, seq);
        }
        Ok(())
    }

    fn forget_name(&self, key: &str, at: DateTime<Utc>) -> Result<()> {
        let mut rooms = self.rooms();
        rooms.forgotten.insert(key.to_owned(), at);
        rooms.follows.forget_name(key);
        for kept in rooms.by_id.values_mut() {
            for entry in kept.window.iter_mut() {
                entry.mentions.retain(|k| k != key);
            }
        }
        Ok(())
    }

    fn retire_room(&self, room: RoomId, _emptied_before: DateTime<Utc>) -> Result<bool> {
        // Nobody else can join it meanwhile: this node is the only one.
        let mut rooms = self.rooms();
        rooms.by_id.remove(&room);
        rooms.follows.forget_room(room);
        Ok(true)
    }

    fn purge_retired(&self, _room: RoomId) -> Result<bool> {
        // Its messages went when it was retired.
        Ok(true)
    }

    fn save_markers(&self, _markers: &[(String, RoomId, u64)]) -> Result<()> {
        // Read markers live in the chat's memory.
        Ok(())
    }

    fn counts_after(&self, room: RoomId, key: &str, after: u64) -> Result<Counts> {
        let rooms = self.rooms();
        Ok(rooms.by_id.get(&room).map_or_else(Counts::default, |kept| {
            rooms.follows.counts(room, kept, key, after)
        }))
    }

    fn followed_threads(
        &self,
        key: &str,
        in_rooms: &[RoomId],
        limit: usize,
    ) -> Result<Vec<Followed>> {
        let rooms = self.rooms();
        Ok(rooms.follows.of(key, in_rooms, &rooms.by_id, limit))
    }

    fn search(
        &self,
        typed: &str,
        rooms: &[RoomId],
        before: Option<u64>,
        _budget: Duration,
    ) -> Result<Scanned> {
        let needles = Needle::all_of(typed);
        if needles.is_empty() {
            return Ok(Scanned {
                found: Vec::new(),
                next: None,
            });
        }
        let kept = self.rooms();
        // At most the windows' messages are read (well within any budget), and only the
        // newest matches copied.
        let mut matches: Vec<(RoomId, &Entry)> = rooms
            .iter()
            .filter_map(|room| kept.by_id.get(room).map(|k| (*room, k)))
            .flat_map(|(room, k)| k.window.messages().iter().map(move |e| (room, e)))
            .filter(|(_, e)| before.is_none_or(|b| e.position < b))
            .filter(|(_, e)| holds_all(&e.message.text, &needles))
            .collect();
        matches.sort_by_key(|(_, e)| std::cmp::Reverse(e.position));
        matches.truncate(super::SCAN);
        let found = matches
            .into_iter()
            .map(|(room, e)| {
                let found = Found {
                    room,
                    message: e.message.clone(),
                };
                (e.position, found)
            })
            .collect();
        Ok(Scanned::from_positions(found))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options() -> StoreOptions {
        StoreOptions {
            recent: 3,
            room_recent: 2,
            room_recent_bytes: 64 * 1024,
            remembered_ids: 0,
            retention: None,
            max_bytes: None,
            searches: 1,
        }
    }

    fn draft(text: &str, mentions: &[&str]) -> Draft {
        Draft {
            id_prefix: "s".into(),
            username: "ana".into(),
            text: text.into(),
            client_id: None,
            guest: false,
            author_key: Some("ana".into()),
            thread: None,
            also_in_room: false,
            mentions: mentions
                .iter()
                .map(|k| Member {
                    key: (*k).into(),
                    name: (*k).into(),
                })
                .collect(),
        }
    }

    fn at(second: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + second, 0).unwrap_or_default()
    }

    fn stored(
        store: &MemoryStore,
        room: RoomId,
        text: &str,
        mentions: &[&str],
        second: i64,
    ) -> u64 {
        match store.append(room, draft(text, mentions), at(second)) {
            Ok(Appended::New(m)) => m.seq.unwrap_or_default(),
            other => panic!("not stored: {other:?}"),
        }
    }

    #[test]
    fn each_room_keeps_its_window_and_its_own_seqs() {
        let (store, loaded) = open(options());
        assert_eq!(loaded.last_seq, 0);
        let (room, name) = store
            .create_room(Some("ops"), RoomKind::Room, "", &[], at(0))
            .expect("made");
        assert_eq!((room, name.as_str()), (GENERAL + 1, "ops"));
        for n in 1..=5_u64 {
            let second = i64::try_from(n).unwrap_or_default();
            assert_eq!(stored(&store, GENERAL, &format!("g{n}"), &[], second), n);
            assert_eq!(stored(&store, room, &format!("r{n}"), &[], second), n);
        }
        let texts = |room, before| -> Vec<String> {
            store
                .read(room, Selection::Before { before, limit: 10 })
                .expect("read")
                .into_iter()
                .map(|m| m.text)
                .collect()
        };
        assert_eq!(texts(GENERAL, 99), ["g3", "g4", "g5"]);
        assert_eq!(texts(room, 99), ["r4", "r5"]);
        assert_eq!(texts(GENERAL, 5), ["g3", "g4"]);
        let (dm, dm_name) = store
            .create_room(None, RoomKind::Dm, "", &[], at(0))
            .expect("made");
        assert_eq!(dm_name, format!("dm:{dm}"));
    }

    #[test]
    fn retention_mentions_and_a_name_claimed_afresh() {
        let (store, _) = open(options());
        stored(&store, GENERAL, "hi @bo", &["bo"], 1);
        stored(&store, GENERAL, "later @bo", &["bo"], 10);
        assert_eq!(
            store
                .counts_after(GENERAL, "bo", 0)
                .ok()
                .map(|c| c.mentions),
            Some(2)
        );
        assert_eq!(
            store
                .counts_after(GENERAL, "bo", 1)
                .ok()
                .map(|c| c.mentions),
            Some(1)
        );
        assert_eq!(store.expire_before(GENERAL, at(0)).ok(), Some(None));
        assert_eq!(store.expire_before(GENERAL, at(5)).ok(), Some(Some(2)));
        assert_eq!(store.expire_before(GENERAL, at(11)).ok(), Some(Some(3)));
        stored(&store, GENERAL, "@bo again", &["bo"], 12);
        store.forget_name("bo", at(13)).expect("forgotten");
        assert_eq!(
            store
                .counts_after(GENERAL, "bo", 0)
                .ok()
                .map(|c| c.mentions),
            Some(0)
        );
    }

    #[test]
    fn a_search_finds_the_newest_matches_of_the_rooms_asked() {
        let (store, _) = open(options());
        let (room, _) = store
            .create_room(Some("ops"), RoomKind::Room, "", &[], at(0))
            .expect("made");
        stored(&store, GENERAL, "deploy friday", &[], 1);
        stored(&store, room, "we deploy on Friday", &[], 2);
        stored(&store, room, "redeploy friday", &[], 3);
        let texts = |rooms: &[RoomId], before| -> Vec<String> {
            store
                .search("deploy fri*", rooms, before, Duration::from_secs(1))
                .expect("searched")
                .found
                .into_iter()
                .map(|f| f.message.text)
                .collect()
        };
        assert_eq!(
            texts(&[GENERAL, room], None),
            ["we deploy on Friday", "deploy friday"]
        );
        assert_eq!(texts(&[room], None), ["we deploy on Friday"]);
        assert_eq!(texts(&[GENERAL, room], Some(2)), ["deploy friday"]);
        assert!(texts(&[GENERAL], Some(1)).is_empty());
        assert!(store
            .search("\u{0} \"", &[GENERAL], None, Duration::from_secs(1))
            .expect("searched")
            .found
            .is_empty());
    }

    #[test]
    fn a_retired_room_keeps_nothing() {
        let (store, _) = open(options());
        let (room, _) = store
            .create_room(Some("ops"), RoomKind::Room, "", &[], at(0))
            .expect("made");
        stored(&store, room, "x", &[], 1);
        assert_eq!(store.retire_room(room, at(2)).ok(), Some(true));
        assert_eq!(store.purge_retired(room).ok(), Some(true));
        assert!(store
            .read(
                room,
                Selection::Before {
                    before: 99,
                    limit: 10
                }
            )
            .expect("read")
            .is_empty());
    }
}
