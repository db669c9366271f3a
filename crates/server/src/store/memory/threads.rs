//! Threads in the memory store: who follows each thread of the windows, with their read
//! markers, and what a member counts of a room. A reply raises its room's `rev` and gives it
//! to its root, as the databases' triggers do.

use std::collections::{BTreeMap, HashMap};

use charla_protocol::chat::ChatMessage;

use super::{Kept, RoomId};
use crate::store::{only_in_thread, Counts, Followed};

/// (room, root) → name key → replies read up to this `seq`.
#[derive(Default)]
pub(super) struct Follows(HashMap<(RoomId, u64), BTreeMap<String, u64>>);

impl Follows {
    /// A reply was kept: its root counts it and takes the room's next `rev`; its author, the
    /// root's and those it mentions follow the thread (its author has read it). Threads whose
    /// root left the window are forgotten.
    pub(super) fn replied(&mut self, room: RoomId, kept: &mut Kept, reply: &ChatMessage) {
        let (Some(root), Some(seq)) = (reply.thread, reply.seq) else {
            return;
        };
        let (replier, mentioned) = kept
            .window
            .get(seq)
            .map(|e| (e.author_key.clone(), e.mentions.clone()))
            .unwrap_or_default();
        let root_author = kept.window.get(root).and_then(|e| e.author_key.clone());
        kept.last_rev += 1;
        let rev = kept.last_rev;
        kept.window.update(root, |entry| {
            entry.message.living.replies += 1;
            entry.message.living.last_reply_at = Some(reply.timestamp);
            entry.message.living.rev = rev;
        });
        let followers = self.0.entry((room, root)).or_default();
        for key in mentioned.into_iter().chain(root_author) {
            followers.entry(key).or_insert(0);
        }
        if let Some(key) = replier {
            let read = followers.entry(key).or_insert(0);
            *read = (*read).max(seq);
        }
        let oldest = kept.oldest();
        self.0
            .retain(|(in_room, root), _| *in_room != room || *root >= oldest);
    }

    /// What `key` counts of the kept messages of `room` after `after`.
    pub(super) fn counts(&self, room: RoomId, kept: &Kept, key: &str, after: u64) -> Counts {
        let mut counts = Counts::default();
        for entry in kept.window.messages() {
            if entry.message.seq <= Some(after) {
                continue;
            }
            if entry.mentions.iter().any(|k| k == key) {
                counts.mentions += 1;
            }
            let follows = |root| {
                self.0
                    .get(&(room, root))
                    .is_some_and(|followers| followers.contains_key(key))
            };
            if only_in_thread(&entry.message) && !entry.message.thread.is_some_and(follows) {
                counts.unfollowed_replies += 1;
            }
        }
        counts
    }

    /// The threads `key` follows in `rooms` that have replies, the most recently answered
    /// first.
    pub(super) fn of(
        &self,
        key: &str,
        rooms: &[RoomId],
        kept: &HashMap<RoomId, Kept>,
        limit: usize,
    ) -> Vec<Followed> {
        let mut followed: Vec<Followed> = self
            .0
            .iter()
            .filter(|((room, _), _)| rooms.contains(room))
            .filter_map(|((room, root), followers)| {
                let read = *followers.get(key)?;
                let kept = kept.get(room)?;
                let mut message = kept.window.get(*root)?.message.clone();
                if message.living.replies == 0 {
                    return None;
                }
                message.room = None;
                let unread = kept
                    .window
                    .messages()
                    .iter()
                    .filter(|e| e.message.thread == Some(*root) && e.message.seq > Some(read))
                    .count();
                Some(Followed {
                    room: *room,
                    root: message,
                    read,
                    unread: u64::try_from(unread).unwrap_or(u64::MAX),
                })
            })
            .collect();
        followed.sort_by_key(|f| std::cmp::Reverse(f.root.living.last_reply_at));
        followed.truncate(limit);
        followed
    }

    /// Forgets what a name claimed afresh followed.
    pub(super) fn forget_name(&mut self, key: &str) {
        for followers in self.0.values_mut() {
            followers.remove(key);
        }
        self.0.retain(|_, followers| !followers.is_empty());
    }

    /// Forgets the threads of a retired room.
    pub(super) fn forget_room(&mut self, room: RoomId) {
        self.0.retain(|(in_room, _), _| *in_room != room);
    }

    /// Moves `key`'s read marker of a thread forward to `seq`.
    pub(super) fn read(&mut self, room: RoomId, root: u64, key: &str, seq: u64) {
        if let Some(read) = self
            .0
            .get_mut(&(room, root))
            .and_then(|followers| followers.get_mut(key))
        {
            *read = (*read).max(seq);
        }
    }
}
