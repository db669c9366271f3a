//! What the server sends a client unasked: one [`ServerEvent`] per Socket.IO event, written
//! once per broadcast ([`ServerEvent::to_json`]) and read by clients ([`ServerEvent::decode`]).

use std::collections::HashSet;

use serde::Deserialize;
use serde_json::Value;

use super::events;
use super::message::ChatMessage;
use super::payload::TypingNotice;
use super::refusal::Refusal;
use super::rooms::{MemberChange, ReadMarker, RoomInfo, TopicChange};

/// An event from the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerEvent {
    /// `message`: a message, as stored.
    Message(ChatMessage),
    /// `user-joined`: a name, and whether it is a guest's (nobody owns it).
    UserJoined {
        /// Who.
        username: String,
        /// Nobody owns the name.
        guest: bool,
    },
    /// `user-left`: a name.
    UserLeft(String),
    /// `users`: everyone joined, sorted, and which of them are guests.
    Users {
        /// Every name joined, once each.
        users: Vec<String>,
        /// Those of `users` nobody owns.
        guests: Vec<String>,
    },
    /// `typing`: someone started or stopped typing.
    Typing(TypingNotice),
    /// `error`: a request that asked for no ack was refused.
    Error(Refusal),
    /// `member-joined`: someone became a member of a room.
    MemberJoined(MemberChange),
    /// `member-left`: someone left a room.
    MemberLeft(MemberChange),
    /// `room-updated`: a whole room, to someone who learns of it.
    RoomUpdated(RoomInfo),
    /// `room-topic`: a room's topic changed.
    RoomTopic(TopicChange),
    /// `read-marker`: the user's read marker of a room moved (on any of their devices).
    ReadMarker(ReadMarker),
    /// `message-updated`: a message as it is after a change (edit, delete, reaction, pin, a
    /// reply in its thread).
    MessageUpdated(ChatMessage),
    /// `thread-message`: a reply in a thread, not also sent to the room.
    ThreadMessage(ChatMessage),
}

impl ServerEvent {
    /// The event's name.
    #[must_use]
    pub fn name(&self) -> &'static str {
        match self {
            Self::Message(_) => events::MESSAGE,
            Self::UserJoined { .. } => events::USER_JOINED,
            Self::UserLeft(_) => events::USER_LEFT,
            Self::Users { .. } => events::USERS,
            Self::Typing(_) => events::TYPING,
            Self::Error(_) => events::ERROR,
            Self::MemberJoined(_) => events::MEMBER_JOINED,
            Self::MemberLeft(_) => events::MEMBER_LEFT,
            Self::RoomUpdated(_) => events::ROOM_UPDATED,
            Self::RoomTopic(_) => events::ROOM_TOPIC,
            Self::ReadMarker(_) => events::READ_MARKER,
            Self::MessageUpdated(_) => events::MESSAGE_UPDATED,
            Self::ThreadMessage(_) => events::THREAD_MESSAGE,
        }
    }

    /// The event as a Socket.IO event's JSON array: `["message",{…}]`. What Charla adds to the
    /// tutorial's presence events goes in a second argument, which the tutorial's clients never
    /// read: `["user-joined","bob",{"guest":true}]`, `["users",["ann","bob"],{"guests":["bob"]}]`.
    ///
    /// # Errors
    /// Never in practice: every payload is plain data.
    pub fn to_json(&self) -> serde_json::Result<String> {
        let name = self.name();
        match self {
            Self::Message(message)
            | Self::MessageUpdated(message)
            | Self::ThreadMessage(message) => serde_json::to_string(&(name, message)),
            Self::UserJoined {
                username,
                guest: true,
            } => serde_json::to_string(&(name, username, serde_json::json!({ "guest": true }))),
            Self::UserJoined { username, .. } | Self::UserLeft(username) => {
                serde_json::to_string(&(name, username))
            }
            Self::Users { users, guests } if guests.is_empty() => {
                serde_json::to_string(&(name, users))
            }
            // The shorter of the two lists: a big room of guests costs a few bytes more, not
            // twice its size.
            Self::Users { users, guests } if guests.len() * 2 > users.len() => {
                let guests: HashSet<&String> = guests.iter().collect();
                let owned: Vec<&String> = users.iter().filter(|u| !guests.contains(u)).collect();
                serde_json::to_string(&(name, users, serde_json::json!({ "owned": owned })))
            }
            Self::Users { users, guests } => {
                serde_json::to_string(&(name, users, serde_json::json!({ "guests": guests })))
            }
            Self::Typing(notice) => serde_json::to_string(&(name, notice)),
            Self::Error(refusal) => serde_json::to_string(&(name, refusal)),
            Self::MemberJoined(change) | Self::MemberLeft(change) => {
                serde_json::to_string(&(name, change))
            }
            Self::RoomUpdated(info) => serde_json::to_string(&(name, info)),
            Self::RoomTopic(change) => serde_json::to_string(&(name, change)),
            Self::ReadMarker(marker) => serde_json::to_string(&(name, marker)),
        }
    }

    /// Reads the event `name` with its arguments; `Ok(None)` for a name this protocol does not
    /// define (a newer server's).
    ///
    /// # Errors
    /// An `invalid_payload` refusal when a known event's payload has the wrong shape.
    pub fn decode(name: &str, args: &[Value]) -> Result<Option<Self>, Refusal> {
        let first = args.first().unwrap_or(&Value::Null);
        let second = args.get(1).unwrap_or(&Value::Null);
        let read =
            |expected: &str| Refusal::invalid_payload(format!("{name}: expected {expected}"));
        Ok(Some(match name {
            events::MESSAGE => {
                Self::Message(ChatMessage::deserialize(first).map_err(|_| read("a message"))?)
            }
            events::MESSAGE_UPDATED => Self::MessageUpdated(
                ChatMessage::deserialize(first).map_err(|_| read("a message"))?,
            ),
            events::THREAD_MESSAGE => {
                Self::ThreadMessage(ChatMessage::deserialize(first).map_err(|_| read("a message"))?)
            }
            events::USER_JOINED => Self::UserJoined {
                username: String::deserialize(first).map_err(|_| read("a username"))?,
                guest: second.get("guest").and_then(Value::as_bool) == Some(true),
            },
            events::USER_LEFT => {
                Self::UserLeft(String::deserialize(first).map_err(|_| read("a username"))?)
            }
            events::USERS => {
                let users =
                    Vec::<String>::deserialize(first).map_err(|_| read("a list of usernames"))?;
                let list = |field: &str| match second.get(field) {
                    None | Some(Value::Null) => Ok(None),
                    Some(names) => Vec::<String>::deserialize(names)
                        .map(Some)
                        .map_err(|_| read("{guests} or {owned}: a list of usernames")),
                };
                let guests = match (list("guests")?, list("owned")?) {
                    (Some(guests), _) => guests,
                    (None, Some(owned)) => {
                        let owned: HashSet<String> = owned.into_iter().collect();
                        users
                            .iter()
                            .filter(|u| !owned.contains(*u))
                            .cloned()
                            .collect()
                    }
                    (None, None) => Vec::new(),
                };
                Self::Users { users, guests }
            }
            events::TYPING => Self::Typing(
                TypingNotice::deserialize(first).map_err(|_| read("{username, typing, room?}"))?,
            ),
            events::MEMBER_JOINED => Self::MemberJoined(
                MemberChange::deserialize(first).map_err(|_| read("{room, username}"))?,
            ),
            events::MEMBER_LEFT => Self::MemberLeft(
                MemberChange::deserialize(first).map_err(|_| read("{room, username}"))?,
            ),
            events::ROOM_UPDATED => Self::RoomUpdated(
                RoomInfo::deserialize(first).map_err(|_| read("{room, kind, topic, members}"))?,
            ),
            events::ROOM_TOPIC => Self::RoomTopic(
                TopicChange::deserialize(first).map_err(|_| read("{room, topic, username?}"))?,
            ),
            events::READ_MARKER => Self::ReadMarker(
                ReadMarker::deserialize(first)
                    .map_err(|_| read("{room, read, unread, mentions}"))?,
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
        let mut changed = message.clone();
        changed.living.rev = 4;
        changed.living.reactions = vec![crate::chat::Reaction {
            emoji: "👍".into(),
            names: vec!["bob".into()],
        }];
        for event in [
            ServerEvent::Message(message),
            ServerEvent::MessageUpdated(changed.clone()),
            ServerEvent::ThreadMessage(changed),
            ServerEvent::UserJoined {
                username: "bob".into(),
                guest: false,
            },
            ServerEvent::UserJoined {
                username: "bob".into(),
                guest: true,
            },
            ServerEvent::UserLeft("bob".into()),
            ServerEvent::Users {
                users: vec!["alice".into(), "bob".into()],
                guests: Vec::new(),
            },
            ServerEvent::Users {
                users: vec!["alice".into(), "bob".into()],
                guests: vec!["bob".into()],
            },
            ServerEvent::Users {
                users: vec!["alice".into(), "bob".into(), "carol".into()],
                guests: vec!["alice".into(), "carol".into()],
            },
            ServerEvent::Users {
                users: vec!["alice".into(), "bob".into()],
                guests: vec!["alice".into(), "bob".into()],
            },
            ServerEvent::Typing(TypingNotice {
                username: "bob".into(),
                typing: true,
                room: Some("ops".into()),
            }),
            ServerEvent::Error(Refusal::new(ErrorCode::NotJoined, "join the chat first")),
            ServerEvent::MemberJoined(MemberChange {
                room: "ops".into(),
                username: "ana".into(),
            }),
            ServerEvent::MemberLeft(MemberChange {
                room: "ops".into(),
                username: "ana".into(),
            }),
            ServerEvent::RoomUpdated(RoomInfo {
                room: "dm:4".into(),
                kind: crate::chat::RoomKind::Dm,
                topic: String::new(),
                members: vec!["ana".into(), "bo".into()],
                last_seq: 0,
            }),
            ServerEvent::RoomTopic(TopicChange {
                room: "ops".into(),
                topic: "v2 ships friday".into(),
                username: Some("bo".into()),
            }),
            ServerEvent::RoomTopic(TopicChange {
                room: "ops".into(),
                topic: String::new(),
                username: None,
            }),
            ServerEvent::ReadMarker(ReadMarker {
                room: "ops".into(),
                read: 4,
                unread: 1,
                mentions: 0,
            }),
        ] {
            assert_eq!(round_trip(&event), event);
        }
    }

    #[test]
    fn the_tutorial_s_frames_read_and_unknown_events_are_skipped() {
        let joined = ServerEvent::decode("user-joined", &[serde_json::json!("alice")]);
        assert_eq!(
            joined,
            Ok(Some(ServerEvent::UserJoined {
                username: "alice".into(),
                guest: false
            }))
        );
        let owned_only = ServerEvent::Users {
            users: vec!["alice".into()],
            guests: Vec::new(),
        };
        assert_eq!(
            owned_only.to_json().expect("json"),
            r#"["users",["alice"]]"#,
            "the tutorial's shape when there is nothing to add"
        );
        let all_guests = ServerEvent::Users {
            users: vec!["a".into(), "b".into()],
            guests: vec!["a".into(), "b".into()],
        };
        assert_eq!(
            all_guests.to_json().expect("json"),
            r#"["users",["a","b"],{"owned":[]}]"#,
            "the shorter list"
        );
        assert_eq!(ServerEvent::decode("reaction", &[]), Ok(None));
        assert!(ServerEvent::decode("users", &[serde_json::json!("alice")]).is_err());
    }
}
