//! The window: hide to the tray (Ctrl+W, the header button), and the unread count.

use std::sync::Arc;

use tauri::State;

use crate::notify::Notifier;
use crate::window::Window;

/// Hides the window; the chat keeps running in the tray.
#[tauri::command]
pub fn hide_window(window: State<'_, Arc<Window>>) {
    window.hide();
}

/// Messages from others not yet read (muted rooms' mentions only).
#[tauri::command]
pub fn unread_count(notifier: State<'_, Arc<Notifier>>) -> u64 {
    notifier.totals().unread
}
