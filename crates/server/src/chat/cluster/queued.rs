//! A message stored over the network (several nodes on PostgreSQL): the chat checks it and
//! queues its write under the lock, as on `SQLite` (so one sender's messages are stored in the
//! order sent), but does not hold the lock while the database answers. Under the same lock it
//! hands the message to this node's finisher, one task that takes messages in the order they
//! were queued, which is the order this node's writes commit: each is delivered once its write
//! is committed, so this node's own messages need no read. When its `seq` is past the next one
//! here, the rows in between are another node's, committed before it (the room's row lock
//! orders commits by `seq`): they are read without the lock, once, and delivered first. A
//! message that another path delivered first (the announcement of its own commit) is only
//! acked.
//!
//! The sender's ack comes once the message is delivered here, after its own broadcast.

use std::sync::{Arc, Weak};

use charla_protocol::chat::{ErrorCode, Refusal};
use tokio::sync::{mpsc, oneshot};

use super::finish::{Finish, Queued};
use crate::chat::log::RoomLog;
use crate::chat::reply;
use crate::chat::state::{send_ack, Chat, Shared};
use crate::store::{Appended, ClusterHandle, NotStored, QueuedAppend, RoomId};

/// Messages handed to the finisher and not delivered yet; beyond that a message is refused
/// as `unavailable` (its write may be committed: the announcement of it delivers it, and the
/// client's retry is acked with it).
const FINISH_QUEUE: usize = 8192;

impl Chat {
    /// Hands a message whose write was just queued to the finisher (call it under the lock,
    /// right after queuing the write); the sender's ack comes on the receiver.
    ///
    /// # Errors
    /// `unavailable` when the finisher has too many messages waiting.
    pub(in crate::chat) fn hand_to_finisher(
        &self,
        cluster: &ClusterHandle,
        answer: QueuedAppend,
        queued: Queued,
    ) -> Result<oneshot::Receiver<Result<String, Refusal>>, Refusal> {
        let finisher = self.inner.finisher.get_or_init(|| {
            let (hand, taken) = mpsc::channel(FINISH_QUEUE);
            tokio::spawn(finish_in_order(
                Arc::downgrade(&self.inner),
                Arc::clone(cluster),
                taken,
            ));
            hand
        });
        let (reply, replied) = oneshot::channel();
        finisher
            .try_send(Finish {
                answer,
                queued,
                reply,
            })
            .map_err(|_| {
                self.inner.limits_hit.warn(|suppressed| {
                    tracing::warn!(
                        waiting = FINISH_QUEUE,
                        suppressed,
                        "messages wait to be delivered: refusing more"
                    );
                });
                self.count_refused_message(ErrorCode::Unavailable);
                Refusal::later(
                    ErrorCode::Unavailable,
                    "the server is busy storing messages; it will be retried",
                    1000,
                )
            })?;
        Ok(replied)
    }

    /// Waits for the write of `queued`, delivers it and what came before it, and returns the
    /// sender's ack (encoded).
    ///
    /// # Errors
    /// `unavailable` when the write failed (nothing was stored: a retry is stored afresh).
    pub(in crate::chat) async fn finish_queued(
        &self,
        cluster: ClusterHandle,
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
        let read = self.read_before(&cluster, room, seq).await;

        let mut guard = self.lock();
        let state = &mut *guard;
        let before = match read {
            Some((after, rows)) => {
                // Nothing between the newest delivered and this message: retention removed
                // what there was.
                let first = rows.first().and_then(|m| m.seq).unwrap_or(seq);
                state.skip_removed(room, after, first);
                rows
            }
            None => Vec::new(),
        };
        for earlier in before {
            state.publish_stored(room, earlier, &self.inner.config, &self.inner.cuts);
        }
        let wire_room = state.rooms.get(room).and_then(RoomLog::wire_name);
        message.room = wire_room;
        let last = state.rooms.get(room).map_or(0, |log| log.last_seq);
        if seq > last + 1 {
            tracing::warn!(room, seq, last, "the messages before one stored here could not be read; the next look delivers them in order");
        }
        let ack = if seq == last + 1 {
            state.publish(
                room,
                message,
                queued.dedupe_key,
                &self.inner.config,
                &self.inner.cuts,
            )
        } else {
            // Delivered already (read from the store by another path), or, when what came
            // before it could not be read, left to the next look at the room, which delivers
            // it in order: only the ack now.
            let ack = send_ack(&message, seq);
            if let Some(key) = queued.dedupe_key {
                state.accepted.insert(key, ack.clone());
            }
            ack
        };
        self.inner.metrics.accepted();
        if !queued.guest {
            // Writing in a room is reading it.
            state.move_marker(&queued.name_key, room, ack.seq);
        }
        drop(guard);
        reply::encode(&ack)
    }

    /// The rows of `room` between the newest delivered here (returned with them) and `seq`
    /// (committed, since `seq` is), read without the lock; `None` when the room is unknown
    /// here or the read failed.
    async fn read_before(
        &self,
        cluster: &ClusterHandle,
        room: RoomId,
        seq: u64,
    ) -> Option<(u64, Vec<charla_protocol::chat::ChatMessage>)> {
        let after = self.delivered_up_to(room)?;
        if seq <= after + 1 {
            return Some((after, Vec::new()));
        }
        let wanted = usize::try_from(seq - after - 1).unwrap_or(usize::MAX);
        let cluster = cluster.clone();
        match tokio::task::spawn_blocking(move || cluster.page_after(room, after, wanted)).await {
            Ok(Ok(rows)) => Some((
                after,
                rows.into_iter().filter(|m| m.seq < Some(seq)).collect(),
            )),
            Ok(Err(e)) => {
                tracing::warn!(error = %e, room, "could not read what other nodes stored before a message");
                None
            }
            Err(e) => {
                tracing::error!(error = %e, "reading what other nodes stored failed");
                None
            }
        }
    }
}

/// The finisher: delivers messages in the order their writes were queued, until the chat is
/// gone.
async fn finish_in_order(
    chat: Weak<Shared>,
    cluster: ClusterHandle,
    mut taken: mpsc::Receiver<Finish>,
) {
    while let Some(finish) = taken.recv().await {
        let Some(inner) = chat.upgrade() else {
            return;
        };
        let chat = Chat { inner };
        let result = chat
            .finish_queued(Arc::clone(&cluster), finish.answer, finish.queued)
            .await;
        // The sender may have gone; the message is delivered all the same.
        let _ = finish.reply.send(result);
    }
}
