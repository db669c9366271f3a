//! charla-desktop: the Tauri app, a thin adapter over `charla-client`. This file is setup only.

pub mod attention;
pub mod commands;
pub mod error;
pub mod events;
pub mod session;
pub mod system;
pub mod tray;

use charla_client::settings::{Config, Paths};
use tauri::{Manager, WindowEvent};

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
    #[allow(clippy::expect_used)]
    tauri::Builder::default()
        // First: a second launch hands over to the running app and exits.
        .plugin(tauri_plugin_single_instance::init(|app, _args, _cwd| {
            system::show_window(app);
        }))
        .plugin(tauri_plugin_window_state::Builder::default().build())
        .plugin(tauri_plugin_autostart::init(
            tauri_plugin_autostart::MacosLauncher::LaunchAgent,
            None,
        ))
        .plugin(tauri_plugin_notification::init())
        .plugin(tauri_plugin_opener::init())
        .manage(session::AppState::new(paths.clone()))
        .setup(move |app| {
            let handle = app.handle().clone();
            let muted = !Config::load(&paths).notifications.enabled;
            let has_tray = match tray::build(&handle, muted) {
                Ok(_) => true,
                Err(e) => {
                    tracing::warn!(error = %e, "no system tray; closing the window will quit");
                    false
                }
            };
            app.manage(system::Desktop::new(paths.clone(), has_tray));
            system::watch_for_wake(handle);
            Ok(())
        })
        .on_window_event(|window, event| match event {
            WindowEvent::CloseRequested { api, .. }
                if window.label() == "main" && system::close_requested(window.app_handle()) =>
            {
                api.prevent_close();
            }
            WindowEvent::Focused(true) => system::focused(window.app_handle()),
            _ => {}
        })
        .invoke_handler(tauri::generate_handler![
            commands::profile::load_settings,
            commands::profile::save_profile,
            commands::profile::save_preferences,
            commands::profile::start_session,
            commands::profile::save_draft,
            commands::chat::send_message,
            commands::chat::retry_message,
            commands::chat::discard_message,
            commands::chat::set_typing,
            commands::chat::reconnect_now,
            commands::window::hide_window,
            commands::window::unread_count,
        ])
        .run(tauri::generate_context!())
        .expect("the Charla window could not start");
}
