//! Every database's schema, versioned: one runner for the numbered SQL files of
//! `crates/server/migrations/` — `sqlite/history/`, `sqlite/search/`, `sqlite/names/` (the
//! three `SQLite` files of a node) and `pg/` (the one PostgreSQL database several nodes share).
//!
//! Each file runs once, in order, in one transaction with the record of its version, so a
//! failed migration leaves the database as it was. A database a newer server migrated is
//! refused, not misread. Where the version is kept is each kind's own ([`Versioned`]): `SQLite`'s
//! `user_version`, PostgreSQL's `schema_migrations` table (nodes starting together take turns).
//!
//! A new table or column is a new file in each kind's directory, named in the lists below.

use crate::error::{Error, Result};

/// One migration: its version (its file's number), what it does, and its SQL.
#[derive(Debug, Clone, Copy)]
pub struct Migration {
    /// Its number, from 1, one more than the one before.
    pub version: i64,
    /// What it does, as logged.
    pub name: &'static str,
    /// The file's SQL.
    pub sql: &'static str,
}

/// The history's `SQLite` database (`history.db`).
pub const SQLITE_HISTORY: &[Migration] = &[
    Migration {
        version: 1,
        name: "history, rooms, members, markers, mentions",
        sql: include_str!("../../migrations/sqlite/history/0001_history_rooms.sql"),
    },
    Migration {
        version: 2,
        name: "living messages: edits, deletions, reactions, pins",
        sql: include_str!("../../migrations/sqlite/history/0002_living_messages.sql"),
    },
    Migration {
        version: 3,
        name: "threads: replies, their roots' counts, who follows them",
        sql: include_str!("../../migrations/sqlite/history/0003_threads.sql"),
    },
    Migration {
        version: 4,
        name: "search re-indexes a message only when its text changed",
        sql: include_str!("../../migrations/sqlite/history/0004_reindex_changed_text.sql"),
    },
];

/// The search index's `SQLite` database (`history.search.db`).
pub const SQLITE_SEARCH: &[Migration] = &[Migration {
    version: 1,
    name: "search index",
    sql: include_str!("../../migrations/sqlite/search/0001_index.sql"),
}];

/// The name book's `SQLite` database (`history.names.db`).
pub const SQLITE_NAMES: &[Migration] = &[Migration {
    version: 1,
    name: "names, devices, link codes",
    sql: include_str!("../../migrations/sqlite/names/0001_names.sql"),
}];

/// The PostgreSQL database: history, rooms, names and the cluster's tables.
pub const POSTGRES: &[Migration] = &[
    Migration {
        version: 1,
        name: "history, rooms, names",
        sql: include_str!("../../migrations/pg/0001_history_rooms_names.sql"),
    },
    Migration {
        version: 2,
        name: "rooms and presence across nodes",
        sql: include_str!("../../migrations/pg/0002_cluster.sql"),
    },
    Migration {
        version: 3,
        name: "empty rooms noted",
        sql: include_str!("../../migrations/pg/0003_empty_rooms.sql"),
    },
    Migration {
        version: 4,
        name: "living messages: edits, deletions, reactions, pins",
        sql: include_str!("../../migrations/pg/0004_living_messages.sql"),
    },
    Migration {
        version: 5,
        name: "threads: replies, their roots' counts, who follows them",
        sql: include_str!("../../migrations/pg/0005_threads.sql"),
    },
];

/// A database the runner brings up to date.
pub trait Versioned {
    /// The version of the last migration it had (0: none).
    ///
    /// # Errors
    /// When the database cannot be read.
    fn version(&mut self) -> Result<i64>;

    /// Runs `migration` and records its version, in one transaction.
    ///
    /// # Errors
    /// When it fails (then nothing of it is kept).
    fn apply(&mut self, migration: &Migration) -> Result<()>;
}

/// Runs the migrations of `migrations` that `database` (called `what` in logs and errors) has
/// not had, in order; returns its version afterwards.
///
/// # Errors
/// [`Error::Schema`] when the database is newer than this server or a migration fails.
pub fn run(database: &mut dyn Versioned, what: &str, migrations: &[Migration]) -> Result<i64> {
    let applied = database.version()?;
    let newest = migrations.last().map_or(0, |m| m.version);
    if applied > newest {
        return Err(Error::Schema(format!(
            "the {what}'s schema is version {applied}, newer than this server's ({newest}): \
             run the newer server"
        )));
    }
    for migration in migrations.iter().filter(|m| m.version > applied) {
        database.apply(migration).map_err(|e| {
            Error::Schema(format!(
                "the {what}'s migration {} ({}): {e}",
                migration.version, migration.name
            ))
        })?;
        tracing::info!(
            database = what,
            version = migration.version,
            name = migration.name,
            "schema migrated"
        );
    }
    Ok(newest)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every file of a directory is in its list, in order, numbered as its name says.
    #[test]
    fn every_file_is_listed_once_in_order() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
        for (dir, list) in [
            ("sqlite/history", SQLITE_HISTORY),
            ("sqlite/search", SQLITE_SEARCH),
            ("sqlite/names", SQLITE_NAMES),
            ("pg", POSTGRES),
        ] {
            let mut files: Vec<(i64, String)> = std::fs::read_dir(root.join(dir))
                .expect("the directory")
                .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
                .filter_map(|name| {
                    let number = name.split('_').next()?.parse().ok()?;
                    Some((
                        number,
                        std::fs::read_to_string(root.join(dir).join(&name)).ok()?,
                    ))
                })
                .collect();
            files.sort_by_key(|(number, _)| *number);
            let listed: Vec<(i64, String)> =
                list.iter().map(|m| (m.version, m.sql.to_owned())).collect();
            assert_eq!(files, listed, "{dir}: the files and the list differ");
            for (i, m) in list.iter().enumerate() {
                assert_eq!(m.version, i64::try_from(i).unwrap_or_default() + 1, "{dir}");
            }
        }
    }

    /// A database in memory that fails the migration named `bad`.
    struct Fake {
        version: i64,
        ran: Vec<i64>,
        bad: i64,
    }

    impl Versioned for Fake {
        fn version(&mut self) -> Result<i64> {
            Ok(self.version)
        }

        fn apply(&mut self, migration: &Migration) -> Result<()> {
            if migration.version == self.bad {
                return Err(Error::Schema("refused".into()));
            }
            self.ran.push(migration.version);
            self.version = migration.version;
            Ok(())
        }
    }

    #[test]
    fn only_what_is_missing_runs_and_a_newer_database_is_refused() {
        let mut db = Fake {
            version: 1,
            ran: Vec::new(),
            bad: 0,
        };
        assert_eq!(run(&mut db, "test", POSTGRES).ok(), Some(5));
        assert_eq!(db.ran, [2, 3, 4, 5]);
        let mut newer = Fake {
            version: 6,
            ran: Vec::new(),
            bad: 0,
        };
        let refused = run(&mut newer, "test", POSTGRES).expect_err("refused");
        assert!(
            refused.to_string().contains("newer than this server"),
            "{refused}"
        );
        let mut failing = Fake {
            version: 0,
            ran: Vec::new(),
            bad: 2,
        };
        let failed = run(&mut failing, "test", POSTGRES).expect_err("failed");
        assert!(failed.to_string().contains("migration 2"), "{failed}");
        assert_eq!(failing.ran, [1]);
    }
}
