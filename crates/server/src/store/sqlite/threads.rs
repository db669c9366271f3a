//! Threads on `SQLite`: what a member counts of a room (mentions, and replies in threads it does
//! not follow), the threads a name follows, and their read markers. Replies, follows and the
//! root's count are written by the schema's triggers in the reply's own transaction
//! (`migrations/sqlite/history/0003_threads.sql`).

use rusqlite::params;

use super::changes::{row_to_message, LIVING_FIELDS};
use super::{SqliteStore, MESSAGE_FIELDS};
use crate::error::{Error, Result};
use crate::store::{Counts, Followed, RoomId};

impl SqliteStore {
    /// What `key` counts of `room`'s kept messages after `after`.
    ///
    /// # Errors
    /// When the database cannot be read.
    pub fn counts_after(&self, room: RoomId, key: &str, after: u64) -> Result<Counts> {
        let writer = self.write();
        let mentions = writer
            .conn
            .prepare_cached(
                "SELECT count(*) FROM mentions WHERE name_key = ?1 AND room_id = ?2 AND seq > ?3",
            )?
            .query_row(params![key, room, after], |row| row.get(0))?;
        let unfollowed_replies = writer
            .conn
            .prepare_cached(
                "SELECT count(*) FROM messages m
                 WHERE m.room_id = ?2 AND m.seq > ?3 AND m.thread_root IS NOT NULL
                     AND NOT m.also_in_room
                     AND NOT EXISTS (SELECT 1 FROM thread_follows f
                         WHERE f.room_id = m.room_id AND f.root = m.thread_root
                             AND f.name_key = ?1)",
            )?
            .query_row(params![key, room, after], |row| row.get(0))?;
        Ok(Counts {
            mentions,
            unfollowed_replies,
        })
    }

    /// The threads `key` follows in `rooms`, the most recently answered first.
    ///
    /// # Errors
    /// When the database cannot be read.
    pub fn followed_threads(
        &self,
        key: &str,
        rooms: &[RoomId],
        limit: usize,
    ) -> Result<Vec<Followed>> {
        let writer = self.write();
        let rooms = serde_json::to_string(rooms).unwrap_or_else(|_| "[]".to_owned());
        let mut statement = writer.conn.prepare_cached(&format!(
            "SELECT {MESSAGE_FIELDS}, {LIVING_FIELDS}, f.room_id, f.read_seq,
                 (SELECT count(*) FROM messages r WHERE r.room_id = f.room_id
                     AND r.thread_root = f.root AND r.seq > f.read_seq)
             FROM thread_follows f JOIN messages m ON m.room_id = f.room_id AND m.seq = f.root
             WHERE f.name_key = ?1 AND f.room_id IN (SELECT value FROM json_each(?2))
                 AND m.replies > 0
             ORDER BY m.last_reply_ms DESC LIMIT ?3"
        ))?;
        let rows = statement.query_map(
            params![key, rooms, i64::try_from(limit).unwrap_or(i64::MAX)],
            |row| {
                Ok(row_to_message(row).and_then(|root| {
                    Ok(Followed {
                        root,
                        room: row.get(18)?,
                        read: row.get(19)?,
                        unread: row.get(20)?,
                    })
                }))
            },
        )?;
        rows.map(|row| row.map_err(Error::from).and_then(|f| f))
            .collect()
    }

    /// Moves `key`'s read marker of the thread `root` of `room` forward to `seq`.
    ///
    /// # Errors
    /// When the database cannot be written.
    pub fn thread_read(&self, room: RoomId, (key, root, seq): (&str, u64, u64)) -> Result<()> {
        self.write()
            .conn
            .prepare_cached(
                "UPDATE thread_follows SET read_seq = max(read_seq, ?4)
                 WHERE room_id = ?1 AND root = ?2 AND name_key = ?3",
            )?
            .execute(params![room, root, key, seq])?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use chrono::{TimeDelta, Utc};

    use crate::store::{Draft, GENERAL};

    fn said(by: &str, text: &str, thread: Option<u64>) -> Draft {
        Draft {
            id_prefix: "s".into(),
            username: by.into(),
            text: text.into(),
            client_id: None,
            guest: false,
            author_key: Some(by.into()),
            thread,
            also_in_room: false,
            mentions: Vec::new(),
        }
    }

    #[test]
    fn follows_go_with_a_name_claimed_afresh_and_with_retention() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = super::super::open_for_test(&dir);
        let old = Utc::now() - TimeDelta::hours(2);
        store
            .append(GENERAL, said("ana", "root", None), old)
            .expect("root");
        store
            .append(GENERAL, said("bo", "reply", Some(1)), old)
            .expect("reply");
        let follows = |key: &str| {
            store
                .followed_threads(key, &[GENERAL], 10)
                .expect("reads")
                .len()
        };
        assert_eq!((follows("ana"), follows("bo")), (1, 1));
        store.forget_name("bo", Utc::now()).expect("forgets");
        assert_eq!(
            (follows("ana"), follows("bo")),
            (1, 0),
            "the next owner of the name follows nothing"
        );
        store
            .expire_before(GENERAL, Utc::now() - TimeDelta::hours(1))
            .expect("expires");
        let rows: i64 = store
            .write()
            .conn
            .query_row("SELECT count(*) FROM thread_follows", [], |row| row.get(0))
            .expect("counts");
        assert_eq!(rows, 0, "a thread retention removed is followed by nobody");
    }
}
