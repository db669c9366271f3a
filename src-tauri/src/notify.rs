//! The unread count and desktop notifications, from the event stream: a burst of messages
//! becomes one notification, and the count follows what the user has not seen.
//!
//! Given at setup what it needs to know of the rest of the app: whether the window is in front,
//! and what to do when the count changes (the tray and the window show it).

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use charla_client::ClientEvent;
use tauri::AppHandle;
use tauri_plugin_notification::NotificationExt;

use crate::attention::Attention;
use crate::config_store::ConfigStore;

/// Whether the user is looking at the chat now.
pub type InFront = Box<dyn Fn() -> bool + Send + Sync>;
/// Shows a new unread count.
pub type ShowUnread = Box<dyn Fn(usize) + Send + Sync>;

/// Counts unread messages and shows notifications.
pub struct Notifier {
    app: AppHandle,
    store: Arc<ConfigStore>,
    attention: Mutex<Attention>,
    me: Mutex<String>,
    in_front: InFront,
    show_unread: ShowUnread,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Notifier {
    /// A notifier that shows notifications through `app`, reads preferences from `store`, asks
    /// `in_front` whether the user is looking, and hands count changes to `show_unread`.
    #[must_use]
    pub fn new(
        app: AppHandle,
        store: Arc<ConfigStore>,
        in_front: InFront,
        show_unread: ShowUnread,
    ) -> Arc<Self> {
        Arc::new(Self {
            app,
            store,
            attention: Mutex::new(Attention::default()),
            me: Mutex::new(String::new()),
            in_front,
            show_unread,
        })
    }

    /// Sees every client event on its way to the window.
    pub fn observe(self: &Arc<Self>, event: &ClientEvent) {
        match event {
            ClientEvent::Joined { username, .. } => lock(&self.me).clone_from(username),
            // The window shows `general` only, so far: other rooms' messages are not its to
            // announce.
            ClientEvent::Message(message) if message.room.is_none() => {
                let me = lock(&self.me).clone();
                let preferences = self.store.preferences();
                let now = Instant::now();
                let in_front = (self.in_front)();
                let (changed, unread, due) = {
                    let mut attention = lock(&self.attention);
                    let had_batch = attention.due_at().is_some();
                    let changed = attention.on_message(message, &me, in_front, preferences, now);
                    let due = (!had_batch).then(|| attention.due_at()).flatten();
                    (changed, attention.unread(), due)
                };
                if changed {
                    self.set_unread(unread);
                }
                if let Some(due) = due {
                    let notifier = self.clone();
                    tauri::async_runtime::spawn(async move {
                        tokio::time::sleep_until(due.into()).await;
                        notifier.show_due_notification();
                    });
                }
            }
            _ => {}
        }
    }

    /// The window came to the front: everything counts as read.
    pub fn focused(&self) {
        let had = {
            let mut attention = lock(&self.attention);
            let had = attention.unread() > 0;
            attention.focused();
            had
        };
        if had {
            self.set_unread(0);
        }
    }

    /// Unread messages right now.
    #[must_use]
    pub fn unread(&self) -> usize {
        lock(&self.attention).unread()
    }

    fn set_unread(&self, unread: usize) {
        tracing::info!(unread, "unread count");
        (self.show_unread)(unread);
    }

    fn show_due_notification(&self) {
        let Some(notification) = lock(&self.attention).take_due(Instant::now()) else {
            return;
        };
        tracing::info!(title = %notification.title, "notification");
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
