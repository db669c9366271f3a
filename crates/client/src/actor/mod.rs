//! The one task that owns the connection, across connections: it connects (one connection's
//! life is [`connection`]'s), reconnects with backoff, moves through the server's addresses
//! when one fails, and serves the handle's commands while offline. What it knows across
//! connections lives here: the outbox, the newest `seq` and the highest change `rev` of each
//! room and the history's epoch (what a join asks the server to replay after), the `rev`s
//! reported of each message, and a refusal's wait.
//!
//! Kept apart from [`connection`] so that the reconnect policy reads on one page, and one
//! connection's many answers (acks, join, catch-up) do not crowd it.

mod connection;
mod reported;

use std::collections::BTreeMap;
use std::time::Duration;

use charla_protocol::chat::{emoji_is_valid, ClientRequest, DeviceForgotten, DeviceLink};
use serde_json::Value;
use tokio::sync::{mpsc, oneshot};
use tokio::time::{sleep_until, Instant};

use crate::backoff::Backoff;
use crate::error::{Error, Result};
use crate::options::ClientOptions;
use crate::outbox::{ChangeOp, ChangeTarget, Outbox, OutboxChange, OutboxEntry, ThreadReply};
use crate::report::{ClientEvent, ConnectionStatus, DisconnectReason};
use reported::ReportedRevs;

/// What the handle asks of the task.
pub(crate) enum Command {
    /// A message: its text, its room (`None`: `general`), the thread it answers if a reply.
    Send(
        String,
        Option<String>,
        Option<ThreadReply>,
        oneshot::Sender<Result<OutboxEntry>>,
    ),
    /// A change to a message: its room (`None`: `general`), the message, what to do.
    Change(
        Option<String>,
        ChangeTarget,
        ChangeOp,
        oneshot::Sender<Result<OutboxChange>>,
    ),
    Retry(String, oneshot::Sender<Result<()>>),
    Discard(String, oneshot::Sender<Result<()>>),
    Typing(Option<String>, bool),
    /// A request whose answer goes back as it came (rooms, DMs, pages, markers, search).
    Ask(ClientRequest, oneshot::Sender<Result<Value>>),
    LinkCode(oneshot::Sender<Result<DeviceLink>>),
    ForgetDevice(oneshot::Sender<Result<DeviceForgotten>>),
    ReconnectNow,
    Disconnect(oneshot::Sender<()>),
}

/// How one connection ended, which decides what the loop does next.
enum Ending {
    /// The link broke: reconnect after a delay.
    Lost(String),
    /// Refused in a way retrying won't fix: wait for `reconnect_now`.
    Refused {
        reason: String,
        cause: DisconnectReason,
    },
    /// `disconnect()` or every handle dropped.
    Stopped,
}

/// The task's state across connections.
pub(crate) struct Actor {
    options: ClientOptions,
    commands: mpsc::UnboundedReceiver<Command>,
    events: mpsc::UnboundedSender<ClientEvent>,
    outbox: Outbox,
    backoff: Backoff,
    /// The server's addresses (one, or each node of a cluster) and the one tried now.
    addresses: Vec<String>,
    address: usize,
    /// Connections lost or refused in a row since the last join: once every address has
    /// failed once, the next try waits for the backoff.
    failures_in_row: usize,
    /// The highest `seq` of `general` reported, in `epoch`'s numbering.
    last_seq: u64,
    /// The highest `seq` reported of each other room (rooms with nothing reported are not
    /// here): what a join asks the server to replay after.
    room_seqs: BTreeMap<String, u64>,
    /// The highest change `rev` had of each room, `general` by its name: every change up to it
    /// of the messages reported was reported. What a join names in `revs`.
    revs: BTreeMap<String, u64>,
    /// The `rev` reported of each message, so that each change is reported once.
    reported: ReportedRevs,
    /// The server's history epoch `last_seq` belongs to (from the last join ack).
    epoch: Option<String>,
    /// After a refusal that means *later*: nothing is sent before this (see
    /// `connection::sending`'s doc). Kept across reconnects, since the server's limit may outlive one connection.
    resend_at: Option<Instant>,
}

impl Actor {
    pub(crate) fn new(
        options: ClientOptions,
        commands: mpsc::UnboundedReceiver<Command>,
        events: mpsc::UnboundedSender<ClientEvent>,
    ) -> Self {
        let outbox = Outbox::load(&options.outbox_path);
        Self {
            backoff: options.backoff.clone(),
            addresses: crate::url::addresses(&options.server_url)
                .map(str::to_owned)
                .collect(),
            address: 0,
            failures_in_row: 0,
            options,
            commands,
            events,
            outbox,
            last_seq: 0,
            room_seqs: BTreeMap::new(),
            revs: BTreeMap::new(),
            reported: ReportedRevs::default(),
            epoch: None,
            resend_at: None,
        }
    }

    fn emit(&self, event: ClientEvent) {
        // The owner stopped listening; the connection keeps its promises regardless.
        let _ = self.events.send(event);
    }

    fn emit_outbox(&self) {
        self.emit(ClientEvent::Outbox {
            entries: self.outbox.messages().cloned().collect(),
            changes: self.outbox.changes().cloned().collect(),
        });
    }

    pub(crate) async fn run(mut self) {
        self.emit_outbox();
        self.emit(ClientEvent::Status(ConnectionStatus::Connecting));
        loop {
            let ending = self.connect_once().await;
            self.outbox.unsend_all();
            match ending {
                Ending::Stopped => return self.stopped(),
                Ending::Lost(reason) => {
                    let delay = self.next_address_delay();
                    tracing::info!(%reason, delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX), "connection lost; reconnecting");
                    self.emit(ClientEvent::Status(ConnectionStatus::Reconnecting {
                        attempt: u32::try_from(self.failures_in_row).unwrap_or(u32::MAX),
                        delay,
                        reason,
                    }));
                    if !self.wait(Some(Instant::now() + delay)).await {
                        return self.stopped();
                    }
                }
                Ending::Refused {
                    reason,
                    cause: DisconnectReason::ConnectRefused,
                } if self.another_address_untried() => {
                    tracing::warn!(%reason, "refused by this node; trying the next");
                    self.next_address_delay();
                }
                Ending::Refused { reason, cause } => {
                    tracing::warn!(%reason, "refused by the server; waiting for a retry");
                    self.emit(ClientEvent::Status(ConnectionStatus::Disconnected {
                        reason,
                        cause,
                    }));
                    if !self.wait(None).await {
                        return self.stopped();
                    }
                    self.backoff.reset();
                    self.failures_in_row = 0;
                }
            }
            self.emit(ClientEvent::Status(ConnectionStatus::Connecting));
        }
    }

    /// Moves to the next address and says how long to wait before trying it: at once while
    /// some address has not failed since the last join (a node is down, another may be up),
    /// the backoff's delay once all have.
    fn next_address_delay(&mut self) -> Duration {
        self.failures_in_row = self.failures_in_row.saturating_add(1);
        if self.addresses.len() > 1 {
            self.address = (self.address + 1) % self.addresses.len();
            tracing::info!(address = %self.addresses[self.address], "trying the next address");
            if self.failures_in_row % self.addresses.len() != 0 {
                return Duration::ZERO;
            }
        }
        self.backoff.next_delay()
    }

    /// Whether some address has not failed since the last join.
    fn another_address_untried(&self) -> bool {
        self.failures_in_row + 1 < self.addresses.len()
    }

    fn stopped(&self) {
        self.emit(ClientEvent::Status(ConnectionStatus::Disconnected {
            reason: "disconnected".into(),
            cause: DisconnectReason::Stopped,
        }));
    }

    /// Waits until `until` (or forever) while serving commands offline. `false` means stop.
    async fn wait(&mut self, until: Option<Instant>) -> bool {
        loop {
            let command = match until {
                Some(at) => tokio::select! {
                    command = self.commands.recv() => command,
                    () = sleep_until(at) => return true,
                },
                None => self.commands.recv().await,
            };
            match command {
                None => return false,
                Some(Command::Disconnect(done)) => {
                    let _ = done.send(());
                    return false;
                }
                Some(Command::ReconnectNow) => return true,
                Some(other) => self.offline_command(other),
            }
        }
    }

    fn offline_command(&mut self, command: Command) {
        match command {
            Command::Send(text, room, thread, reply) => {
                let _ = reply.send(self.accept(text, room, thread));
            }
            Command::Change(room, target, change, reply) => {
                let _ = reply.send(self.accept_change(room, target, change));
            }
            Command::Ask(_, reply) => {
                let _ = reply.send(Err(Error::Offline));
            }
            Command::Retry(id, reply) => {
                let result = self.outbox.retry(&id);
                self.emit_outbox();
                let _ = reply.send(result);
            }
            Command::Discard(id, reply) => {
                let result = self.outbox.discard(&id);
                self.emit_outbox();
                let _ = reply.send(result);
            }
            Command::LinkCode(reply) => {
                let _ = reply.send(Err(Error::Offline));
            }
            Command::ForgetDevice(reply) => {
                let _ = reply.send(Err(Error::Offline));
            }
            Command::Typing(..) | Command::ReconnectNow | Command::Disconnect(_) => {}
        }
    }

    /// Forgets a room this name left: nothing of it is asked for at the next join.
    fn forget_room(&mut self, room: &str) {
        self.room_seqs.remove(room);
        self.revs.remove(room);
        self.reported.forget_room(room);
    }

    /// A message enters the outbox; a reply keeps the history epoch its root's `seq` is of.
    fn accept(
        &mut self,
        text: String,
        room: Option<String>,
        thread: Option<ThreadReply>,
    ) -> Result<OutboxEntry> {
        if text.trim().is_empty() {
            return Err(Error::EmptyMessage);
        }
        let entry = match thread {
            None => self.outbox.add(text, room)?,
            Some(mut thread) => {
                thread.epoch.clone_from(&self.epoch);
                self.outbox.add_reply(text, room, thread)?
            }
        };
        self.emit_outbox();
        Ok(entry)
    }

    /// A change enters the outbox, checked as the server would (an edit's text not empty, a
    /// reaction one emoji) so that what cannot go never waits.
    fn accept_change(
        &mut self,
        room: Option<String>,
        target: ChangeTarget,
        change: ChangeOp,
    ) -> Result<OutboxChange> {
        match &change {
            ChangeOp::Edit { text } if text.trim().is_empty() => return Err(Error::EmptyMessage),
            ChangeOp::React { emoji, .. } if !emoji_is_valid(emoji) => {
                return Err(Error::InvalidEmoji)
            }
            _ => {}
        }
        let epoch = self.epoch.clone();
        let queued = self.outbox.add_change(room, target, change, epoch)?;
        self.emit_outbox();
        Ok(queued)
    }
}
