//! The dispatcher: reads each incoming Socket.IO event into a [`ClientRequest`], applies it to
//! the chat, and answers it. This is the only place that answers a request, by ack or by the
//! `error` event.
//!
//! Both carriers call [`handle`] from the session's receive path, one frame at a time, so
//! events are handled (and messages sequenced) in the order the client sent them.

use charla_protocol::chat::{ClientRequest, ErrorCode, Refusal, ServerEvent};
use serde_json::Value as Json;

use super::{Chat, Reply};
use crate::transport::{Application, Link, ReplyPlace, Responder, Sid};

impl Application for Chat {
    fn connected(&self, link: &Link) {
        self.connect(link);
    }

    fn event(&self, link: &Link, name: &str, args: &[Json], ack: Option<Responder>) {
        handle(self, link, name, args, ack);
    }

    fn refuse(&self, link: &Link, ack: Option<Responder>, refusal: Refusal) {
        refuse(link, ack, refusal);
    }

    fn left(&self, id: Sid) {
        self.leave(id);
    }
}

/// Handles the event `name` with its arguments from `link`; `ack` is there when the client
/// asked for an answer.
fn handle(chat: &Chat, link: &Link, name: &str, args: &[Json], ack: Option<Responder>) {
    let reply = ClientRequest::decode(name, args)
        .and_then(|request| apply(chat, link, request, ack.is_some()));
    if let (Err(refused), "chat-message") = (&reply, name) {
        chat.count_refused_message(refused.code);
    }
    match (reply, ack) {
        (Err(refused), ack) => refuse(link, ack, refused),
        (Ok(reply), Some(ack)) => answer(ack, reply),
        // Nobody asked: a place kept for the answer is given up as it drops.
        (Ok(_), None) => {}
    }
}

/// Applies one request to the chat. Requests that only read (`rooms`) or whose answer is the
/// point (`room-create`, `dm-open`) are done whether or not an answer was asked for.
fn apply(
    chat: &Chat,
    link: &Link,
    request: ClientRequest,
    answer_wanted: bool,
) -> Result<Reply, Refusal> {
    let needs_store = !matches!(
        request,
        ClientRequest::Typing { .. } | ClientRequest::Rooms | ClientRequest::Unknown(_)
    );
    if needs_store && !chat.database_reachable() {
        // Refused at once rather than left waiting for the network's timeouts: the client
        // keeps its message and, knowing other nodes, moves to one.
        return Err(super::database_unreachable());
    }
    match request {
        ClientRequest::Join(join) => chat.join(link, join, answer_wanted),
        ClientRequest::ChatMessage(message) => chat.chat(link, message, answer_wanted),
        ClientRequest::Typing { room, typing } => chat.typing(link, room.as_deref(), typing),
        ClientRequest::History(page) => chat.history(link, page, answer_wanted),
        ClientRequest::DeviceLink => chat.device_link(link, answer_wanted),
        ClientRequest::DeviceForget => chat.device_forget(link, answer_wanted),
        ClientRequest::RoomCreate(request) => chat.room_create(link, request),
        ClientRequest::RoomJoin(request) => chat.room_join(link, request),
        ClientRequest::RoomLeave(request) => chat.room_leave(link, &request),
        ClientRequest::Rooms => chat.rooms(link),
        ClientRequest::RoomTopicChange(request) => chat.room_topic(link, &request),
        ClientRequest::DmOpen(request) => chat.dm_open(link, &request),
        ClientRequest::Read(request) => chat.read(link, &request),
        ClientRequest::Search(request) => chat.search(link, request, answer_wanted),
        ClientRequest::Change(request) => chat.change(link, request, answer_wanted),
        ClientRequest::Changes(request) => chat.changes(link, request, answer_wanted),
        ClientRequest::Pins(request) => chat.pins(link, &request, answer_wanted),
        ClientRequest::Thread(request) => chat.thread(link, request, answer_wanted),
        ClientRequest::Threads => chat.threads(link, answer_wanted),
        // The tutorial's server ignores unknown events; one that waits for an answer is told.
        ClientRequest::Unknown(name) if answer_wanted => Err(Refusal::new(
            ErrorCode::UnknownEvent,
            format!("unknown event {name:?}"),
        )),
        ClientRequest::Unknown(_) => Ok(Reply::Nothing),
    }
}

/// Sends an operation's answer: now, in its place, or once it has been read.
fn answer(ack: Responder, reply: Reply) {
    match reply {
        Reply::Nothing => {}
        Reply::Now(placed) => send(ack, &placed.json, Some(placed.place)),
        Reply::Later(reading) => {
            tokio::spawn(async move {
                match reading.await {
                    Ok(Ok(json)) => send(ack, &json, None),
                    Ok(Err(refused)) => send_refusal(ack, &refused),
                    Err(e) => tracing::error!(error = %e, "a deferred answer failed"),
                }
            });
        }
    }
}

fn send(ack: Responder, json: &str, place: Option<ReplyPlace>) {
    if let Err(e) = ack.send_json(json, place) {
        tracing::debug!(error = %e, "could not send an answer");
    }
}

fn send_refusal(ack: Responder, refused: &Refusal) {
    match refused.to_ack_json() {
        Ok(json) => send(ack, &json, None),
        Err(e) => tracing::error!(error = %e, "could not encode a refusal"),
    }
}

/// Answers a refused request: by its ack when it asked for one; otherwise with an `error` event,
/// or, for a payload of the wrong shape (a broken or hostile client), by disconnecting.
fn refuse(link: &Link, ack: Option<Responder>, refused: Refusal) {
    let sid = link.id();
    tracing::debug!(sid = %sid, code = ?refused.code, message = ?refused.message, "refused");
    match ack {
        Some(ack) => send_refusal(ack, &refused),
        None if refused.code == ErrorCode::InvalidPayload => {
            tracing::info!(sid = %sid, reason = ?refused.message, "malformed event; disconnecting");
            link.disconnect();
        }
        None => {
            if let Err(e) = link.emit(&ServerEvent::Error(refused)) {
                tracing::debug!(sid = %sid, error = %e, "could not send an error");
            }
        }
    }
}
