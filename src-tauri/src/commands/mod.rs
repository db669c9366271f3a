//! The commands the UI invokes, one file per domain; each is a thin call into [`AppState`].
//!
//! [`AppState`]: crate::session::AppState
//!
//! A command's error is the `AppError` the UI receives (see `error.rs`), not a Rust API's, so
//! the commands carry no `# Errors` sections.
#![allow(clippy::missing_errors_doc)]

pub mod chat;
pub mod profile;
pub mod rooms;
pub mod window;
