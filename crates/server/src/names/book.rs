//! The name book: which names are owned, by which devices, and the link codes waiting to be
//! redeemed, in an `SQLite` file of its own.
//!
//! Not in the history database: that one is held in exclusive locking mode (a commit takes no
//! shared-memory locks, the message path's largest saving), so no other process could open it.
//! This one is in ordinary WAL mode, so `charla-server names …` reads and changes it while the
//! server runs; the server notices another process's commit through `PRAGMA data_version`
//! ([`NameBook::revoked`]). Its writes are rare (a claim, a link, a forget, last-seen times once
//! a second), so what it costs is not on any message's path.
//!
//! Only a SHA-256 of each device key and of each link code is stored: both are random secrets
//! with enough bits that a fast hash is the right one.

use std::collections::HashSet;
use std::path::Path;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use charla_protocol::chat::{format_link_code, DeviceLink, ErrorCode, Refusal};
use chrono::{DateTime, TimeDelta, Utc};
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use sha2::{Digest, Sha256};

use crate::clock::Clock;
use crate::error::Result;

/// A device's row id.
pub type DeviceId = i64;

/// How long a link code works.
pub const LINK_LIFETIME: Duration = Duration::from_secs(10 * 60);
/// Link codes one name may have waiting at once; asking for another drops the oldest.
const MAX_WAITING_LINKS: i64 = 5;
/// How long a write waits for `charla-server names …` to finish its own.
const BUSY_TIMEOUT: Duration = Duration::from_millis(500);

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS names (
    name_key TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    created_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS devices (
    -- Never reused: a connection holding a released device's id must not find it again.
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name_key TEXT NOT NULL REFERENCES names(name_key) ON DELETE CASCADE,
    key_hash TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    last_seen_ms INTEGER NOT NULL,
    UNIQUE (name_key, key_hash)
);
CREATE TABLE IF NOT EXISTS links (
    code_hash TEXT PRIMARY KEY,
    name_key TEXT NOT NULL REFERENCES names(name_key) ON DELETE CASCADE,
    expires_ms INTEGER NOT NULL
);";

/// What a join brings to prove a name.
#[derive(Debug, Clone, Copy)]
pub enum Credential<'a> {
    /// Nothing: a guest, unless the name is owned.
    Nothing,
    /// A device key (64 hex digits).
    Key(&'a str),
    /// A new device's key and a link code from one of the name's devices.
    Link {
        /// The new device's key.
        key: &'a str,
        /// The code, canonical.
        code: &'a str,
    },
}

/// Who a join is, once the book has seen its credential.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    /// Nobody owns the name.
    Guest,
    /// The name is owned, by this device among others.
    Owner {
        /// The device.
        device: DeviceId,
        /// How it came to own the name.
        how: Became,
    },
}

/// How a device came to own its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Became {
    /// The name was free: this key claimed it.
    Claimed,
    /// The key is one of the name's devices.
    Proved,
    /// A link code registered this key.
    Linked,
}

/// The book, on disk (or in memory for a server that keeps nothing).
pub struct NameBook {
    inner: Mutex<Inner>,
    idle: TimeDelta,
    clock: Clock,
    /// Devices whose last-seen time is due: written once a second, off the room's lock.
    seen: Mutex<HashSet<DeviceId>>,
}

struct Inner {
    conn: Connection,
    /// `PRAGMA data_version` when last looked at: it changes when another process commits.
    data_version: i64,
}

/// One owned name, as `charla-server names list` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameEntry {
    /// The name as first claimed.
    pub name: String,
    /// Its devices.
    pub devices: u32,
    /// When one of them was last seen.
    pub last_seen: DateTime<Utc>,
    /// Unseen for longer than the idle limit: the next join of the name takes it.
    pub idle: bool,
}

impl NameBook {
    /// Opens (or makes) the book at `path`, or one in memory.
    ///
    /// # Errors
    /// When the file cannot be opened or its tables made.
    pub fn open(path: Option<&Path>, idle: Duration, clock: Clock) -> Result<Self> {
        let conn = connect(path)?;
        let data_version = data_version(&conn)?;
        Ok(Self {
            inner: Mutex::new(Inner { conn, data_version }),
            idle: TimeDelta::from_std(idle).unwrap_or(TimeDelta::MAX),
            clock,
            seen: Mutex::new(HashSet::new()),
        })
    }

    /// The devices whose last-seen time is due.
    fn due_seen(&self) -> MutexGuard<'_, HashSet<DeviceId>> {
        self.seen
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Decides who a join of `name` (whose uniqueness key is `key`) is: a guest, a device that
    /// claims the free name, one of its devices, or a new one linked by a code. `in_use` says
    /// whether a device of the name is connected now (then the name is not idle, whatever the
    /// last-seen times say); `may_claim` whether this join may claim a free name (the room
    /// limits claims per address).
    ///
    /// Most joins only read: a guest's, a refused one, a device proving its name (its last-seen
    /// time is noted for the once-a-second write). Only a claim, a link and an expiry take the
    /// write lock.
    ///
    /// # Errors
    /// `name_owned` without the right key, `invalid_link` for a wrong, used or expired code,
    /// `rate_limited` for a claim that may not be made now, `unavailable` when the book cannot
    /// be read or written.
    pub fn authorize(
        &self,
        key: &str,
        name: &str,
        credential: Credential<'_>,
        in_use: bool,
        may_claim: bool,
    ) -> std::result::Result<Standing, Refusal> {
        let now = self.clock.now();
        let mut inner = self.lock();
        if let Some(answer) =
            self.read_only_answer(&inner.conn, key, name, credential, in_use, now)?
        {
            if let Ok(Standing::Owner { device, .. }) = answer {
                self.mark_seen(device);
            }
            return answer;
        }
        let tx = begin(&mut inner.conn)?;
        let last_seen = last_seen_of(&tx, key)?;
        let mut owned = last_seen.is_some();
        if let Some(last) = last_seen.filter(|_| !in_use) {
            if now - from_ms(last) > self.idle {
                tx.execute("DELETE FROM names WHERE name_key = ?1", [key])
                    .map_err(unavailable)?;
                tracing::info!(name = ?name, last_seen = %from_ms(last), "an idle name is free again");
                owned = false;
            }
        }
        let standing = match (owned, credential) {
            (false, Credential::Nothing) => Standing::Guest,
            (false, Credential::Key(_)) if !may_claim => return Err(too_many_claims()),
            (false, Credential::Key(device_key)) => {
                tx.execute(
                    "INSERT INTO names (name_key, name, created_ms) VALUES (?1, ?2, ?3)",
                    params![key, name, ms(now)],
                )
                .map_err(unavailable)?;
                let device = add_device(&tx, key, device_key, now)?;
                tracing::info!(name = ?name, device, "name claimed");
                Standing::Owner {
                    device,
                    how: Became::Claimed,
                }
            }
            (false, Credential::Link { .. }) => return Err(invalid_link()),
            (true, Credential::Nothing) => return Err(name_owned(name)),
            (true, Credential::Key(device_key)) => match find_device(&tx, key, device_key)? {
                Some(device) => Standing::Owner {
                    device,
                    how: Became::Proved,
                },
                None => return Err(name_owned(name)),
            },
            (
                true,
                Credential::Link {
                    key: device_key,
                    code,
                },
            ) => {
                if let Some(device) = find_device(&tx, key, device_key)? {
                    // Linked already (a retry after a lost ack): the code stays for nobody.
                    Standing::Owner {
                        device,
                        how: Became::Proved,
                    }
                } else {
                    redeem(&tx, key, code, now)?;
                    let device = add_device(&tx, key, device_key, now)?;
                    tracing::info!(name = ?name, device, "device linked");
                    Standing::Owner {
                        device,
                        how: Became::Linked,
                    }
                }
            }
        };
        tx.commit().map_err(unavailable)?;
        if let Standing::Owner {
            device,
            how: Became::Proved,
        } = standing
        {
            self.mark_seen(device);
        }
        Ok(standing)
    }

    /// The answer to a join that needs no write, or `None` when it needs one (a claim, a link,
    /// an idle name to free): then [`NameBook::authorize`] asks again inside a write.
    fn read_only_answer(
        &self,
        conn: &Connection,
        key: &str,
        name: &str,
        credential: Credential<'_>,
        in_use: bool,
        now: DateTime<Utc>,
    ) -> std::result::Result<Option<std::result::Result<Standing, Refusal>>, Refusal> {
        let last_seen = last_seen_of(conn, key)?;
        if last_seen.is_some_and(|last| !in_use && now - from_ms(last) > self.idle) {
            return Ok(None);
        }
        let proved = |device| Standing::Owner {
            device,
            how: Became::Proved,
        };
        Ok(match (last_seen.is_some(), credential) {
            (false, Credential::Nothing) => Some(Ok(Standing::Guest)),
            (false, _) => None,
            (true, Credential::Nothing) => Some(Err(name_owned(name))),
            (true, Credential::Key(device_key)) => Some(
                find_device(conn, key, device_key)?
                    .map(proved)
                    .ok_or_else(|| name_owned(name)),
            ),
            (
                true,
                Credential::Link {
                    key: device_key, ..
                },
            ) => find_device(conn, key, device_key)?.map(|device| Ok(proved(device))),
        })
    }

    /// A link code for another device of `device`'s name, good once for ten minutes.
    ///
    /// # Errors
    /// `not_owned` when the device was forgotten meanwhile; `unavailable` on a store failure.
    pub fn link_code(&self, device: DeviceId) -> std::result::Result<DeviceLink, Refusal> {
        let now = self.clock.now();
        let expires_at = now + TimeDelta::from_std(LINK_LIFETIME).unwrap_or(TimeDelta::MAX);
        let mut inner = self.lock();
        let tx = begin(&mut inner.conn)?;
        let key = name_of(&tx, device)?;
        tx.execute("DELETE FROM links WHERE expires_ms < ?1", [ms(now)])
            .map_err(unavailable)?;
        tx.execute(
            "DELETE FROM links WHERE code_hash IN (SELECT code_hash FROM links WHERE name_key = ?1
             ORDER BY rowid DESC LIMIT -1 OFFSET ?2)",
            params![key, MAX_WAITING_LINKS - 1],
        )
        .map_err(unavailable)?;
        let code = format_link_code(rand::random());
        let canonical = code.replace('-', "");
        tx.execute(
            "INSERT INTO links (code_hash, name_key, expires_ms) VALUES (?1, ?2, ?3)",
            params![hash(&canonical), key, ms(expires_at)],
        )
        .map_err(unavailable)?;
        tx.commit().map_err(unavailable)?;
        tracing::info!(device, "link code made");
        Ok(DeviceLink {
            ok: true,
            code,
            expires_at,
        })
    }

    /// Revokes `device`; when it was its name's last, the name is free. Returns whether it was.
    ///
    /// # Errors
    /// `not_owned` when it was forgotten already; `unavailable` on a store failure.
    pub fn forget(&self, device: DeviceId) -> std::result::Result<bool, Refusal> {
        let mut inner = self.lock();
        let tx = begin(&mut inner.conn)?;
        let key = name_of(&tx, device)?;
        tx.execute("DELETE FROM devices WHERE id = ?1", [device])
            .map_err(unavailable)?;
        let left: i64 = tx
            .query_row(
                "SELECT count(*) FROM devices WHERE name_key = ?1",
                [&key],
                |row| row.get(0),
            )
            .map_err(unavailable)?;
        if left == 0 {
            tx.execute("DELETE FROM names WHERE name_key = ?1", [&key])
                .map_err(unavailable)?;
        }
        tx.commit().map_err(unavailable)?;
        tracing::info!(device, released = left == 0, "device forgotten");
        Ok(left == 0)
    }

    /// The name owned under `key`, as it was claimed; `None` when nobody owns it.
    ///
    /// # Errors
    /// When the book cannot be read.
    pub fn owner(&self, key: &str) -> Result<Option<String>> {
        Ok(self
            .lock()
            .conn
            .prepare_cached("SELECT name FROM names WHERE name_key = ?1")?
            .query_row([key], |row| row.get(0))
            .optional()?)
    }

    /// Notes that `device` was connected until now (written by [`NameBook::flush_seen`]).
    pub fn mark_seen(&self, device: DeviceId) {
        self.due_seen().insert(device);
    }

    /// Writes the last-seen times noted since the last call, in one commit.
    ///
    /// # Errors
    /// When the book cannot be written (the times are noted again next time).
    pub fn flush_seen(&self) -> Result<()> {
        let due: Vec<DeviceId> = std::mem::take(&mut *self.due_seen()).into_iter().collect();
        if due.is_empty() {
            return Ok(());
        }
        let now = ms(self.clock.now());
        let mut inner = self.lock();
        let written = (|| {
            let tx = inner.conn.transaction()?;
            {
                let mut update =
                    tx.prepare_cached("UPDATE devices SET last_seen_ms = ?2 WHERE id = ?1")?;
                for device in &due {
                    update.execute(params![device, now])?;
                }
            }
            tx.commit()
        })();
        drop(inner);
        if let Err(e) = written {
            self.due_seen().extend(due);
            return Err(e.into());
        }
        Ok(())
    }

    /// Those of the `devices` (asked for only when needed) that another process (`charla-server
    /// names release`) removed since the last call; nothing when no other process wrote.
    ///
    /// # Errors
    /// When the book cannot be read (then the next call looks again).
    pub fn revoked(&self, devices: impl FnOnce() -> Vec<DeviceId>) -> Result<Vec<DeviceId>> {
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
}

/// Every owned name in the book at `path`, by name.
///
/// # Errors
/// When there is no book there, or it cannot be read.
pub fn list(path: &Path, idle: Duration, now: DateTime<Utc>) -> Result<Vec<NameEntry>> {
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
pub fn release(path: &Path, key: &str) -> Result<Option<u32>> {
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

fn connect(path: Option<&Path>) -> Result<Connection> {
    let conn = match path {
        Some(path) => {
            crate::store::make_parent_dir(path)?;
            Connection::open(path)?
        }
        None => Connection::open_in_memory()?,
    };
    prepare(&conn)?;
    Ok(conn)
}

fn connect_existing(path: &Path) -> Result<Connection> {
    let conn = Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE)?;
    prepare(&conn)?;
    Ok(conn)
}

fn prepare(conn: &Connection) -> Result<()> {
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "foreign_keys", true)?;
    conn.execute_batch(SCHEMA)?;
    Ok(())
}

fn data_version(conn: &Connection) -> rusqlite::Result<i64> {
    conn.query_row("PRAGMA data_version", [], |row| row.get(0))
}

/// A transaction that takes the write lock at once (waiting up to the busy timeout), so that
/// what it read is still true when it writes.
fn begin(conn: &mut Connection) -> std::result::Result<rusqlite::Transaction<'_>, Refusal> {
    conn.transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(unavailable)
}

/// The name key `device` belongs to; `not_owned` when it is gone.
fn name_of(
    tx: &rusqlite::Transaction<'_>,
    device: DeviceId,
) -> std::result::Result<String, Refusal> {
    tx.query_row(
        "SELECT name_key FROM devices WHERE id = ?1",
        [device],
        |row| row.get(0),
    )
    .optional()
    .map_err(unavailable)?
    .ok_or_else(forgotten)
}

/// When a device of the name `key` was last seen (when it was claimed, if it has none); `None`
/// when nobody owns it.
fn last_seen_of(conn: &Connection, key: &str) -> std::result::Result<Option<i64>, Refusal> {
    conn.query_row(
        "SELECT coalesce(max(d.last_seen_ms), n.created_ms) FROM names n
         LEFT JOIN devices d ON d.name_key = n.name_key WHERE n.name_key = ?1
         GROUP BY n.name_key",
        [key],
        |row| row.get(0),
    )
    .optional()
    .map_err(unavailable)
}

fn find_device(
    conn: &Connection,
    key: &str,
    device_key: &str,
) -> std::result::Result<Option<DeviceId>, Refusal> {
    conn.query_row(
        "SELECT id FROM devices WHERE name_key = ?1 AND key_hash = ?2",
        params![key, hash(device_key)],
        |row| row.get(0),
    )
    .optional()
    .map_err(unavailable)
}

fn add_device(
    tx: &rusqlite::Transaction<'_>,
    key: &str,
    device_key: &str,
    now: DateTime<Utc>,
) -> std::result::Result<DeviceId, Refusal> {
    tx.execute(
        "INSERT INTO devices (name_key, key_hash, created_ms, last_seen_ms) VALUES (?1, ?2, ?3, ?3)",
        params![key, hash(device_key), ms(now)],
    )
    .map_err(unavailable)?;
    Ok(tx.last_insert_rowid())
}

/// Uses up a link code for the name `key`, if it is one of its codes and still good.
fn redeem(
    tx: &rusqlite::Transaction<'_>,
    key: &str,
    code: &str,
    now: DateTime<Utc>,
) -> std::result::Result<(), Refusal> {
    let removed = tx
        .execute(
            "DELETE FROM links WHERE code_hash = ?1 AND name_key = ?2 AND expires_ms >= ?3",
            params![hash(code), key, ms(now)],
        )
        .map_err(unavailable)?;
    if removed == 1 {
        Ok(())
    } else {
        Err(invalid_link())
    }
}

fn hash(secret: &str) -> String {
    format!("{:x}", Sha256::digest(secret.as_bytes()))
}

fn ms(at: DateTime<Utc>) -> i64 {
    at.timestamp_millis()
}

fn from_ms(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

fn name_owned(name: &str) -> Refusal {
    Refusal::new(
        ErrorCode::NameOwned,
        format!("{name} belongs to someone else"),
    )
}

fn invalid_link() -> Refusal {
    Refusal::new(
        ErrorCode::InvalidLink,
        "that link code is wrong, used already or expired",
    )
}

fn too_many_claims() -> Refusal {
    Refusal::later(
        ErrorCode::RateLimited,
        "too many names claimed from this address; try again later",
        60_000,
    )
}

fn forgotten() -> Refusal {
    Refusal::new(ErrorCode::NotOwned, "this device no longer owns the name")
}

fn unavailable(e: rusqlite::Error) -> Refusal {
    tracing::error!(error = %e, "the name book could not be read or written");
    Refusal::later(
        ErrorCode::Unavailable,
        "the server could not check the name; try again",
        1000,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use charla_protocol::chat::normalize_link_code;

    const KEY_A: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    const KEY_B: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

    fn book(dir: &Path) -> NameBook {
        NameBook::open(
            Some(&dir.join("names.db")),
            Duration::from_secs(3600),
            Clock::system(),
        )
        .expect("opens")
    }

    #[test]
    fn another_process_s_release_is_seen_and_its_devices_reported() {
        let dir = tempfile::tempdir().expect("temp dir");
        let book = book(dir.path());
        let Standing::Owner { device, how } = book
            .authorize("alice", "Alice", Credential::Key(KEY_A), false, true)
            .expect("claims")
        else {
            panic!("an owner");
        };
        assert_eq!(how, Became::Claimed);
        assert_eq!(
            book.revoked(|| vec![device]).expect("reads"),
            Vec::<DeviceId>::new()
        );
        let listed = list(
            &dir.path().join("names.db"),
            Duration::from_secs(3600),
            Utc::now(),
        )
        .expect("lists while the book is open");
        assert_eq!(
            listed
                .iter()
                .map(|e| (&*e.name, e.devices, e.idle))
                .collect::<Vec<_>>(),
            [("Alice", 1, false)]
        );
        assert_eq!(
            release(&dir.path().join("names.db"), "alice").expect("releases"),
            Some(1)
        );
        assert_eq!(book.revoked(|| vec![device]).expect("reads"), [device]);
        assert_eq!(
            book.revoked(|| vec![device]).expect("reads"),
            Vec::<DeviceId>::new(),
            "once"
        );
        assert_eq!(
            book.authorize("alice", "alice", Credential::Key(KEY_B), false, true)
                .expect("free again"),
            Standing::Owner {
                device: device + 1,
                how: Became::Claimed
            }
        );
        assert_eq!(
            release(&dir.path().join("names.db"), "bob").expect("nobody's"),
            None
        );
    }

    #[test]
    fn waiting_link_codes_are_bounded_per_name() {
        let dir = tempfile::tempdir().expect("temp dir");
        let book = book(dir.path());
        let Ok(Standing::Owner { device, .. }) =
            book.authorize("alice", "alice", Credential::Key(KEY_A), false, true)
        else {
            panic!("claims");
        };
        let codes: Vec<String> = (0..8)
            .map(|_| book.link_code(device).expect("a code").code)
            .collect();
        let waiting: i64 = book
            .lock()
            .conn
            .query_row("SELECT count(*) FROM links", [], |row| row.get(0))
            .expect("counts");
        assert_eq!(waiting, MAX_WAITING_LINKS);
        let oldest = normalize_link_code(&codes[0]).expect("canonical");
        let refused = book
            .authorize(
                "alice",
                "alice",
                Credential::Link {
                    key: KEY_B,
                    code: &oldest,
                },
                true,
                true,
            )
            .expect_err("the oldest code was dropped");
        assert_eq!(refused.code, ErrorCode::InvalidLink);
        let newest = normalize_link_code(&codes[7]).expect("canonical");
        assert!(matches!(
            book.authorize(
                "alice",
                "alice",
                Credential::Link {
                    key: KEY_B,
                    code: &newest
                },
                true,
                true
            ),
            Ok(Standing::Owner {
                how: Became::Linked,
                ..
            })
        ));
    }
}
