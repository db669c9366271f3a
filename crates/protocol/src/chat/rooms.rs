//! Rooms and direct messages on the wire: room names, what a room looks like to a member, and
//! the requests and answers of `room-create`, `room-join`, `room-leave`, `rooms`, `room-topic`,
//! `dm-open`, `read` and `search`.
//!
//! The tutorial's one room is `general`: every request that names no room means it, and its
//! messages carry no `room` field, so the tutorial's clients see exactly what they always did.

use chrono::{DateTime, Utc};
use serde::{de::DeserializeOwned, Deserialize, Serialize};
use serde_json::Value;

use super::change::Changes;
use super::message::{ChatMessage, Gap};
use super::refusal::{ErrorCode, Refusal};

/// The room every user is in, and the one the tutorial's events mean.
pub const GENERAL_ROOM: &str = "general";
/// Longest room name, in characters.
pub const MAX_ROOM_NAME_CHARS: usize = 32;
/// Longest topic, in characters.
pub const MAX_TOPIC_CHARS: usize = 200;
/// The most results one `search` answer holds.
pub const MAX_SEARCH_RESULTS: usize = 50;
/// Longest search query, in characters.
pub const MAX_QUERY_CHARS: usize = 200;
/// What every direct message's name starts with: `dm:` and a number. `:` is not allowed in a
/// room name, so no room can take a DM's name.
pub const DM_PREFIX: &str = "dm:";

/// A room name as typed (`Release-2 `) in its one form (`release-2`): trimmed, ASCII lowercase,
/// 1–32 characters of `a-z`, `0-9`, `-` and `_`. `None` when it cannot be one.
#[must_use]
pub fn normalize_room_name(typed: &str) -> Option<String> {
    let name = typed.trim().to_ascii_lowercase();
    let valid = !name.is_empty()
        && name.len() <= MAX_ROOM_NAME_CHARS
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'-' | b'_'));
    valid.then_some(name)
}

/// The number in a DM's name (`dm:12` → 12).
#[must_use]
pub fn dm_number(name: &str) -> Option<i64> {
    name.strip_prefix(DM_PREFIX)?
        .parse()
        .ok()
        .filter(|n| *n > 0)
}

/// The refusal for a name that is no room name.
#[must_use]
pub fn invalid_room() -> Refusal {
    Refusal::new(
        ErrorCode::InvalidRoom,
        format!("a room name is 1-{MAX_ROOM_NAME_CHARS} characters of a-z, 0-9, '-' and '_'"),
    )
}

/// A room or a direct message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "lowercase")]
pub enum RoomKind {
    /// A room: `general`, or one an owned name created. Listed; anyone owned may join.
    Room,
    /// A direct message between two owned names: never listed, joined or searched by anyone
    /// else.
    Dm,
}

/// A room as every member sees it (`room-updated`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct RoomInfo {
    /// Its name: `general`, `release-2`, `dm:12`.
    pub room: String,
    /// Room or direct message.
    pub kind: RoomKind,
    /// What the room is for (empty when nobody said).
    #[serde(default)]
    pub topic: String,
    /// Its members' names (a DM's two). Empty for `general`, whose members are everyone.
    #[serde(default)]
    pub members: Vec<String>,
    /// The `seq` of its newest message, 0 when it has none.
    #[serde(default)]
    pub last_seq: u64,
}

/// A room as one member sees it: [`RoomInfo`]'s fields and that member's read marker and
/// counts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct RoomState {
    /// Its name.
    pub room: String,
    /// Room or direct message.
    pub kind: RoomKind,
    /// What the room is for.
    #[serde(default)]
    pub topic: String,
    /// Its members' names (empty for `general`).
    #[serde(default)]
    pub members: Vec<String>,
    /// The `seq` of its newest message.
    #[serde(default)]
    pub last_seq: u64,
    /// The member's read marker: every message up to this `seq` is read (0: none).
    #[serde(default)]
    pub read: u64,
    /// Messages after the marker.
    #[serde(default)]
    pub unread: u64,
    /// Those of them that mention the member.
    #[serde(default)]
    pub mentions: u64,
}

/// What a join replays of one room: the newest messages after the client's `seq`, bounded in
/// size; `more` when older ones after it were left out (page with `history`), `gap` for those
/// the server no longer keeps.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct RoomReplay {
    /// Oldest first.
    pub messages: Vec<ChatMessage>,
    /// Kept messages between the client's `seq` and the first of these were left out.
    #[serde(default)]
    pub more: bool,
    /// `seq`s after the client's that the server no longer keeps.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub gap: Option<Gap>,
    /// The messages up to the client's `seq` changed after its `rev`, and the `rev` it has
    /// now (absent from servers that predate living messages).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub changes: Option<Changes>,
}

/// The answer to `room-create`, `room-join` and `dm-open`: the room, and its newest messages
/// (after `since`, when the request gave one).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct RoomEntered {
    /// Always `true`.
    pub ok: bool,
    /// The room as this member sees it.
    pub room: RoomState,
    /// The newest messages, as a join replays them.
    #[serde(flatten)]
    pub replay: RoomReplay,
}

/// The answer to a request that has nothing to say but yes (`room-leave`, `room-topic`,
/// `read`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Done {
    /// Always `true`.
    pub ok: bool,
}

/// One line of `rooms`: a public room.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct RoomSummary {
    /// Its name.
    pub room: String,
    /// Its topic.
    pub topic: String,
    /// How many members it has (for `general`: how many are online).
    pub members: usize,
    /// When its newest message was sent, if it has one.
    #[serde(default, with = "crate::timestamp::optional")]
    #[cfg_attr(feature = "ts", ts(type = "string", optional))]
    pub last_activity: Option<DateTime<Utc>>,
    /// Whether the asking user is a member.
    pub joined: bool,
}

/// The answer to `rooms`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct RoomList {
    /// Always `true`.
    pub ok: bool,
    /// Every public room, most recently active first.
    pub rooms: Vec<RoomSummary>,
}

/// `read-marker` (server → every device of the user) and the counts after it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ReadMarker {
    /// The room.
    pub room: String,
    /// Every message up to this `seq` is read.
    pub read: u64,
    /// Messages after it.
    pub unread: u64,
    /// Those of them that mention the user.
    pub mentions: u64,
}

/// `member-joined` and `member-left`: who, in which room.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct MemberChange {
    /// The room.
    pub room: String,
    /// Who joined or left it.
    pub username: String,
}

/// `room-topic` from the server: a room's topic changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct TopicChange {
    /// The room.
    pub room: String,
    /// Its topic now (empty: none).
    pub topic: String,
    /// Who changed it, when known (a change made on another node is told without).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub username: Option<String>,
}

/// `search`'s argument.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SearchRequest {
    /// Words to find (every word must match; a word ending in `*` matches as a prefix).
    pub query: String,
    /// Only this room (default: every room and DM the user is in).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub room: Option<String>,
    /// Only messages older than this: a previous answer's `next`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub before: Option<u64>,
    /// How many at most (capped at [`MAX_SEARCH_RESULTS`]).
    #[serde(default = "default_search_limit")]
    pub limit: usize,
    /// Results to skip: the next page of the same ranking.
    #[serde(default, skip_serializing_if = "is_zero")]
    #[cfg_attr(feature = "ts", ts(as = "Option<usize>", optional))]
    pub offset: usize,
}

#[allow(clippy::trivially_copy_pass_by_ref)] // serde's skip_serializing_if passes a reference
fn is_zero(n: &usize) -> bool {
    *n == 0
}

fn default_search_limit() -> usize {
    20
}

/// One `search` result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct SearchHit {
    /// Where it was said.
    pub room: String,
    /// Its `seq` in that room (open the room there).
    pub seq: u64,
    /// The message's id.
    pub id: String,
    /// Its author.
    pub username: String,
    /// When it was sent.
    #[serde(with = "crate::timestamp")]
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    pub timestamp: DateTime<Utc>,
    /// The text around the first match (the whole text when it is short), with `…` where it
    /// was cut.
    pub snippet: String,
    /// Where the matching words are in `snippet`: `[start, end)` in characters (Unicode scalar
    /// values), in order.
    pub highlights: Vec<[usize; 2]>,
}

/// The answer to `search`: the best matches first, among the newest 300 matches (older than
/// `before`, when given).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SearchResults {
    /// Always `true`.
    pub ok: bool,
    /// The matches.
    pub results: Vec<SearchHit>,
    /// More of this ranking: ask again with `offset` past these.
    pub more: bool,
    /// Older matches than those ranked here exist: ask again with `before: next` for them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub next: Option<u64>,
}

/// Reads a request's first argument as `T`, or refuses with the shape expected.
pub(crate) fn first_arg<T: DeserializeOwned>(args: &[Value], shape: &str) -> Result<T, Refusal> {
    args.first()
        .and_then(|first| T::deserialize(first).ok())
        .ok_or_else(|| Refusal::invalid_payload(format!("expected {shape}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn room_names_have_one_form() {
        assert_eq!(
            normalize_room_name(" Release-2 ").as_deref(),
            Some("release-2")
        );
        assert_eq!(normalize_room_name("a_b").as_deref(), Some("a_b"));
        for bad in ["", " ", "dm:1", "two words", "café", &"x".repeat(33), "a/b"] {
            assert_eq!(normalize_room_name(bad), None, "{bad:?}");
        }
        assert_eq!(dm_number("dm:12"), Some(12));
        assert_eq!(dm_number("dm:0"), None);
        assert_eq!(dm_number("dm:x"), None);
        assert_eq!(dm_number("general"), None);
    }

    #[test]
    fn a_room_state_is_flat_on_the_wire() {
        let state = RoomState {
            room: "ops".into(),
            kind: RoomKind::Room,
            topic: "pager".into(),
            members: vec!["ana".into()],
            last_seq: 4,
            read: 2,
            unread: 2,
            mentions: 1,
        };
        let json = serde_json::to_value(&state).expect("json");
        assert_eq!(
            json,
            json!({"room": "ops", "kind": "room", "topic": "pager", "members": ["ana"],
                   "lastSeq": 4, "read": 2, "unread": 2, "mentions": 1})
        );
        assert_eq!(
            serde_json::from_value::<RoomState>(json).expect("reads"),
            state
        );
    }
}
