//! Turns each incoming Socket.IO event into a room operation, in arrival order.
//!
//! Both carriers call [`handle`] from the session's receive path, one frame at a time, so
//! events are handled (and messages sequenced) in the order the client sent them.

use charla_protocol::chat::{
    events, ErrorBody, ErrorCode, HistoryRequest, JoinRequest, OutgoingMessage, Refusal,
};
use serde_json::Value as Json;

use crate::room::{Ack, Room};
use crate::transport::Link;

/// Handles one event (`name` with its arguments) from `link`, refusing it by ack, by an `error`
/// event or, for a malformed payload with nobody to answer, by disconnecting.
pub fn handle(room: &Room, link: &Link, name: &str, args: &[Json], mut ack: Ack) {
    if let Err(refused) = dispatch(room, link, name, args, &mut ack) {
        refuse(link, ack, refused);
    }
}

fn dispatch(
    room: &Room,
    link: &Link,
    name: &str,
    args: &[Json],
    ack: &mut Ack,
) -> Result<(), ErrorBody> {
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
        events::HISTORY => {
            let request = HistoryRequest::from_args(args).map_err(|e| invalid_payload(e.0))?;
            room.history(link, request, ack)
        }
        // The tutorial's server ignores unknown events; one that waits for an answer is told.
        _ if ack.is_some() => Err(ErrorBody::new(
            ErrorCode::UnknownEvent,
            format!("unknown event {name:?}"),
        )),
        _ => Ok(()),
    }
}

/// Answers a refused request: by its ack when it asked for one; otherwise with an `error` event,
/// or, for a payload of the wrong shape (a broken or hostile client), by disconnecting it.
pub fn refuse(link: &Link, ack: Ack, refused: ErrorBody) {
    let sid = link.id();
    tracing::debug!(sid = %sid, code = ?refused.code, message = ?refused.message, "refused");
    match ack {
        Some(ack) => {
            if let Err(e) = ack.send(&Refusal::from_body(refused)) {
                tracing::debug!(sid = %sid, error = %e, "could not send a refusal");
            }
        }
        None if refused.code == ErrorCode::InvalidPayload => {
            tracing::info!(sid = %sid, reason = ?refused.message, "malformed event; disconnecting");
            link.disconnect();
        }
        None => {
            if let Err(e) = link.emit(events::ERROR, &refused) {
                tracing::debug!(sid = %sid, error = %e, "could not send an error");
            }
        }
    }
}

/// A refusal for a payload of the wrong shape.
#[must_use]
pub fn invalid_payload(reason: &str) -> ErrorBody {
    ErrorBody::new(ErrorCode::InvalidPayload, reason)
}
