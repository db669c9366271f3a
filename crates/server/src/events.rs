//! Turns each incoming Socket.IO event into a room operation, in arrival order.
//!
//! socketioxide spawns a task per event for ordinary handlers, which reorders one sender's
//! burst. This handler implements [`MessageHandler`] directly: `call` runs synchronously in the
//! socket's receive loop, so events are handled (and messages sequenced) in the order the client
//! sent them.

use std::sync::Arc;

use charla_protocol::chat::{events, ErrorBody, ErrorCode, JoinRequest, OutgoingMessage, Refusal};
use serde_json::Value as Json;
use socketioxide::adapter::LocalAdapter;
use socketioxide::extract::{AckSender, SocketRef};
use socketioxide::handler::{FromMessageParts, MessageHandler};
use socketioxide::socket::Socket;
use socketioxide_core::Value;

use crate::identity::Rejection;
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

    fn dispatch(&self, socket: &SocketRef, value: &Value, ack: &mut Ack) -> Result<(), Rejection> {
        let (name, args) =
            event_parts(value).ok_or_else(|| invalid_payload("binary events are not supported"))?;
        match name.as_str() {
            events::JOIN => {
                let request = JoinRequest::from_args(&args).map_err(|e| invalid_payload(e.0))?;
                self.room.join(socket, request, ack)
            }
            events::CHAT_MESSAGE => {
                let message =
                    OutgoingMessage::from_args(&args).map_err(|e| invalid_payload(e.0))?;
                self.room.chat(socket, message, ack)
            }
            events::TYPING => match args.first() {
                Some(Json::Bool(typing)) => self.room.typing(socket, *typing),
                _ => Err(invalid_payload("expected true or false")),
            },
            // Unknown events are ignored, as the tutorial's server ignores them.
            _ => Ok(()),
        }
    }
}

impl MessageHandler<LocalAdapter, InOrder> for OrderedEvents {
    fn call(&self, s: Arc<Socket<LocalAdapter>>, mut v: Value, ack_id: Option<i64>) {
        let mut ack = match AckSender::from_message_parts(&s, &mut v, &ack_id) {
            Ok(ack) => ack_id.map(|_| ack),
            Err(never) => match never {},
        };
        let socket = SocketRef::from(s);
        if let Err(rejection) = self.dispatch(&socket, &v, &mut ack) {
            refuse(socket, ack, rejection);
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
fn refuse(socket: SocketRef, ack: Ack, rejection: Rejection) {
    tracing::debug!(sid = %socket.id, code = ?rejection.code, message = %rejection.message, "refused");
    match ack {
        Some(ack) => {
            if let Err(e) = ack.send(&Refusal::new(rejection.code, rejection.message)) {
                tracing::warn!(sid = %socket.id, error = %e, "could not send a refusal");
            }
        }
        None if rejection.code == ErrorCode::InvalidPayload => {
            tracing::warn!(sid = %socket.id, reason = %rejection.message, "malformed event; disconnecting");
            if let Err(e) = socket.disconnect() {
                tracing::debug!(error = %e, "disconnecting a malformed client");
            }
        }
        None => {
            let body = ErrorBody {
                code: rejection.code,
                message: rejection.message,
            };
            if let Err(e) = socket.emit(events::ERROR, &body) {
                tracing::warn!(sid = %socket.id, error = %e, "could not send an error");
            }
        }
    }
}

fn invalid_payload(reason: &str) -> Rejection {
    Rejection {
        code: ErrorCode::InvalidPayload,
        message: reason.to_owned(),
    }
}
