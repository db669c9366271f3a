//! Storing the messages that wait for the writer together: one statement, one round trip and
//! one commit for all of them (group commit). The chat queues each message's write under its
//! lock; they gather here while the writer is busy, in the order queued, and the next flush
//! (a job on the writer's connection) takes them all, at most [`MAX_BATCH`], and gives each its
//! room's next `seq` in that order. A batch that fails as a whole (a retry's `clientId` stored
//! meanwhile by another node, two nodes' batches locking rooms in turn) is stored again one
//! message at a time, which answers each on its own.

use std::sync::{Arc, Mutex, PoisonError};

use chrono::{DateTime, Utc};
use postgres::error::SqlState;
use tokio::sync::oneshot;

use super::worker::{pg_error, Link, Worker, WRITER_QUEUE};
use super::{append_one, not_stored, to_u64, MESSAGES_CHANNEL};
use crate::error::Error;
use crate::store::{Appended, Draft, NotStored, RoomId};

/// Messages one flush stores at most (the rest wait for the next).
const MAX_BATCH: usize = 256;

/// One message waiting to be stored.
struct Waiting {
    room: RoomId,
    draft: Draft,
    at: DateTime<Utc>,
    answer: oneshot::Sender<std::result::Result<Appended, NotStored>>,
}

#[derive(Default)]
struct Queue {
    waiting: Vec<Waiting>,
    /// A flush is queued on the writer and has not taken the messages yet.
    flush_queued: bool,
}

/// The messages waiting for the writer, and how to store them.
pub(super) struct Batcher {
    queue: Mutex<Queue>,
    /// The statement storing one message (for a batch that failed as a whole).
    one: Arc<str>,
    /// The statement storing many.
    many: Arc<str>,
    /// Messages kept per room (0: all).
    retention: i64,
}

impl Batcher {
    pub(super) fn new(one: Arc<str>, retention: i64) -> Arc<Self> {
        Arc::new(Self {
            queue: Mutex::default(),
            one,
            many: batch_statement().into(),
            retention,
        })
    }

    /// Adds a message; its answer comes on `answer` once it is committed (or not).
    pub(super) fn push(
        self: &Arc<Self>,
        writer: &Arc<Worker>,
        room: RoomId,
        draft: Draft,
        at: DateTime<Utc>,
        answer: oneshot::Sender<std::result::Result<Appended, NotStored>>,
    ) {
        let mut queue = self.queue.lock().unwrap_or_else(PoisonError::into_inner);
        if queue.waiting.len() >= WRITER_QUEUE {
            drop(queue);
            let refused = Error::Postgres(format!(
                "{WRITER_QUEUE} messages already wait for PostgreSQL"
            ));
            let _ = answer.send(Err(not_stored(&refused, room)));
            return;
        }
        queue.waiting.push(Waiting {
            room,
            draft,
            at,
            answer,
        });
        if queue.flush_queued {
            return;
        }
        queue.flush_queued = true;
        drop(queue);
        self.queue_flush(writer);
    }

    /// Queues a flush on the writer; when it cannot be (the queue is full, the thread
    /// ended), every waiting message is refused.
    fn queue_flush(self: &Arc<Self>, writer: &Arc<Worker>) {
        let batcher = Arc::clone(self);
        let next = Arc::clone(writer);
        if let Err(e) = writer.submit_on_link(move |link| batcher.flush(&next, link)) {
            let mut queue = self.queue.lock().unwrap_or_else(PoisonError::into_inner);
            queue.flush_queued = false;
            for waiting in queue.waiting.drain(..) {
                let _ = waiting.answer.send(Err(not_stored(&e, waiting.room)));
            }
        }
    }

    /// Stores what waits (on the writer's thread), and queues the next flush if more is left.
    fn flush(self: Arc<Self>, writer: &Arc<Worker>, link: &mut Link) {
        let (batch, more): (Vec<Waiting>, bool) = {
            let mut queue = self.queue.lock().unwrap_or_else(PoisonError::into_inner);
            let take = queue.waiting.len().min(MAX_BATCH);
            let batch = queue.waiting.drain(..take).collect();
            // Messages pushed from now on need a flush of their own, unless some are left
            // now: the next flush is queued at once for them.
            let more = !queue.waiting.is_empty();
            queue.flush_queued = more;
            (batch, more)
        };
        if more {
            self.queue_flush(writer);
        }
        if batch.is_empty() {
            return;
        }
        let stored = link
            .prepared(&self.many)
            .map_err(|e| BatchError(e, None))
            .and_then(|(client, statement)| store_many(client, &statement, &batch, self.retention));
        match stored {
            Ok(seqs) => {
                for (waiting, seq) in batch.into_iter().zip(seqs) {
                    let message = waiting.draft.into_message(seq, waiting.at);
                    let _ = waiting.answer.send(Ok(Appended::New(message)));
                }
            }
            Err(e) => {
                tracing::debug!(error = %e.0, conflict = e.is_conflict(), messages = batch.len(), "a batch was not stored; storing its messages one by one");
                for waiting in batch {
                    let room = waiting.room;
                    let one = link.prepared(&self.one).and_then(|(client, statement)| {
                        append_one(
                            client,
                            &statement,
                            room,
                            waiting.draft,
                            waiting.at,
                            self.retention,
                        )
                    });
                    let _ = waiting.answer.send(one.map_err(|e| not_stored(&e, room)));
                }
            }
        }
    }
}

/// Why a batch failed.
struct BatchError(Error, Option<SqlState>);

impl BatchError {
    /// A unique key or a deadlock: the messages, one by one, may well be stored.
    fn is_conflict(&self) -> bool {
        matches!(
            &self.1,
            Some(code) if *code == SqlState::UNIQUE_VIOLATION || *code == SqlState::T_R_DEADLOCK_DETECTED
        )
    }
}

/// Stores `batch` in one statement; the `seq` of each, in order.
fn store_many(
    client: &mut postgres::Client,
    statement: &postgres::Statement,
    batch: &[Waiting],
    retention: i64,
) -> std::result::Result<Vec<u64>, BatchError> {
    let rooms: Vec<RoomId> = batch.iter().map(|w| w.room).collect();
    let prefixes: Vec<&str> = batch.iter().map(|w| w.draft.id_prefix.as_str()).collect();
    let names: Vec<&str> = batch.iter().map(|w| w.draft.username.as_str()).collect();
    let authors: Vec<String> = batch
        .iter()
        .map(|w| charla_protocol::rules::username_key(&w.draft.username))
        .collect();
    let texts: Vec<&str> = batch.iter().map(|w| w.draft.text.as_str()).collect();
    let times: Vec<i64> = batch.iter().map(|w| w.at.timestamp_millis()).collect();
    let client_ids: Vec<Option<&str>> =
        batch.iter().map(|w| w.draft.client_id.as_deref()).collect();
    let guests: Vec<bool> = batch.iter().map(|w| w.draft.guest).collect();
    let threads: Vec<Option<i64>> = batch
        .iter()
        .map(|w| w.draft.thread.and_then(|root| i64::try_from(root).ok()))
        .collect();
    let also_in_room: Vec<bool> = batch.iter().map(|w| w.draft.also_in_room).collect();
    let mention_names: Vec<String> = batch
        .iter()
        .map(|w| {
            let names: Vec<&str> = w.draft.mentions.iter().map(|m| m.name.as_str()).collect();
            serde_json::to_string(&names).unwrap_or_else(|_| "[]".to_owned())
        })
        .collect();
    let mut mention_of: Vec<i64> = Vec::new();
    let mut mention_keys: Vec<&str> = Vec::new();
    for (index, waiting) in batch.iter().enumerate() {
        for member in &waiting.draft.mentions {
            mention_of.push(i64::try_from(index + 1).unwrap_or(i64::MAX));
            mention_keys.push(member.key.as_str());
        }
    }
    let rows = client
        .query(
            statement,
            &[
                &rooms,
                &prefixes,
                &names,
                &authors,
                &texts,
                &times,
                &client_ids,
                &guests,
                &mention_names,
                &mention_of,
                &mention_keys,
                &retention,
                &threads,
                &also_in_room,
            ],
        )
        .map_err(|e| {
            let code = e.code().cloned();
            BatchError(pg_error(e), code)
        })?;
    if rows.len() != batch.len() {
        return Err(BatchError(
            Error::Postgres(format!(
                "{} of {} messages stored (a room missing?)",
                rows.len(),
                batch.len()
            )),
            None,
        ));
    }
    Ok(rows.iter().map(|row| to_u64(row.get(1))).collect())
}

/// The statement that stores many messages: each room's counter raised once by its number of
/// messages (rooms locked in order of their number, so two nodes' batches wait for each other
/// instead of deadlocking), the messages numbered in the order given, their mentions, what
/// retention no longer keeps, and an announcement per message, all or nothing.
fn batch_statement() -> String {
    format!(
        "
WITH input AS (
    SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[],
                         $6::bigint[], $7::text[], $8::bool[], $9::text[], $13::bigint[],
                         $14::bool[])
        WITH ORDINALITY AS i(room_id, id_prefix, username, author_key, text, timestamp_ms,
                             client_id, guest, mentions_json, thread_root, also_in_room, ord)
), counts AS (
    SELECT room_id, count(*) AS n FROM input GROUP BY room_id
), locked AS (
    SELECT room_id FROM rooms WHERE room_id IN (SELECT room_id FROM counts)
    ORDER BY room_id FOR UPDATE
), bumped AS (
    UPDATE rooms r SET last_seq = r.last_seq + c.n
    FROM counts c JOIN locked l USING (room_id)
    WHERE r.room_id = c.room_id
    RETURNING r.room_id, r.last_seq AS new_last, c.n
), numbered AS (
    SELECT i.*, b.new_last - b.n + row_number() OVER (PARTITION BY i.room_id ORDER BY i.ord)
               AS seq
    FROM input i JOIN bumped b USING (room_id)
), stored AS (
    INSERT INTO messages
        (room_id, seq, id, username, author_key, text, timestamp_ms, client_id, guest,
         mentions, words, thread_root, also_in_room)
    SELECT room_id, seq, id_prefix || '-' || seq, username, author_key, text, timestamp_ms,
           client_id, guest, ARRAY(SELECT jsonb_array_elements_text(mentions_json::jsonb)),
           to_tsvector('charla', text), thread_root, also_in_room
    FROM numbered
), mentioned AS (
    INSERT INTO mentions (name_key, room_id, seq)
    SELECT k.name_key, n.room_id, n.seq
    FROM unnest($10::bigint[], $11::text[]) AS k(ord, name_key) JOIN numbered n USING (ord)
    ON CONFLICT DO NOTHING
), expired AS (
    DELETE FROM messages m USING bumped b
    WHERE $12::bigint > 0 AND m.room_id = b.room_id AND m.seq <= b.new_last - $12::bigint
), unmentioned AS (
    DELETE FROM mentions m USING bumped b
    WHERE $12::bigint > 0 AND m.room_id = b.room_id AND m.seq <= b.new_last - $12::bigint
)
SELECT ord, seq, pg_notify('{MESSAGES_CHANNEL}', room_id::text || ':' || seq::text)
FROM numbered ORDER BY ord"
    )
}
