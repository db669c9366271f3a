//! The window: hide to the tray (Ctrl+W, the header button), and the unread count.

use tauri::{AppHandle, State};

use crate::system::{self, Desktop};

/// Hides the window; the chat keeps running in the tray.
#[tauri::command]
pub fn hide_window(app: AppHandle) {
    system::hide_window(&app);
}

/// Messages from others not yet seen.
#[tauri::command]
pub fn unread_count(desktop: State<'_, Desktop>) -> usize {
    desktop.unread()
}
