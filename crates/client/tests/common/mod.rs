//! Shared by the client's integration tests: the workspace's test kit (`charla-testkit`), under
//! the short names these tests use.

#![allow(dead_code, unused_imports, missing_docs)]

pub mod gate;
pub mod scene;

pub use charla_testkit::{
    client_options as options, free_port, start_client as start, until, Process, TestServer, WAIT,
};

/// `target/<profile>/charla-server`, built by `cargo test --workspace` (for its own tests).
pub fn server_binary() -> std::path::PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    let dir = exe
        .parent()
        .and_then(std::path::Path::parent)
        .expect("target dir");
    let binary = dir.join("charla-server");
    assert!(
        binary.exists(),
        "{} is missing: run `cargo build -p charla-server` (npm test does)",
        binary.display()
    );
    binary
}

/// A `charla-server` process on `port` with history in `db` (rate limits lifted), its log in
/// `log`; stopped by its PID when dropped.
pub fn start_node(port: u16, db: &str, log: &std::path::Path) -> Process {
    let log = std::fs::File::create(log).expect("node log");
    Process::listening(
        std::process::Command::new(server_binary())
            .args(["--port", &port.to_string(), "--rate-limit", "0", "--db", db])
            .env("RUST_LOG", "charla_server=info")
            .stdout(std::process::Stdio::null())
            .stderr(log),
        port,
    )
}
