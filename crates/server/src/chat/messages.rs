//! What is said: `chat-message` (stored, then broadcast to the room), `typing`, `history`
//! pages, and retention by age.
//!
//! A message is stored before anyone sees it: [`Chat::chat`] stores the draft (the store gives
//! it its `seq` in the commit) and only then broadcasts it and answers the sender, all under
//! the lock, so `seq` order is the order everyone in the room sees. On a store over the network
//! (PostgreSQL) the write is queued under the lock and awaited without it
//! ([`super::cluster`]). A failed write leaves no trace: the message is refused as
//! `unavailable`, and its retry is stored afresh.

use std::sync::MutexGuard;
use std::time::Instant;

use charla_protocol::chat::{
    ChatMessage, ErrorCode, HistoryPage, HistoryRequest, OutgoingMessage, Refusal, SendAck,
    ServerEvent, MAX_HISTORY_PAGE,
};
use charla_protocol::rules::check_text;
use chrono::TimeDelta;

use super::cluster::finish::Queued;
use super::identity::typing_notice;
use super::log::{newest_within, RoomLog};
use super::mentions;
use super::reply::{self, Reply};
use super::state::{send_ack, Chat, ChatState, DedupeKey, Fanout};
use super::{missing, not_joined, too_many};
use crate::config::{ServerConfig, Storage};
use crate::store::{only_in_thread, Appended, Counts, Draft, Member, NotStored, RoomId, Selection};
use crate::transport::{Link, Sid};

impl Chat {
    /// Accepts a message: stores it (which gives it the next `seq` of its room), then
    /// broadcasts it to the room and answers with its ack. A `clientId` seen before is acked
    /// again instead.
    ///
    /// # Errors
    /// Not joined, not a member of the room, empty or too long, over the rate limit, or not
    /// stored.
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
        let conn = state.conns.get(&sid).ok_or_else(|| missing(link))?;
        let username = conn.username.clone().ok_or_else(not_joined)?;
        let name_key = conn.key.clone();
        let guest = conn.device.is_none();
        let room = state.member_room(outgoing.room.as_deref(), &name_key, guest)?;
        check_text(&outgoing.text, config.max_message_chars)?;

        let dedupe_key = outgoing
            .client_id
            .as_ref()
            .map(|id| (name_key.clone(), id.clone()));
        if let Some(previous) = dedupe_key.as_ref().and_then(|k| state.accepted.acks.get(k)) {
            tracing::debug!(sid = %sid, "retry of a stored message acked again");
            return self.acked_again(link, previous, answer_wanted);
        }
        let peer = super::rate_limit::address_bucket(link.peer());
        state
            .limits
            .take_message(&name_key, peer, Instant::now())
            .map_err(|wait| too_many("messages", wait))?;
        // After the rate limit: a root outside the window is a read of the store.
        let thread = match outgoing.thread {
            Some(asked) => Some(self.thread_root(state, room, asked)?),
            None => None,
        };
        // The message says the typing is over.
        state.typing_ends_in(sid, room);

        let author = (sid, username, (!guest).then(|| name_key.clone()));
        let draft = Self::draft(state, room, author, outgoing, thread);
        // On the server's clock, the one retention reads.
        let at = charla_protocol::timestamp::millis(config.clock.now());
        if let Some(cluster) = self.inner.cluster.clone() {
            // Queued now, in the order sent; the lock is not held while the database answers.
            let answer = cluster.append_queued(room, draft, at);
            let queued = Queued {
                room,
                dedupe_key,
                name_key,
                guest,
                started: Instant::now(),
            };
            let replied = self.hand_to_finisher(&cluster, answer, queued)?;
            drop(guard);
            // Without an ack wanted, the message is delivered all the same.
            return Ok(if answer_wanted {
                Reply::Later(tokio::spawn(async move {
                    replied.await.unwrap_or_else(|_| {
                        Err(Refusal::later(
                            ErrorCode::Unavailable,
                            "the server stopped before the message was delivered",
                            1000,
                        ))
                    })
                }))
            } else {
                Reply::Nothing
            });
        }
        let started = Instant::now();
        let stored = self.inner.store.append(room, draft, at);
        self.inner.metrics.committed(started.elapsed());
        let appended = stored.map_err(|NotStored(reason)| {
            tracing::warn!(reason, "a message was refused: it could not be stored");
            Refusal::later(
                ErrorCode::Unavailable,
                "the server could not store the message; it will be retried",
                1000,
            )
        })?;
        let wire_room = state.rooms.get(room).and_then(RoomLog::wire_name);
        let mut message = match appended {
            Appended::New(message) => message,
            Appended::Existing(mut stored) => {
                // A retry whose first try was stored without this node's memory of it.
                stored.room = wire_room;
                let ack = send_ack(&stored, stored.seq.unwrap_or_default());
                if let Some(key) = dedupe_key {
                    state.accepted.insert(key, ack.clone());
                }
                return self.acked_again(link, &ack, answer_wanted);
            }
        };
        message.room = wire_room;
        let ack = state.publish(room, message, dedupe_key, config, &self.inner.cuts);
        self.inner.metrics.accepted();
        if let Some(root) = thread {
            // The store counted the reply on its root: the room sees the root's new count.
            self.deliver_root(state, room, root);
        }
        if !guest {
            // Writing in a room is reading it.
            state.move_marker(&name_key, room, ack.seq);
        }
        if answer_wanted {
            Reply::now(link, &ack)
        } else {
            Ok(Reply::Nothing)
        }
    }

    /// The draft of `outgoing` in `room` by `author` (its session, name, and key when it owns
    /// the name), a reply under `thread` when it is one, with the members it mentions.
    fn draft(
        state: &ChatState,
        room: RoomId,
        (sid, username, author_key): (Sid, String, Option<String>),
        outgoing: OutgoingMessage,
        thread: Option<u64>,
    ) -> Draft {
        let mentions = if outgoing.text.contains('@') {
            Self::mentioned(state, room, &outgoing.text)
        } else {
            Vec::new()
        };
        Draft {
            id_prefix: sid.to_string(),
            username,
            text: outgoing.text,
            client_id: outgoing.client_id,
            guest: author_key.is_none(),
            author_key,
            thread,
            also_in_room: outgoing.also_in_room && thread.is_some(),
            mentions,
        }
    }

    /// Answers a retry of a stored message with the ack it got (nothing is stored again).
    fn acked_again(
        &self,
        link: &Link,
        ack: &SendAck,
        answer_wanted: bool,
    ) -> Result<Reply, Refusal> {
        self.inner.metrics.retried();
        if answer_wanted {
            Reply::now(link, ack)
        } else {
            Ok(Reply::Nothing)
        }
    }

    /// The members of `room` that `text` mentions (in `general`, any owned name, or a guest
    /// online).
    pub(super) fn mentioned(state: &ChatState, room: RoomId, text: &str) -> Vec<Member> {
        let Some(log) = state.rooms.get(room) else {
            return Vec::new();
        };
        mentions::find(text, |key| {
            if log.is_general() {
                state
                    .names
                    .get(key)
                    .map(|holder| holder.name.clone())
                    .or_else(|| state.elsewhere.get(key).map(|held| held.name.clone()))
                    .or_else(|| state.book.owner(key).ok().flatten())
            } else {
                log.members.get(key).cloned()
            }
        })
    }

    /// Relays a change of typing state to the room's audience. Starting to type is
    /// rate-limited per name (a flood is dropped, with a log line now and then); stopping
    /// always goes through. Starting in one room stops it in the one before.
    ///
    /// # Errors
    /// Not joined; not a member of the room.
    pub fn typing(&self, link: &Link, room: Option<&str>, typing: bool) -> Result<Reply, Refusal> {
        let sid = link.id();
        let mut guard = self.lock();
        let state = &mut *guard;
        let conn = state.conns.get(&sid).ok_or_else(not_joined)?;
        let username = conn.username.clone().ok_or_else(not_joined)?;
        let key = conn.key.clone();
        let guest = conn.device.is_none();
        let before = conn.typing;
        let room = state.member_room(room, &key, guest)?;
        let now_in = typing.then_some(room);
        if before == now_in || (!typing && before.is_none()) {
            return Ok(Reply::Nothing);
        }
        if typing
            && state
                .limits
                .typing_by_name
                .take(&key, Instant::now())
                .is_err()
        {
            self.inner.typing_floods.warn(|suppressed| {
                tracing::warn!(sid = %sid, username = ?username, suppressed, "typing flood: changes dropped");
            });
            return Ok(Reply::Nothing);
        }
        if let Some(conn) = state.conns.get_mut(&sid) {
            conn.typing = now_in;
        }
        let cluster = self.inner.cluster.as_ref();
        if let Some(stopped_in) = before.filter(|r| typing || *r == room) {
            let stopped = state.stopped_typing(username.clone(), stopped_in);
            state.broadcast_room(stopped_in, &stopped, Some(sid), &self.inner.cuts);
            if let Some(cluster) = cluster {
                cluster.announce_typing(stopped_in, &username, false);
            }
        }
        if typing {
            if let Some(cluster) = cluster {
                cluster.announce_typing(room, &username, true);
            }
            let wire = state.rooms.get(room).and_then(RoomLog::wire_name);
            let started = typing_notice(username, true, wire);
            state.broadcast_room(room, &started, Some(sid), &self.inner.cuts);
        }
        Ok(Reply::Nothing)
    }

    /// Answers `history {room, before, limit}`: the newest messages before `before`, from
    /// memory when the room's window has them, else read from disk off the async threads.
    ///
    /// # Errors
    /// Not joined; not a member; too many reads at once.
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
        let (key, guest) = (conn.key.clone(), conn.device.is_none());
        let room = state.member_room(request.room.as_deref(), &key, guest)?;
        if !answer_wanted {
            // Nobody to answer: nothing to do.
            return Ok(Reply::Nothing);
        }
        let log = state.rooms.get(room).ok_or_else(not_joined)?;
        let window = log.window.messages();
        let below = window.partition_point(|m| m.seq < Some(request.before));
        let window_front = log.window.front_seq().unwrap_or(log.last_seq + 1);
        // The room's messages: a reply only in its thread is the thread's.
        let mut messages: Vec<ChatMessage> = window
            .range(..below)
            .rev()
            .filter(|m| !only_in_thread(m))
            .take(limit)
            .cloned()
            .collect();
        if messages.len() >= limit || window_front <= log.oldest_kept {
            messages.reverse();
            return Reply::now(link, &page(messages, log.oldest_kept, max_bytes));
        }
        let store = self.inner.store.clone();
        let (oldest, wire_name) = (log.oldest_kept, log.wire_name());
        self.read_later(guard, link, Lane::History, move || {
            let before = request.before;
            let mut messages = store.read(room, Selection::Before { before, limit })?;
            for m in &mut messages {
                m.room.clone_from(&wire_name);
            }
            Ok(page(messages, oldest, max_bytes))
        })
    }

    /// Answers with what `read` (a blocking read of the store) finds, off the async threads:
    /// one read of each lane at a time per connection, a few at once on the server.
    pub(super) fn read_later<T: serde::Serialize>(
        &self,
        mut guard: MutexGuard<'_, ChatState>,
        link: &Link,
        lane: Lane,
        read: impl FnOnce() -> crate::error::Result<T> + Send + 'static,
    ) -> Result<Reply, Refusal> {
        let sid = link.id();
        let what = lane.what();
        let conn = guard.conns.get_mut(&sid).ok_or_else(not_joined)?;
        let busy = match lane {
            Lane::History => &mut conn.reading_history,
            Lane::Search => &mut conn.searching,
        };
        if *busy {
            return Err(Refusal::later(
                ErrorCode::RateLimited,
                format!("one {what} request at a time"),
                100,
            ));
        }
        let permits = match lane {
            Lane::History => &self.inner.reads,
            Lane::Search => &self.inner.searches,
        };
        let Ok(permit) = permits.clone().try_acquire_owned() else {
            return Err(match lane {
                Lane::History => Refusal::later(
                    ErrorCode::Unavailable,
                    "the server is busy reading (history)",
                    200,
                ),
                Lane::Search => {
                    self.inner.limits_hit.warn(|suppressed| {
                        tracing::warn!(sid = %sid, suppressed, "every search slot is taken: a search was refused");
                    });
                    Refusal::later(
                        ErrorCode::RateLimited,
                        "the server is running as many searches as it can; try again in a moment",
                        500,
                    )
                }
            });
        };
        *busy = true;
        drop(guard);
        let chat = self.clone();
        Ok(Reply::Later(tokio::task::spawn_blocking(move || {
            let result = read();
            drop(permit);
            if let Some(conn) = chat.lock().conns.get_mut(&sid) {
                match lane {
                    Lane::History => conn.reading_history = false,
                    Lane::Search => conn.searching = false,
                }
            }
            match result {
                Ok(answer) => reply::encode(&answer),
                Err(crate::error::Error::SearchTimedOut(budget)) => {
                    tracing::info!(sid = %sid, budget_ms = budget.as_millis(), "a search ran past its budget and was stopped");
                    Err(Refusal::new(
                        ErrorCode::SearchTooBroad,
                        "that search would take too long: add words, or make them longer",
                    ))
                }
                Err(e) => {
                    tracing::error!(error = %e, what, "could not read the store");
                    Err(Refusal::later(
                        ErrorCode::Unavailable,
                        format!("the server could not read that ({what}); try again"),
                        1000,
                    ))
                }
            }
        })))
    }

    /// Removes messages older than the retention age, if one is set, from every room: from
    /// the store, and from the windows, so no join or page gives them any more; a client that
    /// had not seen them is told the gap on its next join.
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
        let rooms: Vec<RoomId> = self.lock().rooms.all().map(|log| log.id).collect();
        for room in rooms {
            let oldest = self
                .inner
                .store
                .expire_before(room, cutoff)
                .unwrap_or_else(|e| {
                    tracing::warn!(error = %e, room, "could not remove messages past the retention age");
                    None
                });
            if let Some(oldest) = oldest {
                let mut state = self.lock();
                if let Some(log) = state.rooms.get_mut(room) {
                    log.oldest_kept = log.oldest_kept.max(oldest);
                    log.window.drop_below(oldest);
                }
            }
        }
    }

    /// What `key` counts of the kept messages of `log` after `read` (mentions, and replies in
    /// threads it does not follow), as the store counts them.
    pub(super) fn counts_for(&self, log: &RoomLog, key: &str, read: u64) -> Counts {
        let after = read.max(log.oldest_kept.saturating_sub(1));
        self.inner
            .store
            .counts_after(log.id, key, after)
            .unwrap_or_else(|e| {
                tracing::warn!(error = %e, "could not count mentions and replies");
                Counts::default()
            })
    }
}

impl ChatState {
    /// Connection `sid` no longer types in `room` (it sent its message there).
    fn typing_ends_in(&mut self, sid: Sid, room: RoomId) {
        if let Some(conn) = self.conns.get_mut(&sid) {
            if conn.typing == Some(room) {
                conn.typing = None;
            }
        }
    }

    /// Makes a stored message visible (the room's window, the dedupe memory, the room's
    /// audience) and returns its ack.
    pub(super) fn publish(
        &mut self,
        room: RoomId,
        message: ChatMessage,
        dedupe_key: Option<DedupeKey>,
        config: &ServerConfig,
        cuts: &Fanout,
    ) -> SendAck {
        let ack = match self.rooms.get_mut(room) {
            Some(log) => {
                let seq = message.seq.unwrap_or(log.last_seq + 1);
                log.last_seq = seq;
                log.last_activity = Some(message.timestamp);
                log.window.push(message.clone());
                log.oldest_kept = match (&config.storage, config.retention_messages) {
                    (Storage::Memory, _) => log.window.front_seq().unwrap_or(seq + 1),
                    (Storage::Sqlite(_) | Storage::Postgres(_), Some(keep)) => {
                        log.oldest_kept.max((seq + 1).saturating_sub(keep))
                    }
                    (Storage::Sqlite(_) | Storage::Postgres(_), None) => log.oldest_kept,
                };
                log.window.drop_below(log.oldest_kept);
                send_ack(&message, seq)
            }
            None => send_ack(&message, message.seq.unwrap_or_default()),
        };
        if let Some(key) = dedupe_key {
            self.accepted.insert(key, ack.clone());
        }
        let event = if only_in_thread(&message) {
            ServerEvent::ThreadMessage(message)
        } else {
            ServerEvent::Message(message)
        };
        self.broadcast_room(room, &event, None, cuts);
        ack
    }
}

/// An answer to `history`: `messages` trimmed to `max_bytes` from the oldest side.
fn page(mut messages: Vec<ChatMessage>, oldest_kept: u64, max_bytes: usize) -> HistoryPage {
    let keep = newest_within(&messages, max_bytes, true);
    messages.drain(..messages.len() - keep);
    let first = messages.first().and_then(|m| m.seq);
    HistoryPage {
        ok: true,
        more: first.is_some_and(|f| f > oldest_kept),
        messages,
    }
}

/// What a deferred read is, for its limits: a page of history, or a search.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Lane {
    /// `history`: a few at once on the server, one per connection.
    History,
    /// `search`: [`crate::config::ServerConfig::max_searches`] at once, one per connection.
    Search,
}

impl Lane {
    fn what(self) -> &'static str {
        match self {
            Self::History => "history",
            Self::Search => "search",
        }
    }
}
