//! Full-text search over every message, with `SQLite`'s FTS5, in a database file of its own
//! (`history.db` → `history.search.db`), so that no search ever runs on the history's one
//! connection.
//!
//! The history's connection holds its file in exclusive locking mode (no other connection may
//! read it: see [`super`]), and a message is stored under the chat's lock on it. A search on
//! that connection made every message wait behind it: a flood of expensive queries raised every
//! other user's ack p99 from 2 ms to 1.8 s and timed out `/healthz`. So the index lives in
//! another file, in ordinary WAL mode, with a connection that writes it (the indexer's, on the
//! store's background thread) and a few that read it, one search each at a time; the history's
//! connection is taken only to read what is new, in small batches.
//!
//! The index keeps a copy of each message (`entries`, by the history's rowid) with FTS5 over
//! its text (external content): a result is read from the index file alone. A message is
//! indexed within about a second of its ack. Messages removed from the history (retention),
//! edited or deleted are noted in the history's `search_changes` by a trigger in the same
//! transaction, and the next pass removes them from the index (and indexes an edited one again,
//! with its text now) before it indexes anything new, so a removed, edited-away or deleted
//! text is not found again once that pass is done, even after a crash. An index that is missing, unreadable or belongs to another
//! history (its epoch) is made again from the history, in the background.
//!
//! A search reads the newest matches in the asker's rooms, at most [`SCAN`] of them (the
//! chat ranks those), within a time budget that `SQLite` itself enforces (a progress handler
//! interrupts the statement): over budget, the search fails with
//! [`Error::SearchTimedOut`], and the person is told to narrow it. FTS5's own ranking
//! (`bm25`) is not used: it counts every message holding each word, which for a common word on
//! a million messages took 38–89 ms a query, against about 3 ms for the newest matches alone.

use std::path::Path;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use charla_protocol::query::query_words;
use rusqlite::{params, Connection, OpenFlags, OptionalExtension};

use super::{parts_to_message, row_to_parts, Found, RoomId, Scanned, Writer, MESSAGE_FIELDS};
use crate::error::{Error, Result};
use crate::store::migrate::SQLITE_SEARCH;
use crate::store::SCAN;

/// Messages read from the history at most in one batch: the history's connection (and so the
/// next message) waits while they are read.
pub(super) const BATCH: usize = 500;
/// How long one pass may go on indexing a backlog, batch after batch.
const PASS_TIME: Duration = Duration::from_millis(900);
/// How often a running search's progress is looked at, in `SQLite` virtual machine steps.
const PROGRESS_STEPS: i32 = 1000;

/// The index file: the indexer's connection, and the connections searches read through.
pub(super) struct SearchIndex {
    indexer: Mutex<Connection>,
    readers: Mutex<Vec<Connection>>,
}

/// A reader connection lent to one search, given back when dropped.
struct Lent<'a> {
    conn: Option<Connection>,
    pool: &'a Mutex<Vec<Connection>>,
}

impl Drop for Lent<'_> {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            lock(self.pool).push(conn);
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // Connections and a list of them: nothing a panic could leave half-done.
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl SearchIndex {
    /// Opens the index at `path` for the history of `epoch`, with `readers` connections for
    /// searches; an index of another history, or one that cannot be read, is made afresh.
    ///
    /// # Errors
    /// When the file cannot be created or opened.
    pub(super) fn open(
        path: &Path,
        epoch: &str,
        readers: usize,
        max_bytes: Option<u64>,
    ) -> Result<Self> {
        let indexer = match open_indexer(path, epoch) {
            Ok(conn) => conn,
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "the search index cannot be read; making it again");
                remove_files(path);
                open_indexer(path, epoch)?
            }
        };
        // A copy of every text and its index: about three times the history's texts.
        super::cap_size(&indexer, max_bytes.map(|bytes| bytes.saturating_mul(3)))?;
        let readers = (0..readers.max(1))
            .map(|_| open_reader(path))
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            indexer: Mutex::new(indexer),
            readers: Mutex::new(readers),
        })
    }

    /// The newest rowid of the history it has indexed (0: none).
    pub(super) fn indexed_to(&self) -> Result<i64> {
        indexed_to(&lock(&self.indexer))
    }

    /// One pass: forgets what the history removed, then indexes what it stored since, batch
    /// after batch while there is a backlog (for at most [`PASS_TIME`]). The history's
    /// connection is taken only to read each batch. Returns how many messages were indexed.
    ///
    /// # Errors
    /// When either database cannot be read or written (the next pass tries again).
    pub(super) fn pass(&self, history: &Mutex<Writer>) -> Result<usize> {
        let started = Instant::now();
        let mut indexer = lock(&self.indexer);
        loop {
            let removed: Vec<i64> = {
                let writer = lock(history);
                let mut statement = writer
                    .conn
                    .prepare_cached("SELECT row FROM search_changes ORDER BY row LIMIT ?1")?;
                let rows = statement.query_map([to_i64(BATCH)], |row| row.get(0))?;
                rows.collect::<rusqlite::Result<_>>()?
            };
            if removed.is_empty() {
                break;
            }
            // An edited message is indexed again with its text now (a newer row than the
            // index has reached is indexed below, with the others).
            let changed = rows_now(history, &removed, indexed_to(&indexer)?)?;
            let tx = indexer.transaction()?;
            for row in &removed {
                tx.prepare_cached("DELETE FROM entries WHERE row = ?1")?
                    .execute([row])?;
            }
            for (row, room, parts) in &changed {
                index_one(&tx, *row, *room, parts)?;
            }
            tx.commit()?;
            // Exactly these: a message removed meanwhile may have a rowid among them.
            let rows = serde_json::to_string(&removed).unwrap_or_else(|_| "[]".to_owned());
            lock(history)
                .conn
                .prepare_cached(
                    "DELETE FROM search_changes WHERE row IN (SELECT value FROM json_each(?1))",
                )?
                .execute([rows])?;
            if removed.len() < BATCH || started.elapsed() > PASS_TIME {
                break;
            }
        }
        let mut indexed = 0;
        loop {
            let from = indexed_to(&indexer)?;
            let batch = new_rows(history, from)?;
            let Some(last) = batch.last().map(|(row, ..)| *row) else {
                break;
            };
            let tx = indexer.transaction()?;
            for (row, room, parts) in &batch {
                tx.prepare_cached("DELETE FROM entries WHERE row = ?1")?
                    .execute([row])?;
                index_one(&tx, *row, *room, parts)?;
            }
            tx.prepare_cached("UPDATE meta SET value = ?1 WHERE key = 'indexed_to'")?
                .execute([last.to_string()])?;
            tx.commit()?;
            indexed += batch.len();
            if batch.len() < BATCH || started.elapsed() > PASS_TIME {
                break;
            }
        }
        Ok(indexed)
    }

    /// The newest [`SCAN`] matches of `query` (an [`fts_query`]) in `rooms` stored before
    /// `before` (a rowid; `None`: all), searched for at most `budget`. Blocking: call it off
    /// the async threads.
    ///
    /// # Errors
    /// [`Error::SearchTimedOut`] past the budget; [`Error::Store`] when the index cannot be
    /// read, or every reader is busy (the chat admits no more searches than there are).
    pub(super) fn search(
        &self,
        query: &str,
        rooms: &[RoomId],
        before: Option<u64>,
        budget: Duration,
    ) -> Result<Scanned> {
        let lent = Lent {
            conn: lock(&self.readers).pop(),
            pool: &self.readers,
        };
        let Some(conn) = lent.conn.as_ref() else {
            return Err(Error::Unreachable("every search connection is busy".into()));
        };
        let deadline = Instant::now() + budget;
        conn.progress_handler(PROGRESS_STEPS, Some(move || Instant::now() >= deadline));
        let scanned = scan(conn, query, rooms, before);
        conn.progress_handler(PROGRESS_STEPS, None::<fn() -> bool>);
        scanned.map_err(|e| match e {
            Error::Store(rusqlite::Error::SqliteFailure(failure, _))
                if failure.code == rusqlite::ErrorCode::OperationInterrupted =>
            {
                Error::SearchTimedOut(budget)
            }
            other => other,
        })
    }
}

impl SearchIndex {
    /// FTS5's own check that the index holds exactly the entries' words.
    ///
    /// # Errors
    /// When it does not, or the index cannot be read.
    #[cfg(test)]
    pub(super) fn check_integrity(&self) -> Result<()> {
        lock(&self.indexer).execute_batch(
            "INSERT INTO entries_fts (entries_fts, rank) VALUES ('integrity-check', 1)",
        )?;
        Ok(())
    }
}

/// The newest matches, read through one reader connection.
fn scan(conn: &Connection, query: &str, rooms: &[RoomId], before: Option<u64>) -> Result<Scanned> {
    let rooms = serde_json::to_string(rooms).unwrap_or_else(|_| "[]".to_owned());
    let before = before.map_or(i64::MAX, |b| i64::try_from(b).unwrap_or(i64::MAX));
    let mut statement = conn.prepare_cached(&format!(
        "SELECT {MESSAGE_FIELDS}, e.room_id, e.row FROM (
            SELECT rowid AS found FROM entries_fts
            WHERE entries_fts MATCH ?1 AND rowid < ?2
              AND room_id IN (SELECT value FROM json_each(?3))
            ORDER BY rowid DESC LIMIT {SCAN}
        ) JOIN entries e ON e.row = found ORDER BY e.row DESC"
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
        let (parts, room, position) = row?;
        let message = parts_to_message(parts)?;
        matches.push((position, Found { room, message }));
    }
    Ok(Scanned::from_positions(matches))
}

/// Adds one message (of history row `row`) to the index.
fn index_one(
    tx: &rusqlite::Transaction<'_>,
    row: i64,
    room: RoomId,
    parts: &super::Parts,
) -> rusqlite::Result<()> {
    tx.prepare_cached(
        "INSERT INTO entries (row, room_id, seq, id, username, text, timestamp,
             client_id, guest, mentions)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )?
    .execute(params![
        row, room, parts.0, parts.1, parts.2, parts.3, parts.4, parts.5, parts.6, parts.7
    ])?;
    Ok(())
}

/// The messages of `rows` (history rowids) that the index has reached (up to `indexed_to`)
/// and that are still there and not deleted, as they are now.
fn rows_now(
    history: &Mutex<Writer>,
    rows: &[i64],
    indexed_to: i64,
) -> Result<Vec<(i64, RoomId, super::Parts)>> {
    let writer = lock(history);
    let mut statement = writer.conn.prepare_cached(&format!(
        "SELECT {MESSAGE_FIELDS}, room_id, rowid FROM messages
         WHERE rowid IN (SELECT value FROM json_each(?1)) AND rowid <= ?2
             AND deleted_ms IS NULL"
    ))?;
    let rows = serde_json::to_string(rows).unwrap_or_else(|_| "[]".to_owned());
    let found = statement.query_map(params![rows, indexed_to], |row| {
        Ok((row.get(9)?, row.get(8)?, row_to_parts(row)?))
    })?;
    Ok(found.collect::<rusqlite::Result<_>>()?)
}

/// Up to [`BATCH`] messages of the history stored after rowid `from`, oldest first: (rowid,
/// room, fields). Deleted ones are passed over: there is nothing in them to find.
fn new_rows(history: &Mutex<Writer>, from: i64) -> Result<Vec<(i64, RoomId, super::Parts)>> {
    let writer = lock(history);
    let mut statement = writer.conn.prepare_cached(&format!(
        "SELECT {MESSAGE_FIELDS}, room_id, rowid FROM messages
         WHERE rowid > ?1 AND deleted_ms IS NULL ORDER BY rowid LIMIT ?2"
    ))?;
    let rows = statement.query_map(params![from, to_i64(BATCH)], |row| {
        Ok((row.get(9)?, row.get(8)?, row_to_parts(row)?))
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

fn to_i64(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn indexed_to(conn: &Connection) -> Result<i64> {
    Ok(conn
        .query_row(
            "SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'indexed_to'",
            [],
            |row| row.get(0),
        )
        .optional()?
        .unwrap_or(0))
}

/// The indexer's connection to the index of `epoch`'s history: made and set up, emptied when
/// it held another history's.
fn open_indexer(path: &Path, epoch: &str) -> Result<Connection> {
    super::make_parent_dir(path)?;
    let mut conn = Connection::open(path)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    // Each pass is a few commits a second at most, so every one is synced: a removal the
    // history then forgets (`search_changes`) must not come back after a power loss.
    conn.pragma_update(None, "synchronous", "FULL")?;
    super::schema::migrate(&mut conn, "search index", SQLITE_SEARCH)?;
    let indexed_epoch: Option<String> = conn
        .query_row("SELECT value FROM meta WHERE key = 'epoch'", [], |row| {
            row.get(0)
        })
        .optional()?;
    if indexed_epoch.as_deref() != Some(epoch) {
        if indexed_epoch.is_some() {
            tracing::info!("the search index was another history's: making it again");
        }
        conn.execute_batch(
            "BEGIN;
             DELETE FROM entries;
             DELETE FROM meta;
             COMMIT;",
        )?;
        conn.execute(
            "INSERT INTO meta (key, value) VALUES ('epoch', ?1), ('indexed_to', '0')",
            [epoch],
        )?;
    }
    Ok(conn)
}

fn open_reader(path: &Path) -> Result<Connection> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    // A reader never waits for the indexer's commit (WAL), but a checkpoint may hold the
    // file a moment.
    conn.busy_timeout(Duration::from_millis(500))?;
    Ok(conn)
}

/// Removes an index that cannot be read, with its WAL, to make it again.
fn remove_files(path: &Path) {
    for suffix in ["", "-wal", "-shm"] {
        let mut file = path.as_os_str().to_owned();
        file.push(suffix);
        if let Err(e) = std::fs::remove_file(&file) {
            if e.kind() != std::io::ErrorKind::NotFound {
                tracing::warn!(path = ?file, error = %e, "could not remove a broken search index");
            }
        }
    }
}

/// A query as FTS5 reads it: each word quoted (so no word is ever syntax), a prefix word
/// followed by `*`, all of them required. `None` when no word is left.
#[must_use]
pub fn fts_query(typed: &str) -> Option<String> {
    let words: Vec<String> = query_words(typed)
        .into_iter()
        .filter_map(|word| {
            let bare: String = word.text.chars().filter(|c| *c != '"').collect();
            (!bare.is_empty()).then(|| {
                if word.prefix {
                    format!("\"{bare}\"*")
                } else {
                    format!("\"{bare}\"")
                }
            })
        })
        .collect();
    (!words.is_empty()).then(|| words.join(" "))
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
        assert_eq!(
            fts_query("a* ab\u{0}cd").as_deref(),
            Some("\"a\" \"ab\" \"cd\"")
        );
    }
}
