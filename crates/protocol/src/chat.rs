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
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JoinRequest {
    /// The requested username, untrimmed.
    pub username: String,
    /// The last `seq` the client has; the server replays what came after.
    pub since: Option<u64>,
}

#[derive(Deserialize)]
struct JoinObject {
    username: String,
    #[serde(default)]
    since: Option<u64>,
}

#[derive(Deserialize)]
struct SinceObject {
    #[serde(default)]
    since: Option<u64>,
}

impl JoinRequest {
    /// Reads `join`'s arguments: `"alice"`, `"alice", {since}` or `{username, since}`.
    ///
    /// # Errors
    /// A description of the first argument that does not fit.
    pub fn from_args(args: &[Value]) -> Result<Self, PayloadError> {
        match args.first() {
            Some(Value::String(name)) => {
                let since = match args.get(1) {
                    None | Some(Value::Null) => None,
                    Some(extra) => {
                        SinceObject::deserialize(extra)
                            .map_err(|_| PayloadError("the second argument must be {since}"))?
                            .since
                    }
                };
                Ok(Self {
                    username: name.clone(),
                    since,
                })
            }
            Some(object @ Value::Object(_)) => {
                let parsed = JoinObject::deserialize(object)
                    .map_err(|_| PayloadError("expected {username: string, since?: number}"))?;
                Ok(Self {
                    username: parsed.username,
                    since: parsed.since,
                })
            }
            _ => Err(PayloadError("expected a username")),
        }
    }
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
            Some(Value::String(id)) => Some(id.clone()),
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
    /// Recent history, or what came after `since`.
    pub history: Vec<ChatMessage>,
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
    /// Over the per-connection rate limit; try again later.
    RateLimited,
    /// The server could not do it (storage failure, shutting down).
    Unavailable,
    /// A code this version does not know.
    #[serde(other)]
    Unknown,
}

/// A refusal's details.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// What went wrong, for programs.
    pub code: ErrorCode,
    /// What went wrong, for people.
    pub message: String,
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
        Self {
            ok: false,
            error: ErrorBody {
                code,
                message: message.into(),
            },
        }
    }
}

/// Reads an ack's first argument: `Ok(T)` when `ok` is true, the refusal's details otherwise.
///
/// # Errors
/// The server's [`ErrorBody`], or an `invalid_payload` body when the ack fits neither shape.
pub fn parse_ack<T: serde::de::DeserializeOwned>(value: &Value) -> Result<T, ErrorBody> {
    let malformed = || ErrorBody {
        code: ErrorCode::InvalidPayload,
        message: format!("unexpected ack: {value}"),
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
                since: None
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
                since: Some(3)
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
