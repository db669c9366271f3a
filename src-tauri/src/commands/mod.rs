//! The commands the UI invokes, one file per domain; each is a thin call into [`AppState`].
//!
//! [`AppState`]: crate::session::AppState
//!
//! A command's error is the `AppError` the UI receives (see `error.rs`), not a Rust API's, so
//! the commands carry no `# Errors` sections.
//!
//! Every command is listed once, below: Tauri's handler is built from that list, and a test
//! (`ui_calls`) holds it against what `ui/src/api.ts` invokes. The window's capability
//! (`capabilities/default.json`) names no command: without an app manifest, Tauri lets the
//! window invoke every command the handler has.
#![allow(clippy::missing_errors_doc)]

pub mod chat;
pub mod messages;
pub mod profile;
pub mod rooms;
pub mod threads;
#[cfg(test)]
mod ui_calls;
pub mod window;

/// The list of commands, turned into Tauri's handler and (in tests) the names.
macro_rules! commands {
    ($($module:ident :: $name:ident),* $(,)?) => {
        /// Every command's name, as the UI invokes it.
        #[cfg(test)]
        pub const NAMES: &[&str] = &[$(stringify!($name)),*];

        /// What Tauri dispatches the UI's calls with: every command listed here.
        pub fn handler() -> impl Fn(tauri::ipc::Invoke) -> bool + Send + Sync + 'static {
            tauri::generate_handler![$($module::$name),*]
        }
    };
}

commands! {
    profile::load_settings,
    profile::save_profile,
    profile::save_preferences,
    profile::start_session,
    profile::save_draft,
    profile::link_code,
    profile::forget_device,
    chat::send_message,
    chat::retry_message,
    chat::discard_message,
    chat::set_typing,
    chat::reconnect_now,
    messages::edit_message,
    messages::delete_message,
    messages::react_to_message,
    messages::pin_message,
    messages::list_pins,
    threads::send_reply,
    threads::load_thread,
    threads::list_threads,
    threads::mark_thread_read,
    rooms::list_rooms,
    rooms::create_room,
    rooms::join_room,
    rooms::leave_room,
    rooms::set_topic,
    rooms::open_dm,
    rooms::load_history,
    rooms::mark_read,
    rooms::search,
    rooms::show_conversation,
    rooms::set_room_muted,
    window::hide_window,
}
