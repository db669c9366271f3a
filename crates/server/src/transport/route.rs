//! The way in: which carrier takes a `/socket.io/` request, the sessions that exist, and how
//! many one address may hold.
//!
//! Engine.IO 4 only (`EIO=4`): `transport=polling` without a `sid` opens a polling session, with
//! one it polls (`GET`) or sends (`POST`); `transport=websocket` without a `sid` opens a
//! WebSocket session, with one it upgrades a polling session. Anything else is `400`, as the
//! Engine.IO specification asks.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tokio::sync::watch;
use tokio_util::task::TaskTracker;

use super::session::Session;
use super::{polling, websocket, Application, Sid};
use crate::config::ServerConfig;
use crate::listener::Peer;
use crate::throttle::Throttle;

/// What every session shares.
pub struct Context {
    pub(crate) app: Arc<dyn Application>,
    pub(crate) config: Arc<ServerConfig>,
    pub(crate) shutdown: watch::Receiver<bool>,
    pub(crate) sessions: Sessions,
    /// Session and carrier tasks, so shutdown can wait for their farewells.
    pub(crate) tasks: TaskTracker,
}

impl Context {
    /// Sessions hand their events to `app`, run under `tasks`, and end when `shutdown` turns
    /// true.
    #[must_use]
    pub fn new(
        app: Arc<dyn Application>,
        config: Arc<ServerConfig>,
        shutdown: watch::Receiver<bool>,
        tasks: TaskTracker,
    ) -> Self {
        let sessions = Sessions::new(config.max_connections, config.max_connections_per_address);
        Self {
            app,
            config,
            shutdown,
            sessions,
            tasks,
        }
    }
}

/// Every open session, by id, and how many each address holds.
pub struct Sessions {
    inner: Mutex<Registry>,
    max_total: usize,
    max_per_address: usize,
    refusals: Throttle,
    /// Log lines for sessions the server ended, by reason.
    pub(crate) closures: ClosureLogs,
}

/// One throttle per way the server ends a session, so that a flood of one kind (clients that
/// never join, say) neither fills the log nor hides the others.
#[derive(Default)]
pub struct ClosureLogs {
    pub(crate) ping_timeouts: Throttle,
    pub(crate) never_joined: Throttle,
    pub(crate) stalled_writes: Throttle,
    pub(crate) cuts: Throttle,
}

struct Registry {
    by_id: HashMap<Sid, Arc<Session>>,
    per_address: HashMap<IpAddr, usize>,
    total: usize,
}

/// A session counted against the limits; dropping it (with the session) gives the place back.
pub struct Admitted {
    sessions: Arc<Context>,
    peer: IpAddr,
}

impl Drop for Admitted {
    fn drop(&mut self) {
        self.sessions.sessions.release(self.peer);
    }
}

impl Sessions {
    fn new(max_total: usize, max_per_address: usize) -> Self {
        Self {
            inner: Mutex::new(Registry {
                by_id: HashMap::new(),
                per_address: HashMap::new(),
                total: 0,
            }),
            max_total,
            max_per_address,
            refusals: Throttle::new(),
            closures: ClosureLogs::default(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Registry> {
        // Counters and a map: nothing a panic could leave half-done.
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Counts a new session from `peer`, or refuses it (and says so in the log, at most every
    /// few seconds) when the server or that address holds its limit.
    pub fn admit(ctx: &Arc<Context>, peer: IpAddr) -> Option<Admitted> {
        let this = &ctx.sessions;
        let mut registry = this.lock();
        let from_peer = registry.per_address.get(&peer).copied().unwrap_or(0);
        let full = if registry.total >= this.max_total {
            Some("sessions on the server")
        } else if from_peer >= this.max_per_address {
            Some("sessions from one address")
        } else {
            None
        };
        if let Some(limit) = full {
            drop(registry);
            this.refusals.warn(|suppressed| {
                tracing::warn!(%peer, limit, suppressed, "refused a session: limit reached");
            });
            return None;
        }
        registry.total += 1;
        *registry.per_address.entry(peer).or_insert(0) += 1;
        Some(Admitted {
            sessions: ctx.clone(),
            peer,
        })
    }

    fn release(&self, peer: IpAddr) {
        let mut registry = self.lock();
        registry.total = registry.total.saturating_sub(1);
        if let Some(count) = registry.per_address.get_mut(&peer) {
            *count -= 1;
            if *count == 0 {
                registry.per_address.remove(&peer);
            }
        }
    }

    /// Registers an open session so later requests can find it by id.
    pub fn insert(&self, session: Arc<Session>) {
        self.lock().by_id.insert(session.id(), session);
    }

    /// The session with this id, if it is open.
    #[must_use]
    pub fn get(&self, id: Sid) -> Option<Arc<Session>> {
        self.lock().by_id.get(&id).cloned()
    }

    /// Forgets a session that has ended.
    pub fn remove(&self, id: Sid) {
        let removed = self.lock().by_id.remove(&id);
        // Dropped outside the lock: the last reference releases its admission.
        drop(removed);
    }
}

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

/// An Engine.IO error answer (`400` with `{code, message}`, as Node's engine.io sends).
pub fn refuse(code: u8, message: &str) -> Response {
    let body = serde_json::json!({ "code": code, "message": message }).to_string();
    (
        StatusCode::BAD_REQUEST,
        [(header::CONTENT_TYPE, "application/json")],
        Body::from(body),
    )
        .into_response()
}

/// `503`: the server or this address holds as many sessions as allowed.
pub fn too_many() -> Response {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        [(header::RETRY_AFTER, "5")],
        "too many connections\n",
    )
        .into_response()
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
