//! charla-desktop: the Tauri app, a thin adapter over `charla-client`. This file is setup only:
//! it builds each part and hands it what it needs, so no part looks another up at run time.
//!
//! Layers, each importing only the ones below it:
//! - `commands`: what the UI invokes;
//! - `session` (the client and its bridge), `tray`;
//! - `window` (show, hide, close to the tray, the unread title);
//! - `notify` (the unread counts and notifications), `popup` (showing one; its click);
//! - `attention`, `counts` and `whose` (pure rules), `config_store` (the config's one owner), `bridge`
//!   (events to the webview), `wake`, `error`.

mod attention;
#[cfg(test)]
mod bindings;
pub mod bridge;
#[cfg(test)]
mod cases;
mod commands;
mod config_store;
mod counts;
pub mod error;
mod following;
mod notify;
mod popup;
pub mod session;
mod tray;
mod wake;
mod whose;
mod window;

use std::sync::{Arc, OnceLock};

use charla_client::settings::Paths;
use tauri::Manager;

use crate::bridge::WebviewSink;
use crate::config_store::ConfigStore;
use crate::notify::Notifier;
use crate::popup::Popups;
use crate::session::AppState;
use crate::window::Window;

/// Builds and runs the app until it quits.
///
/// # Panics
/// When the window system or the webview cannot start (nothing to recover there).
pub fn run() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let paths = match Paths::from_env() {
        Ok(paths) => paths,
        Err(e) => {
            eprintln!("charla: {e}");
            std::process::exit(1);
        }
    };
    let store = Arc::new(ConfigStore::load(paths.clone()));
    let state = AppState::with_store(paths, store.clone());
    let reconnector = state.reconnector();
    // Filled in by setup; the plugin and window callbacks are registered before it runs.
    let window_slot: Arc<OnceLock<Arc<Window>>> = Arc::new(OnceLock::new());
    let second_launch = window_slot.clone();
    let window_events = window_slot.clone();
    let notification_clicks = window_slot.clone();

    #[allow(clippy::expect_used)]
    tauri::Builder::default()
        // First: a second launch hands over to the running app and exits.
        .plugin(tauri_plugin_single_instance::init(
            move |_app, _args, _cwd| {
                if let Some(window) = second_launch.get() {
                    window.show();
                }
            },
        ))
        .plugin(tauri_plugin_window_state::Builder::default().build())
        .plugin(tauri_plugin_autostart::init(
            tauri_plugin_autostart::MacosLauncher::LaunchAgent,
            None,
        ))
        .plugin(tauri_plugin_notification::init())
        .plugin(tauri_plugin_opener::init())
        .manage(state)
        .setup(move |app| {
            let handle = app.handle().clone();
            let notifier = {
                let front = handle.clone();
                let shown = handle.clone();
                let popups = Popups::new(
                    handle.clone(),
                    Arc::new(move |room| {
                        if let Some(window) = notification_clicks.get() {
                            window.open_conversation(&room);
                        }
                    }),
                );
                Notifier::new(
                    store.clone(),
                    Box::new(move || window::in_front(&front)),
                    Box::new(move |totals| {
                        tray::show_unread(&shown, totals);
                        window::show_unread(&shown, totals);
                    }),
                    popups,
                )
            };
            let muting = notifier.clone();
            store.subscribe(move |config| muting.set_muted(config.muted_rooms()));
            let window = Window::new(handle.clone(), store.clone(), notifier.clone());
            match tray::build(&handle, window.clone(), store.clone()) {
                Ok(tray) => {
                    window.set_has_tray(true);
                    store.subscribe(move |config| {
                        tray.set_muted(!config.preferences().notifications);
                    });
                }
                Err(e) => {
                    tracing::warn!(error = %e, "no system tray; closing the window will quit");
                }
            }
            wake::watch(move || {
                let reconnector = reconnector.clone();
                async move { reconnector.reconnect_now().await }
            });
            let observer = notifier.clone();
            app.manage(WebviewSink::new(
                handle,
                Arc::new(move |event| observer.observe_for_window(event)),
            ));
            app.manage(notifier);
            app.manage(window.clone());
            let _ = window_slot.set(window);
            Ok(())
        })
        .on_window_event(move |window, event| {
            if let Some(behaviour) = window_events.get() {
                behaviour.on_event(window.label(), event);
            }
        })
        .invoke_handler(commands::handler())
        .run(tauri::generate_context!())
        .expect("the Charla window could not start");
}
