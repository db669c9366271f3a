//! The PostgreSQL schema, versioned: each migration in `migrations/pg/` runs once, in order,
//! in its own transaction, recorded in `schema_migrations`. Nodes starting together take turns
//! (an advisory lock), and a database migrated by a newer server is refused, not misread.

use postgres::Client;

use super::worker::pg_error;
use crate::error::{Error, Result};

/// Every migration: its version, name and SQL, in order.
const MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        1,
        "history, rooms, names",
        include_str!("../../../migrations/pg/0001_history_rooms_names.sql"),
    ),
    (
        2,
        "rooms and presence across nodes",
        include_str!("../../../migrations/pg/0002_cluster.sql"),
    ),
    (
        3,
        "empty rooms noted",
        include_str!("../../../migrations/pg/0003_empty_rooms.sql"),
    ),
];

/// The advisory lock nodes take while migrating (any number: it only has to be Charla's).
const MIGRATION_LOCK: i64 = 0x0000_6368_6172_6c61;

/// Brings the schema to the newest version; returns it.
///
/// # Errors
/// [`Error::Postgres`] when a migration fails (its transaction is rolled back) or the
/// database is newer than this server.
pub(super) fn run(client: &mut Client) -> Result<i64> {
    client
        .execute("SELECT pg_advisory_lock($1)", &[&MIGRATION_LOCK])
        .map_err(pg_error)?;
    let migrated = migrate(client);
    let unlocked = client
        .execute("SELECT pg_advisory_unlock($1)", &[&MIGRATION_LOCK])
        .map_err(pg_error);
    let version = migrated?;
    unlocked?;
    Ok(version)
}

fn migrate(client: &mut Client) -> Result<i64> {
    client
        .batch_execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (
                version BIGINT PRIMARY KEY,
                name TEXT NOT NULL,
                applied_ms BIGINT NOT NULL
            )",
        )
        .map_err(pg_error)?;
    let applied: i64 = client
        .query_one(
            "SELECT coalesce(max(version), 0) FROM schema_migrations",
            &[],
        )
        .map_err(pg_error)?
        .get(0);
    let newest = MIGRATIONS.last().map_or(0, |(version, _, _)| *version);
    if applied > newest {
        return Err(Error::Postgres(format!(
            "the database's schema is version {applied}, newer than this server's ({newest}): \
             run the newer server"
        )));
    }
    for (version, name, sql) in MIGRATIONS.iter().filter(|(v, _, _)| *v > applied) {
        let mut tx = client.transaction().map_err(pg_error)?;
        tx.batch_execute(sql).map_err(|e| {
            Error::Postgres(format!("migration {version} ({name}): {}", pg_error(e)))
        })?;
        tx.execute(
            "INSERT INTO schema_migrations (version, name, applied_ms)
             VALUES ($1, $2, (extract(epoch FROM clock_timestamp()) * 1000)::bigint)",
            &[version, name],
        )
        .map_err(pg_error)?;
        tx.commit().map_err(pg_error)?;
        tracing::info!(version, name, "PostgreSQL schema migrated");
    }
    Ok(newest)
}
