//! Threads: replies to a message kept in its room with their own `seq`, and what a client asks
//! of them (a page of one thread, the threads a name follows).
//!
//! A reply is a `chat-message` with `thread` (its root's `seq`). Only a reply also sent to the
//! room (`alsoInRoom`) is a `message` of the room; the others are `thread-message`s, which the
//! tutorial's page never reads, so it keeps seeing the room's messages and nothing else. The
//! root carries `replies` and `lastReplyAt`, changed (`message-updated`) with each reply.

use serde::{Deserialize, Serialize};

use super::message::ChatMessage;

/// The most replies one `thread` answer holds.
pub const MAX_THREAD_PAGE: usize = 200;
/// The most threads one `threads` answer lists.
pub const MAX_THREADS_LISTED: usize = 200;

/// `thread`: a page of one thread's replies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ThreadRequest {
    /// The room (default `general`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub room: Option<String>,
    /// The root's `seq`.
    pub root: u64,
    /// Only replies with a `seq` below this one (all, without it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<u64>,
    /// How many at most (the server caps it at [`MAX_THREAD_PAGE`]).
    #[serde(default = "default_page")]
    pub limit: usize,
}

fn default_page() -> usize {
    MAX_THREAD_PAGE
}

/// The answer to `thread`: its root as it is now and its newest replies before `before`,
/// oldest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ThreadPage {
    /// Always `true`.
    pub ok: bool,
    /// The message the thread answers.
    pub root: ChatMessage,
    /// Replies, oldest first.
    pub replies: Vec<ChatMessage>,
    /// Older replies than these are kept.
    pub more: bool,
}

/// One thread a name follows (it wrote the root, replied, or was mentioned in a reply).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct FollowedThread {
    /// Its room.
    pub room: String,
    /// Its root as it is now (with `replies` and `lastReplyAt`).
    pub root: ChatMessage,
    /// The name's read marker in it: replies up to this `seq` are read.
    pub read: u64,
    /// Replies after it.
    pub unread: u64,
}

/// The answer to `threads`: the threads the name follows, the most recently answered first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ThreadList {
    /// Always `true`.
    pub ok: bool,
    /// At most [`MAX_THREADS_LISTED`].
    pub threads: Vec<FollowedThread>,
}
