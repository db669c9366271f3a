//! charla-client: the connection core of Charla's apps, with no UI and no Tauri.
//!
//! [`spawn`] starts one task that owns the WebSocket and returns a cloneable [`ClientHandle`];
//! what happens is reported as [`ClientEvent`]s on the channel the caller gives. Messages sent
//! go through a persisted outbox and are delivered exactly once, across reconnects and restarts.
//!
//! Rooms: messages go to `general` unless sent with [`ClientHandle::send_to`]; every event that
//! belongs to another room says which (`room`), each room's `seq`s are tracked on their own,
//! and a reconnect asks the server for what each room had since (gaps reported per room).
//!
//! Living messages: edits, deletions, reactions and pins ([`ClientHandle::change`]) go through
//! the same outbox, in the order made (a change to a message still unsent after it, once its
//! `seq` is known); every change the server makes to a message is reported once as
//! [`ClientEvent::MessageUpdated`], live or caught up after a reconnect.
//!
//! Threads: a reply ([`ClientHandle::reply`]) is an outbox message naming its root; a reply
//! only in its thread is reported as [`ClientEvent::ThreadMessage`], never as a message of the
//! room's timeline, though it counts in the room's `seq`s like any other.

mod actor;
mod backoff;
pub mod device_key;
mod error;
mod files;
mod options;
mod outbox;
mod report;
pub mod settings;
mod transport;
pub mod url;

use charla_protocol::chat::{
    parse_ack, ClientRequest, DmOpen, Done, HistoryPage, HistoryRequest, PinList, ReadUpTo,
    RoomEntered, RoomJoin, RoomList, RoomOrGeneral, RoomRef, RoomTopic, SearchRequest,
    SearchResults, ThreadList, ThreadPage, ThreadRequest, GENERAL_ROOM, MAX_HISTORY_PAGE,
    MAX_THREAD_PAGE,
};
use serde::de::DeserializeOwned;
use tokio::sync::{mpsc, oneshot};

pub use backoff::Backoff;
pub use error::{Error, Result};
pub use options::ClientOptions;
pub use outbox::{ChangeOp, ChangeTarget, OutboxChange, OutboxEntry, OutboxState, ThreadReply};
pub use report::{ClientEvent, ConnectionStatus, DisconnectReason};

use actor::{Actor, Command};

/// A cheap, cloneable way to talk to the connection task.
#[derive(Clone, Debug)]
pub struct ClientHandle {
    commands: mpsc::UnboundedSender<Command>,
}

impl std::fmt::Debug for Command {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Command")
    }
}

/// Starts the connection task on the current Tokio runtime.
#[must_use]
pub fn spawn(options: ClientOptions, events: mpsc::UnboundedSender<ClientEvent>) -> ClientHandle {
    let (commands, receiver) = mpsc::unbounded_channel();
    tokio::spawn(Actor::new(options, receiver, events).run());
    ClientHandle { commands }
}

impl ClientHandle {
    async fn ask<T>(&self, make: impl FnOnce(oneshot::Sender<Result<T>>) -> Command) -> Result<T> {
        let (reply, answer) = oneshot::channel();
        self.commands
            .send(make(reply))
            .map_err(|_| Error::Stopped)?;
        answer.await.map_err(|_| Error::Stopped)?
    }

    /// Queues a message; returns once it is in the persisted outbox (not once delivered).
    ///
    /// # Errors
    /// An empty text, an outbox that cannot be written, or a stopped client.
    pub async fn send(&self, text: impl Into<String>) -> Result<OutboxEntry> {
        let text = text.into();
        self.ask(|reply| Command::Send(text, None, None, reply))
            .await
    }

    /// Queues a message to `room` (`general`, a room, `dm:<n>`), like [`Self::send`].
    ///
    /// # Errors
    /// An empty text, an outbox that cannot be written, or a stopped client.
    pub async fn send_to(&self, room: &str, text: impl Into<String>) -> Result<OutboxEntry> {
        let text = text.into();
        let room = (room != GENERAL_ROOM).then(|| room.to_owned());
        self.ask(|reply| Command::Send(text, room, None, reply))
            .await
    }

    /// Queues a reply in the thread of `root` in `room`: its `seq`, or the `clientId` of a
    /// message still in the outbox (the reply then goes to that message's room, once its ack
    /// gives it a `seq`). With `also_in_room` the reply is a message of the room's timeline
    /// too. It goes like any message (persisted, once, in order); what comes back is
    /// [`ClientEvent::ThreadMessage`] (or [`ClientEvent::Message`] when also in the room) and
    /// the root's new count as [`ClientEvent::MessageUpdated`].
    ///
    /// # Errors
    /// An empty text, an unsent root that is not in the outbox, an outbox that cannot be
    /// written, or a stopped client.
    pub async fn reply(
        &self,
        room: &str,
        root: ChangeTarget,
        text: impl Into<String>,
        also_in_room: bool,
    ) -> Result<OutboxEntry> {
        let text = text.into();
        let room = (room != GENERAL_ROOM).then(|| room.to_owned());
        let thread = ThreadReply {
            root,
            also_in_room,
            epoch: None,
        };
        self.ask(|reply| Command::Send(text, room, Some(thread), reply))
            .await
    }

    /// A page of the thread of `root` in `room`: the root as it is now and its newest replies
    /// before `before` (all, without it), at most `limit` (≤ 200), oldest first.
    ///
    /// # Errors
    /// Offline, refused (`no_such_message`, `not_member`…), or a stopped client.
    pub async fn thread(
        &self,
        room: &str,
        root: u64,
        before: Option<u64>,
        limit: usize,
    ) -> Result<ThreadPage> {
        self.request(ClientRequest::Thread(ThreadRequest {
            room: (room != GENERAL_ROOM).then(|| room.to_owned()),
            root,
            before,
            limit: limit.min(MAX_THREAD_PAGE),
        }))
        .await
    }

    /// The threads this name follows (it wrote the root, replied, or was mentioned in a
    /// reply), the most recently answered first, each with its unread replies.
    ///
    /// # Errors
    /// Offline, refused, or a stopped client.
    pub async fn threads(&self) -> Result<ThreadList> {
        self.request(ClientRequest::Threads).await
    }

    /// Marks the thread of `root` in `room` read up to the reply `seq`.
    ///
    /// # Errors
    /// Offline, refused, or a stopped client.
    pub async fn mark_thread_read(&self, room: &str, root: u64, seq: u64) -> Result<Done> {
        self.request(ClientRequest::Read(ReadUpTo {
            room: room.to_owned(),
            seq,
            thread: Some(root),
        }))
        .await
    }

    /// Queues a change to a message of `room`: `target` is its `seq`, or the `clientId` of a
    /// message still in the outbox (the change then goes to that message's room, once its ack
    /// gives it a `seq`). Returns once the change is in the persisted outbox; it goes like a
    /// message (once, in order, again after a refusal that means *later*), and a refusal that
    /// means *never* (`not_author`, `message_deleted`…) marks it failed in the outbox report.
    /// What it did arrives as [`ClientEvent::MessageUpdated`].
    ///
    /// # Errors
    /// An edit's empty text, a reaction that is not one emoji, an unsent message that is not
    /// in the outbox, an outbox that cannot be written, or a stopped client.
    pub async fn change(
        &self,
        room: &str,
        target: ChangeTarget,
        change: ChangeOp,
    ) -> Result<OutboxChange> {
        let room = (room != GENERAL_ROOM).then(|| room.to_owned());
        self.ask(|reply| Command::Change(room, target, change, reply))
            .await
    }

    /// The pinned messages of `room`, most recently pinned first, as they are now.
    ///
    /// # Errors
    /// Offline, refused (`not_member`…), or a stopped client.
    pub async fn pins(&self, room: &str) -> Result<PinList> {
        self.request(ClientRequest::Pins(RoomOrGeneral {
            room: (room != GENERAL_ROOM).then(|| room.to_owned()),
        }))
        .await
    }

    /// Asks the server `request` and reads its answer as `T`.
    async fn request<T: DeserializeOwned>(&self, request: ClientRequest) -> Result<T> {
        let answer = self.ask(|reply| Command::Ask(request, reply)).await?;
        parse_ack(&answer).map_err(Error::Refused)
    }

    /// The public rooms.
    ///
    /// # Errors
    /// Offline, refused, or a stopped client.
    pub async fn rooms(&self) -> Result<RoomList> {
        self.request(ClientRequest::Rooms).await
    }

    /// Makes a room (this name its first member).
    ///
    /// # Errors
    /// Offline, refused (`room_exists`, `invalid_room`, `not_owned`…), or a stopped client.
    pub async fn create_room(&self, room: &str, topic: &str) -> Result<RoomEntered> {
        self.request(ClientRequest::RoomCreate(RoomTopic {
            room: room.to_owned(),
            topic: topic.to_owned(),
        }))
        .await
    }

    /// Joins a room (or opens one this name is in already): its new messages are reported as
    /// [`ClientEvent::Message`]s, and from then on it is caught up at every reconnect.
    ///
    /// # Errors
    /// Offline, refused (`no_such_room`, `not_owned`…), or a stopped client.
    pub async fn join_room(&self, room: &str) -> Result<RoomEntered> {
        self.request(ClientRequest::RoomJoin(RoomJoin {
            room: room.to_owned(),
            since: None,
            rev: None,
        }))
        .await
    }

    /// Leaves a room.
    ///
    /// # Errors
    /// Offline, refused, or a stopped client.
    pub async fn leave_room(&self, room: &str) -> Result<Done> {
        self.request(ClientRequest::RoomLeave(RoomRef {
            room: room.to_owned(),
        }))
        .await
    }

    /// Changes a room's topic.
    ///
    /// # Errors
    /// Offline, refused, or a stopped client.
    pub async fn set_topic(&self, room: &str, topic: &str) -> Result<Done> {
        self.request(ClientRequest::RoomTopicChange(RoomTopic {
            room: room.to_owned(),
            topic: topic.to_owned(),
        }))
        .await
    }

    /// Opens the direct message with `username` (made the first time), like [`Self::join_room`].
    ///
    /// # Errors
    /// Offline, refused (`no_such_user`…), or a stopped client.
    pub async fn open_dm(&self, username: &str) -> Result<RoomEntered> {
        self.request(ClientRequest::DmOpen(DmOpen {
            username: username.to_owned(),
        }))
        .await
    }

    /// A page of `room`'s messages before `seq` `before`, at most `limit` (≤ 200).
    ///
    /// # Errors
    /// Offline, refused, or a stopped client.
    pub async fn history(&self, room: &str, before: u64, limit: usize) -> Result<HistoryPage> {
        self.request(ClientRequest::History(HistoryRequest {
            room: (room != GENERAL_ROOM).then(|| room.to_owned()),
            before,
            limit: limit.min(MAX_HISTORY_PAGE),
        }))
        .await
    }

    /// Marks `room` read up to `seq`; every device of this name hears of it
    /// ([`ClientEvent::ReadMarker`]).
    ///
    /// # Errors
    /// Offline, refused, or a stopped client.
    pub async fn mark_read(&self, room: &str, seq: u64) -> Result<Done> {
        self.request(ClientRequest::Read(ReadUpTo {
            room: room.to_owned(),
            seq,
            thread: None,
        }))
        .await
    }

    /// Searches this name's rooms and DMs (or `request.room`).
    ///
    /// # Errors
    /// Offline, refused, or a stopped client.
    pub async fn search(&self, request: SearchRequest) -> Result<SearchResults> {
        self.request(ClientRequest::Search(request)).await
    }

    /// Puts a failed message (or change) back in line.
    ///
    /// # Errors
    /// An unknown id, or a stopped client.
    pub async fn retry(&self, client_id: &str) -> Result<()> {
        let id = client_id.to_owned();
        self.ask(|reply| Command::Retry(id, reply)).await
    }

    /// Drops an unsent message (with the changes made to it while unsent) or change.
    ///
    /// # Errors
    /// An unknown id, or a stopped client.
    pub async fn discard(&self, client_id: &str) -> Result<()> {
        let id = client_id.to_owned();
        self.ask(|reply| Command::Discard(id, reply)).await
    }

    /// Tells the others we are (or stopped) typing, in `general`.
    pub fn typing(&self, typing: bool) {
        let _ = self.commands.send(Command::Typing(None, typing));
    }

    /// Tells a room's members we are (or stopped) typing there.
    pub fn typing_in(&self, room: &str, typing: bool) {
        let room = (room != GENERAL_ROOM).then(|| room.to_owned());
        let _ = self.commands.send(Command::Typing(room, typing));
    }

    /// Asks the server for a link code another device of this name's owner joins with (once,
    /// within ten minutes).
    ///
    /// # Errors
    /// Not connected now, joined as a guest, or a stopped client.
    pub async fn link_code(&self) -> Result<charla_protocol::chat::DeviceLink> {
        self.ask(Command::LinkCode).await
    }

    /// Revokes this device's key for the name on the server; the client then stops (delete the
    /// key file with [`device_key::remove`]).
    ///
    /// # Errors
    /// Not connected now, joined as a guest, or a stopped client.
    pub async fn forget_device(&self) -> Result<charla_protocol::chat::DeviceForgotten> {
        self.ask(Command::ForgetDevice).await
    }

    /// Skips the reconnection wait (on wake, or when the user clicks retry).
    pub fn reconnect_now(&self) {
        let _ = self.commands.send(Command::ReconnectNow);
    }

    /// Disconnects and stops reconnecting; returns when the task has stopped.
    pub async fn disconnect(&self) {
        let (done, wait) = oneshot::channel();
        if self.commands.send(Command::Disconnect(done)).is_ok() {
            let _ = wait.await;
        }
    }
}
