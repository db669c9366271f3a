//! A message as every reader sees it, and a stretch of `seq`s the server no longer has: what
//! the answers and events of the other modules carry.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::change::{Pinned, Reaction};

/// A message as the server broadcasts it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct ChatMessage {
    /// Unique id given by the server.
    pub id: String,
    /// The author.
    pub username: String,
    /// The text, exactly as sent.
    pub text: String,
    /// When the server accepted it.
    #[serde(with = "crate::timestamp")]
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    pub timestamp: DateTime<Utc>,
    /// Position in the room's log; absent from the tutorial's server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub seq: Option<u64>,
    /// The sender's idempotency key, when it gave one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub client_id: Option<String>,
    /// The author's name is owned by nobody (a tutorial client, an old one): anyone could
    /// have used it. Absent (false) for owned names.
    #[serde(default, skip_serializing_if = "is_false")]
    #[cfg_attr(feature = "ts", ts(as = "Option<bool>", optional))]
    pub guest: bool,
    /// The room it was said in; absent for `general` (the tutorial's one room).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub room: Option<String>,
    /// The members it mentions (`@name`), as their names are shown; absent when none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[cfg_attr(feature = "ts", ts(as = "Option<Vec<String>>", optional))]
    pub mentions: Vec<String>,
    /// A reply in the thread of this message (`seq`) of the room; absent for a message of
    /// the room.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub thread: Option<u64>,
    /// A thread's reply that was also sent to the room.
    #[serde(default, skip_serializing_if = "is_false")]
    #[cfg_attr(feature = "ts", ts(as = "Option<bool>", optional))]
    pub also_in_room: bool,
    /// What happened to it since it was said (nothing, for most messages).
    #[serde(flatten)]
    #[cfg_attr(feature = "ts", ts(flatten))]
    pub living: Living,
}

/// What changes a message after it was said (a reply in its thread too): each change gives
/// it its room's next `rev` and is sent as `message-updated` with the whole message. Every field is absent while unchanged,
/// so a message nobody touched is sent exactly as before.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct Living {
    /// The room's change counter when the message last changed (0: never).
    #[serde(default, skip_serializing_if = "is_zero")]
    #[cfg_attr(feature = "ts", ts(optional, as = "Option<u64>"))]
    pub rev: u64,
    /// When its author last edited it.
    #[serde(
        default,
        with = "crate::timestamp::optional",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(feature = "ts", ts(optional, as = "Option<String>"))]
    pub edited_at: Option<DateTime<Utc>>,
    /// Its author deleted it: `text` is empty and `mentions` gone; `seq`, author and time stay.
    #[serde(default, skip_serializing_if = "is_false")]
    #[cfg_attr(feature = "ts", ts(as = "Option<bool>", optional))]
    pub deleted: bool,
    /// Its reactions, in the order each emoji was first used.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[cfg_attr(feature = "ts", ts(as = "Option<Vec<Reaction>>", optional))]
    pub reactions: Vec<Reaction>,
    /// Pinned in its room, by whom and when.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub pinned: Option<Pinned>,
    /// Replies in its thread.
    #[serde(default, skip_serializing_if = "is_zero")]
    #[cfg_attr(feature = "ts", ts(optional, as = "Option<u64>"))]
    pub replies: u64,
    /// When the newest of them was sent.
    #[serde(
        default,
        with = "crate::timestamp::optional",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(feature = "ts", ts(optional, as = "Option<String>"))]
    pub last_reply_at: Option<DateTime<Utc>>,
}

#[allow(clippy::trivially_copy_pass_by_ref)] // serde's skip_serializing_if passes a reference
fn is_zero(value: &u64) -> bool {
    *value == 0
}

#[allow(clippy::trivially_copy_pass_by_ref)] // serde's skip_serializing_if passes a reference
fn is_false(value: &bool) -> bool {
    !*value
}

/// `seq`s a client asked for that the server no longer keeps (`from..=to`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Gap {
    /// The first missing `seq`.
    pub from: u64,
    /// The last missing `seq`.
    pub to: u64,
}
