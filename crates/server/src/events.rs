//! Turns each incoming Socket.IO event into a room operation, in arrival order.
//!
//! socketioxide spawns a task per event for ordinary handlers, which reorders one sender's
//! burst. This handler implements [`MessageHandler`] directly: `call` runs synchronously in the
//! socket's receive loop, so events are handled (and messages sequenced) in the order the client
//! sent them. Connections served by [`crate::ws`] call [`handle`] from their own receive loop.

use std::sync::Arc;

use charla_protocol::chat::{events, ErrorBody, ErrorCode, JoinRequest, OutgoingMessage, Refusal};
use serde_json::Value as Json;
use socketioxide::adapter::LocalAdapter;
use socketioxide::extract::{AckSender, SocketRef};
use socketioxide::handler::{FromMessageParts, MessageHandler};
use socketioxide::socket::Socket;
use socketioxide_core::Value;

use crate::identity::Rejection;
use crate::link::{Link, Responder};
use crate::room::{Ack, Room};

/// Marker type naming this handler's "extractors" for socketioxide.
pub struct InOrder;

/// The handler for every event on a connection.
#[derive(Clone)]
pub struct OrderedEvents {
    room: Room,
}

impl OrderedEvents {
    /// Handles events for `room`.
    #[must_use]
    pub fn new(room: Room) -> Self {
        Self { room }
    }
}

/// Handles one event (`name` with its arguments) from `link`, refusing it by ack, by an `error`
/// event or, for a malformed payload with nobody to answer, by disconnecting.
pub fn handle(room: &Room, link: &Link, name: &str, args: &[Json], mut ack: Ack) {
    if let Err(rejection) = dispatch(room, link, name, args, &mut ack) {
        refuse(link, ack, rejection);
    }
}

fn dispatch(
    room: &Room,
    link: &Link,
    name: &str,
    args: &[Json],
    ack: &mut Ack,
) -> Result<(), Rejection> {
    match name {
        events::JOIN => {
            let request = JoinRequest::from_args(args).map_err(|e| invalid_payload(e.0))?;
            room.join(link, request, ack)
        }
        events::CHAT_MESSAGE => {
            let message = OutgoingMessage::from_args(args).map_err(|e| invalid_payload(e.0))?;
            room.chat(link, message, ack)
        }
        events::TYPING => match args.first() {
            Some(Json::Bool(typing)) => room.typing(link, *typing),
            _ => Err(invalid_payload("expected true or false")),
        },
        // Unknown events are ignored, as the tutorial's server ignores them.
        _ => Ok(()),
    }
}

impl MessageHandler<LocalAdapter, InOrder> for OrderedEvents {
    fn call(&self, s: Arc<Socket<LocalAdapter>>, mut v: Value, ack_id: Option<i64>) {
        let ack = match AckSender::from_message_parts(&s, &mut v, &ack_id) {
            Ok(ack) => ack_id.map(|_| ack),
            Err(never) => match never {},
        };
        let link = Link::Sio(SocketRef::from(s));
        let ack = ack.map(Responder::Sio);
        match event_parts(&v) {
            Some((name, args)) => handle(&self.room, &link, &name, &args, ack),
            None => refuse(
                &link,
                ack,
                invalid_payload("binary events are not supported"),
            ),
        }
    }
}

/// The event name and its arguments, or `None` for binary events.
fn event_parts(value: &Value) -> Option<(String, Vec<Json>)> {
    let Value::Str(text, None) = value else {
        return None;
    };
    let mut array: Vec<Json> = serde_json::from_str(text.as_str()).ok()?;
    if array.is_empty() {
        return None;
    }
    match array.remove(0) {
        Json::String(name) => Some((name, array)),
        _ => None,
    }
}

/// Answers a refused request: by its ack when it asked for one; otherwise with an `error` event,
/// or, for a payload of the wrong shape (a broken or hostile client), by disconnecting it.
pub fn refuse(link: &Link, ack: Ack, rejection: Rejection) {
    let sid = link.id();
    tracing::debug!(sid = %sid, code = ?rejection.code, message = %rejection.message, "refused");
    match ack {
        Some(ack) => {
            if let Err(e) = ack.send(&Refusal::new(rejection.code, rejection.message)) {
                tracing::warn!(sid = %sid, error = %e, "could not send a refusal");
            }
        }
        None if rejection.code == ErrorCode::InvalidPayload => {
            tracing::warn!(sid = %sid, reason = %rejection.message, "malformed event; disconnecting");
            link.disconnect();
        }
        None => {
            let body = ErrorBody {
                code: rejection.code,
                message: rejection.message,
            };
            if let Err(e) = link.emit(events::ERROR, &body) {
                tracing::warn!(sid = %sid, error = %e, "could not send an error");
            }
        }
    }
}

/// A refusal for a payload of the wrong shape.
#[must_use]
pub fn invalid_payload(reason: &str) -> Rejection {
    Rejection {
        code: ErrorCode::InvalidPayload,
        message: reason.to_owned(),
    }
}
