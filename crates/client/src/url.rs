//! Server addresses as people type them, normalized to the Socket.IO WebSocket endpoint.

use crate::error::{Error, Result};

/// `http(s)://host:port`, `ws(s)://host:port` or a bare `host:port`, to
/// `ws(s)://host:port/socket.io/?EIO=4&transport=websocket`.
///
/// # Errors
/// [`Error::BadUrl`] for another scheme, no host, or a path other than `/` or `/socket.io/`.
pub fn websocket_url(input: &str) -> Result<String> {
    let trimmed = input.trim();
    let bad = |why: &str| Error::BadUrl {
        url: input.to_owned(),
        reason: why.to_owned(),
    };
    let (scheme, rest) = match trimmed.split_once("://") {
        Some((scheme, rest)) => (scheme.to_ascii_lowercase(), rest),
        None => ("ws".to_owned(), trimmed),
    };
    let ws_scheme = match scheme.as_str() {
        "http" | "ws" => "ws",
        "https" | "wss" => "wss",
        _ => return Err(bad("the scheme must be http, https, ws or wss")),
    };
    let (authority, path) = match rest.find(['/', '?']) {
        Some(at) => rest.split_at(at),
        None => (rest, ""),
    };
    if authority.is_empty() || authority.contains(char::is_whitespace) || authority.contains('@') {
        return Err(bad("no host"));
    }
    let path = path.split('?').next().unwrap_or_default();
    if !matches!(path, "" | "/" | "/socket.io" | "/socket.io/") {
        return Err(bad("the address must not have a path"));
    }
    Ok(format!(
        "{ws_scheme}://{authority}/socket.io/?EIO=4&transport=websocket"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_what_people_type() {
        let expected = "ws://localhost:3050/socket.io/?EIO=4&transport=websocket";
        for input in [
            "http://localhost:3050",
            "ws://localhost:3050/",
            "localhost:3050",
            " HTTP://localhost:3050/socket.io/?EIO=4&transport=websocket ",
        ] {
            assert_eq!(
                websocket_url(input).ok().as_deref(),
                Some(expected),
                "{input}"
            );
        }
        assert_eq!(
            websocket_url("https://chat.example.org").ok().as_deref(),
            Some("wss://chat.example.org/socket.io/?EIO=4&transport=websocket")
        );
    }

    #[test]
    fn refuses_what_cannot_work() {
        for input in ["ftp://x", "http://", "http://host/some/path", ""] {
            assert!(websocket_url(input).is_err(), "{input}");
        }
    }
}
