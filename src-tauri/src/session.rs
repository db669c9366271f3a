//! The app's state: where local files live, the config, and the running chat session (one
//! client task and its bridge), restarted when the profile changes or the window reloads.

use std::collections::BTreeMap;
use std::sync::Arc;

use charla_client::settings::{Config, Drafts, Paths, Preferences};
use charla_client::{
    device_key, ChangeOp, ChangeTarget, ClientHandle, ClientOptions, OutboxChange, OutboxEntry,
};
use charla_protocol::chat::{normalize_link_code, DeviceLink};
use charla_protocol::rules::normalize_username;
use serde::Serialize;
use tokio::sync::{mpsc, Mutex};

use crate::bridge::{bridge, EventSink};
use crate::config_store::ConfigStore;
use crate::error::{AppError, Result};

/// The running client, shared with whoever may need to hurry its reconnection.
type Session = Arc<Mutex<Option<ClientHandle>>>;

/// Managed by Tauri; commands borrow it.
pub struct AppState {
    paths: Paths,
    store: Arc<ConfigStore>,
    /// A tokio mutex: starting a session awaits the old one's disconnect while holding it, so
    /// two quick restarts cannot run two clients at once.
    session: Session,
    /// A link code typed at first run, for the next session's first join (single use, so only
    /// in memory).
    link_code: std::sync::Mutex<Option<String>>,
}

/// Hurries the running session's reconnection (after the machine wakes).
#[derive(Clone)]
pub struct Reconnector(Session);

impl Reconnector {
    /// Skips the reconnection wait, if a session runs.
    pub async fn reconnect_now(&self) {
        if let Some(handle) = self.0.lock().await.as_ref() {
            handle.reconnect_now();
        }
    }
}

/// What the UI needs at start.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct Settings {
    /// The saved config.
    pub config: Config,
    /// The composer drafts for the configured server, by room (`general`'s under `general`).
    pub drafts: BTreeMap<String, String>,
}

impl AppState {
    /// State over the given folders, with a config store of its own.
    #[must_use]
    pub fn new(paths: Paths) -> Self {
        let store = Arc::new(ConfigStore::load(paths.clone()));
        Self::with_store(paths, store)
    }

    /// State over the given folders and the app's config store.
    #[must_use]
    pub fn with_store(paths: Paths, store: Arc<ConfigStore>) -> Self {
        Self {
            paths,
            store,
            session: Arc::new(Mutex::new(None)),
            link_code: std::sync::Mutex::new(None),
        }
    }

    /// What hurries this state's session to reconnect.
    #[must_use]
    pub fn reconnector(&self) -> Reconnector {
        Reconnector(self.session.clone())
    }

    /// The saved config and the drafts for its server.
    #[must_use]
    pub fn settings(&self) -> Settings {
        let config = self.store.get();
        let drafts = Drafts::load(&self.paths).of_server(&config.server_url);
        Settings { config, drafts }
    }

    /// Checks and saves the username and server address (with the server's own rules). A link
    /// code from another device of the name's owner is kept for the next session's join.
    ///
    /// # Errors
    /// An invalid username, address or link code, or a config that cannot be written.
    pub fn save_profile(
        &self,
        username: &str,
        server_url: &str,
        link_code: Option<&str>,
    ) -> Result<Config> {
        let username =
            normalize_username(username).map_err(|r| AppError::InvalidUsername(r.message))?;
        charla_client::url::websocket_url(server_url)?;
        let link_code = match link_code.map(str::trim).filter(|c| !c.is_empty()) {
            None => None,
            Some(typed) => Some(normalize_link_code(typed).ok_or(AppError::InvalidLinkCode)?),
        };
        *self
            .link_code
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = link_code;
        let ((), config) = self.store.update(|config| {
            config.username = Some(username);
            server_url.trim().clone_into(&mut config.server_url);
        })?;
        Ok(config)
    }

    /// Saves the preferences; returns those they replaced and the saved config.
    ///
    /// # Errors
    /// A config that cannot be written.
    pub fn save_preferences(&self, preferences: Preferences) -> Result<(Preferences, Config)> {
        Ok(self.store.set_preferences(preferences)?)
    }

    /// (Re)starts the chat session with the saved profile, forwarding events to `sink`.
    ///
    /// # Errors
    /// No username saved yet, or an unusable server address.
    pub async fn start_session(&self, sink: impl EventSink) -> Result<()> {
        let config = self.store.get();
        let username = config.username.clone().ok_or(AppError::NotConfigured)?;
        let outbox = self.paths.outbox_file(&config.server_url, &username);
        let mut options = ClientOptions::new(&config.server_url, &username, outbox)?;
        // Made and written before it is ever sent; the same file for this name on this server
        // from then on.
        let key_file = self
            .paths
            .device_key_file(&options.server_url, &options.username);
        options.device_key = Some(device_key::load_or_create(&key_file)?);
        options.link_code = self
            .link_code
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        let mut session = self.session.lock().await;
        if let Some(old) = session.take() {
            old.disconnect().await;
        }
        let (tx, rx) = mpsc::unbounded_channel();
        *session = Some(charla_client::spawn(options, tx));
        tokio::spawn(bridge(rx, sink));
        Ok(())
    }

    /// The running client.
    ///
    /// # Errors
    /// No session.
    pub async fn handle(&self) -> Result<ClientHandle> {
        self.session.lock().await.clone().ok_or(AppError::NoSession)
    }

    /// Queues a message to `room` (it is in the persisted outbox when this returns).
    ///
    /// # Errors
    /// No session, an empty text, or an outbox that cannot be written.
    pub async fn send(&self, room: &str, text: String) -> Result<OutboxEntry> {
        Ok(self.handle().await?.send_to(room, text).await?)
    }

    /// Queues a change to a message of `room` (it is in the persisted outbox when this
    /// returns).
    ///
    /// # Errors
    /// No session, an edit's empty text, a reaction that is not one emoji, an unsent message
    /// that is not in the outbox, or an outbox that cannot be written.
    pub async fn change(
        &self,
        room: &str,
        target: ChangeTarget,
        change: ChangeOp,
    ) -> Result<OutboxChange> {
        Ok(self.handle().await?.change(room, target, change).await?)
    }

    /// Puts a failed message (or change) back in line.
    ///
    /// # Errors
    /// No session or no such message.
    pub async fn retry(&self, client_id: &str) -> Result<()> {
        Ok(self.handle().await?.retry(client_id).await?)
    }

    /// Drops an unsent message (with the changes made to it) or change.
    ///
    /// # Errors
    /// No session or no such message.
    pub async fn discard(&self, client_id: &str) -> Result<()> {
        Ok(self.handle().await?.discard(client_id).await?)
    }

    /// Tells `room`'s members we are typing (or stopped).
    ///
    /// # Errors
    /// No session.
    pub async fn typing(&self, room: &str, typing: bool) -> Result<()> {
        self.handle().await?.typing_in(room, typing);
        Ok(())
    }

    /// Skips the reconnection wait.
    ///
    /// # Errors
    /// No session.
    pub async fn reconnect_now(&self) -> Result<()> {
        self.handle().await?.reconnect_now();
        Ok(())
    }

    /// A link code for another computer to use this name (once, within ten minutes).
    ///
    /// # Errors
    /// No session, not connected now, or refused by the server.
    pub async fn link_code(&self) -> Result<DeviceLink> {
        Ok(self.handle().await?.link_code().await?)
    }

    /// Revokes this device's key on the server, deletes it here, stops the session and clears
    /// the saved name: the app goes back to choosing one. Returns the saved config.
    ///
    /// # Errors
    /// No session, not connected now, refused by the server, or a file that cannot be changed.
    pub async fn forget_device(&self) -> Result<Config> {
        let mut session = self.session.lock().await;
        let handle = session.clone().ok_or(AppError::NoSession)?;
        handle.forget_device().await?;
        handle.disconnect().await;
        *session = None;
        drop(session);
        let config = self.store.get();
        if let Some(username) = &config.username {
            let server_url = charla_client::url::websocket_url(&config.server_url)?;
            let username = username.trim();
            device_key::remove(&self.paths.device_key_file(&server_url, username))?;
        }
        let ((), config) = self.store.update(|config| config.username = None)?;
        Ok(config)
    }

    /// Saves the composer draft of `room` on the configured server.
    ///
    /// # Errors
    /// When it cannot be written.
    pub fn save_draft(&self, room: &str, text: &str) -> Result<()> {
        let config = self.store.get();
        Drafts::load(&self.paths).set_in(&self.paths, &config.server_url, room, text)?;
        Ok(())
    }

    /// Mutes (or unmutes) `room` on the configured server; returns the saved config.
    ///
    /// # Errors
    /// When the config cannot be written.
    pub fn set_room_muted(&self, room: &str, muted: bool) -> Result<Config> {
        let ((), config) = self.store.update(|config| config.set_muted(room, muted))?;
        Ok(config)
    }
}
