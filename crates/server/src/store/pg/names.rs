//! The name book in PostgreSQL (with `--db postgres://…`), shared by every node: a name
//! claimed on one node is owned on all of them. Its tables come with the store's migrations;
//! writes about one name take a transaction-scoped advisory lock on it, so two nodes claiming
//! the same free name at once do so one after the other (the second finds it owned).

use std::time::Duration;

use charla_protocol::chat::Refusal;
use chrono::{DateTime, TimeDelta, Utc};
use postgres::Transaction;

use super::worker::{self, pg_error, Worker};
use crate::error::Result;
use crate::store::ledger::{from_ms, unavailable, DeviceId, LedgerTx, NameEntry};

/// The book's own connection (its writes are rare; they wait for no message).
pub(crate) struct PgLedger {
    worker: Worker,
}

impl PgLedger {
    /// Connects to the database at `url` (whose schema the store has migrated).
    ///
    /// # Errors
    /// When PostgreSQL cannot be reached.
    pub(crate) fn open(url: &str) -> Result<Self> {
        Ok(Self {
            worker: Worker::start("names", worker::config(url)?, worker::READER_QUEUE)?,
        })
    }

    /// Runs `rules` in one transaction, committed when they succeed (`write` makes no
    /// difference here: each write takes its name's lock itself).
    ///
    /// # Errors
    /// What `rules` refuse, or `unavailable`.
    pub(crate) fn transact<T: Send + 'static>(
        &self,
        rules: impl FnOnce(&mut dyn LedgerTx) -> std::result::Result<T, Refusal> + Send + 'static,
    ) -> std::result::Result<T, Refusal> {
        self.worker
            .run(move |client| {
                let mut tx = client.transaction().map_err(pg_error)?;
                match rules(&mut PgTx(&mut tx)) {
                    Ok(answer) => {
                        tx.commit().map_err(pg_error)?;
                        Ok(Ok(answer))
                    }
                    // Dropped: rolled back.
                    Err(refused) => Ok(Err(refused)),
                }
            })
            .map_err(|e| unavailable(&e))?
    }

    /// Those of the `devices` that are gone from the book (released by an operator, or
    /// forgotten on another node).
    ///
    /// # Errors
    /// When the book cannot be read.
    pub(crate) fn revoked(&self, devices: Vec<DeviceId>) -> Result<Vec<DeviceId>> {
        if devices.is_empty() {
            return Ok(Vec::new());
        }
        self.worker.run(move |client| {
            let present: Vec<DeviceId> = client
                .query("SELECT id FROM devices WHERE id = ANY($1)", &[&devices])
                .map_err(pg_error)?
                .iter()
                .map(|row| row.get(0))
                .collect();
            Ok(devices
                .into_iter()
                .filter(|device| !present.contains(device))
                .collect())
        })
    }
}

impl PgLedger {
    /// Every owned name, by name (`charla-server names list`).
    ///
    /// # Errors
    /// When the book cannot be read.
    pub(crate) fn list(&self, idle: Duration, now: DateTime<Utc>) -> Result<Vec<NameEntry>> {
        let idle = TimeDelta::from_std(idle).unwrap_or(TimeDelta::MAX);
        self.worker.run(move |client| {
            let rows = client
                .query(
                    "SELECT n.name, count(d.id), coalesce(max(d.last_seen_ms), n.created_ms)
                     FROM names n LEFT JOIN devices d ON d.name_key = n.name_key
                     GROUP BY n.name_key, n.name, n.created_ms ORDER BY n.name_key",
                    &[],
                )
                .map_err(pg_error)?;
            Ok(rows
                .iter()
                .map(|row| {
                    let last_seen = from_ms(row.get(2));
                    NameEntry {
                        name: row.get(0),
                        devices: u32::try_from(row.get::<_, i64>(1)).unwrap_or(u32::MAX),
                        last_seen,
                        idle: now - last_seen > idle,
                    }
                })
                .collect())
        })
    }

    /// Frees the name `key` (`charla-server names release`); how many devices it had, `None`
    /// when nobody owned it. Every node's connections of it lose it within a second.
    ///
    /// # Errors
    /// When the book cannot be written.
    pub(crate) fn release(&self, key: &str) -> Result<Option<u32>> {
        let key = key.to_owned();
        self.worker.run(move |client| {
            let mut tx = client.transaction().map_err(pg_error)?;
            let devices: Option<i64> = tx
                .query_opt(
                    "SELECT count(d.id) FROM names n LEFT JOIN devices d ON d.name_key = n.name_key
                     WHERE n.name_key = $1 GROUP BY n.name_key",
                    &[&key],
                )
                .map_err(pg_error)?
                .map(|row| row.get(0));
            tx.execute("DELETE FROM names WHERE name_key = $1", &[&key])
                .map_err(pg_error)?;
            tx.commit().map_err(pg_error)?;
            Ok(devices.map(|n| u32::try_from(n).unwrap_or(u32::MAX)))
        })
    }
}

struct PgTx<'a, 'b>(&'a mut Transaction<'b>);

fn refused(e: &postgres::Error) -> Refusal {
    unavailable(&pg_error_text(e))
}

fn pg_error_text(e: &postgres::Error) -> String {
    e.as_db_error()
        .map_or_else(|| e.to_string(), |db| db.message().to_owned())
}

impl LedgerTx for PgTx<'_, '_> {
    fn lock_name(&mut self, key: &str) -> std::result::Result<(), Refusal> {
        self.0
            .execute(
                "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))",
                &[&key],
            )
            .map(|_| ())
            .map_err(|e| refused(&e))
    }

    fn last_seen_of(&mut self, key: &str) -> std::result::Result<Option<i64>, Refusal> {
        self.0
            .query_opt(
                "SELECT coalesce(max(d.last_seen_ms), n.created_ms) FROM names n
                 LEFT JOIN devices d ON d.name_key = n.name_key WHERE n.name_key = $1
                 GROUP BY n.name_key, n.created_ms",
                &[&key],
            )
            .map(|row| row.map(|row| row.get(0)))
            .map_err(|e| refused(&e))
    }

    fn find_device(
        &mut self,
        key: &str,
        key_hash: &str,
    ) -> std::result::Result<Option<DeviceId>, Refusal> {
        self.0
            .query_opt(
                "SELECT id FROM devices WHERE name_key = $1 AND key_hash = $2",
                &[&key, &key_hash],
            )
            .map(|row| row.map(|row| row.get(0)))
            .map_err(|e| refused(&e))
    }

    fn owner(&mut self, key: &str) -> std::result::Result<Option<String>, Refusal> {
        self.0
            .query_opt("SELECT name FROM names WHERE name_key = $1", &[&key])
            .map(|row| row.map(|row| row.get(0)))
            .map_err(|e| refused(&e))
    }

    fn claim(&mut self, key: &str, name: &str, now: i64) -> std::result::Result<(), Refusal> {
        self.0
            .execute(
                "INSERT INTO names (name_key, name, created_ms) VALUES ($1, $2, $3)",
                &[&key, &name, &now],
            )
            .map(|_| ())
            .map_err(|e| refused(&e))
    }

    fn free(&mut self, key: &str) -> std::result::Result<(), Refusal> {
        self.0
            .execute("DELETE FROM names WHERE name_key = $1", &[&key])
            .map(|_| ())
            .map_err(|e| refused(&e))
    }

    fn add_device(
        &mut self,
        key: &str,
        key_hash: &str,
        now: i64,
    ) -> std::result::Result<DeviceId, Refusal> {
        self.0
            .query_one(
                "INSERT INTO devices (name_key, key_hash, created_ms, last_seen_ms)
                 VALUES ($1, $2, $3, $3) RETURNING id",
                &[&key, &key_hash, &now],
            )
            .map(|row| row.get(0))
            .map_err(|e| refused(&e))
    }

    fn name_of(&mut self, device: DeviceId) -> std::result::Result<Option<String>, Refusal> {
        self.0
            .query_opt("SELECT name_key FROM devices WHERE id = $1", &[&device])
            .map(|row| row.map(|row| row.get(0)))
            .map_err(|e| refused(&e))
    }

    fn remove_device(&mut self, device: DeviceId, key: &str) -> std::result::Result<i64, Refusal> {
        self.0
            .execute("DELETE FROM devices WHERE id = $1", &[&device])
            .map_err(|e| refused(&e))?;
        self.0
            .query_one("SELECT count(*) FROM devices WHERE name_key = $1", &[&key])
            .map(|row| row.get(0))
            .map_err(|e| refused(&e))
    }

    fn redeem(
        &mut self,
        key: &str,
        code_hash: &str,
        now: i64,
    ) -> std::result::Result<bool, Refusal> {
        self.0
            .execute(
                "DELETE FROM links WHERE code_hash = $1 AND name_key = $2 AND expires_ms >= $3",
                &[&code_hash, &key, &now],
            )
            .map(|removed| removed == 1)
            .map_err(|e| refused(&e))
    }

    fn add_link(
        &mut self,
        key: &str,
        code_hash: &str,
        now: i64,
        expires: i64,
        keep: i64,
    ) -> std::result::Result<(), Refusal> {
        let tx = &mut *self.0;
        tx.execute("DELETE FROM links WHERE expires_ms < $1", &[&now])
            .map_err(|e| refused(&e))?;
        // Codes all live as long: the latest to expire are the newest.
        tx.execute(
            "DELETE FROM links WHERE code_hash IN (SELECT code_hash FROM links
             WHERE name_key = $1 ORDER BY expires_ms DESC OFFSET $2)",
            &[&key, &(keep - 1)],
        )
        .map_err(|e| refused(&e))?;
        tx.execute(
            "INSERT INTO links (code_hash, name_key, expires_ms) VALUES ($1, $2, $3)",
            &[&code_hash, &key, &expires],
        )
        .map(|_| ())
        .map_err(|e| refused(&e))
    }

    fn touch(&mut self, devices: &[DeviceId], now: i64) -> std::result::Result<(), Refusal> {
        self.0
            .execute(
                "UPDATE devices SET last_seen_ms = greatest(last_seen_ms, $2) WHERE id = ANY($1)",
                &[&devices, &now],
            )
            .map(|_| ())
            .map_err(|e| refused(&e))
    }
}
