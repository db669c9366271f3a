//! The PostgreSQL schema's versions ([`crate::store::migrate`] runs `migrations/pg/`): each
//! migration recorded in `schema_migrations`. Nodes starting together take turns (an advisory
//! lock).

use postgres::Client;

use super::worker::pg_error;
use crate::error::Result;
use crate::store::migrate::{self, Migration, Versioned, POSTGRES};

/// The advisory lock nodes take while migrating (any number: it only has to be Charla's).
const MIGRATION_LOCK: i64 = 0x0000_6368_6172_6c61;

/// Brings the schema to the newest version; returns it.
///
/// # Errors
/// When a migration fails (its transaction is rolled back) or the database is newer than this
/// server.
pub(super) fn run(client: &mut Client) -> Result<i64> {
    client
        .execute("SELECT pg_advisory_lock($1)", &[&MIGRATION_LOCK])
        .map_err(pg_error)?;
    let migrated = migrate::run(&mut Schema(client), "PostgreSQL database", POSTGRES);
    let unlocked = client
        .execute("SELECT pg_advisory_unlock($1)", &[&MIGRATION_LOCK])
        .map_err(pg_error);
    let version = migrated?;
    unlocked?;
    Ok(version)
}

/// A database as the runner sees it.
struct Schema<'a>(&'a mut Client);

impl Versioned for Schema<'_> {
    fn version(&mut self) -> Result<i64> {
        self.0
            .batch_execute(include_str!("../../../migrations/pg/versions.sql"))
            .map_err(pg_error)?;
        Ok(self
            .0
            .query_one(
                "SELECT coalesce(max(version), 0) FROM schema_migrations",
                &[],
            )
            .map_err(pg_error)?
            .get(0))
    }

    fn apply(&mut self, migration: &Migration) -> Result<()> {
        let mut tx = self.0.transaction().map_err(pg_error)?;
        tx.batch_execute(migration.sql).map_err(pg_error)?;
        tx.execute(
            "INSERT INTO schema_migrations (version, name, applied_ms)
             VALUES ($1, $2, (extract(epoch FROM clock_timestamp()) * 1000)::bigint)",
            &[&migration.version, &migration.name],
        )
        .map_err(pg_error)?;
        tx.commit().map_err(pg_error)
    }
}
