//! Messages coming in, live or replayed (after a join, or on entering a room), reported once
//! each: every room counts its own `seq`s, and a message at or below the newest one reported
//! of its room was reported already. A message reported whole carries its changes: its `rev`
//! is noted as reported, so the same change is not reported again.
//!
//! One place for "is this new?" because the join's history, each room's replay and the live
//! stream overlap around a reconnect, and each must report a message only if no other did.

use charla_protocol::chat::{parse_ack, ChatMessage, ClientRequest, RoomEntered, RoomReplay};
use serde_json::Value;

use super::changes::room_key;
use super::{Ending, Session};
use crate::actor::Actor;
use crate::report::ClientEvent;

/// Whether a message is a reply only in its thread (not also sent to the room).
pub(super) fn only_in_thread(message: &ChatMessage) -> bool {
    message.thread.is_some() && !message.also_in_room
}

/// How a new message is reported: a reply only in its thread is the thread's, not the
/// room's timeline's.
pub(super) fn reported(message: ChatMessage) -> ClientEvent {
    if only_in_thread(&message) {
        ClientEvent::ThreadMessage(message)
    } else {
        ClientEvent::Message(message)
    }
}

impl Actor {
    /// A message of the live stream (a `message`, or a `thread-message`): reported if new, then
    /// taken as the echo of our own. A reply only in its thread moves its room's `seq` like
    /// any message, so a reconnect does not replay it again.
    pub(super) fn on_message(&mut self, session: &Session, message: ChatMessage) {
        if self.is_new(&message) {
            self.emit(reported(message.clone()));
        }
        // After the message itself, so whoever waits for an empty outbox has seen it.
        self.confirm_echo(session, &message);
    }

    /// Whether a message has not been reported yet; records it as reported. Messages without
    /// a `seq` come from the tutorial's server, which never sends one twice (and whose ids are
    /// not unique: two messages in one millisecond share one). Each room counts on its own.
    pub(super) fn is_new(&mut self, message: &ChatMessage) -> bool {
        let last = match &message.room {
            None => &mut self.last_seq,
            Some(room) => self.room_seqs.entry(room.clone()).or_insert(0),
        };
        match message.seq {
            Some(seq) if seq <= *last => false,
            Some(seq) => {
                *last = seq;
                if message.living.rev > 0 {
                    let room = room_key(message.room.as_deref());
                    self.reported.newer(room, seq, message.living.rev);
                }
                true
            }
            None => true,
        }
    }

    /// Reports what the server replayed of a room (after a join, or on entering it): the gap
    /// it no longer keeps, the messages it left out for size (still kept: paged on demand),
    /// the new messages, then the changes to those reported before (paged on while more).
    pub(super) async fn report_replay(
        &mut self,
        session: &mut Session,
        room: &str,
        replay: RoomReplay,
    ) -> Option<Ending> {
        // What was asked for: the replay's changes are of the messages up to it.
        let since = self.room_seqs.get(room).copied().unwrap_or(0);
        if let Some(gap) = replay.gap {
            self.emit(ClientEvent::Gap {
                room: Some(room.to_owned()),
                from: gap.from,
                to: gap.to,
                kept: false,
            });
        }
        let first = replay.messages.first().and_then(|m| m.seq);
        if let Some(first) = first.filter(|f| replay.more && *f > since + 1) {
            let from = replay.gap.map_or(since + 1, |gap| gap.to + 1);
            if from < first {
                self.emit(ClientEvent::Gap {
                    room: Some(room.to_owned()),
                    from,
                    to: first - 1,
                    kept: true,
                });
            }
        }
        for mut message in replay.messages {
            message.room = Some(room.to_owned());
            if self.is_new(&message) {
                self.emit(reported(message));
            }
        }
        let changes = replay.changes?;
        self.on_changes(session, room, since, changes).await
    }

    /// What an answered request changes here: entering a room reports its new messages and
    /// changes (and the room from then on is replayed at each join); leaving one forgets it.
    pub(super) async fn learn_from(
        &mut self,
        session: &mut Session,
        request: &ClientRequest,
        reply: &Value,
    ) -> Option<Ending> {
        match request {
            ClientRequest::RoomCreate(_)
            | ClientRequest::RoomJoin(_)
            | ClientRequest::DmOpen(_) => {
                let entered = parse_ack::<RoomEntered>(reply).ok()?;
                let room = entered.room.room.clone();
                self.room_seqs.entry(room.clone()).or_insert(0);
                // Reported before the room's messages: what they are counted against.
                self.emit(ClientEvent::RoomEntered(entered.room.clone()));
                self.report_replay(session, &room, entered.replay).await
            }
            ClientRequest::RoomLeave(left) if reply.get("ok") == Some(&Value::Bool(true)) => {
                self.forget_room(&left.room);
                None
            }
            _ => None,
        }
    }
}
