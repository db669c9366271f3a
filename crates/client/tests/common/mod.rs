//! Shared by the client's integration tests: the workspace's test kit (`charla-testkit`), under
//! the short names these tests use.

#![allow(dead_code, unused_imports, missing_docs)]

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
