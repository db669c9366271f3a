//! Changes to messages coming in: live (`message-updated`), replayed with a join or a room
//! entered (`changes`), and paged with `changes` requests when a replay held only part of them.
//! Each is reported as [`ClientEvent::MessageUpdated`] when it is newer than what was reported
//! of its message, and each room's `rev` cursor follows them.
//!
//! # The cursor
//!
//! `revs[room]` says that every change up to it, of the messages reported, was reported: what
//! the next join names. A replay sets it to its `changes.rev`; with `more` that is where the
//! replay stopped, and `changes {after: rev, upto}` is asked page after page from there. While a
//! room's changes are paged, live changes are reported but do not move its cursor: were the
//! connection lost then, the next join must ask from where paging stopped, not from the newest
//! live change (which would skip the pages not read). The last page's `rev` is the room's, so
//! it covers the live changes that came meanwhile.

use charla_protocol::chat::{
    parse_ack, Changes, ChangesPage, ChangesRequest, ChatMessage, ClientRequest, GENERAL_ROOM,
};
use rand::Rng;
use serde_json::Value;

use super::sending::retry_wait;
use super::{Pending, Session};
use crate::actor::{Actor, Ending};
use crate::report::ClientEvent;

/// A room as the cursors name it: `general` by its name.
pub(super) fn room_key(room: Option<&str>) -> &str {
    room.unwrap_or(GENERAL_ROOM)
}

/// A room as messages and requests name it: `general` not at all.
fn wire_room(room: &str) -> Option<String> {
    (room != GENERAL_ROOM).then(|| room.to_owned())
}

impl Actor {
    /// A live `message-updated`: reported if newer, and the room's cursor moved unless its
    /// changes are being paged.
    pub(super) fn on_updated(&mut self, session: &Session, message: ChatMessage) {
        let room = room_key(message.room.as_deref()).to_owned();
        if !session.paging.contains(&room) {
            let cursor = self.revs.entry(room).or_insert(0);
            *cursor = (*cursor).max(message.living.rev);
        }
        self.report_change(message);
    }

    /// Reports a message as it is after a change, if that is newer than what was reported.
    fn report_change(&mut self, message: ChatMessage) {
        let Some(seq) = message.seq else {
            return;
        };
        let room = room_key(message.room.as_deref());
        if self.reported.newer(room, seq, message.living.rev) {
            self.emit(ClientEvent::MessageUpdated(message));
        }
    }

    /// The changes a replay (or a page) brought of `room`, asked up to `seq` `upto`: reported,
    /// then the cursor set, and the next page asked for while there are more.
    pub(super) async fn on_changes(
        &mut self,
        session: &mut Session,
        room: &str,
        upto: u64,
        changes: Changes,
    ) -> Option<Ending> {
        for mut message in changes.changes {
            message.room = wire_room(room);
            self.report_change(message);
        }
        if changes.more {
            // Where the replay stopped, even below a live change: see the module's doc.
            self.revs.insert(room.to_owned(), changes.rev);
            session.paging.insert(room.to_owned());
            return self.ask_changes(session, room, (changes.rev, upto)).await;
        }
        session.paging.remove(room);
        let cursor = self.revs.entry(room.to_owned()).or_insert(0);
        *cursor = (*cursor).max(changes.rev);
        None
    }

    /// Asks for `room`'s changes after `after`, of messages up to `upto`.
    async fn ask_changes(
        &mut self,
        session: &mut Session,
        room: &str,
        (after, upto): (u64, u64),
    ) -> Option<Ending> {
        let request = ClientRequest::Changes(ChangesRequest {
            room: wire_room(room),
            after,
            upto: Some(upto),
        });
        let pending = Pending::Changes {
            room: room.to_owned(),
            after,
            upto,
        };
        session.emit(&request, Some(pending)).await.err()
    }

    /// A page of changes arrived (or was refused: for now, asked again after the server's
    /// wait; for good, paging stops and the cursor stays for the next join).
    pub(super) async fn on_changes_page(
        &mut self,
        session: &mut Session,
        room: &str,
        (after, upto): (u64, u64),
        reply: &Value,
    ) -> Option<Ending> {
        match parse_ack::<ChangesPage>(reply) {
            Ok(page)
                if page.changes.more
                    && page.changes.changes.is_empty()
                    && page.changes.rev <= after =>
            {
                // A page that moves nothing would be asked for again and again: the rest waits
                // for the next join, which asks from the cursor paging left.
                tracing::warn!(%room, after, "a page of changes moved nothing; the rest waits for the next join");
                None
            }
            Ok(page) => self.on_changes(session, room, upto, page.changes).await,
            Err(error) if error.is_transient() => {
                // Short: a busy reader, as with the catch-up's history pages.
                let wait = retry_wait(error.retry_after_ms, rand::rng().random());
                tokio::time::sleep(wait).await;
                self.ask_changes(session, room, (after, upto)).await
            }
            Err(error) => {
                tracing::warn!(%room, code = ?error.code, message = %error.message, "changes refused; the rest waits for the next join");
                None
            }
        }
    }
}
