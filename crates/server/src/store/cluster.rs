//! What a store shared by several nodes does besides keeping history: the [`Cluster`] trait.
//! Only the PostgreSQL store implements it; a node with a store of its own has no cluster, and
//! the chat's memory is the whole truth there.
//!
//! Kept apart from [`super::Store`] (as a Socket.IO server keeps its adapter apart from its
//! core): the chat holds a store always and a cluster only when other nodes serve the same
//! people, so nothing in a single node's path asks "is there anyone else?" of a store that
//! could only answer no.

use std::sync::Arc;

use charla_protocol::chat::ChatMessage;
use chrono::{DateTime, Utc};

use super::{Appended, Draft, NotStored, RoomId, StoredRoom};
use crate::error::Result;

/// A cluster, shared by the chat's tasks.
pub type ClusterHandle = Arc<dyn Cluster>;

/// What the chat asks of a store that other nodes write too.
pub trait Cluster: Send + Sync {
    /// Starts storing a draft, as [`super::Store::append`] does, and returns at once: the
    /// answer comes on the receiver. Drafts are stored in the order this is called, so one
    /// sender's messages keep their order; the chat does not hold its lock while the database
    /// answers.
    fn append_queued(&self, room: RoomId, draft: Draft, at: DateTime<Utc>) -> QueuedAppend;

    /// Whether the database answered lately (one that stopped answering is known before any
    /// request waits for it).
    fn is_reachable(&self) -> bool;

    /// The oldest `limit` messages of `room` with a `seq` above `after`, oldest first (what
    /// other nodes stored that this one has not delivered).
    ///
    /// # Errors
    /// When the store cannot be read.
    fn page_after(&self, room: RoomId, after: u64, limit: usize) -> Result<Vec<ChatMessage>>;

    /// Every room's highest `seq` and version.
    ///
    /// # Errors
    /// When the store cannot be read.
    fn heads(&self) -> Result<Vec<RoomHead>>;

    /// A room as it is stored now, with its `recent` newest messages; `None` for a room that
    /// does not exist (any more).
    ///
    /// # Errors
    /// When the store cannot be read.
    fn changed_room(&self, room: RoomId, recent: usize) -> Result<Option<StoredRoom>>;

    /// Records that a connection here holds a name: `false` when the name is held elsewhere
    /// in a way that excludes it (a guest's name is held once; a guest cannot take a name
    /// anyone holds).
    ///
    /// # Errors
    /// When the store cannot be written.
    fn hold_name(&self, held: &HeldName) -> Result<bool>;

    /// Says this node is alive and holds exactly `held`, forgets nodes gone silent, and
    /// returns the names held on other nodes.
    ///
    /// # Errors
    /// When the store cannot be read or written.
    fn sync_presence(&self, held: &[HeldName]) -> Result<Vec<HeldName>>;

    /// Forgets this node's names (it is stopping).
    ///
    /// # Errors
    /// When the store cannot be written.
    fn leave_presence(&self) -> Result<()>;

    /// Tells the other nodes that `name` started or stopped typing in `room`, without waiting
    /// (typing is a hint: lost when the database does not answer).
    fn announce_typing(&self, room: RoomId, name: &str, typing: bool);

    /// Starts telling `heard` what other nodes store.
    ///
    /// # Errors
    /// When the listener cannot be started.
    fn listen(&self, heard: tokio::sync::mpsc::Sender<Heard>) -> Result<()>;
}

/// The answer of [`Cluster::append_queued`], to come.
pub type QueuedAppend = tokio::sync::oneshot::Receiver<std::result::Result<Appended, NotStored>>;

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
    /// Its highest `rev` (its messages' changes).
    pub last_rev: u64,
}

/// What the cluster says it heard from other nodes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Heard {
    /// A node stored message `seq` of `room`.
    Stored {
        /// The room.
        room: RoomId,
        /// Its `seq`.
        seq: u64,
    },
    /// A node changed a message of `room`, which took `rev`.
    Changed {
        /// The room.
        room: RoomId,
        /// The change's `rev`.
        rev: u64,
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
