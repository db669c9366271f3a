//! Full-text search over every message, with `SQLite`'s FTS5.
//!
//! `messages_fts` indexes the text of `messages` by rowid (external content: the text is not
//! stored twice). Messages are indexed in batches, once a second, by the store's background
//! thread (and at start, whatever a crash left unindexed): indexing each message inside its
//! own commit made that commit write and merge index segments, which measured as the small
//! room's p50 latency doubling and its p99 tripling. So a message is searchable within about a
//! second of its ack. Words are matched without case or diacritics (`cafe` finds `Café`), a
//! word ending in `*` as a prefix.
//!
//! A search reads the newest matches in the asker's rooms, at most [`SCAN`] of them (the
//! chat ranks those): recent talk is what people look for, and a common word matching half a
//! million messages costs what 500 do. The next-older 500 are one more request away (`before`).
//! FTS5's own ranking (`bm25`) is not used: it counts every message holding each word, which
//! for a common word on a million messages took 38–89 ms a query, against about 3 ms for the
//! newest matches alone.

use rusqlite::{params, Connection};

use super::{parts_to_message, row_to_parts, Found, RoomId, Scanned, SqliteStore, MESSAGE_FIELDS};
use crate::error::Result;
use crate::store::SCAN;

/// Messages indexed at most in one batch (one transaction).
pub(super) const BATCH: usize = 2000;
/// How long one pass may go on indexing a backlog, batch after batch, each second.
pub(super) const INDEX_SHARE: std::time::Duration = std::time::Duration::from_millis(500);

pub(super) const SCHEMA: &str = "
CREATE VIRTUAL TABLE IF NOT EXISTS messages_fts USING fts5(
    text, room_id UNINDEXED,
    content = 'messages', content_rowid = 'rowid',
    tokenize = 'unicode61 remove_diacritics 2'
);
INSERT OR IGNORE INTO meta (key, value) VALUES ('fts_indexed', '0');
-- Retention removes messages: those already indexed leave the index with them.
CREATE TRIGGER IF NOT EXISTS messages_fts_delete AFTER DELETE ON messages
WHEN old.rowid <= (SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'fts_indexed')
BEGIN
    INSERT INTO messages_fts (messages_fts, rowid, text, room_id)
        VALUES ('delete', old.rowid, old.text, old.room_id);
END;";

/// Makes the index, and indexes every message not in it yet (all of them, for a database
/// from before search).
pub(super) fn create(conn: &mut Connection) -> Result<()> {
    conn.execute_batch(SCHEMA)?;
    let mut indexed = 0;
    loop {
        let batch = index_new(conn, BATCH * 10)?;
        if batch == 0 {
            break;
        }
        indexed += batch;
    }
    if indexed > 0 {
        tracing::info!(messages = indexed, "messages indexed for search");
    }
    Ok(())
}

/// The rowid the next message gets: past every message kept and every one ever indexed.
pub(super) fn next_rowid(conn: &Connection) -> Result<i64> {
    Ok(conn.query_row(
        "SELECT max(coalesce((SELECT max(rowid) FROM messages), 0),
                    (SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'fts_indexed')) + 1",
        [],
        |row| row.get(0),
    )?)
}

/// Indexes up to `limit` messages stored since the last call, in one transaction; returns how
/// many.
pub(super) fn index_new(conn: &mut Connection, limit: usize) -> Result<usize> {
    let tx = conn.transaction()?;
    let from: i64 = tx.query_row(
        "SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'fts_indexed'",
        [],
        |row| row.get(0),
    )?;
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let to: Option<i64> = tx
        .prepare_cached(
            "SELECT max(rowid) FROM (SELECT rowid FROM messages WHERE rowid > ?1 ORDER BY rowid LIMIT ?2)",
        )?
        .query_row(params![from, limit], |row| row.get(0))?;
    let Some(to) = to else {
        return Ok(0);
    };
    let count = tx
        .prepare_cached(
            "INSERT INTO messages_fts (rowid, text, room_id)
             SELECT rowid, text, room_id FROM messages WHERE rowid > ?1 AND rowid <= ?2",
        )?
        .execute(params![from, to])?;
    tx.prepare_cached("UPDATE meta SET value = ?1 WHERE key = 'fts_indexed'")?
        .execute([to.to_string()])?;
    tx.commit()?;
    Ok(count)
}

/// A query as FTS5 reads it: each word quoted (so no word is ever syntax), a trailing `*`
/// kept as a prefix match, all of them required. `None` when no word is left.
#[must_use]
pub fn fts_query(typed: &str) -> Option<String> {
    let words: Vec<String> = typed
        .split_whitespace()
        .filter_map(|word| {
            let prefix = word.ends_with('*');
            let bare: String = word
                .trim_end_matches('*')
                .chars()
                .filter(|c| *c != '"')
                .collect();
            (!bare.is_empty()).then(|| {
                if prefix {
                    format!("\"{bare}\"*")
                } else {
                    format!("\"{bare}\"")
                }
            })
        })
        .collect();
    (!words.is_empty()).then(|| words.join(" "))
}

impl SqliteStore {
    /// The newest [`SCAN`] matches of `query` (an [`fts_query`]) in `rooms` stored before
    /// `before` (a rowid; `None`: all). Blocking: call it off the async threads.
    ///
    /// # Errors
    /// When the database cannot be read.
    pub fn search(&self, query: &str, rooms: &[RoomId], before: Option<u64>) -> Result<Scanned> {
        let writer = self.write();
        let rooms = serde_json::to_string(rooms).unwrap_or_else(|_| "[]".to_owned());
        let before = before.map_or(i64::MAX, |b| i64::try_from(b).unwrap_or(i64::MAX));
        let mut statement = writer.conn.prepare_cached(&format!(
            "SELECT {MESSAGE_FIELDS}, m.room_id, m.rowid FROM (
                SELECT rowid AS found FROM messages_fts
                WHERE messages_fts MATCH ?1 AND rowid < ?2
                  AND room_id IN (SELECT value FROM json_each(?3))
                ORDER BY rowid DESC LIMIT {SCAN}
            ) JOIN messages m ON m.rowid = found ORDER BY m.rowid DESC"
        ))?;
        let rows = statement.query_map(params![query, before, rooms], |row| {
            Ok((
                row_to_parts(row)?,
                row.get::<_, RoomId>(8)?,
                row.get::<_, u64>(9)?,
            ))
        })?;
        let mut matches = Vec::new();
        for row in rows {
            let (parts, room, rowid) = row?;
            let message = parts_to_message(parts)?;
            matches.push((rowid, Found { room, message }));
        }
        Ok(Scanned::from_positions(matches))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_word_is_quoted_and_prefixes_kept() {
        assert_eq!(
            fts_query("deploy friday").as_deref(),
            Some("\"deploy\" \"friday\"")
        );
        assert_eq!(fts_query("dep*").as_deref(), Some("\"dep\"*"));
        assert_eq!(
            fts_query("a\"b OR NEAR( -x").as_deref(),
            Some("\"ab\" \"OR\" \"NEAR(\" \"-x\"")
        );
        assert_eq!(fts_query("  ** \" "), None);
    }
}
