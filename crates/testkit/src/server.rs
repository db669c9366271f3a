//! A real server in this process, on `127.0.0.1`, stopped when dropped.

use std::net::SocketAddr;
use std::time::Duration;

use charla_server::ServerConfig;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::wait::eventually;
use crate::WAIT;

/// A server running in this process until dropped or stopped.
pub struct TestServer {
    /// Where it listens.
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<charla_server::Result<()>>>,
}

impl TestServer {
    /// Starts a server with `config` on a free port of `127.0.0.1`.
    pub async fn start(config: ServerConfig) -> Self {
        Self::start_on(SocketAddr::from(([127, 0, 0, 1], 0)), config).await
    }

    /// Starts a server with `config` on `addr` (the address of one stopped a moment ago, to
    /// stand in for a server that restarted: the address may stay busy for a moment, so
    /// binding is retried for up to 5 s).
    pub async fn start_on(addr: SocketAddr, config: ServerConfig) -> Self {
        let listener = eventually(
            Duration::from_secs(5),
            &format!("bind {addr}"),
            async || tokio::net::TcpListener::bind(addr).await,
        )
        .await;
        let addr = listener.local_addr().expect("local addr");
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(charla_server::run(listener, config, async move {
            let _ = stopped.await;
        }));
        Self {
            addr,
            stop: Some(stop),
            task: Some(task),
        }
    }

    /// A server in memory without rate limits: what most tests want.
    pub async fn open() -> Self {
        Self::start(Self::unlimited()).await
    }

    /// The default configuration without rate limits.
    #[must_use]
    pub fn unlimited() -> ServerConfig {
        ServerConfig {
            rate_limit_per_sec: 0,
            rate_limit_per_address_per_sec: 0,
            ..ServerConfig::default()
        }
    }

    /// A handle on a server running in another process (stopping it does nothing).
    #[must_use]
    pub fn external(port: u16) -> Self {
        Self {
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            stop: None,
            task: None,
        }
    }

    /// The server's address as the apps take it.
    #[must_use]
    pub fn http_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The WebSocket URL of its Engine.IO endpoint.
    #[must_use]
    pub fn url(&self) -> String {
        format!("ws://{}/socket.io/?EIO=4&transport=websocket", self.addr)
    }

    /// Graceful shutdown; returns once the server has stored everything.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            tokio::time::timeout(WAIT, task)
                .await
                .expect("server stops in time")
                .expect("no panic")
                .expect("runs cleanly");
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}
