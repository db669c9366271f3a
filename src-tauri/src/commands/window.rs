//! The window: hide to the tray (Ctrl+W, the header button).

use std::sync::Arc;

use tauri::State;

use crate::window::Window;

/// Hides the window; the chat keeps running in the tray.
#[tauri::command]
pub fn hide_window(window: State<'_, Arc<Window>>) {
    window.hide();
}
