//! Where a test server keeps its history: an `SQLite` file in the test's folder, or, when the
//! test run has a PostgreSQL (`CHARLA_TEST_DB`, set by `scripts/pg.sh`), a database of that
//! folder's own there (made the first time it is asked for: a server restarted on the same
//! folder finds its history), so the same tests run against both stores.

use std::hash::{Hash, Hasher};
use std::path::Path;

use charla_server::Storage;

/// The variable naming the test run's PostgreSQL (a URL of a user that may make databases).
pub const TEST_DB_VARIABLE: &str = "CHARLA_TEST_DB";

/// The store of a server whose data lives in `dir`: `dir/history.db`, or the run's
/// PostgreSQL database for `dir`.
#[must_use]
pub fn storage_in(dir: &Path) -> Storage {
    match test_db() {
        Some(url) => Storage::Postgres(database_for(&url, dir)),
        None => Storage::Sqlite(dir.join("history.db")),
    }
}

/// The `--db` argument for [`storage_in`].
#[must_use]
pub fn db_arg_in(dir: &Path) -> String {
    match storage_in(dir) {
        Storage::Postgres(url) => url,
        Storage::Sqlite(path) => path.display().to_string(),
        Storage::Memory => ":memory:".to_owned(),
    }
}

/// Whether the test run's store is PostgreSQL.
#[must_use]
pub fn on_postgres() -> bool {
    test_db().is_some()
}

fn test_db() -> Option<String> {
    std::env::var(TEST_DB_VARIABLE)
        .ok()
        .filter(|url| !url.is_empty())
}

/// The URL of `dir`'s database on the server of `admin_url`, made when missing.
fn database_for(admin_url: &str, dir: &Path) -> String {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    dir.hash(&mut hasher);
    let name = format!("charla_test_{:016x}", hasher.finish());
    let url = admin_url.to_owned();
    let wanted = name.clone();
    // The blocking client runs a runtime of its own: not on a test's async thread.
    std::thread::spawn(move || {
        let mut client = postgres::Client::connect(&url, postgres::NoTls)
            .unwrap_or_else(|e| panic!("the test PostgreSQL at {url}: {e}"));
        let exists = client
            .query_opt("SELECT 1 FROM pg_database WHERE datname = $1", &[&wanted])
            .unwrap_or_else(|e| panic!("looking for {wanted}: {e}"))
            .is_some();
        if !exists {
            client
                .batch_execute(&format!("CREATE DATABASE {wanted}"))
                .unwrap_or_else(|e| panic!("CREATE DATABASE {wanted}: {e}"));
        }
    })
    .join()
    .expect("the database is there");
    let (base, _) = admin_url
        .rsplit_once('/')
        .unwrap_or_else(|| panic!("{TEST_DB_VARIABLE}={admin_url} has no database part"));
    format!("{base}/{name}")
}
