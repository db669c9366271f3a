//! What the name book's rules ask of a database, inside one transaction: [`LedgerTx`], which
//! the `SQLite` book ([`super::SqliteLedger`], its own file) and the PostgreSQL one
//! ([`super::PgLedger`]) each
//! implement, so the rules themselves ([`crate::names`]) are written once and hold no SQL.
//!
//! Secrets arrive hashed (a device key's and a link code's SHA-256), times as milliseconds.

use charla_protocol::chat::{ErrorCode, Refusal};
use chrono::{DateTime, Utc};

/// A device's row id.
pub type DeviceId = i64;

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

/// A time the book keeps (milliseconds since 1970) as a date.
pub(crate) fn from_ms(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

/// One transaction on the book's tables. A method's error is already the refusal the client
/// gets (`unavailable`, logged).
pub(crate) trait LedgerTx {
    /// Serializes writes about the name `key` with every other node's (a no-op where the
    /// transaction holds the whole database).
    fn lock_name(&mut self, key: &str) -> Result<(), Refusal>;

    /// When a device of the name `key` was last seen (when it was claimed, if it has none);
    /// `None` when nobody owns it.
    fn last_seen_of(&mut self, key: &str) -> Result<Option<i64>, Refusal>;

    /// The device of the name `key` with this key hash.
    fn find_device(&mut self, key: &str, key_hash: &str) -> Result<Option<DeviceId>, Refusal>;

    /// The name owned under `key`, as it was claimed.
    fn owner(&mut self, key: &str) -> Result<Option<String>, Refusal>;

    /// Records `name` as owned under `key` since `now`.
    fn claim(&mut self, key: &str, name: &str, now: i64) -> Result<(), Refusal>;

    /// Frees the name `key`: its devices and link codes go with it.
    fn free(&mut self, key: &str) -> Result<(), Refusal>;

    /// Adds a device with this key hash to the name `key`, seen `now`.
    fn add_device(&mut self, key: &str, key_hash: &str, now: i64) -> Result<DeviceId, Refusal>;

    /// The name key `device` belongs to; `None` when it is gone.
    fn name_of(&mut self, device: DeviceId) -> Result<Option<String>, Refusal>;

    /// Removes `device`; returns how many devices its name has left.
    fn remove_device(&mut self, device: DeviceId, key: &str) -> Result<i64, Refusal>;

    /// Uses up the link code with this hash for the name `key`, if it is one of its codes and
    /// still good at `now`; whether it was.
    fn redeem(&mut self, key: &str, code_hash: &str, now: i64) -> Result<bool, Refusal>;

    /// Adds a link code good until `expires`, after dropping expired codes and all but the
    /// newest `keep - 1` of the name's.
    fn add_link(
        &mut self,
        key: &str,
        code_hash: &str,
        now: i64,
        expires: i64,
        keep: i64,
    ) -> Result<(), Refusal>;

    /// Notes that these devices were seen `now`.
    fn touch(&mut self, devices: &[DeviceId], now: i64) -> Result<(), Refusal>;
}

/// The refusal for a database that failed: logged with the reason, the client told to retry.
pub(crate) fn unavailable(reason: &dyn std::fmt::Display) -> Refusal {
    tracing::error!(error = %reason, "the name book could not be read or written");
    Refusal::later(
        ErrorCode::Unavailable,
        "the server could not check the name; try again",
        1000,
    )
}
