//! Where history, rooms, members, read markers and mentions are kept: the [`Store`] trait, and
//! its two kinds, chosen by `--db`: an `SQLite` file (the default, nothing to install;
//! [`sqlite`]) or a PostgreSQL database that several nodes share ([`pg`]).
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

pub mod pg;
pub mod sqlite;

pub use sqlite::make_parent_dir;

/// A store, shared by the chat's tasks.
pub type StoreHandle = Arc<dyn Store>;

/// What the chat asks of a store.
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

    /// Starts storing a draft, as [`Store::append`] does, and returns at once: the answer
    /// comes on the receiver. Drafts are stored in the order this is called, so one sender's
    /// messages keep their order.
    fn append_queued(&self, room: RoomId, draft: Draft, at: DateTime<Utc>) -> QueuedAppend;

    /// Whether a write is a round trip over the network (a shared database): the chat then
    /// does not hold its lock while a message is stored.
    fn is_remote(&self) -> bool;

    /// Whether the store answered lately (a database over the network that stopped
    /// answering is known before any request waits for it); a local file always does.
    fn is_reachable(&self) -> bool {
        true
    }

    /// Removes `room`'s messages stored before `cutoff`, at most [`EXPIRE_BATCH`] at a time;
    /// returns the lowest `seq` still kept afterwards (`None`: nothing was old enough).
    ///
    /// # Errors
    /// When the store cannot be read or written.
    fn expire_before(&self, room: RoomId, cutoff: DateTime<Utc>) -> Result<Option<u64>>;

    /// The newest `limit` messages of `room` with a `seq` below `before`, oldest first.
    ///
    /// # Errors
    /// When the store cannot be read.
    fn page_before(&self, room: RoomId, before: u64, limit: usize) -> Result<Vec<ChatMessage>>;

    /// Makes a room with its first members; a DM (`name` `None`) is named `dm:<its number>`.
    /// Returns the number and the name.
    ///
    /// # Errors
    /// When the store cannot be written (or the name is taken: the chat checks first).
    fn create_room(
        &self,
        name: Option<&str>,
        kind: RoomKind,
        topic: &str,
        members: &[Member],
        at: DateTime<Utc>,
    ) -> Result<(RoomId, String)>;

    /// Adds a member (nothing when it is one already).
    ///
    /// # Errors
    /// When the store cannot be written.
    fn add_member(&self, room: RoomId, member: &Member, at: DateTime<Utc>) -> Result<()>;

    /// Removes a member and its read marker of the room; a room left without members is
    /// noted as empty since `at`.
    ///
    /// # Errors
    /// When the store cannot be written.
    fn remove_member(&self, room: RoomId, key: &str, at: DateTime<Utc>) -> Result<()>;

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

    /// Sets a room's topic.
    ///
    /// # Errors
    /// When the store cannot be written.
    fn set_topic(&self, room: RoomId, topic: &str) -> Result<()>;

    /// Writes read markers (name key, room, seq); a marker never moves back.
    ///
    /// # Errors
    /// When the store cannot be written.
    fn save_markers(&self, markers: &[(String, RoomId, u64)]) -> Result<()>;

    /// How many kept messages of `room` after `after` mention `key`.
    ///
    /// # Errors
    /// When the store cannot be read.
    fn mentions_after(&self, room: RoomId, key: &str, after: u64) -> Result<u64>;

    /// The newest [`SCAN`] matches of the typed words in `rooms`, stored before `before` (a
    /// position [`Scanned::next`] gave; `None`: all), searched for at most `budget`. Never on
    /// the connection messages are stored through.
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

    /// The oldest `limit` messages of `room` with a `seq` above `after`, oldest first (what
    /// other nodes stored that this one has not delivered).
    ///
    /// # Errors
    /// When the store cannot be read.
    fn page_after(&self, room: RoomId, after: u64, limit: usize) -> Result<Vec<ChatMessage>>;

    /// Every room's highest `seq` and version, when other writers may have changed them (a
    /// shared database); `None` for a store this node alone writes.
    ///
    /// # Errors
    /// When the store cannot be read.
    fn heads(&self) -> Result<Option<Vec<RoomHead>>>;

    /// A room as it is stored now, with its `recent` newest messages, when other writers may
    /// have changed it (a shared database); `None` for a room that does not exist, or a
    /// store this node alone writes (its rooms change only through this node).
    ///
    /// # Errors
    /// When the store cannot be read.
    fn changed_room(&self, room: RoomId, recent: usize) -> Result<Option<StoredRoom>>;

    /// Records that a connection here holds a name, when other nodes serve the same users (a
    /// shared database): `false` when the name is held elsewhere in a way that excludes it (a
    /// guest's name is held once; a guest cannot take a name anyone holds). A store this
    /// node alone writes says `true`: the chat's own memory is the whole truth there.
    ///
    /// # Errors
    /// When the store cannot be written.
    fn hold_name(&self, held: &HeldName) -> Result<bool>;

    /// Says this node is alive and holds exactly `held`, forgets nodes gone silent, and
    /// returns the names held on other nodes; `None` for a store this node alone writes.
    ///
    /// # Errors
    /// When the store cannot be read or written.
    fn sync_presence(&self, held: &[HeldName]) -> Result<Option<Vec<HeldName>>>;

    /// Tells the other nodes that `name` started or stopped typing in `room`, without waiting
    /// (typing is a hint: lost when the database does not answer). Nothing where only this
    /// node serves.
    fn announce_typing(&self, room: RoomId, name: &str, typing: bool);

    /// Forgets this node's names (it is stopping).
    ///
    /// # Errors
    /// When the store cannot be written.
    fn leave_presence(&self) -> Result<()>;

    /// Starts telling `heard` what other nodes store, when they can (a shared database);
    /// whether it does.
    ///
    /// # Errors
    /// When the listener cannot be started.
    fn listen(&self, heard: tokio::sync::mpsc::Sender<Heard>) -> Result<bool>;
}

/// A name held by the connections of one node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeldName {
    /// Its uniqueness key.
    pub key: String,
    /// As shown.
    pub name: String,
    /// Nobody owns it.
    pub guest: bool,
}

/// A room's newest `seq` and the version of its name, topic and members.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RoomHead {
    /// The room.
    pub room: RoomId,
    /// Its highest `seq`.
    pub last_seq: u64,
    /// Raised by every change of its name, topic or members.
    pub version: u64,
}

/// What a store that other nodes write says it heard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Heard {
    /// A node stored message `seq` of `room`.
    Stored {
        /// The room.
        room: RoomId,
        /// Its `seq`.
        seq: u64,
    },
    /// A room was made, or its topic or members changed.
    Room(RoomId),
    /// Names were taken or let go on some node.
    Presence,
    /// Someone on another node started or stopped typing.
    Typing {
        /// The room.
        room: RoomId,
        /// Who.
        name: String,
        /// Started or stopped.
        typing: bool,
    },
    /// A name's read marker of a room moved forward.
    Marker {
        /// The room.
        room: RoomId,
        /// The name's key.
        key: String,
        /// Read up to this `seq`.
        seq: u64,
    },
    /// Every room may have news: a second went by, or the listener came back after a cut.
    Look,
}

/// The answer of [`Store::append_queued`], to come.
pub type QueuedAppend = tokio::sync::oneshot::Receiver<std::result::Result<Appended, NotStored>>;

/// What storing a draft came to.
#[derive(Debug, Clone)]
pub enum Appended {
    /// Stored now, with the room's next `seq`.
    New(ChatMessage),
    /// Its author's `clientId` was stored already in the room (a retry, perhaps sent to
    /// another node): that message, not stored again.
    Existing(ChatMessage),
}

/// Opens the store `storage` names and reads back what the chat needs; `None` for a history
/// kept in memory.
///
/// # Errors
/// When the store cannot be opened or read.
pub fn open(storage: &Storage, options: StoreOptions) -> Result<Option<(StoreHandle, Loaded)>> {
    match storage {
        Storage::Memory => Ok(None),
        Storage::Sqlite(path) => {
            let (store, loaded) = sqlite::open(path, options)?;
            Ok(Some((Arc::new(store), loaded)))
        }
        Storage::Postgres(url) => {
            let (store, loaded) = pg::open(url, options)?;
            Ok(Some((Arc::new(store), loaded)))
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
        }
    }
}

/// Why a message was not stored.
#[derive(Debug, Clone, thiserror::Error)]
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
    /// The lowest `seq` it still keeps (`last_seq + 1` when none).
    pub oldest_seq: u64,
    /// The version of its name, topic and members (see [`RoomHead`]; 0 where only one node
    /// writes).
    pub version: u64,
    /// Since when it has had no members (`None`: it has some).
    pub emptied_at: Option<DateTime<Utc>>,
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

/// What a history kept only in memory starts with: nothing, and a new epoch (its `seq`s start
/// over at every start).
#[must_use]
pub fn memory_loaded() -> Loaded {
    Loaded {
        recent: Vec::new(),
        recent_ids: Vec::new(),
        rooms: Vec::new(),
        markers: Vec::new(),
        last_seq: 0,
        oldest_seq: 1,
        epoch: new_epoch(),
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
