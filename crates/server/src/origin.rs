//! Refuses browser requests from pages that are not allowed to talk to this server.
//!
//! CORS only stops a page from *reading* responses; a WebSocket upgrade is not subject to it at
//! all, so a hostile page could otherwise chat as its visitor. Browsers always send `Origin` on
//! WebSocket upgrades and cross-origin requests; native clients send none and are let through.

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
        let allowed = origin.to_str().is_ok_and(|o| config.origin_allowed(o));
        if !allowed {
            tracing::warn!(origin = ?origin, path = %request.uri().path(), "refused a request from a disallowed origin");
            return (StatusCode::FORBIDDEN, "origin not allowed\n").into_response();
        }
    }
    next.run(request).await
}
