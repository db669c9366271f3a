//! Refusals: the one type for "the server did not do what you asked", whether the request broke
//! a rule (a username, a text), had the wrong shape, or came at the wrong time.
//!
//! On the wire a refusal is the ack `{ok: false, error: {code, message, retryAfterMs?}}`, or,
//! for a request that asked for no ack, the `error` event carrying `{code, message, …}`.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Why a request was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The payload has the wrong shape.
    InvalidPayload,
    /// The username breaks the rules (1–32 characters, no control characters).
    InvalidUsername,
    /// Someone connected already uses this name (case-insensitive); only for names nobody owns.
    UsernameTaken,
    /// The name belongs to someone else: joining it needs one of its devices' keys (or a link
    /// code from one of them).
    NameOwned,
    /// The link code is wrong, used already or expired.
    InvalidLink,
    /// `device-link` or `device-forget` from a connection that joined as a guest (without a key).
    NotOwned,
    /// An operator released the name this connection used; it was disconnected.
    NameReleased,
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
    /// Not a room name (1–32 characters of `a-z`, `0-9`, `-`, `_`), or a room that cannot be
    /// left (`general`, a DM).
    InvalidRoom,
    /// `room-create` of a name another room has.
    RoomExists,
    /// No room of that name, or one the asking user may not see (somebody else's DM).
    NoSuchRoom,
    /// The room exists, but the asking user is not a member.
    NotMember,
    /// `dm-open` with a name nobody owns.
    NoSuchUser,
    /// A limit on rooms was reached: rooms on the server, or rooms one name is in.
    LimitReached,
    /// A search ran past the server's time budget and was stopped: more words, or longer
    /// ones, make it narrower. Sending it again unchanged would fail again.
    SearchTooBroad,
    /// No message of that `seq` is kept in the room (never sent, or removed by retention).
    NoSuchMessage,
    /// Only the message's author may edit or delete it.
    NotAuthor,
    /// The message was deleted: it cannot be edited or reacted to.
    MessageDeleted,
    /// Not an emoji a reaction may be.
    InvalidEmoji,
    /// A code this version does not know.
    #[serde(other)]
    Unknown,
}

impl ErrorCode {
    /// Whether a request refused with this code may succeed when sent again later, unchanged.
    #[must_use]
    pub fn is_transient(self) -> bool {
        matches!(self, Self::RateLimited | Self::Unavailable)
    }
}

/// A refused request: what went wrong, for programs and for people, and when to try again if
/// it may succeed later.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
#[error("{message}")]
pub struct Refusal {
    /// What went wrong, for programs.
    pub code: ErrorCode,
    /// What went wrong, for people.
    pub message: String,
    /// For a refusal that means *later*: how long to wait before trying again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub retry_after_ms: Option<u64>,
}

/// A refusal as an ack carries it.
#[derive(Serialize, Deserialize)]
struct RefusedAck<E> {
    ok: bool,
    error: E,
}

impl Refusal {
    /// A refusal that means *never* (the same request will be refused again).
    #[must_use]
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            retry_after_ms: None,
        }
    }

    /// A refusal that means *later*, after `retry_after_ms`.
    #[must_use]
    pub fn later(code: ErrorCode, message: impl Into<String>, retry_after_ms: u64) -> Self {
        Self {
            retry_after_ms: Some(retry_after_ms),
            ..Self::new(code, message)
        }
    }

    /// A payload of the wrong shape; `expected` says which shape was expected.
    #[must_use]
    pub fn invalid_payload(expected: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidPayload, expected)
    }

    /// Whether the refusal means *later* (the same request may succeed if sent again), rather
    /// than *never*.
    #[must_use]
    pub fn is_transient(&self) -> bool {
        self.code.is_transient()
    }

    /// Reads a refused request's ack (`{ok: false, error}`); `None` for anything else.
    #[must_use]
    pub fn from_ack(ack: &Value) -> Option<Self> {
        RefusedAck::<Self>::deserialize(ack)
            .ok()
            .filter(|refused| !refused.ok)
            .map(|refused| refused.error)
    }

    /// The refusal as the answer to a request that asked for an ack.
    ///
    /// # Errors
    /// Never in practice: the fields are plain strings and numbers.
    pub fn to_ack_json(&self) -> serde_json::Result<String> {
        serde_json::to_string(&RefusedAck {
            ok: false,
            error: self,
        })
    }
}

/// Reads an ack's first argument: `Ok(T)` when `ok` is true, the [`Refusal`] otherwise.
///
/// # Errors
/// The server's refusal, or an `invalid_payload` one when the ack fits neither shape.
pub fn parse_ack<T: serde::de::DeserializeOwned>(value: &Value) -> Result<T, Refusal> {
    let malformed = || Refusal::invalid_payload(format!("unexpected ack: {value}"));
    match value.get("ok") {
        Some(Value::Bool(false)) => Err(RefusedAck::<Refusal>::deserialize(value)
            .map_err(|_| malformed())?
            .error),
        _ => T::deserialize(value).map_err(|_| malformed()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chat::payload::SendAck;
    use serde_json::json;

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

    #[test]
    fn a_refusal_is_written_as_the_ack_it_parses_from() {
        let refusal = Refusal::later(ErrorCode::RateLimited, "too many messages", 250);
        let ack: Value =
            serde_json::from_str(&refusal.to_ack_json().expect("encodes")).expect("json");
        assert_eq!(
            ack,
            json!({"ok": false, "error": {"code": "rate_limited", "message": "too many messages", "retryAfterMs": 250}})
        );
        assert_eq!(parse_ack::<SendAck>(&ack), Err(refusal.clone()));
        assert_eq!(Refusal::from_ack(&ack), Some(refusal));
        assert_eq!(Refusal::from_ack(&json!({"ok": true, "seq": 1})), None);
        assert!(Refusal::new(ErrorCode::Unknown, "x")
            .retry_after_ms
            .is_none());
    }
}
