//! The real `charla-server` binary as a child process: started on a free port of 127.0.0.1,
//! its log (stderr) kept in a file for assertions, its memory (`VmRSS`) and open file
//! descriptors read from `/proc`, and killed by its PID when dropped (a `charla_testkit::Process`).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use charla_testkit::Process;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::TestServer;

/// A running server process.
pub struct ServerProcess {
    process: Process,
    /// Where it listens.
    pub addr: SocketAddr,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl ServerProcess {
    /// Starts the binary with `args` (plus `--host 127.0.0.1 --port 0`) and waits until it
    /// answers `/healthz`.
    pub async fn start(args: &[&str]) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let log = dir.path().join("server.log");
        let stderr = std::fs::File::create(&log).expect("log file");
        let child = Command::new(server_binary())
            .args(["--host", "127.0.0.1", "--port", "0"])
            .args(args)
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .expect("the server starts");
        let mut server = Self {
            process: Process(child),
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            log,
            _dir: dir,
        };
        let started = Instant::now();
        // The port is the one it says it listens on (`--port 0`: no race for a free port).
        while server.addr.port() == 0 {
            assert!(server.is_alive(), "the server exited:\n{}", server.log());
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "the server never said where it listens:\n{}",
                server.log()
            );
            if let Some(addr) = listening_address(&server.log()) {
                server.addr = addr;
            } else {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
        while !server.healthy().await {
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "the server never answered /healthz"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        server
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.process.0.id()
    }

    /// A handle for the in-process test client ([`super::TestClient`]).
    pub fn handle(&self) -> TestServer {
        TestServer::external(self.addr.port())
    }

    /// Whether the process is still running.
    pub fn is_alive(&mut self) -> bool {
        matches!(self.process.0.try_wait(), Ok(None))
    }

    /// Resident memory, in KiB (`VmRSS` of `/proc/<pid>/status`).
    pub fn rss_kib(&self) -> u64 {
        let status =
            std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0)
    }

    /// Resident memory, in MiB.
    pub fn rss_mib(&self) -> f64 {
        self.rss_kib() as f64 / 1024.0
    }

    /// Open file descriptors (entries of `/proc/<pid>/fd`).
    pub fn open_fds(&self) -> usize {
        std::fs::read_dir(format!("/proc/{}/fd", self.pid())).map_or(0, Iterator::count)
    }

    /// TCP connections the server holds on its port, from its accepting one until it drops it
    /// (as its connection caps count them): its sockets in `/proc/<pid>/fd` that
    /// `/proc/<pid>/net/tcp` lists on that port, the listener left out.
    pub fn held_connections(&self) -> usize {
        let sockets: std::collections::HashSet<String> =
            std::fs::read_dir(format!("/proc/{}/fd", self.pid()))
                .map(|entries| {
                    entries
                        .filter_map(|entry| std::fs::read_link(entry.ok()?.path()).ok())
                        .filter_map(|target| {
                            let target = target.to_string_lossy().into_owned();
                            let inode = target.strip_prefix("socket:[")?.strip_suffix(']')?;
                            Some(inode.to_owned())
                        })
                        .collect()
                })
                .unwrap_or_default();
        let port = format!(":{:04X}", self.addr.port());
        let table =
            std::fs::read_to_string(format!("/proc/{}/net/tcp", self.pid())).unwrap_or_default();
        table
            .lines()
            .skip(1)
            .filter(|line| {
                let fields: Vec<&str> = line.split_whitespace().collect();
                // local address, state (0A: listening), inode
                matches!(
                    (fields.get(1), fields.get(3), fields.get(9)),
                    (Some(local), Some(state), Some(inode))
                        if local.ends_with(&port) && *state != "0A" && sockets.contains(*inode)
                )
            })
            .count()
    }

    /// Everything the server has logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// How many log lines contain `needle`.
    pub fn log_lines_with(&self, needle: &str) -> usize {
        self.log().lines().filter(|l| l.contains(needle)).count()
    }

    /// Whether `GET /healthz` answers `200 ok` within two seconds.
    pub async fn healthy(&self) -> bool {
        let request = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
        matches!(
            http_exchange(self.addr, request.as_bytes(), Duration::from_secs(2)).await,
            Some(response) if response.starts_with("HTTP/1.1 200") && response.ends_with("ok\n")
        )
    }
}

/// The binary to run: the one cargo built with the tests, or `CHARLA_SERVER_BIN` when set (to
/// measure a release build: `cargo build --release -p charla-server` then
/// `CHARLA_SERVER_BIN=target/release/charla-server cargo test …`).
pub fn server_binary() -> PathBuf {
    std::env::var_os("CHARLA_SERVER_BIN").map_or_else(
        || PathBuf::from(env!("CARGO_BIN_EXE_charla-server")),
        PathBuf::from,
    )
}

/// Whether the server under test is a build of another profile than the tests' (see
/// [`server_binary`]).
pub fn server_binary_overridden() -> bool {
    std::env::var_os("CHARLA_SERVER_BIN").is_some()
}

/// The address in the server's "listening" log line (`address=Some(127.0.0.1:PORT)`).
fn listening_address(log: &str) -> Option<SocketAddr> {
    let line = log
        .lines()
        .find(|l| l.contains("Charla server listening"))?;
    let start = line.find("address=Some(")? + "address=Some(".len();
    let end = start + line[start..].find(')')?;
    line[start..end].parse().ok()
}

/// Sends `request` on a fresh connection and reads until the server closes it; `None` when
/// that takes longer than `wait` or the connection fails.
pub async fn http_exchange(addr: SocketAddr, request: &[u8], wait: Duration) -> Option<String> {
    tokio::time::timeout(wait, async {
        let mut tcp = TcpStream::connect(addr).await.ok()?;
        tcp.write_all(request).await.ok()?;
        let mut response = Vec::new();
        tcp.read_to_end(&mut response).await.ok()?;
        Some(String::from_utf8_lossy(&response).into_owned())
    })
    .await
    .ok()
    .flatten()
}
