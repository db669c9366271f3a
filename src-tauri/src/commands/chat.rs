//! Chatting: send, retry, discard, typing, reconnect.

use charla_client::OutboxEntry;
use tauri::State;

use crate::error::Result;
use crate::session::AppState;

/// Queues a message to `room`; returns its outbox entry.
#[tauri::command]
pub async fn send_message(
    state: State<'_, AppState>,
    room: String,
    text: String,
) -> Result<OutboxEntry> {
    state.send(&room, text).await
}

/// Retries a failed message.
#[tauri::command]
pub async fn retry_message(state: State<'_, AppState>, client_id: String) -> Result<()> {
    state.retry(&client_id).await
}

/// Discards an unsent message.
#[tauri::command]
pub async fn discard_message(state: State<'_, AppState>, client_id: String) -> Result<()> {
    state.discard(&client_id).await
}

/// Typing started or stopped in `room`.
#[tauri::command]
pub async fn set_typing(state: State<'_, AppState>, room: String, typing: bool) -> Result<()> {
    state.typing(&room, typing).await
}

/// Reconnects at once instead of waiting.
#[tauri::command]
pub async fn reconnect_now(state: State<'_, AppState>) -> Result<()> {
    state.reconnect_now().await
}
