//! The app's state: where local files live, the config, and the running chat session (one
//! client task and its bridge), restarted when the profile changes or the window reloads.

use std::sync::Arc;

use charla_client::settings::{Config, Drafts, Paths, Preferences};
use charla_client::{ClientHandle, ClientOptions, OutboxEntry};
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
    /// The composer draft for the configured server.
    pub draft: String,
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
        }
    }

    /// What hurries this state's session to reconnect.
    #[must_use]
    pub fn reconnector(&self) -> Reconnector {
        Reconnector(self.session.clone())
    }

    /// The saved config and the draft for its server.
    #[must_use]
    pub fn settings(&self) -> Settings {
        let config = self.store.get();
        let draft = Drafts::load(&self.paths).get(&config.server_url).to_owned();
        Settings { config, draft }
    }

    /// Checks and saves the username and server address (with the server's own rules).
    ///
    /// # Errors
    /// An invalid username or address, or a config that cannot be written.
    pub fn save_profile(&self, username: &str, server_url: &str) -> Result<Config> {
        let username =
            normalize_username(username).map_err(|r| AppError::InvalidUsername(r.message))?;
        charla_client::url::websocket_url(server_url)?;
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
        let options = ClientOptions::new(&config.server_url, &username, outbox)?;
        let mut session = self.session.lock().await;
        if let Some(old) = session.take() {
            old.disconnect().await;
        }
        let (tx, rx) = mpsc::unbounded_channel();
        *session = Some(charla_client::spawn(options, tx));
        tokio::spawn(bridge(rx, sink));
        Ok(())
    }

    async fn handle(&self) -> Result<ClientHandle> {
        self.session.lock().await.clone().ok_or(AppError::NoSession)
    }

    /// Queues a message (it is in the persisted outbox when this returns).
    ///
    /// # Errors
    /// No session, an empty text, or an outbox that cannot be written.
    pub async fn send(&self, text: String) -> Result<OutboxEntry> {
        Ok(self.handle().await?.send(text).await?)
    }

    /// Puts a failed message back in line.
    ///
    /// # Errors
    /// No session or no such message.
    pub async fn retry(&self, client_id: &str) -> Result<()> {
        Ok(self.handle().await?.retry(client_id).await?)
    }

    /// Drops an unsent message.
    ///
    /// # Errors
    /// No session or no such message.
    pub async fn discard(&self, client_id: &str) -> Result<()> {
        Ok(self.handle().await?.discard(client_id).await?)
    }

    /// Tells the others we are typing (or stopped).
    ///
    /// # Errors
    /// No session.
    pub async fn typing(&self, typing: bool) -> Result<()> {
        self.handle().await?.typing(typing);
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

    /// Saves the composer draft for the configured server.
    ///
    /// # Errors
    /// When it cannot be written.
    pub fn save_draft(&self, text: &str) -> Result<()> {
        let config = self.store.get();
        Drafts::load(&self.paths).set(&self.paths, &config.server_url, text)?;
        Ok(())
    }
}
