//! The system tray: Show/Hide, Mute notifications, Quit (Linux delivers no tray clicks, so
//! every action is in the menu), and the unread state as an icon badge and in the tooltip.

use std::sync::Arc;

use tauri::image::Image;
use tauri::menu::{CheckMenuItem, Menu, MenuItem, PredefinedMenuItem};
use tauri::tray::{TrayIcon, TrayIconBuilder};
use tauri::{AppHandle, Wry};

use crate::config_store::ConfigStore;
use crate::counts::Totals;
use crate::window::Window;

const TRAY_ID: &str = "main";
const ICON: &[u8] = include_bytes!("../../icons/tray.png");
const ICON_UNREAD: &[u8] = include_bytes!("../../icons/tray-unread.png");

/// The tray, while the app runs.
pub struct Tray {
    _icon: TrayIcon,
    mute: CheckMenuItem<Wry>,
}

impl Tray {
    /// Keeps the "Mute notifications" mark in step with the saved preference.
    pub fn set_muted(&self, muted: bool) {
        let _ = self.mute.set_checked(muted);
    }
}

/// Builds the tray: its menu shows and hides `window` and mutes through `store`. An error means
/// the desktop has no tray; the app works without one.
///
/// # Errors
/// Tauri's, when the platform has no tray or the icon cannot be decoded.
pub fn build(app: &AppHandle, window: Arc<Window>, store: Arc<ConfigStore>) -> tauri::Result<Tray> {
    let muted = !store.preferences().notifications;
    let show = MenuItem::with_id(app, "toggle", "Show/Hide Charla", true, None::<&str>)?;
    let mute =
        CheckMenuItem::with_id(app, "mute", "Mute notifications", true, muted, None::<&str>)?;
    let quit = MenuItem::with_id(app, "quit", "Quit Charla", true, None::<&str>)?;
    let menu = Menu::with_items(
        app,
        &[&show, &mute, &PredefinedMenuItem::separator(app)?, &quit],
    )?;
    let mark = mute.clone();
    let icon = TrayIconBuilder::with_id(TRAY_ID)
        .icon(Image::from_bytes(ICON)?)
        .tooltip("Charla")
        .menu(&menu)
        .on_menu_event(move |app, event| match event.id.as_ref() {
            "toggle" => window.toggle(),
            "mute" => {
                // A saved change moves the mark through `Tray::set_muted`; a failed one puts
                // back the mark the click flipped.
                if let Err(e) = store.toggle_mute() {
                    tracing::warn!(error = %e, "could not save the mute setting");
                    let _ = mark.set_checked(!store.preferences().notifications);
                }
            }
            "quit" => app.exit(0),
            _ => {}
        })
        .build(app)?;
    Ok(Tray { _icon: icon, mute })
}

/// Shows the unread totals on the tray (icon variant, tooltip "Charla: 3 mentions, 12
/// unread", title where supported: "12 @3").
pub fn show_unread(app: &AppHandle, totals: Totals) {
    let Some(tray) = app.tray_by_id(TRAY_ID) else {
        return;
    };
    let (bytes, tooltip, title) = match totals.describe() {
        None => (ICON, "Charla".to_owned(), None),
        Some(described) => (
            ICON_UNREAD,
            format!("Charla: {described}"),
            Some(if totals.mentions > 0 {
                format!("{} @{}", totals.unread, totals.mentions)
            } else {
                totals.unread.to_string()
            }),
        ),
    };
    let result = Image::from_bytes(bytes)
        .and_then(|icon| tray.set_icon(Some(icon)))
        .and_then(|()| tray.set_tooltip(Some(&tooltip)))
        .and_then(|()| tray.set_title(title.as_deref()));
    if let Err(e) = result {
        tracing::debug!(error = %e, "could not update the tray");
    }
}
