//! Refuses browser requests from pages that are not allowed to talk to this server.
//!
//! CORS only stops a page from *reading* responses; a WebSocket upgrade is not subject to it at
//! all, so a hostile page could otherwise chat as its visitor. Browsers always send `Origin` on
//! WebSocket upgrades and cross-origin requests; native clients send none and are let through.
//! An `Origin` naming this very server (equal to the request's `Host`) is let through too: no
//! page of another site can send it, and native libraries such as Python's `websocket-client`
//! send exactly that.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::config::ServerConfig;

/// Axum middleware: `403` for a request whose `Origin` is not on the allowed list.
pub async fn guard(
    State(config): State<Arc<ServerConfig>>,
    request: Request<Body>,
    next: Next,
) -> Response {
    if let Some(origin) = request.headers().get(header::ORIGIN) {
        let host = request.headers().get(header::HOST);
        let allowed = origin
            .to_str()
            .is_ok_and(|o| config.origin_allowed(o) || names_host(o, host));
        if !allowed {
            tracing::warn!(origin = ?origin, path = %request.uri().path(), "refused a request from a disallowed origin");
            return (StatusCode::FORBIDDEN, "origin not allowed\n").into_response();
        }
    }
    next.run(request).await
}

/// Whether `origin` (`scheme://host[:port]`) names the `Host` the request was sent to.
fn names_host(origin: &str, host: Option<&axum::http::HeaderValue>) -> bool {
    let Some(host) = host.and_then(|h| h.to_str().ok()) else {
        return false;
    };
    let authority = origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"));
    authority.is_some_and(|a| !a.is_empty() && a.eq_ignore_ascii_case(host))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn an_origin_equal_to_the_host_is_this_server() {
        let host = HeaderValue::from_static("127.0.0.1:3050");
        assert!(names_host("http://127.0.0.1:3050", Some(&host)));
        assert!(names_host("https://127.0.0.1:3050", Some(&host)));
        assert!(!names_host("http://127.0.0.1:3051", Some(&host)));
        assert!(!names_host("http://evil.example", Some(&host)));
        assert!(!names_host("null", Some(&host)));
        assert!(!names_host("http://127.0.0.1:3050", None));
    }
}
