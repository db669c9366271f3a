//! Owned names: a name belongs to the devices that claimed it or were linked to it, each
//! proving itself with its own key, until the last is forgotten, an operator releases the name,
//! or all its devices stay away longer than the idle limit.
//!
//! - [`book`]: the name book and its rules, over [`ledger::LedgerTx`];
//! - `sqlite`: the book in its own file, and what `charla-server names …` does with it;
//! - `pg`: the book in PostgreSQL, shared by every node.
//!
//! The room asks the book at each join ([`NameBook::authorize`]) and answers `device-link` and
//! `device-forget` with it; the rules about who else is connected stay in the room.

mod book;
mod ledger;
mod pg;
mod sqlite;

use std::path::Path;

use charla_protocol::rules::{normalize_username, username_key};

pub use book::{Became, Credential, DeviceId, NameBook, NameEntry, Standing};
pub use sqlite::list;

/// Every owned name in the PostgreSQL book at `url`, by name.
///
/// # Errors
/// When PostgreSQL cannot be reached or read.
pub fn list_postgres(
    url: &str,
    idle: std::time::Duration,
    now: chrono::DateTime<chrono::Utc>,
) -> crate::error::Result<Vec<NameEntry>> {
    pg::PgLedger::open(url)?.list(idle, now)
}

/// Frees the name an operator typed in the PostgreSQL book at `url` (see [`release`]).
///
/// # Errors
/// When PostgreSQL cannot be reached or written.
pub fn release_postgres(url: &str, typed: &str) -> crate::error::Result<Option<u32>> {
    pg::PgLedger::open(url)?.release(&key_of(typed))
}

/// A typed name's uniqueness key, compared as joins compare names.
fn key_of(typed: &str) -> String {
    normalize_username(typed)
        .map_or_else(|_| username_key(typed.trim()), |name| username_key(&name))
}

/// Frees the name an operator typed (compared as joins compare names: `Alice` frees `alice`).
/// Returns how many devices it had, or `None` when nobody owned it.
///
/// # Errors
/// When there is no name book at `path`, or it cannot be written.
pub fn release(path: &Path, typed: &str) -> crate::error::Result<Option<u32>> {
    sqlite::release(path, &key_of(typed))
}
