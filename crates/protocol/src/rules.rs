//! The rules for usernames and message texts, shared by the server (which enforces them) and
//! the apps (which check them before asking the server).

use crate::chat::ErrorCode;

/// Longest username, in characters.
pub const MAX_USERNAME_CHARS: usize = 32;

/// A rule broken, with what to tell the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// For programs.
    pub code: ErrorCode,
    /// For people.
    pub message: String,
}

impl Rejection {
    fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }
}

/// Trims a requested username and checks it: 1–32 characters, no control characters.
///
/// # Errors
/// `invalid_username` with the reason.
pub fn normalize_username(requested: &str) -> Result<String, Rejection> {
    let name = requested.trim();
    let chars = name.chars().count();
    if chars == 0 {
        return Err(Rejection::new(
            ErrorCode::InvalidUsername,
            "the username is empty",
        ));
    }
    if chars > MAX_USERNAME_CHARS {
        return Err(Rejection::new(
            ErrorCode::InvalidUsername,
            format!("the username is longer than {MAX_USERNAME_CHARS} characters"),
        ));
    }
    if name.chars().any(char::is_control) {
        return Err(Rejection::new(
            ErrorCode::InvalidUsername,
            "the username contains control characters",
        ));
    }
    Ok(name.to_owned())
}

/// The key under which names are unique: case-insensitive.
#[must_use]
pub fn username_key(name: &str) -> String {
    name.to_lowercase()
}

/// Checks a message text: not blank, at most `max_chars` characters.
///
/// # Errors
/// `empty_message` or `message_too_long`.
pub fn check_text(text: &str, max_chars: usize) -> Result<(), Rejection> {
    if text.trim().is_empty() {
        return Err(Rejection::new(
            ErrorCode::EmptyMessage,
            "the message is empty",
        ));
    }
    if text.chars().count() > max_chars {
        return Err(Rejection::new(
            ErrorCode::MessageTooLong,
            format!("messages are limited to {max_chars} characters"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_are_trimmed_and_bounded() {
        assert_eq!(normalize_username("  alice "), Ok("alice".to_owned()));
        assert_eq!(
            normalize_username(&"é".repeat(32)).map(|n| n.chars().count()),
            Ok(32)
        );
        for bad in ["", "   ", "a\u{7}b", "tab\tname"] {
            assert_eq!(
                normalize_username(bad).map_err(|r| r.code),
                Err(ErrorCode::InvalidUsername)
            );
        }
        assert!(normalize_username(&"x".repeat(33)).is_err());
        assert_eq!(username_key("ÁLice"), username_key("álice"));
    }

    #[test]
    fn texts_must_have_content_and_fit() {
        assert!(check_text("hi", 4).is_ok());
        assert_eq!(
            check_text(" \n ", 4).map_err(|r| r.code),
            Err(ErrorCode::EmptyMessage)
        );
        assert_eq!(
            check_text("hello", 4).map_err(|r| r.code),
            Err(ErrorCode::MessageTooLong)
        );
        assert!(check_text("ñañá", 4).is_ok(), "characters, not bytes");
    }
}
