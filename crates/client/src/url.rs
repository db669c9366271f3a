//! Server addresses as people type them, normalized to the Socket.IO WebSocket endpoint. One
//! setting may name several nodes of one cluster, separated by commas: the client core tries
//! them in turn (see [`addresses`]).

use crate::error::{Error, Result};

/// Separates the addresses of one server's nodes in a normalized setting.
const SEPARATOR: &str = ", ";

/// One address or several separated by commas (`ws://a:3050, ws://b:3050`), each normalized
/// by [`one_websocket_url`] and joined with `", "`; a name listed twice is kept once. A single
/// address normalizes as it always did, so files keyed by it (outbox, device key, drafts) stay
/// the same.
///
/// # Errors
/// [`Error::BadUrl`] for an empty list or any address [`one_websocket_url`] refuses.
pub fn websocket_url(input: &str) -> Result<String> {
    let mut normalized: Vec<String> = Vec::new();
    for part in input.split(',') {
        if part.trim().is_empty() && input.contains(',') {
            continue;
        }
        let url = one_websocket_url(part).map_err(|error| match error {
            Error::BadUrl { reason, .. } if input.contains(',') => Error::BadUrl {
                url: input.to_owned(),
                reason: format!("{}: {reason}", part.trim()),
            },
            other => other,
        })?;
        if !normalized.contains(&url) {
            normalized.push(url);
        }
    }
    if normalized.is_empty() {
        return Err(Error::BadUrl {
            url: input.to_owned(),
            reason: "no host".to_owned(),
        });
    }
    Ok(normalized.join(SEPARATOR))
}

/// The addresses of a setting [`websocket_url`] normalized, in the order to try them.
pub fn addresses(normalized: &str) -> impl Iterator<Item = &str> {
    normalized.split(SEPARATOR).filter(|url| !url.is_empty())
}

/// `http(s)://host:port`, `ws(s)://host:port` or a bare `host:port`, to
/// `ws(s)://host:port/socket.io/?EIO=4&transport=websocket`.
///
/// # Errors
/// [`Error::BadUrl`] for another scheme, no host, or a path other than `/` or `/socket.io/`.
pub fn one_websocket_url(input: &str) -> Result<String> {
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
        for input in [
            "ftp://x",
            "http://",
            "http://host/some/path",
            "",
            ",",
            "ws://a:1, ftp://b",
        ] {
            assert!(websocket_url(input).is_err(), "{input}");
        }
    }

    #[test]
    fn several_nodes_in_one_setting() {
        let normalized = websocket_url("ws://a:3050, b:3050/,ws://a:3050,").ok();
        let normalized = normalized.as_deref().unwrap_or_default();
        assert_eq!(
            addresses(normalized).collect::<Vec<_>>(),
            [
                "ws://a:3050/socket.io/?EIO=4&transport=websocket",
                "ws://b:3050/socket.io/?EIO=4&transport=websocket"
            ]
        );
        let message = websocket_url("ws://a:1, http://b/x")
            .err()
            .map(|error| error.to_string())
            .unwrap_or_default();
        assert!(message.contains("http://b/x"), "{message}");
    }
}
