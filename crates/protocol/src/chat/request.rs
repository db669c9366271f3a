//! What a client asks of the server: one [`ClientRequest`] per Socket.IO event, read from the
//! event's name and arguments ([`ClientRequest::decode`]) and written back to them
//! ([`ClientRequest::encode`]).

use serde_json::{json, Value};

use super::events;
use super::payload::{HistoryRequest, JoinRequest, OutgoingMessage};
use super::refusal::Refusal;

/// A client's request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientRequest {
    /// `join`: take a name, get the users and the history the client lacks.
    Join(JoinRequest),
    /// `chat-message`: say something.
    ChatMessage(OutgoingMessage),
    /// `typing`: started (`true`) or stopped typing.
    Typing(bool),
    /// `history`: a page of older messages.
    History(HistoryRequest),
    /// `device-link`: a link code for another device of this name's owner.
    DeviceLink,
    /// `device-forget`: revoke this device's key.
    DeviceForget,
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
            events::TYPING => match args.first() {
                Some(Value::Bool(typing)) => Self::Typing(*typing),
                _ => return Err(Refusal::invalid_payload("expected true or false")),
            },
            events::HISTORY => Self::History(HistoryRequest::from_args(args)?),
            events::DEVICE_LINK => Self::DeviceLink,
            events::DEVICE_FORGET => Self::DeviceForget,
            other => Self::Unknown(other.to_owned()),
        })
    }

    /// The event's name.
    #[must_use]
    pub fn name(&self) -> &str {
        match self {
            Self::Join(_) => events::JOIN,
            Self::ChatMessage(_) => events::CHAT_MESSAGE,
            Self::Typing(_) => events::TYPING,
            Self::History(_) => events::HISTORY,
            Self::DeviceLink => events::DEVICE_LINK,
            Self::DeviceForget => events::DEVICE_FORGET,
            Self::Unknown(name) => name,
        }
    }

    /// The event's arguments, in the form every server understands: `join` as
    /// `"alice", {since, epoch?, key?, link?}` (the tutorial's server reads the name and
    /// ignores the rest),
    /// `chat-message` with the author's name in it (the tutorial's server takes it from there).
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
                vec![json!(join.username), resume]
            }
            Self::ChatMessage(message) => {
                let mut body = json!({ "username": message.username, "text": message.text });
                if let Some(id) = &message.client_id {
                    body["clientId"] = json!(id);
                }
                vec![body]
            }
            Self::Typing(typing) => vec![json!(typing)],
            Self::History(request) => {
                vec![json!({ "before": request.before, "limit": request.limit })]
            }
            Self::DeviceLink | Self::DeviceForget | Self::Unknown(_) => Vec::new(),
        }
    }
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
        });
        assert_eq!(round_trip(&join), join);
        let message = ClientRequest::ChatMessage(OutgoingMessage {
            username: Some("alice".into()),
            text: "hi".into(),
            client_id: Some("c-1".into()),
        });
        // The server never takes the author from the body.
        let ClientRequest::ChatMessage(read) = round_trip(&message) else {
            panic!("a chat message");
        };
        assert_eq!((read.username, read.text.as_str()), (None, "hi"));
        assert_eq!(read.client_id.as_deref(), Some("c-1"));
        for request in [
            ClientRequest::DeviceLink,
            ClientRequest::DeviceForget,
            ClientRequest::Typing(true),
            ClientRequest::History(HistoryRequest {
                before: 10,
                limit: 50,
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
