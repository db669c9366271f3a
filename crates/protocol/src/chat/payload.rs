//! The payloads: what each event and each answer carries, and how a request's arguments are
//! read in every form the protocol accepts.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::change::Changes;
use super::device::{device_key_is_valid, normalize_link_code};
use super::message::{ChatMessage, Gap};
use super::refusal::{ErrorCode, Refusal};
use super::rooms::{RoomReplay, RoomState};

/// Longest `clientId` a server accepts, in characters.
pub const MAX_CLIENT_ID_CHARS: usize = 64;

/// Whether `id` is a usable `clientId`: 1–64 characters of ASCII letters, digits, `-`, `_`,
/// `.` and `:` (a UUID, a ULID, `bot:42`). Anything else would be stored, remembered for
/// de-duplication and broadcast with every message, so the server refuses it.
#[must_use]
pub fn client_id_is_valid(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_CLIENT_ID_CHARS
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
}

/// The body of `chat-message` as a client sends it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OutgoingMessage {
    /// The tutorial's server takes the author from here; Charla's ignores it.
    #[serde(default)]
    pub username: Option<String>,
    /// The text.
    pub text: String,
    /// Idempotency key: a retry with the same key is acknowledged again, not broadcast twice.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// The room (default `general`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub room: Option<String>,
    /// A reply in the thread of this message (`seq`) of the room.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thread: Option<u64>,
    /// A reply also sent to the room (its timeline and the tutorial's page show it).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub also_in_room: bool,
}

/// What a `join` asks for, from any of its accepted forms.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JoinRequest {
    /// The requested username, untrimmed.
    pub username: String,
    /// The last `seq` the client has; the server replays what came after.
    pub since: Option<u64>,
    /// The history epoch `since` belongs to (from an earlier [`JoinAck`]); a server whose
    /// history started over since then ignores `since`.
    pub epoch: Option<String>,
    /// This device's key (64 hex digits): claims a free name, or proves an owned one.
    pub key: Option<String>,
    /// A link code from another device of the name's owner: registers `key` as a new device
    /// of the name (canonical form, see [`normalize_link_code`]).
    pub link: Option<String>,
    /// The last `seq` the client has of each room other than `general` (whose is `since`);
    /// the ack replays what came after, room by room.
    pub rooms: BTreeMap<String, u64>,
    /// The highest change `rev` the client has of each room (`general` by its name): the ack
    /// replays the messages changed after it.
    pub revs: BTreeMap<String, u64>,
}

#[derive(Deserialize)]
struct JoinObject {
    username: String,
    #[serde(flatten)]
    extra: SinceObject,
}

#[derive(Deserialize)]
struct SinceObject {
    #[serde(default)]
    since: Option<u64>,
    #[serde(default)]
    epoch: Option<String>,
    #[serde(default)]
    key: Option<String>,
    #[serde(default)]
    link: Option<String>,
    #[serde(default)]
    rooms: BTreeMap<String, u64>,
    #[serde(default)]
    revs: BTreeMap<String, u64>,
}

impl SinceObject {
    fn into_request(self, username: String) -> Result<JoinRequest, Refusal> {
        if let Some(key) = &self.key {
            if !device_key_is_valid(key) {
                return Err(Refusal::invalid_payload(
                    "key must be 64 lowercase hex digits",
                ));
            }
        }
        let link =
            match self.link {
                None => None,
                Some(_) if self.key.is_none() => {
                    return Err(Refusal::invalid_payload(
                        "a link code needs the new device's key",
                    ))
                }
                Some(typed) => Some(normalize_link_code(&typed).ok_or_else(|| {
                    Refusal::new(ErrorCode::InvalidLink, "that is not a link code")
                })?),
            };
        Ok(JoinRequest {
            username,
            since: self.since,
            epoch: self.epoch,
            key: self.key,
            link,
            rooms: self.rooms,
            revs: self.revs,
        })
    }
}

impl JoinRequest {
    /// Reads `join`'s arguments: `"alice"`, `"alice", {since, epoch, key, link}` or
    /// `{username, since, epoch, key, link}`.
    ///
    /// # Errors
    /// A description of the first argument that does not fit; `invalid_link` for a link code
    /// that cannot be one.
    pub(crate) fn from_args(args: &[Value]) -> Result<Self, Refusal> {
        match args.first() {
            Some(Value::String(name)) => {
                let extra = match args.get(1) {
                    None | Some(Value::Null) => SinceObject {
                        since: None,
                        epoch: None,
                        key: None,
                        link: None,
                        rooms: BTreeMap::new(),
                        revs: BTreeMap::new(),
                    },
                    Some(extra) => SinceObject::deserialize(extra).map_err(|_| {
                        Refusal::invalid_payload(
                            "the second argument must be {since?, epoch?, key?, link?, rooms?, revs?}",
                        )
                    })?,
                };
                extra.into_request(name.clone())
            }
            Some(object @ Value::Object(_)) => {
                let parsed = JoinObject::deserialize(object).map_err(|_| {
                    Refusal::invalid_payload(
                        "expected {username: string, since?: number, epoch?: string, key?: string, link?: string}",
                    )
                })?;
                parsed.extra.into_request(parsed.username)
            }
            _ => Err(Refusal::invalid_payload("expected a username")),
        }
    }
}

/// `history`'s argument: the messages of `room` before `before`, at most `limit` of them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryRequest {
    /// The room (default `general`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub room: Option<String>,
    /// Only messages with a `seq` below this one.
    pub before: u64,
    /// How many at most (the server caps it at [`MAX_HISTORY_PAGE`]).
    #[serde(default = "default_page")]
    pub limit: usize,
}

/// The most messages one `history` answer holds.
pub const MAX_HISTORY_PAGE: usize = 200;

fn default_page() -> usize {
    MAX_HISTORY_PAGE
}

const HISTORY_SHAPE: &str = "expected {before: number, limit?: number, room?: string}";

impl HistoryRequest {
    /// Reads `history`'s first argument.
    ///
    /// # Errors
    /// When it is not `{before: number, limit?: number}`.
    pub(crate) fn from_args(args: &[Value]) -> Result<Self, Refusal> {
        let first = args
            .first()
            .ok_or_else(|| Refusal::invalid_payload(HISTORY_SHAPE))?;
        Self::deserialize(first).map_err(|_| Refusal::invalid_payload(HISTORY_SHAPE))
    }
}

/// The answer to `history`: a page of older messages, oldest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct HistoryPage {
    /// Always `true`.
    pub ok: bool,
    /// The newest messages before the requested `seq`, oldest first.
    pub messages: Vec<ChatMessage>,
    /// Whether older messages than these are still kept.
    pub more: bool,
}

impl OutgoingMessage {
    /// Reads `chat-message`'s first argument.
    ///
    /// # Errors
    /// When it is not an object with a string `text` (and a string `clientId`, if any).
    pub(crate) fn from_args(args: &[Value]) -> Result<Self, Refusal> {
        const SHAPE: &str = "expected {text: string, clientId?: string, room?: string, thread?: number, alsoInRoom?: boolean}";
        let object = args
            .first()
            .and_then(Value::as_object)
            .ok_or_else(|| Refusal::invalid_payload(SHAPE))?;
        let text = object
            .get("text")
            .and_then(Value::as_str)
            .ok_or_else(|| Refusal::invalid_payload(SHAPE))?;
        let client_id = match object.get("clientId") {
            None | Some(Value::Null) => None,
            Some(Value::String(id)) if client_id_is_valid(id) => Some(id.clone()),
            Some(Value::String(_)) => {
                return Err(Refusal::invalid_payload(
                    "clientId must be 1-64 characters of A-Z, a-z, 0-9, '-', '_', '.', ':'",
                ))
            }
            Some(_) => return Err(Refusal::invalid_payload(SHAPE)),
        };
        let room = match object.get("room") {
            None | Some(Value::Null) => None,
            Some(Value::String(room)) => Some(room.clone()),
            Some(_) => return Err(Refusal::invalid_payload(SHAPE)),
        };
        let thread = match object.get("thread") {
            None | Some(Value::Null) => None,
            Some(seq) => Some(
                seq.as_u64()
                    .ok_or_else(|| Refusal::invalid_payload(SHAPE))?,
            ),
        };
        let also_in_room = match object.get("alsoInRoom") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(also)) => *also,
            Some(_) => return Err(Refusal::invalid_payload(SHAPE)),
        };
        // The author comes from the connection, never from here: any `username` is ignored.
        Ok(Self {
            username: None,
            text: text.to_owned(),
            client_id,
            room,
            thread,
            also_in_room: also_in_room && thread.is_some(),
        })
    }
}

/// `typing` as the server relays it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TypingNotice {
    /// Who is typing.
    pub username: String,
    /// Started (`true`) or stopped.
    pub typing: bool,
    /// The room; absent for `general`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub room: Option<String>,
}

/// The answer to `join`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JoinAck {
    /// Always `true`.
    pub ok: bool,
    /// The name as the server bound it (trimmed).
    pub username: String,
    /// Everyone joined now, the joiner included.
    pub users: Vec<String>,
    /// Recent history, or what came after `since`, oldest first; bounded in size, so it may
    /// be only the newest part (see `more`).
    pub history: Vec<ChatMessage>,
    /// Identifies this server's history: a client that saw another epoch before must forget
    /// the `seq`s it knows (the history started over, e.g. a server without a database
    /// restarted). Absent from servers that predate it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub epoch: Option<String>,
    /// Older messages than `history`'s first are still kept and were left out for size: page
    /// back with `history {before}` (down to `since`, when catching up).
    #[serde(default)]
    pub more: bool,
    /// `seq`s after `since` the server no longer keeps: they are lost for this client, and it
    /// must say so rather than skip them silently.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gap: Option<Gap>,
    /// Whether the name is owned by this device's key (claimed now, or proved). `false` for a
    /// guest, and from servers that predate owned names. (Which of `users` are guests comes
    /// with the `users` event that follows every join: not repeated here, where it would
    /// double what a join into a big room costs.)
    #[serde(default)]
    pub owned: bool,
    /// Every room and DM the user is in, `general` first, with the read marker and counts.
    /// Absent for a guest (who is in `general` only) and from servers that predate rooms.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rooms: Vec<RoomState>,
    /// What came after each `seq` the join named in `rooms` (`general`'s is `history`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub replay: BTreeMap<String, RoomReplay>,
    /// `general`'s messages up to `since` changed after the client's `revs.general`, and the
    /// `rev` it has now (absent from servers that predate living messages).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changes: Option<Changes>,
}

/// The answer to `chat-message`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SendAck {
    /// Always `true`.
    pub ok: bool,
    /// The message's id.
    pub id: String,
    /// The message's position in the room.
    pub seq: u64,
    /// When the server accepted it.
    #[serde(with = "crate::timestamp")]
    pub timestamp: DateTime<Utc>,
    /// The room; absent for `general`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub room: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn message_serializes_as_the_tutorial_does() {
        let message: ChatMessage = serde_json::from_str(
            r#"{"id":"-CCggLoXHGmxDE_-AAAA-1795626522787","username":"alice","text":"hello","timestamp":"2026-11-25T17:08:42.787Z"}"#,
        )
        .expect("the Node server's message");
        assert_eq!(message.seq, None);
        assert_eq!(
            serde_json::to_string(&message).expect("serializes"),
            r#"{"id":"-CCggLoXHGmxDE_-AAAA-1795626522787","username":"alice","text":"hello","timestamp":"2026-11-25T17:08:42.787Z"}"#
        );
    }

    #[test]
    fn join_accepts_every_documented_form() {
        let plain = JoinRequest::from_args(&[json!("alice")]).expect("string form");
        assert_eq!(
            plain,
            JoinRequest {
                username: "alice".into(),
                ..JoinRequest::default()
            }
        );
        let with_since =
            JoinRequest::from_args(&[json!("alice"), json!({"since": 7})]).expect("two args");
        assert_eq!(with_since.since, Some(7));
        let object =
            JoinRequest::from_args(&[json!({"username": "bob", "since": 3})]).expect("object");
        assert_eq!(
            object,
            JoinRequest {
                username: "bob".into(),
                since: Some(3),
                ..JoinRequest::default()
            }
        );
        assert!(JoinRequest::from_args(&[json!(null)]).is_err());
        assert!(JoinRequest::from_args(&[]).is_err());
        assert!(JoinRequest::from_args(&[json!({"since": 1})]).is_err());
    }

    #[test]
    fn join_carries_a_key_and_a_link_code_in_either_form() {
        let key = "0a".repeat(32);
        let both = JoinRequest::from_args(&[
            json!("alice"),
            json!({"since": 0, "key": key, "link": "abcd-efgh-jkmn-pqrs"}),
        ])
        .expect("key and link");
        assert_eq!(both.key.as_deref(), Some(&*key));
        assert_eq!(both.link.as_deref(), Some("ABCDEFGHJKMNPQRS"));
        let object = JoinRequest::from_args(&[json!({"username": "alice", "key": key})])
            .expect("object form");
        assert_eq!((object.key.as_deref(), object.link), (Some(&*key), None));
        for (args, code) in [
            (
                json!({"username": "a", "key": "short"}),
                ErrorCode::InvalidPayload,
            ),
            (
                json!({"username": "a", "key": 5}),
                ErrorCode::InvalidPayload,
            ),
            (
                json!({"username": "a", "link": "abcd-efgh-jkmn-pqrs"}),
                ErrorCode::InvalidPayload,
            ),
            (
                json!({"username": "a", "key": key, "link": "nope"}),
                ErrorCode::InvalidLink,
            ),
        ] {
            let refused = JoinRequest::from_args(std::slice::from_ref(&args)).expect_err("refused");
            assert_eq!(refused.code, code, "{args}");
        }
    }

    #[test]
    fn guest_messages_say_so_and_owned_ones_stay_as_the_tutorial_s() {
        let mut message: ChatMessage = serde_json::from_value(
            json!({"id": "m", "username": "bob", "text": "hi", "timestamp": "2026-11-25T17:08:42.787Z"}),
        )
        .expect("a message");
        assert!(!message.guest);
        assert!(!serde_json::to_string(&message)
            .expect("json")
            .contains("guest"));
        message.guest = true;
        let json = serde_json::to_value(&message).expect("json");
        assert_eq!(json["guest"], json!(true));
    }

    #[test]
    fn chat_message_needs_a_string_text() {
        assert!(OutgoingMessage::from_args(&[json!(null)]).is_err());
        assert!(OutgoingMessage::from_args(&[json!({"username": "x"})]).is_err());
        assert!(OutgoingMessage::from_args(&[json!({"text": 5})]).is_err());
        let ok =
            OutgoingMessage::from_args(&[json!({"username": 5, "text": "hi", "clientId": "c1"})])
                .expect("username is ignored, whatever its type");
        assert_eq!(ok.client_id.as_deref(), Some("c1"));
    }

    #[test]
    fn client_ids_are_short_and_plain() {
        let uuid = "0b9f4c1e-7d2a-4c3b-9e5f-1a2b3c4d5e6f";
        assert!(OutgoingMessage::from_args(&[json!({"text": "hi", "clientId": uuid})]).is_ok());
        for bad in [
            String::new(),
            "x".repeat(MAX_CLIENT_ID_CHARS + 1),
            "x".repeat(27_000),
            "a b".into(),
            "é".into(),
            "id\u{202e}".into(),
        ] {
            assert!(
                OutgoingMessage::from_args(&[json!({"text": "hi", "clientId": bad})]).is_err(),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn join_carries_the_epoch_and_history_pages_parse() {
        let join = JoinRequest::from_args(&[json!("alice"), json!({"since": 7, "epoch": "e1"})])
            .expect("two args");
        assert_eq!(join.epoch.as_deref(), Some("e1"));
        let page = HistoryRequest::from_args(&[json!({"before": 10})]).expect("limit defaults");
        assert_eq!(page.limit, MAX_HISTORY_PAGE);
        assert!(HistoryRequest::from_args(&[json!({"limit": 10})]).is_err());
        let old_ack: JoinAck = serde_json::from_value(
            json!({"ok": true, "username": "a", "users": [], "history": []}),
        )
        .expect("an ack without the newer fields still parses");
        assert_eq!(
            (old_ack.epoch, old_ack.more, old_ack.gap),
            (None, false, None)
        );
    }
}
