//! Changing messages after they are said: edit, delete, react, pin, and the pinned list.
//!
//! A change goes through the client's outbox like a message (it returns once queued; what it
//! did arrives as a `messageUpdated` event, and a refusal marks it failed in the next `outbox`
//! event's `changes`); `retry_message` and `discard_message` take a change's `clientId` too.
//! `target` is `{seq}` for a message the server numbered, or `{clientId}` for one still unsent.

use std::sync::Arc;

use charla_client::{ChangeOp, ChangeTarget, OutboxChange};
use charla_protocol::chat::PinList;
use tauri::State;

use crate::error::Result;
use crate::notify::Notifier;
use crate::session::AppState;
use crate::whose::Marked;

/// Replaces the text of one of the user's messages in `room`.
#[tauri::command]
pub async fn edit_message(
    state: State<'_, AppState>,
    room: String,
    target: ChangeTarget,
    text: String,
) -> Result<OutboxChange> {
    state.change(&room, target, ChangeOp::Edit { text }).await
}

/// Takes one of the user's messages in `room` back.
#[tauri::command]
pub async fn delete_message(
    state: State<'_, AppState>,
    room: String,
    target: ChangeTarget,
) -> Result<OutboxChange> {
    state.change(&room, target, ChangeOp::Delete).await
}

/// Adds (`on`) or takes back the user's `emoji` on a message of `room`.
#[tauri::command]
pub async fn react_to_message(
    state: State<'_, AppState>,
    room: String,
    target: ChangeTarget,
    emoji: String,
    on: bool,
) -> Result<OutboxChange> {
    state
        .change(&room, target, ChangeOp::React { emoji, on })
        .await
}

/// Pins (`pinned`) or unpins a message of `room`.
#[tauri::command]
pub async fn pin_message(
    state: State<'_, AppState>,
    room: String,
    target: ChangeTarget,
    pinned: bool,
) -> Result<OutboxChange> {
    state.change(&room, target, ChangeOp::Pin { pinned }).await
}

/// The pinned messages of `room`, the most recently pinned first.
#[tauri::command]
pub async fn list_pins(
    state: State<'_, AppState>,
    notifier: State<'_, Arc<Notifier>>,
    room: String,
) -> Result<Marked<PinList>> {
    let pins = state.handle().await?.pins(&room).await?;
    Ok(Marked::new(pins, notifier.me()))
}
