//! Charla in the operating system: unread counting and notifications from the event stream,
//! window behaviour (close to tray, show on second launch, focus clears unread), preferences,
//! and reconnecting promptly after the machine wakes.

use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

use charla_client::settings::{Config, Paths};
use charla_client::ClientEvent;
use tauri::{AppHandle, Manager};
use tauri_plugin_notification::NotificationExt;

use crate::attention::{Attention, Preferences};
use crate::session::AppState;
use crate::tray;

/// What the desktop integration keeps between events.
pub struct Desktop {
    attention: Mutex<Attention>,
    me: Mutex<String>,
    paths: Paths,
    has_tray: bool,
}

impl Desktop {
    /// Integration state; `has_tray` says whether closing may hide to the tray.
    #[must_use]
    pub fn new(paths: Paths, has_tray: bool) -> Self {
        Self {
            attention: Mutex::new(Attention::default()),
            me: Mutex::new(String::new()),
            paths,
            has_tray,
        }
    }

    fn config(&self) -> Config {
        Config::load(&self.paths)
    }

    /// Unread messages right now.
    #[must_use]
    pub fn unread(&self) -> usize {
        lock(&self.attention).unread()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn main_window(app: &AppHandle) -> Option<tauri::WebviewWindow> {
    app.get_webview_window("main")
}

/// Whether the user is looking at the chat: visible, not minimized, focused.
fn in_front(app: &AppHandle) -> bool {
    main_window(app).is_some_and(|w| {
        w.is_visible().unwrap_or(false)
            && !w.is_minimized().unwrap_or(false)
            && w.is_focused().unwrap_or(false)
    })
}

/// Sees every client event on its way to the window.
pub fn observe(app: &AppHandle, event: &ClientEvent) {
    let Some(desktop) = app.try_state::<Desktop>() else {
        return;
    };
    match event {
        ClientEvent::Joined { username, .. } => lock(&desktop.me).clone_from(username),
        ClientEvent::Message(message) => {
            let me = lock(&desktop.me).clone();
            let notifications = desktop.config().notifications;
            let prefs = Preferences {
                enabled: notifications.enabled,
                mentions_only: notifications.mentions_only,
            };
            let now = Instant::now();
            let (changed, unread, due) = {
                let mut attention = lock(&desktop.attention);
                let had_batch = attention.due_at().is_some();
                let changed = attention.on_message(message, &me, in_front(app), prefs, now);
                let due = (!had_batch).then(|| attention.due_at()).flatten();
                (changed, attention.unread(), due)
            };
            if changed {
                set_unread(app, unread);
            }
            if let Some(due) = due {
                let app = app.clone();
                tauri::async_runtime::spawn(async move {
                    tokio::time::sleep_until(due.into()).await;
                    show_due_notification(&app);
                });
            }
        }
        _ => {}
    }
}

fn show_due_notification(app: &AppHandle) {
    let Some(desktop) = app.try_state::<Desktop>() else {
        return;
    };
    let Some(notification) = lock(&desktop.attention).take_due(Instant::now()) else {
        return;
    };
    tracing::info!(title = %notification.title, "notification");
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

fn set_unread(app: &AppHandle, unread: usize) {
    tracing::info!(unread, "unread count");
    tray::show_unread(app, unread);
    if let Some(window) = main_window(app) {
        let badge = (unread > 0).then(|| i64::try_from(unread).unwrap_or(i64::MAX));
        // Only some desktops have launcher badges; elsewhere this is a no-op or an error.
        let _ = window.set_badge_count(badge);
        let title = if unread > 0 {
            format!("Charla ({unread})")
        } else {
            "Charla".to_owned()
        };
        let _ = window.set_title(&title);
    }
}

/// The window came to the front: everything counts as read.
pub fn focused(app: &AppHandle) {
    let Some(desktop) = app.try_state::<Desktop>() else {
        return;
    };
    let had = {
        let mut attention = lock(&desktop.attention);
        let had = attention.unread() > 0;
        attention.focused();
        had
    };
    if had {
        set_unread(app, 0);
    }
}

/// Closing the window hides it to the tray (when there is one and the setting is on).
/// Returns whether the close was turned into a hide.
pub fn close_requested(app: &AppHandle) -> bool {
    let Some(desktop) = app.try_state::<Desktop>() else {
        return false;
    };
    if !(desktop.has_tray && desktop.config().tray.close_to_tray) {
        return false;
    }
    hide_window(app);
    true
}

/// Shows, unminimizes and focuses the window (tray "Show", second launch).
pub fn show_window(app: &AppHandle) {
    if let Some(window) = main_window(app) {
        let _ = window.unminimize();
        let _ = window.show();
        let _ = window.set_focus();
    }
    focused(app);
}

/// Hides the window; the chat keeps running.
pub fn hide_window(app: &AppHandle) {
    if let Some(window) = main_window(app) {
        let _ = window.hide();
    }
}

/// Tray "Show/Hide".
pub fn toggle_window(app: &AppHandle) {
    match main_window(app).map(|w| w.is_visible().unwrap_or(false)) {
        Some(true) => hide_window(app),
        _ => show_window(app),
    }
}

/// Tray "Mute notifications": flips and saves the preference.
pub fn toggle_mute(app: &AppHandle) {
    let Some(desktop) = app.try_state::<Desktop>() else {
        return;
    };
    let mut config = desktop.config();
    config.notifications.enabled = !config.notifications.enabled;
    if let Err(e) = config.save(&desktop.paths) {
        tracing::warn!(error = %e, "could not save the mute setting");
    }
    sync_mute_item(app, &config);
}

/// Keeps the tray's check mark in step with the saved preference.
pub fn sync_mute_item(app: &AppHandle, config: &Config) {
    if let Some(item) = app.try_state::<tray::MuteItem>() {
        let _ = item.0.set_checked(!config.notifications.enabled);
    }
}

/// After a suspend the wall clock jumps while the monotonic clock does not: reconnect at
/// once rather than waiting out a dead socket's heartbeat.
pub fn watch_for_wake(app: AppHandle) {
    const TICK: Duration = Duration::from_secs(5);
    tauri::async_runtime::spawn(async move {
        let mut wall = SystemTime::now();
        let mut mono = Instant::now();
        loop {
            tokio::time::sleep(TICK).await;
            let wall_elapsed = SystemTime::now().duration_since(wall).unwrap_or_default();
            let mono_elapsed = mono.elapsed();
            if wall_elapsed > mono_elapsed + Duration::from_secs(10) {
                tracing::info!(
                    asleep_s = wall_elapsed.saturating_sub(mono_elapsed).as_secs(),
                    "woke up; reconnecting"
                );
                if let Some(state) = app.try_state::<AppState>() {
                    let _ = state.reconnect_now().await;
                }
            }
            wall = SystemTime::now();
            mono = Instant::now();
        }
    });
}
