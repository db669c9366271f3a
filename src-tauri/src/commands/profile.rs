//! Profile and local state: settings, first run, drafts, (re)starting the session.

use charla_client::settings::Config;
use tauri::{AppHandle, State};

use crate::error::Result;
use crate::session::{AppState, Settings};

/// The saved config and draft.
#[tauri::command]
pub fn load_settings(state: State<'_, AppState>) -> Settings {
    state.settings()
}

/// Saves the username and server after checking them.
#[tauri::command]
pub fn save_profile(
    state: State<'_, AppState>,
    username: String,
    server_url: String,
) -> Result<Config> {
    state.save_profile(&username, &server_url)
}

/// Starts (or restarts) the chat with the saved profile.
#[tauri::command]
pub async fn start_session(app: AppHandle, state: State<'_, AppState>) -> Result<()> {
    state.start_session(app).await
}

/// Saves the composer draft.
#[tauri::command]
pub fn save_draft(state: State<'_, AppState>, text: String) -> Result<()> {
    state.save_draft(&text)
}
