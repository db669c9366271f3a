//! Changes to messages (edits, deletions, reactions, pins) made on any node, delivered here
//! in `rev` order when the database announces them ([`crate::store::Heard::Changed`]), when
//! the second's look finds a room's `rev` ahead, or (this node's own) before the change is
//! acknowledged, so that its author's next page shows it.
//!
//! The changed messages are read as they are now, in the order of their last change. A change
//! to a message this node has not delivered yet waits for it (the message, read whole, will
//! carry the change; the change is then delivered again, the same, which clients ignore).

use crate::chat::state::Chat;
use crate::store::{RoomId, Selection};

/// Changed messages read from the store at once.
const CATCH_UP_BATCH: usize = 500;

impl Chat {
    /// The highest `rev` this node delivered in `room`; `None` for a room it does not know.
    pub(in crate::chat) fn changes_delivered_up_to(&self, room: RoomId) -> Option<u64> {
        self.lock().rooms.get(room).map(|log| log.last_rev)
    }

    /// Delivers `room`'s changes past the newest delivered here. Blocking: call it off the
    /// async threads.
    pub(in crate::chat) fn catch_up_changes(&self, room: RoomId) {
        loop {
            let Some(after) = self.changes_delivered_up_to(room) else {
                return;
            };
            let which = Selection::ChangedAfter {
                rev: after,
                upto: u64::MAX,
                limit: CATCH_UP_BATCH,
            };
            let changed = match self.inner.store.read(room, which) {
                Ok(changed) => changed,
                Err(e) => {
                    tracing::warn!(error = %e, room, "could not read changes other nodes made; retrying");
                    return;
                }
            };
            let complete = changed.len() < CATCH_UP_BATCH;
            let mut guard = self.lock();
            let state = &mut *guard;
            for message in changed {
                let delivered = state.rooms.get(room).map_or(0, |log| log.last_seq);
                if message.seq.is_none_or(|seq| seq > delivered) {
                    // Its message first: the next announcement or look comes back to it.
                    return;
                }
                state.deliver_change(room, message, &self.inner.cuts);
            }
            drop(guard);
            if complete {
                return;
            }
        }
    }
}
