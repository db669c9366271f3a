//! The name book in an `SQLite` file of its own (beside the history's, or in memory).
//!
//! Not in the history database: that one is held in exclusive locking mode (a commit takes no
//! shared-memory locks, the message path's largest saving), so no other process could open it.
//! This one is in ordinary WAL mode, so `charla-server names …` reads and changes it while the
//! server runs; the server notices another process's commit through `PRAGMA data_version`
//! ([`SqliteLedger::revoked`]).

use std::path::Path;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use charla_protocol::chat::Refusal;
use chrono::{DateTime, TimeDelta, Utc};
use rusqlite::{params, Connection, OptionalExtension, Transaction, TransactionBehavior};

use crate::error::Result;
use crate::store::ledger::{from_ms, unavailable, DeviceId, LedgerTx, NameEntry};

/// How long a write waits for `charla-server names …` to finish its own.
const BUSY_TIMEOUT: Duration = Duration::from_millis(500);

/// The book's connection, and what it last knew of other processes' writes.
pub(crate) struct SqliteLedger {
    inner: Mutex<Inner>,
}

struct Inner {
    conn: Connection,
    /// `PRAGMA data_version` when last looked at: it changes when another process commits.
    data_version: i64,
}

impl SqliteLedger {
    /// Opens (or makes) the book at `path`, or one in memory.
    ///
    /// # Errors
    /// When the file cannot be opened or its tables made.
    pub(crate) fn open(path: Option<&Path>) -> Result<Self> {
        let mut conn = match path {
            Some(path) => {
                crate::store::make_parent_dir(path)?;
                Connection::open(path)?
            }
            None => Connection::open_in_memory()?,
        };
        prepare(&mut conn)?;
        let data_version = data_version(&conn)?;
        Ok(Self {
            inner: Mutex::new(Inner { conn, data_version }),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Runs `rules` in one transaction, committed when they succeed: a write one (the write
    /// lock taken at once, so what it read is still true when it writes) when `write`.
    ///
    /// # Errors
    /// What `rules` refuse, or `unavailable`.
    pub(crate) fn transact<T>(
        &self,
        write: bool,
        rules: impl FnOnce(&mut dyn LedgerTx) -> std::result::Result<T, Refusal>,
    ) -> std::result::Result<T, Refusal> {
        let mut inner = self.lock();
        let behavior = if write {
            TransactionBehavior::Immediate
        } else {
            TransactionBehavior::Deferred
        };
        let tx = inner
            .conn
            .transaction_with_behavior(behavior)
            .map_err(|e| unavailable(&e))?;
        let mut ledger = SqliteTx(tx);
        let answer = rules(&mut ledger)?;
        ledger.0.commit().map_err(|e| unavailable(&e))?;
        Ok(answer)
    }

    /// Those of the `devices` (asked for only when needed) that another process (`charla-server
    /// names release`) removed since the last call; nothing when no other process wrote.
    ///
    /// # Errors
    /// When the book cannot be read (then the next call looks again).
    pub(crate) fn revoked(&self, devices: impl FnOnce() -> Vec<DeviceId>) -> Result<Vec<DeviceId>> {
        let mut inner = self.lock();
        let version = data_version(&inner.conn)?;
        if version == inner.data_version {
            return Ok(Vec::new());
        }
        let mut gone = Vec::new();
        {
            let mut exists = inner
                .conn
                .prepare_cached("SELECT 1 FROM devices WHERE id = ?1")?;
            for device in devices() {
                if !exists.exists([device])? {
                    gone.push(device);
                }
            }
        }
        inner.data_version = version;
        Ok(gone)
    }

    /// How many link codes wait (for tests).
    #[cfg(test)]
    pub(crate) fn waiting_links(&self) -> i64 {
        self.lock()
            .conn
            .query_row("SELECT count(*) FROM links", [], |row| row.get(0))
            .unwrap_or(-1)
    }
}

/// A transaction on the book.
struct SqliteTx<'a>(Transaction<'a>);

impl LedgerTx for SqliteTx<'_> {
    fn lock_name(&mut self, _key: &str) -> std::result::Result<(), Refusal> {
        // An immediate transaction holds the whole database already.
        Ok(())
    }

    fn last_seen_of(&mut self, key: &str) -> std::result::Result<Option<i64>, Refusal> {
        self.0
            .query_row(
                "SELECT coalesce(max(d.last_seen_ms), n.created_ms) FROM names n
                 LEFT JOIN devices d ON d.name_key = n.name_key WHERE n.name_key = ?1
                 GROUP BY n.name_key",
                [key],
                |row| row.get(0),
            )
            .optional()
            .map_err(|e| unavailable(&e))
    }

    fn find_device(
        &mut self,
        key: &str,
        key_hash: &str,
    ) -> std::result::Result<Option<DeviceId>, Refusal> {
        self.0
            .query_row(
                "SELECT id FROM devices WHERE name_key = ?1 AND key_hash = ?2",
                params![key, key_hash],
                |row| row.get(0),
            )
            .optional()
            .map_err(|e| unavailable(&e))
    }

    fn owner(&mut self, key: &str) -> std::result::Result<Option<String>, Refusal> {
        self.0
            .prepare_cached("SELECT name FROM names WHERE name_key = ?1")
            .and_then(|mut statement| statement.query_row([key], |row| row.get(0)).optional())
            .map_err(|e| unavailable(&e))
    }

    fn claim(&mut self, key: &str, name: &str, now: i64) -> std::result::Result<(), Refusal> {
        self.0
            .execute(
                "INSERT INTO names (name_key, name, created_ms) VALUES (?1, ?2, ?3)",
                params![key, name, now],
            )
            .map(|_| ())
            .map_err(|e| unavailable(&e))
    }

    fn free(&mut self, key: &str) -> std::result::Result<(), Refusal> {
        self.0
            .execute("DELETE FROM names WHERE name_key = ?1", [key])
            .map(|_| ())
            .map_err(|e| unavailable(&e))
    }

    fn add_device(
        &mut self,
        key: &str,
        key_hash: &str,
        now: i64,
    ) -> std::result::Result<DeviceId, Refusal> {
        self.0
            .execute(
                "INSERT INTO devices (name_key, key_hash, created_ms, last_seen_ms)
                 VALUES (?1, ?2, ?3, ?3)",
                params![key, key_hash, now],
            )
            .map_err(|e| unavailable(&e))?;
        Ok(self.0.last_insert_rowid())
    }

    fn name_of(&mut self, device: DeviceId) -> std::result::Result<Option<String>, Refusal> {
        self.0
            .query_row(
                "SELECT name_key FROM devices WHERE id = ?1",
                [device],
                |row| row.get(0),
            )
            .optional()
            .map_err(|e| unavailable(&e))
    }

    fn remove_device(&mut self, device: DeviceId, key: &str) -> std::result::Result<i64, Refusal> {
        self.0
            .execute("DELETE FROM devices WHERE id = ?1", [device])
            .map_err(|e| unavailable(&e))?;
        self.0
            .query_row(
                "SELECT count(*) FROM devices WHERE name_key = ?1",
                [key],
                |row| row.get(0),
            )
            .map_err(|e| unavailable(&e))
    }

    fn redeem(
        &mut self,
        key: &str,
        code_hash: &str,
        now: i64,
    ) -> std::result::Result<bool, Refusal> {
        self.0
            .execute(
                "DELETE FROM links WHERE code_hash = ?1 AND name_key = ?2 AND expires_ms >= ?3",
                params![code_hash, key, now],
            )
            .map(|removed| removed == 1)
            .map_err(|e| unavailable(&e))
    }

    fn add_link(
        &mut self,
        key: &str,
        code_hash: &str,
        now: i64,
        expires: i64,
        keep: i64,
    ) -> std::result::Result<(), Refusal> {
        let tx = &self.0;
        let done = (|| {
            tx.execute("DELETE FROM links WHERE expires_ms < ?1", [now])?;
            tx.execute(
                "DELETE FROM links WHERE code_hash IN (SELECT code_hash FROM links
                 WHERE name_key = ?1 ORDER BY rowid DESC LIMIT -1 OFFSET ?2)",
                params![key, keep - 1],
            )?;
            tx.execute(
                "INSERT INTO links (code_hash, name_key, expires_ms) VALUES (?1, ?2, ?3)",
                params![code_hash, key, expires],
            )
        })();
        done.map(|_| ()).map_err(|e| unavailable(&e))
    }

    fn touch(&mut self, devices: &[DeviceId], now: i64) -> std::result::Result<(), Refusal> {
        let tx = &self.0;
        let done = (|| {
            let mut update =
                tx.prepare_cached("UPDATE devices SET last_seen_ms = ?2 WHERE id = ?1")?;
            for device in devices {
                update.execute(params![device, now])?;
            }
            Ok::<_, rusqlite::Error>(())
        })();
        done.map_err(|e| unavailable(&e))
    }
}

/// Every owned name in the book at `path`, by name.
///
/// # Errors
/// When there is no book there, or it cannot be read.
pub(crate) fn list(path: &Path, idle: Duration, now: DateTime<Utc>) -> Result<Vec<NameEntry>> {
    let conn = connect_existing(path)?;
    let idle = TimeDelta::from_std(idle).unwrap_or(TimeDelta::MAX);
    let mut statement = conn.prepare(
        "SELECT n.name, count(d.id), coalesce(max(d.last_seen_ms), n.created_ms) FROM names n
         LEFT JOIN devices d ON d.name_key = n.name_key GROUP BY n.name_key ORDER BY n.name_key",
    )?;
    let rows = statement.query_map([], |row| {
        let last_seen = from_ms(row.get(2)?);
        Ok(NameEntry {
            name: row.get(0)?,
            devices: row.get(1)?,
            last_seen,
            idle: now - last_seen > idle,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// Frees the name whose uniqueness key is `key` in the book at `path`: its devices and link
/// codes are gone, and the next join of the name claims it. Returns how many devices it had, or
/// `None` when nobody owned it.
///
/// # Errors
/// When there is no book there, or it cannot be written.
pub(crate) fn release(path: &Path, key: &str) -> Result<Option<u32>> {
    let mut conn = connect_existing(path)?;
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let devices: Option<u32> = tx
        .query_row(
            "SELECT count(d.id) FROM names n LEFT JOIN devices d ON d.name_key = n.name_key
             WHERE n.name_key = ?1 GROUP BY n.name_key",
            [key],
            |row| row.get(0),
        )
        .optional()?;
    tx.execute("DELETE FROM names WHERE name_key = ?1", [key])?;
    tx.commit()?;
    Ok(devices)
}

fn connect_existing(path: &Path) -> Result<Connection> {
    let mut conn = Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE)?;
    prepare(&mut conn)?;
    Ok(conn)
}

fn prepare(conn: &mut Connection) -> Result<()> {
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "foreign_keys", true)?;
    super::schema::migrate(conn, "name book", crate::store::migrate::SQLITE_NAMES)?;
    Ok(())
}

fn data_version(conn: &Connection) -> rusqlite::Result<i64> {
    conn.query_row("PRAGMA data_version", [], |row| row.get(0))
}
