//! Starting and stopping the servers under test, each a separate process, optionally pinned.

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::process::{Child, Command};

use crate::error::{BenchError, Result};
use crate::flavor::Flavor;

/// A server under test.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Target {
    /// charla-server, `SQLite` persistence on.
    Charla,
    /// charla-server with history in memory only (to show what persistence costs).
    CharlaMemory,
    /// The tutorial's server on Node and socket.io 4.8.
    Node,
    /// The raw tokio-tungstenite broadcast floor.
    Raw,
    /// charla-server on the launcher's PostgreSQL (a node of a cluster).
    CharlaPostgres,
}

impl Target {
    /// The name used in tables.
    #[must_use]
    pub fn label(self) -> &'static str {
        match self {
            Self::Charla => "Charla",
            Self::CharlaMemory => "Charla, no disk",
            Self::Node => "Node tutorial",
            Self::Raw => "raw floor",
            Self::CharlaPostgres => "Charla, PostgreSQL",
        }
    }

    /// How the load generator speaks to it.
    #[must_use]
    pub fn flavor(self) -> Flavor {
        match self {
            Self::Charla | Self::CharlaMemory | Self::CharlaPostgres => Flavor::Charla,
            Self::Node | Self::Raw => Flavor::Tutorial,
        }
    }
}

/// Where the programs are and how to run them.
#[derive(Debug, Clone)]
pub struct Launcher {
    /// The `charla-server` binary.
    pub charla_server: PathBuf,
    /// The Node reproduction of the tutorial's server.
    pub node_script: PathBuf,
    /// This binary (for `raw-server`).
    pub bench_exe: PathBuf,
    /// The CPU servers are pinned to, if any.
    pub server_cpu: Option<usize>,
    /// Logs and databases go here.
    pub work_dir: PathBuf,
    /// The database of [`Target::CharlaPostgres`] (`postgres://…`).
    pub postgres: Option<String>,
}

/// A running server; killed when dropped.
pub struct Running {
    child: Child,
    /// Where it listens.
    pub addr: SocketAddr,
    /// Its process id (the program itself: `taskset` execs it).
    pub pid: u32,
}

impl Running {
    /// Stops the server and waits for it to exit.
    pub async fn stop(mut self) {
        let _ = self.child.kill().await;
    }

    /// Asks the server to stop (SIGTERM to its PID), waits up to 15 s for it to exit, and
    /// kills it if it has not: a node of a cluster says goodbye to the others this way (its
    /// users' names are free at once, not after it is found silent).
    pub async fn terminate(mut self) {
        let asked = Command::new("kill")
            .args(["-TERM", &self.pid.to_string()])
            .status()
            .await
            .is_ok_and(|status| status.success());
        if asked
            && tokio::time::timeout(Duration::from_secs(15), self.child.wait())
                .await
                .is_ok()
        {
            return;
        }
        let _ = self.child.kill().await;
    }
}

const READY_LIMIT: Duration = Duration::from_secs(20);

impl Launcher {
    /// Starts `target` on a free port and waits until it accepts connections. `tag` names its
    /// log and database files.
    ///
    /// # Errors
    /// When the process cannot start, exits, or never listens.
    pub async fn start(&self, target: Target, tag: &str) -> Result<Running> {
        let port = free_port()?;
        let log = self.work_dir.join(format!("{tag}.log"));
        let mut command = self.command(target, port, tag)?;
        let log_file = std::fs::File::create(&log)
            .map_err(BenchError::io(format!("create {}", log.display())))?;
        let log_err = log_file
            .try_clone()
            .map_err(BenchError::io("duplicate a log handle"))?;
        command
            .stdin(Stdio::null())
            .stdout(log_file)
            .stderr(log_err)
            .kill_on_drop(true)
            // Tokio servers get one worker (the floor and Charla alike); Node has one anyway.
            .env("TOKIO_WORKER_THREADS", "1")
            .env("RUST_LOG", "warn");
        let server_error = |reason: String| BenchError::Server {
            name: target.label().into(),
            reason,
            log: log.clone(),
        };
        let mut child = command
            .spawn()
            .map_err(|e| server_error(format!("cannot start: {e}")))?;
        let pid = child
            .id()
            .ok_or_else(|| server_error("exited at once".into()))?;
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let ready_by = Instant::now() + READY_LIMIT;
        loop {
            if tokio::net::TcpStream::connect(addr).await.is_ok() {
                return Ok(Running { child, addr, pid });
            }
            if let Ok(Some(status)) = child.try_wait() {
                return Err(server_error(format!("exited with {status}")));
            }
            if Instant::now() > ready_by {
                return Err(server_error("never listened".into()));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    fn command(&self, target: Target, port: u16, tag: &str) -> Result<Command> {
        let (program, args): (PathBuf, Vec<String>) = match target {
            Target::Charla | Target::CharlaMemory | Target::CharlaPostgres => {
                let db = match target {
                    Target::Charla => {
                        let db = self.work_dir.join(format!("{tag}.db"));
                        remove_database(&db)?;
                        db.display().to_string()
                    }
                    Target::CharlaPostgres => self.postgres.clone().ok_or_else(|| {
                        BenchError::Handshake("no PostgreSQL given (--postgres)".into())
                    })?,
                    _ => ":memory:".to_owned(),
                };
                (
                    self.charla_server.clone(),
                    vec![
                        "--port".into(),
                        port.to_string(),
                        "--db".into(),
                        db,
                        // The load is one user sending far faster than a person, and every
                        // client comes from one address: lift the rate limits and the cap on
                        // connections per address (everything else stays on).
                        "--rate-limit".into(),
                        "0".into(),
                        "--max-connections-per-address".into(),
                        "100000".into(),
                        // The rooms benchmark claims a thousand names from 127.0.0.1.
                        "--claims-per-minute".into(),
                        "0".into(),
                    ],
                )
            }
            Target::Node => (
                PathBuf::from("node"),
                vec![self.node_script.display().to_string()],
            ),
            Target::Raw => (
                self.bench_exe.clone(),
                vec!["raw-server".into(), "--port".into(), port.to_string()],
            ),
        };
        let mut command = match self.server_cpu {
            Some(cpu) => {
                let mut c = Command::new("taskset");
                c.arg("-c").arg(cpu.to_string()).arg(&program);
                c
            }
            None => Command::new(&program),
        };
        command.args(args).env("PORT", port.to_string());
        Ok(command)
    }
}

/// A port nobody listens on right now.
fn free_port() -> Result<u16> {
    let listener =
        TcpListener::bind(("127.0.0.1", 0)).map_err(BenchError::io("find a free port"))?;
    Ok(listener
        .local_addr()
        .map_err(BenchError::io("find a free port"))?
        .port())
}

/// Removes a history database of an earlier run, its WAL, and its search index beside it.
fn remove_database(db: &Path) -> Result<()> {
    let index = db.with_extension("search.db");
    for (file, suffix) in [db, index.as_path()]
        .into_iter()
        .flat_map(|file| ["", "-wal", "-shm"].map(|suffix| (file, suffix)))
    {
        let path = PathBuf::from(format!("{}{suffix}", file.display()));
        match std::fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(BenchError::Io {
                    context: format!("remove {}", path.display()),
                    source: e,
                })
            }
        }
    }
    Ok(())
}
