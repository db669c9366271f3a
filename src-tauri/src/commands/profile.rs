//! Profile and local state: settings, first run, drafts, (re)starting the session.

use std::sync::Arc;

use charla_client::settings::{Config, Preferences};
use charla_protocol::chat::DeviceLink;
use tauri::{AppHandle, State};

use crate::bridge::WebviewSink;
use crate::error::Result;
use crate::notify::Notifier;
use crate::session::{AppState, Settings};

/// The saved config and drafts.
#[tauri::command]
pub fn load_settings(state: State<'_, AppState>) -> Settings {
    state.settings()
}

/// Saves the username and server after checking them; a link code from another device of the
/// name's owner goes with the next join.
#[tauri::command]
pub fn save_profile(
    state: State<'_, AppState>,
    username: String,
    server_url: String,
    link_code: Option<String>,
) -> Result<Config> {
    state.save_profile(&username, &server_url, link_code.as_deref())
}

/// A link code for another computer to use this name.
#[tauri::command]
pub async fn link_code(state: State<'_, AppState>) -> Result<DeviceLink> {
    state.link_code().await
}

/// Revokes this device for the name and goes back to choosing one.
#[tauri::command]
pub async fn forget_device(state: State<'_, AppState>) -> Result<Config> {
    state.forget_device().await
}

/// Saves the notification and window preferences; applies start-on-login at once.
#[tauri::command]
pub fn save_preferences(
    app: AppHandle,
    state: State<'_, AppState>,
    preferences: Preferences,
) -> Result<Config> {
    let (before, config) = state.save_preferences(preferences)?;
    if before.start_on_login != preferences.start_on_login {
        use tauri_plugin_autostart::ManagerExt;
        let autostart = app.autolaunch();
        let result = if preferences.start_on_login {
            autostart.enable()
        } else {
            autostart.disable()
        };
        if let Err(e) = result {
            tracing::warn!(error = %e, "could not change start on login");
        }
    }
    Ok(config)
}

/// Starts (or restarts) the chat with the saved profile.
#[tauri::command]
pub async fn start_session(
    state: State<'_, AppState>,
    sink: State<'_, WebviewSink>,
    notifier: State<'_, Arc<Notifier>>,
) -> Result<()> {
    notifier.reset();
    state.start_session(sink.inner().clone()).await
}

/// Saves a conversation's composer draft.
#[tauri::command]
pub fn save_draft(state: State<'_, AppState>, room: String, text: String) -> Result<()> {
    state.save_draft(&room, &text)
}
