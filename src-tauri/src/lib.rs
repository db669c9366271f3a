//! charla-desktop: the Tauri app, a thin adapter over `charla-client`. This file is setup only.

pub mod commands;
pub mod error;
pub mod events;
pub mod session;

use charla_client::settings::Paths;

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
        .plugin(tauri_plugin_opener::init())
        .manage(session::AppState::new(paths))
        .invoke_handler(tauri::generate_handler![
            commands::profile::load_settings,
            commands::profile::save_profile,
            commands::profile::start_session,
            commands::profile::save_draft,
            commands::chat::send_message,
            commands::chat::retry_message,
            commands::chat::discard_message,
            commands::chat::set_typing,
            commands::chat::reconnect_now,
        ])
        .run(tauri::generate_context!())
        .expect("the Charla window could not start");
}
