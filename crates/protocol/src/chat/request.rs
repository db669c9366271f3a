//! What a client asks of the server: one [`ClientRequest`] per Socket.IO event, read from the
//! event's name and arguments ([`ClientRequest::decode`]) and written back to them
//! ([`ClientRequest::encode`]).

use serde_json::{json, Value};

use serde::{Deserialize, Serialize};

use super::change::{ChangeRequest, ChangesRequest, MessageChange};
use super::events;
use super::payload::{HistoryRequest, JoinRequest, OutgoingMessage};
use super::refusal::Refusal;
use super::rooms::{first_arg, SearchRequest};
use super::thread::ThreadRequest;

/// A client's request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientRequest {
    /// `join`: take a name, get the users and the history the client lacks.
    Join(JoinRequest),
    /// `chat-message`: say something.
    ChatMessage(OutgoingMessage),
    /// `typing`: started or stopped typing, in a room (`None`: `general`).
    Typing {
        /// The room, unless `general`.
        room: Option<String>,
        /// Started (`true`) or stopped.
        typing: bool,
    },
    /// `history`: a page of older messages.
    History(HistoryRequest),
    /// `device-link`: a link code for another device of this name's owner.
    DeviceLink,
    /// `device-forget`: revoke this device's key.
    DeviceForget,
    /// `room-create`: a new room, with its creator as its first member.
    RoomCreate(RoomTopic),
    /// `room-join`: become a member of a room; `since` is the last `seq` the client has of it.
    RoomJoin(RoomJoin),
    /// `room-leave`: stop being a member.
    RoomLeave(RoomRef),
    /// `rooms`: the public rooms.
    Rooms,
    /// `room-topic`: change what the room is for.
    RoomTopicChange(RoomTopic),
    /// `dm-open`: the direct message with another owned name (made on first use).
    DmOpen(DmOpen),
    /// `read`: every message of the room up to `seq` is read.
    Read(ReadUpTo),
    /// `search`: messages of the user's rooms and DMs that match words.
    Search(SearchRequest),
    /// `message-edit`, `message-delete`, `reaction`, `pin`: a change to a message.
    Change(ChangeRequest),
    /// `changes`: the messages of a room changed after a `rev`.
    Changes(ChangesRequest),
    /// `pins`: a room's pinned messages.
    Pins(RoomOrGeneral),
    /// `thread`: a page of one thread.
    Thread(ThreadRequest),
    /// `threads`: the threads the name follows.
    Threads,
    /// An event this protocol does not define (the tutorial's server ignores these; Charla's
    /// refuses it when an answer is asked for).
    Unknown(String),
}

impl ClientRequest {
    /// Reads the event `name` with its arguments.
    ///
    /// # Errors
    /// An `invalid_payload` refusal that says which shape was expected.
    pub fn decode(name: &str, args: &[Value]) -> Result<Self, Refusal> {
        Ok(match name {
            events::JOIN => Self::Join(JoinRequest::from_args(args)?),
            events::CHAT_MESSAGE => Self::ChatMessage(OutgoingMessage::from_args(args)?),
            events::TYPING => {
                if let Some(Value::Bool(typing)) = args.first() {
                    Self::Typing {
                        room: None,
                        typing: *typing,
                    }
                } else {
                    let typing: RoomTyping =
                        first_arg(args, "true, false or {room: string, typing: boolean}")?;
                    Self::Typing {
                        room: Some(typing.room),
                        typing: typing.typing,
                    }
                }
            }
            events::HISTORY => Self::History(HistoryRequest::from_args(args)?),
            events::DEVICE_LINK => Self::DeviceLink,
            events::DEVICE_FORGET => Self::DeviceForget,
            events::ROOM_CREATE => {
                Self::RoomCreate(first_arg(args, "{room: string, topic?: string}")?)
            }
            events::ROOM_JOIN => Self::RoomJoin(first_arg(args, "{room: string, since?: number}")?),
            events::ROOM_LEAVE => Self::RoomLeave(first_arg(args, "{room: string}")?),
            events::ROOMS => Self::Rooms,
            events::ROOM_TOPIC => {
                Self::RoomTopicChange(first_arg(args, "{room: string, topic: string}")?)
            }
            events::DM_OPEN => Self::DmOpen(first_arg(args, "{username: string}")?),
            events::READ => Self::Read(first_arg(args, "{room: string, seq: number}")?),
            events::SEARCH => Self::Search(first_arg(
                args,
                "{query: string, room?: string, before?: number, limit?: number, offset?: number}",
            )?),
            events::MESSAGE_EDIT | events::MESSAGE_DELETE | events::REACTION | events::PIN => {
                Self::Change(ChangeRequest::from_args(name, args)?)
            }
            events::CHANGES => Self::Changes(first_arg(
                args,
                "{room?: string, after: number, upto?: number}",
            )?),
            events::PINS => Self::Pins(first_arg(args, "{room?: string}")?),
            events::THREAD => Self::Thread(first_arg(
                args,
                "{room?: string, root: number, before?: number, limit?: number}",
            )?),
            events::THREADS => Self::Threads,
            other => Self::Unknown(other.to_owned()),
        })
    }

    /// The event's name.
    #[must_use]
    pub fn name(&self) -> &str {
        match self {
            Self::Join(_) => events::JOIN,
            Self::ChatMessage(_) => events::CHAT_MESSAGE,
            Self::Typing { .. } => events::TYPING,
            Self::History(_) => events::HISTORY,
            Self::DeviceLink => events::DEVICE_LINK,
            Self::DeviceForget => events::DEVICE_FORGET,
            Self::RoomCreate(_) => events::ROOM_CREATE,
            Self::RoomJoin(_) => events::ROOM_JOIN,
            Self::RoomLeave(_) => events::ROOM_LEAVE,
            Self::Rooms => events::ROOMS,
            Self::RoomTopicChange(_) => events::ROOM_TOPIC,
            Self::DmOpen(_) => events::DM_OPEN,
            Self::Read(_) => events::READ,
            Self::Search(_) => events::SEARCH,
            Self::Change(request) => match request.change {
                MessageChange::Edit(_) => events::MESSAGE_EDIT,
                MessageChange::Delete => events::MESSAGE_DELETE,
                MessageChange::React { .. } => events::REACTION,
                MessageChange::Pin { .. } => events::PIN,
            },
            Self::Changes(_) => events::CHANGES,
            Self::Pins(_) => events::PINS,
            Self::Thread(_) => events::THREAD,
            Self::Threads => events::THREADS,
            Self::Unknown(name) => name,
        }
    }

    /// The event's arguments, in the form every server understands: `join` as
    /// `"alice", {since, epoch?, key?, link?}` (the tutorial's server reads the name and
    /// ignores the rest),
    /// `chat-message` with the author's name in it (the tutorial's server takes it from there),
    /// `typing` in `general` as the tutorial's `true`/`false`.
    #[must_use]
    pub fn encode(&self) -> Vec<Value> {
        match self {
            Self::Join(join) => {
                let mut resume = json!({ "since": join.since.unwrap_or(0) });
                for (field, value) in [
                    ("epoch", &join.epoch),
                    ("key", &join.key),
                    ("link", &join.link),
                ] {
                    if let Some(value) = value {
                        resume[field] = json!(value);
                    }
                }
                if !join.rooms.is_empty() {
                    resume["rooms"] = json!(join.rooms);
                }
                if !join.revs.is_empty() {
                    resume["revs"] = json!(join.revs);
                }
                vec![json!(join.username), resume]
            }
            Self::ChatMessage(message) => {
                let mut body = json!({ "username": message.username, "text": message.text });
                if let Some(id) = &message.client_id {
                    body["clientId"] = json!(id);
                }
                if let Some(room) = &message.room {
                    body["room"] = json!(room);
                }
                if let Some(root) = message.thread {
                    body["thread"] = json!(root);
                    if message.also_in_room {
                        body["alsoInRoom"] = json!(true);
                    }
                }
                vec![body]
            }
            Self::Typing { room: None, typing } => vec![json!(typing)],
            Self::Typing {
                room: Some(room),
                typing,
            } => vec![json!({ "room": room, "typing": typing })],
            Self::History(request) => vec![json!(request)],
            Self::RoomCreate(request) | Self::RoomTopicChange(request) => vec![json!(request)],
            Self::RoomJoin(request) => vec![json!(request)],
            Self::RoomLeave(request) => vec![json!(request)],
            Self::DmOpen(request) => vec![json!(request)],
            Self::Read(request) => vec![json!(request)],
            Self::Search(request) => vec![json!(request)],
            Self::Change(request) => vec![request.to_json()],
            Self::Changes(request) => vec![json!(request)],
            Self::Pins(request) => vec![json!(request)],
            Self::Thread(request) => vec![json!(request)],
            Self::DeviceLink
            | Self::DeviceForget
            | Self::Rooms
            | Self::Threads
            | Self::Unknown(_) => Vec::new(),
        }
    }
}

/// `typing` in a room other than `general`.
#[derive(Deserialize)]
struct RoomTyping {
    room: String,
    typing: bool,
}

/// A request that names a room and nothing else (`room-leave`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoomRef {
    /// The room.
    pub room: String,
}

/// A request about one room, `general` when it names none (`pins`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoomOrGeneral {
    /// The room (default `general`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub room: Option<String>,
}

/// `room-create` and `room-topic`: a room and its topic.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoomTopic {
    /// The room.
    pub room: String,
    /// What it is for (≤ 200 characters; empty clears it).
    #[serde(default)]
    pub topic: String,
}

/// `room-join`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoomJoin {
    /// The room.
    pub room: String,
    /// The last `seq` the client has of it: the answer replays what came after.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<u64>,
    /// The highest change `rev` the client has of it: the answer's `changes` are the messages
    /// up to `since` changed after it (0 or absent: all changed ones).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rev: Option<u64>,
}

/// `dm-open`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DmOpen {
    /// The other person's name.
    pub username: String,
}

/// `read`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReadUpTo {
    /// The room.
    pub room: String,
    /// Every message up to this `seq` is read.
    pub seq: u64,
    /// Only the replies of this thread (its root's `seq`) up to `seq` are read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thread: Option<u64>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chat::refusal::ErrorCode;

    fn round_trip(request: &ClientRequest) -> ClientRequest {
        ClientRequest::decode(request.name(), &request.encode()).expect("decodes")
    }

    #[test]
    fn every_request_reads_back_as_written() {
        let join = ClientRequest::Join(JoinRequest {
            username: "alice".into(),
            since: Some(7),
            epoch: Some("e1".into()),
            key: Some("ab".repeat(32)),
            link: Some("0123456789ABCDEF".into()),
            rooms: [("ops".to_owned(), 3)].into_iter().collect(),
            revs: [("general".to_owned(), 2)].into_iter().collect(),
        });
        assert_eq!(round_trip(&join), join);
        let message = ClientRequest::ChatMessage(OutgoingMessage {
            username: Some("alice".into()),
            text: "hi".into(),
            client_id: Some("c-1".into()),
            room: Some("ops".into()),
            thread: Some(3),
            also_in_room: true,
        });
        // The server never takes the author from the body.
        let ClientRequest::ChatMessage(read) = round_trip(&message) else {
            panic!("a chat message");
        };
        assert_eq!((read.username, read.text.as_str()), (None, "hi"));
        assert_eq!(read.client_id.as_deref(), Some("c-1"));
        assert_eq!(read.room.as_deref(), Some("ops"));
        assert_eq!((read.thread, read.also_in_room), (Some(3), true));
        for request in [
            ClientRequest::DeviceLink,
            ClientRequest::DeviceForget,
            ClientRequest::Rooms,
            ClientRequest::Typing {
                room: None,
                typing: true,
            },
            ClientRequest::Typing {
                room: Some("ops".into()),
                typing: false,
            },
            ClientRequest::History(HistoryRequest {
                room: None,
                before: 10,
                limit: 50,
            }),
            ClientRequest::History(HistoryRequest {
                room: Some("dm:3".into()),
                before: 10,
                limit: 50,
            }),
            ClientRequest::RoomCreate(RoomTopic {
                room: "ops".into(),
                topic: "pager".into(),
            }),
            ClientRequest::RoomTopicChange(RoomTopic {
                room: "ops".into(),
                topic: String::new(),
            }),
            ClientRequest::RoomJoin(RoomJoin {
                room: "ops".into(),
                since: Some(4),
                rev: Some(2),
            }),
            ClientRequest::Changes(ChangesRequest {
                room: Some("ops".into()),
                after: 3,
                upto: Some(9),
            }),
            ClientRequest::Pins(RoomOrGeneral { room: None }),
            ClientRequest::RoomLeave(RoomRef { room: "ops".into() }),
            ClientRequest::DmOpen(DmOpen {
                username: "ana".into(),
            }),
            ClientRequest::Read(ReadUpTo {
                room: "ops".into(),
                seq: 9,
                thread: None,
            }),
            ClientRequest::Read(ReadUpTo {
                room: "ops".into(),
                seq: 9,
                thread: Some(4),
            }),
            ClientRequest::Thread(ThreadRequest {
                room: None,
                root: 4,
                before: Some(9),
                limit: 20,
            }),
            ClientRequest::Threads,
            ClientRequest::Search(SearchRequest {
                query: "deploy".into(),
                room: None,
                before: Some(3),
                limit: 5,
                offset: 10,
            }),
        ] {
            assert_eq!(round_trip(&request), request);
        }
    }

    #[test]
    fn a_join_is_sent_in_the_tutorial_s_form() {
        let join = ClientRequest::Join(JoinRequest {
            username: "bob".into(),
            ..JoinRequest::default()
        });
        assert_eq!(join.encode(), vec![json!("bob"), json!({"since": 0})]);
    }

    #[test]
    fn changes_are_named_by_what_they_do() {
        use crate::chat::change::MessageRef;
        for (change, name) in [
            (MessageChange::Edit("x".into()), events::MESSAGE_EDIT),
            (MessageChange::Delete, events::MESSAGE_DELETE),
            (
                MessageChange::React {
                    emoji: "👍".into(),
                    on: true,
                },
                events::REACTION,
            ),
            (MessageChange::Pin { on: false }, events::PIN),
        ] {
            let request = ClientRequest::Change(ChangeRequest {
                target: MessageRef {
                    room: None,
                    seq: 1,
                    client_id: None,
                },
                change,
            });
            assert_eq!(request.name(), name);
            assert_eq!(round_trip(&request), request);
        }
    }

    #[test]
    fn wrong_shapes_are_refused_and_unknown_names_kept() {
        let refused = ClientRequest::decode(events::TYPING, &[json!("yes")]).expect_err("shape");
        assert_eq!(refused.code, ErrorCode::InvalidPayload);
        assert!(ClientRequest::decode(events::JOIN, &[]).is_err());
        assert_eq!(
            ClientRequest::decode("shout", &[json!(1)]),
            Ok(ClientRequest::Unknown("shout".into()))
        );
    }
}
