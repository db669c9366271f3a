//! charla-client: the connection core of Charla's apps, with no UI and no Tauri.
//!
//! [`spawn`] starts one task that owns the WebSocket and returns a cloneable [`ClientHandle`];
//! what happens is reported as [`ClientEvent`]s on the channel the caller gives. Messages sent
//! go through a persisted outbox and are delivered exactly once, across reconnects and restarts.

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

use tokio::sync::{mpsc, oneshot};

pub use backoff::Backoff;
pub use error::{Error, Result};
pub use options::ClientOptions;
pub use outbox::{OutboxEntry, OutboxState};
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
        self.ask(|reply| Command::Send(text, reply)).await
    }

    /// Puts a failed message back in line.
    ///
    /// # Errors
    /// An unknown id, or a stopped client.
    pub async fn retry(&self, client_id: &str) -> Result<()> {
        let id = client_id.to_owned();
        self.ask(|reply| Command::Retry(id, reply)).await
    }

    /// Drops an unsent message.
    ///
    /// # Errors
    /// An unknown id, or a stopped client.
    pub async fn discard(&self, client_id: &str) -> Result<()> {
        let id = client_id.to_owned();
        self.ask(|reply| Command::Discard(id, reply)).await
    }

    /// Tells the others we are (or stopped) typing.
    pub fn typing(&self, typing: bool) {
        let _ = self.commands.send(Command::Typing(typing));
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
