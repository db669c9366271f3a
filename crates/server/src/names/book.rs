//! The name book: which names are owned, by which devices, and the link codes waiting to be
//! redeemed; its rules written once over [`LedgerTx`], kept in an `SQLite` file of its own
//! ([`SqliteLedger`]) or, with `--db postgres://…`, in PostgreSQL beside the history
//! ([`PgLedger`]), shared by every node.
//!
//! Its writes are rare (a claim, a link, a forget, last-seen times once a second), so what it
//! costs is not on any message's path. Only a SHA-256 of each device key and of each link code
//! is stored: both are random secrets with enough bits that a fast hash is the right one.

use std::collections::HashSet;
use std::path::Path;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use charla_protocol::chat::{format_link_code, DeviceLink, ErrorCode, Refusal};
use chrono::{DateTime, TimeDelta, Utc};
use sha2::{Digest, Sha256};

use crate::clock::Clock;
use crate::error::Result;
use crate::store::ledger::{from_ms, LedgerTx};
pub use crate::store::ledger::{DeviceId, NameEntry};
use crate::store::{PgLedger, SqliteLedger};

/// How long a link code works.
pub const LINK_LIFETIME: Duration = Duration::from_secs(10 * 60);
/// Link codes one name may have waiting at once; asking for another drops the oldest.
pub(super) const MAX_WAITING_LINKS: i64 = 5;

/// What a join brings to prove a name.
#[derive(Debug, Clone, Copy)]
pub enum Credential<'a> {
    /// Nothing: a guest, unless the name is owned.
    Nothing,
    /// A device key (64 hex digits).
    Key(&'a str),
    /// A new device's key and a link code from one of the name's devices.
    Link {
        /// The new device's key.
        key: &'a str,
        /// The code, canonical.
        code: &'a str,
    },
}

/// A credential as the book keeps it: hashed.
#[derive(Debug, Clone)]
enum Proof {
    Nothing,
    Key { key_hash: String },
    Link { key_hash: String, code_hash: String },
}

impl From<Credential<'_>> for Proof {
    fn from(credential: Credential<'_>) -> Self {
        match credential {
            Credential::Nothing => Self::Nothing,
            Credential::Key(key) => Self::Key {
                key_hash: hash(key),
            },
            Credential::Link { key, code } => Self::Link {
                key_hash: hash(key),
                code_hash: hash(code),
            },
        }
    }
}

/// Who a join is, once the book has seen its credential.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    /// Nobody owns the name.
    Guest,
    /// The name is owned, by this device among others.
    Owner {
        /// The device.
        device: DeviceId,
        /// How it came to own the name.
        how: Became,
    },
}

/// How a device came to own its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Became {
    /// The name was free: this key claimed it.
    Claimed,
    /// The key is one of the name's devices.
    Proved,
    /// A link code registered this key.
    Linked,
}

/// Where the book is kept.
enum Backend {
    Sqlite(SqliteLedger),
    Postgres(PgLedger),
}

impl Backend {
    /// Runs `rules` in one transaction (a write one when `write`), committed when they succeed.
    fn transact<T: Send + 'static>(
        &self,
        write: bool,
        rules: impl FnOnce(&mut dyn LedgerTx) -> std::result::Result<T, Refusal> + Send + 'static,
    ) -> std::result::Result<T, Refusal> {
        match self {
            Self::Sqlite(ledger) => ledger.transact(write, rules),
            Self::Postgres(ledger) => ledger.transact(rules),
        }
    }
}

/// The book.
pub struct NameBook {
    backend: Backend,
    idle: TimeDelta,
    clock: Clock,
    /// Devices whose last-seen time is due: written once a second, off the room's lock.
    seen: Mutex<HashSet<DeviceId>>,
}

/// A join's question, owned (the PostgreSQL book answers it on a thread of its own).
#[derive(Debug, Clone)]
struct Join {
    key: String,
    name: String,
    proof: Proof,
    in_use: bool,
    may_claim: bool,
    now: DateTime<Utc>,
    idle: TimeDelta,
}

impl NameBook {
    /// Opens (or makes) the book at `path`, or one in memory.
    ///
    /// # Errors
    /// When the file cannot be opened or its tables made.
    pub fn open(path: Option<&Path>, idle: Duration, clock: Clock) -> Result<Self> {
        Ok(Self::with(
            Backend::Sqlite(SqliteLedger::open(path)?),
            idle,
            clock,
        ))
    }

    /// The book in the PostgreSQL database at `url` (the store has made its tables).
    ///
    /// # Errors
    /// When PostgreSQL cannot be reached.
    pub fn open_postgres(url: &str, idle: Duration, clock: Clock) -> Result<Self> {
        Ok(Self::with(
            Backend::Postgres(PgLedger::open(url)?),
            idle,
            clock,
        ))
    }

    fn with(backend: Backend, idle: Duration, clock: Clock) -> Self {
        Self {
            backend,
            idle: TimeDelta::from_std(idle).unwrap_or(TimeDelta::MAX),
            clock,
            seen: Mutex::new(HashSet::new()),
        }
    }

    /// The devices whose last-seen time is due.
    fn due_seen(&self) -> MutexGuard<'_, HashSet<DeviceId>> {
        self.seen
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Decides who a join of `name` (whose uniqueness key is `key`) is: a guest, a device that
    /// claims the free name, one of its devices, or a new one linked by a code. `in_use` says
    /// whether a device of the name is connected now (then the name is not idle, whatever the
    /// last-seen times say); `may_claim` whether this join may claim a free name (the room
    /// limits claims per address).
    ///
    /// Most joins only read: a guest's, a refused one, a device proving its name (its last-seen
    /// time is noted for the once-a-second write). Only a claim, a link and an expiry write.
    ///
    /// # Errors
    /// `name_owned` without the right key, `invalid_link` for a wrong, used or expired code,
    /// `rate_limited` for a claim that may not be made now, `unavailable` when the book cannot
    /// be read or written.
    pub fn authorize(
        &self,
        key: &str,
        name: &str,
        credential: Credential<'_>,
        in_use: bool,
        may_claim: bool,
    ) -> std::result::Result<Standing, Refusal> {
        let join = Join {
            key: key.to_owned(),
            name: name.to_owned(),
            proof: Proof::from(credential),
            in_use,
            may_claim,
            now: self.clock.now(),
            idle: self.idle,
        };
        let asked = join.clone();
        if let Some(answer) = self
            .backend
            .transact(false, move |tx| read_only_answer(tx, &asked))?
        {
            if let Ok(Standing::Owner { device, .. }) = answer {
                self.mark_seen(device);
            }
            return answer;
        }
        let standing = self.backend.transact(true, move |tx| {
            tx.lock_name(&join.key)?;
            write_answer(tx, &join)
        })?;
        if let Standing::Owner {
            device,
            how: Became::Proved,
        } = standing
        {
            self.mark_seen(device);
        }
        Ok(standing)
    }

    /// A link code for another device of `device`'s name, good once for ten minutes.
    ///
    /// # Errors
    /// `not_owned` when the device was forgotten meanwhile; `unavailable` on a store failure.
    pub fn link_code(&self, device: DeviceId) -> std::result::Result<DeviceLink, Refusal> {
        let now = self.clock.now();
        let expires_at = now + TimeDelta::from_std(LINK_LIFETIME).unwrap_or(TimeDelta::MAX);
        let code = format_link_code(rand::random());
        let code_hash = hash(&code.replace('-', ""));
        self.backend.transact(true, move |tx| {
            let key = tx.name_of(device)?.ok_or_else(forgotten)?;
            tx.lock_name(&key)?;
            tx.add_link(&key, &code_hash, ms(now), ms(expires_at), MAX_WAITING_LINKS)
        })?;
        tracing::info!(device, "link code made");
        Ok(DeviceLink {
            ok: true,
            code,
            expires_at,
        })
    }

    /// Revokes `device`; when it was its name's last, the name is free. Returns whether it was.
    ///
    /// # Errors
    /// `not_owned` when it was forgotten already; `unavailable` on a store failure.
    pub fn forget(&self, device: DeviceId) -> std::result::Result<bool, Refusal> {
        let released = self.backend.transact(true, move |tx| {
            let key = tx.name_of(device)?.ok_or_else(forgotten)?;
            tx.lock_name(&key)?;
            let left = tx.remove_device(device, &key)?;
            if left == 0 {
                tx.free(&key)?;
            }
            Ok(left == 0)
        })?;
        tracing::info!(device, released, "device forgotten");
        Ok(released)
    }

    /// The name owned under `key`, as it was claimed; `None` when nobody owns it.
    ///
    /// # Errors
    /// `unavailable` when the book cannot be read.
    pub fn owner(&self, key: &str) -> std::result::Result<Option<String>, Refusal> {
        let key = key.to_owned();
        self.backend.transact(false, move |tx| tx.owner(&key))
    }

    /// Notes that `device` was connected until now (written by [`NameBook::flush_seen`]).
    pub fn mark_seen(&self, device: DeviceId) {
        self.due_seen().insert(device);
    }

    /// Writes the last-seen times noted since the last call, in one commit.
    ///
    /// # Errors
    /// `unavailable` when the book cannot be written (the times are noted again next time).
    pub fn flush_seen(&self) -> std::result::Result<(), Refusal> {
        let due: Vec<DeviceId> = std::mem::take(&mut *self.due_seen()).into_iter().collect();
        if due.is_empty() {
            return Ok(());
        }
        let now = ms(self.clock.now());
        let written = due.clone();
        if let Err(e) = self
            .backend
            .transact(true, move |tx| tx.touch(&written, now))
        {
            self.due_seen().extend(due);
            return Err(e);
        }
        Ok(())
    }

    /// Those of the `devices` (asked for only when needed) that are no longer in the book: an
    /// operator released their name (`charla-server names release`, another process), or
    /// another node forgot them. The `SQLite` book looks only when another process wrote.
    ///
    /// # Errors
    /// When the book cannot be read (then the next call looks again).
    pub fn revoked(&self, devices: impl FnOnce() -> Vec<DeviceId>) -> Result<Vec<DeviceId>> {
        match &self.backend {
            Backend::Sqlite(ledger) => ledger.revoked(devices),
            Backend::Postgres(ledger) => ledger.revoked(devices()),
        }
    }
}

/// The answer to a join that needs no write, or `None` when it needs one (a claim, a link,
/// an idle name to free): then [`write_answer`] is asked inside a write.
fn read_only_answer(
    tx: &mut dyn LedgerTx,
    join: &Join,
) -> std::result::Result<Option<std::result::Result<Standing, Refusal>>, Refusal> {
    let last_seen = tx.last_seen_of(&join.key)?;
    if last_seen.is_some_and(|last| !join.in_use && join.now - from_ms(last) > join.idle) {
        return Ok(None);
    }
    let proved = |device| Standing::Owner {
        device,
        how: Became::Proved,
    };
    Ok(match (last_seen.is_some(), &join.proof) {
        (false, Proof::Nothing) => Some(Ok(Standing::Guest)),
        (false, _) => None,
        (true, Proof::Nothing) => Some(Err(name_owned(&join.name))),
        (true, Proof::Key { key_hash }) => Some(
            tx.find_device(&join.key, key_hash)?
                .map(proved)
                .ok_or_else(|| name_owned(&join.name)),
        ),
        (true, Proof::Link { key_hash, .. }) => tx
            .find_device(&join.key, key_hash)?
            .map(|device| Ok(proved(device))),
    })
}

/// The answer to a join that may write: frees an idle name, claims a free one, links a device.
fn write_answer(tx: &mut dyn LedgerTx, join: &Join) -> std::result::Result<Standing, Refusal> {
    let (key, name, now) = (join.key.as_str(), join.name.as_str(), join.now);
    let last_seen = tx.last_seen_of(key)?;
    let mut owned = last_seen.is_some();
    if let Some(last) = last_seen.filter(|_| !join.in_use) {
        if now - from_ms(last) > join.idle {
            tx.free(key)?;
            tracing::info!(name = ?name, last_seen = %from_ms(last), "an idle name is free again");
            owned = false;
        }
    }
    Ok(match (owned, &join.proof) {
        (false, Proof::Nothing) => Standing::Guest,
        (false, Proof::Key { .. }) if !join.may_claim => return Err(too_many_claims()),
        (false, Proof::Key { key_hash }) => {
            tx.claim(key, name, ms(now))?;
            let device = tx.add_device(key, key_hash, ms(now))?;
            tracing::info!(name = ?name, device, "name claimed");
            Standing::Owner {
                device,
                how: Became::Claimed,
            }
        }
        (false, Proof::Link { .. }) => return Err(invalid_link()),
        (true, Proof::Nothing) => return Err(name_owned(name)),
        (true, Proof::Key { key_hash }) => match tx.find_device(key, key_hash)? {
            Some(device) => Standing::Owner {
                device,
                how: Became::Proved,
            },
            None => return Err(name_owned(name)),
        },
        (
            true,
            Proof::Link {
                key_hash,
                code_hash,
            },
        ) => {
            if let Some(device) = tx.find_device(key, key_hash)? {
                // Linked already (a retry after a lost ack): the code stays for nobody.
                Standing::Owner {
                    device,
                    how: Became::Proved,
                }
            } else {
                if !tx.redeem(key, code_hash, ms(now))? {
                    return Err(invalid_link());
                }
                let device = tx.add_device(key, key_hash, ms(now))?;
                tracing::info!(name = ?name, device, "device linked");
                Standing::Owner {
                    device,
                    how: Became::Linked,
                }
            }
        }
    })
}

fn hash(secret: &str) -> String {
    format!("{:x}", Sha256::digest(secret.as_bytes()))
}

fn ms(at: DateTime<Utc>) -> i64 {
    at.timestamp_millis()
}

fn name_owned(name: &str) -> Refusal {
    Refusal::new(
        ErrorCode::NameOwned,
        format!("{name} belongs to someone else"),
    )
}

fn invalid_link() -> Refusal {
    Refusal::new(
        ErrorCode::InvalidLink,
        "that link code is wrong, used already or expired",
    )
}

fn too_many_claims() -> Refusal {
    Refusal::later(
        ErrorCode::RateLimited,
        "too many names claimed from this address; try again later",
        60_000,
    )
}

fn forgotten() -> Refusal {
    Refusal::new(ErrorCode::NotOwned, "this device no longer owns the name")
}

#[cfg(test)]
mod tests {
    use super::*;
    use charla_protocol::chat::normalize_link_code;

    const KEY_A: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    const KEY_B: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

    fn book(dir: &Path) -> NameBook {
        NameBook::open(
            Some(&dir.join("names.db")),
            Duration::from_secs(3600),
            Clock::system(),
        )
        .expect("opens")
    }

    #[test]
    fn another_process_s_release_is_seen_and_its_devices_reported() {
        let dir = tempfile::tempdir().expect("temp dir");
        let book = book(dir.path());
        let Standing::Owner { device, how } = book
            .authorize("alice", "Alice", Credential::Key(KEY_A), false, true)
            .expect("claims")
        else {
            panic!("an owner");
        };
        assert_eq!(how, Became::Claimed);
        assert_eq!(
            book.revoked(|| vec![device]).expect("reads"),
            Vec::<DeviceId>::new()
        );
        let listed = crate::store::list_names(
            &dir.path().join("names.db"),
            Duration::from_secs(3600),
            Utc::now(),
        )
        .expect("lists while the book is open");
        assert_eq!(
            listed
                .iter()
                .map(|e| (&*e.name, e.devices, e.idle))
                .collect::<Vec<_>>(),
            [("Alice", 1, false)]
        );
        assert_eq!(
            crate::store::release_name(&dir.path().join("names.db"), "alice").expect("releases"),
            Some(1)
        );
        assert_eq!(book.revoked(|| vec![device]).expect("reads"), [device]);
        assert_eq!(
            book.revoked(|| vec![device]).expect("reads"),
            Vec::<DeviceId>::new(),
            "once"
        );
        assert_eq!(
            book.authorize("alice", "alice", Credential::Key(KEY_B), false, true)
                .expect("free again"),
            Standing::Owner {
                device: device + 1,
                how: Became::Claimed
            }
        );
        assert_eq!(
            crate::store::release_name(&dir.path().join("names.db"), "bob").expect("nobody's"),
            None
        );
    }

    #[test]
    fn waiting_link_codes_are_bounded_per_name() {
        let dir = tempfile::tempdir().expect("temp dir");
        let book = book(dir.path());
        let Ok(Standing::Owner { device, .. }) =
            book.authorize("alice", "alice", Credential::Key(KEY_A), false, true)
        else {
            panic!("claims");
        };
        let codes: Vec<String> = (0..8)
            .map(|_| book.link_code(device).expect("a code").code)
            .collect();
        let Backend::Sqlite(ledger) = &book.backend else {
            panic!("an SQLite book");
        };
        let waiting = ledger.waiting_links();
        assert_eq!(waiting, MAX_WAITING_LINKS);
        let oldest = normalize_link_code(&codes[0]).expect("canonical");
        let refused = book
            .authorize(
                "alice",
                "alice",
                Credential::Link {
                    key: KEY_B,
                    code: &oldest,
                },
                true,
                true,
            )
            .expect_err("the oldest code was dropped");
        assert_eq!(refused.code, ErrorCode::InvalidLink);
        let newest = normalize_link_code(&codes[7]).expect("canonical");
        assert!(matches!(
            book.authorize(
                "alice",
                "alice",
                Credential::Link {
                    key: KEY_B,
                    code: &newest
                },
                true,
                true
            ),
            Ok(Standing::Owner {
                how: Became::Linked,
                ..
            })
        ));
    }
}
