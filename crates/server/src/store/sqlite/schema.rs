//! The `SQLite` files' versions, kept in each file's `PRAGMA user_version`, for the runner of
//! [`crate::store::migrate`]. A history file from before versions is brought up to date once
//! by [`super::before_versions`], then numbered like any other.

use rusqlite::Connection;

use crate::error::Result;
use crate::store::migrate::{self, Migration, Versioned};

/// Runs the migrations of `list` that the database on `conn` (called `what`) has not had.
///
/// # Errors
/// When one fails (nothing of it is kept), or the file is newer than this server.
pub(crate) fn migrate(conn: &mut Connection, what: &str, list: &[Migration]) -> Result<i64> {
    migrate::run(&mut Schema(conn), what, list)
}

/// The version a file records (0: none, a new file or one from before versions).
///
/// # Errors
/// When the file cannot be read.
pub(super) fn version_of(conn: &Connection) -> rusqlite::Result<i64> {
    conn.query_row("PRAGMA user_version", [], |row| row.get(0))
}

struct Schema<'a>(&'a mut Connection);

impl Versioned for Schema<'_> {
    fn version(&mut self) -> Result<i64> {
        Ok(version_of(self.0)?)
    }

    fn apply(&mut self, migration: &Migration) -> Result<()> {
        // `user_version` is in the file's header: written by the same commit as the tables.
        // The write lock is taken first and the version read again under it: the name book's
        // file may be opened by `charla-server names …` at the same moment, and only one of
        // them runs each migration.
        let tx = self
            .0
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        if version_of(&tx)? >= migration.version {
            return Ok(());
        }
        tx.execute_batch(migration.sql)?;
        tx.pragma_update(None, "user_version", migration.version)?;
        tx.commit()?;
        Ok(())
    }
}
