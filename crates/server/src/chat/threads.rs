//! Threads in the chat: a reply's root checked (a reply to a reply answers its root), the
//! root's new count delivered after a reply, `thread` pages, the `threads` a name follows, and
//! thread read markers.
//!
//! A reply is stored and numbered as any message of its room (its `seq` is the room's), so
//! order, replay and retries are the room's. Only its event differs: a reply not also sent to
//! the room is a `thread-message`, which the tutorial's page never reads, and `history` pages
//! leave it out; the schema's triggers count it on its root, give the root the room's next
//! `rev` and make its author, the root's and those it mentions follow the thread.

use charla_protocol::chat::{
    Done, ErrorCode, FollowedThread, Refusal, ThreadList, ThreadPage, ThreadRequest,
    MAX_THREADS_LISTED, MAX_THREAD_PAGE,
};

use super::log::RoomLog;
use super::messages::Lane;
use super::reply::Reply;
use super::state::{Chat, ChatState};
use super::{missing, not_joined};
use crate::store::{RoomChange, RoomId, Selection, GENERAL};
use crate::transport::Link;

fn no_such_message() -> Refusal {
    Refusal::new(ErrorCode::NoSuchMessage, "no such message in this room")
}

impl Chat {
    /// The root a reply to `asked` goes under: `asked`, or its own root when it is a reply.
    /// Read from the room's window, or the store (a point read: under the lock, which on a
    /// database over the network is one round trip; also for a root another node stored and
    /// this one has not delivered yet).
    ///
    /// # Errors
    /// `no_such_message` when the room keeps no message of that `seq`.
    pub(super) fn thread_root(
        &self,
        state: &ChatState,
        room: RoomId,
        asked: u64,
    ) -> Result<u64, Refusal> {
        let log = state.rooms.get(room).ok_or_else(no_such_message)?;
        // Past the newest delivered here, a root may still be stored by another node (this
        // one has not delivered it yet): the store says.
        let beyond = asked > log.last_seq && self.inner.cluster.is_none();
        if asked == 0 || beyond || asked < log.oldest_kept {
            return Err(no_such_message());
        }
        let thread = match log.window.get(asked) {
            Some(message) => message.thread,
            None => {
                self.inner
                    .store
                    .read(room, Selection::Seq(asked))
                    .map_err(|e| {
                        tracing::warn!(error = %e, room, "could not read a thread's root");
                        super::database_unreachable()
                    })?
                    .first()
                    .ok_or_else(no_such_message)?
                    .thread
            }
        };
        Ok(thread.unwrap_or(asked))
    }

    /// Delivers the root of a reply just stored here, as the store's trigger changed it.
    pub(super) fn deliver_root(&self, state: &mut ChatState, room: RoomId, root: u64) {
        match self.inner.store.read(room, Selection::Seq(root)) {
            Ok(found) => {
                for message in found {
                    state.deliver_change(room, message, &self.inner.cuts);
                }
            }
            Err(e) => tracing::warn!(error = %e, room, "could not read a thread's root back"),
        }
    }

    /// Answers `thread {room, root, before, limit}`: the root as it is now and its newest
    /// replies before `before`, read off the async threads.
    ///
    /// # Errors
    /// Not joined; not a member; no such message; too many reads at once.
    pub fn thread(
        &self,
        link: &Link,
        request: ThreadRequest,
        answer_wanted: bool,
    ) -> Result<Reply, Refusal> {
        let guard = self.lock();
        let conn = guard.conns.get(&link.id()).ok_or_else(|| missing(link))?;
        conn.username.as_ref().ok_or_else(not_joined)?;
        let (key, guest) = (conn.key.clone(), conn.device.is_none());
        let room = guard.member_room(request.room.as_deref(), &key, guest)?;
        let root = self.thread_root(&guard, room, request.root)?;
        if !answer_wanted {
            return Ok(Reply::Nothing);
        }
        let limit = request.limit.clamp(1, MAX_THREAD_PAGE);
        let before = request.before.unwrap_or(u64::MAX);
        let store = self.inner.store.clone();
        let wire_name = guard.rooms.get(room).and_then(RoomLog::wire_name);
        self.read_later(guard, link, Lane::History, move || {
            let which = Selection::Thread {
                root,
                before,
                limit: limit + 1,
            };
            let mut replies = store.read(room, which)?;
            let more = replies.len() > limit;
            if more {
                replies.remove(0);
            }
            let mut root = store
                .read(room, Selection::Seq(root))?
                .into_iter()
                .next()
                .ok_or_else(|| crate::error::Error::Corrupt(format!("thread root {root} gone")))?;
            for m in replies.iter_mut().chain(std::iter::once(&mut root)) {
                m.room.clone_from(&wire_name);
            }
            Ok(ThreadPage {
                ok: true,
                root,
                replies,
                more,
            })
        })
    }

    /// Answers `threads`: the threads the asker follows in its rooms, the most recently
    /// answered first, with what it has not read of each.
    ///
    /// # Errors
    /// Not joined; too many reads at once.
    pub fn threads(&self, link: &Link, answer_wanted: bool) -> Result<Reply, Refusal> {
        let guard = self.lock();
        let conn = guard.conns.get(&link.id()).ok_or_else(|| missing(link))?;
        conn.username.as_ref().ok_or_else(not_joined)?;
        let key = conn.key.clone();
        if !answer_wanted {
            return Ok(Reply::Nothing);
        }
        let rooms: Vec<(RoomId, String, Option<String>)> = std::iter::once(GENERAL)
            .chain(guard.rooms.of(&key))
            .filter_map(|id| {
                let log = guard.rooms.get(id)?;
                Some((id, log.name.clone(), log.wire_name()))
            })
            .collect();
        let store = self.inner.store.clone();
        self.read_later(guard, link, Lane::History, move || {
            let ids: Vec<RoomId> = rooms.iter().map(|(id, ..)| *id).collect();
            let threads = store
                .followed_threads(&key, &ids, MAX_THREADS_LISTED)?
                .into_iter()
                .filter_map(|followed| {
                    let (_, name, wire) = rooms.iter().find(|(id, ..)| *id == followed.room)?;
                    let mut root = followed.root;
                    root.room.clone_from(wire);
                    Some(FollowedThread {
                        room: name.clone(),
                        root,
                        read: followed.read,
                        unread: followed.unread,
                    })
                })
                .collect();
            Ok(ThreadList { ok: true, threads })
        })
    }

    /// Answers `read {room, seq, thread}`: the asker's read marker of that thread moves
    /// forward, written off the async threads.
    ///
    /// # Errors
    /// Not joined; a guest; not a member; no such message.
    pub(super) fn read_thread(
        &self,
        link: &Link,
        (room_name, root, seq): (&str, u64, u64),
    ) -> Result<Reply, Refusal> {
        let mut guard = self.lock();
        let conn = guard.conns.get(&link.id()).ok_or_else(|| missing(link))?;
        conn.username.as_ref().ok_or_else(not_joined)?;
        if conn.device.is_none() {
            return Err(Refusal::new(
                ErrorCode::NotOwned,
                "guests follow no threads: join with a device key",
            ));
        }
        let key = conn.key.clone();
        let room = guard.member_room(Some(room_name), &key, false)?;
        // Each is a write: at the rate of reactions, one at a time per connection.
        guard
            .limits
            .reactions_by_name
            .take(&key, std::time::Instant::now())
            .map_err(|wait| super::too_many("thread reads", wait))?;
        let root = self.thread_root(&guard, room, root)?;
        let store = self.inner.store.clone();
        let at = self.inner.config.clock.now();
        self.read_later(guard, link, Lane::History, move || {
            let read = RoomChange::ThreadRead {
                key: &key,
                root,
                seq,
            };
            store.change_room(room, read, at)?;
            Ok(Done { ok: true })
        })
    }
}
