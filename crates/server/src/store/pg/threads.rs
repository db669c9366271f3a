//! Threads on PostgreSQL: what a member counts of a room (mentions, and replies in threads it
//! does not follow), the threads a name follows, and their read markers. Replies, follows and
//! the root's count are written by the schema's triggers in the reply's own transaction
//! (`migrations/pg/0005_threads.sql`), a batch of messages included.

use super::changes::{whole, LIVING};
use super::worker::pg_error;
use super::{to_i64, to_u64, PgStore, FIELDS};
use crate::error::Result;
use crate::store::{Counts, Followed, RoomId};

impl PgStore {
    /// What `key` counts of `room`'s kept messages after `after`, on the reader's connection.
    pub(super) fn counts(&self, room: RoomId, key: &str, after: u64) -> Result<Counts> {
        let key = key.to_owned();
        self.reader.run(move |client| {
            let row = client
                .query_one(
                    "SELECT
                        (SELECT count(*) FROM mentions
                         WHERE name_key = $1 AND room_id = $2 AND seq > $3),
                        (SELECT count(*) FROM messages m
                         WHERE m.room_id = $2 AND m.seq > $3 AND m.thread_root IS NOT NULL
                             AND NOT m.also_in_room
                             AND NOT EXISTS (SELECT 1 FROM thread_follows f
                                 WHERE f.room_id = m.room_id AND f.root = m.thread_root
                                     AND f.name_key = $1))",
                    &[&key, &room, &to_i64(after)],
                )
                .map_err(pg_error)?;
            Ok(Counts {
                mentions: to_u64(row.get(0)),
                unfollowed_replies: to_u64(row.get(1)),
            })
        })
    }

    /// The threads `key` follows in `rooms`, the most recently answered first.
    pub(super) fn followed(
        &self,
        key: &str,
        rooms: &[RoomId],
        limit: usize,
    ) -> Result<Vec<Followed>> {
        let (key, rooms) = (key.to_owned(), rooms.to_vec());
        self.reader.run(move |client| {
            let rows = client
                .query(
                    &format!(
                        "SELECT {FIELDS}, {LIVING}, f.room_id, f.read_seq,
                             (SELECT count(*) FROM messages r WHERE r.room_id = f.room_id
                                 AND r.thread_root = f.root AND r.seq > f.read_seq)
                         FROM thread_follows f
                         JOIN messages m ON m.room_id = f.room_id AND m.seq = f.root
                         WHERE f.name_key = $1 AND f.room_id = ANY($2) AND m.replies > 0
                         ORDER BY m.last_reply_ms DESC LIMIT $3"
                    ),
                    &[&key, &rooms, &to_i64(limit as u64)],
                )
                .map_err(pg_error)?;
            rows.iter()
                .map(|row| {
                    Ok(Followed {
                        root: whole(row)?,
                        room: row.try_get(18).map_err(pg_error)?,
                        read: to_u64(row.try_get(19).map_err(pg_error)?),
                        unread: to_u64(row.try_get(20).map_err(pg_error)?),
                    })
                })
                .collect()
        })
    }

    /// Moves `key`'s read marker of the thread `root` of `room` forward to `seq`.
    pub(super) fn thread_read(
        &self,
        room: RoomId,
        (key, root, seq): (&str, u64, u64),
    ) -> Result<()> {
        let key = key.to_owned();
        self.writer.run(move |client| {
            client
                .execute(
                    "UPDATE thread_follows SET read_seq = greatest(read_seq, $4)
                     WHERE room_id = $1 AND root = $2 AND name_key = $3",
                    &[&room, &to_i64(root), &key, &to_i64(seq)],
                )
                .map_err(pg_error)?;
            Ok(())
        })
    }
}
