//! Messages other nodes stored (several nodes on one PostgreSQL): read from the store in `seq`
//! order and delivered here as if they had been stored here, so every node's clients see each
//! room in one order, with no gap.
//!
//! A room's `last_seq` in memory is the newest message this node delivered. The store
//! announces what other nodes store ([`crate::store::Heard`]) and the chat reads the rows
//! after that `seq`: a lost or coalesced announcement costs nothing, the next one (or the
//! once-a-second look at every room's head) reads everything up to it. A message this node
//! stores whose `seq` is past the next one (another node stored in between, not delivered
//! here yet) first has the rows in between delivered: a room's rows commit in `seq` order, so
//! they are all there to read.

use std::collections::BTreeSet;

use charla_protocol::chat::ChatMessage;
use charla_protocol::rules::username_key;

use super::state::{Chat, ChatState};
use crate::store::{Heard, RoomId, StoreHandle};

/// Messages read from the store at once while catching a room up.
const CATCH_UP_BATCH: usize = 500;

impl Chat {
    /// Catches up what `heard` names: one room, or every room behind the store. Blocking:
    /// call it off the async threads.
    pub fn heard(&self, heard: &[Heard]) {
        let Some(store) = self.inner.store.clone() else {
            return;
        };
        let mut rooms = BTreeSet::new();
        let mut look = false;
        for item in heard {
            match *item {
                Heard::Stored { room, seq } => {
                    if self.delivered_up_to(room).is_some_and(|last| seq > last) {
                        rooms.insert(room);
                    }
                }
                Heard::Look => look = true,
            }
        }
        if look {
            match store.heads() {
                Ok(Some(heads)) => rooms.extend(
                    heads
                        .into_iter()
                        .filter(|(room, head)| {
                            self.delivered_up_to(*room).is_some_and(|last| *head > last)
                        })
                        .map(|(room, _)| room),
                ),
                Ok(None) => {}
                Err(e) => tracing::warn!(error = %e, "could not read the rooms' heads; retrying"),
            }
        }
        for room in rooms {
            self.catch_up(&store, room);
        }
    }

    /// The newest `seq` this node delivered in `room`; `None` for a room it does not know.
    fn delivered_up_to(&self, room: RoomId) -> Option<u64> {
        self.lock().rooms.get(room).map(|log| log.last_seq)
    }

    /// Delivers `room`'s stored messages past the newest delivered here, in `seq` order.
    fn catch_up(&self, store: &StoreHandle, room: RoomId) {
        loop {
            let Some(after) = self.delivered_up_to(room) else {
                return;
            };
            let missing = match store.page_after(room, after, CATCH_UP_BATCH) {
                Ok(missing) => missing,
                Err(e) => {
                    tracing::warn!(error = %e, room, "could not read what other nodes stored; retrying");
                    return;
                }
            };
            let complete = missing.len() < CATCH_UP_BATCH;
            let mut guard = self.lock();
            let state = &mut *guard;
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
    /// Delivers what the store holds of `room` between the newest delivered `seq` and `upto`
    /// (not included), read while the chat is locked: a message stored here took `upto`, and
    /// those before it, stored by other nodes, must be seen first.
    pub(super) fn deliver_before(
        &mut self,
        store: &StoreHandle,
        room: RoomId,
        upto: u64,
        chat: &Chat,
    ) {
        let Some(after) = self.rooms.get(room).map(|log| log.last_seq) else {
            return;
        };
        if upto <= after + 1 {
            return;
        }
        let wanted = usize::try_from(upto - after - 1).unwrap_or(usize::MAX);
        match store.page_after(room, after, wanted) {
            Ok(missing) => {
                for message in missing.into_iter().filter(|m| m.seq < Some(upto)) {
                    self.publish_stored(room, message, &chat.inner.config, &chat.inner.cuts);
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, room, "could not read what other nodes stored before a message; the next look delivers it");
            }
        }
    }

    /// Delivers a message another node stored, if it is the room's next one here (an older
    /// one was delivered already: it is skipped).
    pub(super) fn publish_stored(
        &mut self,
        room: RoomId,
        mut message: ChatMessage,
        config: &crate::config::ServerConfig,
        cuts: &super::state::Fanout,
    ) {
        let Some(log) = self.rooms.get(room) else {
            return;
        };
        if message.seq != Some(log.last_seq + 1) {
            return;
        }
        message.room = log.wire_name();
        let dedupe = message
            .client_id
            .as_ref()
            .map(|id| (username_key(&message.username), id.clone()));
        self.publish(room, message, dedupe, config, cuts);
    }
}
