//! The `SQLite` store (the default): one file, written in commit order by whoever holds the room.
//!
//! Messages are numbered per room, `(room_id, seq)`, unique in the table; `general` is room 1,
//! and a database from before rooms is moved there at start with its `seq`s unchanged. Rooms,
//! their members, read markers and mentions are in [`rooms`].
//!
//! The room stores each accepted draft itself, under its lock ([`SqliteStore::append`]): the
//! draft gets its `seq` and timestamp inside the transaction that stores it (WAL,
//! `synchronous=NORMAL`: durable against a killed process), and only then is the message
//! broadcast and acknowledged. So no client ever sees a message that is not on disk, a `seq`
//! seen once is never given to another message after a crash, and a failed write (a full disk)
//! leaves no trace: its `seq` goes to the next message that is stored.
//!
//! Storing in line costs a WAL append; handing each message to a writer thread and back cost
//! two thread wake-ups, which on a busy CPU were the larger part of a message's latency. The
//! one connection holds the database in exclusive locking mode, so a commit takes no
//! shared-memory locks (that took the small-room p99 from about 1.35× to about 1.0× the
//! server's before this design; BENCHMARKS.md). The price: no other process may open the
//! database while the server runs. The WAL checkpoint, the one step that can take long, runs
//! from a thread of its own every second instead of inside a message's commit; `history` pages
//! are read through the same connection, off the async threads.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use charla_protocol::chat::ChatMessage;
use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension};

use super::{
    new_epoch, Appended, Change, ChangeRefused, Changed, Counts, Draft, Followed, Found, Loaded,
    Member, NotStored, RoomChange, RoomId, Scanned, Selection, Store, StoreOptions, StoredRoom,
    EXPIRE_BATCH, GENERAL, RETIRED_PREFIX,
};
use crate::error::{Error, Result};
use crate::store::migrate::SQLITE_HISTORY;
use changes::LIVING_FIELDS;

mod before_versions;
mod changes;
pub(crate) mod names;
mod rooms;
pub(crate) mod schema;
mod search;
mod threads;

pub use search::fts_query;

/// How often the WAL is checkpointed (off the message path).
const CHECKPOINT_EVERY: Duration = Duration::from_secs(1);

/// The `SQLite` store: its one connection, with the next `seq`.
#[derive(Clone)]
pub struct SqliteStore {
    writer: Arc<Mutex<Writer>>,
    /// The search index, in a file of its own.
    index: Arc<search::SearchIndex>,
    /// The checkpoint thread's line: dropped with the last handle, it stops the thread; a
    /// send wakes it to index at once (an edited or deleted text leaves the index then, not
    /// up to a second later).
    background: Arc<std::sync::mpsc::SyncSender<()>>,
}

struct Writer {
    conn: Connection,
    /// Each room's next `seq`, read from the database the first time the room is written.
    next_seq: HashMap<RoomId, u64>,
    /// The next message's rowid: never one given before, even when retention emptied the
    /// table (the search index refers to messages by rowid).
    next_rowid: i64,
    retention: Option<u64>,
}

/// Opens the `SQLite` store and reads back what the room needs.
///
/// # Errors
/// When the database cannot be created, opened or read.
pub fn open(path: &Path, options: StoreOptions) -> Result<(SqliteStore, Loaded)> {
    let mut conn = connect(path)?;
    // Before the size cap: moving an old table holds it twice for a moment.
    before_versions::bring_up(&mut conn)?;
    schema::migrate(&mut conn, "history database", SQLITE_HISTORY)?;
    cap_size(&conn, options.max_bytes)?;
    // Checkpoints run on their own thread (below), not inside a message's commit.
    conn.pragma_update(None, "wal_autocheckpoint", 0)?;
    let epoch = epoch(&conn)?;
    let index = Arc::new(search::SearchIndex::open(
        &path.with_extension("search.db"),
        &epoch,
        options.searches,
        options.max_bytes,
    )?);
    let loaded = load(&conn, &options, epoch)?;
    let next_rowid = next_rowid(&conn, index.indexed_to()?)?;
    let writer = Arc::new(Mutex::new(Writer {
        conn,
        next_seq: HashMap::from([(GENERAL, loaded.last_seq + 1)]),
        next_rowid,
        retention: options.retention,
    }));
    let (alive, stopped) = std::sync::mpsc::sync_channel::<()>(0);
    let checkpointed = writer.clone();
    let indexed = index.clone();
    std::thread::Builder::new()
        .name("charla-checkpoint".into())
        .spawn(move || checkpoint_loop(&checkpointed, &indexed, &stopped))?;
    Ok((
        SqliteStore {
            writer,
            index,
            background: Arc::new(alive),
        },
        loaded,
    ))
}

/// The rowid the next message gets: past every message kept, every one the index holds and
/// every removal it has still to apply (so a removal never finds a newer message under the
/// same rowid).
fn next_rowid(conn: &Connection, indexed_to: i64) -> Result<i64> {
    let stored: i64 = conn.query_row(
        "SELECT max(coalesce((SELECT max(rowid) FROM messages), 0),
                    coalesce((SELECT max(row) FROM search_changes), 0))",
        [],
        |row| row.get(0),
    )?;
    Ok(stored.max(indexed_to) + 1)
}

/// Every second, until every store handle is gone: indexes the messages stored since for
/// search, and copies the WAL into the database.
fn checkpoint_loop(
    writer: &Mutex<Writer>,
    index: &search::SearchIndex,
    stopped: &std::sync::mpsc::Receiver<()>,
) {
    let checkpoint = |mode: &str| {
        let writer = writer
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        writer
            .conn
            .query_row(&format!("PRAGMA wal_checkpoint({mode})"), [], |_| Ok(()))
    };
    let index_failures = crate::throttle::Throttle::new();
    let index = || {
        if let Err(e) = index.pass(writer) {
            index_failures.warn(|suppressed| {
                tracing::warn!(error = %e, suppressed, "could not index new messages for search; retrying in a second");
            });
        }
    };
    loop {
        match stopped.recv_timeout(CHECKPOINT_EVERY) {
            // Woken by a changed text: indexed now, the checkpoint at its second.
            Ok(()) => index(),
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                index();
                if let Err(e) = checkpoint("PASSIVE") {
                    tracing::warn!(error = %e, "WAL checkpoint failed; retrying in a second");
                }
            }
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break,
        }
    }
    // A last one, so a clean shutdown leaves an empty WAL.
    index();
    let _ = checkpoint("TRUNCATE");
}

impl SqliteStore {
    /// The one connection, for one operation.
    fn write(&self) -> MutexGuard<'_, Writer> {
        self.writer
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Whether the database answers within `within`: its connection is free in time (it is
    /// polled, so a connection held for ever costs no blocked thread) and reads.
    ///
    /// # Errors
    /// [`Error::Unreachable`] when it is busy all that time, or a read fails.
    pub fn check(&self, within: Duration) -> Result<()> {
        let deadline = std::time::Instant::now() + within;
        let writer = loop {
            match self.writer.try_lock() {
                Ok(writer) => break writer,
                Err(std::sync::TryLockError::Poisoned(poisoned)) => break poisoned.into_inner(),
                Err(std::sync::TryLockError::WouldBlock) => {
                    if std::time::Instant::now() >= deadline {
                        return Err(Error::Unreachable(format!(
                            "the database was busy for {} ms",
                            within.as_millis()
                        )));
                    }
                    std::thread::sleep(Duration::from_millis(5));
                }
            }
        };
        writer
            .conn
            .query_row("SELECT count(*) FROM meta", [], |row| row.get::<_, i64>(0))
            .map_err(|e| Error::Unreachable(e.to_string()))?;
        Ok(())
    }

    /// Stores a draft as the next message of `room`, accepted `at`, and returns it with its
    /// `seq`. Call it under the room's lock, so that `seq` order is publishing order.
    ///
    /// # Errors
    /// [`NotStored`] when the write failed; then no `seq` was used.
    pub fn append(
        &self,
        room: RoomId,
        draft: Draft,
        at: DateTime<Utc>,
    ) -> std::result::Result<ChatMessage, NotStored> {
        let mut writer = self.write();
        let writer = &mut *writer;
        let next = match writer.next_seq.get(&room) {
            Some(next) => *next,
            None => last_seq_of(&writer.conn, room).map_err(|e| NotStored(e.to_string()))? + 1,
        };
        let mention_keys: Vec<String> = draft.mentions.iter().map(|m| m.key.clone()).collect();
        let author_key = draft.author_key.clone();
        let message = draft.into_message(next, at);
        match insert(
            &mut writer.conn,
            (room, writer.next_rowid),
            (&message, author_key.as_deref()),
            &mention_keys,
            writer.retention,
        ) {
            Ok(()) => {
                writer.next_seq.insert(room, next + 1);
                writer.next_rowid += 1;
                Ok(message)
            }
            Err(e) => {
                tracing::error!(error = %e, room, seq = next, "could not store a message; refusing it");
                Err(NotStored(e.to_string()))
            }
        }
    }

    /// Removes `room`'s messages stored before `cutoff`, at most [`EXPIRE_BATCH`] at a time
    /// (a first run over years of history must not hold the writer for long: the next call
    /// goes on); returns the lowest `seq` still kept afterwards (`None`: nothing was old
    /// enough). Walks from the oldest message and stops at the first young one, so a call that
    /// finds nothing to remove costs one index step. The room's highest `seq` is recorded
    /// first, so emptying a room never lets its numbering start over.
    ///
    /// # Errors
    /// When the database cannot be read or written.
    pub fn expire_before(&self, room: RoomId, cutoff: DateTime<Utc>) -> Result<Option<u64>> {
        let mut writer = self.write();
        let writer = &mut *writer;
        let cutoff = charla_protocol::timestamp::format(&cutoff);
        let oldest: Option<u64> = writer
            .conn
            .prepare_cached(
                "SELECT seq, timestamp FROM messages WHERE room_id = ?1 ORDER BY seq LIMIT 1",
            )?
            .query_row([room], |row| {
                Ok((row.get::<_, u64>(0)?, row.get::<_, String>(1)?))
            })
            .optional()?
            .filter(|(_, at)| *at < cutoff)
            .map(|(seq, _)| seq);
        if oldest.is_none() {
            return Ok(None);
        }
        // The first message young enough to keep (timestamps are given in `seq` order).
        let keep_from: Option<u64> = writer
            .conn
            .prepare_cached(
                "SELECT seq FROM messages WHERE room_id = ?1 AND timestamp >= ?2 ORDER BY seq LIMIT 1",
            )?
            .query_row(params![room, cutoff], |row| row.get(0))
            .optional()?;
        let next = match writer.next_seq.get(&room) {
            Some(next) => *next,
            None => last_seq_of(&writer.conn, room)? + 1,
        };
        let keep_from = keep_from
            .unwrap_or(next)
            .min(oldest.unwrap_or(next).saturating_add(EXPIRE_BATCH));
        let tx = writer.conn.transaction()?;
        tx.prepare_cached(
            "INSERT INTO room_seqs (room_id, last_seq) VALUES (?1, ?2)
             ON CONFLICT (room_id) DO UPDATE SET last_seq = max(last_seq, excluded.last_seq)",
        )?
        .execute(params![room, next - 1])?;
        let removed = tx
            .prepare_cached("DELETE FROM messages WHERE room_id = ?1 AND seq < ?2")?
            .execute(params![room, keep_from])?;
        tx.prepare_cached("DELETE FROM change_ids WHERE room_id = ?1 AND seq < ?2")?
            .execute(params![room, keep_from])?;
        rooms::drop_mentions_before(&tx, room, keep_from)?;
        tx.commit()?;
        tracing::info!(
            room,
            removed,
            keep_from,
            "messages past the retention age removed"
        );
        Ok(Some(keep_from))
    }
}

impl Store for SqliteStore {
    fn check(&self, within: Duration) -> Result<()> {
        SqliteStore::check(self, within)
    }

    fn append(
        &self,
        room: RoomId,
        draft: Draft,
        at: DateTime<Utc>,
    ) -> std::result::Result<Appended, NotStored> {
        // One writer gives every `seq`, and the chat's memory of `clientId`s answers retries
        // before they get here: every append is new.
        SqliteStore::append(self, room, draft, at).map(Appended::New)
    }

    fn expire_before(&self, room: RoomId, cutoff: DateTime<Utc>) -> Result<Option<u64>> {
        SqliteStore::expire_before(self, room, cutoff)
    }

    fn read(&self, room: RoomId, which: Selection) -> Result<Vec<ChatMessage>> {
        SqliteStore::read(self, room, which)
    }

    fn change_message(
        &self,
        room: RoomId,
        seq: u64,
        change: &Change<'_>,
        at: DateTime<Utc>,
    ) -> std::result::Result<Changed, ChangeRefused> {
        SqliteStore::change_message(self, room, seq, change, at)
    }

    fn create_room(
        &self,
        name: Option<&str>,
        kind: charla_protocol::chat::RoomKind,
        topic: &str,
        members: &[Member],
        at: DateTime<Utc>,
    ) -> Result<(RoomId, String)> {
        SqliteStore::create_room(self, name, kind, topic, members, at)
    }

    fn change_room(&self, room: RoomId, change: RoomChange<'_>, at: DateTime<Utc>) -> Result<()> {
        match change {
            RoomChange::Join(member) => SqliteStore::add_member(self, room, member, at),
            RoomChange::Leave { key } => SqliteStore::remove_member(self, room, key, at),
            RoomChange::Topic(topic) => SqliteStore::set_topic(self, room, topic),
            RoomChange::ThreadRead { key, root, seq } => {
                SqliteStore::thread_read(self, room, (key, root, seq))
            }
        }
    }

    fn forget_name(&self, key: &str, at: DateTime<Utc>) -> Result<()> {
        SqliteStore::forget_name(self, key, at)
    }

    fn retire_room(&self, room: RoomId, emptied_before: DateTime<Utc>) -> Result<bool> {
        SqliteStore::retire_room(self, room, emptied_before)
    }

    fn purge_retired(&self, room: RoomId) -> Result<bool> {
        SqliteStore::purge_retired(self, room)
    }

    fn save_markers(&self, markers: &[(String, RoomId, u64)]) -> Result<()> {
        SqliteStore::save_markers(self, markers)
    }

    fn counts_after(&self, room: RoomId, key: &str, after: u64) -> Result<Counts> {
        SqliteStore::counts_after(self, room, key, after)
    }

    fn followed_threads(&self, key: &str, rooms: &[RoomId], limit: usize) -> Result<Vec<Followed>> {
        SqliteStore::followed_threads(self, key, rooms, limit)
    }

    fn search(
        &self,
        typed: &str,
        rooms: &[RoomId],
        before: Option<u64>,
        budget: Duration,
    ) -> Result<Scanned> {
        match fts_query(typed) {
            Some(query) => self.index.search(&query, rooms, before, budget),
            None => Ok(Scanned {
                found: Vec::new(),
                next: None,
            }),
        }
    }
}

/// Makes the directory a database file goes in.
///
/// # Errors
/// When it cannot be made.
pub fn make_parent_dir(path: &Path) -> Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|source| Error::StoreDir {
            path: dir.to_owned(),
            source,
        })?;
    }
    Ok(())
}

fn connect(path: &Path) -> Result<Connection> {
    make_parent_dir(path)?;
    let conn = Connection::open(path)?;
    // Each message is its own commit, and a commit writes whole pages to the WAL: small pages
    // (for a new database; an existing one keeps its size) make that 1 KiB instead of 4.
    conn.pragma_update(None, "page_size", 1024)?;
    // Before the first access in WAL mode: then no shared-memory index is ever made.
    conn.pragma_update(None, "locking_mode", "EXCLUSIVE")?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    Ok(conn)
}

/// Caps the database file at `max_bytes` (`--db-max-mb`).
fn cap_size(conn: &Connection, max_bytes: Option<u64>) -> Result<()> {
    if let Some(max_bytes) = max_bytes {
        let page_size: u64 = conn.query_row("PRAGMA page_size", [], |row| row.get(0))?;
        let pages = (max_bytes / page_size.max(1)).max(1);
        let _: u64 = conn.query_row(&format!("PRAGMA max_page_count = {pages}"), [], |row| {
            row.get(0)
        })?;
    }
    Ok(())
}

/// The columns a message is read from, in [`row_to_parts`]'s order.
const MESSAGE_FIELDS: &str = "seq, id, username, text, timestamp, client_id, guest, mentions";

/// The highest `seq` `room` ever gave, 0 when none: its newest message's, or the one recorded
/// when retention emptied it.
fn last_seq_of(conn: &Connection, room: RoomId) -> rusqlite::Result<u64> {
    conn.query_row(
        "SELECT max(coalesce((SELECT max(seq) FROM messages WHERE room_id = ?1), 0),
                    coalesce((SELECT last_seq FROM room_seqs WHERE room_id = ?1), 0))",
        [room],
        |row| row.get(0),
    )
}

/// The database's epoch, made when the database is.
fn epoch(conn: &Connection) -> Result<String> {
    let existing: Option<String> = conn
        .query_row("SELECT value FROM meta WHERE key = 'epoch'", [], |row| {
            row.get(0)
        })
        .optional()?;
    if let Some(epoch) = existing {
        return Ok(epoch);
    }
    let epoch = new_epoch();
    conn.execute(
        "INSERT INTO meta (key, value) VALUES ('epoch', ?1)",
        [&epoch],
    )?;
    Ok(epoch)
}

type Parts = (
    u64,
    String,
    String,
    String,
    String,
    Option<String>,
    bool,
    Option<String>,
);

fn row_to_parts(row: &rusqlite::Row<'_>) -> rusqlite::Result<Parts> {
    Ok((
        row.get(0)?,
        row.get(1)?,
        row.get(2)?,
        row.get(3)?,
        row.get(4)?,
        row.get(5)?,
        row.get(6)?,
        row.get(7)?,
    ))
}

fn parts_to_message(
    (seq, id, username, text, timestamp, client_id, guest, mentions): Parts,
) -> Result<ChatMessage> {
    let timestamp = DateTime::parse_from_rfc3339(&timestamp)
        .map_err(|e| Error::Corrupt(format!("seq {seq}: timestamp {timestamp:?}: {e}")))?
        .with_timezone(&Utc);
    Ok(ChatMessage {
        id,
        username,
        text,
        timestamp,
        seq: Some(seq),
        client_id,
        guest,
        room: None,
        // Names hold no line breaks.
        mentions: mentions
            .map(|names| names.lines().map(str::to_owned).collect())
            .unwrap_or_default(),
        thread: None,
        also_in_room: false,
        living: charla_protocol::chat::Living::default(),
    })
}

fn newest(
    conn: &Connection,
    room: RoomId,
    limit: usize,
    only_with_ids: bool,
) -> Result<Vec<ChatMessage>> {
    let only = if only_with_ids {
        "AND client_id IS NOT NULL"
    } else {
        ""
    };
    let mut statement = conn.prepare_cached(&format!(
        "SELECT {MESSAGE_FIELDS}, {LIVING_FIELDS} FROM messages
         WHERE room_id = ?2 {only} ORDER BY seq DESC LIMIT ?1"
    ))?;
    let rows = statement.query_map(
        params![i64::try_from(limit).unwrap_or(i64::MAX), room],
        |row| Ok(changes::row_to_message(row)),
    )?;
    let mut messages = rows
        .map(|row| row.map_err(Error::from).and_then(|m| m))
        .collect::<Result<Vec<_>>>()?;
    messages.reverse();
    Ok(messages)
}

fn load(conn: &Connection, options: &StoreOptions, epoch: String) -> Result<Loaded> {
    let oldest: Option<u64> = conn.query_row(
        "SELECT min(seq) FROM messages WHERE room_id = ?1",
        [GENERAL],
        |row| row.get(0),
    )?;
    let last_seq = last_seq_of(conn, GENERAL)?;
    let last_rev: u64 = conn.query_row(
        "SELECT last_rev FROM rooms WHERE room_id = ?1",
        [GENERAL],
        |row| row.get(0),
    )?;
    Ok(Loaded {
        recent: newest(conn, GENERAL, options.recent, false)?,
        recent_ids: rooms::recent_ids(conn, options.remembered_ids)?,
        rooms: rooms::load(conn, options.room_recent)?,
        markers: rooms::load_markers(conn)?,
        last_seq,
        last_rev,
        oldest_seq: oldest.unwrap_or(last_seq + 1),
        epoch,
    })
}

/// Stores one message of `room` as row `rowid` (one commit), dropping what retention no longer
/// keeps of the room.
fn insert(
    conn: &mut Connection,
    (room, rowid): (RoomId, i64),
    (m, author_key): (&ChatMessage, Option<&str>),
    mention_keys: &[String],
    retention: Option<u64>,
) -> rusqlite::Result<()> {
    const INSERT: &str = "INSERT INTO messages
         (room_id, seq, id, username, text, timestamp, client_id, guest, mentions, rowid,
          author_key, thread_root, also_in_room)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)";
    let seq = m.seq.unwrap_or_default();
    let mentioned = (!m.mentions.is_empty()).then(|| m.mentions.join("\n"));
    let row = params![
        room,
        seq,
        m.id,
        m.username,
        m.text,
        charla_protocol::timestamp::format(&m.timestamp),
        m.client_id,
        m.guest,
        mentioned,
        rowid,
        author_key,
        m.thread,
        m.also_in_room
    ];
    if retention.is_none() && mention_keys.is_empty() && m.thread.is_none() {
        // One statement is its own transaction.
        conn.prepare_cached(INSERT)?.execute(row)?;
        return Ok(());
    }
    let tx = conn.transaction()?;
    tx.prepare_cached(INSERT)?.execute(row)?;
    rooms::insert_mentions(&tx, room, seq, mention_keys)?;
    if let Some(keep) = retention {
        tx.prepare_cached("DELETE FROM messages WHERE room_id = ?1 AND seq <= ?2")?
            .execute(params![room, seq.saturating_sub(keep)])?;
        rooms::drop_mentions_before(&tx, room, (seq + 1).saturating_sub(keep))?;
        tx.prepare_cached("DELETE FROM change_ids WHERE room_id = ?1 AND seq <= ?2")?
            .execute(params![room, seq.saturating_sub(keep)])?;
    }
    tx.commit()
}

/// A store in `dir` for the tests of this folder's modules (no retention, small windows).
#[cfg(test)]
pub(super) fn open_for_test(dir: &tempfile::TempDir) -> SqliteStore {
    let options = StoreOptions {
        recent: 10,
        room_recent: 10,
        room_recent_bytes: 64 * 1024,
        remembered_ids: 10,
        retention: None,
        max_bytes: None,
        searches: 1,
    };
    open(&dir.path().join("history.db"), options)
        .expect("opens")
        .0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draft(n: u64) -> Draft {
        Draft {
            id_prefix: "s".into(),
            username: "alice".into(),
            text: format!("text {n}"),
            client_id: Some(format!("c{n}")),
            guest: false,
            author_key: Some("alice".into()),
            thread: None,
            also_in_room: false,
            mentions: Vec::new(),
        }
    }

    fn options(retention: Option<u64>) -> StoreOptions {
        StoreOptions {
            recent: 3,
            room_recent: 2,
            room_recent_bytes: 64 * 1024,
            remembered_ids: 10,
            retention,
            max_bytes: None,
            searches: 2,
        }
    }

    const BUDGET: Duration = Duration::from_secs(20);

    #[test]
    fn seqs_are_given_at_commit_and_survive_reopening() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("sub/history.db");
        let (store, loaded) = open(&path, options(None)).expect("opens");
        assert_eq!((loaded.last_seq, loaded.oldest_seq), (0, 1));
        let epoch = loaded.epoch.clone();
        for n in 1..=5 {
            let stored = store.append(GENERAL, draft(n), Utc::now()).expect("stored");
            assert_eq!(stored.seq, Some(n));
            assert_eq!(stored.id, format!("s-{n}"));
        }
        let page = store
            .read(
                GENERAL,
                Selection::Before {
                    before: 5,
                    limit: 2,
                },
            )
            .expect("reads");
        assert_eq!(
            page.iter().filter_map(|m| m.seq).collect::<Vec<_>>(),
            [3, 4]
        );
        drop(store);

        let (_, loaded) = open(&path, options(None)).expect("reopens");
        assert_eq!((loaded.last_seq, loaded.oldest_seq), (5, 1));
        assert_eq!(loaded.epoch, epoch, "the epoch belongs to the database");
        let seqs: Vec<_> = loaded.recent.iter().filter_map(|m| m.seq).collect();
        assert_eq!(seqs, [3, 4, 5]);
        assert_eq!(loaded.recent[2].text, "text 5");
        assert_eq!(loaded.recent_ids.len(), 5);
    }

    #[test]
    fn each_room_has_its_own_order_history_and_retention() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("history.db");
        let (store, _) = open(&path, options(Some(2))).expect("opens");
        let other: RoomId = 2;
        for n in 1..=4 {
            assert_eq!(
                store
                    .append(GENERAL, draft(n), Utc::now())
                    .expect("stored")
                    .seq,
                Some(n)
            );
            assert_eq!(
                store
                    .append(other, draft(10 + n), Utc::now())
                    .expect("stored")
                    .seq,
                Some(n)
            );
        }
        let texts = |room, before| {
            store
                .read(room, Selection::Before { before, limit: 10 })
                .expect("reads")
                .into_iter()
                .map(|m| m.text)
                .collect::<Vec<_>>()
        };
        assert_eq!(
            texts(GENERAL, 10),
            ["text 3", "text 4"],
            "two kept, per room"
        );
        assert_eq!(texts(other, 10), ["text 13", "text 14"]);
        drop(store);
        let (store, loaded) = open(&path, options(Some(2))).expect("reopens");
        assert_eq!(loaded.last_seq, 4, "general's own numbering");
        assert_eq!(
            store
                .append(other, draft(15), Utc::now())
                .expect("stored")
                .seq,
            Some(5)
        );
    }

    #[test]
    fn a_database_from_before_rooms_becomes_general_s_history() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("history.db");
        {
            let conn = Connection::open(&path).expect("opens");
            conn.execute_batch(include_str!(
                "../../../tests/fixtures/history-before-rooms.sql"
            ))
            .expect("an old database");
        }
        let (store, loaded) = open(&path, options(None)).expect("migrates");
        assert_eq!(
            (loaded.last_seq, loaded.oldest_seq),
            (8, 7),
            "the seqs clients hold"
        );
        assert_eq!(loaded.epoch, "e-old", "the same history");
        assert!(
            loaded.recent.iter().all(|m| m.guest),
            "nobody owned a name then"
        );
        assert_eq!(loaded.recent_ids.len(), 1, "c7 is still recognised");
        assert_eq!(
            store
                .append(GENERAL, draft(9), Utc::now())
                .expect("stored")
                .seq,
            Some(9)
        );
        assert_eq!(
            store
                .read(
                    GENERAL,
                    Selection::Before {
                        before: 9,
                        limit: 10
                    }
                )
                .expect("reads")
                .iter()
                .map(|m| m.text.as_str())
                .collect::<Vec<_>>(),
            ["seven", "eight"]
        );
        drop(store);
        let (_, again) = open(&path, options(None)).expect("reopens without migrating again");
        assert_eq!(again.last_seq, 9);
        let conn = Connection::open(&path).expect("opens");
        assert_eq!(
            schema::version_of(&conn).ok(),
            Some(latest_version()),
            "versioned from now on"
        );
        let trigger: String = conn
            .query_row(
                "SELECT tbl_name FROM sqlite_master WHERE name = 'messages_unindex'",
                [],
                |row| row.get(0),
            )
            .expect("the search's removal trigger");
        assert_eq!(trigger, "messages", "on the new table");
    }

    #[test]
    fn a_history_of_the_last_unversioned_server_is_recognised_once() {
        // The servers before versions made every table as version 1 does, and left
        // `user_version` at 0: such a file opens with its messages, rooms and epoch, and is
        // version 1 from then on.
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("history.db");
        let epoch = "00c0ffee00c0ffee";
        let old = Connection::open(&path).expect("made");
        old.execute_batch(SQLITE_HISTORY[0].sql)
            .expect("the tables as the last unversioned server made them");
        old.execute_batch(&format!(
            "INSERT INTO meta (key, value) VALUES ('epoch', '{epoch}');
             INSERT INTO rooms (room_id, name, kind, topic, creator, created_ms)
                 VALUES (2, 'ops', 'room', '', 'ana', 0);
             INSERT INTO messages (room_id, seq, id, username, text, timestamp)
                 VALUES (1, 1, 's-1', 'ana', 'hi', '2026-11-30T10:00:00.000Z');"
        ))
        .expect("what it had stored");
        drop(old);
        let (_, again) = open(&path, options(None)).expect("opens");
        assert_eq!(again.epoch, epoch);
        assert_eq!(again.last_seq, 1);
        assert_eq!(
            again
                .rooms
                .iter()
                .map(|r| r.name.as_str())
                .collect::<Vec<_>>(),
            ["ops"]
        );
        let conn = Connection::open(&path).expect("opens");
        assert_eq!(schema::version_of(&conn).ok(), Some(latest_version()));
    }

    fn latest_version() -> i64 {
        SQLITE_HISTORY.last().map_or(0, |m| m.version)
    }

    #[test]
    fn a_history_of_a_newer_server_is_refused_untouched() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("history.db");
        drop(open(&path, options(None)).expect("made"));
        Connection::open(&path)
            .and_then(|conn| conn.pragma_update(None, "user_version", 99))
            .expect("marked newer");
        let refused = open(&path, options(None)).err().expect("refused");
        assert!(
            refused.to_string().contains("newer than this server"),
            "{refused}"
        );
        let conn = Connection::open(&path).expect("opens");
        assert_eq!(schema::version_of(&conn).ok(), Some(99));
    }

    #[test]
    fn messages_before_a_cutoff_are_removed_in_batches_and_seqs_never_start_over() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("history.db");
        let (store, _) = open(&path, options(None)).expect("opens");
        let t0 = Utc::now() - chrono::TimeDelta::days(10);
        let minute = chrono::TimeDelta::minutes(1);
        let count = EXPIRE_BATCH + 4;
        for n in 1..=count {
            let at = t0 + minute * i32::try_from(n).expect("small");
            store.append(GENERAL, draft(n), at).expect("stored");
        }
        assert_eq!(
            store.expire_before(GENERAL, t0).expect("runs"),
            None,
            "nothing that old"
        );
        assert_eq!(
            store.expire_before(2, Utc::now()).expect("runs"),
            None,
            "an empty room"
        );
        // Older than the third message: the first two go, the walk stops at the third.
        let third = t0 + minute * 3;
        assert_eq!(store.expire_before(GENERAL, third).expect("runs"), Some(3));
        // Everything: one batch a call, then the rest.
        assert_eq!(
            store.expire_before(GENERAL, Utc::now()).expect("runs"),
            Some(3 + EXPIRE_BATCH),
            "at most one batch"
        );
        assert_eq!(
            store.expire_before(GENERAL, Utc::now()).expect("runs"),
            Some(count + 1)
        );
        assert!(store
            .read(
                GENERAL,
                Selection::Before {
                    before: count + 1,
                    limit: 10
                }
            )
            .expect("reads")
            .is_empty());
        drop(store);
        let (store, loaded) = open(&path, options(None)).expect("reopens, empty");
        assert_eq!(
            (loaded.last_seq, loaded.oldest_seq),
            (count, count + 1),
            "the numbering survives an empty room"
        );
        let next = store.append(GENERAL, draft(0), Utc::now()).expect("stored");
        assert_eq!(next.seq, Some(count + 1), "never a seq a client has seen");
    }

    /// The index follows the messages through retention and an emptied table: no removed
    /// message is found, no rowid is given twice, and FTS5's own check passes.
    #[test]
    fn search_follows_retention_and_never_reuses_a_rowid() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("history.db");
        let (store, _) = open(&path, options(None)).expect("opens");
        let old = Utc::now() - chrono::TimeDelta::days(3);
        let say = |n: u64, text: &str, at| {
            let mut draft = draft(n);
            draft.text = text.to_owned();
            store.append(GENERAL, draft, at).expect("stored");
        };
        say(1, "apple pie", old);
        say(2, "apple tart", old);
        say(3, "not indexed yet: apple", old);
        let index = || store.index.pass(&store.writer).expect("indexes");
        index();
        assert_eq!(index(), 0, "nothing new");
        let found = |query: &str| {
            let scanned = Store::search(&store, query, &[GENERAL], None, BUDGET).expect("searches");
            let mut seqs: Vec<u64> = scanned.found.iter().filter_map(|f| f.message.seq).collect();
            seqs.sort_unstable();
            seqs
        };
        assert_eq!(found("apple"), [1, 2, 3]);
        assert_eq!(found("ap*"), [1, 2, 3]);
        // Retention empties the table; the next message must not take rowid 1 again.
        store.expire_before(GENERAL, Utc::now()).expect("expires");
        index();
        assert!(
            found("apple").is_empty(),
            "removed messages leave the index"
        );
        say(4, "apple crumble", Utc::now());
        index();
        assert_eq!(found("apple"), [4]);
        assert_eq!(found("crumble"), [4]);
        drop(store);
        let (store, _) = open(&path, options(None)).expect("reopens");
        store
            .index
            .check_integrity()
            .expect("the index matches its entries");
        assert_eq!(
            Store::search(&store, "apple", &[GENERAL], None, BUDGET)
                .expect("searches")
                .found
                .len(),
            1
        );
    }

    /// A search never takes the connection messages are stored through: with it held (a
    /// long write, say), a search still answers.
    #[test]
    fn a_search_never_waits_for_the_history_connection() {
        let dir = tempfile::tempdir().expect("temp dir");
        let (store, _) = open(&dir.path().join("history.db"), options(None)).expect("opens");
        for n in 1..=20 {
            let mut d = draft(n);
            d.text = format!("pear number {n}");
            store.append(GENERAL, d, Utc::now()).expect("stored");
        }
        store.index.pass(&store.writer).expect("indexes");
        let held = store.write();
        let (answer, answered) = std::sync::mpsc::channel();
        let searcher = store.clone();
        std::thread::spawn(move || {
            let _ = answer.send(Store::search(&searcher, "pear", &[GENERAL], None, BUDGET));
        });
        let scanned = answered
            .recv_timeout(Duration::from_secs(20))
            .expect("answered while the history connection is held")
            .expect("found");
        assert_eq!(scanned.found.len(), 20);
        drop(held);
    }

    /// A search past its budget is stopped inside `SQLite` and says so (not a store failure).
    #[test]
    fn a_search_past_its_budget_is_stopped() {
        let dir = tempfile::tempdir().expect("temp dir");
        let (store, _) = open(&dir.path().join("history.db"), options(None)).expect("opens");
        for n in 1..=3000 {
            let mut d = draft(n);
            d.text = format!("plum and fig {n} w{}", n % 97);
            store.append(GENERAL, d, Utc::now()).expect("stored");
        }
        while store.index.pass(&store.writer).expect("indexes") > 0 {}
        let stopped = Store::search(&store, "plum fig", &[GENERAL], None, Duration::ZERO);
        assert!(
            matches!(stopped, Err(Error::SearchTimedOut(_))),
            "{:?}",
            stopped.map(|s| s.found.len())
        );
        let found = Store::search(&store, "plum fig", &[GENERAL], None, BUDGET).expect("in time");
        assert_eq!(found.found.len(), crate::store::SCAN, "the newest ones");
    }

    /// An index that is lost, broken or another history's is made again from the history.
    #[test]
    fn a_lost_or_foreign_index_is_made_again() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("history.db");
        let (store, _) = open(&path, options(None)).expect("opens");
        for n in 1..=5 {
            let mut d = draft(n);
            d.text = format!("quince {n}");
            store.append(GENERAL, d, Utc::now()).expect("stored");
        }
        drop(store);
        let index_path = path.with_extension("search.db");
        std::fs::write(&index_path, b"not a database at all").expect("breaks the index");
        let _ = std::fs::remove_file(dir.path().join("history.search.db-wal"));
        let (store, _) = open(&path, options(None)).expect("opens with a broken index");
        store.index.pass(&store.writer).expect("indexes");
        let found = Store::search(&store, "quince", &[GENERAL], None, BUDGET).expect("searches");
        assert_eq!(found.found.len(), 5);
    }

    /// No query is an error: random Unicode (controls, NUL, quotes, syntax of both stores,
    /// unassigned and private-use code points) always searches, finding something or nothing.
    #[test]
    fn random_queries_never_fail() {
        let dir = tempfile::tempdir().expect("temp dir");
        let (store, _) = open(&dir.path().join("history.db"), options(None)).expect("opens");
        for (n, text) in ["ab cd", "it's: a \"quote\"", "naïve café", "a\u{0}b"]
            .iter()
            .enumerate()
        {
            let mut d = draft(n as u64);
            d.text = (*text).to_owned();
            store.append(GENERAL, d, Utc::now()).expect("stored");
        }
        store.index.pass(&store.writer).expect("indexes");
        for (query, error) in crate::store::random_queries(2000) {
            let result = Store::search(&store, &query, &[GENERAL], None, BUDGET);
            assert!(result.is_ok(), "{query:?} ({error}): {:?}", result.err());
        }
    }

    #[test]
    fn retention_drops_the_oldest() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("history.db");
        let (store, _) = open(&path, options(Some(2))).expect("opens");
        for n in 1..=5 {
            store.append(GENERAL, draft(n), Utc::now()).expect("stored");
        }
        drop(store);
        let (_, loaded) = open(&path, options(Some(2))).expect("reopens");
        assert_eq!((loaded.oldest_seq, loaded.last_seq), (4, 5));
    }

    #[test]
    fn a_full_database_refuses_and_uses_up_no_seq() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("history.db");
        let mut options = options(None);
        options.max_bytes = Some(64 * 1024);
        let (store, _) = open(&path, options).expect("opens");
        let big = "x".repeat(3000);
        let mut stored = Vec::new();
        let failure = loop {
            let mut d = draft(stored.len() as u64);
            d.text = big.clone();
            match store.append(GENERAL, d, Utc::now()) {
                Ok(m) => stored.push(m.seq.unwrap_or_default()),
                Err(e) => break e,
            }
            assert!(stored.len() < 1000, "the cap never refused");
        };
        assert!(failure.0.contains("full"), "{failure}");
        let expected: Vec<u64> = (1..=stored.len() as u64).collect();
        assert_eq!(stored, expected, "no seq was skipped");
        let mut small = draft(0);
        small.text = "x".into();
        // A smaller message may still fit; whatever is stored next takes the next seq.
        if let Ok(m) = store.append(GENERAL, small, Utc::now()) {
            assert_eq!(m.seq, Some(stored.len() as u64 + 1));
        }
    }
}
