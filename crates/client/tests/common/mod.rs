//! Shared by the client's integration tests: free ports, child processes that are always
//! reaped, clients with a fast reconnection schedule, and waiting for an event.

#![allow(dead_code, missing_docs)]

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command};
use std::time::Duration;

use charla_client::{spawn, Backoff, ClientEvent, ClientHandle, ClientOptions};
use tokio::sync::mpsc;

pub const WAIT: Duration = Duration::from_secs(20);

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port()
}

/// A child process, killed and reaped when dropped.
pub struct Process(pub Child);

impl Process {
    /// Spawns `command` and waits until something listens on `port`.
    pub fn listening(command: &mut Command, port: u16) -> Self {
        let process = Self(command.spawn().expect("process starts"));
        for _ in 0..200 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return process;
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        panic!("nothing listened on {port}"); // `process` is dropped: killed and reaped
    }

    /// SIGKILL, and wait for it to be gone.
    pub fn kill(mut self) {
        self.0.kill().expect("SIGKILL");
        self.0.wait().expect("reaped");
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Options for `name` on `server`, its outbox in `dir`, retrying every 50–200 ms.
pub fn options(server: &str, name: &str, dir: &Path) -> ClientOptions {
    let mut options =
        ClientOptions::new(server, name, dir.join(format!("{name}.json"))).expect("options");
    options.backoff = Backoff::new(Duration::from_millis(50), Duration::from_millis(200), 0.5);
    options
}

pub fn start(options: ClientOptions) -> (ClientHandle, mpsc::UnboundedReceiver<ClientEvent>) {
    let (tx, rx) = mpsc::unbounded_channel();
    (spawn(options, tx), rx)
}

/// The first event for which `pick` returns something, within [`WAIT`].
pub async fn until<T>(
    events: &mut mpsc::UnboundedReceiver<ClientEvent>,
    mut pick: impl FnMut(&ClientEvent) -> Option<T>,
) -> T {
    tokio::time::timeout(WAIT, async {
        loop {
            if let Some(found) = pick(&events.recv().await.expect("client running")) {
                return found;
            }
        }
    })
    .await
    .expect("the expected event came in time")
}

/// A charla-server running in this process on 127.0.0.1:0, stopped when dropped.
pub struct InProcessServer {
    pub addr: std::net::SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl InProcessServer {
    pub async fn start(config: charla_server::ServerConfig) -> Self {
        Self::start_on(std::net::SocketAddr::from(([127, 0, 0, 1], 0)), config).await
    }

    /// On a given address (to stand in for a server that restarted).
    pub async fn start_on(addr: std::net::SocketAddr, config: charla_server::ServerConfig) -> Self {
        // A server that was just stopped may still hold the address for a moment.
        let mut attempts = 0;
        let listener = loop {
            match tokio::net::TcpListener::bind(addr).await {
                Ok(listener) => break listener,
                Err(_) if attempts < 100 => {
                    attempts += 1;
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Err(e) => panic!("bind {addr}: {e}"),
            }
        };
        let addr = listener.local_addr().expect("addr");
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(charla_server::run(listener, config, async move {
            let _ = stopped.await;
        }));
        Self {
            addr,
            stop: Some(stop),
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for InProcessServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}
