//! Where a test server keeps its history: an `SQLite` file in the test's folder, or, when the
//! test run has a PostgreSQL (`CHARLA_TEST_DB`, set by `scripts/pg.sh`), a database of its own
//! there, made afresh, so the same tests run against both stores.

use std::path::Path;

use charla_server::Storage;

/// The variable naming the test run's PostgreSQL (a URL of a user that may make databases).
pub const TEST_DB_VARIABLE: &str = "CHARLA_TEST_DB";

/// A fresh store for one server: `dir/history.db`, or a new PostgreSQL database when the run
/// has one.
#[must_use]
pub fn fresh_storage(dir: &Path) -> Storage {
    match std::env::var(TEST_DB_VARIABLE) {
        Ok(url) if !url.is_empty() => Storage::Postgres(fresh_database(&url)),
        _ => Storage::Sqlite(dir.join("history.db")),
    }
}

/// Whether the test run's store is PostgreSQL.
#[must_use]
pub fn on_postgres() -> bool {
    std::env::var(TEST_DB_VARIABLE).is_ok_and(|url| !url.is_empty())
}

/// The `--db` argument for a fresh store (see [`fresh_storage`]).
#[must_use]
pub fn fresh_db_arg(dir: &Path) -> String {
    match fresh_storage(dir) {
        Storage::Postgres(url) => url,
        Storage::Sqlite(path) => path.display().to_string(),
        Storage::Memory => ":memory:".to_owned(),
    }
}

/// Makes a database with a random name on the server of `admin_url`; returns its URL.
fn fresh_database(admin_url: &str) -> String {
    let name = format!("charla_test_{:016x}", rand_u64());
    let url = admin_url.to_owned();
    let create = format!("CREATE DATABASE {name}");
    // The blocking client runs a runtime of its own: not on a test's async thread.
    std::thread::spawn(move || {
        let mut client = postgres::Client::connect(&url, postgres::NoTls)
            .unwrap_or_else(|e| panic!("the test PostgreSQL at {url}: {e}"));
        client
            .batch_execute(&create)
            .unwrap_or_else(|e| panic!("{create}: {e}"));
    })
    .join()
    .expect("the database was made");
    let (base, _) = admin_url
        .rsplit_once('/')
        .unwrap_or_else(|| panic!("{TEST_DB_VARIABLE}={admin_url} has no database part"));
    format!("{base}/{name}")
}

fn rand_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    hasher.finish()
}
