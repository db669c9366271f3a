//! The commands the UI invokes, one file per domain; each is a thin call into [`AppState`].
//!
//! [`AppState`]: crate::session::AppState

pub mod chat;
pub mod profile;
pub mod window;
