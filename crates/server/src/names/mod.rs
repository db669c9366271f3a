//! Owned names: a name belongs to the devices that claimed it or were linked to it, each
//! proving itself with its own key, until the last is forgotten, an operator releases the name,
//! or all its devices stay away longer than the idle limit.
//!
//! - [`book`]: the name book and its rules, over [`crate::store::ledger::LedgerTx`], which the
//!   stores implement: the book in an `SQLite` file of its own (what `charla-server names …`
//!   reads and changes while the server runs), or in PostgreSQL, shared by every node. No SQL
//!   is written here.
//!
//! The room asks the book at each join ([`NameBook::authorize`]) and answers `device-link` and
//! `device-forget` with it; the rules about who else is connected stay in the room.

mod book;

use std::path::Path;

use charla_protocol::rules::{normalize_username, username_key};

pub use book::{Became, Credential, DeviceId, NameBook, NameEntry, Standing};

use crate::store::{list_names, release_name, PgLedger};

/// Every owned name in the PostgreSQL book at `url`, by name.
///
/// # Errors
/// When PostgreSQL cannot be reached or read.
pub fn list_postgres(
    url: &str,
    idle: std::time::Duration,
    now: chrono::DateTime<chrono::Utc>,
) -> crate::error::Result<Vec<NameEntry>> {
    PgLedger::open(url)?.list(idle, now)
}

/// Frees the name an operator typed in the PostgreSQL book at `url` (see [`release`]).
///
/// # Errors
/// When PostgreSQL cannot be reached or written.
pub fn release_postgres(url: &str, typed: &str) -> crate::error::Result<Option<u32>> {
    PgLedger::open(url)?.release(&key_of(typed))
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
    release_name(path, &key_of(typed))
}

/// Every owned name in the book at `path`, by name, with its devices and when one was last
/// seen.
///
/// # Errors
/// When there is no name book at `path`, or it cannot be read.
pub fn list(
    path: &Path,
    idle: std::time::Duration,
    now: chrono::DateTime<chrono::Utc>,
) -> crate::error::Result<Vec<NameEntry>> {
    list_names(path, idle, now)
}
