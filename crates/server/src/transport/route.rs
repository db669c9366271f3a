//! The way in: which carrier takes a `/socket.io/` request, the sessions that exist, and how
//! many one address may hold.
//!
//! Engine.IO 4 only (`EIO=4`): `transport=polling` without a `sid` opens a polling session, with
//! one it polls (`GET`) or sends (`POST`); `transport=websocket` without a `sid` opens a
//! WebSocket session, with one it upgrades a polling session. Anything else is `400`, as the
//! Engine.IO specification asks.

use std::net::IpAddr;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;

use super::responses::refuse;
pub(crate) use super::session::Context;
use super::{polling, websocket, Sid};
use crate::listener::Peer;

/// The Engine.IO request parameters that matter here.
#[derive(Debug, PartialEq, Eq)]
struct Query<'a> {
    eio: Option<&'a str>,
    transport: Option<&'a str>,
    sid: Option<&'a str>,
}

fn query(uri: &axum::http::Uri) -> Query<'_> {
    let mut q = Query {
        eio: None,
        transport: None,
        sid: None,
    };
    for pair in uri.query().unwrap_or("").split('&') {
        match pair.split_once('=').unwrap_or((pair, "")) {
            ("EIO", v) => q.eio = Some(v),
            ("transport", v) => q.transport = Some(v),
            ("sid", v) => q.sid = Some(v),
            _ => {}
        }
    }
    q
}

/// Axum middleware: serves `/socket.io/`, passes everything else on.
pub async fn route(State(ctx): State<Arc<Context>>, request: Request, next: Next) -> Response {
    let path = request.uri().path();
    if path != "/socket.io/" && path != "/socket.io" {
        return next.run(request).await;
    }
    let peer = request
        .extensions()
        .get::<Peer>()
        .map_or(IpAddr::from([0, 0, 0, 0]), |p| p.0.ip());
    // Behind a trusted proxy: the client it forwards for.
    let peer = ctx
        .config
        .trusted_proxies
        .client_address(peer, request.headers());
    let q = query(request.uri());
    if q.eio != Some("4") {
        return refuse(5, "Unsupported protocol version");
    }
    let sid = match q.sid.map(Sid::parse) {
        None => None,
        Some(Some(sid)) => Some(sid),
        Some(None) => return refuse(1, "Session ID unknown"),
    };
    match (q.transport, sid, request.method()) {
        (Some("polling"), None, &Method::GET) => polling::open(&ctx, peer),
        (Some("polling"), Some(sid), &Method::GET) => polling::poll(&ctx, sid).await,
        (Some("polling"), Some(sid), &Method::POST) => {
            polling::post(&ctx, sid, request.into_body()).await
        }
        (Some("websocket"), sid, &Method::GET) => websocket::accept(&ctx, sid, peer, request),
        (Some("polling" | "websocket"), _, _) => refuse(2, "Bad handshake method"),
        _ => refuse(0, "Transport unknown"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engine_io_parameters_are_read_from_the_query() {
        let uri: axum::http::Uri = "/socket.io/?EIO=4&transport=polling&t=x&sid=abc"
            .parse()
            .expect("uri");
        assert_eq!(
            query(&uri),
            Query {
                eio: Some("4"),
                transport: Some("polling"),
                sid: Some("abc")
            }
        );
    }
}
