//! Accepting TCP connections: how many, from whom, and how long a request head may take.
//!
//! `axum::serve` gives hyper no timer, so a client that sends half a request head holds its
//! connection forever, and it accepts connections until the process runs out of file
//! descriptors. This loop serves each connection with hyper's HTTP/1 server, with a timer and
//! a request-head timeout (which also bounds an idle keep-alive connection), and refuses
//! connections beyond a global cap and a cap per address (a `503`, and a log line at most
//! every ten seconds). A WebSocket keeps its place ([`ConnSlot`]) for as long as it lives.

use std::collections::HashMap;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio_util::task::TaskTracker;
use tower::ServiceExt;

use crate::proxy::TrustedProxies;
use crate::throttle::Throttle;

/// The address a request came from, in its extensions.
#[derive(Debug, Clone, Copy)]
pub struct Peer(pub SocketAddr);

/// How many connections may be open.
#[derive(Debug, Clone)]
pub struct Limits {
    /// On the whole server.
    pub total: usize,
    /// From one address.
    pub per_address: usize,
    /// Longest wait for a request head (and longest idle keep-alive).
    pub header_timeout: Duration,
    /// Proxies that carry many clients' connections: they count only towards `total` here;
    /// the sessions they carry are counted by the client's own address once its request head
    /// says who it is ([`crate::proxy`]).
    pub proxies: TrustedProxies,
}

struct Counts {
    total: usize,
    per_address: HashMap<IpAddr, usize>,
}

struct Registry {
    counts: Mutex<Counts>,
    limits: Limits,
    refused: Throttle,
}

/// A connection's place under the caps; the place is given back when the last clone drops.
#[derive(Clone)]
pub struct ConnSlot(#[allow(dead_code)] Arc<Place>);

struct Place {
    registry: Arc<Registry>,
    peer: IpAddr,
}

impl Drop for Place {
    fn drop(&mut self) {
        let mut counts = self.registry.lock();
        counts.total = counts.total.saturating_sub(1);
        if let Some(n) = counts.per_address.get_mut(&self.peer) {
            *n -= 1;
            if *n == 0 {
                counts.per_address.remove(&self.peer);
            }
        }
    }
}

impl Registry {
    fn lock(&self) -> std::sync::MutexGuard<'_, Counts> {
        // Counters only: nothing a panic could leave half-done.
        self.counts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn admit(self: &Arc<Self>, peer: IpAddr) -> Result<ConnSlot, &'static str> {
        let mut counts = self.lock();
        if counts.total >= self.limits.total {
            return Err("connections on the server");
        }
        let from_peer = counts.per_address.entry(peer).or_insert(0);
        if *from_peer >= self.limits.per_address && !self.limits.proxies.trusts(peer) {
            return Err("connections from one address");
        }
        *from_peer += 1;
        counts.total += 1;
        Ok(ConnSlot(Arc::new(Place {
            registry: self.clone(),
            peer,
        })))
    }
}

/// Serves `app` on `listener` until `shutdown` completes; then stops accepting, lets each
/// connection finish its current request, and returns once every connection task (WebSocket
/// carriers included, through `tasks`) has ended.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: Limits,
    tasks: TaskTracker,
    shutdown: impl Future<Output = ()>,
) {
    let registry = Arc::new(Registry {
        counts: Mutex::new(Counts {
            total: 0,
            per_address: HashMap::new(),
        }),
        limits,
        refused: Throttle::new(),
    });
    let accept_errors = Throttle::new();
    let (stop, stopping) = watch::channel(false);
    tokio::pin!(shutdown);
    loop {
        let (tcp, addr) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors, mostly: wait a little rather than spin.
                    accept_errors.warn(|suppressed| tracing::warn!(error = %e, suppressed, "could not accept a connection"));
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let slot = match registry.admit(addr.ip()) {
            Ok(slot) => slot,
            Err(limit) => {
                registry.refused.warn(|suppressed| {
                    tracing::warn!(peer = %addr.ip(), limit, suppressed, "refused a connection: limit reached");
                });
                refuse(&tcp);
                continue;
            }
        };
        // Chat packets are small and latency matters: no Nagle (Node's `ws` does the same).
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "could not set TCP_NODELAY");
        }
        tasks.spawn(connection(
            tcp,
            addr,
            slot,
            app.clone(),
            registry.limits.header_timeout,
            stopping.clone(),
        ));
    }
    drop(listener);
    let _ = stop.send(true);
}

/// Tells a refused client why, if its socket takes the bytes at once, and drops it.
fn refuse(tcp: &TcpStream) {
    let _ = tcp.try_write(
        b"HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nRetry-After: 5\r\nContent-Length: 0\r\n\r\n",
    );
}

async fn connection(
    tcp: TcpStream,
    addr: SocketAddr,
    slot: ConnSlot,
    app: Router,
    header_timeout: Duration,
    mut stopping: watch::Receiver<bool>,
) {
    let service = app.map_request(move |mut request: axum::http::Request<Incoming>| {
        request.extensions_mut().insert(Peer(addr));
        request.extensions_mut().insert(slot.clone());
        request
    });
    let service = TowerToHyperService::new(service);
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(header_timeout);
    let conn = builder
        .serve_connection(TokioIo::new(tcp), service)
        .with_upgrades();
    tokio::pin!(conn);
    let mut draining = false;
    loop {
        tokio::select! {
            result = conn.as_mut() => {
                if let Err(e) = result {
                    tracing::trace!(peer = %addr, error = %e, "connection ended with an error");
                }
                return;
            }
            changed = stopping.changed(), if !draining => {
                if changed.is_err() || *stopping.borrow() {
                    draining = true;
                    conn.as_mut().graceful_shutdown();
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caps_count_per_address_and_give_places_back() {
        let registry = Arc::new(Registry {
            counts: Mutex::new(Counts {
                total: 0,
                per_address: HashMap::new(),
            }),
            limits: Limits {
                total: 3,
                per_address: 2,
                header_timeout: Duration::from_secs(1),
                proxies: TrustedProxies::new(vec!["10.0.0.9".parse().expect("an address")]),
            },
            refused: Throttle::new(),
        });
        let a: IpAddr = [10, 0, 0, 1].into();
        let b: IpAddr = [10, 0, 0, 2].into();
        let first = registry.admit(a).expect("room");
        let second = registry.admit(a).expect("room");
        assert!(registry.admit(a).is_err(), "two per address");
        let third = registry.admit(b).expect("another address");
        assert!(registry.admit(b).is_err(), "three in all");
        drop(first);
        let again = registry.admit(a).expect("a place was given back");
        drop((second, third, again));
        let proxy: IpAddr = [10, 0, 0, 9].into();
        let carried: Vec<_> = (0..3)
            .map(|_| {
                registry
                    .admit(proxy)
                    .expect("a trusted proxy is not capped per address")
            })
            .collect();
        assert!(
            registry.admit(proxy).is_err(),
            "but counts towards the total"
        );
        drop(carried);
        assert_eq!(registry.lock().total, 0);
        assert!(registry.lock().per_address.is_empty());
    }
}
