//! Where history, rooms, members, read markers, mentions and the name book are kept: the
//! [`Store`] trait and its three kinds, chosen by `--db`: `SQLite` files (the default, nothing to
//! install; [`sqlite`]), a PostgreSQL database that several nodes share ([`pg`], which alone
//! also implements [`Cluster`]), or memory ([`memory`], nothing kept across a restart). Every
//! line of SQL of the server is under this folder; the schemas are numbered files run by
//! [`migrate`].
//!
//! The chat calls the store synchronously, under its lock where order matters: a message is
//! stored (and given its room's next `seq`) before anyone sees it. Reads that may take long
//! (history pages, searches) are called off the async threads.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use charla_protocol::chat::{ChatMessage, RoomKind};
use chrono::{DateTime, Utc};

use crate::config::Storage;
use crate::error::Result;

pub mod cluster;
pub(crate) mod ledger;
pub mod living;
pub mod memory;
pub mod migrate;
pub mod pg;
pub mod sqlite;
pub mod window;

pub use cluster::{Cluster, ClusterHandle, Heard, HeldName, QueuedAppend, RoomHead};
pub use living::{Change, ChangeRefused, Changed};

/// Whether `message` is a reply only in its thread (not a message of the room's timeline).
#[must_use]
pub fn only_in_thread(message: &ChatMessage) -> bool {
    message.thread.is_some() && !message.also_in_room
}
/// The name book's two databases, for the rules of [`crate::names`].
pub(crate) use pg::names::PgLedger;
pub(crate) use sqlite::names::{list as list_names, release as release_name, SqliteLedger};

pub use sqlite::make_parent_dir;

/// A store, shared by the chat's tasks.
pub type StoreHandle = Arc<dyn Store>;

/// What the chat asks of a store: persistence only. What only several nodes need is
/// [`Cluster`]'s.
pub trait Store: Send + Sync {
    /// Whether the store answers within `within`.
    ///
    /// # Errors
    /// [`crate::error::Error::Unreachable`] when it does not.
    fn check(&self, within: Duration) -> Result<()>;

    /// Stores a draft as the next message of `room`, accepted `at`: a new message with its
    /// `seq`, or the one stored before with the same author and `clientId` (a retry).
    ///
    /// # Errors
    /// [`NotStored`] when the write failed; then no `seq` was used.
    fn append(
        &self,
        room: RoomId,
        draft: Draft,
        at: DateTime<Utc>,
    ) -> std::result::Result<Appended, NotStored>;

    /// Removes `room`'s messages stored before `cutoff`, at most [`EXPIRE_BATCH`] at a time;
    /// returns the lowest `seq` still kept afterwards (`None`: nothing was old enough).
    ///
    /// # Errors
    /// When the store cannot be read or written.
    fn expire_before(&self, room: RoomId, cutoff: DateTime<Utc>) -> Result<Option<u64>>;

    /// Messages of `room`, as they are now, chosen by `which` (see [`Selection`]).
    ///
    /// # Errors
    /// When the store cannot be read.
    fn read(&self, room: RoomId, which: Selection) -> Result<Vec<ChatMessage>>;

    /// Changes message `seq` of `room`, made `at` ([`living`] says how): the message as it is
    /// then, with the room's next `rev` when something changed. A change applied before with
    /// the same author and `clientId` is not applied again ([`Changed::Retried`]).
    ///
    /// # Errors
    /// The rule the change breaks, or [`ChangeRefused::NotStored`]: nothing was changed.
    fn change_message(
        &self,
        room: RoomId,
        seq: u64,
        change: &Change<'_>,
        at: DateTime<Utc>,
    ) -> std::result::Result<Changed, ChangeRefused>;

    /// Makes a room with its first members; a DM (`name` `None`) is named `dm:<its number>`.
    /// Returns the number and the name.
    ///
    /// # Errors
    /// [`crate::error::Error::RoomExists`] when the name is taken; any other when the store
    /// cannot be written.
    fn create_room(
        &self,
        name: Option<&str>,
        kind: RoomKind,
        topic: &str,
        members: &[Member],
        at: DateTime<Utc>,
    ) -> Result<(RoomId, String)>;

    /// Changes a room: a member in or out, or its topic (see [`RoomChange`]).
    ///
    /// # Errors
    /// When the store cannot be written.
    fn change_room(&self, room: RoomId, change: RoomChange<'_>, at: DateTime<Utc>) -> Result<()>;

    /// Forgets every membership, marker and mention of a name claimed afresh (rooms left
    /// without members are noted as empty since `at`).
    ///
    /// # Errors
    /// When the store cannot be written.
    fn forget_name(&self, key: &str, at: DateTime<Utc>) -> Result<()>;

    /// Retires a room that has had no members since before `emptied_before`: renamed
    /// [`RETIRED_PREFIX`]`<number>` (its name is free at once; its number is never given
    /// again), its members, markers and mentions gone. False when it is not so empty (a member
    /// joined on another node): nothing is done. A retired room's messages go with
    /// [`Store::purge_retired`].
    ///
    /// # Errors
    /// When the store cannot be written.
    fn retire_room(&self, room: RoomId, emptied_before: DateTime<Utc>) -> Result<bool>;

    /// Removes at most [`EXPIRE_BATCH`] messages of a retired room, and the room once none is
    /// left; true then. Called again until then (also after a restart: a retired room is
    /// loaded under its new name).
    ///
    /// # Errors
    /// When the store cannot be written.
    fn purge_retired(&self, room: RoomId) -> Result<bool>;

    /// Writes read markers (name key, room, seq); a marker never moves back.
    ///
    /// # Errors
    /// When the store cannot be written.
    fn save_markers(&self, markers: &[(String, RoomId, u64)]) -> Result<()>;

    /// What `key` counts among the kept messages of `room` after `after` (see [`Counts`]).
    ///
    /// # Errors
    /// When the store cannot be read.
    fn counts_after(&self, room: RoomId, key: &str, after: u64) -> Result<Counts>;

    /// The threads `key` follows in `rooms` (it wrote the root, replied, or was mentioned in a
    /// reply), the most recently answered first, at most `limit`.
    ///
    /// # Errors
    /// When the store cannot be read.
    fn followed_threads(&self, key: &str, rooms: &[RoomId], limit: usize) -> Result<Vec<Followed>>;

    /// The newest [`SCAN`] matches of the typed words in `rooms`, stored before `before` (a
    /// position [`Scanned::next`] gave; `None`: all), searched for at most `budget`. Never on
    /// the connection messages are stored through. Each store turns the words
    /// ([`charla_protocol::query::query_words`]) into its own query language.
    ///
    /// # Errors
    /// [`crate::error::Error::SearchTimedOut`] past the budget; any other when the store
    /// cannot be read.
    fn search(
        &self,
        typed: &str,
        rooms: &[RoomId],
        before: Option<u64>,
        budget: Duration,
    ) -> Result<Scanned>;
}

/// Which messages [`Store::read`] returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Selection {
    /// The room's newest `limit` messages with a `seq` below `before`, oldest first (a
    /// `history` page): its messages and the replies also sent to it, not the replies only
    /// in a thread.
    Before {
        /// Only `seq`s below this one.
        before: u64,
        /// How many at most.
        limit: usize,
    },
    /// Those with a `seq` up to `upto` that changed after `rev`, at most `limit`, in the
    /// order of their changes (a replay of changes).
    ChangedAfter {
        /// Only changes after this `rev`.
        rev: u64,
        /// Only `seq`s up to this one (the newer ones a client gets whole).
        upto: u64,
        /// How many at most.
        limit: usize,
    },
    /// The pinned ones, the most recently pinned first (at most
    /// [`charla_protocol::chat::MAX_PINS_PER_ROOM`]).
    Pinned,
    /// The newest `limit` replies in the thread of `root` with a `seq` below `before`, oldest
    /// first.
    Thread {
        /// The thread's root.
        root: u64,
        /// Only `seq`s below this one.
        before: u64,
        /// How many at most.
        limit: usize,
    },
    /// The message of this `seq`, if it is kept.
    Seq(u64),
}

/// A change of a room that [`Store::change_room`] writes.
#[derive(Debug, Clone, Copy)]
pub enum RoomChange<'a> {
    /// A member joins (nothing when it is one already); the room is no longer empty.
    Join(&'a Member),
    /// A member leaves, with its read marker of the room; a room left without members is
    /// noted as empty since the change.
    Leave {
        /// The member's name key.
        key: &'a str,
    },
    /// The topic is set.
    Topic(&'a str),
    /// A follower has read a thread's replies up to `seq` (a marker that never moves back).
    ThreadRead {
        /// The follower's name key.
        key: &'a str,
        /// The thread's root.
        root: u64,
        /// Read up to this `seq`.
        seq: u64,
    },
}

/// What one member counts of a room after its read marker.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Messages that mention the member.
    pub mentions: u64,
    /// Replies only in threads the member does not follow: not unread for it.
    pub unfollowed_replies: u64,
}

/// A thread a name follows, as [`Store::followed_threads`] finds it.
#[derive(Debug, Clone)]
pub struct Followed {
    /// Its room.
    pub room: RoomId,
    /// Its root, as it is now.
    pub root: ChatMessage,
    /// Replies up to this `seq` are read.
    pub read: u64,
    /// Replies after it.
    pub unread: u64,
}

/// What storing a draft came to.
#[derive(Debug, Clone)]
pub enum Appended {
    /// Stored now, with the room's next `seq`.
    New(ChatMessage),
    /// Its author's `clientId` was stored already in the room (a retry, perhaps sent to
    /// another node): that message, not stored again.
    Existing(ChatMessage),
}

/// A store as opened: the store, its cluster when other nodes share it, and what it holds.
pub struct Opened {
    /// Where history is kept.
    pub store: StoreHandle,
    /// What other nodes store and hold (a shared database only).
    pub cluster: Option<ClusterHandle>,
    /// What the chat starts with.
    pub loaded: Loaded,
}

/// Opens the store `storage` names and reads back what the chat needs.
///
/// # Errors
/// When the store cannot be opened or read.
pub fn open(storage: &Storage, options: StoreOptions) -> Result<Opened> {
    match storage {
        Storage::Memory => {
            let (store, loaded) = memory::open(options);
            Ok(Opened {
                store: Arc::new(store),
                cluster: None,
                loaded,
            })
        }
        Storage::Sqlite(path) => {
            let (store, loaded) = sqlite::open(path, options)?;
            Ok(Opened {
                store: Arc::new(store),
                cluster: None,
                loaded,
            })
        }
        Storage::Postgres(url) => {
            let (store, loaded) = pg::open(url, options)?;
            let store = Arc::new(store);
            Ok(Opened {
                store: store.clone(),
                cluster: Some(store),
                loaded,
            })
        }
    }
}

/// A room's number in the database.
pub type RoomId = i64;
/// The tutorial's one room, where every message went before there were rooms.
pub const GENERAL: RoomId = 1;

/// A message accepted by the room, not yet stored: no `seq`, no timestamp yet.
#[derive(Debug, Clone)]
pub struct Draft {
    /// Prefix of the message id (the sender's session); the id is `<prefix>-<seq>`.
    pub id_prefix: String,
    /// The author.
    pub username: String,
    /// The text.
    pub text: String,
    /// The sender's idempotency key.
    pub client_id: Option<String>,
    /// The author's name is owned by nobody.
    pub guest: bool,
    /// The author's name key (an owned name's: a guest's messages are nobody's to change).
    pub author_key: Option<String>,
    /// A reply in the thread of this `seq`.
    pub thread: Option<u64>,
    /// A reply also sent to the room.
    pub also_in_room: bool,
    /// The members it mentions.
    pub mentions: Vec<Member>,
}

impl Draft {
    /// The message this draft becomes as the `seq`-th, accepted `at`.
    #[must_use]
    pub fn into_message(self, seq: u64, at: DateTime<Utc>) -> ChatMessage {
        ChatMessage {
            id: format!("{}-{seq}", self.id_prefix),
            username: self.username,
            text: self.text,
            timestamp: at,
            seq: Some(seq),
            client_id: self.client_id,
            guest: self.guest,
            room: None,
            mentions: self.mentions.into_iter().map(|m| m.name).collect(),
            thread: self.thread,
            also_in_room: self.also_in_room,
            living: charla_protocol::chat::Living::default(),
        }
    }
}

/// Why a message was not stored.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the message could not be stored: {0}")]
pub struct NotStored(pub String);

/// Messages one retention pass removes at most (the next pass, a second later, goes on).
pub const EXPIRE_BATCH: u64 = 1000;

/// What a store holds at start.
pub struct Loaded {
    /// `general`'s most recent messages, oldest first.
    pub recent: Vec<ChatMessage>,
    /// The newest messages with a `clientId`, of every room (each with its room's name, but
    /// `general`'s), whose retries are still recognised; their texts are left out.
    pub recent_ids: Vec<ChatMessage>,
    /// Every room but `general`, with its members and newest messages.
    pub rooms: Vec<StoredRoom>,
    /// Read markers: (name key, room, seq).
    pub markers: Vec<(String, RoomId, u64)>,
    /// The highest `seq` ever given, 0 when none.
    pub last_seq: u64,
    /// `general`'s change counter: the highest `rev` given, 0 when none.
    pub last_rev: u64,
    /// The lowest `seq` still kept (`last_seq + 1` when none is).
    pub oldest_seq: u64,
    /// This history's epoch.
    pub epoch: String,
}

/// How the store is run.
#[derive(Debug, Clone, Copy)]
pub struct StoreOptions {
    /// Messages of `general` loaded into memory at start (its recent window).
    pub recent: usize,
    /// Messages of each other room loaded into memory at start.
    pub room_recent: usize,
    /// Bytes (as [`message_size`] counts them) of each other room's messages held in memory.
    pub room_recent_bytes: usize,
    /// Messages whose `clientId`s are loaded for de-duplication.
    pub remembered_ids: usize,
    /// Keep at most this many messages (`None`: all of them).
    pub retention: Option<u64>,
    /// The most bytes the database file may grow to (`None`: no cap).
    pub max_bytes: Option<u64>,
    /// Searches that may run at once (each on a connection of its own).
    pub searches: usize,
}

/// A fresh random epoch: 64 bits, as hex.
#[must_use]
pub fn new_epoch() -> String {
    format!("{:016x}", rand::random::<u64>())
}

/// A member of a room: the name's key, and the name as shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// The name's uniqueness key.
    pub key: String,
    /// The name as shown.
    pub name: String,
}

/// A room as the store keeps it, with what the chat loads of it at start.
#[derive(Debug, Clone)]
pub struct StoredRoom {
    /// Its number.
    pub id: RoomId,
    /// Its name (`dm:<id>` for a DM).
    pub name: String,
    /// Room or DM.
    pub kind: RoomKind,
    /// Its topic.
    pub topic: String,
    /// Its members.
    pub members: Vec<Member>,
    /// Its newest messages, oldest first.
    pub recent: Vec<ChatMessage>,
    /// The highest `seq` it gave.
    pub last_seq: u64,
    /// The highest `rev` it gave (its change counter).
    pub last_rev: u64,
    /// The lowest `seq` it still keeps (`last_seq + 1` when none).
    pub oldest_seq: u64,
    /// The version of its name, topic and members (see [`RoomHead`]; 0 where only one node
    /// writes).
    pub version: u64,
    /// Since when it has had no members (`None`: it has some).
    pub emptied_at: Option<DateTime<Utc>>,
}

/// A message's size in JSON, near enough (escapes aside) to bound a reply or a window.
#[must_use]
pub fn message_size(m: &ChatMessage) -> usize {
    m.text.len()
        + m.username.len()
        + m.id.len()
        + m.client_id.as_ref().map_or(0, String::len)
        + m.room.as_ref().map_or(0, String::len)
        + m.mentions.iter().map(|n| n.len() + 3).sum::<usize>()
        + m.living
            .reactions
            .iter()
            .map(|r| r.emoji.len() + 24 + r.names.iter().map(|n| n.len() + 3).sum::<usize>())
            .sum::<usize>()
        + m.living.pinned.as_ref().map_or(0, |p| p.by.len() + 48)
        + 96
}

/// The name a retired room has while its messages are removed: no room name can start so.
pub const RETIRED_PREFIX: &str = "retired:";

/// Matches read (newest first) before ranking.
pub const SCAN: usize = 500;

/// One match, as the store finds it.
pub struct Found {
    /// Its room.
    pub room: RoomId,
    /// The message.
    pub message: ChatMessage,
}

/// The newest matches.
pub struct Scanned {
    /// Newest first.
    pub found: Vec<Found>,
    /// When the scan was full: the oldest position it read, below which older matches are.
    pub next: Option<u64>,
}

impl Scanned {
    /// A scan's matches, newest first, each with its position in the store's order.
    fn from_positions(matches: Vec<(u64, Found)>) -> Self {
        let next = matches
            .last()
            .map(|(position, _)| *position)
            .filter(|_| matches.len() >= SCAN);
        Self {
            found: matches.into_iter().map(|(_, found)| found).collect(),
            next,
        }
    }
}

impl Storage {
    /// The database path, when history is kept on disk.
    #[must_use]
    pub fn path(&self) -> Option<&Path> {
        match self {
            Self::Memory | Self::Postgres(_) => None,
            Self::Sqlite(path) => Some(path),
        }
    }

    /// The name book's path, beside the history database (`history.db` → `history.names.db`);
    /// `None` when nothing is kept on disk.
    #[must_use]
    pub fn names_path(&self) -> Option<std::path::PathBuf> {
        self.path().map(|path| path.with_extension("names.db"))
    }
}

/// Random queries for the stores' property tests, from a fixed seed: each with its code
/// points spelled out (to name a failing one). Controls, NUL, quotes, the syntax of both
/// stores' query languages, combining marks, bidi and invisible characters, private-use and
/// unassigned code points, and any other character.
#[cfg(test)]
pub(crate) fn random_queries(count: usize) -> Vec<(String, String)> {
    use rand::{Rng, SeedableRng};
    const SYNTAX: &[char] = &[
        '"', '*', '(', ')', ':', '^', '-', '+', '\'', '&', '|', '!', '<', '>', '\\', '{', '}', ',',
        '.', '%', '_', '[', ']', ';', '=', '~', '$', '@', '#', '/', '?', '`',
    ];
    let mut rng = rand::rngs::StdRng::seed_from_u64(0x00c4_a71a);
    (0..count)
        .map(|_| {
            let length = rng.random_range(0..40);
            let query: String = (0..length)
                .map(|_| {
                    let pick = match rng.random_range(0..10) {
                        0 => rng.random_range(0..0x20),
                        1 => u32::from(SYNTAX[rng.random_range(0..SYNTAX.len())]),
                        2 => u32::from(' '),
                        3 => rng.random_range(0x300..0x370),
                        4 => {
                            [0x202E, 0x200B, 0x2028, 0xFEFF, 0x061C, 0x2066][rng.random_range(0..6)]
                        }
                        5 => rng.random_range(0xE000..0xF900),
                        6 => rng.random_range(0x61..0x7B),
                        7 => rng.random_range(0x4E00..0x4F00),
                        _ => rng.random_range(0..0x11_0000),
                    };
                    char::from_u32(pick).unwrap_or('\u{FFFD}')
                })
                .collect();
            let spelled = query
                .chars()
                .map(|c| format!("U+{:04X}", u32::from(c)))
                .collect::<Vec<_>>()
                .join(" ");
            (query, spelled)
        })
        .collect()
}
