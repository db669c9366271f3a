//! Conversations: rooms and DMs, their history and read markers, search, mute, and which one
//! the window shows. Each asks the client (and through it the server) and returns its answer;
//! messages in it come marked for the user (`whose`).

use std::sync::Arc;

use charla_client::settings::Config;
use charla_protocol::chat::{
    Done, HistoryPage, RoomEntered, RoomList, SearchRequest, SearchResults,
};
use tauri::State;

use crate::error::Result;
use crate::notify::Notifier;
use crate::session::AppState;
use crate::whose::Marked;

/// The public rooms, most recently active first.
#[tauri::command]
pub async fn list_rooms(state: State<'_, AppState>) -> Result<RoomList> {
    Ok(state.handle().await?.rooms().await?)
}

/// Makes a room, this name its first member.
#[tauri::command]
pub async fn create_room(
    state: State<'_, AppState>,
    notifier: State<'_, Arc<Notifier>>,
    room: String,
    topic: String,
) -> Result<Marked<RoomEntered>> {
    let entered = state.handle().await?.create_room(&room, &topic).await?;
    Ok(Marked::new(entered, notifier.me()))
}

/// Joins a room (or opens one this name is in).
#[tauri::command]
pub async fn join_room(
    state: State<'_, AppState>,
    notifier: State<'_, Arc<Notifier>>,
    room: String,
) -> Result<Marked<RoomEntered>> {
    let entered = state.handle().await?.join_room(&room).await?;
    Ok(Marked::new(entered, notifier.me()))
}

/// Leaves a room.
#[tauri::command]
pub async fn leave_room(state: State<'_, AppState>, room: String) -> Result<Done> {
    Ok(state.handle().await?.leave_room(&room).await?)
}

/// Changes a room's topic.
#[tauri::command]
pub async fn set_topic(state: State<'_, AppState>, room: String, topic: String) -> Result<Done> {
    Ok(state.handle().await?.set_topic(&room, &topic).await?)
}

/// Opens the direct message with `username` (made the first time).
#[tauri::command]
pub async fn open_dm(
    state: State<'_, AppState>,
    notifier: State<'_, Arc<Notifier>>,
    username: String,
) -> Result<Marked<RoomEntered>> {
    let entered = state.handle().await?.open_dm(&username).await?;
    Ok(Marked::new(entered, notifier.me()))
}

/// A page of a room's messages before `before`, oldest first.
#[tauri::command]
pub async fn load_history(
    state: State<'_, AppState>,
    notifier: State<'_, Arc<Notifier>>,
    room: String,
    before: u64,
    limit: usize,
) -> Result<Marked<HistoryPage>> {
    let page = state.handle().await?.history(&room, before, limit).await?;
    Ok(Marked::new(page, notifier.me()))
}

/// Marks a room read up to `seq` (every device of the name follows).
#[tauri::command]
pub async fn mark_read(state: State<'_, AppState>, room: String, seq: u64) -> Result<Done> {
    Ok(state.handle().await?.mark_read(&room, seq).await?)
}

/// Searches this name's rooms and DMs.
#[tauri::command]
pub async fn search(state: State<'_, AppState>, request: SearchRequest) -> Result<SearchResults> {
    Ok(state.handle().await?.search(request).await?)
}

/// The window now shows `room`: its messages are seen as they arrive while it is in front.
#[tauri::command]
pub fn show_conversation(notifier: State<'_, Arc<Notifier>>, room: String) {
    notifier.showing(&room);
}

/// Mutes or unmutes a room (notifications and the tray count its mentions only).
#[tauri::command]
pub fn set_room_muted(state: State<'_, AppState>, room: String, muted: bool) -> Result<Config> {
    state.set_room_muted(&room, muted)
}
