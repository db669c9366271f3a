//! Owned names: a name belongs to the devices that claimed it or were linked to it, each
//! proving itself with its own key, until the last is forgotten, an operator releases the name,
//! or all its devices stay away longer than the idle limit.
//!
//! - [`book`]: the name book on disk, and what `charla-server names …` does with it.
//!
//! The room asks the book at each join ([`NameBook::authorize`]) and answers `device-link` and
//! `device-forget` with it; the rules about who else is connected stay in the room.

mod book;

use std::path::Path;

use charla_protocol::rules::{normalize_username, username_key};

pub use book::{list, Became, Credential, DeviceId, NameBook, NameEntry, Standing};

/// Frees the name an operator typed (compared as joins compare names: `Alice` frees `alice`).
/// Returns how many devices it had, or `None` when nobody owned it.
///
/// # Errors
/// When there is no name book at `path`, or it cannot be written.
pub fn release(path: &Path, typed: &str) -> crate::error::Result<Option<u32>> {
    let key = normalize_username(typed)
        .map_or_else(|_| username_key(typed.trim()), |name| username_key(&name));
    book::release(path, &key)
}
