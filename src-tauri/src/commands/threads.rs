//! Threads: replying in one, a page of one, the threads the user follows, a thread's read
//! marker.
//!
//! A reply goes through the client's outbox like a message (it returns once queued; it comes
//! back as a `threadMessage` event, or a `message` with `thread` when sent to the room too, and
//! its root's new count as `messageUpdated`). `root` is `{seq}` for a message the server
//! numbered, or `{clientId}` for one still unsent.

use std::sync::Arc;

use charla_client::{ChangeTarget, OutboxEntry};
use charla_protocol::chat::{Done, ThreadList, ThreadPage};
use tauri::State;

use crate::error::Result;
use crate::notify::Notifier;
use crate::session::AppState;
use crate::whose::Marked;

/// Queues a reply in the thread of `root` in `room` (to the room's timeline too with
/// `also_in_room`); returns its outbox entry.
#[tauri::command]
pub async fn send_reply(
    state: State<'_, AppState>,
    room: String,
    root: ChangeTarget,
    text: String,
    also_in_room: bool,
) -> Result<OutboxEntry> {
    Ok(state
        .handle()
        .await?
        .reply(&room, root, text, also_in_room)
        .await?)
}

/// A page of the thread of `root` in `room`: the root as it is now and its newest replies
/// before `before` (all, without it), oldest first.
#[tauri::command]
pub async fn load_thread(
    state: State<'_, AppState>,
    notifier: State<'_, Arc<Notifier>>,
    room: String,
    root: u64,
    before: Option<u64>,
    limit: usize,
) -> Result<Marked<ThreadPage>> {
    let page = state
        .handle()
        .await?
        .thread(&room, root, before, limit)
        .await?;
    Ok(Marked::new(page, notifier.me()))
}

/// The threads the user follows, the most recently answered first, with their unread
/// replies; the notifier learns them too (replies in them count and notify).
#[tauri::command]
pub async fn list_threads(
    state: State<'_, AppState>,
    notifier: State<'_, Arc<Notifier>>,
) -> Result<Marked<ThreadList>> {
    let list = state.handle().await?.threads().await?;
    notifier.learn_threads(&list);
    Ok(Marked::new(list, notifier.me()))
}

/// Marks the thread of `root` in `room` read up to the reply `seq`.
#[tauri::command]
pub async fn mark_thread_read(
    state: State<'_, AppState>,
    room: String,
    root: u64,
    seq: u64,
) -> Result<Done> {
    Ok(state
        .handle()
        .await?
        .mark_thread_read(&room, root, seq)
        .await?)
}
