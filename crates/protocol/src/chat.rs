//! The chat's events and payloads (DESIGN.md, "Wire protocol"): the tutorial's four events kept
//! exactly, and Charla's additions.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Event names on the wire.
pub mod events {
    /// client → server: a username (string, or `{username, since}`), optionally `{since}` next.
    pub const JOIN: &str = "join";
    /// client → server: `{username, text, clientId?}`.
    pub const CHAT_MESSAGE: &str = "chat-message";
    /// both ways: `true`/`false` from a client, `{username, typing}` from the server.
    pub const TYPING: &str = "typing";
    /// server → client: one [`ChatMessage`](super::ChatMessage).
    pub const MESSAGE: &str = "message";
    /// server → client: a username.
    pub const USER_JOINED: &str = "user-joined";
    /// server → client: a username.
    pub const USER_LEFT: &str = "user-left";
    /// server → client: the presence snapshot, a list of usernames.
    pub const USERS: &str = "users";
    /// server → client: an [`ErrorBody`](super::ErrorBody) for a request that asked for no ack.
    pub const ERROR: &str = "error";
    /// client → server: `{before, limit}`, answered with a [`HistoryPage`](super::HistoryPage).
    pub const HISTORY: &str = "history";
}

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

/// A message as the server broadcasts it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
    pub timestamp: DateTime<Utc>,
    /// Position in the room's log; absent from the tutorial's server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seq: Option<u64>,
    /// The sender's idempotency key, when it gave one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
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
}

#[derive(Deserialize)]
struct JoinObject {
    username: String,
    #[serde(default)]
    since: Option<u64>,
    #[serde(default)]
    epoch: Option<String>,
}

#[derive(Deserialize)]
struct SinceObject {
    #[serde(default)]
    since: Option<u64>,
    #[serde(default)]
    epoch: Option<String>,
}

impl JoinRequest {
    /// Reads `join`'s arguments: `"alice"`, `"alice", {since, epoch}` or
    /// `{username, since, epoch}`.
    ///
    /// # Errors
    /// A description of the first argument that does not fit.
    pub fn from_args(args: &[Value]) -> Result<Self, PayloadError> {
        match args.first() {
            Some(Value::String(name)) => {
                let extra = match args.get(1) {
                    None | Some(Value::Null) => SinceObject {
                        since: None,
                        epoch: None,
                    },
                    Some(extra) => SinceObject::deserialize(extra).map_err(|_| {
                        PayloadError("the second argument must be {since?, epoch?}")
                    })?,
                };
                Ok(Self {
                    username: name.clone(),
                    since: extra.since,
                    epoch: extra.epoch,
                })
            }
            Some(object @ Value::Object(_)) => {
                let parsed = JoinObject::deserialize(object).map_err(|_| {
                    PayloadError("expected {username: string, since?: number, epoch?: string}")
                })?;
                Ok(Self {
                    username: parsed.username,
                    since: parsed.since,
                    epoch: parsed.epoch,
                })
            }
            _ => Err(PayloadError("expected a username")),
        }
    }
}

/// `history`'s argument: the messages before `before`, at most `limit` of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryRequest {
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

impl HistoryRequest {
    /// Reads `history`'s first argument.
    ///
    /// # Errors
    /// When it is not `{before: number, limit?: number}`.
    pub fn from_args(args: &[Value]) -> Result<Self, PayloadError> {
        let first = args
            .first()
            .ok_or(PayloadError("expected {before: number, limit?: number}"))?;
        Self::deserialize(first)
            .map_err(|_| PayloadError("expected {before: number, limit?: number}"))
    }
}

/// The answer to `history`: a page of older messages, oldest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryPage {
    /// Always `true`.
    pub ok: bool,
    /// The newest messages before the requested `seq`, oldest first.
    pub messages: Vec<ChatMessage>,
    /// Whether older messages than these are still kept.
    pub more: bool,
}

/// `seq`s a client asked for that the server no longer keeps (`from..=to`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Gap {
    /// The first missing `seq`.
    pub from: u64,
    /// The last missing `seq`.
    pub to: u64,
}

impl OutgoingMessage {
    /// Reads `chat-message`'s first argument.
    ///
    /// # Errors
    /// When it is not an object with a string `text` (and a string `clientId`, if any).
    pub fn from_args(args: &[Value]) -> Result<Self, PayloadError> {
        const SHAPE: PayloadError = PayloadError("expected {text: string, clientId?: string}");
        let object = args.first().and_then(Value::as_object).ok_or(SHAPE)?;
        let text = object.get("text").and_then(Value::as_str).ok_or(SHAPE)?;
        let client_id = match object.get("clientId") {
            None | Some(Value::Null) => None,
            Some(Value::String(id)) if client_id_is_valid(id) => Some(id.clone()),
            Some(Value::String(_)) => {
                return Err(PayloadError(
                    "clientId must be 1-64 characters of A-Z, a-z, 0-9, '-', '_', '.', ':'",
                ))
            }
            Some(_) => return Err(SHAPE),
        };
        // The author comes from the connection, never from here: any `username` is ignored.
        Ok(Self {
            username: None,
            text: text.to_owned(),
            client_id,
        })
    }
}

/// A payload of the wrong shape; the text says which shape was expected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("invalid payload: {0}")]
pub struct PayloadError(pub &'static str);

/// `typing` as the server relays it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TypingNotice {
    /// Who is typing.
    pub username: String,
    /// Started (`true`) or stopped.
    pub typing: bool,
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
}

/// Why a request was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The payload has the wrong shape.
    InvalidPayload,
    /// The username breaks the rules (1–32 characters, no control characters).
    InvalidUsername,
    /// Someone connected already uses this name (case-insensitive).
    UsernameTaken,
    /// `chat-message` or `typing` before `join`.
    NotJoined,
    /// A second `join` with another name on the same connection.
    AlreadyJoined,
    /// The text is empty (or only white space).
    EmptyMessage,
    /// The text is longer than the server allows.
    MessageTooLong,
    /// Over the rate limit (per name and per address); try again after `retryAfterMs`.
    RateLimited,
    /// The server could not do it now (storage failure, shutting down); try again later.
    Unavailable,
    /// The server does not know the event.
    UnknownEvent,
    /// A code this version does not know.
    #[serde(other)]
    Unknown,
}

/// A refusal's details.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorBody {
    /// What went wrong, for programs.
    pub code: ErrorCode,
    /// What went wrong, for people.
    pub message: String,
    /// For a refusal that means *later*: how long to wait before trying again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after_ms: Option<u64>,
}

impl ErrorBody {
    /// A refusal's details without a retry hint.
    #[must_use]
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            retry_after_ms: None,
        }
    }

    /// Whether the refusal means *later* (the same request may succeed if sent again), rather
    /// than *never*.
    #[must_use]
    pub fn is_transient(&self) -> bool {
        self.code.is_transient()
    }
}

impl ErrorCode {
    /// Whether a request refused with this code may succeed when sent again later, unchanged.
    #[must_use]
    pub fn is_transient(self) -> bool {
        matches!(self, Self::RateLimited | Self::Unavailable)
    }
}

/// A refused request's ack: `{ok: false, error: {code, message}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refusal {
    /// Always `false`.
    pub ok: bool,
    /// The details.
    pub error: ErrorBody,
}

impl Refusal {
    /// A refusal with the given code and message.
    #[must_use]
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self::from_body(ErrorBody::new(code, message))
    }

    /// A refusal with the given details.
    #[must_use]
    pub fn from_body(error: ErrorBody) -> Self {
        Self { ok: false, error }
    }
}

/// Reads an ack's first argument: `Ok(T)` when `ok` is true, the refusal's details otherwise.
///
/// # Errors
/// The server's [`ErrorBody`], or an `invalid_payload` body when the ack fits neither shape.
pub fn parse_ack<T: serde::de::DeserializeOwned>(value: &Value) -> Result<T, ErrorBody> {
    let malformed = || {
        ErrorBody::new(
            ErrorCode::InvalidPayload,
            format!("unexpected ack: {value}"),
        )
    };
    match value.get("ok") {
        Some(Value::Bool(false)) => {
            Err(Refusal::deserialize(value).map_err(|_| malformed())?.error)
        }
        _ => T::deserialize(value).map_err(|_| malformed()),
    }
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
                epoch: None,
            }
        );
        assert!(JoinRequest::from_args(&[json!(null)]).is_err());
        assert!(JoinRequest::from_args(&[]).is_err());
        assert!(JoinRequest::from_args(&[json!({"since": 1})]).is_err());
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

    #[test]
    fn acks_parse_into_success_or_refusal() {
        let refused =
            json!({"ok": false, "error": {"code": "rate_limited", "message": "slow down"}});
        let error = parse_ack::<SendAck>(&refused).expect_err("a refusal");
        assert_eq!(error.code, ErrorCode::RateLimited);
        let accepted =
            json!({"ok": true, "id": "m1", "seq": 4, "timestamp": "2026-11-25T17:08:42.787Z"});
        assert_eq!(parse_ack::<SendAck>(&accepted).expect("accepted").seq, 4);
    }
}
