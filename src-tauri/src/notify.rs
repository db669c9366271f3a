//! The unread counts and desktop notifications, from the event stream: a burst in one
//! conversation becomes one notification, clicking it opens that conversation, and the counts
//! follow what the user has not read.
//!
//! Given at setup what it needs to know of the rest of the app: whether the window is in front,
//! what to do when the totals change (the tray and the window show them), and what a click on
//! a notification opens.

use std::collections::HashMap;
use std::sync::atomic::AtomicUsize;
#[cfg(target_os = "linux")]
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use charla_client::ClientEvent;
use charla_protocol::chat::{ChatMessage, RoomInfo, RoomKind, GENERAL_ROOM};
use tauri::AppHandle;

use crate::attention::{self, Attention, Context, Notification};
use crate::config_store::ConfigStore;
use crate::counts::{room_of, Counted, Counts, Totals};

/// Whether the user is looking at the chat now.
pub type InFront = Box<dyn Fn() -> bool + Send + Sync>;
/// Shows new totals.
pub type ShowTotals = Box<dyn Fn(Totals) + Send + Sync>;
/// Opens a conversation (a notification was clicked).
pub type OpenConversation = Arc<dyn Fn(String) + Send + Sync>;

/// Most notifications waited on for a click at once; beyond it they still show, unclickable.
const MAX_WAITING: usize = 16;

/// Counts unread messages and shows notifications.
pub struct Notifier {
    #[cfg_attr(target_os = "linux", allow(dead_code))]
    app: AppHandle,
    store: Arc<ConfigStore>,
    state: Mutex<State>,
    in_front: InFront,
    show_totals: ShowTotals,
    #[cfg_attr(not(target_os = "linux"), allow(dead_code))]
    open: OpenConversation,
    #[cfg_attr(not(target_os = "linux"), allow(dead_code))]
    waiting: Arc<AtomicUsize>,
}

#[derive(Default)]
struct State {
    me: String,
    /// The conversation the window shows.
    showing: String,
    counts: Counts,
    attention: Attention,
    /// For each DM, the other person.
    dm_with: HashMap<String, String>,
    shown: Totals,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl State {
    fn learn_room(&mut self, room: &str, kind: RoomKind, members: &[String]) {
        if kind == RoomKind::Dm {
            let me = self.me.clone();
            let other = members
                .iter()
                .find(|m| !m.eq_ignore_ascii_case(&me))
                .cloned()
                .unwrap_or_else(|| me.clone());
            self.dm_with.insert(room.to_owned(), other);
        }
    }

    fn room_updated(&mut self, info: &RoomInfo) {
        self.learn_room(&info.room, info.kind, &info.members);
        self.counts.room_updated(info, &self.me);
    }

    /// Counts a message; returns the batch's due time when it starts a notification.
    fn message(
        &mut self,
        message: &ChatMessage,
        in_front: bool,
        store: &ConfigStore,
        now: Instant,
    ) -> Option<(String, Instant)> {
        let room = room_of(message.room.as_deref()).to_owned();
        // A guest's message under my name is someone else's (the app always joins with its key).
        let own = message.username.eq_ignore_ascii_case(&self.me) && !message.guest;
        let mention = !own && attention::mentions_me(message, &self.me);
        let seen = in_front && room == self.showing;
        let counted = self
            .counts
            .on_message(&room, message.seq, own, mention, seen);
        // While the window is in front its sidebar shows what arrived elsewhere: counted, not
        // announced.
        if counted == Counted::Not || in_front {
            return None;
        }
        let context = Context {
            room: &room,
            dm_with: self.dm_with.get(&room).map(String::as_str),
            muted: self.counts.is_muted(&room),
            mention,
        };
        if !attention::wanted(store.preferences(), context) {
            return None;
        }
        let due = self.attention.on_message(message, context, now)?;
        Some((room, due))
    }
}

impl Notifier {
    /// A notifier that shows notifications through `app`, reads preferences from `store`, asks `in_front` whether the user is
    /// looking, hands changed totals to `show_totals`, and has `open` show a conversation
    /// whose notification was clicked.
    #[must_use]
    pub fn new(
        app: AppHandle,
        store: Arc<ConfigStore>,
        in_front: InFront,
        show_totals: ShowTotals,
        open: OpenConversation,
    ) -> Arc<Self> {
        let mut state = State {
            showing: GENERAL_ROOM.to_owned(),
            ..State::default()
        };
        state.counts.set_muted(store.get().muted_rooms());
        Arc::new(Self {
            app,
            store,
            state: Mutex::new(state),
            in_front,
            show_totals,
            open,
            waiting: Arc::new(AtomicUsize::new(0)),
        })
    }

    /// Sees every client event on its way to the window.
    pub fn observe(self: &Arc<Self>, event: &ClientEvent) {
        let mut due = None;
        {
            let mut state = lock(&self.state);
            match event {
                ClientEvent::Joined {
                    username, history, ..
                } => {
                    username.clone_into(&mut state.me);
                    let last = history.iter().filter_map(|m| m.seq).max().unwrap_or(0);
                    state.counts.joined(last);
                }
                ClientEvent::Rooms { rooms } => {
                    for room in rooms {
                        state.learn_room(&room.room, room.kind, &room.members);
                    }
                    state.counts.set_rooms(rooms);
                }
                ClientEvent::RoomUpdated(info) => state.room_updated(info),
                ClientEvent::ReadMarker(marker) => {
                    state.counts.read_marker(marker);
                    if marker.unread == 0 {
                        state.attention.seen(&marker.room);
                    }
                }
                ClientEvent::HistoryReset => state.counts.history_reset(),
                ClientEvent::Message(message) => {
                    due = state.message(message, (self.in_front)(), &self.store, Instant::now());
                }
                _ => return,
            }
        }
        self.show_if_changed();
        if let Some((room, due)) = due {
            let notifier = self.clone();
            tauri::async_runtime::spawn(async move {
                tokio::time::sleep_until(due.into()).await;
                notifier.show_due_notification(&room);
            });
        }
    }

    /// The window now shows `room`.
    pub fn showing(&self, room: &str) {
        room.clone_into(&mut lock(&self.state).showing);
        if (self.in_front)() {
            self.focused();
        }
    }

    /// The rooms muted changed (the config was saved).
    pub fn set_muted(&self, muted: &[String]) {
        lock(&self.state).counts.set_muted(muted);
        self.show_if_changed();
    }

    /// The window came to the front: the conversation it shows counts as read (the window
    /// moves the server's marker, which other devices follow).
    pub fn focused(&self) {
        {
            let mut state = lock(&self.state);
            let room = state.showing.clone();
            state.counts.clear(&room);
            state.attention.seen(&room);
        }
        self.show_if_changed();
    }

    /// Unread messages right now.
    #[must_use]
    pub fn totals(&self) -> Totals {
        lock(&self.state).counts.totals()
    }

    fn show_if_changed(&self) {
        let totals = {
            let mut state = lock(&self.state);
            let totals = state.counts.totals();
            if totals == state.shown {
                return;
            }
            state.shown = totals;
            totals
        };
        tracing::info!(
            unread = totals.unread,
            mentions = totals.mentions,
            "unread count"
        );
        (self.show_totals)(totals);
    }

    fn show_due_notification(&self, room: &str) {
        let Some(notification) = lock(&self.state).attention.take_due(room, Instant::now()) else {
            return;
        };
        if (self.in_front)() {
            // Brought to the front while the burst gathered: the window shows it.
            return;
        }
        tracing::info!(title = %notification.title, room = %notification.room, "notification");
        #[cfg(target_os = "linux")]
        show_clickable(notification, self.open.clone(), &self.waiting);
        #[cfg(not(target_os = "linux"))]
        show_plain(&self.app, &notification);
    }
}

/// Shows a notification whose default action opens its conversation: on Linux through the
/// freedesktop notification server, waiting on a thread of its own for `ActionInvoked` (the
/// Tauri plugin has no click callback on desktop).
#[cfg(target_os = "linux")]
fn show_clickable(notification: Notification, open: OpenConversation, waiting: &Arc<AtomicUsize>) {
    let shown = notify_rust::Notification::new()
        .appname("Charla")
        .summary(&notification.title)
        .body(&notification.body)
        .action("default", "Open")
        .hint(notify_rust::Hint::Category("im.received".to_owned()))
        .show();
    let handle = match shown {
        Ok(handle) => handle,
        Err(e) => {
            tracing::warn!(error = %e, "could not show a notification");
            return;
        }
    };
    if waiting.fetch_add(1, Ordering::AcqRel) >= MAX_WAITING {
        waiting.fetch_sub(1, Ordering::AcqRel);
        tracing::warn!(
            limit = MAX_WAITING,
            "too many notifications open: this one does not wait for a click"
        );
        return;
    }
    let waiting = waiting.clone();
    let room = notification.room;
    let spawned = std::thread::Builder::new()
        .name("notification-click".into())
        .spawn({
            let waiting = waiting.clone();
            move || {
                // Returns once the notification is clicked, dismissed or expires.
                handle.wait_for_action(|action| {
                    if action == "default" {
                        tracing::info!(%room, "notification clicked");
                        open(room);
                    }
                });
                waiting.fetch_sub(1, Ordering::AcqRel);
            }
        });
    if let Err(e) = spawned {
        waiting.fetch_sub(1, Ordering::AcqRel);
        tracing::warn!(error = %e, "could not wait for a notification's click");
    }
}

/// Elsewhere the notification plugin's: it shows, but a click only brings the app to the
/// front (the README says so).
#[cfg(not(target_os = "linux"))]
fn show_plain(app: &AppHandle, notification: &Notification) {
    use tauri_plugin_notification::NotificationExt;
    if let Err(e) = app
        .notification()
        .builder()
        .title(&notification.title)
        .body(&notification.body)
        .show()
    {
        tracing::warn!(error = %e, "could not show a notification");
    }
}
