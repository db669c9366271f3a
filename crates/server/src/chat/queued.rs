//! A message stored over the network (several nodes on PostgreSQL): the chat checks it and
//! queues its write under the lock, as on `SQLite` (so one sender's messages are stored in the
//! order sent), but does not hold the lock while the database answers. Once the write is
//! committed with its `seq`, every row before it is committed too (the room's row lock orders
//! commits by `seq`), so the rows this node has not delivered yet are read without the lock
//! and then delivered, in `seq` order, with this one. A message that another path delivered
//! first (the announcement of its own commit, or a later message's read) is only acked.
//!
//! The sender's ack comes once the message is delivered here, after its own broadcast.

use std::time::Instant;

use charla_protocol::chat::{ErrorCode, Refusal};

use super::log::RoomLog;
use super::reply;
use super::state::{send_ack, Chat, DedupeKey};
use crate::store::{Appended, NotStored, QueuedAppend, RoomId, StoreHandle};

/// What the chat knew of a message when it queued its write.
pub(super) struct Queued {
    pub(super) room: RoomId,
    pub(super) dedupe_key: Option<DedupeKey>,
    /// The author's name key.
    pub(super) name_key: String,
    pub(super) guest: bool,
    pub(super) started: Instant,
}

impl Chat {
    /// Waits for the write of `queued`, delivers it and what came before it, and returns the
    /// sender's ack (encoded).
    ///
    /// # Errors
    /// `unavailable` when the write failed (nothing was stored: a retry is stored afresh).
    pub(super) async fn finish_queued(
        &self,
        store: StoreHandle,
        answer: QueuedAppend,
        queued: Queued,
    ) -> Result<String, Refusal> {
        let room = queued.room;
        let stored = answer
            .await
            .unwrap_or_else(|_| Err(NotStored("the write was dropped".into())));
        self.inner.metrics.committed(queued.started.elapsed());
        let appended = stored.map_err(|NotStored(reason)| {
            tracing::warn!(reason, "a message was refused: it could not be stored");
            self.count_refused_message(ErrorCode::Unavailable);
            Refusal::later(
                ErrorCode::Unavailable,
                "the server could not store the message; it will be retried",
                1000,
            )
        })?;
        let mut message = match appended {
            Appended::New(message) => message,
            Appended::Existing(mut stored) => {
                // A retry whose first try was stored without this node's memory of it.
                let mut state = self.lock();
                stored.room = state.rooms.get(room).and_then(RoomLog::wire_name);
                let ack = send_ack(&stored, stored.seq.unwrap_or_default());
                if let Some(key) = queued.dedupe_key {
                    state.accepted.insert(key, ack.clone());
                }
                drop(state);
                self.inner.metrics.retried();
                return reply::encode(&ack);
            }
        };
        let seq = message.seq.unwrap_or_default();
        let before = self.read_before(&store, room, seq).await;

        let mut guard = self.lock();
        let state = &mut *guard;
        for earlier in before {
            state.publish_stored(room, earlier, &self.inner.config, &self.inner.cuts);
        }
        if state
            .rooms
            .get(room)
            .is_some_and(|log| seq > log.last_seq + 1)
        {
            // The read failed: read again, under the lock this time.
            state.deliver_before(&store, room, seq, self);
        }
        let wire_room = state.rooms.get(room).and_then(RoomLog::wire_name);
        message.room = wire_room;
        let delivered = state.rooms.get(room).is_some_and(|log| seq <= log.last_seq);
        let ack = if delivered {
            // Delivered already, read from the store by another path: only the ack is left.
            let ack = send_ack(&message, seq);
            if let Some(key) = queued.dedupe_key {
                state.accepted.insert(key, ack.clone());
            }
            ack
        } else {
            state.publish(
                room,
                message,
                queued.dedupe_key,
                &self.inner.config,
                &self.inner.cuts,
            )
        };
        self.inner.metrics.accepted();
        if !queued.guest {
            // Writing in a room is reading it.
            state.move_marker(&queued.name_key, room, ack.seq);
        }
        drop(guard);
        reply::encode(&ack)
    }

    /// The rows of `room` between the newest delivered here and `seq` (committed, since
    /// `seq` is), read without the lock; empty when there are none or the read failed.
    async fn read_before(
        &self,
        store: &StoreHandle,
        room: RoomId,
        seq: u64,
    ) -> Vec<charla_protocol::chat::ChatMessage> {
        let Some(after) = self.lock().rooms.get(room).map(|log| log.last_seq) else {
            return Vec::new();
        };
        if seq <= after + 1 {
            return Vec::new();
        }
        let wanted = usize::try_from(seq - after - 1).unwrap_or(usize::MAX);
        let store = store.clone();
        match tokio::task::spawn_blocking(move || store.page_after(room, after, wanted)).await {
            Ok(Ok(rows)) => rows.into_iter().filter(|m| m.seq < Some(seq)).collect(),
            Ok(Err(e)) => {
                tracing::warn!(error = %e, room, "could not read what other nodes stored before a message");
                Vec::new()
            }
            Err(e) => {
                tracing::error!(error = %e, "reading what other nodes stored failed");
                Vec::new()
            }
        }
    }
}
