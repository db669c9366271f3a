//! What the server sends a client unasked: one [`ServerEvent`] per Socket.IO event, written
//! once per broadcast ([`ServerEvent::to_json`]) and read by clients ([`ServerEvent::decode`]).

use serde::Deserialize;
use serde_json::Value;

use super::events;
use super::payload::{ChatMessage, TypingNotice};
use super::refusal::Refusal;

/// An event from the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerEvent {
    /// `message`: a message, as stored.
    Message(ChatMessage),
    /// `user-joined`: a name.
    UserJoined(String),
    /// `user-left`: a name.
    UserLeft(String),
    /// `users`: everyone joined, sorted.
    Users(Vec<String>),
    /// `typing`: someone started or stopped typing.
    Typing(TypingNotice),
    /// `error`: a request that asked for no ack was refused.
    Error(Refusal),
}

impl ServerEvent {
    /// The event's name.
    #[must_use]
    pub fn name(&self) -> &'static str {
        match self {
            Self::Message(_) => events::MESSAGE,
            Self::UserJoined(_) => events::USER_JOINED,
            Self::UserLeft(_) => events::USER_LEFT,
            Self::Users(_) => events::USERS,
            Self::Typing(_) => events::TYPING,
            Self::Error(_) => events::ERROR,
        }
    }

    /// The event as a Socket.IO event's JSON array: `["message",{…}]`.
    ///
    /// # Errors
    /// Never in practice: every payload is plain data.
    pub fn to_json(&self) -> serde_json::Result<String> {
        let name = self.name();
        match self {
            Self::Message(message) => serde_json::to_string(&(name, message)),
            Self::UserJoined(username) | Self::UserLeft(username) => {
                serde_json::to_string(&(name, username))
            }
            Self::Users(users) => serde_json::to_string(&(name, users)),
            Self::Typing(notice) => serde_json::to_string(&(name, notice)),
            Self::Error(refusal) => serde_json::to_string(&(name, refusal)),
        }
    }

    /// Reads the event `name` with its arguments; `Ok(None)` for a name this protocol does not
    /// define (a newer server's).
    ///
    /// # Errors
    /// An `invalid_payload` refusal when a known event's payload has the wrong shape.
    pub fn decode(name: &str, args: &[Value]) -> Result<Option<Self>, Refusal> {
        let first = args.first().unwrap_or(&Value::Null);
        let read =
            |expected: &str| Refusal::invalid_payload(format!("{name}: expected {expected}"));
        Ok(Some(match name {
            events::MESSAGE => {
                Self::Message(ChatMessage::deserialize(first).map_err(|_| read("a message"))?)
            }
            events::USER_JOINED => {
                Self::UserJoined(String::deserialize(first).map_err(|_| read("a username"))?)
            }
            events::USER_LEFT => {
                Self::UserLeft(String::deserialize(first).map_err(|_| read("a username"))?)
            }
            events::USERS => Self::Users(
                Vec::<String>::deserialize(first).map_err(|_| read("a list of usernames"))?,
            ),
            events::TYPING => Self::Typing(
                TypingNotice::deserialize(first).map_err(|_| read("{username, typing}"))?,
            ),
            events::ERROR => {
                Self::Error(Refusal::deserialize(first).map_err(|_| read("{code, message}"))?)
            }
            _ => return Ok(None),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chat::refusal::ErrorCode;

    fn round_trip(event: &ServerEvent) -> ServerEvent {
        let json: Value = serde_json::from_str(&event.to_json().expect("encodes")).expect("json");
        let Value::Array(parts) = json else {
            panic!("an array");
        };
        assert_eq!(parts.first().and_then(Value::as_str), Some(event.name()));
        ServerEvent::decode(event.name(), &parts[1..])
            .expect("decodes")
            .expect("a known event")
    }

    #[test]
    fn every_event_reads_back_as_written() {
        let message: ChatMessage = serde_json::from_value(serde_json::json!({
            "id": "m1", "username": "alice", "text": "hi", "timestamp": "2026-11-25T17:08:42.787Z", "seq": 3
        }))
        .expect("a message");
        for event in [
            ServerEvent::Message(message),
            ServerEvent::UserJoined("bob".into()),
            ServerEvent::UserLeft("bob".into()),
            ServerEvent::Users(vec!["alice".into(), "bob".into()]),
            ServerEvent::Typing(TypingNotice {
                username: "bob".into(),
                typing: true,
            }),
            ServerEvent::Error(Refusal::new(ErrorCode::NotJoined, "join the chat first")),
        ] {
            assert_eq!(round_trip(&event), event);
        }
    }

    #[test]
    fn the_tutorial_s_frames_read_and_unknown_events_are_skipped() {
        let joined = ServerEvent::decode("user-joined", &[serde_json::json!("alice")]);
        assert_eq!(joined, Ok(Some(ServerEvent::UserJoined("alice".into()))));
        assert_eq!(ServerEvent::decode("reaction", &[]), Ok(None));
        assert!(ServerEvent::decode("users", &[serde_json::json!("alice")]).is_err());
    }
}
