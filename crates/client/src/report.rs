//! What the client tells its owner (the desktop app, the CLI): connection status, chat events
//! (messages, and changes to them) and outbox changes. Serializes as `{"event": "...", ...}` for the UI and `--json`.

use std::time::Duration;

use charla_protocol::chat::{
    ChatMessage, ErrorCode, MemberChange, ReadMarker, Refusal, RoomInfo, RoomState, TopicChange,
};
use serde::Serialize;

use crate::outbox::{OutboxChange, OutboxEntry};

/// The connection's state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(tag = "state", rename_all = "camelCase")]
pub enum ConnectionStatus {
    /// Opening the first connection.
    Connecting,
    /// Connected and joined. `compat` is true on the tutorial's server (no acks, no history).
    Connected {
        /// Talking to a server without Charla's additions.
        compat: bool,
    },
    /// The link was lost; the next attempt comes after `delay`.
    Reconnecting {
        /// Attempts since the last successful connection (1 for the first retry).
        attempt: u32,
        /// Wait before the attempt.
        #[serde(rename = "delayMs", serialize_with = "millis")]
        #[cfg_attr(feature = "ts", ts(type = "number"))]
        delay: Duration,
        /// Why the link was lost.
        reason: String,
    },
    /// Not connected and not retrying by itself (stopped, or refused: bad token, bad name).
    Disconnected {
        /// Why, for people.
        reason: String,
        /// Why, for programs.
        cause: DisconnectReason,
    },
}

/// Why the client stopped trying to connect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum DisconnectReason {
    /// Its owner stopped it.
    Stopped,
    /// The server wants an access token, and this one is missing or wrong.
    InvalidToken,
    /// The server refused the connection for another reason (a namespace it does not serve).
    ConnectRefused,
    /// The server refused the join for good (`code` says why: an invalid name, say).
    JoinRefused {
        /// The refusal's code.
        code: ErrorCode,
    },
}

fn millis<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// Everything the client reports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(tag = "event", rename_all = "camelCase")]
pub enum ClientEvent {
    /// The connection changed state.
    Status(ConnectionStatus),
    /// Joined (again): who is here and the history not seen before.
    Joined {
        /// The name as the server bound it.
        username: String,
        /// Everyone joined.
        users: Vec<String>,
        /// Whether this device owns the name (claimed, proved with its key, or linked).
        owned: bool,
        /// Messages of `general`'s timeline not yet reported, oldest first.
        history: Vec<ChatMessage>,
        /// Replies only in their threads among what was missed (`general`'s), oldest first:
        /// history too, but not the timeline's (see [`ClientEvent::ThreadMessage`]). Absent
        /// when none.
        #[serde(rename = "threadReplies", skip_serializing_if = "Vec::is_empty")]
        #[cfg_attr(feature = "ts", ts(as = "Option<Vec<ChatMessage>>", optional))]
        thread_replies: Vec<ChatMessage>,
    },
    /// Messages `from..=to` (by `seq`) of a room that will not be reported: gone from the
    /// server (`kept: false`, its retention removed them while we were away) or not fetched on
    /// reconnect because there were too many (`kept: true`: page them with
    /// [`crate::ClientHandle::history`]). Reported before the messages after them, so a UI can
    /// draw the line where they were.
    Gap {
        /// The room; absent for `general`.
        #[serde(skip_serializing_if = "Option::is_none")]
        #[cfg_attr(feature = "ts", ts(optional))]
        room: Option<String>,
        /// The first missing `seq`.
        from: u64,
        /// The last missing `seq`.
        to: u64,
        /// Whether the server still has them.
        kept: bool,
    },
    /// The server's history started over (a server without a database restarted): the `seq`s
    /// reported so far mean nothing any more; the next join reports its history afresh.
    HistoryReset,
    /// A new message of a room's timeline (each `seq` reported once); a reply also sent to the
    /// room has `thread` set.
    Message(ChatMessage),
    /// A new reply only in its thread (`thread`: its root's `seq`), live or replayed after a
    /// reconnect, each `seq` reported once. It is not part of the room's timeline, and counts
    /// as unread only for those who follow the thread.
    ThreadMessage(ChatMessage),
    /// A message as it is after a change (an edit, a deletion, a reaction, a pin): the whole
    /// message, with its `rev`. Reported once per change, and only when its `rev` is newer
    /// than any reported of that message (live, replayed after a reconnect or paged alike);
    /// after an absence, once per message changed, as it is now. It is not a new message:
    /// nothing unread changes.
    MessageUpdated(ChatMessage),
    /// Someone joined.
    UserJoined {
        /// Who.
        username: String,
        /// Nobody owns the name.
        guest: bool,
    },
    /// Someone left.
    UserLeft {
        /// Who.
        username: String,
    },
    /// The presence snapshot.
    Users {
        /// Everyone joined.
        users: Vec<String>,
        /// Those of `users` nobody owns.
        guests: Vec<String>,
    },
    /// Someone started or stopped typing.
    Typing {
        /// Who.
        username: String,
        /// Started or stopped.
        typing: bool,
        /// The room; absent for `general`.
        #[serde(skip_serializing_if = "Option::is_none")]
        #[cfg_attr(feature = "ts", ts(optional))]
        room: Option<String>,
    },
    /// Every room and DM this name is in, `general` first, with read markers and counts
    /// (after each join of an owned name).
    Rooms {
        /// The rooms.
        rooms: Vec<RoomState>,
    },
    /// This device entered a room (made, joined or opened it, or a DM), before the messages
    /// the server replays of it: the room with this name's marker and counts.
    RoomEntered(RoomState),
    /// A room this name is in, whole: one made (a DM someone opened with us), or joined on
    /// another device of this name.
    RoomUpdated(RoomInfo),
    /// A room's topic changed.
    RoomTopic(TopicChange),
    /// Someone became a member of a room.
    MemberJoined(MemberChange),
    /// Someone left a room (this name too, when another of its devices left it).
    MemberLeft(MemberChange),
    /// This name's read marker of a room moved (on this device or another).
    ReadMarker(ReadMarker),
    /// The outbox changed; this is all of it.
    Outbox {
        /// Every unsent message, oldest first.
        entries: Vec<OutboxEntry>,
        /// Every change to a message not yet acknowledged, oldest first (they go in the
        /// order made, a change to an unsent message after it).
        changes: Vec<OutboxChange>,
    },
    /// The server refused something, or told us of an error.
    Error(Refusal),
}
