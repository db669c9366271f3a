//! Showing a desktop notification. On Linux it goes to the freedesktop notification server
//! directly (the notification plugin has no click callback on desktop): each conversation has
//! one notification, replaced by its next burst, and clicking it opens that conversation (the
//! server's `ActionInvoked`, waited for on a thread per conversation, bounded). Elsewhere the
//! notification plugin shows it, and a click only brings the app forward.

use std::sync::Arc;

use tauri::AppHandle;

use crate::attention::Notification;

/// Opens a conversation (its notification was clicked).
pub type OpenConversation = Arc<dyn Fn(String) + Send + Sync>;

/// Shows notifications; remembers, per conversation, the one on screen.
pub struct Popups {
    #[cfg_attr(target_os = "linux", allow(dead_code))]
    app: AppHandle,
    #[cfg(target_os = "linux")]
    linux: Arc<linux::Shown>,
}

impl Popups {
    /// Notifications through `app`; a click calls `open` with the conversation.
    #[must_use]
    pub fn new(app: AppHandle, open: OpenConversation) -> Self {
        #[cfg(not(target_os = "linux"))]
        let _ = open;
        Self {
            app,
            #[cfg(target_os = "linux")]
            linux: Arc::new(linux::Shown::new(open)),
        }
    }

    /// Shows `notification` off the async threads (talking to the notification server
    /// blocks).
    pub fn show(&self, notification: Notification) {
        #[cfg(target_os = "linux")]
        {
            let shown = self.linux.clone();
            tauri::async_runtime::spawn_blocking(move || shown.show(&notification));
        }
        #[cfg(not(target_os = "linux"))]
        {
            use tauri_plugin_notification::NotificationExt;
            if let Err(e) = self
                .app
                .notification()
                .builder()
                .title(&notification.title)
                .body(&notification.body)
                .show()
            {
                tracing::warn!(error = %e, "could not show a notification");
            }
        }
    }
}

#[cfg(target_os = "linux")]
mod linux {
    use std::collections::{HashMap, HashSet};
    use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

    use super::OpenConversation;
    use crate::attention::Notification;

    /// Most conversations whose notification is waited on for a click at once; beyond it
    /// notifications still show, unclickable (logged).
    const MAX_WAITING: usize = 16;

    /// The notification on screen per conversation, and who waits for their clicks.
    pub struct Shown {
        open: OpenConversation,
        state: Mutex<State>,
    }

    #[derive(Default)]
    struct State {
        /// The server's id of each conversation's notification (replaced, not stacked).
        ids: HashMap<String, u32>,
        /// Conversations whose notification a thread waits on.
        waiting: HashSet<String>,
    }

    fn lock(m: &Mutex<State>) -> MutexGuard<'_, State> {
        m.lock().unwrap_or_else(PoisonError::into_inner)
    }

    impl Shown {
        pub fn new(open: OpenConversation) -> Self {
            Self {
                open,
                state: Mutex::new(State::default()),
            }
        }

        /// Shows (or replaces) the conversation's notification and, unless a thread waits on
        /// it already, waits for its click on a new one.
        pub fn show(self: &Arc<Self>, notification: &Notification) {
            let room = notification.room.clone();
            let previous = lock(&self.state).ids.get(&room).copied();
            let mut builder = notify_rust::Notification::new();
            builder
                .appname("Charla")
                .summary(&notification.title)
                .body(&notification.body)
                .action("default", "Open")
                .hint(notify_rust::Hint::Category("im.received".to_owned()));
            if let Some(id) = previous {
                builder.id(id);
            }
            let handle = match builder.show() {
                Ok(handle) => handle,
                Err(e) => {
                    tracing::warn!(error = %e, "could not show a notification");
                    return;
                }
            };
            {
                let mut state = lock(&self.state);
                state.ids.insert(room.clone(), handle.id());
                if state.waiting.contains(&room) && previous == Some(handle.id()) {
                    // Replaced in place: the thread waiting on it hears its click.
                    return;
                }
                if state.waiting.len() >= MAX_WAITING {
                    tracing::warn!(
                        limit = MAX_WAITING,
                        "too many notifications open: this one does not wait for a click"
                    );
                    return;
                }
                state.waiting.insert(room.clone());
            }
            let shown = self.clone();
            let spawned = std::thread::Builder::new()
                .name("notification-click".into())
                .spawn(move || {
                    let clicked = room.clone();
                    let open = shown.open.clone();
                    // Returns once the notification is clicked, dismissed or expires.
                    handle.wait_for_action(move |action| {
                        if action == "default" {
                            tracing::info!(room = %clicked, "notification clicked");
                            open(clicked);
                        }
                    });
                    let mut state = lock(&shown.state);
                    state.waiting.remove(&room);
                    state.ids.remove(&room);
                });
            if let Err(e) = spawned {
                tracing::warn!(error = %e, "could not wait for a notification's click");
                lock(&self.state).waiting.remove(&notification.room);
            }
        }
    }
}
