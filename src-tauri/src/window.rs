//! The main window: show, hide, toggle, close to the tray, and the unread count in its title and
//! launcher badge.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use serde::Serialize;
use tauri::{AppHandle, Emitter, Manager, WindowEvent};

use crate::config_store::ConfigStore;
use crate::counts::Totals;
use crate::notify::Notifier;

/// Tells the UI to open a conversation (`{room}`): a notification was clicked.
pub const OPEN_CONVERSATION: &str = "open-conversation";

#[derive(Clone, Serialize)]
struct OpenRequest<'a> {
    room: &'a str,
}

fn main_window(app: &AppHandle) -> Option<tauri::WebviewWindow> {
    app.get_webview_window("main")
}

/// Whether the user is looking at the chat: visible, not minimized, focused.
#[must_use]
pub fn in_front(app: &AppHandle) -> bool {
    main_window(app).is_some_and(|w| {
        w.is_visible().unwrap_or(false)
            && !w.is_minimized().unwrap_or(false)
            && w.is_focused().unwrap_or(false)
    })
}

/// Shows the unread count in the title and, where the desktop has one, the launcher badge.
pub fn show_unread(app: &AppHandle, totals: Totals) {
    let unread = totals.unread;
    if let Some(window) = main_window(app) {
        let badge = (unread > 0).then(|| i64::try_from(unread).unwrap_or(i64::MAX));
        // Only some desktops have launcher badges; elsewhere this is a no-op or an error.
        let _ = window.set_badge_count(badge);
        let title = match (unread, totals.mentions) {
            (0, _) => "Charla".to_owned(),
            (unread, 0) => format!("Charla ({unread})"),
            (unread, mentions) => format!("Charla ({unread}, @{mentions})"),
        };
        let _ = window.set_title(&title);
    }
}

/// The window's behaviour.
pub struct Window {
    app: AppHandle,
    store: Arc<ConfigStore>,
    notifier: Arc<Notifier>,
    /// Whether closing may hide to the tray: only once a tray exists.
    has_tray: AtomicBool,
}

impl Window {
    /// The main window of `app` (closing it quits until [`Window::set_has_tray`]).
    #[must_use]
    pub fn new(app: AppHandle, store: Arc<ConfigStore>, notifier: Arc<Notifier>) -> Arc<Self> {
        Arc::new(Self {
            app,
            store,
            notifier,
            has_tray: AtomicBool::new(false),
        })
    }

    /// A tray exists: closing may hide the window to it.
    pub fn set_has_tray(&self, has_tray: bool) {
        self.has_tray.store(has_tray, Ordering::Relaxed);
    }

    /// Shows, unminimizes and focuses the window (tray "Show", second launch); what it shows
    /// counts as read.
    pub fn show(&self) {
        if let Some(window) = main_window(&self.app) {
            let _ = window.unminimize();
            let _ = window.show();
            let _ = window.set_focus();
        }
        self.notifier.focused();
    }

    /// Shows the window at a conversation (its notification was clicked).
    pub fn open_conversation(&self, room: &str) {
        // The conversation first, then the window: coming to the front reads what it shows,
        // and that must be this conversation, not the one shown before.
        self.notifier.showing(room);
        if let Err(e) = self.app.emit(OPEN_CONVERSATION, OpenRequest { room }) {
            tracing::warn!(error = %e, "could not ask the window to open a conversation");
        }
        self.show();
    }

    /// Hides the window; the chat keeps running.
    pub fn hide(&self) {
        if let Some(window) = main_window(&self.app) {
            let _ = window.hide();
        }
    }

    /// Tray "Show/Hide".
    pub fn toggle(&self) {
        match main_window(&self.app).map(|w| w.is_visible().unwrap_or(false)) {
            Some(true) => self.hide(),
            _ => self.show(),
        }
    }

    /// A window event: closing hides to the tray (when there is one and the preference is on),
    /// coming to the front clears the unread count.
    pub fn on_event(&self, label: &str, event: &WindowEvent) {
        match event {
            WindowEvent::CloseRequested { api, .. }
                if label == "main"
                    && self.has_tray.load(Ordering::Relaxed)
                    && self.store.preferences().close_to_tray =>
            {
                api.prevent_close();
                self.hide();
            }
            WindowEvent::Focused(true) => self.notifier.focused(),
            _ => {}
        }
    }
}
