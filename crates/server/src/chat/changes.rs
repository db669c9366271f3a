//! Living messages in the chat: `message-edit`, `message-delete`, `reaction` and `pin`
//! applied and sent to the room as `message-updated`; `changes` pages and `pins` lists read
//! from the store.
//!
//! A change is stored before anyone sees it, as a message is: with one node, under the lock
//! (the store gives it the room's next `rev` in the commit), then held in the room's window
//! and sent to the room's audience, so `rev` order is the order everyone sees. With several
//! nodes the change is written off the lock, and every node delivers it in `rev` order
//! ([`super::cluster`]): others when the database announces it, this one before it answers.

use std::time::Instant;

use charla_protocol::chat::{
    emoji_is_valid, ChangeAck, ChangeRequest, Changes, ChangesPage, ChangesRequest, ErrorCode,
    MessageChange, PinList, Refusal, RoomOrGeneral, ServerEvent, MAX_CHANGES_PAGE,
};
use charla_protocol::rules::check_text;

use super::messages::Lane;
use super::reply::Reply;
use super::state::{Chat, ChatState};
use super::{missing, not_joined, too_many};
use crate::store::{Change, ChangeRefused, Changed, Member, RoomId, Selection};
use crate::transport::Link;

impl Chat {
    /// Applies a change to a message: checked, stored, then sent to the room as
    /// `message-updated`, and answered with the `rev` it took.
    ///
    /// # Errors
    /// Not joined, a guest, not a member, a change the rules refuse (not the author, a deleted
    /// message, too many reactions or pins), over the rate limit, or not stored.
    pub fn change(
        &self,
        link: &Link,
        request: ChangeRequest,
        answer_wanted: bool,
    ) -> Result<Reply, Refusal> {
        let config = &self.inner.config;
        let mut guard = self.lock();
        let state = &mut *guard;
        let conn = state.conns.get(&link.id()).ok_or_else(|| missing(link))?;
        let username = conn.username.clone().ok_or_else(not_joined)?;
        let key = conn.key.clone();
        if conn.device.is_none() {
            return Err(Refusal::new(
                ErrorCode::NotOwned,
                "guests cannot change messages: join with a device key",
            ));
        }
        let room = state.member_room(request.target.room.as_deref(), &key, false)?;
        match &request.change {
            MessageChange::Edit(text) => check_text(text, config.max_message_chars)?,
            MessageChange::React { emoji, .. } if !emoji_is_valid(emoji) => {
                return Err(Refusal::new(
                    ErrorCode::InvalidEmoji,
                    "a reaction is one emoji",
                ))
            }
            MessageChange::React { .. } | MessageChange::Delete | MessageChange::Pin { .. } => {}
        }
        let now = Instant::now();
        let allowed = match request.change {
            // Edits and deletions are new text for everyone: a message's limits.
            MessageChange::Edit(_) | MessageChange::Delete => {
                let peer = super::rate_limit::address_bucket(link.peer());
                state.limits.take_message(&key, peer, now)
            }
            MessageChange::React { .. } | MessageChange::Pin { .. } => {
                state.limits.reactions_by_name.take(&key, now)
            }
        };
        allowed.map_err(|wait| too_many("changes", wait))?;
        let mentions = match &request.change {
            MessageChange::Edit(text) if text.contains('@') => Self::mentioned(state, room, text),
            _ => Vec::new(),
        };
        let by = Member {
            key,
            name: username,
        };
        let seq = request.target.seq;
        let at = charla_protocol::timestamp::millis(config.clock.now());
        let store = self.inner.store.clone();
        if self.inner.cluster.is_some() {
            // Over the network: written off the lock, delivered when the database says so.
            drop(guard);
            let chat = self.clone();
            let answer = tokio::task::spawn_blocking(move || {
                let changed = store.change_message(room, seq, &asked(&by, &request, &mentions), at);
                if matches!(changed, Ok(Changed::Applied(_))) {
                    // Delivered here, in `rev` order, before it is acknowledged.
                    chat.catch_up_changes(room);
                }
                answer(changed).and_then(|ack| super::reply::encode(&ack))
            });
            return Ok(if answer_wanted {
                Reply::Later(tokio::spawn(async move {
                    answer.await.unwrap_or_else(|_| {
                        Err(Refusal::later(
                            ErrorCode::Unavailable,
                            "the server stopped before the change was stored",
                            1000,
                        ))
                    })
                }))
            } else {
                Reply::Nothing
            });
        }
        let changed = store.change_message(room, seq, &asked(&by, &request, &mentions), at);
        if let Ok(Changed::Applied(message)) = &changed {
            state.deliver_change(room, message.clone(), &self.inner.cuts);
        }
        let ack = answer(changed)?;
        if answer_wanted {
            Reply::now(link, &ack)
        } else {
            Ok(Reply::Nothing)
        }
    }

    /// Answers `changes {room, after, upto}`: the messages changed after `after`, read from
    /// the store off the async threads.
    ///
    /// # Errors
    /// Not joined; not a member; too many reads at once.
    pub fn changes(
        &self,
        link: &Link,
        request: ChangesRequest,
        answer_wanted: bool,
    ) -> Result<Reply, Refusal> {
        let guard = self.lock();
        let (room, last_rev) = {
            let conn = guard.conns.get(&link.id()).ok_or_else(not_joined)?;
            conn.username.as_ref().ok_or_else(not_joined)?;
            let (key, guest) = (conn.key.clone(), conn.device.is_none());
            let room = guard.member_room(request.room.as_deref(), &key, guest)?;
            (room, guard.rooms.get(room).map_or(0, |log| log.last_rev))
        };
        if !answer_wanted {
            return Ok(Reply::Nothing);
        }
        let (store, wire_name) = (
            self.inner.store.clone(),
            guard
                .rooms
                .get(room)
                .and_then(super::log::RoomLog::wire_name),
        );
        let which = Selection::ChangedAfter {
            rev: request.after,
            upto: request.upto.unwrap_or(u64::MAX),
            limit: MAX_CHANGES_PAGE,
        };
        self.read_later(guard, link, Lane::History, move || {
            let mut changes = store.read(room, which)?;
            for m in &mut changes {
                m.room.clone_from(&wire_name);
            }
            let last = changes.last().map_or(0, |m| m.living.rev);
            let more = changes.len() >= MAX_CHANGES_PAGE;
            Ok(ChangesPage {
                ok: true,
                changes: Changes {
                    rev: if more { last } else { last.max(last_rev) },
                    more,
                    changes,
                },
            })
        })
    }

    /// Answers `pins {room}`: the room's pinned messages, most recently pinned first.
    ///
    /// # Errors
    /// Not joined; not a member; too many reads at once.
    pub fn pins(
        &self,
        link: &Link,
        request: &RoomOrGeneral,
        answer_wanted: bool,
    ) -> Result<Reply, Refusal> {
        let guard = self.lock();
        let conn = guard.conns.get(&link.id()).ok_or_else(not_joined)?;
        conn.username.as_ref().ok_or_else(not_joined)?;
        let (key, guest) = (conn.key.clone(), conn.device.is_none());
        let room = guard.member_room(request.room.as_deref(), &key, guest)?;
        if !answer_wanted {
            return Ok(Reply::Nothing);
        }
        let store = self.inner.store.clone();
        let wire_name = guard
            .rooms
            .get(room)
            .and_then(super::log::RoomLog::wire_name);
        self.read_later(guard, link, Lane::History, move || {
            let mut messages = store.read(room, Selection::Pinned)?;
            for m in &mut messages {
                m.room.clone_from(&wire_name);
            }
            Ok(PinList { ok: true, messages })
        })
    }
}

impl ChatState {
    /// Delivers a stored change: held in the room's window and replay memory, and sent to
    /// the room's audience, unless it was delivered already.
    pub(super) fn deliver_change(
        &mut self,
        room: RoomId,
        mut message: charla_protocol::chat::ChatMessage,
        cuts: &super::state::Fanout,
    ) {
        let Some(log) = self.rooms.get_mut(room) else {
            return;
        };
        message.room = log.wire_name();
        if log.note_change(message.clone()) {
            self.broadcast_room(room, &ServerEvent::MessageUpdated(message), None, cuts);
        }
    }
}

/// The change `request` asks of the store, made by `by`, its text mentioning `mentions`.
fn asked<'a>(by: &'a Member, request: &'a ChangeRequest, mentions: &'a [Member]) -> Change<'a> {
    Change {
        by,
        what: &request.change,
        mentions,
        client_id: request.target.client_id.as_deref(),
    }
}

/// The answer to a change, or its refusal.
fn answer(changed: Result<Changed, ChangeRefused>) -> Result<ChangeAck, Refusal> {
    let (seq, rev) = match changed.map_err(refusal)? {
        Changed::Applied(message) | Changed::Unchanged(message) => {
            (message.seq.unwrap_or_default(), message.living.rev)
        }
        Changed::Retried { seq, rev } => (seq, rev),
    };
    Ok(ChangeAck { ok: true, seq, rev })
}

fn refusal(refused: ChangeRefused) -> Refusal {
    let text = refused.to_string();
    match refused {
        ChangeRefused::NoSuchMessage => Refusal::new(ErrorCode::NoSuchMessage, text),
        ChangeRefused::NotAuthor => Refusal::new(ErrorCode::NotAuthor, text),
        ChangeRefused::Deleted => Refusal::new(ErrorCode::MessageDeleted, text),
        ChangeRefused::TooManyReactions | ChangeRefused::TooManyPins => {
            Refusal::new(ErrorCode::LimitReached, text)
        }
        ChangeRefused::NotStored(_) => Refusal::later(
            ErrorCode::Unavailable,
            "the server could not store the change; it will be retried",
            1000,
        ),
    }
}
